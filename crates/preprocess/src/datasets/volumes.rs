//! Finding and reading volumes: sorted case folders, volumes read as float32 with their
//! spacing, per-volume min-max normalisation, label volumes, shape checks.

use std::path::{Path, PathBuf};

use ndarray::Array3;

use super::*;

/// The sub-folders of `dir`, sorted by name.
pub(crate) fn sorted_subfolders(dir: &Path) -> Result<Vec<PathBuf>, PreprocessError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot list the folder: {e}")))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The file or folder name of `path` as text.
pub(crate) fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The array as a 3-D volume; trailing axes of length 1 (a NIfTI "time" axis of one frame,
/// as some converters write) are dropped.
pub(crate) fn as_volume<A>(
    array: ndarray::ArrayD<A>,
    path: &Path,
) -> Result<Array3<A>, PreprocessError> {
    let shape = array.shape().to_vec();
    let spatial = shape.len().min(3);
    if shape.len() < 3 || shape[spatial..].iter().any(|&n| n != 1) {
        return Err(bad(
            path,
            format!("expected a 3-D volume, got shape {shape:?}"),
        ));
    }
    let volume = array
        .into_shape_with_order((shape[0], shape[1], shape[2]))
        .map_err(|e| bad(path, format!("cannot view shape {shape:?} as 3-D: {e}")))?;
    Ok(volume)
}

/// A 3-D volume `(x, y, z)` as float32 and its header spacing.
pub(crate) fn read_volume(path: &Path) -> Result<(Array3<f32>, [f32; 3]), PreprocessError> {
    let (values, spacing) = read_nifti_f32(path)?;
    let volume = as_volume(values, path)?;
    if let Some(v) = volume.iter().find(|v| !v.is_finite()) {
        return Err(bad(path, format!("holds a non-finite value ({v})")));
    }
    Ok((
        volume,
        [spacing[0] as f32, spacing[1] as f32, spacing[2] as f32],
    ))
}

/// `(x - min) / max(x - min)` over the whole volume in float32, as the original's `norm_arr`.
pub(crate) fn min_max_normalise(
    volume: &Array3<f32>,
    path: &Path,
) -> Result<Array3<f32>, PreprocessError> {
    let (lo, hi) = volume
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let range = hi - lo;
    if range <= 0.0 {
        return Err(bad(
            path,
            format!("is constant ({lo}): min-max normalisation is undefined"),
        ));
    }
    Ok(volume.mapv(|v| (v - lo) / range))
}

/// The labels of a label volume read as floats, checked against `allowed`.
pub(crate) fn label_volume(
    volume: &Array3<f32>,
    allowed: &[u8],
    path: &Path,
) -> Result<Array3<u8>, PreprocessError> {
    if let Some(v) = volume.iter().find(|&&v| {
        !(v.fract() == 0.0 && (0.0..=255.0).contains(&v) && allowed.contains(&(v as u8)))
    }) {
        return Err(bad(
            path,
            format!("holds the label {v}; expected labels among {allowed:?}"),
        ));
    }
    Ok(volume.mapv(|v| v as u8))
}

pub(crate) fn check_same_shape(
    reference: &[usize],
    reference_path: &Path,
    other: &[usize],
    path: &Path,
) -> Result<(), PreprocessError> {
    if reference != other {
        return Err(bad(
            path,
            format!(
                "shape {other:?} differs from {reference:?} of {}",
                reference_path.display()
            ),
        ));
    }
    Ok(())
}

/// The volume with `axis` moved last (the other two keep their order).
pub(crate) fn axis_last<A: Clone>(volume: Array3<A>, axis: usize) -> Array3<A> {
    permuted(volume, [[1, 2, 0], [0, 2, 1], [0, 1, 2]][axis.min(2)])
}

/// The inverse of [`axis_last`]: a volume whose last axis is `axis` back in `(x, y, z)` order.
pub(crate) fn axis_restored<A: Clone>(volume: Array3<A>, axis: usize) -> Array3<A> {
    permuted(volume, [[2, 0, 1], [0, 2, 1], [0, 1, 2]][axis.min(2)])
}

fn permuted<A: Clone>(volume: Array3<A>, order: [usize; 3]) -> Array3<A> {
    volume
        .permuted_axes(order)
        .as_standard_layout()
        .into_owned()
}
