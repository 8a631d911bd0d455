//! What the training-step benchmarks share: their arguments and the step itself (forward,
//! generalized Dice + 0.01 x boundary loss, backward, Adam), for any spatial rank.

use boundary_loss::losses::{BoundaryLoss, GeneralizedDice};
use boundary_loss::nets::Network;
use burn::optim::GradientsParams;
use burn::tensor::activation::softmax;
use burn::tensor::Tensor;

// The argument helper is the convolution benches' (their layer list is not used here).
#[allow(dead_code)]
#[path = "../../../cpu-conv/benches/layers.rs"]
mod layers;
pub use layers::argument;

/// One training step of `net` on a batch `(images, one-hot targets, distance maps)` of rank
/// `D`, logits from `forward`; returns the updated network and the loss.
pub fn train_step<const D: usize>(
    net: Network,
    optimizer: &mut burn::optim::ModuleOptimizer,
    forward: impl Fn(&Network, Tensor<D>) -> Tensor<D>,
    (images, target, maps): (&Tensor<D>, &Tensor<D>, &Tensor<D>),
    classes: usize,
) -> (Network, f32) {
    let probs = softmax(forward(&net, images.clone()), 1);
    let idc: Vec<usize> = (0..classes).collect();
    let mut regional = GeneralizedDice::new(idc.clone());
    regional.checks = false;
    let mut boundary = BoundaryLoss::new(idc[1..].to_vec());
    boundary.checks = false;
    let loss = regional
        .forward(probs.clone(), target.clone())
        .unwrap()
        .add(
            boundary
                .forward(probs, maps.clone())
                .unwrap()
                .mul_scalar(0.01),
        );
    let value = loss.clone().into_scalar::<f32>();
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    (optimizer.step(1e-3, net, grads), value)
}
