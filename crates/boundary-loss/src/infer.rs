//! Inference: a trained run's network on new cases. It owns choosing the weights (the best
//! epoch's `best.bpk`, the last checkpoint, or a file), building the network as the run file
//! describes it, turning batches of prepared slices (or whole volumes) into class maps and
//! probabilities exactly as validation does (the same activation, temperature and argmax), and
//! putting a case's segmentation back into the grid of its input volumes.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array3, Array4, ArrayView2};
use preprocess::inference::{prepare_case, prepare_volume, restore_labels, restore_probabilities};
use preprocess::PreprocessRecord;

use crate::device::ToDevice;
use crate::nets::BuildNetwork;
use crate::nets::Network;
use crate::train::run_folder::{self, BEST_WEIGHTS, RUN_FILE};
use crate::train::step::{class_maps, probabilities};
use crate::train::{RunConfig, TrainError};
use volume_io::FileError;

/// Which weights of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weights {
    /// The best epoch's (`best.bpk`), what the run's report is about.
    Best,
    /// The last completed epoch's (the checkpoint).
    Last,
    File(PathBuf),
}

impl std::str::FromStr for Weights {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "best" => Weights::Best,
            "last" => Weights::Last,
            path => Weights::File(PathBuf::from(path)),
        })
    }
}

/// A run's network, ready to segment slices.
pub struct Predictor {
    pub config: RunConfig,
    pub weights: PathBuf,
    net: Network,
    device: Device,
}

/// The class maps of a batch of slices, and optionally their probabilities.
pub struct Segmented {
    /// Per slice, row-major `size[0] x size[1]` class indices.
    pub labels: Vec<Vec<u8>>,
    /// Per slice, `(classes, size[0], size[1])` probabilities, when asked for.
    pub probabilities: Option<Vec<Vec<f32>>>,
}

impl Predictor {
    /// The network of the run in `run_dir` with `weights`, on the run file's device unless
    /// `device` names another.
    pub fn open(
        run_dir: &Path,
        weights: &Weights,
        device: Option<&crate::device::DeviceSpec>,
    ) -> Result<Self, TrainError> {
        let config = RunConfig::from_file(&run_dir.join(RUN_FILE))?;
        let device = device.unwrap_or(&config.run.device).device()?;
        let path = match weights {
            Weights::Best => run_dir.join(BEST_WEIGHTS),
            Weights::Last => run_folder::checkpoint_dir(run_dir)
                .map(|d| d.join("model.bpk"))
                .ok_or_else(|| {
                    FileError::new(
                        run_dir.join(run_folder::CHECKPOINT_DIR),
                        "no checkpoint: the run has not finished an epoch",
                    )
                })?,
            Weights::File(path) => path.clone(),
        };
        if !path.is_file() {
            let reason = match weights {
                Weights::Best => "no best weights: no finished epoch had a mean validation Dice above 0 (the original's rule); --weights last takes the last epoch's",
                _ => "no such weights file",
            };
            return Err(FileError::new(&path, reason).into());
        }
        let net = config.network.architecture.build_with_base(
            config.network.modalities,
            config.output_channels(),
            config.network.base,
            &device,
        )?;
        let net = run_folder::load_weights(net, &path)?;
        Ok(Predictor {
            config,
            weights: path,
            net,
            device,
        })
    }

    /// The network, with the run's weights.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Segments `slices` (each `(modalities, size[0], size[1])`, row-major) in batches of
    /// `batch`.
    pub fn segment(
        &self,
        slices: &[Vec<f32>],
        size: [usize; 2],
        batch: usize,
        keep_probabilities: bool,
    ) -> Result<Segmented, TrainError> {
        let (classes, modalities) = (self.config.network.classes, self.config.network.modalities);
        let pixels = size[0] * size[1];
        let mut labels = Vec::with_capacity(slices.len());
        let mut kept = keep_probabilities.then(Vec::new);
        for chunk in slices.chunks(batch.max(1)) {
            let data: Vec<f32> = chunk.iter().flatten().copied().collect();
            let input = Tensor::<4>::from_data(
                TensorData::new(data, [chunk.len(), modalities, size[0], size[1]]),
                &self.device,
            );
            let probs = probabilities(
                self.net.forward_2d(input)?,
                self.config.network.activation,
                self.config.network.temperature,
            );
            let (host, predicted) = class_maps(probs, classes);
            labels.extend(predicted.chunks(pixels).map(<[u8]>::to_vec));
            if let Some(kept) = &mut kept {
                kept.extend(host.chunks(classes * pixels).map(<[f32]>::to_vec));
            }
        }
        Ok(Segmented {
            labels,
            probabilities: kept,
        })
    }

