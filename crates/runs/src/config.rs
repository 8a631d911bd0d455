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
use crate::run_file::RunFile;
pub use crate::schedule::{LrHalving, Schedule};
use datasets::data::{Stream, StreamKind};
use datasets::volumes::PatchOptions;
use segmentation_metrics::EmptyMaskRule;

/// A training run, grouped into the sections a reader looks for. In the file every field is at
/// the top level, named as the original's flag is ([`crate::run_file`]; docs/run-file.md lists
/// each field under its section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RunFile", into = "RunFile")]
pub struct RunConfig {
    pub network: NetworkSection,
    pub data: DataSection,
    pub optimiser: OptimiserSection,
    pub losses: LossSection,
    pub schedule: ScheduleSection,
    pub validation: ValidationSection,
    pub run: RunSection,
}

/// The network and what its output means.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSection {
    /// `network`: Dimwit, UNet, ENet, ResidualUNet (2-D), Dimwit3D, UNet3D (3-D).
    pub architecture: Architecture,
    /// `network_base`: UNet's base width (the original's `nG`, 64 when absent).
    pub base: Option<usize>,
    pub modalities: usize,
    pub classes: usize,
    pub activation: Activation,
    /// Softmax temperature, as the original: probabilities are `softmax(temperature * logits)`.
    pub temperature: f64,
}

/// What is read, how, and in which batches.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSection {
    /// Data set root, holding `train/` and `val/` (absolute once read from a file).
    pub dataset: PathBuf,
    /// Streams; the first is the image.
    pub streams: Vec<Stream>,
    /// 3-D training on patches of whole volumes; absent: 2-D training on slices.
    pub patches: Option<PatchOptions>,
    pub batch_size: usize,
    /// One patient per training batch, patients shuffled (the original's `--group_train`).
    pub group_train: bool,
    /// Training batches that each hold the split's share of slices with foreground.
    pub balance_batches: bool,
    /// Keep slices in memory after their first read.
    pub in_memory: bool,
    /// The first `DEBUG_SLICES` slices of each split only (the original's `--debug`).
    pub debug: bool,
    /// Check that images lie in [0, 1].
    pub check_image_range: bool,
    /// On-the-fly distance maps in mm from `spacing.json` (the original's `--use_spacing`).
    pub use_spacing: bool,
    /// Truncate on-the-fly distance maps toward zero, as the original 2-D loader does.
    pub truncate_distance_maps: bool,
}

/// The optimiser and its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimiserSection {
    /// `optimizer`: Adam or SGD.
    pub kind: OptimizerKind,
    pub learning_rate: f64,
    /// Adam's epsilon (PyTorch's default, which the original uses; Burn's own default is 1e-5).
    pub adam_epsilon: f64,
}

/// The loss terms.
#[derive(Debug, Clone, PartialEq)]
pub struct LossSection {
    /// `losses`: the weighted terms, each on its classes and target stream.
    pub terms: Vec<LossTerm>,
    /// `check_loss_inputs`: probabilities sum to one, targets are one-hot.
    pub check_inputs: bool,
}

/// How long, and how the loss weights and the learning rate move over epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSection {
    pub epochs: usize,
    /// `schedule`: how the loss weights move per epoch.
    pub loss_weights: Schedule,
    pub lr_halving: LrHalving,
}

/// What validation measures and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationSection {
    /// Classes averaged for the best epoch and the console; empty means all.
    pub metric_classes: Vec<usize>,
    /// Groups slice stems into patients (the original's `--grp_regex`).
    pub patient_regex: String,
    /// Finds a patient's key in `spacing_3d` [default: `patient_regex`].
    pub resolution_regex: Option<String>,
    /// 3-D HD95 when a mask is empty.
    pub empty_mask: EmptyMaskRule,
    /// Folder of the class maps the metrics compare with [default: the first `one_hot` or
    /// `distance_map` stream's].
    pub truth_folder: Option<String>,
    /// One patient per validation batch (the original's `--group`).
    pub group: bool,
    /// BatchNorm statistics recomputed with the epoch's final weights before validation.
    pub recalibrate_batch_norm: bool,
    /// Validate every `val_every` epochs and after the last ([`RunConfig::validates`]).
    pub val_every: usize,
}

/// Where the run starts from and where it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSection {
    /// Every random draw of the run.
    pub seed: u64,
    pub device: DeviceSpec,
    /// Start from these weights (absolute once read from a file).
    pub weights: Option<PathBuf>,
    /// Also write `iterNNN/train/*.png` (the original's `--save_train`).
    pub save_train: bool,
}

impl Default for RunConfig {
    /// The original's defaults, with an empty data set, streams and losses.
    fn default() -> Self {
        RunFile::default().into()
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
        config.data.dataset = resolve_path(base, &config.data.dataset);
        config.run.weights = config.run.weights.as_ref().map(|w| resolve_path(base, w));
        config.validate().map_err(|e| e.in_file(path))?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a run file serialises")
    }

    /// The classes averaged for the best epoch: `metric_classes`, or all when it is empty.
    pub fn metric_classes(&self) -> Vec<usize> {
        if self.validation.metric_classes.is_empty() {
            (0..self.network.classes).collect()
        } else {
            self.validation.metric_classes.clone()
        }
    }

    /// `resolution_regex`, or `patient_regex` when it is not given.
    pub fn resolution_regex(&self) -> &str {
        self.validation
            .resolution_regex
            .as_deref()
            .unwrap_or(&self.validation.patient_regex)
    }

