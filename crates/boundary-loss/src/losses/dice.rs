use burn::tensor::Tensor;

pub use runs::loss_term::AbsentClassWeight;

use super::{LossError, SecondInput, EPSILON};

/// Generalized Dice (Sudre et al.), as the original by default: per (b, k) weight
/// `w = 1 / (sum t + 1e-10)^2`, then the mean over B of
/// `1 - 2 (sum_k w I + 1e-10) / (sum_k w (sum p + sum t) + 1e-10)`.
///
/// Two switches take MONAI's `GeneralizedDiceLoss` semantics (same formula, its smoothing
/// constants replaced by the original's 1e-10): `batch` sums intersections, predictions and
/// targets over the whole batch before weighting (one ratio per batch, MONAI's `batch=True`),
/// and `absent_weight` ([`AbsentClassWeight`]).
#[derive(Debug, Clone)]
pub struct GeneralizedDice {
    /// Supervised class indices.
    pub idc: Vec<usize>,
    /// Sums over the batch before the weights and the ratio (MONAI's `batch=True`).
    pub batch: bool,
    /// The weight of a class without target pixels.
    pub absent_weight: AbsentClassWeight,
    /// Validate the inputs (cheap; turn off for speed once a pipeline is trusted).
    pub checks: bool,
}

impl GeneralizedDice {
    /// The original's loss on classes `idc`.
    pub fn new(idc: Vec<usize>) -> Self {
        GeneralizedDice {
            idc,
            batch: false,
            absent_weight: AbsentClassWeight::Original,
            checks: true,
        }
    }

    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (mut pc, mut tc) = super::checked_classes(
            "GeneralizedDice",
            &self.idc,
            probs,
            target,
            SecondInput::OneHot,
            self.checks,
        )?;
        if self.batch {
            // One image of every pixel of the batch: (1, |idc|, B * pixels).
            let [b, k, n] = pc.dims();
            pc = pc.swap_dims(0, 1).reshape([1, k, b * n]);
            tc = tc.swap_dims(0, 1).reshape([1, k, b * n]);
        }
        let target_mass = tc.clone().sum_dim(2); // (B, |idc|, 1)
        let mut weight = target_mass
            .clone()
            .add_scalar(EPSILON)
            .powi_scalar(2)
            .recip()
            .detach();
        if self.absent_weight == AbsentClassWeight::Largest {
            let absent = target_mass.clone().detach().equal_elem(0.0);
            let present = weight.mask_fill(absent.clone(), 0.0);
            let largest = present.clone().max_dim(1); // (B, 1, 1)
            let [b, k, _] = present.dims();
            weight = present.mask_where(absent, largest.expand([b, k, 1]));
        }
        let intersection = weight.clone().mul(pc.clone().mul(tc).sum_dim(2));
        let union = weight.mul(pc.sum_dim(2).add(target_mass));
        let numerator = intersection.sum_dim(1).add_scalar(EPSILON).mul_scalar(2.0);
        let denominator = union.sum_dim(1).add_scalar(EPSILON);
        Ok(numerator.div(denominator).neg().add_scalar(1.0).mean())
    }
}

class_loss!(
    /// Dice loss: mean over (B, idc) of `1 - (2 I + 1e-10) / (sum p + sum t + 1e-10)`.
    DiceLoss,
    SecondInput::OneHot
);

impl DiceLoss {
    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, tc) = self.classes(probs, target)?;
        let intersection = pc.clone().mul(tc.clone()).sum_dim(2);
        let union = pc.sum_dim(2).add(tc.sum_dim(2));
        let ratio = intersection
            .mul_scalar(2.0)
            .add_scalar(EPSILON)
            .div(union.add_scalar(EPSILON));
        Ok(ratio.neg().add_scalar(1.0).mean())
    }
}
