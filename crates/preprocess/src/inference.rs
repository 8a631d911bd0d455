//! A data set's preprocessing applied to a new case, for inference, and its inverse for the
//! predicted labels: exactly the steps its slicer took (per-volume min-max normalisation of each
//! modality, or ACDC's uint8 levels; the slicing axis moved last; the in-plane resize), as
//! `preprocess.json` records them; then nearest-neighbour resizing of the labels back to the input grid and the axes back
//! in the input's order.

use std::path::PathBuf;

use ndarray::{s, Array3};

use crate::datasets::{
    acdc_image_slice, acdc_normalise, axis_last, axis_restored, check_same_shape,
    min_max_normalise, read_volume,
};
use crate::record::{Normalisation, PreprocessRecord};
use crate::resize::{resize_image_volume, resize_label_volume};
use crate::{bad, PreprocessError};

/// A case ready for the network.
#[derive(Debug, Clone)]
pub struct PreparedCase {
    /// Per slice, the network input `(modalities, size[0], size[1])`, row-major.
    pub slices: Vec<Vec<f32>>,
    /// The in-plane size of the slices.
    pub size: [usize; 2],
    /// The input volumes' shape `(x, y, z)`.
    pub shape: [usize; 3],
}

/// Reads the modalities of one case (in the record's order) and prepares them as the slicer did.
pub fn prepare_case(
    record: &PreprocessRecord,
    modalities: &[PathBuf],
) -> Result<PreparedCase, PreprocessError> {
    let first = modalities
        .first()
        .ok_or_else(|| bad(&PathBuf::from("."), "no image volume given"))?;
    if modalities.len() != record.modalities.len() {
        return Err(bad(
            first,
            format!(
                "{} image volume(s) given, the run was trained on {} ({})",
                modalities.len(),
                record.modalities.len(),
                record.modalities.join(", ")
            ),
        ));
    }
    let mut volumes = Vec::with_capacity(modalities.len());
    let mut shape = [0usize; 3];
    for path in modalities {
        let (volume, _) = read_volume(path)?;
        if volumes.is_empty() {
            shape = [volume.shape()[0], volume.shape()[1], volume.shape()[2]];
        } else {
            check_same_shape(&shape, first, volume.shape(), path)?;
        }
        let prepared = match record.normalisation {
            Normalisation::MinMaxPerVolume => {
                let mut v = axis_last(min_max_normalise(&volume, path)?, record.axis);
                if let Some(size) = record.shape {
                    v = resize_image_volume(&v, size);
                }
                v
            }
            Normalisation::AcdcUint8 => {
                // What the network read: the slicer's uint8 PNG levels / 255.
                let levels = axis_last(acdc_normalise(&volume, path)?, record.axis);
                let size = record
                    .shape
                    .unwrap_or([levels.shape()[0], levels.shape()[1]]);
                let mut v = Array3::<f32>::zeros((size[0], size[1], levels.shape()[2]));
                for j in 0..levels.shape()[2] {
                    let slice = acdc_image_slice(levels.slice(s![.., .., j]), size);
                    v.slice_mut(s![.., .., j])
                        .assign(&slice.mapv(|l| l as f32 / 255.0));
                }
                v
            }
        };
        volumes.push(prepared);
    }
    let dims = volumes[0].shape().to_vec();
    let size = [dims[0], dims[1]];
    let slices = (0..dims[2])
        .map(|j| {
            volumes
                .iter()
                .flat_map(|v| v.slice(s![.., .., j]).iter().copied().collect::<Vec<_>>())
                .collect()
        })
        .collect();
    Ok(PreparedCase {
        slices,
        size,
        shape,
    })
}

/// Reads the modalities of one case for a 3-D run (a data set of `slice nifti --volumes`): each
/// min-max normalised per volume as the slicer did, stacked as `(C, X, Y, Z)` in the input's
/// axes.
pub fn prepare_volume(
    record: &PreprocessRecord,
    modalities: &[PathBuf],
) -> Result<ndarray::Array4<f32>, PreprocessError> {
    let first = modalities
        .first()
        .ok_or_else(|| bad(&PathBuf::from("."), "no image volume given"))?;
    if record.source != crate::VOLUMES_SOURCE {
        return Err(bad(
            first,
            format!(
                "the run's data set was made by `slice {}`, not `slice nifti --volumes`: it is not a 3-D data set",
                record.source
            ),
        ));
    }
    let mut image: Option<ndarray::Array4<f32>> = None;
    for (m, path) in modalities.iter().enumerate() {
        let (volume, _) = read_volume(path)?;
        let shape = [volume.shape()[0], volume.shape()[1], volume.shape()[2]];
        let stack = image.get_or_insert_with(|| {
            ndarray::Array4::zeros((modalities.len(), shape[0], shape[1], shape[2]))
        });
        check_same_shape(&stack.shape()[1..], first, volume.shape(), path)?;
        stack
            .index_axis_mut(ndarray::Axis(0), m)
            .assign(&min_max_normalise(&volume, path)?);
    }
    Ok(image.expect("at least one modality"))
}

/// The predicted labels of every slice (`(size[0], size[1], slices)`, slice axis last) back on
/// the input grid `shape` in `(x, y, z)` order.
pub fn restore_labels(
    record: &PreprocessRecord,
    predicted: Array3<u8>,
    shape: [usize; 3],
) -> Array3<u8> {
    let in_plane: Vec<usize> = (0..3).filter(|&a| a != record.axis).collect();
    let mut labels = predicted;
    if record.shape.is_some() {
        labels = resize_label_volume(&labels, [shape[in_plane[0]], shape[in_plane[1]]]);
    }
    axis_restored(labels, record.axis)
}

/// Per-class probability volumes (`(size[0], size[1], slices)` each) back on the input grid:
/// bilinear resizing when the slicer resized, axes in the input's order; `(x, y, z, K)`.
pub fn restore_probabilities(
    record: &PreprocessRecord,
    per_class: Vec<Array3<f32>>,
    shape: [usize; 3],
) -> ndarray::Array4<f32> {
    let in_plane: Vec<usize> = (0..3).filter(|&a| a != record.axis).collect();
    let mut out = ndarray::Array4::<f32>::zeros((shape[0], shape[1], shape[2], per_class.len()));
    for (k, mut volume) in per_class.into_iter().enumerate() {
        if record.shape.is_some() {
            volume = resize_image_volume(&volume, [shape[in_plane[0]], shape[in_plane[1]]]);
        }
        out.slice_mut(s![.., .., .., k])
            .assign(&axis_restored(volume, record.axis));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restoring_undoes_the_axis_move_for_every_axis() {
        let volume = Array3::from_shape_fn((3, 4, 5), |(x, y, z)| (x * 20 + y * 5 + z) as u8);
        for axis in 0..3 {
            let record = PreprocessRecord {
                format: crate::record::RECORD_FORMAT,
                source: "nifti".into(),
                axis,
                shape: None,
                normalisation: Normalisation::MinMaxPerVolume,
                modalities: vec!["t1".into()],
                classes: 2,
                label_mapping: Vec::new(),
            };
            let moved = axis_last(volume.clone(), axis);
            assert_eq!(moved.shape()[2], volume.shape()[axis]);
            assert_eq!(restore_labels(&record, moved, [3, 4, 5]), volume);
        }
    }
}
