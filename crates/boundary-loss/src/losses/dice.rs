use burn::tensor::Tensor;

use super::{LossError, SecondInput, EPSILON};

class_loss!(
    /// Generalized Dice (Sudre et al.), as the original: per (b, k) weight
    /// `w = 1 / (sum t + 1e-10)^2`, then the mean over B of
    /// `1 - 2 (sum_k w I + 1e-10) / (sum_k w (sum p + sum t) + 1e-10)`.
    GeneralizedDice,
    SecondInput::OneHot
);

impl GeneralizedDice {
    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, tc) = self.classes(probs, target)?;
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
