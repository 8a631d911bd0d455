//! 3-D training-step benchmark: forward + backward + Adam of the faithful UNet3D (1 modality,
//! 2 classes) on patches (B=2, 64^3 by default) on the CPU backend, with the paper's loss over
//! the extra axis (generalized Dice + 0.01 x boundary loss). Prints one JSON line with steps/s;
//! `benches/compare_torch_3d.py` runs the same step in PyTorch in the same session.
//!
//! Usage: cargo bench --workspace --bench train_step_3d -- [--steps N] [--batch B]
//! [--side S] [--base G]. Threads: RAYON_NUM_THREADS.

use std::time::Instant;

use boundary_loss::nets::{Architecture, BuildNetwork, TrainableParams};
use burn::optim::AdamConfig;
use burn::tensor::{Device, Distribution, Int, Tensor};

mod common;
use common::{argument, train_step};

fn main() {
    // As the CLI runs (boundary_loss::memory).
    boundary_loss::memory::keep_freed_memory();
    let steps = argument("--steps", 2);
    let batch = argument("--batch", 2);
    let side = argument("--side", 64);
    let base = argument("--base", 64);
    let device = Device::flex().autodiff();
    // The weights and the inputs from a fixed seed: two runs compute the same step (`last_loss`).
    device.seed(0);
    let forward = |net: &boundary_loss::nets::Network, x| net.forward_3d(x).expect("valid input");
    let mut net = Architecture::UNet3D
        .build_with_base(1, 2, Some(base), &device)
        .unwrap();
    let parameters = net.trainable_params();
    let mut optimizer = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.99).init();
    let shape = [batch, 1, side, side, side];
    let images = Tensor::<5>::random(shape, Distribution::Default, &device);
    let labels = Tensor::<4, Int>::random(
        [batch, side, side, side],
        Distribution::Uniform(0.0, 2.0),
        &device,
    );
    let target: Tensor<5> = labels.one_hot::<5>(2).float().permute([0, 4, 1, 2, 3]);
    let maps = Tensor::<5>::random(
        [batch, 2, side, side, side],
        Distribution::Normal(0.0, 10.0),
        &device,
    );
    let started = Instant::now();
    let (warmed, _) = train_step(net, &mut optimizer, forward, (&images, &target, &maps), 2);
    net = warmed;
    let warmup = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut last = 0.0;
    for _ in 0..steps {
        let (next, loss) = train_step(net, &mut optimizer, forward, (&images, &target, &maps), 2);
        net = next;
        last = loss;
    }
    let seconds = started.elapsed().as_secs_f64() / steps as f64;
    println!(
        "{{\"framework\": \"burn-0.22.1-flex\", \"network\": \"UNet3D\", \"parameters\": {parameters}, \"batch\": {batch}, \"side\": {side}, \"base\": {base}, \"steps\": {steps}, \"seconds_per_step\": {seconds:.4}, \"steps_per_second\": {:.5}, \"first_step_seconds\": {warmup:.3}, \"last_loss\": {last}}}",
        1.0 / seconds
    );
}
