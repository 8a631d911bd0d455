//! Training-step benchmark: forward + backward + Adam for the faithful UNet (B=8, 5x256x256,
//! 2 classes) and ENet (B=8, 1x256x256, 4 classes) on the CPU backend, with the paper's loss
//! (generalized Dice + boundary loss), and the forward pass alone in inference mode (no autodiff,
//! batch-norm running statistics, no dropout). Prints one JSON line per network with steps/s.
//! `benches/compare_torch.py` runs the same step in PyTorch in the same session.
//!
//! Usage: cargo bench --workspace --bench train_step -- [--steps N] [--batch B] [--side S]
//! [--only UNet|ENet] [--device cpu|cuda:N|wgpu:N|vulkan:N]
//! Threads: RAYON_NUM_THREADS (the script sets 2). A GPU device needs the backend's feature
//! (`--features cuda`, `wgpu`, `vulkan`); `benches/gpu_check.sh` runs them all against PyTorch.

use std::time::Instant;

use boundary_loss::device::{DeviceSpec, ToDevice};
use boundary_loss::nets::{Architecture, BuildNetwork};
use burn::optim::AdamConfig;
use burn::tensor::{Device, Distribution, Int, Tensor};

mod common;
use common::{argument, train_step};

fn main() {
    // As the CLI runs (boundary_loss::memory).
    boundary_loss::memory::keep_freed_memory();
    let steps = argument("--steps", 3);
    let batch = argument("--batch", 8);
    let side = argument("--side", 256);
    let spec: DeviceSpec = std::env::args()
        .skip_while(|a| a != "--device")
        .nth(1)
        .unwrap_or_else(|| "cpu".into())
        .parse()
        .unwrap_or_else(|error| panic!("--device: {error}"));
    let base = spec
        .device()
        .unwrap_or_else(|error| panic!("--device: {error}"));
    let device = base.clone().autodiff();
    let forward = |net: &boundary_loss::nets::Network, x| net.forward_2d(x).expect("valid input");
    for (architecture, modalities, classes) in
        [(Architecture::UNet, 5, 2), (Architecture::ENet, 1, 4)]
    {
        let only = std::env::args().skip_while(|a| a != "--only").nth(1);
        if only.is_some_and(|name| name != architecture.name()) {
            continue;
        }
        // The weights and the inputs from a fixed seed: two runs compute the same steps.
        device.seed(0);
        let mut net = architecture.build(modalities, classes, &device).unwrap();
        let mut optimizer = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.99).init();
        let images = Tensor::<4>::random(
            [batch, modalities, side, side],
            Distribution::Default,
            &device,
        );
        let labels = Tensor::<3, Int>::random(
            [batch, side, side],
            Distribution::Uniform(0.0, classes as f64),
            &device,
        );
        let target: Tensor<4> = labels.one_hot::<4>(classes).float().permute([0, 3, 1, 2]);
        let maps = Tensor::<4>::random(
            [batch, classes, side, side],
            Distribution::Normal(0.0, 10.0),
            &device,
        );
        let started = Instant::now();
        let (warmed, _) = train_step(
            net,
            &mut optimizer,
            forward,
            (&images, &target, &maps),
            classes,
        );
        net = warmed;
        let warmup = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut last = 0.0;
        for _ in 0..steps {
            let (next, loss) = train_step(
                net,
                &mut optimizer,
                forward,
                (&images, &target, &maps),
                classes,
            );
            net = next;
            last = loss;
        }
        let seconds = started.elapsed().as_secs_f64() / steps as f64;
        let inference = inference_seconds(&base, architecture, modalities, classes, &images, steps);
        println!(
            "{{\"framework\": \"burn-0.22.1\", \"device\": \"{spec}\", \"network\": \"{}\", \"batch\": {batch}, \"side\": {side}, \"steps\": {steps}, \"seconds_per_step\": {seconds:.4}, \"steps_per_second\": {:.4}, \"first_step_seconds\": {warmup:.3}, \"last_loss\": {last}, \"inference_seconds\": {inference:.4}}}",
            architecture.name(),
            1.0 / seconds
        );
    }
}

/// Seconds per forward pass of a fresh network in inference mode on `images`' values (one
/// warm-up pass, then `passes`).
fn inference_seconds(
    device: &Device,
    architecture: Architecture,
    modalities: usize,
    classes: usize,
    images: &Tensor<4>,
    passes: usize,
) -> f64 {
    let net = architecture.build(modalities, classes, device).unwrap();
    let images = Tensor::<4>::from_data(images.to_data(), device);
    let forward = || {
        net.forward_2d(images.clone())
            .expect("valid input")
            .into_data()
    };
    drop(forward());
    let started = Instant::now();
    for _ in 0..passes {
        drop(forward());
    }
    started.elapsed().as_secs_f64() / passes as f64
}
