//! Writing a volume case: per-slice PNGs, `in_npy`, `gt_npy`, `3d_distmap`, and what was
//! written (names and spacings).

use std::path::Path;

use distmap::{distance_maps, MapOptions};
use ndarray::{s, Array2, Array3, ArrayView2, Axis};
use volume_io::FileError;

use super::*;

/// A volume case ready to be written: normalised (and resized) modalities, labels, spacings.
pub(crate) struct VolumeCase {
    pub id: String,
    /// `(x, y, z)` in [0, 1], one per modality, in the `in_npy` channel order.
    pub modalities: Vec<Array3<f32>>,
    pub gt: Array3<u8>,
    /// Classes of the distance maps (2 for the lesion data sets).
    pub classes: usize,
    /// `(dx, dy)` of every slice, as `spacing.pkl` holds it.
    pub slice_spacing: [NumpyScalar; 2],
    /// `(dx, dy, dz)` of the volume (`spacing_3d.pkl`); also the distance maps' spacing.
    pub volume_spacing: [NumpyScalar; 3],
}

impl VolumeCase {
    /// A two-class (lesion) case whose slices all have the in-plane spacing of the volume.
    pub(crate) fn lesion(
        id: &str,
        modalities: Vec<Array3<f32>>,
        gt: Array3<u8>,
        in_plane: [NumpyScalar; 2],
        dz: f32,
    ) -> Self {
        VolumeCase {
            id: id.to_string(),
            modalities,
            gt,
            classes: 2,
            slice_spacing: in_plane,
            volume_spacing: [in_plane[0], in_plane[1], NumpyScalar::F32(dz)],
        }
    }
}

/// What a written case adds to the split's files.
pub(crate) struct WrittenCase {
    pub spacing: SpacingTable,
    pub slices: usize,
}

/// `(x * 255).astype(uint8)`: the original's PNG levels of a [0, 1] image (truncation).
pub(crate) fn png_levels(plane: ArrayView2<f32>) -> Vec<u8> {
    plane.iter().map(|&v| (v * 255.0) as u8).collect()
}

/// Writes `<dir>/<name>.png` (inside a staging folder, so directly).
pub(crate) fn write_png(dir: &Path, name: &str, plane: ArrayView2<u8>) -> Result<(), FileError> {
    let plane = plane.as_standard_layout();
    let (h, w) = plane.dim();
    let pixels = plane.as_slice().expect("standard layout");
    write_directly(&dir.join(format!("{name}.png")), |out| {
        encode_png_u8(out, pixels, h, w)
    })
}

/// Writes every slice of a volume case into `split_dir`: `<folder>/<name>.png` per modality
/// (`png_folders` in `in_npy` order), `gt/`, `in_npy/`, `gt_npy/`, `3d_distmap/`, with names
/// `<id>_<k:02>_<j:04>` (k = augmentation index, j = slice).
pub(crate) fn write_volume_case(
    case: &VolumeCase,
    png_folders: &[&str],
    split_dir: &Path,
    augment: usize,
    discard_negatives: bool,
    seed: u64,
) -> Result<WrittenCase, PreprocessError> {
    let spacing: Vec<f64> = case.volume_spacing.iter().map(|s| s.value()).collect();
    // On the whole volume with its spacing, as the original's one_hot2dist.
    let maps: ndarray::ArrayD<f32> = distance_maps(
        case.gt.view().into_dyn(),
        case.classes,
        &spacing,
        &MapOptions::default(),
    )
    .map_err(|e| bad(Path::new(&case.id), e.to_string()))?;
    let mut rng = case_rng(seed, &case.id);
    let mut table = SpacingTable::new();
    let mut slices = 0;
    let dir = |folder: &str| split_dir.join(folder);
    for j in 0..case.gt.shape()[2] {
        // One contiguous copy of each slice (files are written fastest from contiguous data);
        // flips are views of it.
        let gt = case.gt.slice(s![.., .., j]).to_owned();
        if discard_negatives && gt.iter().all(|&l| l == 0) {
            continue;
        }
        let images: Vec<Array2<f32>> = case
            .modalities
            .iter()
            .map(|m| m.slice(s![.., .., j]).to_owned())
            .collect();
        let map = maps.slice(s![.., .., .., j]).to_owned();
        for k in 0..=augment {
            let flips = if k == 0 {
                (false, false)
            } else {
                draw_flips(&mut rng)
            };
            let name = format!("{}_{k:02}_{j:04}", case.id);
            let images: Vec<ArrayView2<f32>> =
                images.iter().map(|m| flip_view(m.view(), flips)).collect();
            let gt = flip_view(gt.view(), flips);
            let map = flip_view(map.view(), flips);
            for (folder, image) in png_folders.iter().zip(&images) {
                let levels = Array2::from_shape_vec(image.dim(), png_levels(image.view()))
                    .expect("same size");
                write_png(&dir(folder), &name, levels.view())?;
            }
            write_png(&dir("gt"), &name, gt)?;
            let stacked = ndarray::stack(Axis(0), &images).expect("same shapes");
            write_npy_directly(&dir("in_npy").join(format!("{name}.npy")), &stacked)?;
            write_npy_directly(&dir("gt_npy").join(format!("{name}.npy")), &gt)?;
            write_npy_directly(&dir("3d_distmap").join(format!("{name}.npy")), &map)?;
            table.insert(name, case.slice_spacing.to_vec());
            slices += 1;
        }
    }
    Ok(WrittenCase {
        spacing: table,
        slices,
    })
}
