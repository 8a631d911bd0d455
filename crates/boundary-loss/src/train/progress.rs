//! What the epoch loop carries from one epoch to the next, shared by 2-D and 3-D training: the
//! start of a run (its network, optimiser and loss terms; its folder, or the state its
//! checkpoint restores), the start of an epoch (seed, weights, folder) and its end (the CSV row
//! and arrays, the best epoch, the learning-rate rule, the checkpoint).

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use volume_io::FileError;

use super::epoch::{last_class_mean, mean_loss, UnfinishedEpoch};
use super::observer::{EpochReport, Observer};
use super::run_folder::{self, Checkpoint, History};
use super::step::{build_loss, LossFn};
use super::{optim, schedule, version, RunConfig, RunSummary, TrainError, TrainOptions};
use crate::eval::{self, column_means, mean_over};
use crate::nets::BuildNetwork;
use crate::nets::Network;

/// The loop's state between epochs.
pub struct RunProgress {
    /// The first epoch to run (after a resume: the first unfinished one).
    pub start: usize,
    pub learning_rate: f64,
    pub best_epoch: usize,
    pub best_dice: f64,
    pub best_per_class: Vec<f64>,
    pub best_3d: (Vec<f64>, Vec<f64>),
    pub last_change: usize,
}

/// What one epoch measured, per row (iteration, image or patient) and class or term.
pub struct EpochResults {
    pub tra_loss: Vec<Vec<f32>>,
    pub val_loss: Vec<Vec<f32>>,
    pub tra_dice: Vec<Vec<f32>>,
    pub val_dice: Vec<Vec<f32>>,
    pub val_3d_dsc: Vec<Vec<f32>>,
    pub val_3d_hd95: Vec<Vec<f32>>,
    pub hd95_empty_cases: usize,
    pub train_seconds: f64,
    pub data_wait_seconds: f64,
}

/// What a run starts with: its network and optimiser (fresh, or restored from the checkpoint),
/// its loss terms of rank `D`, their initial weights, its history and its counters.
pub struct RunStart<const D: usize> {
    pub progress: RunProgress,
    pub net: Network,
    pub optimizer: ModuleOptimizer,
    pub losses: Vec<LossFn<D>>,
    pub initial_weights: Vec<f64>,
    pub history: History,
}

