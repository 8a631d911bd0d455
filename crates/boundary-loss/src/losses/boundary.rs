use burn::tensor::Tensor;

use super::{checked_classes, LossError, SecondInput};

/// The boundary loss (the original's `SurfaceLoss`): mean over (B, idc, pixels) of
/// `probs * phi`, where `phi` are the signed distance maps of the ground truth (negative inside
/// the object, so the loss is negative at the optimum).
#[derive(Debug, Clone)]
pub struct BoundaryLoss {
    pub idc: Vec<usize>,
    /// Validate the inputs (cheap; turn off for speed once a pipeline is trusted).
    pub checks: bool,
}

impl BoundaryLoss {
    pub fn new(idc: Vec<usize>) -> Self {
        BoundaryLoss { idc, checks: true }
    }

    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        distance_maps: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, dc) = checked_classes(
            "BoundaryLoss",
            &self.idc,
            probs,
            distance_maps,
            SecondInput::DistanceMap,
            self.checks,
        )?;
        Ok(pc.mul(dc).mean())
    }
}
