//! The kernels alone on the layers of `boundary-loss/benches/conv_layers.rs` (same shapes):
//! seconds per call of forward, input gradient and weight gradient, and GFLOP/s.
//!
//! Usage: cargo bench -p cpu-conv --bench kernels -- [--reps N] [--batch B]
//! Threads: RAYON_NUM_THREADS.

use cpu_conv::Conv2d;

mod kernel_report;
mod layers;
use kernel_report::{operands, report};
use layers::{argument, time, LAYERS};

fn main() {
    let reps = argument("--reps", 3);
    let batch = argument("--batch", 8);
    for (name, c_in, c_out, side, kernel, stride, padding, dilation) in LAYERS {
        let conv = Conv2d {
            batch,
            channels_in: c_in,
            channels_out: c_out,
            groups: 1,
            input: [side, side],
            kernel,
            stride: [stride; 2],
            padding_begin: padding,
            padding_end: padding,
            dilation: [dilation; 2],
        }
        .validated()
        .expect("valid layer");
        let (x, w, g) = operands(conv.input_len(), conv.weight_len(), conv.output_len());
        let mut out = vec![0f32; conv.output_len()];
        let mut dx = vec![0f32; conv.input_len()];
        let mut dw = vec![0f32; conv.weight_len()];
        let forward = time(reps, || conv.forward(&x, &w, None, &mut out));
        let input_grad = time(reps, || conv.input_grad(&w, &g, &mut dx));
        let weight_grad = time(reps, || conv.weight_grad(&x, &g, &mut dw));
        let flops = 2.0 * (conv.output_len() * conv.weight_len() / c_out) as f64;
        report(name, batch, flops, [forward, input_grad, weight_grad]);
    }
}
