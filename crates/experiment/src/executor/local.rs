//! `--executor local --jobs N`: the data step in this process, then the (train, metrics) pairs
//! that need to run as up to N processes at once, each with its share of the threads and its
//! log in `OUT/logs/`, then the steps that read every run in this process. Training does not
//! depend on the thread count, so the files equal those of a sequential run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use super::{file_stem, StepCommand};
use crate::runner::{Experiment, PlannedStep, Progress};

/// How many processes at once, and threads each.
#[derive(Debug, Clone, Copy)]
pub struct LocalJobs {
    pub jobs: usize,
    pub threads_per_job: usize,
}

impl LocalJobs {
    /// `jobs` processes sharing `threads` (the machine's cores when `None`), at least one
    /// thread each.
    pub fn new(jobs: usize, threads: Option<usize>) -> Self {
        let total = threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        LocalJobs {
            jobs: jobs.max(1),
            threads_per_job: (total / jobs.max(1)).max(1),
        }
    }
}

struct Running {
    name: String,
    log: PathBuf,
    child: Child,
}

/// Runs `experiment` with `jobs`; returns the plan it started from.
pub fn run_local(
    experiment: &Experiment,
    jobs: LocalJobs,
    command: &StepCommand,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<PlannedStep>> {
    let plan = experiment.plan();
    let layout = experiment.job_layout();
    let runs = |name: &str| plan.iter().any(|p| p.name == name && p.runs);
    experiment.run_named(std::slice::from_ref(&layout.data), progress)?;

    let pending: Vec<&(String, String)> = layout
        .runs
        .iter()
        .filter(|(train, metrics)| runs(train) || runs(metrics))
        .collect();
    let logs = experiment.out().join("logs");
    if !pending.is_empty() {
        std::fs::create_dir_all(&logs).with_context(|| logs.display().to_string())?;
    }
    let threads = jobs.threads_per_job.to_string();
    let mut queue = pending.into_iter();
    let mut running: Vec<Running> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    loop {
        while running.len() < jobs.jobs {
            let Some((train, metrics)) = queue.next() else {
                break;
            };
            let log = logs.join(format!("{}.log", file_stem(train)));
            let child = spawn(command, &[train, metrics], &threads, &log)?;
            progress.step(&format!(
                "started {train} and its metrics ({} threads, log {})",
                jobs.threads_per_job,
                log.display()
            ));
            running.push(Running {
                name: train.clone(),
                log,
                child,
            });
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut index = 0;
        while index < running.len() {
            let status = running[index]
                .child
                .try_wait()
                .with_context(|| format!("waiting for {}", running[index].name))?;
            match status {
                None => index += 1,
                Some(status) => {
                    let done = running.swap_remove(index);
                    if status.success() {
                        progress.step(&format!("finished {}", done.name));
                    } else {
                        let line = format!(
                            "{} failed ({status}); its log: {}",
                            done.name,
                            done.log.display()
                        );
                        progress.step(&line);
                        failures.push(line);
                    }
                }
            }
        }
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{} of the runs failed (the next call resumes them):\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    experiment.run_named(&layout.finish, progress)?;
    Ok(plan)
}

fn spawn(
    command: &StepCommand,
    steps: &[&str],
    threads: &str,
    log: &Path,
) -> anyhow::Result<Child> {
    let file = std::fs::File::create(log).with_context(|| log.display().to_string())?;
    let errors = file
        .try_clone()
        .with_context(|| log.display().to_string())?;
    Command::new(&command.program)
        .args(command.arguments(steps, Some(threads)))
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(errors)
        .spawn()
        .with_context(|| format!("cannot start {}", command.program.display()))
}
