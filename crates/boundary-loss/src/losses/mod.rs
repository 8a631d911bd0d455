//! The losses of the paper and its baselines, with the original's formulas (`losses.py`).
//!
//! Every loss takes softmax probabilities `probs` of shape `(B, K, *spatial)`, any spatial rank,
//! a second tensor of the same shape (one-hot target, or distance maps for [`BoundaryLoss`]), and
//! `idc`, the supervised class indices. All return a one-element tensor. Reductions, as in the
//! original:
//!
//! | loss | reduction | empty class (no target pixel) |
//! |---|---|---|
//! | [`BoundaryLoss`] | mean over (B, idc, pixels) of `p * phi` | phi is 0: no contribution (unless the maps were made with `distmap::AbsentClass::Diagonal`) |
//! | [`GeneralizedDice`] | mean over B of `1 - 2 (sum_k w I + e) / (sum_k w (P + T) + e)`, `w = 1/(T + e)^2` | weight 1e20: any predicted mass swamps the loss, whose gradient vanishes (switches: `batch`, `absent_weight`) |
//! | [`DiceLoss`] | mean over (B, idc) of `1 - (2I + e)/(P + T + e)` | 1 unless nothing is predicted (then 0) |
//! | [`CrossEntropy`] | `-sum(t log(p + e)) / (sum t + e)` over (B, idc, pixels) | no contribution |
//! | [`FocalLoss`] | like CE, each term weighted by `(1 - p)^gamma` | no contribution |
//! | [`HausdorffLoss`] | mean of `(p - t)^2 (dt_t^2 + dt_p^2)` | distance maps of absent classes are 0 |
//!
//! with `e = 1e-10`. Inputs are validated (probabilities sum to one over classes, targets are
//! one-hot, shapes agree, idc in range) unless `checks` is turned off for speed.

/// A loss whose only settings are the supervised classes and the input checks: the struct, its
/// `new` and `classes`, which checks the inputs and keeps the supervised classes (`(B, |idc|,
/// pixels)` each).
macro_rules! class_loss {
    ($(#[$doc:meta])* $loss:ident, $second:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $loss {
            /// Supervised class indices.
            pub idc: Vec<usize>,
            /// Validate the inputs (cheap; turn off for speed once a pipeline is trusted).
            pub checks: bool,
        }

        impl $loss {
            pub fn new(idc: Vec<usize>) -> Self {
                $loss { idc, checks: true }
            }

            fn classes<const D: usize>(
                &self,
                probs: Tensor<D>,
                second: Tensor<D>,
            ) -> Result<(Tensor<3>, Tensor<3>), LossError> {
                super::checked_classes(
                    stringify!($loss),
                    &self.idc,
                    probs,
                    second,
                    $second,
                    self.checks,
                )
            }
        }
    };
}

mod boundary;
mod cross_entropy;
mod dice;
mod hausdorff;

pub use boundary::BoundaryLoss;
pub use cross_entropy::{CrossEntropy, FocalLoss};
pub use dice::{AbsentClassWeight, DiceLoss, GeneralizedDice};
pub use hausdorff::HausdorffLoss;

