//! `boundary-loss demo`: the built-in default. It generates a small, highly unbalanced synthetic
//! data set in the original layout, trains the generalized Dice loss alone and GDL + boundary
//! loss (the paper's rebalancing) on it, and ends with a comparison table.

use std::path::PathBuf;

use anyhow::Context;
use boundary_loss::data::synthetic::{self, generate, SyntheticSpec, PATIENT_REGEX};

use boundary_loss::nets::Architecture;
use boundary_loss::train::{train, LossKind, LossTerm, RunConfig, Schedule, TrainOptions};

use crate::console::Console;
use clap::Args;
use volume_io::write_text_atomically;

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Folder for the generated data set and the two run folders.
    #[arg(long, default_value = "boundary-loss-demo")]
    pub out: PathBuf,
    /// Epochs of each run.
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// UNet base width (the original uses 64; 16 keeps the demo to minutes on 2 CPU cores).
    #[arg(long, default_value_t = 16)]
    pub base: usize,
    /// Seed of the data and of the runs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The demo's run file, with the given loss terms and schedule.
fn run_config(
    args: &DemoArgs,
    dataset: &std::path::Path,
    losses: Vec<LossTerm>,
    schedule: Schedule,
) -> RunConfig {
    RunConfig {
        dataset: dataset.to_path_buf(),
        streams: synthetic::streams(),
        network: Architecture::UNet,
        network_base: Some(args.base),
        modalities: 2,
        classes: 2,
        losses,
        schedule,
        learning_rate: 1e-3,
        epochs: args.epochs,
        batch_size: 8,
        metric_classes: vec![1],
        patient_regex: PATIENT_REGEX.into(),
        seed: args.seed,
        in_memory: true,
        ..RunConfig::default()
    }
}

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    anyhow::ensure!(
        args.epochs > 0 && args.base > 0,
        "--epochs and --base must be at least 1"
    );
    let data = args.out.join("data");
    let spec = SyntheticSpec {
        seed: args.seed,
        ..SyntheticSpec::default()
    };
    let foreground =
        generate(&data, &spec).with_context(|| format!("generating {}", data.display()))?;
    println!(
        "synthetic data set: {} training and {} validation patients x {} slices of {}x{}, {} modalities, {:.2}% lesion pixels -> {}",
        spec.train_patients,
        spec.val_patients,
        spec.slices_per_patient,
        spec.side,
        spec.side,
        spec.modalities,
        foreground * 100.0,
        data.display()
    );
    // Absolute, so that the run files written next to the data work from any folder.
    let dataset = std::fs::canonicalize(&data).with_context(|| data.display().to_string())?;
    let gdl = LossTerm::new(LossKind::GeneralizedDice, vec![0, 1], 1.0, 1);
    let boundary = LossTerm::new(LossKind::Boundary, vec![1], 0.0, 2);
    // The paper lowers alpha by 0.01 over 200+ epochs; a short demo needs a faster pace.
    let step = (0.6 / args.epochs as f64).clamp(0.01, 0.05);
    let runs = [
        (
            "gdl",
            run_config(args, &dataset, vec![gdl.clone()], Schedule::None),
        ),
        (
            "gdl_boundary_rebalance",
            run_config(
                args,
                &dataset,
                vec![gdl, boundary],
                Schedule::Rebalance { step },
            ),
        ),
    ];
    let mut rows = Vec::new();
    for (name, config) in &runs {
        let dir = args.out.join("runs").join(name);
        let run_file = args.out.join(format!("{name}.toml"));
        let text = config.to_toml();
        write_text_atomically(&run_file, &text)?;
        println!("\n== {name} ({}) ==", run_file.display());
        // The demo owns its folder: a second demo replaces its runs.
        let options = TrainOptions {
            force: true,
            ..TrainOptions::default()
        };
        let summary = train(config, &dir, &options, &mut Console::new(true))
            .with_context(|| format!("training {name}"))?;
        rows.push((name, summary));
    }
    println!("\nvalidation, lesion class, at each run's best epoch (by 2-D Dice):");
    println!("| run | best epoch | 2-D Dice | 3-D Dice | 3-D HD95 (mm) |\n|---|---|---|---|---|");
    for (name, s) in &rows {
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.2} |",
            s.best_epoch, s.best_val_dice, s.best_val_3d_dsc[1], s.best_val_3d_hd95[1]
        );
    }
    println!("\nrun folders: {}", args.out.join("runs").display());
    Ok(())
}
