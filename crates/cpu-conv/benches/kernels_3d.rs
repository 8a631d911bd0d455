//! The 3-D kernels alone on the convolutions of the faithful UNet3D at base G (default 8, the
//! shipped recipe's width) on a cube of side S (default 32), batch B (default 2): seconds per call
//! of forward, input gradient and weight gradient, and GFLOP/s, so that a change to one kernel
//! can be measured without a whole training step (`boundary-loss`'s `train_step_3d`).
//!
//! Usage: cargo bench --workspace --bench kernels_3d -- [--reps N] [--batch B] [--side S] [--base G]
//! [--decoder 1]. Threads: RAYON_NUM_THREADS. With `--decoder 1`: UNet3D's upsampling
//! convolutions, plain against transposed (`--batch 8` is validation's window batch).

use cpu_conv::Conv3d;

mod kernel_report;
// The 2-D layer list is not used here, only the timing and arguments.
#[allow(dead_code)]
mod layers;
use kernel_report::{operands, report};
use layers::{argument, time};

fn main() {
    let reps = argument("--reps", 5);
    let batch = argument("--batch", 2);
    let side = argument("--side", 32);
    let g = argument("--base", 8);
    if argument("--decoder", 0) == 1 {
        decoder(reps, batch, g);
        return;
    }
    // (name, C_in, C_out, input side, stride): UNet3D's 3x3x3 convolutions, padding 1.
    let layers = [
        ("conv0a", 1, g, side, 1),
        ("conv0b", g, g, side, 1),
        ("conv1a_s2", g, 2 * g, side, 2),
        ("conv1b", 2 * g, 2 * g, side / 2, 1),
        ("conv2b", 4 * g, 4 * g, side / 4, 1),
        ("bridge", 8 * g, 8 * g, side / 8, 1),
        ("conv6a", 6 * g, 2 * g, side / 2, 1),
        ("conv7a", 3 * g, g, side, 1),
    ];
    let (mut total_forward, mut total_input, mut total_weight) = (0.0, 0.0, 0.0);
    for (name, c_in, c_out, side, stride) in layers {
        let conv = padded(batch, [c_in, c_out], [side; 3], 3, stride);
        let (x, w, g) = operands(conv.input_len(), conv.weight_len(), conv.output_len());
        let mut dw = vec![0f32; conv.weight_len()];
        let forward = time(reps, || conv.forward_new(&x, &w, None));
        let input_grad = time(reps, || conv.input_grad_new(&w, &g));
        let weight_grad = time(reps, || conv.weight_grad(&x, &g, &mut dw));
        total_forward += forward;
        total_input += input_grad;
        total_weight += weight_grad;
        let flops = 2.0 * (conv.output_len() * conv.weight_len() / c_out) as f64;
        report(name, batch, flops, [forward, input_grad, weight_grad]);
    }
    println!(
        "{{\"layer\": \"total\", \"forward\": {total_forward:.5}, \"input_grad\": {total_input:.5}, \"weight_grad\": {total_weight:.5}}}"
    );
}

/// A 3-D convolution with cubic `kernel`, `stride` and padding 1 on every axis.
fn padded(
    batch: usize,
    [c_in, c_out]: [usize; 2],
    input: [usize; 3],
    kernel: usize,
    stride: usize,
) -> Conv3d {
    Conv3d {
        batch,
        channels_in: c_in,
        channels_out: c_out,
        groups: 1,
        input,
        kernel: [kernel; 3],
        stride: [stride; 3],
        padding_begin: [1; 3],
        padding_end: [1; 3],
        dilation: [1; 3],
    }
    .validated()
    .expect("valid layer")
}

/// UNet3D's decoder at base `g` on the shipped recipe's windows of 32 x 32 x 16: each
/// upSampleConv's first convolution on the upsampled volume (the plain path) against the
/// transposed convolution of the low-resolution input that replaces it in inference (the input
/// gradient of a stride-2 convolution with 4-wide kernels), seconds per call.
fn decoder(reps: usize, batch: usize, g: usize) {
    for (name, c, input) in [
        ("deconv3", 2 * g, [32, 32, 16]),
        ("deconv2", 4 * g, [16, 16, 8]),
        ("deconv1", 8 * g, [8, 8, 4]),
    ] {
        let plain = padded(batch, [c, c], input, 3, 1);
        let transposed = padded(batch, [c, c], input, 4, 2);
        let (x, w, _) = operands(plain.input_len(), plain.weight_len(), plain.output_len());
        let upsampled = time(reps, || plain.forward_new(&x, &w, None));
        let (_, w, g) = operands(
            transposed.input_len(),
            transposed.weight_len(),
            transposed.output_len(),
        );
        let by_transposition = time(reps, || transposed.input_grad_new(&w, &g));
        println!(
            "{{\"layer\": \"{name}\", \"batch\": {batch}, \"upsampled\": {upsampled:.5}, \"transposed\": {by_transposition:.5}}}"
        );
    }
}
