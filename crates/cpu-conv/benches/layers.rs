//! What the kernel benchmarks share: their command-line arguments, the timing loop and the
//! convolution layers of the paper's networks. `cpu-conv`'s `kernels` bench, `cpu-norm`'s
//! `batch_norm` bench and `boundary-loss`'s `conv_layers` and training-step benches include this
//! file; `benches/compare_conv.py` lists the same layers.

/// Seconds per call of `call`, averaged over `reps` calls after one warm-up call (results are
/// dropped inside the timed loop, as a caller would).
pub fn time<T>(reps: usize, mut call: impl FnMut() -> T) -> f64 {
    drop(call());
    let started = std::time::Instant::now();
    for _ in 0..reps {
        drop(call());
    }
    started.elapsed().as_secs_f64() / reps as f64
}

/// `--name N` from the command line, else `default`.
pub fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (name, C_in, C_out, side, kernel [h, w], stride, padding [h, w], dilation)
pub type Layer = (
    &'static str,
    usize,
    usize,
    usize,
    [usize; 2],
    usize,
    [usize; 2],
    usize,
);

pub const LAYERS: [Layer; 8] = [
    ("unet_64_64_256", 64, 64, 256, [3, 3], 1, [1, 1], 1),
    ("unet_128_128_128", 128, 128, 128, [3, 3], 1, [1, 1], 1),
    ("unet_256_256_64", 256, 256, 64, [3, 3], 1, [1, 1], 1),
    ("unet_64_128_s2", 64, 128, 256, [3, 3], 2, [1, 1], 1),
    ("enet_16_16_128", 16, 16, 128, [3, 3], 1, [1, 1], 1),
    ("enet_32_32_64_d2", 32, 32, 64, [3, 3], 1, [2, 2], 2),
    ("enet_32_32_64_1x5", 32, 32, 64, [1, 5], 1, [0, 2], 1),
    ("enet_128_32_64_1x1", 128, 32, 64, [1, 1], 1, [0, 0], 1),
];
