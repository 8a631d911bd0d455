//! Training (the original `main.py`): a run file in, a run folder out.
//!
//! This module owns the epoch loop: the run file ([`config`]), loss weights and learning-rate
//! rule ([`schedule`]), the optimisers ([`optim`]), one batch through network and losses
//! ([`step`]), the run folder's format, checkpoints and resume ([`run_folder`]), and progress
//! reports ([`observer`]). Metrics come from [`crate::eval`]; data from [`crate::data`].

pub mod config;
pub mod epoch;
pub mod inputs;
pub mod loss_term;
pub mod observer;
pub mod optim;
pub mod progress;
pub mod run_folder;
pub mod schedule;
pub mod step;
pub mod volumetric;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use volume_io::FileError;

pub use config::{
    Activation, ConfigError, LossKind, LossTerm, LrHalving, OptimizerKind, RunConfig, Schedule,
};
pub use observer::{EpochReport, Observer, Phase, Silent};
pub use run_folder::version;
pub use schedule::weights_at;

use crate::data::{
    balanced_batches, patient_batches, slice_batches, DataError, Loader, SliceCache,
};
use crate::device::DeviceError;
use crate::eval::{self, MetricError, VolumeMetrics};
use crate::losses::LossError;
use crate::nets::NetError;
use epoch::{save_predictions, PhaseLog};
use inputs::{open_split, patient_spacings, patients_of, slices_with_foreground};
use progress::{EpochResults, RunContext, RunStart};
use step::run_batch;

