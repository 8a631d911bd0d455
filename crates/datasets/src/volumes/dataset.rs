//! A split of the volumetric layout in memory: per case, each stream of the run file (the image
//! `(C, X, Y, Z)`, one-hot targets as their label volume, pre-computed maps `(K, X, Y, Z)`), the
//! truth's labels and the case's spacing from `spacing_3d.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use volume_io::{read_label_map, read_npy_f32};

use crate::data::{DataError, Stream, StreamKind};

/// One stream of one case.
#[derive(Debug, Clone)]
pub enum StreamVolume {
    /// Float channels `(C, X, Y, Z)`: an image (padded with zeros beyond the volume) or
    /// pre-computed distance maps (`edge`: padded with the value at the volume's edge, which
    /// continues the map's sign, so padding counts as background).
    Channels { values: ArrayD<f32>, edge: bool },
    /// A label volume `(X, Y, Z)` turned into a one-hot `(K, ...)` when a patch is cut.
    Labels(ArrayD<u8>),
}

impl StreamVolume {
    pub fn channels(&self, classes: usize) -> usize {
        match self {
            StreamVolume::Channels { values, .. } => values.shape()[0],
            StreamVolume::Labels(_) => classes,
        }
    }
}

/// One case.
#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub streams: Vec<StreamVolume>,
    /// The truth's labels `(X, Y, Z)`.
    pub truth: ArrayD<u8>,
    /// mm per axis.
    pub spacing: [f64; 3],
}

impl Volume {
    pub fn shape(&self) -> [usize; 3] {
        let s = self.truth.shape();
        [s[0], s[1], s[2]]
    }
}

/// Every case of a split.
#[derive(Debug, Clone)]
pub struct VolumeSet {
    pub split_dir: PathBuf,
    pub classes: usize,
    pub volumes: Vec<Arc<Volume>>,
}

fn bad(path: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::Bad {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn labels_of(path: &Path, classes: usize) -> Result<ArrayD<u8>, DataError> {
    let labels = read_label_map(path)?.labels;
    if labels.ndim() != 3 {
        return Err(bad(
            path,
            format!("is {:?}: a label volume must be 3-D", labels.shape()),
        ));
    }
    if let Some(&l) = labels.iter().find(|&&l| l as usize >= classes) {
        return Err(bad(
            path,
            format!("holds label {l}, but there are {classes} classes"),
        ));
    }
    Ok(labels.mapv(|l| l as u8))
}

fn channels_of(path: &Path) -> Result<ArrayD<f32>, DataError> {
    let array = read_npy_f32(path)?;
    match array.ndim() {
        4 => Ok(array),
        3 => {
            let shape = array.shape().to_vec();
            Ok(array
                .into_shape_with_order(IxDyn(&[1, shape[0], shape[1], shape[2]]))
                .expect("one more axis of length 1"))
        }
        _ => Err(bad(
            path,
            format!(
                "is {:?}: a volume stream must be (C, X, Y, Z) or (X, Y, Z)",
                array.shape()
            ),
        )),
    }
}

/// The cases of a folder of volumes: its `.npy` files' stems, in natural order.
pub fn case_names(dir: &Path) -> Result<Vec<String>, DataError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| bad(dir, format!("cannot list the folder: {e}")))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".npy")
                .map(str::to_string)
        })
        .collect();
    names.sort_by(|a, b| crate::data::natural_cmp(a, b));
    Ok(names)
}

impl VolumeSet {
    /// Reads `root/split`: the cases are the `.npy` files of the first stream's folder (in
    /// natural order); each stream's folder must hold every case, with the truth's grid.
    pub fn open(
        root: &Path,
        split: &str,
        streams: &[Stream],
        truth_folder: &str,
        classes: usize,
        limit: Option<usize>,
    ) -> Result<Self, DataError> {
        let split_dir = root.join(split);
        let first = split_dir.join(&streams[0].folder);
        let mut names = case_names(&first)?;
        if let Some(n) = limit {
            names.truncate(n);
        }
        if names.is_empty() {
            return Err(bad(&first, "holds no volume (.npy)"));
        }
        let spacings_path = root.join("spacing_3d.json");
        let spacings: BTreeMap<String, Vec<f64>> = volume_io::read_spacing_json(&spacings_path)?;
        let volumes = names
            .par_iter()
            .map(|name| {
                let file = |folder: &str| split_dir.join(folder).join(format!("{name}.npy"));
                let truth_path = file(truth_folder);
                let truth = labels_of(&truth_path, classes)?;
                let grid = truth.shape().to_vec();
                let mut read = Vec::with_capacity(streams.len());
                for stream in streams {
                    let path = file(&stream.folder);
                    let volume = match stream.kind {
                        StreamKind::OneHot => StreamVolume::Labels(labels_of(&path, classes)?),
                        StreamKind::ImageNpy | StreamKind::Precomputed => {
                            let mut channels = channels_of(&path)?;
                            if stream.kind == StreamKind::Precomputed {
                                let c = channels.shape()[0];
                                stream.normalize.apply(
                                    channels.as_slice_mut().expect("standard layout"),
                                    c,
                                );
                            }
                            StreamVolume::Channels {
                                values: channels,
                                edge: stream.kind == StreamKind::Precomputed,
                            }
                        }
                        other => {
                            return Err(bad(
                                &path,
                                format!(
                                    "a {other:?} stream is not available in 3-D: use image_npy, one_hot and precomputed (the volume's distance maps)"
                                ),
                            ))
                        }
                    };
                    let shape = match &volume {
                        StreamVolume::Channels { values, .. } => values.shape()[1..].to_vec(),
                        StreamVolume::Labels(a) => a.shape().to_vec(),
                    };
                    if shape != grid {
                        return Err(bad(
                            &path,
                            format!("is {shape:?} in space, the truth {grid:?}"),
                        ));
                    }
                    read.push(volume);
                }
                let spacing = spacings.get(name).filter(|s| s.len() == 3).ok_or_else(|| {
                    bad(
                        &spacings_path,
                        format!("has no 3-value spacing of case '{name}'"),
                    )
                })?;
                Ok(Arc::new(Volume {
                    name: name.clone(),
                    streams: read,
                    truth,
                    spacing: [spacing[0], spacing[1], spacing[2]],
                }))
            })
            .collect::<Result<Vec<_>, DataError>>()?;
        Ok(VolumeSet {
            split_dir,
            classes,
            volumes,
        })
    }

    pub fn len(&self) -> usize {
        self.volumes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.volumes.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.volumes.iter().map(|v| v.name.clone()).collect()
    }
}
