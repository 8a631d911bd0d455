//! A run file's loss terms: which loss (with the options that belong to it), on which classes,
//! with which weight, against which stream; spelled flat in TOML like the original's tuples.

use serde::{Deserialize, Serialize};

/// The weight of a class that has no target pixel, in the generalized Dice loss; in run files
/// `absent_weight = "original"` or `"largest"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsentClassWeight {
    /// The original: `1 / (0 + 1e-10)^2 = 1e20`. Any probability mass on that class then swamps
    /// the loss, which sits at 1.0000 with a gradient of about 1e-31: on an image without
    /// foreground a false positive is never penalised.
    #[default]
    Original,
    /// MONAI's `GeneralizedDiceLoss`: the absent class's (infinite) weight is replaced by the
    /// largest weight of the present classes (of the same image; of the batch with `batch`), so
    /// predicted mass on it counts like mass on the rarest present class. All classes absent:
    /// every weight is 0 and so is the loss.
    Largest,
}

distmap::named_choice!(
    AbsentClassWeight,
    (AbsentClassWeight::Original, "original"),
    (AbsentClassWeight::Largest, "largest")
);

/// Which loss a term computes, with the options that belong to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossKind {
    /// The boundary loss (the original also calls it `SurfaceLoss`).
    Boundary,
    /// `batch`: sum over the batch before weighting (MONAI's `batch=True`); `absent_weight`:
    /// the weight of a class without target pixels. `false` and `Original`: the original.
    GeneralizedDice {
        batch: bool,
        absent_weight: AbsentClassWeight,
    },
    Dice,
    CrossEntropy,
    /// `gamma`: the focusing exponent; required, as in the original (which has no default).
    Focal {
        gamma: f64,
    },
    /// `truncate_prediction_map`: truncate the prediction's distance map toward zero, as the
    /// original does (it computes it from an int32 one-hot) [default: the run's
    /// `truncate_distance_maps`].
    Hausdorff {
        truncate_prediction_map: Option<bool>,
    },
}

/// The loss names a run file may use.
pub const LOSS_NAMES: [&str; 7] = [
    "BoundaryLoss",
    "SurfaceLoss",
    "GeneralizedDice",
    "DiceLoss",
    "CrossEntropy",
    "FocalLoss",
    "HausdorffLoss",
];

impl LossKind {
    /// The run-file name.
    pub fn name(&self) -> &'static str {
        match self {
            LossKind::Boundary => "BoundaryLoss",
            LossKind::GeneralizedDice { .. } => "GeneralizedDice",
            LossKind::Dice => "DiceLoss",
            LossKind::CrossEntropy => "CrossEntropy",
            LossKind::Focal { .. } => "FocalLoss",
            LossKind::Hausdorff { .. } => "HausdorffLoss",
        }
    }
}

impl LossKind {
    /// A loss by its run-file name, with default options; FocalLoss takes its `gamma`, which
    /// has no default (the original's `FocalLoss` reads `kwargs["gamma"]`).
    pub fn from_name(name: &str, gamma: Option<f64>) -> Result<Self, String> {
        Ok(match name {
            "BoundaryLoss" | "SurfaceLoss" => LossKind::Boundary,
            "GeneralizedDice" => LossKind::GeneralizedDice {
                batch: false,
                absent_weight: AbsentClassWeight::Original,
            },
            "DiceLoss" => LossKind::Dice,
            "CrossEntropy" => LossKind::CrossEntropy,
            "FocalLoss" => LossKind::Focal {
                gamma: gamma.ok_or(
                    "FocalLoss: gamma is required (the original has no default; the focal-loss paper's is 2)",
                )?,
            },
            "HausdorffLoss" => LossKind::Hausdorff {
                truncate_prediction_map: None,
            },
            other => {
                return Err(format!(
                    "unknown loss '{other}' ({})",
                    LOSS_NAMES.join(", ")
                ))
            }
        })
    }
}

/// One loss term: which loss, on which classes, its weight, and the stream it compares with.
/// In a run file: `name`, `idc`, `weight`, `stream`, and `gamma` (FocalLoss),
/// `truncate_prediction_map` (HausdorffLoss) or `batch` and `absent_weight` (GeneralizedDice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RunFileTerm", into = "RunFileTerm")]
pub struct LossTerm {
    pub kind: LossKind,
    pub idc: Vec<usize>,
    pub weight: f64,
    /// Index into `streams` of the second input (one-hot target or distance maps); stream 0 is
    /// the image.
    pub stream: usize,
}

/// A loss term as the run file spells it (flat, like the original's tuples).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFileTerm {
    name: String,
    idc: Vec<usize>,
    weight: f64,
    stream: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    truncate_prediction_map: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<bool>,
    /// `"original"` (1e20) or `"largest"` (MONAI's rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    absent_weight: Option<String>,
}

impl TryFrom<RunFileTerm> for LossTerm {
    type Error = String;
    fn try_from(t: RunFileTerm) -> Result<Self, String> {
        let mut kind = LossKind::from_name(&t.name, t.gamma)?;
        let only = |option: &str, owner: &str| format!("{}: only {owner} has {option}", t.name);
        match &mut kind {
            LossKind::Hausdorff {
                truncate_prediction_map,
            } => *truncate_prediction_map = t.truncate_prediction_map,
            LossKind::GeneralizedDice {
                batch,
                absent_weight,
            } => {
                *batch = t.batch.unwrap_or(false);
                if let Some(name) = &t.absent_weight {
                    *absent_weight = name
                        .parse()
                        .map_err(|e| format!("{}: absent_weight {e}", t.name))?;
                }
            }
            _ => {}
        }
        if t.gamma.is_some() && !matches!(kind, LossKind::Focal { .. }) {
            return Err(only("a gamma", "FocalLoss"));
        }
        if t.truncate_prediction_map.is_some() && !matches!(kind, LossKind::Hausdorff { .. }) {
            return Err(only("truncate_prediction_map", "HausdorffLoss"));
        }
        if (t.batch.is_some() || t.absent_weight.is_some())
            && !matches!(kind, LossKind::GeneralizedDice { .. })
        {
            return Err(only("batch and absent_weight", "GeneralizedDice"));
        }
        Ok(LossTerm {
            kind,
            idc: t.idc,
            weight: t.weight,
            stream: t.stream,
        })
    }
}

impl From<LossTerm> for RunFileTerm {
    fn from(term: LossTerm) -> Self {
        let mut file = RunFileTerm {
            name: term.kind.name().to_string(),
            idc: term.idc,
            weight: term.weight,
            stream: term.stream,
            gamma: None,
            truncate_prediction_map: None,
            batch: None,
            absent_weight: None,
        };
        match term.kind {
            LossKind::Focal { gamma } => file.gamma = Some(gamma),
            LossKind::Hausdorff {
                truncate_prediction_map,
            } => file.truncate_prediction_map = truncate_prediction_map,
            LossKind::GeneralizedDice {
                batch,
                absent_weight,
            } => {
                // Written only when switched on, so the original's run files read as before.
                file.batch = batch.then_some(true);
                file.absent_weight = (absent_weight != AbsentClassWeight::Original)
                    .then(|| absent_weight.to_string());
            }
            _ => {}
        }
        file
    }
}

impl LossTerm {
    pub fn new(kind: LossKind, idc: Vec<usize>, weight: f64, stream: usize) -> Self {
        LossTerm {
            kind,
            idc,
            weight,
            stream,
        }
    }
}
