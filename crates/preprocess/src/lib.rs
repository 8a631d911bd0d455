//! Preprocessing: NIfTI volumes in, the original's 2-D data layout out.
//!
//! This crate owns turning a user's volumes (several modalities matched by name, and a label
//! volume) into `DEST/{train,val}/{in_npy,gt_npy,3d_distmap}/<case>_<slice>.npy` plus
//! `spacing.json` per split and `spacing_3d.json` at the root, as the original's
//! `slice_*.py` scripts lay them out: per-volume min-max normalisation of each modality, slices
//! along one axis, the 3-D signed distance maps computed on the whole volume with its spacing and
//! then sliced, and a validation split of whole cases drawn with a seed. Volumes are processed in
//! parallel; everything is written into `DEST_tmp` and renamed to `DEST` only when every volume
//! succeeded, so a failing volume (named in the error) leaves no partial output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod datasets;
mod python_random;
pub mod resize;
mod staging;
mod synth;

pub use datasets::{Dataset, SliceDataset};
pub use synth::Synthesize;
pub use python_random::PythonRandom;

use distmap::{distance_maps, MapOptions};
use ndarray::{ArrayD, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use volume_io::{
    read_label_map, read_nifti_f32, write_atomically, write_npy_atomically, FileError,
};

/// What to slice and how.
#[derive(Debug, Clone)]
pub struct SliceNifti {
    /// One folder per modality; volumes are matched across folders by file name.
    pub image_dirs: Vec<PathBuf>,
    /// Label volumes, with the same names as the images.
    pub label_dir: PathBuf,
    pub dest: PathBuf,
    /// The axis to slice along (the original slices the last one, 2).
    pub axis: usize,
    /// Cases kept for validation.
    pub retain: usize,
    pub seed: u64,
    /// Classes K [default: max label + 1 over all volumes].
    pub classes: Option<usize>,
}

/// A failure, naming the file or case.
#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
}

pub(crate) fn bad(path: &Path, reason: impl Into<String>) -> PreprocessError {
    PreprocessError::Bad {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The case name of a NIfTI file (its name without `.nii` or `.nii.gz`), if it is one.
pub fn case_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
        .map(str::to_string)
}

fn nifti_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>, PreprocessError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot list the folder: {e}")))?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| case_name(&p).map(|c| (c, p)))
        .collect())
}

/// What slicing one case gives besides its files.
struct SlicedCase {
    /// Slice name -> in-plane spacing.
    per_slice: BTreeMap<String, Vec<f64>>,
    /// The volume's spacing: in-plane axes, then the slice axis (the original's spacing_3d).
    volume_spacing: Vec<f64>,
    slices: usize,
}

/// Summary of a finished slicing.
#[derive(Debug, Clone)]
pub struct Sliced {
    pub train_cases: Vec<String>,
    pub val_cases: Vec<String>,
    pub slices: usize,
    pub classes: usize,
}

impl SliceNifti {
    /// Slices every case; see the crate documentation for the layout.
    pub fn run(&self, progress: &indicatif::ProgressBar) -> Result<Sliced, PreprocessError> {
        if self.image_dirs.is_empty() {
            return Err(bad(&self.dest, "no image folder given"));
        }
        let labels = nifti_files(&self.label_dir)?;
        if labels.is_empty() {
            return Err(bad(&self.label_dir, "holds no .nii or .nii.gz volume"));
        }
        let images: Vec<BTreeMap<String, PathBuf>> = self
            .image_dirs
            .iter()
            .map(|d| nifti_files(d))
            .collect::<Result<_, _>>()?;
        for (dir, files) in self.image_dirs.iter().zip(&images) {
            if let Some(case) = labels.keys().find(|c| !files.contains_key(*c)) {
                return Err(bad(
                    &dir.join(format!("{case}.nii.gz")),
                    "missing: the label volume of this case has no image here",
                ));
            }
        }
        let mut cases: Vec<String> = labels.keys().cloned().collect();
        if self.retain >= cases.len() {
            return Err(bad(
                &self.label_dir,
                format!(
                    "{} cases: cannot keep {} for validation and train on the rest",
                    cases.len(),
                    self.retain
                ),
            ));
        }
        cases.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        let (val, train) = cases.split_at(self.retain);
        let (mut val, mut train) = (val.to_vec(), train.to_vec());
        val.sort();
        train.sort();

        let temp = self.dest.with_file_name(format!(
            "{}_tmp",
            self.dest
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("dest")
        ));
        let _ = std::fs::remove_dir_all(&temp);
        for split in ["train", "val"] {
            for folder in ["in_npy", "gt_npy", "3d_distmap"] {
                let dir = temp.join(split).join(folder);
                std::fs::create_dir_all(&dir).map_err(|e| FileError::new(&dir, e))?;
            }
        }
        let classes = match self.classes {
            Some(k) => k,
            None => {
                let mut max = 0u32;
                for path in labels.values() {
                    max = max.max(
                        read_label_map(path)?
                            .labels
                            .iter()
                            .copied()
                            .max()
                            .unwrap_or(0),
                    );
                }
                max as usize + 1
            }
        };
        if classes > 256 {
            return Err(bad(
                &self.label_dir,
                format!("{classes} classes do not fit the uint8 gt_npy slices"),
            ));
        }
        progress.set_length(labels.len() as u64);
        let jobs: Vec<(&str, &String)> = train
            .iter()
            .map(|c| ("train", c))
            .chain(val.iter().map(|c| ("val", c)))
            .collect();
        let results: Vec<Result<(String, SlicedCase), PreprocessError>> = jobs
            .par_iter()
            .map(|(split, case)| {
                let modalities: Vec<&PathBuf> = images.iter().map(|m| &m[*case]).collect();
                let result = self.slice_case(
                    case,
                    &modalities,
                    &labels[*case],
                    classes,
                    &temp.join(split),
                );
                progress.inc(1);
                result.map(|case| (split.to_string(), case))
            })
            .collect();
        let mut spacing: BTreeMap<&str, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
        let mut spacing_3d = BTreeMap::new();
        let mut slices = 0;
        for ((_, case), result) in jobs.iter().zip(results) {
            let (split, sliced) = result?;
            spacing
                .entry(if split == "train" { "train" } else { "val" })
                .or_default()
                .extend(sliced.per_slice);
            spacing_3d.insert((*case).clone(), sliced.volume_spacing);
            slices += sliced.slices;
        }
        for (split, map) in &spacing {
            let text = serde_json::to_string_pretty(map).expect("plain map");
            write_atomically(&temp.join(split).join("spacing.json"), |out| {
                out.write_all(text.as_bytes()).map_err(|e| e.to_string())
            })?;
        }
        let text = serde_json::to_string_pretty(&spacing_3d).expect("plain map");
        write_atomically(&temp.join("spacing_3d.json"), |out| {
            out.write_all(text.as_bytes()).map_err(|e| e.to_string())
        })?;
        let _ = std::fs::remove_dir_all(&self.dest);
        std::fs::rename(&temp, &self.dest).map_err(|e| FileError::new(&self.dest, e))?;
        Ok(Sliced {
            train_cases: train,
            val_cases: val,
            slices,
            classes,
        })
    }

