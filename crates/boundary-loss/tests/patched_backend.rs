//! Burn's CPU backend reaches our kernels: a convolution and a batch normalisation, forward and
//! backward, run through `cpu-conv` and `cpu-norm`. This fails when `patches/burn-flex` is no
//! longer in use (after a Burn upgrade Cargo only warns "patch not used", and the speed-ups
//! would vanish without another test failing).

use boundary_loss::nets::BatchNorm;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};

#[test]
fn convolutions_and_batch_norm_run_through_the_workspace_kernels() {
    let device = Device::flex().autodiff();
    let (conv_before, norm_before) = (cpu_conv::passes_run(), cpu_norm::passes_run());

    let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
    let norm = BatchNorm::new(3, &device);
    let x = Tensor::<4>::random([2, 2, 8, 8], Distribution::Default, &device).require_grad();
    let loss = norm.forward(conv.forward(x.clone())).powf_scalar(2.0).sum();
    let grads = loss.backward();
    assert!(x.grad(&grads).is_some());

    // Forward, input gradient and weight gradient; statistics, normalisation and gradients.
    let conv_passes = cpu_conv::passes_run() - conv_before;
    let norm_passes = cpu_norm::passes_run() - norm_before;
    assert!(
        conv_passes >= 3,
        "{conv_passes} convolution passes reached cpu-conv: is patches/burn-flex still used?"
    );
    assert!(
        norm_passes >= 3,
        "{norm_passes} batch-norm passes reached cpu-norm: is patches/burn-flex still used?"
    );
}