    /// Segments a whole volume `(modalities, X, Y, Z)` with a 3-D run, by blended sliding
    /// windows as its validation does: the class of each voxel `(X, Y, Z)` row-major, and the
    /// probabilities `(K, X, Y, Z)` when asked for.
    pub fn segment_volume(
        &self,
        image: ndarray::Array4<f32>,
        keep_probabilities: bool,
    ) -> Result<(Vec<u8>, Option<Vec<f32>>), TrainError> {
        let patches = self.config.data.patches.as_ref().ok_or_else(|| {
            crate::train::ConfigError::new("patches", "a 2-D run segments slices, not volumes")
        })?;
        let (_, x, y, z) = image.dim();
        let volume = crate::volumes::Volume {
            name: String::new(),
            streams: vec![crate::volumes::StreamVolume::Channels {
                values: image.into_dyn(),
                edge: false,
            }],
            truth: ndarray::ArrayD::zeros(ndarray::IxDyn(&[x, y, z])),
            spacing: [1.0; 3],
        };
        let probs = crate::train::volumetric::sliding_window_probabilities(
            &self.net,
            &volume,
            patches,
            &self.config,
            &self.device,
        )?;
        let labels = crate::losses::argmax_classes(&probs, self.config.network.classes, x * y * z);
        Ok((labels, keep_probabilities.then_some(probs)))
    }
}

/// A new case segmented in the space of its input volumes.
pub struct CaseSegmentation {
    /// The class of each voxel, `(X, Y, Z)` as the input images.
    pub labels: Array3<u8>,
    /// When asked for, the probabilities `(X, Y, Z, K)`.
    pub probabilities: Option<Array4<f32>>,
}

/// Why a case could not be segmented: its images, or the run.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Images(#[from] preprocess::PreprocessError),
    #[error(transparent)]
    Run(#[from] TrainError),
}

impl Predictor {
    /// Segments one case, given its modality volumes in the order of the data set's `record`:
    /// preprocessed as the data set was, segmented slice by slice (a 2-D run, in batches of
    /// `batch`) or by sliding windows over the whole volume (a 3-D run), and put back into the
    /// input's grid and axes.
    pub fn segment_case(
        &self,
        record: &PreprocessRecord,
        images: &[PathBuf],
        batch: usize,
        keep_probabilities: bool,
    ) -> Result<CaseSegmentation, CaseError> {
        let classes = self.config.network.classes;
        if self.config.data.patches.is_some() {
            let image = prepare_volume(record, images)?;
            let (_, x, y, z) = image.dim();
            let (labels, probabilities) = self.segment_volume(image, keep_probabilities)?;
            let labels = Array3::from_shape_vec((x, y, z), labels).expect("one label per voxel");
            // (K, X, Y, Z) to the (X, Y, Z, K) of a NIfTI vector volume.
            let probabilities = probabilities.map(|p| {
                Array4::from_shape_vec((classes, x, y, z), p)
                    .expect("K probabilities per voxel")
                    .permuted_axes([1, 2, 3, 0])
                    .as_standard_layout()
                    .into_owned()
            });
            return Ok(CaseSegmentation {
                labels,
                probabilities,
            });
        }
        let prepared = prepare_case(record, images)?;
        let segmented = self.segment(&prepared.slices, prepared.size, batch, keep_probabilities)?;
        let [h, w] = prepared.size;
        let slices = prepared.slices.len();
        // Slice j of the stack is plane j of the last axis, before the record's axis is restored.
        let mut predicted = Array3::<u8>::zeros((h, w, slices));
        for (j, labels) in segmented.labels.iter().enumerate() {
            predicted
                .index_axis_mut(ndarray::Axis(2), j)
                .assign(&ArrayView2::from_shape((h, w), labels).expect("one label per pixel"));
        }
        let probabilities = segmented.probabilities.map(|probabilities| {
            let per_class: Vec<Array3<f32>> = (0..classes)
                .map(|k| {
                    Array3::from_shape_fn((h, w, slices), |(y, x, j)| {
                        probabilities[j][(k * h + y) * w + x]
                    })
                })
                .collect();
            restore_probabilities(record, per_class, prepared.shape)
        });
        Ok(CaseSegmentation {
            labels: restore_labels(record, predicted, prepared.shape),
            probabilities,
        })
    }
}
