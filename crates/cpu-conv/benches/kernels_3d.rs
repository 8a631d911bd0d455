//! The 3-D kernels alone on the convolutions of the faithful UNet3D at base G (default 8, the
//! shipped recipe's width) on a cube of side S (default 32), batch B (default 2): seconds per call
//! of forward, input gradient and weight gradient, and GFLOP/s, so that a change to one kernel
//! can be measured without a whole training step (`boundary-loss`'s `train_step_3d`).
//!
//! Usage: cargo bench --workspace --bench kernels_3d -- [--reps N] [--batch B] [--side S] [--base G]
//! Threads: RAYON_NUM_THREADS.

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
        let conv = Conv3d {
            batch,
            channels_in: c_in,
            channels_out: c_out,
            groups: 1,
            input: [side; 3],
            kernel: [3; 3],
            stride: [stride; 3],
            padding_begin: [1; 3],
            padding_end: [1; 3],
            dilation: [1; 3],
        }
        .validated()
        .expect("valid layer");
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
