//! The run file (TOML): everything a training run needs, with the original's defaults.
//!
//! Every field has the value the original `main.py` (or its make files) would use unless the
//! differences guide (docs/differences.md) says otherwise; [`RunConfig::default`] is that
//! set of defaults with an empty data set, streams and losses.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::choices::{Activation, OptimizerKind};
use crate::device::DeviceSpec;
pub use crate::loss_term::{AbsentClassWeight, LossKind, LossTerm, LOSS_NAMES};
use crate::network::Architecture;
pub use crate::schedule::{LrHalving, Schedule};
use datasets::data::{Stream, StreamKind};
use segmentation_metrics::EmptyMaskRule;

/// A training run, as written in a run file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
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
    /// 3-D training on patches of whole volumes (the `slice nifti --volumes` layout) with a 3-D
    /// network; absent: 2-D training on slices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<datasets::volumes::PatchOptions>,
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
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_regex() -> String {
    r"(.*)_\d+$".to_string()
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
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
            patches: None,
        }
    }
}

/// A run file is a page of TOML; anything larger is refused before it is read.
pub const MAX_RUN_FILE_BYTES: u64 = 1 << 20;

/// A run file that cannot be used, naming the file (when there is one) and the field.
#[derive(Debug, thiserror::Error)]
#[error("{}{field}: {reason}", .file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub field: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error, naming the run file it came from.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }
}

/// `path` taken from `base` when relative, made absolute so that the run.toml written into a run
/// folder still finds the file.
fn resolve_path(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_relative() {
        base.join(path)
    } else {
        path.to_path_buf()
    };
    std::fs::canonicalize(&joined).unwrap_or(joined)
}

/// Compiles a regex as the original's `re.match`: anchored at the start of the text.
pub fn anchored_regex(field: &str, pattern: &str) -> Result<regex::Regex, ConfigError> {
    let regex = regex::Regex::new(&format!("^(?:{pattern})"))
        .map_err(|e| ConfigError::new(field, e.to_string()))?;
    if regex.captures_len() < 2 {
        return Err(ConfigError::new(
            field,
            format!("'{pattern}' has no capture group (its first group names the patient)"),
        ));
    }
    Ok(regex)
}

impl RunConfig {
    /// Parses a run file; relative `dataset` and `weights` are taken from the run file's folder.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let size = std::fs::metadata(path)
            .map_err(|e| ConfigError::new("(file)", e.to_string()).in_file(path))?
            .len();
        if size > MAX_RUN_FILE_BYTES {
            return Err(ConfigError::new(
                "(file)",
                format!("{size} bytes: not a run file (at most {MAX_RUN_FILE_BYTES})"),
            )
            .in_file(path));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("(file)", e.to_string()).in_file(path))?;
        let mut config: RunConfig = toml::from_str(&text).map_err(|e| {
            let field = e
                .span()
                .map(|span| field_at(&text, span.start))
                .unwrap_or_else(|| "(file)".into());
            ConfigError::new(field, e.message().to_string()).in_file(path)
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.dataset = resolve_path(base, &config.dataset);
        config.weights = config.weights.as_ref().map(|w| resolve_path(base, w));
        config.validate().map_err(|e| e.in_file(path))?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a run file serialises")
    }

    /// The classes averaged for the best epoch: `metric_classes`, or all when it is empty.
    pub fn metric_classes(&self) -> Vec<usize> {
        if self.metric_classes.is_empty() {
            (0..self.classes).collect()
        } else {
            self.metric_classes.clone()
        }
    }

    /// `resolution_regex`, or `patient_regex` when it is not given.
    pub fn resolution_regex(&self) -> &str {
        self.resolution_regex
            .as_deref()
            .unwrap_or(&self.patient_regex)
    }

    /// The folder of the class maps that Dice and the 3-D metrics compare with.
    pub fn truth_folder(&self) -> Result<String, ConfigError> {
        if let Some(folder) = &self.truth_folder {
            return Ok(folder.clone());
        }
        self.streams
            .iter()
            .find(|s| matches!(s.kind, StreamKind::OneHot | StreamKind::DistanceMap))
            .map(|s| s.folder.clone())
            .ok_or_else(|| {
                ConfigError::new(
                    "truth_folder",
                    "no one_hot or distance_map stream names the class maps; give the folder",
                )
            })
    }

    /// Output channels of the network: 1 for a sigmoid, K otherwise.
    pub fn output_channels(&self) -> usize {
        match self.activation {
            Activation::Softmax => self.classes,
            Activation::Sigmoid => 1,
        }
    }

    /// Checks what can be checked before touching data or the device.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // The same checks in the same order as one list; grouped so that each reads alone.
        self.validate_inputs()?;
        self.validate_patches()?;
        self.validate_classes_and_losses()?;
        self.validate_schedule_and_numbers()?;
        self.validate_streams()?;
        anchored_regex("patient_regex", &self.patient_regex)?;
        anchored_regex("resolution_regex", self.resolution_regex())?;
        self.truth_folder()?;
        Ok(())
    }

    /// At least the image and one target stream, and one loss term.
    fn validate_inputs(&self) -> Result<(), ConfigError> {
        if self.streams.len() < 2 {
            return Err(ConfigError::new(
                "streams",
                "at least two streams are needed: the image and one target",
            ));
        }
        if self.losses.is_empty() {
            return Err(ConfigError::new("losses", "no loss term"));
        }
        Ok(())
    }

