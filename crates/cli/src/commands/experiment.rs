//! `boundary-loss experiment RECIPE.toml`: a whole study in one command (the original's make
//! files): data, every target over the seeds, metrics, plots, report, archive.

use std::path::PathBuf;

use boundary_loss::train::Observer;
use clap::Args;
use experiment::{Experiment, ExperimentOptions, LoadedRecipe, Progress};

use crate::console::Console;

#[derive(Args, Debug, Clone)]
pub struct ExperimentArgs {
    /// The recipe, e.g. recipes/synthetic.toml.
    pub recipe: PathBuf,
    /// List the steps and why each would run; do nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Redo every step (finished results are otherwise never touched).
    #[arg(long)]
    pub force: bool,
    /// Dimwit, 5 epochs, 10 slices per split, into OUT-debug (a smoke test of the recipe).
    #[arg(long)]
    pub debug: bool,
    /// Only the data and this target's training and metrics.
    #[arg(long)]
    pub only: Option<String>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Steps printed as lines, training through the console observer.
pub struct Terminal {
    console: Console,
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl Terminal {
    pub fn new() -> Self {
        Terminal {
            console: Console::new(true),
        }
    }
}

impl Progress for Terminal {
    fn step(&mut self, text: &str) {
        println!("{text}");
    }
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.console
    }
}

pub fn run(args: &ExperimentArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let recipe = LoadedRecipe::from_file(&args.recipe)?;
    let experiment = Experiment::new(
        recipe,
        ExperimentOptions {
            dry_run: args.dry_run,
            force: args.force,
            debug: args.debug,
            only: args.only.clone(),
        },
    )?;
    let plan = experiment.run(&mut Terminal::new())?;
    if args.dry_run {
        for step in &plan {
            println!(
                "{} {}: {}",
                if step.runs { "run " } else { "skip" },
                step.name,
                step.why
            );
        }
        println!("output folder: {}", experiment.out().display());
    } else {
        let ran = plan.iter().filter(|s| s.runs).count();
        println!(
            "{ran} of {} steps run; results in {}",
            plan.len(),
            experiment.out().display()
        );
    }
    Ok(())
}
