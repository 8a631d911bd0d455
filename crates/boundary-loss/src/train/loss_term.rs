//! A run file's loss terms: which loss (with the options that belong to it), on which classes,
//! with which weight, against which stream; spelled flat in TOML like the original's tuples.

use serde::{Deserialize, Serialize};

/// Which loss a term computes, with the options that belong to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossKind {
    /// The boundary loss (the original also calls it `SurfaceLoss`).
    Boundary,
    GeneralizedDice,
    Dice,
    CrossEntropy,
    /// `gamma`: the focusing exponent (the original's default 2).
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

/// FocalLoss's gamma when the run file gives none (the original's default).
pub const DEFAULT_FOCAL_GAMMA: f64 = 2.0;

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
            LossKind::GeneralizedDice => "GeneralizedDice",
            LossKind::Dice => "DiceLoss",
            LossKind::CrossEntropy => "CrossEntropy",
            LossKind::Focal { .. } => "FocalLoss",
            LossKind::Hausdorff { .. } => "HausdorffLoss",
        }
    }
}

impl std::str::FromStr for LossKind {
    type Err = String;
    /// A loss by its run-file name, with default options.
    fn from_str(name: &str) -> Result<Self, String> {
        Ok(match name {
            "BoundaryLoss" | "SurfaceLoss" => LossKind::Boundary,
            "GeneralizedDice" => LossKind::GeneralizedDice,
            "DiceLoss" => LossKind::Dice,
            "CrossEntropy" => LossKind::CrossEntropy,
            "FocalLoss" => LossKind::Focal {
                gamma: DEFAULT_FOCAL_GAMMA,
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
/// In a run file: `name`, `idc`, `weight`, `stream`, and `gamma` (FocalLoss) or
/// `truncate_prediction_map` (HausdorffLoss).
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
}

impl TryFrom<RunFileTerm> for LossTerm {
    type Error = String;
    fn try_from(t: RunFileTerm) -> Result<Self, String> {
        let mut kind: LossKind = t.name.parse()?;
        match (&mut kind, t.gamma, t.truncate_prediction_map) {
            (LossKind::Focal { gamma }, Some(g), None) => *gamma = g,
            (
                LossKind::Hausdorff {
                    truncate_prediction_map,
                },
                None,
                Some(v),
            ) => *truncate_prediction_map = Some(v),
            (_, None, None) => {}
            (_, Some(_), _) => return Err(format!("{}: only FocalLoss has a gamma", t.name)),
            (_, _, Some(_)) => {
                return Err(format!(
                    "{}: only HausdorffLoss has truncate_prediction_map",
                    t.name
                ))
            }
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
        let (gamma, truncate_prediction_map) = match term.kind {
            LossKind::Focal { gamma } => (Some(gamma), None),
            LossKind::Hausdorff {
                truncate_prediction_map,
            } => (None, truncate_prediction_map),
            _ => (None, None),
        };
        RunFileTerm {
            name: term.kind.name().to_string(),
            idc: term.idc,
            weight: term.weight,
            stream: term.stream,
            gamma,
            truncate_prediction_map,
        }
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
