//! What a run reads before its first step: the two splits (every folder the run file names
//! checked), the validation patients and their 3-D spacings.

use std::sync::Arc;

use regex::Regex;

use datasets::data::{slice_stem, DataError, Dataset, OpenOptions, StreamKind};
use distmap::MapOptions;
use segmentation_metrics::{group_patients, patient_of};

use crate::config::{self, ConfigError, RunConfig};

/// Slices per split in debug mode (the original's `--debug`).
pub const DEBUG_SLICES: usize = 10;

/// Why a run's inputs cannot be opened: the run file asks for something the data set lacks, or
/// the data set itself is wrong.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("run file: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// The opened validation or training split.
pub fn open_split(
    config: &RunConfig,
    split: &str,
    truth_folder: &str,
) -> Result<Arc<Dataset>, InputError> {
    // Each folder the run file names must exist: say which field names it.
    let split_dir = config.data.dataset.join(split);
    let mut folders: Vec<(String, &str)> = config
        .data
        .streams
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("streams[{i}].folder"), s.folder.as_str()))
        .collect();
    if config.validation.truth_folder.is_some() {
        folders.push(("truth_folder".into(), truth_folder));
    }
    for (field, folder) in folders {
        let dir = split_dir.join(folder);
        if !dir.is_dir() {
            return Err(
                ConfigError::new(field, format!("{}: no such folder", dir.display())).into(),
            );
        }
    }
    let options = OpenOptions {
        check_image_range: config.data.check_image_range,
        map_options: MapOptions {
            truncate: config.data.truncate_distance_maps,
            ..MapOptions::default()
        },
        use_spacing: config.data.use_spacing,
        truth_folder: Some(truth_folder.to_string()),
        limit: config.data.debug.then_some(DEBUG_SLICES),
    };
    let dataset = Dataset::open_with(
        &config.data.dataset,
        split,
        config.data.streams.clone(),
        config.network.classes,
        options,
    )?;
    if config.data.use_spacing
        && !dataset.has_spacing()
        && config
            .data
            .streams
            .iter()
            .any(|s| s.kind == StreamKind::DistanceMap)
    {
        return Err(InputError::Config(ConfigError::new(
            "use_spacing",
            format!(
                "{}: no spacing.json or spacing.pkl, but the distance maps need the slice spacing (set use_spacing = false for 1 per axis)",
                dataset.split_dir().display()
            ),
        )));
    }
    Ok(Arc::new(dataset))
}

/// Patients of a split: `(patient, slice indices)` in order of first appearance.
pub fn patients_of(
    dataset: &Dataset,
    pattern: &Regex,
) -> Result<Vec<(String, Vec<usize>)>, InputError> {
    let stems: Vec<String> = dataset
        .names()
        .iter()
        .map(|n| slice_stem(n).to_string())
        .collect();
    group_patients(&stems, pattern).map_err(|e| {
        InputError::from(DataError::Bad {
            path: dataset.split_dir().to_path_buf(),
            reason: e.to_string(),
        })
    })
}

/// The 3-D spacing of every validation patient, ordered as the slice stack `(slices, axis 0,
/// axis 1)`: `spacing_3d` holds `(axis 0, axis 1, slice axis)` like the original's pickle, keyed
/// by `resolution_regex` on the patient's first slice.
pub fn patient_spacings(
    config: &RunConfig,
    val_set: &Dataset,
    patients: &[(String, Vec<usize>)],
) -> Result<Vec<[f64; 3]>, InputError> {
    let table = datasets::data::read_spacing(&config.data.dataset, "spacing_3d")?;
    let file = volume_io::spacing_file(&config.data.dataset, "spacing_3d")
        .unwrap_or_else(|| config.data.dataset.join("spacing_3d.pkl"));
    if table.is_empty() {
        return Err(DataError::Bad {
            path: file,
            reason: "missing or empty (also no spacing_3d.json): the 3-D HD95 needs each patient's spacing".into(),
        }
        .into());
    }
    let pattern = config::anchored_regex("resolution_regex", config.resolution_regex())?;
    patients
        .iter()
        .map(|(patient, slices)| {
            let stem = slice_stem(&val_set.names()[slices[0]]);
            let key = patient_of(stem, &pattern, "resolution_regex").map_err(|e| {
                DataError::Bad {
                    path: val_set.split_dir().to_path_buf(),
                    reason: e.to_string(),
                }
            })?;
            match table.get(&key) {
                Some(s) if s.len() == 3 => Ok([s[2], s[0], s[1]]),
                Some(s) => Err(DataError::Bad {
                    path: file.clone(),
                    reason: format!("'{key}' has {} values, 3 expected", s.len()),
                }
                .into()),
                None => Err(DataError::Bad {
                    path: file.clone(),
                    reason: format!(
                        "no spacing for patient '{patient}' (key '{key}' from resolution_regex '{}')",
                        config.resolution_regex()
                    ),
                }
                .into()),
            }
        })
        .collect()
}

/// Whether each slice of a split holds foreground (a truth label other than 0), read once in
/// parallel for `balance_batches`.
pub fn slices_with_foreground(
    dataset: &Dataset,
    truth_folder: &str,
) -> Result<Vec<bool>, InputError> {
    use rayon::prelude::*;
    (0..dataset.len())
        .into_par_iter()
        .map(|i| {
            let (labels, _) = dataset.class_map(truth_folder, i)?;
            Ok(labels.iter().any(|&l| l != 0))
        })
        .collect()
}