    /// The folder of the class maps that Dice and the 3-D metrics compare with.
    pub fn truth_folder(&self) -> Result<String, ConfigError> {
        if let Some(folder) = &self.validation.truth_folder {
            return Ok(folder.clone());
        }
        self.data
            .streams
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

    /// Whether epoch `epoch` (0-based) is validated: every `val_every`-th epoch (epochs
    /// `val_every - 1`, `2 val_every - 1`, ...) and the last one; every epoch by default.
    pub fn validates(&self, epoch: usize) -> bool {
        let every = self.validation.val_every.max(1);
        (epoch + 1).is_multiple_of(every) || epoch + 1 >= self.schedule.epochs
    }

    /// Output channels of the network: 1 for a sigmoid, K otherwise.
    pub fn output_channels(&self) -> usize {
        match self.network.activation {
            Activation::Softmax => self.network.classes,
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
        anchored_regex("patient_regex", &self.validation.patient_regex)?;
        anchored_regex("resolution_regex", self.resolution_regex())?;
        self.truth_folder()?;
        Ok(())
    }

    /// At least the image and one target stream, and one loss term.
    fn validate_inputs(&self) -> Result<(), ConfigError> {
        if self.data.streams.len() < 2 {
            return Err(ConfigError::new(
                "streams",
                "at least two streams are needed: the image and one target",
            ));
        }
        if self.losses.terms.is_empty() {
            return Err(ConfigError::new("losses", "no loss term"));
        }
        Ok(())
    }

    /// 2-D networks without `[patches]`, 3-D networks with them, and patch sizes and streams
    /// that 3-D training can use.
    fn validate_patches(&self) -> Result<(), ConfigError> {
        match (&self.data.patches, self.network.architecture.spatial_rank()) {
            (None, 3) => {
                return Err(ConfigError::new(
                    "network",
                    format!(
                        "{} is a 3-D network: add a [patches] table to train on patches of volumes",
                        self.network.architecture
                    ),
                ))
            }
            (Some(_), 2) => {
                return Err(ConfigError::new(
                    "patches",
                    format!(
                        "{} is a 2-D network: 3-D training needs Dimwit3D or UNet3D",
                        self.network.architecture
                    ),
                ))
            }
            (Some(patches), _) => {
                patches
                    .check()
                    .map_err(|reason| ConfigError::new("patches", reason))?;
                let multiple = self.network.architecture.side_multiple();
                if patches.size.iter().any(|&n| n % multiple != 0) {
                    return Err(ConfigError::new(
                        "patches.size",
                        format!(
                            "{:?}: {} needs every side to be a multiple of {multiple}",
                            patches.size, self.network.architecture
                        ),
                    ));
                }
                if let Some(i) = self.data.streams.iter().position(|s| {
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
        if self.network.classes < 2 || self.network.classes > 256 {
            return Err(ConfigError::new(
                "classes",
                "between 2 and 256 classes are supported",
            ));
        }
        for (i, term) in self.losses.terms.iter().enumerate() {
            let field = |name: &str| format!("losses[{i}].{name}");
            if term.stream == 0 || term.stream >= self.data.streams.len() {
                return Err(ConfigError::new(
                    field("stream"),
                    format!(
                        "stream {} is not a target stream (1..{})",
                        term.stream,
                        self.data.streams.len() - 1
                    ),
                ));
            }
            if let Some(&k) = term.idc.iter().find(|&&k| k >= self.network.classes) {
                return Err(ConfigError::new(
                    field("idc"),
                    format!("class {k}, but there are {} classes", self.network.classes),
                ));
            }
        }
        if let Some(&k) = self
            .validation
            .metric_classes
            .iter()
            .find(|&&k| k >= self.network.classes)
        {
            return Err(ConfigError::new(
                "metric_classes",
                format!("class {k}, but there are {} classes", self.network.classes),
            ));
        }
        Ok(())
    }

    /// The weight schedule's terms, and the numbers that must be positive.
    fn validate_schedule_and_numbers(&self) -> Result<(), ConfigError> {
        match &self.schedule.loss_weights {
            Schedule::Rebalance { .. } | Schedule::Steal { .. } if self.losses.terms.len() != 2 => {
                return Err(ConfigError::new(
                    "schedule",
                    "steal and rebalance act on two loss terms",
                ));
            }
            Schedule::Add { to_add } if to_add.len() != self.losses.terms.len() => {
                return Err(ConfigError::new(
                    "schedule.to_add",
                    format!(
                        "{} values for {} loss terms",
                        to_add.len(),
                        self.losses.terms.len()
                    ),
                ));
            }
            _ => {}
        }
        if self.data.batch_size == 0 {
            return Err(ConfigError::new("batch_size", "must be at least 1"));
        }
        if self.schedule.epochs == 0 {
            return Err(ConfigError::new("epochs", "must be at least 1"));
        }
        if self.validation.val_every == 0 {
            return Err(ConfigError::new(
                "val_every",
                "must be at least 1 (1: every epoch)",
            ));
        }
        if !(self.network.temperature.is_finite() && self.network.temperature > 0.0) {
            return Err(ConfigError::new("temperature", "must be positive"));
        }
        if !(self.optimiser.adam_epsilon.is_finite() && self.optimiser.adam_epsilon > 0.0) {
            return Err(ConfigError::new("adam_epsilon", "must be positive"));
        }
        if self.network.activation == Activation::Sigmoid && self.network.classes != 2 {
            return Err(ConfigError::new(
                "activation",
                "sigmoid is binary segmentation: classes must be 2",
            ));
        }
        if self.data.balance_batches && (self.data.group_train || self.data.patches.is_some()) {
            return Err(ConfigError::new(
                "balance_batches",
                "balances 2-D slice batches: not with group_train or patches",
            ));
        }
        Ok(())
    }

    /// Options that belong to some stream kinds only.
    fn validate_streams(&self) -> Result<(), ConfigError> {
        for stream in &self.data.streams {
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
