//! The optimisers of the original `main.py`, with PyTorch's numbers (Burn's defaults differ:
//! Adam's epsilon is 1e-5 there, 1e-8 in PyTorch).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};

pub use runs::config::OptimizerKind;

/// Adam's betas in the original (`betas=(0.9, 0.99)`).
pub const ADAM_BETAS: (f32, f32) = (0.9, 0.99);
/// SGD's momentum in the original.
pub const SGD_MOMENTUM: f64 = 0.99;
/// SGD's L2 weight decay in the original.
pub const SGD_WEIGHT_DECAY: f32 = 5e-4;

/// The optimiser of a run: Adam with `adam_epsilon`, or SGD (momentum, no dampening, no
/// Nesterov, weight decay), as `torch.optim.Adam` / `torch.optim.SGD` in the original.
pub fn build_optimizer(kind: OptimizerKind, adam_epsilon: f64) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(ADAM_BETAS.0)
            .with_beta_2(ADAM_BETAS.1)
            .with_epsilon(adam_epsilon as f32)
            .init(),
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: SGD_MOMENTUM,
                dampening: 0.0,
                nesterov: false,
            }))
            .with_weight_decay(Some(WeightDecayConfig::new(SGD_WEIGHT_DECAY)))
            .init(),
    }
}
