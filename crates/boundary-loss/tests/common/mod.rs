//! Helpers shared by the training tests: a small synthetic data set, its run file, and the
//! lock that makes training tests take turns.
#![allow(dead_code)]

use std::path::Path;

use boundary_loss::data::synthetic::{self, SyntheticSpec, PATIENT_REGEX};
use boundary_loss::data::Stream;
use boundary_loss::losses::AbsentClassWeight;
use boundary_loss::train::{
    train, LossKind, LossTerm, RunConfig, RunSummary, Schedule, Silent, TrainError, TrainOptions,
};

/// Burn's seeded random state is per process: tests that train take turns, so that one test's
/// draws do not interleave with another's (a run owns its process in real use).
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    TRAINING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn streams() -> Vec<Stream> {
    synthetic::streams()
}

pub fn config(dataset: &Path, network: &str, base: Option<usize>, epochs: usize) -> RunConfig {
    let mut config = RunConfig::default();
    config.network.architecture = network.parse().unwrap();
    config.network.base = base;
    (config.network.modalities, config.network.classes) = (2, 2);
    config.data.dataset = dataset.to_path_buf();
    config.data.streams = streams();
    config.data.batch_size = 4;
    config.data.use_spacing = true;
    config.losses.terms = vec![
        LossTerm::new(
            LossKind::GeneralizedDice {
                batch: false,
                absent_weight: AbsentClassWeight::Original,
            },
            vec![0, 1],
            1.0,
            1,
        ),
        LossTerm::new(LossKind::Boundary, vec![1], 0.0, 2),
    ];
    config.schedule.loss_weights = Schedule::Rebalance { step: 0.1 };
    config.schedule.epochs = epochs;
    config.optimiser.learning_rate = 1e-3;
    config.validation.metric_classes = vec![1];
    config.validation.patient_regex = PATIENT_REGEX.into();
    config.run.seed = 3;
    config
}

pub fn small_spec() -> SyntheticSpec {
    SyntheticSpec {
        train_patients: 2,
        val_patients: 2,
        slices_per_patient: 4,
        side: 16,
        modalities: 2,
        seed: 1,
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Trains without output or forcing.
pub fn train_silently(config: &RunConfig, dir: &Path) -> Result<RunSummary, TrainError> {
    train(config, dir, &TrainOptions::default(), &mut Silent)
}
