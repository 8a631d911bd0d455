//! `boundary-loss train`: run a training from a TOML run file, with flags for the common fields.

use std::path::PathBuf;

use anyhow::Context;
use boundary_loss::train::{resume, train, RunConfig, TrainOptions};

use crate::console::Console;
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The run file (TOML), e.g. recipes/wmh_gdl.toml.
    #[arg(required_unless_present = "resume")]
    pub run_file: Option<PathBuf>,
    /// Run folder for metrics, predictions and weights.
    #[arg(long, required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the interrupted run in this folder from its last finished epoch (its run.toml
    /// is used; other flags are ignored).
    #[arg(long, conflicts_with_all = ["run_file", "out"])]
    pub resume: Option<PathBuf>,
    /// Override: data set root.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Override: network name.
    #[arg(long)]
    pub network: Option<boundary_loss::nets::Architecture>,
    /// Override: number of epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override: batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override: learning rate.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Override: seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override: device (cpu, wgpu:N, vulkan:N, cuda:N).
    #[arg(long)]
    pub device: Option<boundary_loss::device::DeviceSpec>,
    /// Override: start from these weights (a Burn record such as another run's best.bpk).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Replace the run already in --out (otherwise refused).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Use the first 10 slices of each split (smoke test).
    #[arg(long)]
    pub debug: bool,
    /// Keep slices in memory after their first read.
    #[arg(long)]
    pub in_memory: bool,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

impl TrainArgs {
    /// The run file with the flags applied.
    pub fn resolve(&self, run_file: &std::path::Path) -> anyhow::Result<RunConfig> {
        let mut config = RunConfig::from_file(run_file)?;
        if let Some(v) = &self.dataset {
            // Absolute, as the run file's own paths are: the run folder's copy of the run file
            // is read from another folder (resume, predict).
            config.data.dataset = std::fs::canonicalize(v)
                .or_else(|_| std::path::absolute(v))
                .unwrap_or_else(|_| v.clone());
        }
        if let Some(v) = self.network {
            // A base width belongs to the run file's UNet: another network drops it.
            if v != config.network.architecture && config.network.base.is_some() {
                config.network.base = None;
            }
            config.network.architecture = v;
        }
        if let Some(v) = self.epochs {
            config.schedule.epochs = v;
        }
        if let Some(v) = self.batch_size {
            config.data.batch_size = v;
        }
        if let Some(v) = self.learning_rate {
            config.optimiser.learning_rate = v;
        }
        if let Some(v) = self.seed {
            config.run.seed = v;
        }
        if let Some(v) = self.device {
            config.run.device = v;
        }
        if let Some(v) = &self.weights {
            config.run.weights = Some(std::fs::canonicalize(v).unwrap_or_else(|_| v.clone()));
        }
        config.data.debug |= self.debug;
        config.data.in_memory |= self.in_memory;
        Ok(config)
    }
}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let mut console = Console::new(true);
    let options = TrainOptions {
        stop_after: None,
        force: args.force,
    };
    let summary = match (&args.resume, &args.run_file, &args.out) {
        (Some(dir), _, _) => resume(dir, &options, &mut console)
            .with_context(|| format!("resuming {}", dir.display()))?,
        (None, Some(run_file), Some(out)) => {
            // `train` validates the run file with the flags applied.
            let config = args.resolve(run_file)?;
            train(&config, out, &options, &mut console)
                .with_context(|| format!("training {}", run_file.display()))?
        }
        _ => anyhow::bail!("give a run file and --out, or --resume RUN_DIR"),
    };
    println!(
        "best epoch {} (val dice {:.4}); run folder {}",
        summary.best_epoch,
        summary.best_val_dice,
        summary.run_dir.display()
    );
    Ok(())
}
