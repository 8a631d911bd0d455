//! `boundary-loss network`: build one of the original's networks and print its blocks and
//! trainable parameter count (the last line is always `parameters: N`).

use anyhow::Context;
use boundary_loss::nets::{Architecture, TrainableParams};
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct NetworkArgs {
    /// Dimwit (alias Dummy), Dimwit3D (Dummy3D), UNet, UNet3D, ENet or ResidualUNet.
    pub name: String,
    /// Input channels.
    #[arg(long, default_value_t = 1)]
    pub modalities: usize,
    /// Output classes K.
    #[arg(long, default_value_t = 2)]
    pub classes: usize,
    /// Device to build on: cpu, wgpu:N, vulkan:N or cuda:N (those compiled in).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

pub fn run(args: &NetworkArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.modalities > 0, "--modalities must be at least 1");
    anyhow::ensure!(args.classes > 0, "--classes must be at least 1");
    let architecture = Architecture::parse(&args.name)?;
    let device = boundary_loss::device::parse(&args.device)?;
    let net = architecture
        .build(args.modalities, args.classes, &device)
        .with_context(|| format!("cannot build {}", args.name))?;
    let axes = if architecture.spatial_rank() == 3 {
        "D, H, W"
    } else {
        "H, W"
    };
    println!(
        "{}({} modalities, {} classes): input (B, {}, {axes}), sides multiples of {}; output logits (B, {}, {axes})",
        architecture.name(),
        args.modalities,
        args.classes,
        args.modalities,
        architecture.side_multiple(),
        args.classes,
    );
    println!("{:<44} {:>12}", "block", "parameters");
    for (block, count) in net.blocks() {
        println!("{block:<44} {count:>12}");
    }
    println!("parameters: {}", net.trainable_params());
    Ok(())
}
