//! Training (the original `main.py`): a run file in, a run folder out.
//!
//! This module owns the epoch loop ([`epochs`], one for 2-D slices and 3-D patches, which differ
//! only in how a phase runs: `slices` and [`volumetric`]): the run file ([`config`]), loss
//! weights and learning-rate rule ([`schedule`]), the optimisers ([`optim`]), one batch through
//! network and losses ([`step`]), the run folder's format, checkpoints and resume
//! ([`run_folder`]), and progress reports ([`observer`]). Metrics come from [`crate::eval`]; data from [`crate::data`]; the
//! Burn-free run file, inputs and schedule are the `runs` crate's, re-exported here.

pub mod epoch;
pub mod epochs;
pub mod observer;
pub mod optim;
pub mod progress;
pub mod run_folder;
mod slices;
pub mod step;
pub mod volumetric;

pub use runs::{config, inputs, loss_term, schedule};

use std::path::{Path, PathBuf};

use volume_io::FileError;

pub use config::{
    Activation, ConfigError, LossKind, LossTerm, LrHalving, OptimizerKind, RunConfig, Schedule,
};
pub use observer::{EpochReport, Observer, Phase, Silent};
pub use run_folder::version;
pub use schedule::weights_at;

use crate::data::DataError;
use crate::device::DeviceError;
use crate::eval::MetricError;
use crate::losses::LossError;
use crate::nets::NetError;

pub use runs::inputs::{InputError, DEBUG_SLICES};
/// Batches the loader reads ahead of the training step.
pub const PREFETCH_BATCHES: usize = 2;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("run file: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Loss(#[from] LossError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Metric(#[from] MetricError),
    #[error("{0}: holds a run already (--force replaces it, --resume continues it)")]
    RunExists(PathBuf),
    #[error("{0}: is not empty and holds no run; choose another folder")]
    NotARunFolder(PathBuf),
}

impl From<InputError> for TrainError {
    fn from(error: InputError) -> Self {
        match error {
            InputError::Config(e) => TrainError::Config(e),
            InputError::Data(e) => TrainError::Data(e),
        }
    }
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    /// 0-based epoch with the best mean validation Dice over the metric classes.
    pub best_epoch: usize,
    pub best_val_dice: f64,
    /// The metric classes the best epoch was chosen by.
    pub metric_classes: Vec<usize>,
    /// At the best epoch: mean over validation images of the 2-D Dice, per class.
    pub best_val_dice_per_class: Vec<f64>,
    /// At the best epoch: mean over patients of the 3-D Dice, per class.
    pub best_val_3d_dsc: Vec<f64>,
    /// At the best epoch: mean over patients (where defined) of the 3-D HD95 in mm, per class.
    pub best_val_3d_hd95: Vec<f64>,
}

/// How a run is driven (not part of the run file).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Stop after this many epochs have finished (as if the run were killed there); the run
    /// folder can then be resumed.
    pub stop_after: Option<usize>,
    /// Replace a run already in the run folder (otherwise it is an error).
    pub force: bool,
}

/// Trains as `config` says, writing the run folder `run_dir`, which must not hold a run unless
/// `options.force`.
pub fn train(
    config: &RunConfig,
    run_dir: &Path,
    options: &TrainOptions,
    observer: &mut dyn Observer,
) -> Result<RunSummary, TrainError> {
    if run_dir.exists() {
        // Empty, or holding only what a run killed while writing its first file left.
        let empty = std::fs::read_dir(run_dir)
            .map_err(|e| FileError::new(run_dir, e))?
            .filter_map(Result::ok)
            .all(|e| e.file_name().to_string_lossy().starts_with(".tmp-"));
        if !empty {
            if !run_folder::holds_run(run_dir) {
                return Err(TrainError::NotARunFolder(run_dir.to_path_buf()));
            }
            if !options.force {
                return Err(TrainError::RunExists(run_dir.to_path_buf()));
            }
            std::fs::remove_dir_all(run_dir).map_err(|e| FileError::new(run_dir, e))?;
        }
    }
    run(config, run_dir, options, false, observer)
}

/// Continues the run in `run_dir` (killed at any point) from its last finished epoch, with its
/// own `run.toml`; ends with the same files as an uninterrupted run with the same seed on CPU.
pub fn resume(
    run_dir: &Path,
    options: &TrainOptions,
    observer: &mut dyn Observer,
) -> Result<RunSummary, TrainError> {
    let config = RunConfig::from_file(&run_dir.join(run_folder::RUN_FILE))?;
    run(&config, run_dir, options, true, observer)
}

/// Trains from scratch, or from the checkpoint of `run_dir` when `resuming`.
pub fn run(
    config: &RunConfig,
    run_dir: &Path,
    options: &TrainOptions,
    resuming: bool,
    observer: &mut dyn Observer,
) -> Result<RunSummary, TrainError> {
    config.validate()?;
    if let Some(patches) = &config.data.patches {
        return volumetric::run(config, patches, run_dir, options, resuming, observer);
    }
    slices::run(config, run_dir, options, resuming, observer)
}
