//! Running an experiment's steps outside the calling process: several runs at once on this
//! machine ([`local`], `--executor local --jobs N`) or as Slurm jobs ([`slurm`],
//! `--executor slurm`). Both start the same command for a group of steps,
//! `boundary-loss experiment RECIPE --step NAME ...` ([`StepCommand`]), so a step does exactly
//! what it does in the sequential runner: same markers, same skipping, same resuming, same files.

pub mod local;
pub mod slurm;

use std::path::PathBuf;

/// The command that runs named steps of this experiment in a new process.
#[derive(Debug, Clone)]
pub struct StepCommand {
    /// The `boundary-loss` executable.
    pub program: PathBuf,
    /// The recipe, absolute.
    pub recipe: PathBuf,
    /// Options that choose the experiment's steps and outputs (`--debug`, `--only T`,
    /// `--force`), passed to every job.
    pub options: Vec<String>,
}

impl StepCommand {
    /// The arguments (after the program) that run `steps` with `threads` worker threads.
    pub fn arguments(&self, steps: &[&str], threads: Option<&str>) -> Vec<String> {
        let mut args = vec!["experiment".to_string(), self.recipe.display().to_string()];
        args.extend(self.options.iter().cloned());
        for step in steps {
            args.push("--step".into());
            args.push((*step).to_string());
        }
        if let Some(threads) = threads {
            args.push("--threads".into());
            args.push(threads.to_string());
        }
        args
    }
}

/// A step's file-name form (`train gdl seed 0` -> `train_gdl_seed_0`), as its marker is named.
pub fn file_stem(step: &str) -> String {
    step.replace(' ', "_")
}
