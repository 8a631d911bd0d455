//! The official data sets (ISLES 2018, WMH 2017, ACDC) sliced as the original's
//! `preprocess/slice_*.py` slice them, with the original's bugs fixed where they lose data.
//!
//! Shared here: reading and checking volumes, per-volume min-max normalisation, the validation
//! split drawn with CPython's `random` (so the official splits come out as the original's), and
//! writing the per-slice files of the volume data sets (ISLES, WMH): PNGs, `in_npy`, `gt_npy`,
//! `3d_distmap`, spacing files. Each data set's module finds its files and prepares its cases.

mod acdc;
mod isles;
mod wmh;

use std::path::{Path, PathBuf};

use distmap::{distance_maps, MapOptions};
use ndarray::{s, Array2, Array3, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use volume_io::{
    encode_png_u8, read_nifti_f32, write_directly, write_npy_directly, FileError, NumpyScalar,
};

use crate::staging::{write_spacing, SpacingTable, Staging};
use crate::{bad, PreprocessError, PythonRandom, Sliced};

/// An official data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Isles,
    Wmh,
    Acdc,
}

/// How to slice an official data set.
#[derive(Debug, Clone)]
pub struct SliceDataset {
    pub dataset: Dataset,
    /// The unpacked raw folder (`TRAINING` of ISLES, the flattened `wmh` folder, ACDC's
    /// `training`).
    pub source: PathBuf,
    pub dest: PathBuf,
    /// Cases (patients for ACDC) kept for validation.
    pub retain: usize,
    /// Seed of CPython's `random`, as the original's `--seed`.
    pub seed: u64,
    /// ACDC's cross-validation fold: validation = patients `fold*retain..(fold+1)*retain` of the
    /// shuffled list.
    pub fold: usize,
    /// Output in-plane size of the resized data sets (ACDC, WMH; the original's `--shape`,
    /// which its WMH script ignored). ISLES keeps its volumes' size.
    pub shape: [usize; 2],
    /// Augmented copies of every training slice (flips; ACDC also rotations).
    pub augment: usize,
    /// Skip slices without foreground (WMH's `--discard_negatives`; here for every data set).
    pub discard_negatives: bool,
}

impl SliceDataset {
    /// The writing side of this job for a volume data set with these PNG folders.
    pub(crate) fn volume_job<'a>(&'a self, png_folders: &'a [&'a str]) -> VolumeJob<'a> {
        VolumeJob {
            dest: &self.dest,
            augment: self.augment,
            discard_negatives: self.discard_negatives,
            seed: self.seed,
            png_folders,
        }
    }

    /// Splits `cases` (in order) with the original's `random.sample` and writes them as
    /// two-class volume cases (ISLES, WMH).
    pub(crate) fn slice_lesion_volumes<C: Clone + Sync>(
        &self,
        cases: &[C],
        png_folders: &[&str],
        case_id: impl Fn(&C) -> String + Sync,
        prepare: impl Fn(&C) -> Result<VolumeCase, PreprocessError> + Sync,
        progress: &indicatif::ProgressBar,
    ) -> Result<Sliced, PreprocessError> {
        let (train, val) = sample_split(cases, self.retain, self.seed, &self.source)?;
        let sliced =
            self.volume_job(png_folders)
                .run((&train, &val), case_id, prepare, progress)?;
        Ok(Sliced {
            classes: 2,
            ..sliced
        })
    }

    /// Slices every case into `dest/{train,val}`; see the module documentation.
    pub fn run(&self, progress: &indicatif::ProgressBar) -> Result<Sliced, PreprocessError> {
        if !self.source.is_dir() {
            return Err(bad(&self.source, "is not a folder"));
        }
        if self.shape.contains(&0) {
            return Err(bad(
                &self.dest,
                format!("output shape {:?} has an empty side", self.shape),
            ));
        }
        match self.dataset {
            Dataset::Isles => isles::slice(self, progress),
            Dataset::Wmh => wmh::slice(self, progress),
            Dataset::Acdc => acdc::slice(self, progress),
        }
    }
}

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

/// `random.sample(cases, retain)` of the original: the validation cases and the others, both in
/// the cases' order.
pub(crate) fn sample_split<T: Clone>(
    cases: &[T],
    retain: usize,
    seed: u64,
    source: &Path,
) -> Result<(Vec<T>, Vec<T>), PreprocessError> {
    check_retain(cases.len(), retain, source)?;
    let mut picked = PythonRandom::new(seed).sample_indices(cases.len(), retain);
    picked.sort_unstable();
    let train = (0..cases.len())
        .filter(|i| picked.binary_search(i).is_err())
        .map(|i| cases[i].clone())
        .collect();
    let val = picked.iter().map(|&i| cases[i].clone()).collect();
    Ok((train, val))
}

