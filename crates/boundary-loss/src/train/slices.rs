//! 2-D training (the original's `main.py`): batches of slices, shuffled per epoch from the seed
//! (or one patient per batch with `group_train`, or balanced with `balance_batches`), read ahead
//! by the loader; validation batch by batch (one patient per batch with `group`), the
//! predictions saved as `iterNNN/val/<slice>.png`, and the 3-D metrics of each patient's stacked
//! slices.

use std::path::Path;
use std::sync::Arc;

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use volume_io::FileError;

use super::epoch::{save_predictions, PhaseLog};
use super::epochs::{run_epochs, EpochInputs, EpochSteps, RunPlace, Trained, Validated};
use super::inputs::{open_split, patient_spacings, patients_of, slices_with_foreground};
use super::observer::{Observer, Phase};
use super::step::{self, run_batch};
use super::{config, RunConfig, RunSummary, TrainError, TrainOptions, PREFETCH_BATCHES};
use crate::data::{balanced_batches, patient_batches, slice_batches, Dataset, Loader, SliceCache};
use crate::device::ToDevice;
use crate::eval;
use crate::nets::Network;

/// The splits of a 2-D run and how they are batched.
struct SliceSteps<'a> {
    config: &'a RunConfig,
    /// The base device (validation) and its autodiff twin (training).
    devices: (&'a Device, &'a Device),
    train_set: Arc<Dataset>,
    val_set: Arc<Dataset>,
    /// Training patients (with `group_train`).
    train_patients: Vec<(String, Vec<usize>)>,
    /// Which training slices hold foreground (with `balance_batches`).
    train_foreground: Option<Vec<bool>>,
    /// Validation patients and their 3-D spacings.
    patients: Vec<(String, Vec<usize>)>,
    spacings: Vec<[f64; 3]>,
    val_batches: Vec<Vec<usize>>,
    /// Slices kept in memory after their first read (training, validation).
    caches: Option<(Arc<SliceCache>, Arc<SliceCache>)>,
}

impl SliceSteps<'_> {
    fn loader(&self, set: &Arc<Dataset>, batches: Vec<Vec<usize>>, train: bool) -> Loader {
        let cache = self
            .caches
            .as_ref()
            .map(|c| if train { c.0.clone() } else { c.1.clone() });
        Loader::new(set.clone(), batches, PREFETCH_BATCHES, cache)
    }

    /// This epoch's training batches, from the seed and the epoch.
    fn train_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        let (config, shuffle) = (self.config, self.config.run.seed.wrapping_add(epoch as u64));
        if config.data.group_train {
            patient_batches(&self.train_patients, Some(shuffle))
        } else if let Some(has_foreground) = &self.train_foreground {
            balanced_batches(has_foreground, config.data.batch_size, shuffle)
        } else {
            slice_batches(self.train_set.len(), config.data.batch_size, Some(shuffle))
        }
    }
}