    /// Slices one case into `split_dir`.
    fn slice_case(
        &self,
        case: &str,
        modalities: &[&PathBuf],
        label_path: &Path,
        classes: usize,
        split_dir: &Path,
    ) -> Result<SlicedCase, PreprocessError> {
        let label_map = read_label_map(label_path)?;
        let labels = label_map.labels;
        let spacing = label_map
            .spacing
            .unwrap_or_else(|| vec![1.0; labels.ndim()]);
        if labels.ndim() != 3 {
            return Err(bad(
                label_path,
                format!("expected a 3-D volume, got shape {:?}", labels.shape()),
            ));
        }
        if self.axis > 2 {
            return Err(bad(
                label_path,
                format!("axis {} of a 3-D volume", self.axis),
            ));
        }
        if let Some(&l) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(bad(
                label_path,
                format!("label {l} is not below the {classes} classes"),
            ));
        }
        let mut normalised = Vec::with_capacity(modalities.len());
        for path in modalities {
            let (volume, _) = read_nifti_f32(path)?;
            if volume.shape() != labels.shape() {
                return Err(bad(
                    path,
                    format!(
                        "shape {:?} differs from the labels' {:?} ({})",
                        volume.shape(),
                        labels.shape(),
                        label_path.display()
                    ),
                ));
            }
            if volume.iter().any(|v| !v.is_finite()) {
                return Err(bad(path, "holds NaN or infinite values"));
            }
            // Per-volume min-max normalisation to [0, 1], as the original.
            let (lo, hi) = volume
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let range = if hi > lo { hi - lo } else { 1.0 };
            normalised.push(volume.mapv(|v| (v - lo) / range));
        }
        let maps: ArrayD<f32> =
            distance_maps(labels.view(), classes, &spacing, &MapOptions::default())
                .map_err(|e| bad(label_path, e.to_string()))?;
        let in_plane: Vec<f64> = (0..3)
            .filter(|&a| a != self.axis)
            .map(|a| spacing[a])
            .collect();
        let n = labels.shape()[self.axis];
        let mut per_slice = BTreeMap::new();
        for i in 0..n {
            let name = format!("{case}_{i:04}");
            let image_stack: Vec<ArrayD<f32>> = normalised
                .iter()
                .map(|v| v.index_axis(Axis(self.axis), i).to_owned())
                .collect();
            let views: Vec<_> = image_stack.iter().map(|a| a.view()).collect();
            let image = ndarray::stack(Axis(0), &views).expect("same shapes");
            let gt = labels.index_axis(Axis(self.axis), i).mapv(|l| l as u8);
            let map = maps.index_axis(Axis(self.axis + 1), i).to_owned();
            write_npy_atomically(
                &split_dir.join("in_npy").join(format!("{name}.npy")),
                &image.as_standard_layout(),
            )?;
            write_npy_atomically(
                &split_dir.join("gt_npy").join(format!("{name}.npy")),
                &gt.as_standard_layout(),
            )?;
            write_npy_atomically(
                &split_dir.join("3d_distmap").join(format!("{name}.npy")),
                &map.as_standard_layout(),
            )?;
            per_slice.insert(name, in_plane.clone());
        }
        let mut volume_spacing = in_plane;
        volume_spacing.push(spacing[self.axis]);
        Ok(SlicedCase {
            per_slice,
            volume_spacing,
            slices: n,
        })
    }
}
