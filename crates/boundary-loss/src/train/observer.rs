//! How a run reports progress: the trainer calls an [`Observer`] (the command line prints and
//! draws progress bars; tests and libraries stay silent), never `println!` itself.

use super::RunSummary;

/// Training or validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Train,
    Validation,
}

/// The numbers of one finished epoch, as written to metrics.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean over iterations and terms of `weight * loss` (the original's CSV column).
    pub tra_loss: f64,
    pub val_loss: f64,
    /// Mean Dice over images and the metric classes.
    pub tra_dice: f64,
    pub val_dice: f64,
    /// Mean over patients and the metric classes.
    pub val_3d_dsc: f64,
    pub val_3d_hd95: f64,
    /// (patient, metric class) pairs whose HD95 met an empty mask.
    pub hd95_empty_cases: usize,
    pub learning_rate: f64,
    pub train_seconds: f64,
    /// Time the training loop waited for data.
    pub data_wait_seconds: f64,
    /// The best epoch so far (validation Dice improved).
    pub improved: bool,
    /// Whether the epoch was validated (`val_every`); if not, every `val_` value is NaN.
    pub validated: bool,
}

/// Receives a run's progress. Every method does nothing by default.
pub trait Observer {
    fn run_started(&mut self, _first_epoch: usize, _epochs: usize) {}
    fn phase_started(&mut self, _epoch: usize, _phase: Phase, _batches: usize) {}
    /// After each batch: running means of the loss and of the metric-class Dice.
    fn batch_done(&mut self, _running_loss: f64, _running_dice: f64) {}
    fn phase_done(&mut self) {}
    fn epoch_done(&mut self, _report: &EpochReport) {}
    fn learning_rate_changed(&mut self, _epoch: usize, _learning_rate: f64) {}
    fn run_done(&mut self, _summary: &RunSummary) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}