impl EpochSteps<4> for SliceSteps<'_> {
    fn train(
        &mut self,
        inputs: &EpochInputs<'_, 4>,
        mut net: Network,
        optimizer: &mut ModuleOptimizer,
        observer: &mut dyn Observer,
    ) -> Result<Trained, TrainError> {
        let config = self.config;
        let device = self.devices.1;
        let batches = self.train_batches(inputs.epoch);
        let train_dir = inputs.iter_dir.join("train");
        if config.run.save_train {
            std::fs::create_dir_all(&train_dir).map_err(|e| FileError::new(&train_dir, e))?;
        }
        observer.phase_started(inputs.epoch, Phase::Train, batches.len());
        let mut log = PhaseLog::new(self.train_set.len(), config.network.classes);
        let started = std::time::Instant::now();
        let mut loader = self.loader(&self.train_set, batches, true);
        for batch in loader.by_ref() {
            let batch = batch?;
            let outcome = run_batch(&net, &batch, device, config, inputs.losses, &inputs.weights)?;
            let grads = burn::optim::GradientsParams::from_grads(outcome.total.backward(), &net);
            net = optimizer.step(inputs.learning_rate, net, grads);
            if config.run.save_train {
                save_predictions(&train_dir, &self.train_set, &batch, &outcome.predicted)?;
            }
            log.record(
                &batch.indices,
                outcome.dice,
                outcome.weighted_terms,
                inputs.metric_classes,
            );
            observer.batch_done(log.running_loss(), log.running_dice());
        }
        observer.phase_done();
        let (seconds, data_wait) = (
            started.elapsed().as_secs_f64(),
            loader.waited().as_secs_f64(),
        );
        drop(loader);
        if config.validation.recalibrate_batch_norm {
            let batches = slice_batches(self.train_set.len(), config.data.batch_size, None);
            for batch in self.loader(&self.train_set, batches, true) {
                step::forward_only(&net, &batch?, device)?;
            }
        }
        Ok(Trained {
            net,
            log,
            seconds,
            data_wait,
        })
    }

    fn validation_rows(&self) -> (usize, usize, usize) {
        (
            self.val_batches.len(),
            self.val_set.len(),
            self.patients.len(),
        )
    }

    fn validate(
        &mut self,
        inputs: &EpochInputs<'_, 4>,
        model: &Network,
        observer: &mut dyn Observer,
    ) -> Result<Validated, TrainError> {
        let config = self.config;
        let (classes, val_set) = (config.network.classes, &self.val_set);
        let val_dir = inputs.iter_dir.join("val");
        std::fs::create_dir_all(&val_dir).map_err(|e| FileError::new(&val_dir, e))?;
        observer.phase_started(inputs.epoch, Phase::Validation, self.val_batches.len());
        let mut log = PhaseLog::new(val_set.len(), classes);
        let mut predictions: Vec<Vec<u8>> = vec![Vec::new(); val_set.len()];
        let mut truths: Vec<Vec<u8>> = vec![Vec::new(); val_set.len()];
        let mut size = [0usize; 2];
        for batch in self.loader(val_set, self.val_batches.clone(), false) {
            let batch = batch?;
            size = batch.size;
            let outcome = run_batch(
                model,
                &batch,
                self.devices.0,
                config,
                inputs.losses,
                &inputs.weights,
            )?;
            save_predictions(&val_dir, val_set, &batch, &outcome.predicted)?;
            let pixels = size[0] * size[1];
            for (b, &index) in batch.indices.iter().enumerate() {
                predictions[index] = outcome.predicted[b * pixels..(b + 1) * pixels].to_vec();
                truths[index] = batch.truth[b * pixels..(b + 1) * pixels].to_vec();
            }
            log.record(
                &batch.indices,
                outcome.dice,
                outcome.weighted_terms,
                inputs.metric_classes,
            );
            observer.batch_done(log.running_loss(), log.running_dice());
        }
        observer.phase_done();
        let volumes = eval::volume_metrics(
            classes,
            inputs.metric_classes,
            config.validation.empty_mask,
            &self.patients,
            &self.spacings,
            &predictions,
            &truths,
            size,
        )?;
        Ok(Validated { log, volumes })
    }
}

/// Trains a 2-D run (see [`super::run`]).
pub(super) fn run(
    config: &RunConfig,
    run_dir: &Path,
    options: &TrainOptions,
    resuming: bool,
    observer: &mut dyn Observer,
) -> Result<RunSummary, TrainError> {
    let base_device = config.run.device.device()?;
    let device = base_device.clone().autodiff();
    let truth_folder = config.truth_folder()?;
    let (train_set, val_set) = (
        open_split(config, "train", &truth_folder)?,
        open_split(config, "val", &truth_folder)?,
    );
    let pattern = config::anchored_regex("patient_regex", &config.validation.patient_regex)?;
    let patients = patients_of(&val_set, &pattern)?;
    let train_patients = if config.data.group_train {
        patients_of(&train_set, &pattern)?
    } else {
        Vec::new()
    };
    let train_foreground = if config.data.balance_batches {
        Some(slices_with_foreground(&train_set, &truth_folder)?)
    } else {
        None
    };
    let spacings = patient_spacings(config, &val_set, &patients)?;
    let patient_names: Vec<String> = patients.iter().map(|(p, _)| p.clone()).collect();
    let val_batches = if config.validation.group {
        patient_batches(&patients, None)
    } else {
        slice_batches(val_set.len(), config.data.batch_size, None)
    };
    let has_spacing = val_set.has_spacing();
    let mut steps = SliceSteps {
        config,
        devices: (&base_device, &device),
        train_set,
        val_set,
        train_patients,
        train_foreground,
        patients,
        spacings,
        val_batches,
        caches: config.data.in_memory.then(|| {
            (
                Arc::new(SliceCache::default()),
                Arc::new(SliceCache::default()),
            )
        }),
    };
    let place = RunPlace {
        config,
        run_dir,
        options,
        resuming,
        devices: (&base_device, &device),
        has_spacing,
        val_rows: &patient_names,
    };
    run_epochs(&mut steps, place, observer)
}
