use burn::tensor::Tensor;

use super::{checked_classes, LossError, SecondInput, EPSILON};

class_loss!(
    /// Cross-entropy over the supervised classes: `-sum(t log(p + 1e-10)) / (sum t + 1e-10)`, the
    /// sums running over (B, idc, pixels).
    CrossEntropy,
    SecondInput::OneHot
);

impl CrossEntropy {
    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, mask) = self.classes(probs, target)?;
        let log_p = pc.add_scalar(EPSILON).log();
        let total = mask.clone().sum().add_scalar(EPSILON);
        Ok(mask.mul(log_p).sum().neg().div(total))
    }
}

/// Focal loss (Lin et al.) as the original writes it: cross-entropy whose terms are weighted by
/// `(1 - p)^gamma`, normalised by the target mass.
#[derive(Debug, Clone)]
pub struct FocalLoss {
    pub idc: Vec<usize>,
    pub gamma: f64,
    pub checks: bool,
}

impl FocalLoss {
    pub fn new(idc: Vec<usize>, gamma: f64) -> Self {
        FocalLoss {
            idc,
            gamma,
            checks: true,
        }
    }

    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        let (pc, mask) = checked_classes(
            "FocalLoss",
            &self.idc,
            probs,
            target,
            SecondInput::OneHot,
            self.checks,
        )?;
        let log_p = pc.clone().add_scalar(EPSILON).log();
        let weight = pc.neg().add_scalar(1.0).powf_scalar(self.gamma);
        let total = mask.clone().sum().add_scalar(EPSILON);
        Ok(weight.mul(mask).mul(log_p).sum().neg().div(total))
    }
}