/// Slices per split in debug mode (the original's `--debug`).
pub const DEBUG_SLICES: usize = 10;
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
    if let Some(patches) = &config.patches {
        return volumetric::run(config, patches, run_dir, options, resuming, observer);
    }
    let base_device = config.device.device()?;
    let device = base_device.clone().autodiff();
    let truth_folder = config.truth_folder()?;
    let (train_set, val_set) = (
        open_split(config, "train", &truth_folder)?,
        open_split(config, "val", &truth_folder)?,
    );
    let pattern = config::anchored_regex("patient_regex", &config.patient_regex)?;
    let patients = patients_of(&val_set, &pattern)?;
    let train_patients = if config.group_train {
        patients_of(&train_set, &pattern)?
    } else {
        Vec::new()
    };
    let train_foreground = if config.balance_batches {
        Some(slices_with_foreground(&train_set, &truth_folder)?)
    } else {
        None
    };
    let spacings = patient_spacings(config, &val_set, &patients)?;
    let metric_classes = config.metric_classes();

    let patient_names: Vec<String> = patients.iter().map(|(p, _)| p.clone()).collect();
    let RunStart {
        mut progress,
        mut net,
        mut optimizer,
        losses,
        initial_weights,
        mut history,
    } = progress::start_run::<4>(
        config,
        run_dir,
        resuming,
        val_set.has_spacing(),
        (&base_device, &device),
        &patient_names,
    )?;
    let classes = config.classes;
    let caches = config.in_memory.then(|| {
        (
            Arc::new(SliceCache::default()),
            Arc::new(SliceCache::default()),
        )
    });
    let context = RunContext {
        config,
        run_dir,
        options,
        metric_classes: &metric_classes,
        initial_weights: &initial_weights,
    };
    observer.run_started(progress.start, config.epochs);
    let val_batches = if config.group {
        patient_batches(&patients, None)
    } else {
        slice_batches(val_set.len(), config.batch_size, None)
    };

    for epoch in progress.start..config.epochs {
        let Some(epoch_start) = context.begin_epoch(epoch, &device) else {
            break;
        };
        let (iter_dir, weights) = (epoch_start.iter_dir.clone(), epoch_start.weights.clone());

        // Training.
        let shuffle = config.seed.wrapping_add(epoch as u64);
        let train_batches = if config.group_train {
            patient_batches(&train_patients, Some(shuffle))
        } else if let Some(has_foreground) = &train_foreground {
            balanced_batches(has_foreground, config.batch_size, shuffle)
        } else {
            slice_batches(train_set.len(), config.batch_size, Some(shuffle))
        };
        let train_dir = iter_dir.join("train");
        if config.save_train {
            std::fs::create_dir_all(&train_dir).map_err(|e| FileError::new(&train_dir, e))?;
        }
        observer.phase_started(epoch, Phase::Train, train_batches.len());
        let mut train_log = PhaseLog::new(train_set.len(), classes);
        let epoch_started = std::time::Instant::now();
        let mut loader = Loader::new(
            train_set.clone(),
            train_batches,
            PREFETCH_BATCHES,
            caches.as_ref().map(|c| c.0.clone()),
        );
        for batch in loader.by_ref() {
            let batch = batch?;
            let outcome = run_batch(&net, &batch, &device, config, &losses, &weights)?;
            let grads = burn::optim::GradientsParams::from_grads(outcome.total.backward(), &net);
            net = optimizer.step(progress.learning_rate, net, grads);
            if config.save_train {
                save_predictions(&train_dir, &train_set, &batch, &outcome.predicted)?;
            }
            train_log.record(
                &batch.indices,
                outcome.dice,
                outcome.weighted_terms,
                &metric_classes,
            );
            observer.batch_done(train_log.running_loss(), train_log.running_dice());
        }
        observer.phase_done();
        let (train_seconds, data_wait) = (
            epoch_started.elapsed().as_secs_f64(),
            loader.waited().as_secs_f64(),
        );
        drop(loader);
        if config.recalibrate_batch_norm {
            for batch in Loader::new(
                train_set.clone(),
                slice_batches(train_set.len(), config.batch_size, None),
                PREFETCH_BATCHES,
                caches.as_ref().map(|c| c.0.clone()),
            ) {
                step::forward_only(&net, &batch?, &device)?;
            }
        }

        // Validation.
        let model = net.valid();
        let val_dir = iter_dir.join("val");
        std::fs::create_dir_all(&val_dir).map_err(|e| FileError::new(&val_dir, e))?;
        observer.phase_started(epoch, Phase::Validation, val_batches.len());
        let mut val_log = PhaseLog::new(val_set.len(), classes);
        let mut predictions: Vec<Vec<u8>> = vec![Vec::new(); val_set.len()];
        let mut truths: Vec<Vec<u8>> = vec![Vec::new(); val_set.len()];
        let mut size = [0usize; 2];
        for batch in Loader::new(
            val_set.clone(),
            val_batches.clone(),
            PREFETCH_BATCHES,
            caches.as_ref().map(|c| c.1.clone()),
        ) {
            let batch = batch?;
            size = batch.size;
            let outcome = run_batch(&model, &batch, &base_device, config, &losses, &weights)?;
            save_predictions(&val_dir, &val_set, &batch, &outcome.predicted)?;
            let pixels = size[0] * size[1];
            for (b, &index) in batch.indices.iter().enumerate() {
                predictions[index] = outcome.predicted[b * pixels..(b + 1) * pixels].to_vec();
                truths[index] = batch.truth[b * pixels..(b + 1) * pixels].to_vec();
            }
            val_log.record(
                &batch.indices,
                outcome.dice,
                outcome.weighted_terms,
                &metric_classes,
            );
            observer.batch_done(val_log.running_loss(), val_log.running_dice());
        }
        observer.phase_done();
        let VolumeMetrics {
            dsc: dsc_3d,
            hd95: hd95_3d,
            empty_cases,
        } = eval::volume_metrics(
            classes,
            &metric_classes,
            config.empty_mask,
            &patients,
            &spacings,
            &predictions,
            &truths,
            size,
        )?;
        let results = EpochResults {
            tra_loss: train_log.loss,
            val_loss: val_log.loss,
            tra_dice: train_log.dice,
            val_dice: val_log.dice,
            val_3d_dsc: dsc_3d,
            val_3d_hd95: hd95_3d,
            hd95_empty_cases: empty_cases,
            train_seconds,
            data_wait_seconds: data_wait,
        };
        progress.finish_epoch(
            epoch_start,
            results,
            &context,
            &mut history,
            &net,
            &optimizer,
            observer,
        )?;
    }
    let summary = progress.summary(run_dir, metric_classes);
    observer.run_done(&summary);
    Ok(summary)
}
