//! Batch normalisation on the activations of ENet and UNet (B=8): seconds per training-mode
//! forward pass (statistics + output) and per backward pass, and the memory bandwidth they
//! reach (bytes read and written once per pass). `crates/boundary-loss/benches/train_step.rs`
//! measures them inside a training step, against PyTorch.
//!
//! Usage: cargo bench -p cpu-norm --bench batch_norm -- [--reps N]
//! Threads: RAYON_NUM_THREADS.

use cpu_norm::BatchNorm;

// The argument helper and timing loop of the kernel benches (the layer list is not used here).
#[allow(dead_code)]
#[path = "../../cpu-conv/benches/layers.rs"]
mod layers;
use layers::{argument, time};

/// Activations `[batch, channels, side, side]` that batch norms see in the two networks.
const SHAPES: [(&str, [usize; 4]); 4] = [
    ("ENet initial", [8, 16, 128, 128]),
    ("ENet stage 2", [8, 64, 64, 64]),
    ("ENet stage 3", [8, 128, 32, 32]),
    ("UNet level 1", [8, 64, 256, 256]),
];

fn main() {
    let reps = argument("--reps", 10);
    for (name, shape) in SHAPES {
        let norm = BatchNorm::from_shape(&shape).expect("valid shape");
        let x: Vec<f32> = (0..norm.len()).map(|i| (i % 977) as f32 * 1e-3).collect();
        let dy: Vec<f32> = (0..norm.len()).map(|i| (i % 131) as f32 * 1e-2).collect();
        let gamma = vec![1.0f32; norm.channels];
        let beta = vec![0.0f32; norm.channels];
        let (_, statistics) = norm.train(&x, &gamma, &beta, 1e-5).unwrap();
        let forward = time(reps, || norm.train(&x, &gamma, &beta, 1e-5).unwrap());
        let backward = time(reps, || {
            norm.backward(&x, &gamma, &statistics, 1e-5, &dy).unwrap()
        });
        let bytes = (norm.len() * 4) as f64;
        // Forward: x read twice, y written; backward: x and dy read twice, dx written.
        println!(
            "{{\"shape\": \"{name} {shape:?}\", \"forward_ms\": {:.3}, \"forward_gb_s\": {:.2}, \"backward_ms\": {:.3}, \"backward_gb_s\": {:.2}}}",
            forward * 1e3,
            3.0 * bytes / forward / 1e9,
            backward * 1e3,
            5.0 * bytes / backward / 1e9,
        );
    }
}
