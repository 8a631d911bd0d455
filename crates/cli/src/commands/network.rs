//! `boundary-loss network`: build one of the original's networks and print its blocks and
//! trainable parameter count (the last line is always `parameters: N`); with `--input`, run it
//! (in evaluation mode, with `--weights` loaded) on an .npy batch and write its logits, which is
//! how a network is compared with its PyTorch counterpart.

use std::path::PathBuf;

use anyhow::Context;
use boundary_loss::nets::{Architecture, BuildNetwork, Network, TrainableParams};
use boundary_loss::train::run_folder::load_weights;
use clap::Args;
use volume_io::{read_npy_f32, write_npy_atomically};

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
    /// UNet's and UNet3D's base width (the original's nG) [default: 64].
    #[arg(long)]
    pub base: Option<usize>,
    /// Device to build on: cpu, wgpu:N, vulkan:N or cuda:N (those compiled in).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Weights to load: a Burn record (a run's best.bpk) or a PyTorch state_dict with the
    /// original's names (.safetensors, .pt).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// An .npy batch (B, C, H, W) or (B, C, D, H, W) to run the network on.
    #[arg(long, requires = "logits")]
    pub input: Option<PathBuf>,
    /// Where to write the logits of --input, as float32 .npy.
    #[arg(long, requires = "input")]
    pub logits: Option<PathBuf>,
}

pub fn run(args: &NetworkArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.modalities > 0, "--modalities must be at least 1");
    anyhow::ensure!(args.classes > 0, "--classes must be at least 1");
    let architecture = Architecture::parse(&args.name)?;
    let device = boundary_loss::device::parse(&args.device)?;
    let mut net: Network = architecture
        .build_with_base(args.modalities, args.classes, args.base, &device)
        .with_context(|| format!("cannot build {}", args.name))?;
    if let Some(weights) = &args.weights {
        net = load_weights(net, weights)?;
    }
    if let (Some(input), Some(logits)) = (&args.input, &args.logits) {
        let batch = read_npy_f32(input)?;
        let out = net
            .logits_of(batch.view(), &device)
            .map_err(|e| volume_io::FileError::new(input, e))?;
        write_npy_atomically(logits, &out)?;
        println!(
            "{}: logits {:?} of {} on {}",
            logits.display(),
            out.shape(),
            architecture,
            input.display()
        );
        return Ok(());
    }
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