/// Starts a run in `run_dir`: the network built from the run's seed on `device` (and its
/// `weights`), the optimiser and loss terms; the folder and `run.toml` for a new run; for
/// `resuming`, the network, optimiser, history and counters of its checkpoint (none: it starts
/// again). Then the validation rows (`val_3d_patients.txt`) and what the training arrays hold.
pub fn start_run<const D: usize>(
    config: &RunConfig,
    run_dir: &Path,
    resuming: bool,
    has_spacing: bool,
    (base_device, device): (&Device, &Device),
    val_rows: &[String],
) -> Result<RunStart<D>, TrainError> {
    let classes = config.network.classes;
    // Every random draw of the run comes from its seed: the initial weights first.
    base_device.seed(config.run.seed);
    device.seed(config.run.seed);
    let mut net: Network = config.network.architecture.build_with_base(
        config.network.modalities,
        config.output_channels(),
        config.network.base,
        device,
    )?;
    if let Some(weights) = &config.run.weights {
        net = run_folder::load_weights(net, weights)?;
    }
    let mut optimizer =
        optim::build_optimizer(config.optimiser.kind, config.optimiser.adam_epsilon);
    let losses: Vec<LossFn<D>> = config
        .losses
        .terms
        .iter()
        .map(|t| {
            build_loss(
                t,
                config.losses.check_inputs,
                config.data.truncate_distance_maps,
            )
        })
        .collect();
    let initial_weights: Vec<f64> = config.losses.terms.iter().map(|t| t.weight).collect();
    let mut history = History::new(classes, losses.len());
    std::fs::create_dir_all(run_dir).map_err(|e| FileError::new(run_dir, e))?;
    if !resuming {
        run_folder::write_text(&run_dir.join(run_folder::RUN_FILE), &config.to_toml())?;
        run_folder::write_text(
            &run_dir.join(run_folder::VERSION_FILE),
            &format!("{}\n", version()),
        )?;
    }
    let mut progress = RunProgress {
        start: 0,
        learning_rate: config.optimiser.learning_rate,
        best_epoch: 0,
        // The original's start: an epoch is the best only with a Dice above 0, so a run that
        // never segments anything has no best epoch (no best_epoch/, best.bpk).
        best_dice: 0.0,
        best_per_class: vec![f64::NAN; classes],
        best_3d: (vec![f64::NAN; classes], vec![f64::NAN; classes]),
        last_change: 0,
    };
    if resuming {
        // Killed before its first checkpoint: the run starts again in its folder.
        if let Some(dir) = run_folder::checkpoint_dir(run_dir) {
            let state;
            (state, net, optimizer) = run_folder::load_checkpoint(run_dir, &dir, net, optimizer)?;
            // `metrics` may have replaced the arrays training extends with other definitions.
            let records = eval::records::read_records(run_dir)?;
            for (metric, record) in eval::records::training_records(config, has_spacing) {
                if records.get(metric.name()).is_some_and(|r| *r != record) {
                    return Err(FileError::new(
                        run_dir.join(&record.file),
                        format!(
                            "was recomputed by `metrics` with another definition than training's ({}); run `boundary-loss metrics {} --metrics {} --force` with the defaults before resuming",
                            record.definition,
                            run_dir.display(),
                            metric.name()
                        ),
                    )
                    .into());
                }
            }
            history.load(run_dir, state.epochs_done)?;
            progress.learning_rate = state.learning_rate;
            progress.best_epoch = state.best_epoch;
            progress.best_dice = state.best_dice.unwrap_or(0.0);
            progress.best_per_class = run_folder::or_nan(&state.best_dice_per_class);
            progress.best_per_class.resize(classes, f64::NAN);
            progress.best_3d = (
                run_folder::or_nan(&state.best_3d_dsc),
                run_folder::or_nan(&state.best_3d_hd95),
            );
            progress.last_change = state.last_change;
            progress.start = state.epochs_done;
        }
        run_folder::remove_leftovers(run_dir, progress.start)?;
    }
    run_folder::write_text(
        &run_dir.join(run_folder::PATIENTS_FILE),
        &val_rows
            .iter()
            .map(|r| format!("{r}\n"))
            .collect::<String>(),
    )?;
    // What val_3d_dsc.npy and val_3d_hd95.npy hold, for `metrics` (which keeps their epochs).
    eval::records::write_records(
        run_dir,
        eval::records::training_records(config, has_spacing),
    )?;
    Ok(RunStart {
        progress,
        net,
        optimizer,
        losses,
        initial_weights,
        history,
    })
}

/// What every epoch of a run shares.
pub struct RunContext<'a> {
    pub config: &'a RunConfig,
    pub run_dir: &'a Path,
    pub options: &'a TrainOptions,
    pub metric_classes: &'a [usize],
    pub initial_weights: &'a [f64],
}

/// An epoch under way: its folder (removed when dropped unfinished, so that the run folder
/// keeps only finished epochs) and its loss weights.
pub struct EpochStart {
    pub epoch: usize,
    pub iter_dir: PathBuf,
    pub weights: Vec<f64>,
    unfinished: UnfinishedEpoch,
}

impl RunContext<'_> {
    /// Begins `epoch`, or `None` when the run's options stop it before (as if killed there):
    /// the per-epoch seed (dropout, so that a resumed run draws what an uninterrupted one
    /// would) and the loss weights of the schedule.
    pub fn begin_epoch(&self, epoch: usize, device: &Device) -> Option<EpochStart> {
        if self.options.stop_after.is_some_and(|n| epoch >= n) {
            return None;
        }
        let iter_dir = run_folder::iteration_dir(self.run_dir, epoch);
        device.seed(self.config.run.seed.wrapping_add(1 + epoch as u64));
        Some(EpochStart {
            epoch,
            unfinished: UnfinishedEpoch {
                dir: iter_dir.clone(),
                finished: false,
            },
            iter_dir,
            weights: schedule::weights_at(
                &self.config.schedule.loss_weights,
                self.initial_weights,
                epoch,
            ),
        })
    }
}

