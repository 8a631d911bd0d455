use burn::tensor::Tensor;

use super::{LossError, SecondInput};

class_loss!(
    /// The boundary loss (the original's `SurfaceLoss`): mean over (B, idc, pixels) of
    /// `probs * phi`, where `phi` are the signed distance maps of the ground truth (negative inside
    /// the object, so the loss is negative at the optimum).
    BoundaryLoss,
    SecondInput::DistanceMap
);

impl BoundaryLoss {
    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        distance_maps: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, dc) = self.classes(probs, distance_maps)?;
        Ok(pc.mul(dc).mean())
    }
}
