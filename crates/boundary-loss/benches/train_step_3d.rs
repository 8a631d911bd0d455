//! 3-D training-step benchmark: forward + backward + Adam of the faithful UNet3D (1 modality,
//! 2 classes) on patches (B=2, 64^3 by default) on the CPU backend, with the paper's loss over
//! the extra axis (generalized Dice + 0.01 x boundary loss). Prints one JSON line with steps/s;
//! `benches/compare_torch_3d.py` runs the same step in PyTorch in the same session.
//!
//! Usage: cargo bench -p boundary-loss --bench train_step_3d -- [--steps N] [--batch B]
//! [--side S] [--base G]. Threads: RAYON_NUM_THREADS.

use std::time::Instant;

use boundary_loss::losses::{BoundaryLoss, GeneralizedDice};
use boundary_loss::nets::{Architecture, Network, TrainableParams};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Distribution, Int, Tensor};

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn one_step(
    net: Network,
    optimizer: &mut burn::optim::ModuleOptimizer,
    (images, target, maps): (&Tensor<5>, &Tensor<5>, &Tensor<5>),
) -> (Network, f32) {
    let probs = softmax(net.forward_3d(images.clone()).expect("valid input"), 1);
    let mut regional = GeneralizedDice::new(vec![0, 1]);
    regional.checks = false;
    let mut boundary = BoundaryLoss::new(vec![1]);
    boundary.checks = false;
    let loss = regional
        .forward(probs.clone(), target.clone())
        .unwrap()
        .add(
            boundary
                .forward(probs, maps.clone())
                .unwrap()
                .mul_scalar(0.01),
        );
    let value = loss.clone().into_scalar::<f32>();
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    (optimizer.step(1e-3, net, grads), value)
}

fn main() {
    let steps = argument("--steps", 2);
    let batch = argument("--batch", 2);
    let side = argument("--side", 64);
    let base = argument("--base", 64);
    let device = Device::flex().autodiff();
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
    let (warmed, _) = one_step(net, &mut optimizer, (&images, &target, &maps));
    net = warmed;
    let warmup = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut last = 0.0;
    for _ in 0..steps {
        let (next, loss) = one_step(net, &mut optimizer, (&images, &target, &maps));
        net = next;
        last = loss;
    }
    let seconds = started.elapsed().as_secs_f64() / steps as f64;
    println!(
        "{{\"framework\": \"burn-0.22.1-flex\", \"network\": \"UNet3D\", \"parameters\": {parameters}, \"batch\": {batch}, \"side\": {side}, \"base\": {base}, \"steps\": {steps}, \"seconds_per_step\": {seconds:.4}, \"steps_per_second\": {:.5}, \"first_step_seconds\": {warmup:.3}, \"last_loss\": {last}}}",
        1.0 / seconds
    );
}
