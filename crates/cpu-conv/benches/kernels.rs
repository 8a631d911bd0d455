//! The kernels alone on the layers of `boundary-loss/benches/conv_layers.rs` (same shapes):
//! seconds per call of forward, input gradient and weight gradient, and GFLOP/s.
//!
//! Usage: cargo bench -p cpu-conv --bench kernels -- [--reps N] [--batch B]
//! Threads: RAYON_NUM_THREADS.

use std::time::Instant;

use cpu_conv::Conv2d;

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Layer = (
    &'static str,
    usize,
    usize,
    usize,
    [usize; 2],
    usize,
    [usize; 2],
    usize,
);

const LAYERS: [Layer; 8] = [
    ("unet_64_64_256", 64, 64, 256, [3, 3], 1, [1, 1], 1),
    ("unet_128_128_128", 128, 128, 128, [3, 3], 1, [1, 1], 1),
    ("unet_256_256_64", 256, 256, 64, [3, 3], 1, [1, 1], 1),
    ("unet_64_128_s2", 64, 128, 256, [3, 3], 2, [1, 1], 1),
    ("enet_16_16_128", 16, 16, 128, [3, 3], 1, [1, 1], 1),
    ("enet_32_32_64_d2", 32, 32, 64, [3, 3], 1, [2, 2], 2),
    ("enet_32_32_64_1x5", 32, 32, 64, [1, 5], 1, [0, 2], 1),
    ("enet_128_32_64_1x1", 128, 32, 64, [1, 1], 1, [0, 0], 1),
];

fn time(reps: usize, mut call: impl FnMut()) -> f64 {
    call();
    let started = Instant::now();
    for _ in 0..reps {
        call();
    }
    started.elapsed().as_secs_f64() / reps as f64
}

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
        let x: Vec<f32> = (0..conv.input_len())
            .map(|i| (i % 97) as f32 / 97.0)
            .collect();
        let w: Vec<f32> = (0..conv.weight_len())
            .map(|i| (i % 89) as f32 / 89.0)
            .collect();
        let g: Vec<f32> = (0..conv.output_len())
            .map(|i| (i % 83) as f32 / 83.0)
            .collect();
        let mut out = vec![0f32; conv.output_len()];
        let mut dx = vec![0f32; conv.input_len()];
        let mut dw = vec![0f32; conv.weight_len()];
        let forward = time(reps, || conv.forward(&x, &w, None, &mut out));
        let input_grad = time(reps, || conv.input_grad(&w, &g, &mut dx));
        let weight_grad = time(reps, || conv.weight_grad(&x, &g, &mut dw));
        let flops = 2.0 * (conv.output_len() * conv.weight_len() / c_out) as f64;
        println!(
            "{{\"layer\": \"{name}\", \"batch\": {batch}, \"forward\": {forward:.5}, \"input_grad\": {input_grad:.5}, \"weight_grad\": {weight_grad:.5}, \"gflops\": [{:.1}, {:.1}, {:.1}]}}",
            flops / forward / 1e9,
            flops / input_grad / 1e9,
            flops / weight_grad / 1e9
        );
    }
}
