//! The run file (TOML): everything a training run needs, with the original's defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Stream;

/// One loss term: which loss, on which classes, its weight, and the stream it compares with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossTerm {
    /// BoundaryLoss (or SurfaceLoss), GeneralizedDice, DiceLoss, CrossEntropy, FocalLoss,
    /// HausdorffLoss.
    pub name: String,
    pub idc: Vec<usize>,
    pub weight: f64,
    /// Index into `streams` of the second input (one-hot target or distance maps); stream 0 is
    /// the image.
    pub stream: usize,
    /// FocalLoss only.
    #[serde(default)]
    pub gamma: Option<f64>,
}

/// How the loss weights change after each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Fixed weights.
    None,
    /// `[a, b] -> [a, b + step]` (the original's AddWeight).
    Add { step: f64 },
    /// `[a, b] -> [max(0.1, a - step), b + step]` (the original's StealWeight).
    Steal { step: f64 },
    /// The paper's rebalancing: `alpha * first + (1 - alpha) * second`, alpha from 1 down by
    /// `step` per epoch to `step` (0.01 in the paper).
    Rebalance { step: f64 },
}

/// When the learning rate is halved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrHalving {
    Never,
    /// After 20 epochs without validation improvement (then again after 20 more).
    Plateau,
    /// The original's rule, kept for compatibility: `epoch % (best_epoch + 20) == 0`, which also
    /// halves after epoch 0.
    Original,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam, betas (0.9, 0.99).
    Adam,
    /// SGD, momentum 0.99, weight decay 5e-4.
    Sgd,
}

/// A training run, as written in a run file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Data set root, holding `train/` and `val/` (relative to the run file's folder).
    pub dataset: PathBuf,
    /// Streams; the first is the image.
    pub streams: Vec<Stream>,
    /// Dimwit, UNet, ENet, ResidualUNet (2-D networks).
    pub network: String,
    /// UNet's base width (the original's `nG`, 64 when absent).
    #[serde(default)]
    pub network_base: Option<usize>,
    pub modalities: usize,
    pub classes: usize,
    pub losses: Vec<LossTerm>,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    #[serde(default = "default_lr")]
    pub learning_rate: f64,
    #[serde(default = "default_halving")]
    pub lr_halving: LrHalving,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Softmax temperature: probabilities are softmax(logits / temperature).
    #[serde(default = "one")]
    pub temperature: f64,
    /// Classes averaged in metrics.csv and used to choose the best epoch.
    pub metric_classes: Vec<usize>,
    /// Groups slice stems into patients for 3-D Dice and HD95.
    #[serde(default = "default_regex")]
    pub patient_regex: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_device")]
    pub device: String,
    /// Keep slices in memory after their first read.
    #[serde(default)]
    pub in_memory: bool,
    /// Use the first 10 slices of each split only (the original's --debug).
    #[serde(default)]
    pub debug: bool,
    /// Check that images lie in [0, 1].
    #[serde(default = "yes")]
    pub check_image_range: bool,
    /// Distance maps computed on the fly use the slice spacing from `spacing.json` (the
    /// original's `--use_spacing`); otherwise 1 per axis.
    #[serde(default = "yes")]
    pub use_spacing: bool,
    /// Truncate on-the-fly distance maps toward zero, as the original 2-D loader does.
    #[serde(default)]
    pub truncate_distance_maps: bool,
    /// Check loss inputs (probabilities sum to one, one-hot targets).
    #[serde(default = "yes")]
    pub check_loss_inputs: bool,
}

fn default_schedule() -> Schedule {
    Schedule::None
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_lr() -> f64 {
    5e-4
}
fn default_halving() -> LrHalving {
    LrHalving::Plateau
}
fn default_epochs() -> usize {
    200
}
fn default_batch() -> usize {
    8
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_regex() -> String {
    r"(.*)_\d+$".to_string()
}
fn default_device() -> String {
    "cpu".to_string()
}

impl RunConfig {
    /// Parses a run file; a relative `dataset` is taken from the run file's folder.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: RunConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if config.dataset.is_relative() {
            if let Some(dir) = path.parent() {
                config.dataset = dir.join(&config.dataset);
            }
        }
        // Absolute, so that the run.toml written into a run folder still finds the data.
        if let Ok(absolute) = std::fs::canonicalize(&config.dataset) {
            config.dataset = absolute;
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a run file serialises")
    }

    /// Checks what can be checked before touching data or the device.
    pub fn validate(&self) -> Result<(), String> {
        if self.streams.len() < 2 {
            return Err("at least two streams are needed: the image and one target".into());
        }
        if self.losses.is_empty() {
            return Err("no loss term".into());
        }
        for term in &self.losses {
            if term.stream == 0 || term.stream >= self.streams.len() {
                return Err(format!(
                    "loss {}: stream {} is not a target stream (1..{})",
                    term.name,
                    term.stream,
                    self.streams.len() - 1
                ));
            }
            if let Some(&k) = term.idc.iter().find(|&&k| k >= self.classes) {
                return Err(format!(
                    "loss {}: class {k} in idc, but there are {} classes",
                    term.name, self.classes
                ));
            }
        }
        if let Some(&k) = self.metric_classes.iter().find(|&&k| k >= self.classes) {
            return Err(format!(
                "metric class {k}, but there are {} classes",
                self.classes
            ));
        }
        if matches!(
            self.schedule,
            Schedule::Rebalance { .. } | Schedule::Steal { .. } | Schedule::Add { .. }
        ) && self.losses.len() != 2
        {
            return Err("weight schedules act on exactly two loss terms".into());
        }
        if self.batch_size == 0 || self.epochs == 0 {
            return Err("batch_size and epochs must be at least 1".into());
        }
        if self.temperature.is_nan() || self.temperature <= 0.0 {
            return Err("temperature must be positive".into());
        }
        regex::Regex::new(&self.patient_regex).map_err(|e| format!("patient_regex: {e}"))?;
        Ok(())
    }
}

/// Loss weights of every term at `epoch` (0-based), starting from the run file's weights.
pub fn weights_at(schedule: Schedule, initial: &[f64], epoch: usize) -> Vec<f64> {
    let mut weights = initial.to_vec();
    match schedule {
        Schedule::None => {}
        Schedule::Rebalance { step } => {
            let alpha = (1.0 - step * epoch as f64).max(step);
            weights = vec![alpha, 1.0 - alpha];
        }
        Schedule::Add { step } => weights[1] += step * epoch as f64,
        Schedule::Steal { step } => {
            for _ in 0..epoch {
                weights = vec![(weights[0] - step).max(0.1), weights[1] + step];
            }
        }
    }
    weights
}
