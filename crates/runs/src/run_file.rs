//! The run file as written: one flat TOML table, field for field the original's flags, with
//! their defaults. Reading and writing go through it, so every shipped run file and every
//! `run.toml` keeps its form while the code reads the sections of [`RunConfig`].

use std::path::PathBuf;

use datasets::data::Stream;
use datasets::volumes::PatchOptions;
use segmentation_metrics::EmptyMaskRule;
use serde::{Deserialize, Serialize};

use crate::config::{
    Activation, DataSection, LossSection, LossTerm, LrHalving, NetworkSection, OptimiserSection,
    OptimizerKind, RunConfig, RunSection, Schedule, ScheduleSection, ValidationSection,
};
use crate::device::DeviceSpec;
use crate::network::Architecture;

/// A run file as written: every field at the top level, as the original's flags are (and as
/// every shipped run file is). [`RunConfig`] is the same run grouped into sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunFile {
    /// Data set root, holding `train/` and `val/` (relative to the run file's folder).
    pub dataset: PathBuf,
    /// Streams; the first is the image.
    pub streams: Vec<Stream>,
    /// Dimwit, UNet, ENet, ResidualUNet (2-D networks).
    pub network: Architecture,
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
    /// Adam's epsilon (PyTorch's default, which the original uses; Burn's own default is 1e-5).
    #[serde(default = "default_adam_epsilon")]
    pub adam_epsilon: f64,
    #[serde(default = "default_halving")]
    pub lr_halving: LrHalving,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Softmax temperature, as the original: probabilities are `softmax(temperature * logits)`.
    #[serde(default = "one")]
    pub temperature: f64,
    #[serde(default)]
    pub activation: Activation,
    /// Classes averaged for the best epoch and the console; empty means all (the original's
    /// empty `--metric_axis`).
    #[serde(default)]
    pub metric_classes: Vec<usize>,
    /// Groups slice stems into patients (3-D Dice, HD95, `group`): matched at the start of the
    /// stem, its first capture group is the patient (the original's `--grp_regex`).
    #[serde(default = "default_regex")]
    pub patient_regex: String,
    /// Finds a patient's key in `spacing_3d` from its first slice's stem (the original's
    /// `--resolution_regex`) [default: `patient_regex`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_regex: Option<String>,
    /// 3-D HD95 when a mask is empty: `always_diagonal` (default: the volume's diagonal in mm
    /// whenever a mask is empty, both included, as the original's metrics_overtime.py gives an
    /// empty prediction), `diagonal` (both empty: 0) or `nan` (left out of the means). The
    /// count is in metrics.csv either way.
    #[serde(default = "default_empty_mask")]
    pub empty_mask: EmptyMaskRule,
    /// Folder of the class maps the metrics compare with [default: the folder of the first
    /// `one_hot` or `distance_map` stream].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truth_folder: Option<String>,
    /// One patient per validation batch (the original's `--group`).
    #[serde(default)]
    pub group: bool,
    /// One patient per training batch, patients shuffled (the original's `--group_train`).
    #[serde(default)]
    pub group_train: bool,
    /// Training batches that each hold the split's share of slices with foreground (a truth
    /// label other than 0), instead of a plain shuffle; see `data::loader::balanced_batches`.
    #[serde(default)]
    pub balance_batches: bool,
    /// Also write `iterNNN/train/*.png` (the original's `--save_train`).
    #[serde(default)]
    pub save_train: bool,
    /// Start from these weights (a Burn record, e.g. another run's `best.bpk`; the original's
    /// `--weights`), relative to the run file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<PathBuf>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub device: DeviceSpec,
    /// Keep slices in memory after their first read.
    #[serde(default)]
    pub in_memory: bool,
    /// Use the first `DEBUG_SLICES` slices of each split only (the original's --debug).
    #[serde(default)]
    pub debug: bool,
    /// Check that images lie in [0, 1].
    #[serde(default = "yes")]
    pub check_image_range: bool,
    /// Distance maps computed on the fly use the slice spacing from `spacing.json` (the
    /// original's `--use_spacing`, off by default as there); otherwise 1 per axis.
    #[serde(default)]
    pub use_spacing: bool,
    /// Truncate on-the-fly distance maps toward zero, as the original 2-D loader does.
    #[serde(default)]
    pub truncate_distance_maps: bool,
    /// Check loss inputs (probabilities sum to one, one-hot targets).
    #[serde(default = "yes")]
    pub check_loss_inputs: bool,
    /// Before each validation, one forward pass over the training split with the epoch's final
    /// weights, so that BatchNorm's running statistics describe the network that is validated
    /// (off: the original validates with averages gathered while the weights moved).
    #[serde(default)]
    pub recalibrate_batch_norm: bool,
    /// Validate every `val_every` epochs (and after the last); other epochs record NaN for
    /// every validation value. 1: every epoch, as the original. Written only when not 1, so
    /// that run files and run.toml of every-epoch runs keep their form.
    #[serde(default = "every_epoch", skip_serializing_if = "is_every_epoch")]
    pub val_every: usize,
    /// 3-D training on patches of whole volumes (the `slice nifti --volumes` layout) with a 3-D
    /// network; absent: 2-D training on slices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<PatchOptions>,
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
fn default_adam_epsilon() -> f64 {
    1e-8
}
fn default_empty_mask() -> EmptyMaskRule {
    EmptyMaskRule::AlwaysDiagonal
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
fn every_epoch() -> usize {
    1
}
fn is_every_epoch(n: &usize) -> bool {
    *n == 1
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

impl Default for RunFile {
    fn default() -> Self {
        RunFile {
            dataset: PathBuf::new(),
            streams: Vec::new(),
            network: Architecture::UNet,
            network_base: None,
            modalities: 1,
            classes: 2,
            losses: Vec::new(),
            schedule: default_schedule(),
            optimizer: default_optimizer(),
            learning_rate: default_lr(),
            adam_epsilon: default_adam_epsilon(),
            lr_halving: default_halving(),
            epochs: default_epochs(),
            batch_size: default_batch(),
            temperature: one(),
            activation: Activation::default(),
            metric_classes: Vec::new(),
            patient_regex: default_regex(),
            resolution_regex: None,
            empty_mask: default_empty_mask(),
            truth_folder: None,
            group: false,
            group_train: false,
            balance_batches: false,
            save_train: false,
            weights: None,
            seed: 0,
            device: DeviceSpec::Cpu,
            in_memory: false,
            debug: false,
            check_image_range: yes(),
            use_spacing: false,
            truncate_distance_maps: false,
            check_loss_inputs: yes(),
            recalibrate_batch_norm: false,
            val_every: every_epoch(),
            patches: None,
        }
    }
}

impl From<RunFile> for RunConfig {
    fn from(file: RunFile) -> Self {
        RunConfig {
            network: NetworkSection {
                architecture: file.network,
                base: file.network_base,
                modalities: file.modalities,
                classes: file.classes,
                activation: file.activation,
                temperature: file.temperature,
            },
            data: DataSection {
                dataset: file.dataset,
                streams: file.streams,
                patches: file.patches,
                batch_size: file.batch_size,
                group_train: file.group_train,
                balance_batches: file.balance_batches,
                in_memory: file.in_memory,
                debug: file.debug,
                check_image_range: file.check_image_range,
                use_spacing: file.use_spacing,
                truncate_distance_maps: file.truncate_distance_maps,
            },
            optimiser: OptimiserSection {
                kind: file.optimizer,
                learning_rate: file.learning_rate,
                adam_epsilon: file.adam_epsilon,
            },
            losses: LossSection {
                terms: file.losses,
                check_inputs: file.check_loss_inputs,
            },
            schedule: ScheduleSection {
                epochs: file.epochs,
                loss_weights: file.schedule,
                lr_halving: file.lr_halving,
            },
            validation: ValidationSection {
                metric_classes: file.metric_classes,
                patient_regex: file.patient_regex,
                resolution_regex: file.resolution_regex,
                empty_mask: file.empty_mask,
                truth_folder: file.truth_folder,
                group: file.group,
                recalibrate_batch_norm: file.recalibrate_batch_norm,
                val_every: file.val_every,
            },
            run: RunSection {
                seed: file.seed,
                device: file.device,
                weights: file.weights,
                save_train: file.save_train,
            },
        }
    }
}

impl From<RunConfig> for RunFile {
    fn from(config: RunConfig) -> Self {
        let RunConfig {
            network,
            data,
            optimiser,
            losses,
            schedule,
            validation,
            run,
        } = config;
        RunFile {
            dataset: data.dataset,
            streams: data.streams,
            network: network.architecture,
            network_base: network.base,
            modalities: network.modalities,
            classes: network.classes,
            losses: losses.terms,
            schedule: schedule.loss_weights,
            optimizer: optimiser.kind,
            learning_rate: optimiser.learning_rate,
            adam_epsilon: optimiser.adam_epsilon,
            lr_halving: schedule.lr_halving,
            epochs: schedule.epochs,
            batch_size: data.batch_size,
            temperature: network.temperature,
            activation: network.activation,
            metric_classes: validation.metric_classes,
            patient_regex: validation.patient_regex,
            resolution_regex: validation.resolution_regex,
            empty_mask: validation.empty_mask,
            truth_folder: validation.truth_folder,
            group: validation.group,
            group_train: data.group_train,
            balance_batches: data.balance_batches,
            save_train: run.save_train,
            weights: run.weights,
            seed: run.seed,
            device: run.device,
            in_memory: data.in_memory,
            debug: data.debug,
            check_image_range: data.check_image_range,
            use_spacing: data.use_spacing,
            truncate_distance_maps: data.truncate_distance_maps,
            check_loss_inputs: losses.check_inputs,
            recalibrate_batch_norm: validation.recalibrate_batch_norm,
            val_every: validation.val_every,
            patches: data.patches,
        }
    }
}
