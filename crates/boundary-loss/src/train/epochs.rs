//! The one epoch loop of every run, 2-D slices and 3-D patches alike: start (or resume), then
//! per epoch its seed and loss weights, the training phase, the validation phase on the
//! network's evaluation copy, and the epoch's end (CSV row and arrays, best epoch, learning-rate
//! rule, checkpoint); then the summary. What differs between slices and patches is only how a
//! phase runs: that is [`EpochSteps`], implemented by `slices::SliceSteps` and
//! `volumetric::PatchSteps`.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

use super::epoch::PhaseLog;
use super::observer::Observer;
use super::progress::{self, EpochResults, RunContext, RunStart};
use super::step::LossFn;
use super::{RunConfig, RunSummary, TrainError, TrainOptions};
use crate::eval::VolumeMetrics;
use crate::nets::Network;

/// What both phases of an epoch are given.
pub struct EpochInputs<'a, const D: usize> {
    pub epoch: usize,
    /// `iterNNN/`, where the epoch's predictions go.
    pub iter_dir: PathBuf,
    /// The loss terms' weights at this epoch (the schedule's).
    pub weights: Vec<f64>,
    pub losses: &'a [LossFn<D>],
    pub learning_rate: f64,
    pub metric_classes: &'a [usize],
}

/// A finished training phase: the updated network and what it measured.
pub struct Trained {
    pub net: Network,
    pub log: PhaseLog,
    pub seconds: f64,
    /// Time the step waited for the loader.
    pub data_wait: f64,
}

/// A finished validation phase: per image (slice or volume) and per patient.
pub struct Validated {
    pub log: PhaseLog,
    pub volumes: VolumeMetrics,
}

/// How one kind of run (rank `D` tensors) trains and validates an epoch.
pub trait EpochSteps<const D: usize> {
    /// One pass over this epoch's training batches, each followed by an optimiser step.
    fn train(
        &mut self,
        inputs: &EpochInputs<'_, D>,
        net: Network,
        optimizer: &mut ModuleOptimizer,
        observer: &mut dyn Observer,
    ) -> Result<Trained, TrainError>;

    /// The validation split through `model` (the network's evaluation copy): losses, Dice,
    /// the 3-D metrics per patient, and the predictions written under `inputs.iter_dir`.
    fn validate(
        &mut self,
        inputs: &EpochInputs<'_, D>,
        model: &Network,
        observer: &mut dyn Observer,
    ) -> Result<Validated, TrainError>;

    /// The shape of a validation: `(batches, images, patients)`, the rows of its arrays.
    fn validation_rows(&self) -> (usize, usize, usize);
}

/// An epoch that `val_every` does not validate: NaN in every validation value, in the arrays'
/// shapes, so that row `e` of every array is still epoch `e`.
fn unvalidated(rows: (usize, usize, usize), classes: usize, terms: usize) -> Validated {
    let (batches, images, patients) = rows;
    Validated {
        log: PhaseLog::unmeasured(batches, terms, images, classes),
        volumes: VolumeMetrics {
            dsc: vec![vec![f32::NAN; classes]; patients],
            hd95: vec![vec![f32::NAN; classes]; patients],
            empty_cases: 0,
        },
    }
}

/// What the loop needs to start a run besides its steps.
pub struct RunPlace<'a> {
    pub config: &'a RunConfig,
    pub run_dir: &'a Path,
    pub options: &'a TrainOptions,
    pub resuming: bool,
    /// The devices: the base one (validation) and its autodiff twin (training).
    pub devices: (&'a Device, &'a Device),
    /// Whether validation distances are in mm (recorded in `val_metrics.json`).
    pub has_spacing: bool,
    /// The validation rows of the 3-D arrays (`val_3d_patients.txt`).
    pub val_rows: &'a [String],
}

/// Runs every remaining epoch of the run with `steps`, and reports the best epoch.
pub fn run_epochs<const D: usize>(
    steps: &mut impl EpochSteps<D>,
    place: RunPlace<'_>,
    observer: &mut dyn Observer,
) -> Result<RunSummary, TrainError> {
    let RunPlace {
        config,
        run_dir,
        options,
        resuming,
        devices,
        has_spacing,
        val_rows,
    } = place;
    let metric_classes = config.metric_classes();
    let RunStart {
        mut progress,
        mut net,
        mut optimizer,
        losses,
        initial_weights,
        mut history,
    } = progress::start_run::<D>(config, run_dir, resuming, has_spacing, devices, val_rows)?;
    let context = RunContext {
        config,
        run_dir,
        options,
        metric_classes: &metric_classes,
        initial_weights: &initial_weights,
    };
    observer.run_started(progress.start, config.schedule.epochs);
    for epoch in progress.start..config.schedule.epochs {
        let Some(epoch_start) = context.begin_epoch(epoch, devices.1) else {
            break;
        };
        let inputs = EpochInputs {
            epoch,
            iter_dir: epoch_start.iter_dir.clone(),
            weights: epoch_start.weights.clone(),
            losses: &losses,
            learning_rate: progress.learning_rate,
            metric_classes: &metric_classes,
        };
        let trained = steps.train(&inputs, net, &mut optimizer, observer)?;
        net = trained.net;
        let validated = if config.validates(epoch) {
            steps.validate(&inputs, &net.valid(), observer)?
        } else {
            // The epoch's folder stays (empty), so that iterNNN/ still numbers every epoch.
            std::fs::create_dir_all(&inputs.iter_dir)
                .map_err(|e| volume_io::FileError::new(&inputs.iter_dir, e))?;
            unvalidated(
                steps.validation_rows(),
                config.network.classes,
                losses.len(),
            )
        };
        let results = EpochResults {
            tra_loss: trained.log.loss,
            val_loss: validated.log.loss,
            tra_dice: trained.log.dice,
            val_dice: validated.log.dice,
            val_3d_dsc: validated.volumes.dsc,
            val_3d_hd95: validated.volumes.hd95,
            hd95_empty_cases: validated.volumes.empty_cases,
            train_seconds: trained.seconds,
            data_wait_seconds: trained.data_wait,
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
