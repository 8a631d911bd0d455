//! `boundary-loss experiment RECIPE.toml`: a whole study in one command (the original's make
//! files): data, every target over the seeds, metrics, plots, report, archive; in this process,
//! as several processes at once (`--jobs`), or as Slurm jobs (`--executor slurm`).

use std::path::PathBuf;

use anyhow::Context;
use boundary_loss::train::Observer;
use clap::{Args, ValueEnum};
use experiment::executor::local::{run_local, LocalJobs};
use experiment::executor::slurm::{self, SlurmOptions};
use experiment::executor::StepCommand;
use experiment::{Experiment, ExperimentOptions, LoadedRecipe, PlannedStep, Progress};

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
    /// Train every target on this device (cpu, cuda:0, wgpu:0, ...) instead of its run file's.
    #[arg(long)]
    pub device: Option<boundary_loss::device::DeviceSpec>,
    /// Worker threads [default: all cores]; with --jobs, shared among the jobs.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where the steps run: here (local) or as Slurm jobs (slurm).
    #[arg(long, value_enum, default_value = "local")]
    pub executor: Executor,
    /// Local: runs (training and metrics of a target and seed) at once, each in its own
    /// process with its share of the threads.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Each step as done, queued, running or failed, with its Slurm job id; runs nothing.
    #[arg(long)]
    pub status: bool,
    /// Run only these steps (as --dry-run names them), each if it is not done: what every job
    /// of an executor runs.
    #[arg(long = "step", value_name = "NAME")]
    pub steps: Vec<String>,
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

/// Where an experiment's steps run.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    Local,
    Slurm,
}

/// `sbatch` options of every job (--executor slurm).
#[derive(Args, Debug, Clone)]
pub struct SlurmArgs {
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm account.
    #[arg(long)]
    pub account: Option<String>,
    /// Time limit of each job (e.g. 2-00:00:00); a training job that hits it resumes when
    /// the experiment is submitted again.
    #[arg(long)]
    pub time: Option<String>,
    /// GPUs of each training job (--gres=gpu:N).
    #[arg(long)]
    pub gpus_per_job: Option<usize>,
    /// CPUs of each job (also its worker threads).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_job: usize,
    /// Memory of each job (e.g. 16G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Any other sbatch option, written into every script (repeatable), e.g.
    /// --sbatch-arg=--qos=long.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
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
            device: args.device,
        },
    )?;
    if args.status {
        return print_status(args, &experiment);
    }
    if !args.steps.is_empty() {
        experiment.run_named(&args.steps, &mut Terminal::new())?;
        return Ok(());
    }
    anyhow::ensure!(args.jobs >= 1, "--jobs must be at least 1");
    let plan = match args.executor {
        Executor::Slurm => return submit_to_slurm(args, &experiment),
        Executor::Local if args.jobs > 1 && !args.dry_run => run_local(
            &experiment,
            LocalJobs::new(args.jobs, args.threads),
            &step_command(args, &experiment)?,
            &mut Terminal::new(),
        )?,
        Executor::Local => experiment.run(&mut Terminal::new())?,
    };
    print_plan(args, &experiment, &plan);
    Ok(())
}

fn print_plan(args: &ExperimentArgs, experiment: &Experiment, plan: &[PlannedStep]) {
    if args.dry_run {
        for step in plan {
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
}

/// This executable running steps of the same experiment (same recipe, same --debug, --only and
/// --force).
fn step_command(args: &ExperimentArgs, experiment: &Experiment) -> anyhow::Result<StepCommand> {
    let program = std::env::current_exe().context("cannot find this executable's path")?;
    let recipe = std::fs::canonicalize(experiment.recipe_path())
        .with_context(|| experiment.recipe_path().display().to_string())?;
    let mut options = Vec::new();
    if args.debug {
        options.push("--debug".to_string());
    }
    if let Some(only) = &args.only {
        options.extend(["--only".to_string(), only.clone()]);
    }
    if args.force {
        options.push("--force".to_string());
    }
    if let Some(device) = &args.device {
        options.extend(["--device".to_string(), device.to_string()]);
    }
    Ok(StepCommand {
        program,
        recipe,
        options,
    })
}

fn print_status(args: &ExperimentArgs, experiment: &Experiment) -> anyhow::Result<()> {
    let states = match args.executor {
        Executor::Slurm => slurm::status(experiment)?,
        Executor::Local => experiment
            .plan()
            .into_iter()
            .map(|p| {
                let state = if p.runs {
                    slurm::StepState::NotSubmitted
                } else {
                    slurm::StepState::Done
                };
                (p.name, state)
            })
            .collect(),
    };
    let width = states.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, state) in &states {
        let state = match (args.executor, state) {
            (Executor::Local, slurm::StepState::NotSubmitted) => "not done".to_string(),
            (_, state) => state.to_string(),
        };
        println!("{name:<width$}  {state}");
    }
    let done = states
        .iter()
        .filter(|(_, s)| *s == slurm::StepState::Done)
        .count();
    println!(
        "{done} of {} steps done; output folder: {}",
        states.len(),
        experiment.out().display()
    );
    Ok(())
}

fn submit_to_slurm(args: &ExperimentArgs, experiment: &Experiment) -> anyhow::Result<()> {
    let options = SlurmOptions {
        partition: args.slurm.partition.clone(),
        account: args.slurm.account.clone(),
        time: args.slurm.time.clone(),
        gpus_per_job: args.slurm.gpus_per_job,
        cpus_per_job: args.slurm.cpus_per_job,
        mem: args.slurm.mem.clone(),
        sbatch_args: args.slurm.sbatch_args.clone(),
    };
    anyhow::ensure!(
        options.cpus_per_job >= 1,
        "--cpus-per-job must be at least 1"
    );
    let command = step_command(args, experiment)?;
    let submission = slurm::submit(experiment, &options, &command, args.dry_run)?;
    if args.dry_run {
        for script in &submission.scripts {
            println!("==> {} <==", script.display());
            print!("{}", std::fs::read_to_string(script).unwrap_or_default());
        }
        println!("array tasks (runs.txt):");
        for task in slurm::array_tasks(experiment) {
            println!("  {task}");
        }
        println!("submission order (nothing submitted):");
    } else {
        println!("submitted:");
    }
    for command in &submission.commands {
        println!("  {command}");
    }
    for (step, state) in &submission.in_queue {
        println!("left alone: {step}: {state}");
    }
    println!(
        "{} steps done, {} submitted jobs; `experiment {} --executor slurm --status` shows where they stand",
        submission.done,
        submission.commands.len(),
        args.recipe.display()
    );
    Ok(())
}
