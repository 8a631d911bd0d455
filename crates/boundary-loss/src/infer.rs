//! Inference: a trained run's network on new slices. It owns choosing the weights (the best
//! epoch's `best.bpk`, the last checkpoint, or a file), building the network as the run file
//! describes it, and turning batches of prepared slices into class maps and probabilities,
//! exactly as validation does (the same activation, temperature and argmax).

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

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
        let device = device.unwrap_or(&config.device).device()?;
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
        let net = config.network.build_with_base(
            config.modalities,
            config.output_channels(),
            config.network_base,
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

    /// Segments `slices` (each `(modalities, size[0], size[1])`, row-major) in batches of
    /// `batch`.
    pub fn segment(
        &self,
        slices: &[Vec<f32>],
        size: [usize; 2],
        batch: usize,
        keep_probabilities: bool,
    ) -> Result<Segmented, TrainError> {
        let (classes, modalities) = (self.config.classes, self.config.modalities);
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
                self.config.activation,
                self.config.temperature,
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
        let patches = self.config.patches.as_ref().ok_or_else(|| {
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
        let labels = crate::losses::argmax_classes(&probs, self.config.classes, x * y * z);
        Ok((labels, keep_probabilities.then_some(probs)))
    }
}