    /// 2-D networks without `[patches]`, 3-D networks with them, and patch sizes and streams
    /// that 3-D training can use.
    fn validate_patches(&self) -> Result<(), ConfigError> {
        match (&self.patches, self.network.spatial_rank()) {
            (None, 3) => {
                return Err(ConfigError::new(
                    "network",
                    format!(
                        "{} is a 3-D network: add a [patches] table to train on patches of volumes",
                        self.network
                    ),
                ))
            }
            (Some(_), 2) => {
                return Err(ConfigError::new(
                    "patches",
                    format!(
                        "{} is a 2-D network: 3-D training needs Dimwit3D or UNet3D",
                        self.network
                    ),
                ))
            }
            (Some(patches), _) => {
                patches
                    .check()
                    .map_err(|reason| ConfigError::new("patches", reason))?;
                let multiple = self.network.side_multiple();
                if patches.size.iter().any(|&n| n % multiple != 0) {
                    return Err(ConfigError::new(
                        "patches.size",
                        format!(
                            "{:?}: {} needs every side to be a multiple of {multiple}",
                            patches.size, self.network
                        ),
                    ));
                }
                if let Some(i) = self.streams.iter().position(|s| {
                    !matches!(
                        s.kind,
                        StreamKind::ImageNpy | StreamKind::OneHot | StreamKind::Precomputed
                    )
                }) {
                    return Err(ConfigError::new(
                        format!("streams[{i}].kind"),
                        "3-D training reads image_npy, one_hot and precomputed streams (distance maps are computed once per volume by slice nifti --volumes)",
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The class count, and the classes and streams each loss term and the metrics name.
    fn validate_classes_and_losses(&self) -> Result<(), ConfigError> {
        if self.classes < 2 || self.classes > 256 {
            return Err(ConfigError::new(
                "classes",
                "between 2 and 256 classes are supported",
            ));
        }
        for (i, term) in self.losses.iter().enumerate() {
            let field = |name: &str| format!("losses[{i}].{name}");
            if term.stream == 0 || term.stream >= self.streams.len() {
                return Err(ConfigError::new(
                    field("stream"),
                    format!(
                        "stream {} is not a target stream (1..{})",
                        term.stream,
                        self.streams.len() - 1
                    ),
                ));
            }
            if let Some(&k) = term.idc.iter().find(|&&k| k >= self.classes) {
                return Err(ConfigError::new(
                    field("idc"),
                    format!("class {k}, but there are {} classes", self.classes),
                ));
            }
        }
        if let Some(&k) = self.metric_classes.iter().find(|&&k| k >= self.classes) {
            return Err(ConfigError::new(
                "metric_classes",
                format!("class {k}, but there are {} classes", self.classes),
            ));
        }
        Ok(())
    }

    /// The weight schedule's terms, and the numbers that must be positive.
    fn validate_schedule_and_numbers(&self) -> Result<(), ConfigError> {
        match &self.schedule {
            Schedule::Rebalance { .. } | Schedule::Steal { .. } if self.losses.len() != 2 => {
                return Err(ConfigError::new(
                    "schedule",
                    "steal and rebalance act on two loss terms",
                ));
            }
            Schedule::Add { to_add } if to_add.len() != self.losses.len() => {
                return Err(ConfigError::new(
                    "schedule.to_add",
                    format!(
                        "{} values for {} loss terms",
                        to_add.len(),
                        self.losses.len()
                    ),
                ));
            }
            _ => {}
        }
        if self.batch_size == 0 {
            return Err(ConfigError::new("batch_size", "must be at least 1"));
        }
        if self.epochs == 0 {
            return Err(ConfigError::new("epochs", "must be at least 1"));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(ConfigError::new("temperature", "must be positive"));
        }
        if !(self.adam_epsilon.is_finite() && self.adam_epsilon > 0.0) {
            return Err(ConfigError::new("adam_epsilon", "must be positive"));
        }
        if self.activation == Activation::Sigmoid && self.classes != 2 {
            return Err(ConfigError::new(
                "activation",
                "sigmoid is binary segmentation: classes must be 2",
            ));
        }
        if self.balance_batches && (self.group_train || self.patches.is_some()) {
            return Err(ConfigError::new(
                "balance_batches",
                "balances 2-D slice batches: not with group_train or patches",
            ));
        }
        Ok(())
    }

    /// Options that belong to some stream kinds only.
    fn validate_streams(&self) -> Result<(), ConfigError> {
        for stream in &self.streams {
            stream.normalize.check().map_err(|reason| {
                ConfigError::new(format!("streams.{}.normalize", stream.folder), reason)
            })?;
            if stream.absent_class != distmap::AbsentClass::Zeros
                && stream.kind != StreamKind::DistanceMap
            {
                return Err(ConfigError::new(
                    format!("streams.{}.absent_class", stream.folder),
                    "only distance_map streams compute maps (precomputed maps are read as they are)",
                ));
            }
        }
        Ok(())
    }
}

/// The dotted key path of the TOML value at byte `offset`, best effort, for error messages.
fn field_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.lines().last().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim();
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_string());
    match (table, key.is_empty()) {
        (Some(t), false) => format!("{t}.{key}"),
        (Some(t), true) => t,
        (None, false) => key.to_string(),
        (None, true) => "(file)".into(),
    }
}