pub(crate) fn check_retain(
    cases: usize,
    retain: usize,
    source: &Path,
) -> Result<(), PreprocessError> {
    if retain >= cases {
        return Err(bad(
            source,
            format!("{cases} cases: cannot keep {retain} for validation and train on the rest"),
        ));
    }
    Ok(())
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

/// A stable per-case random stream for augmentation, independent of thread scheduling (the
/// original's forked workers all drew the same flips).
pub(crate) fn case_rng(seed: u64, id: &str) -> ChaCha8Rng {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hash)
}

/// The original's `augment_arr`: with probability 1/2 flip both axes, with probability 1/2
/// flip left-right. Returns (flip both, flip columns).
pub(crate) fn draw_flips(rng: &mut ChaCha8Rng) -> (bool, bool) {
    (rng.random_bool(0.5), rng.random_bool(0.5))
}

/// Applies [`draw_flips`]'s flips to the last two axes of a view (no copy).
pub(crate) fn flip_view<A, D: ndarray::Dimension>(
    mut view: ndarray::ArrayView<'_, A, D>,
    (both, columns): (bool, bool),
) -> ndarray::ArrayView<'_, A, D> {
    let n = view.ndim();
    if both {
        view.invert_axis(Axis(n - 2));
        view.invert_axis(Axis(n - 1));
    }
    if columns {
        view.invert_axis(Axis(n - 1));
    }
    view
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

/// How the cases of a volume data set (ISLES, WMH, a NIfTI folder) are written.
pub(crate) struct VolumeJob<'a> {
    pub dest: &'a Path,
    pub augment: usize,
    pub discard_negatives: bool,
    pub seed: u64,
    /// One PNG folder per modality, in `in_npy` order.
    pub png_folders: &'a [&'a str],
}

impl VolumeJob<'_> {
    /// Prepares and writes every case of `(train, val)` (see [`run_cases`]).
    pub(crate) fn run<C: Sync>(
        &self,
        split: (&[C], &[C]),
        case_id: impl Fn(&C) -> String + Sync,
        prepare: impl Fn(&C) -> Result<VolumeCase, PreprocessError> + Sync,
        progress: &indicatif::ProgressBar,
    ) -> Result<Sliced, PreprocessError> {
        let mut folders = self.png_folders.to_vec();
        folders.extend(["gt", "in_npy", "gt_npy", "3d_distmap"]);
        run_cases(
            self.dest,
            self.augment,
            split,
            &folders,
            case_id,
            |case, split_dir, augment| {
                let prepared = prepare(case)?;
                let written = write_volume_case(
                    &prepared,
                    self.png_folders,
                    split_dir,
                    augment,
                    self.discard_negatives,
                    self.seed,
                )?;
                Ok((written, prepared.volume_spacing))
            },
            progress,
        )
    }
}

/// Runs `prepare_and_write` for every (split, case) of `(train, val)` in parallel inside a staging folder with
/// `folders` made in each split, then writes the spacing files and moves the folder into place.
pub(crate) fn run_cases<C: Sync>(
    dest: &Path,
    augment: usize,
    (train, val): (&[C], &[C]),
    folders: &[&str],
    case_id: impl Fn(&C) -> String + Sync,
    prepare_and_write: impl Fn(&C, &Path, usize) -> Result<(WrittenCase, [NumpyScalar; 3]), PreprocessError>
        + Sync,
    progress: &indicatif::ProgressBar,
) -> Result<Sliced, PreprocessError> {
    let staging = Staging::create(dest)?;
    for split in ["train", "val"] {
        for folder in folders {
            staging.make_dir(&Path::new(split).join(folder))?;
        }
    }
    progress.set_length((train.len() + val.len()) as u64);
    let jobs: Vec<(&str, &C, usize)> = train
        .iter()
        .map(|c| ("train", c, augment))
        .chain(val.iter().map(|c| ("val", c, 0)))
        .collect();
    let results: Vec<Result<(WrittenCase, [NumpyScalar; 3]), PreprocessError>> = jobs
        .par_iter()
        .map(|(split, case, augment)| {
            let result = prepare_and_write(case, &staging.dir().join(split), *augment);
            progress.inc(1);
            result
        })
        .collect();
    let mut per_split = [SpacingTable::new(), SpacingTable::new()];
    let mut volumes = SpacingTable::new();
    let mut slices = 0;
    for ((split, case, _), result) in jobs.iter().zip(results) {
        let (written, volume_spacing) = result?;
        per_split[usize::from(*split == "val")].extend(written.spacing);
        volumes.insert(case_id(case), volume_spacing.to_vec());
        slices += written.slices;
    }
    for (split, table) in ["train", "val"].iter().zip(&per_split) {
        write_spacing(&staging.dir().join(split), "spacing", table)?;
    }
    write_spacing(staging.dir(), "spacing_3d", &volumes)?;
    staging.finish()?;
    Ok(Sliced {
        train_cases: train.iter().map(&case_id).collect(),
        val_cases: val.iter().map(&case_id).collect(),
        slices,
        classes: 0,
    })
}