/// Burn-style configuration of a loss without options of its own:
/// `BoundaryLossConfig::new(vec![1]).with_checks(false).init()`.
macro_rules! loss_config {
    ($(#[$doc:meta])* $config:ident => $loss:ident) => {
        $(#[$doc])*
        #[derive(burn::config::Config, Debug)]
        pub struct $config {
            /// Supervised class indices.
            pub idc: Vec<usize>,
            /// Validate the inputs (cheap; off for speed once a pipeline is trusted).
            #[config(default = true)]
            pub checks: bool,
        }

        impl $config {
            pub fn init(&self) -> $loss {
                let mut loss = $loss::new(self.idc.clone());
                loss.checks = self.checks;
                loss
            }
        }
    };
}

loss_config!(
    /// Configuration of [`BoundaryLoss`].
    BoundaryLossConfig => BoundaryLoss
);
loss_config!(
    /// Configuration of [`DiceLoss`].
    DiceLossConfig => DiceLoss
);
loss_config!(
    /// Configuration of [`CrossEntropy`].
    CrossEntropyConfig => CrossEntropy
);

/// Configuration of [`GeneralizedDice`].
#[derive(burn::config::Config, Debug)]
pub struct GeneralizedDiceConfig {
    /// Supervised class indices.
    pub idc: Vec<usize>,
    /// Sum over the batch before weighting (MONAI's `batch=True`).
    #[config(default = false)]
    pub batch: bool,
    /// The weight of a class without target pixels: the original's 1e20, or the largest
    /// present weight (MONAI's rule).
    #[config(default = "AbsentClassWeight::Original")]
    pub absent_weight: AbsentClassWeight,
    /// Validate the inputs.
    #[config(default = true)]
    pub checks: bool,
}

impl GeneralizedDiceConfig {
    pub fn init(&self) -> GeneralizedDice {
        let mut loss = GeneralizedDice::new(self.idc.clone());
        loss.batch = self.batch;
        loss.absent_weight = self.absent_weight;
        loss.checks = self.checks;
        loss
    }
}

/// Configuration of [`FocalLoss`].
#[derive(burn::config::Config, Debug)]
pub struct FocalLossConfig {
    /// Supervised class indices.
    pub idc: Vec<usize>,
    /// The focusing exponent (no default, as in the original).
    pub gamma: f64,
    /// Validate the inputs.
    #[config(default = true)]
    pub checks: bool,
}

impl FocalLossConfig {
    pub fn init(&self) -> FocalLoss {
        let mut loss = FocalLoss::new(self.idc.clone(), self.gamma);
        loss.checks = self.checks;
        loss
    }
}

/// Configuration of [`HausdorffLoss`].
#[derive(burn::config::Config, Debug)]
pub struct HausdorffLossConfig {
    /// Supervised class indices.
    pub idc: Vec<usize>,
    /// Truncate the prediction's distance map toward zero, as the original does.
    #[config(default = false)]
    pub truncate_prediction_map: bool,
    /// Spacing per spatial axis [default: 1 each, as the original].
    pub spacing: Option<Vec<f64>>,
    /// Validate the inputs.
    #[config(default = true)]
    pub checks: bool,
}

impl HausdorffLossConfig {
    pub fn init(&self) -> HausdorffLoss {
        let mut loss = HausdorffLoss::new(self.idc.clone());
        loss.truncate_prediction_map = self.truncate_prediction_map;
        loss.spacing = self.spacing.clone();
        loss.checks = self.checks;
        loss
    }
}

/// The original's alias: the boundary loss was called the surface loss.
pub type SurfaceLoss = BoundaryLoss;

use burn::tensor::{Int, Tensor, TensorData};

/// A loss of this module as a value: what the trainer needs to hold any of them.
pub trait Loss {
    /// The loss of softmax probabilities and the second input (`(B, K, *spatial)` both).
    fn loss<const D: usize>(
        &self,
        probs: Tensor<D>,
        second: Tensor<D>,
    ) -> Result<Tensor<1>, LossError>;
    /// The same loss with input checks on or off.
    fn with_checks(self, checks: bool) -> Self;
}

macro_rules! impl_loss {
    ($($t:ty),*) => {$(
        impl Loss for $t {
            fn loss<const D: usize>(&self, probs: Tensor<D>, second: Tensor<D>) -> Result<Tensor<1>, LossError> {
                self.forward(probs, second)
            }
            fn with_checks(mut self, checks: bool) -> Self {
                self.checks = checks;
                self
            }
        }
    )*};
}
impl_loss!(
    BoundaryLoss,
    GeneralizedDice,
    DiceLoss,
    CrossEntropy,
    FocalLoss,
    HausdorffLoss
);

/// The original's smoothing constant.
pub(crate) const EPSILON: f64 = 1e-10;

/// Tolerance of the probability-sum and one-hot checks (f32 softmax sums are within ~1e-6).
const SUM_TOLERANCE: f32 = 1e-3;

/// Bad input to a loss: what is wrong, and in which loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{loss}: {problem}")]
pub struct LossError {
    pub loss: &'static str,
    pub problem: String,
}

impl LossError {
    pub(crate) fn new(loss: &'static str, problem: impl Into<String>) -> Self {
        LossError {
            loss,
            problem: problem.into(),
        }
    }
}

/// What the second input of a loss is, for its checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecondInput {
    OneHot,
    DistanceMap,
}

/// Shape checks (always, they cost nothing) and value checks (when `checks` is on): one small
/// reduction each, read back as a scalar.
pub(crate) fn validate<const D: usize>(
    loss: &'static str,
    idc: &[usize],
    probs: &Tensor<D>,
    second: &Tensor<D>,
    kind: SecondInput,
    checks: bool,
) -> Result<(), LossError> {
    if D < 3 {
        return Err(LossError::new(
            loss,
            format!("inputs must be (B, K, *spatial), got rank {D}"),
        ));
    }
    let (ps, ts) = (probs.dims(), second.dims());
    if ps != ts {
        return Err(LossError::new(
            loss,
            format!("probabilities have shape {ps:?} but the second input has shape {ts:?}"),
        ));
    }
    if idc.is_empty() {
        return Err(LossError::new(
            loss,
            "idc is empty: supervise at least one class",
        ));
    }
    if let Some(&bad) = idc.iter().find(|&&k| k >= ps[1]) {
        return Err(LossError::new(
            loss,
            format!("class {bad} in idc, but there are {} classes", ps[1]),
        ));
    }
    if !checks {
        return Ok(());
    }
    let probs = probs.clone().detach();
    let below = probs.clone().min().into_scalar::<f32>();
    let above = probs.clone().max().into_scalar::<f32>();
    if !(below >= -SUM_TOLERANCE && above <= 1.0 + SUM_TOLERANCE) {
        return Err(LossError::new(
            loss,
            format!("probabilities must lie in [0, 1], found values in [{below}, {above}] (is softmax applied?)"),
        ));
    }
    let sum_error = probs
        .sum_dim(1)
        .sub_scalar(1.0)
        .abs()
        .max()
        .into_scalar::<f32>();
    if sum_error.is_nan() || sum_error > SUM_TOLERANCE {
        return Err(LossError::new(
            loss,
            format!("probabilities must sum to 1 over the class axis, off by up to {sum_error}"),
        ));
    }
    let second = second.clone().detach();
    match kind {
        SecondInput::OneHot => {
            let not_binary = second
                .clone()
                .mul(second.clone().neg().add_scalar(1.0))
                .abs()
                .max()
                .into_scalar::<f32>();
            let sum_error = second
                .sum_dim(1)
                .sub_scalar(1.0)
                .abs()
                .max()
                .into_scalar::<f32>();
            if not_binary != 0.0 || sum_error != 0.0 {
                return Err(LossError::new(
                    loss,
                    "the target must be one-hot: values 0 or 1, exactly one 1 per pixel over the class axis",
                ));
            }
        }
        SecondInput::DistanceMap => {
            let magnitude = second.abs().max().into_scalar::<f32>();
            if !magnitude.is_finite() {
                return Err(LossError::new(
                    loss,
                    "the distance maps hold a NaN or an infinity",
                ));
            }
        }
    }
    Ok(())
}

/// [`validate`]s the inputs of `loss`, then selects the supervised classes of both as
/// `(B, |idc|, pixels)` (see [`supervised`]).
pub(crate) fn checked_classes<const D: usize>(
    loss: &'static str,
    idc: &[usize],
    probs: Tensor<D>,
    second: Tensor<D>,
    kind: SecondInput,
    checks: bool,
) -> Result<(Tensor<3>, Tensor<3>), LossError> {
    validate(loss, idc, &probs, &second, kind, checks)?;
    Ok((supervised(probs, idc), supervised(second, idc)))
}

/// The supervised classes of a `(B, K, *spatial)` tensor, flattened to `(B, |idc|, pixels)`.
pub(crate) fn supervised<const D: usize>(tensor: Tensor<D>, idc: &[usize]) -> Tensor<3> {
    let dims = tensor.dims();
    let pixels: usize = dims[2..].iter().product();
    let all_in_order = idc.len() == dims[1] && idc.iter().enumerate().all(|(i, &k)| i == k);
    let selected = if all_in_order {
        tensor
    } else {
        let device = tensor.device();
        let indices = Tensor::<1, Int>::from_data(
            TensorData::new(
                idc.iter().map(|&k| k as i64).collect::<Vec<_>>(),
                [idc.len()],
            ),
            &device,
        );
        tensor.select(1, indices)
    };
    selected.reshape([dims[0], idc.len(), pixels])
}

/// Class of each pixel (the first maximum over the class axis, as torch's argmax) of
/// `(B, K, *spatial)` values with `pixels` spatial elements; at most 256 classes.
pub(crate) fn argmax_classes(values: &[f32], classes: usize, pixels: usize) -> Vec<u8> {
    let images = values.len() / (classes * pixels);
    let mut out = vec![0u8; images * pixels];
    for b in 0..images {
        let sample = &values[b * classes * pixels..(b + 1) * classes * pixels];
        for (i, o) in out[b * pixels..(b + 1) * pixels].iter_mut().enumerate() {
            let mut best = 0;
            for k in 1..classes {
                if sample[k * pixels + i] > sample[best * pixels + i] {
                    best = k;
                }
            }
            *o = best as u8;
        }
    }
    out
}
