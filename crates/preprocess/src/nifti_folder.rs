//! `slice nifti`: any user's NIfTI folder (several modalities matched by file name, one label
//! volume per case) to the same layout as the official data sets: per modality PNGs
//! (`<image folder name>/`), `gt/`, `in_npy/`, `gt_npy/`, `3d_distmap/` with names
//! `<case>_<k:02>_<j:04>`, spacing files, a seeded validation split of whole cases. Any slicing
//! axis; optional in-plane resizing (bilinear images, nearest labels, spacing scaled by the
//! resize) on scikit-image's grid; optional flip augmentation of the training slices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array3;
use volume_io::{read_label_map, NumpyScalar};

use crate::datasets::{
    as_volume, axis_last, check_same_shape, min_max_normalise, read_volume, sample_split,
    VolumeCase, VolumeJob,
};
use crate::record::{Normalisation, PreprocessRecord};
use crate::resize::{resize_image_volume, resize_label_volume};
use crate::{bad, PreprocessError, Sliced};

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
    /// In-plane output size (the two axes other than `axis`, in order) [default: unchanged].
    pub shape: Option<[usize; 2]>,
    /// Flipped copies of every training slice.
    pub augment: usize,
}

/// The cases of a NIfTI folder job, checked: label and image files by case, the modality
/// folders' names, the classes and the validation split.
pub(crate) struct CasePlan {
    pub labels: BTreeMap<String, PathBuf>,
    pub images: Vec<BTreeMap<String, PathBuf>>,
    pub folders: Vec<String>,
    pub classes: usize,
    pub train: Vec<String>,
    pub val: Vec<String>,
}

/// The case name of a NIfTI file (its name without `.nii` or `.nii.gz`), if it is one.
pub fn case_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
        .map(str::to_string)
}

/// The NIfTI volumes of a folder, by case name.
pub fn nifti_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>, PreprocessError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot list the folder: {e}")))?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| case_name(&p).map(|c| (c, p)))
        .collect())
}

impl SliceNifti {
    /// Checks the folders and finds the cases, the classes and the validation split.
    pub(crate) fn plan(&self) -> Result<CasePlan, PreprocessError> {
        if self.image_dirs.is_empty() {
            return Err(bad(&self.dest, "no image folder given"));
        }
        if self.axis > 2 {
            return Err(bad(
                &self.dest,
                format!("--axis {} of a 3-D volume", self.axis),
            ));
        }
        if let Some(shape) = self.shape.filter(|s| s.contains(&0)) {
            return Err(bad(
                &self.dest,
                format!("output shape {shape:?} has an empty side"),
            ));
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
        let folders: Vec<String> = self
            .image_dirs
            .iter()
            .map(|d| crate::datasets::name_of(d))
            .collect();
        for (i, name) in folders.iter().enumerate() {
            let clash = ["gt", "in_npy", "gt_npy", "3d_distmap"].contains(&name.as_str())
                || folders[..i].contains(name);
            if clash || name.is_empty() {
                return Err(bad(
                    &self.image_dirs[i],
                    format!(
                        "the folder name '{name}' is taken: give each modality its own folder name"
                    ),
                ));
            }
        }
        let classes = match self.classes {
            Some(k) => k,
            None => {
                let mut max = 0u32;
                for path in labels.values() {
                    let map = read_label_map(path)?;
                    max = max.max(map.labels.iter().copied().max().unwrap_or(0));
                }
                max as usize + 1
            }
        };
        if !(2..=256).contains(&classes) {
            return Err(bad(
                &self.label_dir,
                format!("{classes} classes: need 2 to 256 (uint8 gt_npy slices)"),
            ));
        }
        let cases: Vec<String> = labels.keys().cloned().collect();
        let (train, val) = sample_split(&cases, self.retain, self.seed, &self.label_dir)?;
        Ok(CasePlan {
            labels,
            images,
            folders,
            classes,
            train,
            val,
        })
    }

    /// Slices every case; see the module documentation for the layout.
    pub fn run(&self, progress: &indicatif::ProgressBar) -> Result<Sliced, PreprocessError> {
        let plan = self.plan()?;
        let (folders, classes) = (&plan.folders, plan.classes);
        let png_folders: Vec<&str> = folders.iter().map(String::as_str).collect();
        let job = VolumeJob {
            dest: &self.dest,
            augment: self.augment,
            discard_negatives: false,
            seed: self.seed,
            png_folders: &png_folders,
            record: PreprocessRecord {
                format: crate::record::RECORD_FORMAT,
                source: "nifti".to_string(),
                axis: self.axis,
                shape: self.shape,
                normalisation: Normalisation::MinMaxPerVolume,
                modalities: folders.clone(),
                classes,
                label_mapping: Vec::new(),
            },
        };
        let sliced = job.run(
            (&plan.train, &plan.val),
            String::clone,
            |case| {
                let modalities: Vec<&PathBuf> = plan.images.iter().map(|m| &m[case]).collect();
                self.prepare(case, &modalities, &plan.labels[case], classes)
            },
            progress,
        )?;
        Ok(Sliced { classes, ..sliced })
    }

    fn prepare(
        &self,
        case: &str,
        modalities: &[&PathBuf],
        label_path: &Path,
        classes: usize,
    ) -> Result<VolumeCase, PreprocessError> {
        let label_map = read_label_map(label_path)?;
        let labels = as_volume(label_map.labels, label_path)?;
        let shape = labels.shape().to_vec();
        if let Some(&l) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(bad(
                label_path,
                format!("label {l} is not below the {classes} classes"),
            ));
        }
        let spacing = label_map.spacing.unwrap_or_else(|| vec![1.0; 3]);
        let mut normalised = Vec::with_capacity(modalities.len());
        for path in modalities {
            let (volume, _) = read_volume(path)?;
            check_same_shape(&shape, label_path, volume.shape(), path)?;
            normalised.push(axis_last(min_max_normalise(&volume, path)?, self.axis));
        }
        let mut gt: Array3<u8> = axis_last(labels.mapv(|l| l as u8), self.axis);
        let in_plane: Vec<usize> = (0..3).filter(|&a| a != self.axis).collect();
        let mut spacing_2d = [spacing[in_plane[0]], spacing[in_plane[1]]];
        if let Some(size) = self.shape {
            for (s, (&a, &n)) in spacing_2d.iter_mut().zip(in_plane.iter().zip(&size)) {
                *s = *s * shape[a] as f64 / n as f64;
            }
            for volume in &mut normalised {
                *volume = resize_image_volume(volume, size);
            }
            gt = resize_label_volume(&gt, size);
        }
        Ok(VolumeCase {
            id: case.to_string(),
            modalities: normalised,
            gt,
            classes,
            slice_spacing: spacing_2d.map(NumpyScalar::F64),
            volume_spacing: [
                NumpyScalar::F64(spacing_2d[0]),
                NumpyScalar::F64(spacing_2d[1]),
                NumpyScalar::F64(spacing[self.axis]),
            ],
        })
    }
}