impl RunProgress {
    /// Records a finished epoch: the CSV row and arrays, the best epoch (its folder, weights and
    /// number), the report to `observer`, the learning-rate rule, then the checkpoint; the
    /// epoch's folder then stays.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_epoch(
        &mut self,
        started: EpochStart,
        results: EpochResults,
        end: &RunContext<'_>,
        history: &mut History,
        net: &Network,
        optimizer: &ModuleOptimizer,
        observer: &mut dyn Observer,
    ) -> Result<(), TrainError> {
        let EpochStart {
            epoch,
            iter_dir,
            weights,
            mut unfinished,
        } = started;
        let (classes, metric_classes) = (end.config.network.classes, end.metric_classes);
        let val_per_class = column_means(&results.val_dice, classes);
        let val_dice_mean = mean_over(&val_per_class, metric_classes);
        let tra_dice_mean = mean_over(&column_means(&results.tra_dice, classes), metric_classes);
        let dsc_mean = column_means(&results.val_3d_dsc, classes);
        let hd_mean = column_means(&results.val_3d_hd95, classes);
        let learning_rate = self.learning_rate;
        let report = EpochReport {
            epoch,
            tra_loss: mean_loss(&results.tra_loss),
            val_loss: mean_loss(&results.val_loss),
            tra_dice: tra_dice_mean,
            val_dice: val_dice_mean,
            val_3d_dsc: mean_over(&dsc_mean, metric_classes),
            val_3d_hd95: mean_over(&hd_mean, metric_classes),
            hd95_empty_cases: results.hd95_empty_cases,
            learning_rate,
            train_seconds: results.train_seconds,
            data_wait_seconds: results.data_wait_seconds,
            improved: val_dice_mean > self.best_dice,
            validated: end.config.validates(epoch),
        };
        history.csv.push_str(&format!(
            "{epoch},{:.4},{:.4},{:.4},{:.4},{:.6},{:.6},{:.6},{:.4},{},{learning_rate:e},{}\n",
            report.tra_loss,
            report.val_loss,
            last_class_mean(&results.tra_dice),
            last_class_mean(&results.val_dice),
            report.tra_dice,
            report.val_dice,
            report.val_3d_dsc,
            report.val_3d_hd95,
            results.hd95_empty_cases,
            weights
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect::<Vec<_>>()
                .join(";"),
        ));
        history.tra_loss.push(results.tra_loss);
        history.val_loss.push(results.val_loss);
        history.tra_dice.push(results.tra_dice);
        history.val_dice.push(results.val_dice);
        history.val_3d_dsc.push(results.val_3d_dsc);
        history.val_3d_hd95.push(results.val_3d_hd95);
        history.save(end.run_dir)?;

        if report.improved {
            self.best_dice = val_dice_mean;
            self.best_epoch = epoch;
            self.best_per_class = val_per_class;
            self.best_3d = (dsc_mean, hd_mean);
            run_folder::replace_dir(&iter_dir, &end.run_dir.join(run_folder::BEST_EPOCH_DIR))?;
            run_folder::write_text(
                &end.run_dir.join(run_folder::BEST_EPOCH_FILE),
                &format!("{epoch}\n"),
            )?;
            run_folder::save_weights(net, &end.run_dir.join(run_folder::BEST_WEIGHTS))?;
        }
        observer.epoch_done(&report);
        if schedule::halve_after(
            end.config.schedule.lr_halving,
            epoch,
            self.best_epoch,
            self.last_change,
        ) {
            self.learning_rate *= schedule::LR_FACTOR;
            self.last_change = epoch;
            observer.learning_rate_changed(epoch, self.learning_rate);
        }
        let state = Checkpoint {
            epochs_done: epoch + 1,
            learning_rate: self.learning_rate,
            best_epoch: self.best_epoch,
            best_dice: self.best_dice.is_finite().then_some(self.best_dice),
            best_dice_per_class: run_folder::finite(&self.best_per_class),
            best_3d_dsc: run_folder::finite(&self.best_3d.0),
            best_3d_hd95: run_folder::finite(&self.best_3d.1),
            last_change: self.last_change,
        };
        run_folder::save_checkpoint(end.run_dir, net, optimizer, &state)?;
        unfinished.finished = true;
        Ok(())
    }

    /// The summary of a finished run.
    pub fn summary(&self, run_dir: &Path, metric_classes: Vec<usize>) -> RunSummary {
        RunSummary {
            run_dir: run_dir.to_path_buf(),
            best_epoch: self.best_epoch,
            best_val_dice: self.best_dice,
            metric_classes,
            best_val_dice_per_class: self.best_per_class.clone(),
            best_val_3d_dsc: self.best_3d.0.clone(),
            best_val_3d_hd95: self.best_3d.1.clone(),
        }
    }
}
