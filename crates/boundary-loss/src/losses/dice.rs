use burn::tensor::Tensor;

use super::{checked_classes, LossError, SecondInput, EPSILON};

/// Generalized Dice (Sudre et al.), as the original: per (b, k) weight
/// `w = 1 / (sum t + 1e-10)^2`, then the mean over B of
/// `1 - 2 (sum_k w I + 1e-10) / (sum_k w (sum p + sum t) + 1e-10)`.
#[derive(Debug, Clone)]
pub struct GeneralizedDice {
    pub idc: Vec<usize>,
    pub checks: bool,
}

impl GeneralizedDice {
    pub fn new(idc: Vec<usize>) -> Self {
        GeneralizedDice { idc, checks: true }
    }

    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, tc) = checked_classes(
            "GeneralizedDice",
            &self.idc,
            probs,
            target,
            SecondInput::OneHot,
            self.checks,
        )?;
        let target_mass = tc.clone().sum_dim(2); // (B, |idc|, 1)
        let weight = target_mass
            .clone()
            .add_scalar(EPSILON)
            .powi_scalar(2)
            .recip()
            .detach();
        let intersection = weight.clone().mul(pc.clone().mul(tc).sum_dim(2));
        let union = weight.mul(pc.sum_dim(2).add(target_mass));
        let numerator = intersection.sum_dim(1).add_scalar(EPSILON).mul_scalar(2.0);
        let denominator = union.sum_dim(1).add_scalar(EPSILON);
        Ok(numerator.div(denominator).neg().add_scalar(1.0).mean())
    }
}

/// Dice loss: mean over (B, idc) of `1 - (2 I + 1e-10) / (sum p + sum t + 1e-10)`.
#[derive(Debug, Clone)]
pub struct DiceLoss {
    pub idc: Vec<usize>,
    pub checks: bool,
}

impl DiceLoss {
    pub fn new(idc: Vec<usize>) -> Self {
        DiceLoss { idc, checks: true }
    }

    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, tc) = checked_classes(
            "DiceLoss",
            &self.idc,
            probs,
            target,
            SecondInput::OneHot,
            self.checks,
        )?;
        let intersection = pc.clone().mul(tc.clone()).sum_dim(2);
        let union = pc.sum_dim(2).add(tc.sum_dim(2));
        let ratio = intersection
            .mul_scalar(2.0)
            .add_scalar(EPSILON)
            .div(union.add_scalar(EPSILON));
        Ok(ratio.neg().add_scalar(1.0).mean())
    }
}
