//! Convolution layers of the faithful UNet and ENet, one at a time, on the CPU backend: the
//! forward pass alone, and forward + backward (input and weight gradients of `sum(conv(x, w) * g)`
//! through autodiff), seconds per call. `benches/compare_conv.py` runs the same
//! layers in PyTorch in the same session.
//!
//! Usage: cargo bench --workspace --bench conv_layers -- [--reps N] [--batch B]
//! Threads: RAYON_NUM_THREADS. The CPU backend runs eagerly: results are returned as tensors, not
//! copied out (as PyTorch's side returns them).

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};

#[path = "../../cpu-conv/benches/layers.rs"]
mod layers;
use layers::{argument, time, LAYERS};

fn main() {
    // As the CLI runs (boundary_loss::memory).
    boundary_loss::memory::keep_freed_memory();
    let reps = argument("--reps", 3);
    let batch = argument("--batch", 8);
    let device = Device::flex().autodiff();
    for (name, c_in, c_out, side, kernel, stride, padding, dilation) in LAYERS {
        let x = Tensor::<4>::random([batch, c_in, side, side], Distribution::Default, &device);
        let w = Tensor::<4>::random(
            [c_out, c_in, kernel[0], kernel[1]],
            Distribution::Default,
            &device,
        );
        let options = ConvOptions::new([stride; 2], padding, [dilation; 2], 1);
        let [_, _, out_h, out_w] = conv2d(x.clone(), w.clone(), None, options.clone()).dims();
        let g = Tensor::<4>::random([batch, c_out, out_h, out_w], Distribution::Default, &device);
        let forward = time(reps, || conv2d(x.clone(), w.clone(), None, options.clone()));
        let backward = time(reps, || {
            let (x, w) = (x.clone().require_grad(), w.clone().require_grad());
            let y = conv2d(x.clone(), w.clone(), None, options.clone());
            let grads = y.mul(g.clone()).sum().backward();
            (x.grad(&grads), w.grad(&grads))
        });
        println!(
            "{{\"layer\": \"{name}\", \"batch\": {batch}, \"forward\": {forward:.5}, \"forward_backward\": {backward:.5}}}"
        );
    }
}
