//! `slice nifti --volumes`: the volumetric layout for 3-D training. Per case and split, the
//! normalised multi-modal volume `img_npy/<case>.npy` (float32 `(C, X, Y, Z)`, each modality
//! min-max normalised per volume as the 2-D slicers do), the labels `gt_npy/<case>.npy` (uint8
//! `(X, Y, Z)`) and their signed 3-D distance maps `dist_npy/<case>.npy` (float32
//! `(K, X, Y, Z)`, the original's `one_hot2dist` with the volume's true, anisotropic spacing);
//! `spacing_3d.json` holds each case's `(x, y, z)` spacing in mm. Axes stay the NIfTI file's, so
//! predictions are in the input's space.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use distmap::{distance_maps, MapOptions};
use ndarray::{Array3, Array4, Axis};
use rayon::prelude::*;
use volume_io::{read_label_map, write_npy_directly, write_spacing_json, FileError};

use crate::datasets::{as_volume, check_same_shape, min_max_normalise, read_volume};
use crate::nifti_folder::{CasePlan, SliceNifti};
use crate::record::{Normalisation, PreprocessRecord};
use crate::staging::Staging;
use crate::{bad, PreprocessError, Sliced};

/// Folders of a volumetric data set's split: images, labels, distance maps.
pub const VOLUME_FOLDERS: [&str; 3] = ["img_npy", "gt_npy", "dist_npy"];
/// The `source` of a volumetric data set's `preprocess.json`.
pub const VOLUMES_SOURCE: &str = "nifti_volumes";

/// One case, ready to write.
struct VolumeCase {
    image: Array4<f32>,
    labels: Array3<u8>,
    maps: ndarray::ArrayD<f32>,
    spacing: Vec<f64>,
}

impl SliceNifti {
    /// Writes the volumetric layout (see the module documentation) instead of slices.
    pub fn run_volumes(
        &self,
        progress: &indicatif::ProgressBar,
    ) -> Result<Sliced, PreprocessError> {
        if self.shape.is_some() || self.augment > 0 {
            return Err(bad(
                &self.dest,
                "--shape and --augment are for slices: volumes keep their grid, and 3-D training flips its patches itself",
            ));
        }
        let plan = self.plan()?;
        let staging = Staging::create(&self.dest)?;
        progress.set_length((plan.train.len() + plan.val.len()) as u64);
        let jobs: Vec<(&str, &String)> = plan
            .train
            .iter()
            .map(|c| ("train", c))
            .chain(plan.val.iter().map(|c| ("val", c)))
            .collect();
        for split in ["train", "val"] {
            for folder in VOLUME_FOLDERS {
                staging.make_dir(&Path::new(split).join(folder))?;
            }
        }
        let spacings: Vec<(String, Vec<f64>)> = jobs
            .par_iter()
            .map(|&(split, case)| {
                let volume = self.volume(&plan, case)?;
                let dir = staging.dir().join(split);
                let file = |folder: &str| dir.join(folder).join(format!("{case}.npy"));
                write_npy_directly(&file("img_npy"), &volume.image)?;
                write_npy_directly(&file("gt_npy"), &volume.labels)?;
                write_npy_directly(&file("dist_npy"), &volume.maps)?;
                progress.inc(1);
                Ok((case.clone(), volume.spacing))
            })
            .collect::<Result<_, PreprocessError>>()?;
        let table: BTreeMap<String, Vec<f64>> = spacings.into_iter().collect();
        write_spacing_json(&staging.dir().join("spacing_3d.json"), &table)?;
        PreprocessRecord {
            format: crate::record::RECORD_FORMAT,
            source: VOLUMES_SOURCE.to_string(),
            axis: 2,
            shape: None,
            normalisation: Normalisation::MinMaxPerVolume,
            modalities: plan.folders.clone(),
            classes: plan.classes,
            label_mapping: Vec::new(),
        }
        .write(staging.dir())?;
        staging.finish()?;
        Ok(Sliced {
            train_cases: plan.train,
            val_cases: plan.val,
            slices: 0,
            classes: plan.classes,
        })
    }

    fn volume(&self, plan: &CasePlan, case: &str) -> Result<VolumeCase, PreprocessError> {
        let label_path: &PathBuf = &plan.labels[case];
        let label_map = read_label_map(label_path)?;
        let labels = as_volume(label_map.labels, label_path)?;
        let shape = labels.shape().to_vec();
        if let Some(&l) = labels.iter().find(|&&l| l as usize >= plan.classes) {
            return Err(bad(
                label_path,
                format!("label {l} is not below the {} classes", plan.classes),
            ));
        }
        let spacing = label_map.spacing.unwrap_or_else(|| vec![1.0; 3]);
        let labels = labels.mapv(|l| l as u8);
        let mut image = Array4::<f32>::zeros((plan.images.len(), shape[0], shape[1], shape[2]));
        for (m, files) in plan.images.iter().enumerate() {
            let path = &files[case];
            let (volume, _) = read_volume(path)?;
            check_same_shape(&shape, label_path, volume.shape(), path)?;
            image
                .index_axis_mut(Axis(0), m)
                .assign(&min_max_normalise(&volume, path)?);
        }
        let maps = distance_maps(
            labels.view().into_dyn(),
            plan.classes,
            &spacing,
            &MapOptions::default(),
        )
        .map_err(|e| FileError::new(label_path, e.to_string()))?;
        Ok(VolumeCase {
            image,
            labels,
            maps,
            spacing,
        })
    }
}
