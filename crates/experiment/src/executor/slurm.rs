//! `--executor slurm`: the experiment as Slurm jobs. The data step is one job, every (train,
//! metrics) pair of a target and seed is one task of a job array that waits for the data
//! (`afterok`), and the steps that read every run (plots, report, view, archive) are one job that
//! waits for every task (`afterok`). The scripts are written to `OUT/slurm/` (readable, and
//! submittable by hand), the job logs go to `OUT/slurm/logs/`, and the ids of submitted jobs to
//! `OUT/slurm/jobs.json`.
//!
//! A second submission skips what is done (the step markers) and what is still queued or
//! running (`squeue`; `sacct` and `scontrol` say how a job that left the queue ended); a step whose job failed, was cancelled or hit its time limit is submitted
//! again, and its training resumes from its last checkpoint, as in the sequential runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use volume_io::write_text_atomically;

use super::StepCommand;
use crate::runner::{Experiment, JobLayout, PlannedStep};

/// What each job asks of Slurm (`sbatch` options), from the command line.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// `--time` of each job (Slurm's formats, e.g. `2-00:00:00`).
    pub time: Option<String>,
    /// GPUs of each training job (`--gres=gpu:N`; the data and finishing jobs take none).
    pub gpus_per_job: Option<usize>,
    /// CPUs of each job (`--cpus-per-task`; also the job's worker threads).
    pub cpus_per_job: usize,
    /// `--mem` of each job (e.g. `16G`).
    pub mem: Option<String>,
    /// Passed to every job's script as `#SBATCH` lines, as given.
    pub sbatch_args: Vec<String>,
}

/// Where a step stands on the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    Done,
    Queued {
        job: String,
    },
    Running {
        job: String,
    },
    /// Its job left the queue without finishing the step (Slurm's state when it still knows).
    Failed {
        job: String,
        state: String,
    },
    NotSubmitted,
}

impl std::fmt::Display for StepState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepState::Done => f.write_str("done"),
            StepState::Queued { job } => write!(f, "queued (job {job})"),
            StepState::Running { job } => write!(f, "running (job {job})"),
            StepState::Failed { job, state } => write!(f, "failed (job {job}, {state})"),
            StepState::NotSubmitted => f.write_str("not submitted"),
        }
    }
}

/// The ids of the jobs last submitted for each step (`OUT/slurm/jobs.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobRecord {
    steps: BTreeMap<String, String>,
}

fn slurm_dir(experiment: &Experiment) -> PathBuf {
    experiment.out().join("slurm")
}

fn read_record(experiment: &Experiment) -> anyhow::Result<JobRecord> {
    let path = slurm_dir(experiment).join("jobs.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{}: not a record of submitted jobs", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JobRecord::default()),
        Err(e) => Err(anyhow::Error::new(e).context(path.display().to_string())),
    }
}

fn write_record(experiment: &Experiment, record: &JobRecord) -> anyhow::Result<()> {
    let path = slurm_dir(experiment).join("jobs.json");
    let text = serde_json::to_string_pretty(record).expect("the record serialises");
    Ok(write_text_atomically(&path, &format!("{text}\n"))?)
}

/// Runs a Slurm client command and returns its stdout.
fn slurm_command(program: &str, args: &[String]) -> anyhow::Result<String> {
    let out = Command::new(program).args(args).output().with_context(|| {
        format!("cannot run {program}: is Slurm installed here (squeue, sbatch on the PATH)?")
    })?;
    anyhow::ensure!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The Slurm state of each job id in `jobs` (array tasks as `123_4`) that Slurm still knows.
fn job_states(jobs: &[&str]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut states = BTreeMap::new();
    if jobs.is_empty() {
        return Ok(states);
    }
    let mut bases: Vec<&str> = jobs
        .iter()
        .map(|j| j.split('_').next().unwrap_or(j))
        .collect();
    bases.sort_unstable();
    bases.dedup();
    // Pending and running jobs, array tasks one per line (-r).
    let queue = slurm_command(
        "squeue",
        &[
            "-h".into(),
            "-r".into(),
            "-o".into(),
            "%i|%T".into(),
            "-j".into(),
            bases.join(","),
        ],
    )
    .unwrap_or_default();
    for line in queue.lines() {
        if let Some((id, state)) = line.trim().split_once('|') {
            states.insert(id.to_string(), state.to_string());
        }
    }
    // Jobs that left the queue: accounting keeps them (where the site runs it), scontrol for a
    // while (MinJobAge).
    let missing: Vec<&str> = jobs
        .iter()
        .filter(|j| !states.contains_key(**j))
        .copied()
        .collect();
    if !missing.is_empty() {
        let accounting = slurm_command(
            "sacct",
            &[
                "-n".into(),
                "-X".into(),
                "-P".into(),
                "-o".into(),
                "JobID,State".into(),
                "-j".into(),
                missing.join(","),
            ],
        )
        .unwrap_or_default();
        for line in accounting.lines() {
            if let Some((id, state)) = line.trim().split_once('|') {
                // "CANCELLED by 0" -> CANCELLED.
                let state = state.split_whitespace().next().unwrap_or(state);
                states.insert(id.to_string(), state.to_string());
            }
        }
    }
    for job in jobs {
        if states.contains_key(*job) {
            continue;
        }
        if let Ok(text) = slurm_command(
            "scontrol",
            &["-o".into(), "show".into(), "job".into(), job.to_string()],
        ) {
            if let Some(state) = text
                .split_whitespace()
                .find_map(|field| field.strip_prefix("JobState="))
            {
                states.insert(job.to_string(), state.to_string());
            }
        }
    }
    Ok(states)
}

/// Every step's state: done from its marker, otherwise from the job last submitted for it.
pub fn status(experiment: &Experiment) -> anyhow::Result<Vec<(String, StepState)>> {
    let record = read_record(experiment)?;
    let waiting: Vec<&str> = experiment
        .plan()
        .iter()
        .filter(|p| p.runs)
        .filter_map(|p| record.steps.get(&p.name).map(String::as_str))
        .collect();
    let states = job_states(&waiting)?;
    // The files again, after Slurm's answer: a job that ended between the first look and the
    // query has written its step, which is done, not a completed job that left it undone.
    let plan = experiment.plan();
    Ok(plan
        .iter()
        .map(|p| (p.name.clone(), step_state(p, &record, &states)))
        .collect())
}

fn step_state(
    planned: &PlannedStep,
    record: &JobRecord,
    states: &BTreeMap<String, String>,
) -> StepState {
    if !planned.runs {
        return StepState::Done;
    }
    let Some(job) = record.steps.get(&planned.name) else {
        return StepState::NotSubmitted;
    };
    let job = job.clone();
    match states.get(&job).map(String::as_str) {
        Some("PENDING" | "REQUEUED" | "SUSPENDED" | "CONFIGURING") => StepState::Queued { job },
        Some("RUNNING" | "COMPLETING") => StepState::Running { job },
        Some(state) => StepState::Failed {
            job,
            state: state.to_string(),
        },
        None => StepState::Failed {
            job,
            state: "no longer known to Slurm".into(),
        },
    }
}

/// What a submission did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The scripts written, in submission order.
    pub scripts: Vec<PathBuf>,
    /// The `sbatch` command lines, in order (`$DATA_JOB`, `$RUNS_JOB` stand for ids not yet
    /// known in a dry run).
    pub commands: Vec<String>,
    /// Steps left alone because a job for them is queued or running.
    pub in_queue: Vec<(String, StepState)>,
    pub done: usize,
}

/// Array indices as Slurm's `--array` takes them, consecutive runs as ranges (`0-4,7,9-10`).
fn array_ranges(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@%".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `path` from the current folder, without resolving links (the folder may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    let joined = std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path));
    joined
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect()
}

/// The `#SBATCH` header of a job named `name`.
fn header(experiment: &Experiment, options: &SlurmOptions, name: &str, gpus: bool) -> String {
    let logs = absolute(&slurm_dir(experiment).join("logs"));
    let array = name == "runs";
    let log = if array {
        format!("{name}-%A_%a.out")
    } else {
        format!("{name}-%j.out")
    };
    let recipe_name = experiment
        .recipe_path()
        .file_stem()
        .map_or_else(|| "experiment".into(), |s| s.to_string_lossy().into_owned());
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "# Written by `boundary-loss experiment --executor slurm` for {}; submitted in the order",
            experiment.recipe_path().display()
        ),
        "# data, runs (an array: one task per target and seed), finish; see docs/cluster.md.".into(),
        format!("#SBATCH --job-name=bl-{recipe_name}-{name}"),
        format!("#SBATCH --output={}", logs.join(log).display()),
        format!("#SBATCH --cpus-per-task={}", options.cpus_per_job.max(1)),
        // The folder the experiment was submitted from: the recipe's relative output folder
        // and data paths mean the same in the job.
        format!("#SBATCH --chdir={}", absolute(Path::new(".")).display()),
    ];
    let optional = [
        ("partition", &options.partition),
        ("account", &options.account),
        ("time", &options.time),
        ("mem", &options.mem),
    ];
    for (flag, value) in optional {
        if let Some(value) = value {
            lines.push(format!("#SBATCH --{flag}={value}"));
        }
    }
    if let (true, Some(gpus)) = (gpus, options.gpus_per_job) {
        lines.push(format!("#SBATCH --gres=gpu:{gpus}"));
    }
    lines.extend(options.sbatch_args.iter().map(|a| format!("#SBATCH {a}")));
    lines.push("set -euo pipefail".into());
    lines.join("\n")
}

fn command_line(command: &StepCommand, steps: &[&str]) -> String {
    let mut words = vec![shell_quote(&command.program.display().to_string())];
    let args = command.arguments(steps, Some("${SLURM_CPUS_PER_TASK:-1}"));
    let threads = args.len() - 1;
    for (i, arg) in args.iter().enumerate() {
        // The thread count is the shell's expansion; everything else is literal.
        words.push(if i == threads {
            format!("\"{arg}\"")
        } else {
            shell_quote(arg)
        });
    }
    words.join(" ")
}

/// Writes the three scripts (and the array's step list) into `OUT/slurm/`.
fn write_scripts(
    experiment: &Experiment,
    layout: &JobLayout,
    options: &SlurmOptions,
    command: &StepCommand,
) -> anyhow::Result<[PathBuf; 3]> {
    let dir = slurm_dir(experiment);
    std::fs::create_dir_all(dir.join("logs"))
        .with_context(|| format!("{}: cannot create", dir.display()))?;
    let runs_list = dir.join("runs.txt");
    let list: String = layout
        .runs
        .iter()
        .map(|(train, metrics)| format!("{train}\t{metrics}\n"))
        .collect();
    write_text_atomically(&runs_list, &list)?;

    let data = format!(
        "{}\nexec {}\n",
        header(experiment, options, "data", false),
        command_line(command, &[&layout.data])
    );
    let program = shell_quote(&command.program.display().to_string());
    let mut args: Vec<String> = command
        .arguments(&[], None)
        .iter()
        .map(|a| shell_quote(a))
        .collect();
    args.insert(0, program);
    let runs = format!(
        "{}\n# Task i runs line i + 1 of runs.txt: a training step and its metrics.\nline=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {})\nIFS=$'\\t' read -r train metrics <<< \"$line\"\nexec {} --step \"$train\" --step \"$metrics\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
        header(experiment, options, "runs", true),
        shell_quote(&absolute(&runs_list).display().to_string()),
        args.join(" ")
    );
    let finish_steps: Vec<&str> = layout.finish.iter().map(String::as_str).collect();
    let finish = format!(
        "{}\nexec {}\n",
        header(experiment, options, "finish", false),
        command_line(command, &finish_steps)
    );
    let paths = [
        dir.join("data.sbatch"),
        dir.join("runs.sbatch"),
        dir.join("finish.sbatch"),
    ];
    for (path, text) in paths.iter().zip([data, runs, finish]) {
        write_text_atomically(path, &text)?;
    }
    Ok(paths)
}

/// Submits what is not done and not queued or running (with `dry_run`, only writes the scripts
/// and says what it would submit).
pub fn submit(
    experiment: &Experiment,
    options: &SlurmOptions,
    command: &StepCommand,
    dry_run: bool,
) -> anyhow::Result<Submission> {
    let layout = experiment.job_layout();
    let states: BTreeMap<String, StepState> = if dry_run {
        experiment
            .plan()
            .into_iter()
            .map(|p| {
                let state = if p.runs {
                    StepState::NotSubmitted
                } else {
                    StepState::Done
                };
                (p.name, state)
            })
            .collect()
    } else {
        status(experiment)?.into_iter().collect()
    };
    let needs = |name: &str| {
        matches!(
            states.get(name),
            Some(StepState::NotSubmitted | StepState::Failed { .. })
        )
    };
    let queued = |name: &str| match states.get(name) {
        Some(StepState::Queued { job } | StepState::Running { job }) => Some(job.clone()),
        _ => None,
    };
    let scripts = write_scripts(experiment, &layout, options, command)?;
    let mut submission = Submission {
        done: states.values().filter(|s| **s == StepState::Done).count(),
        in_queue: states
            .iter()
            .filter(|(_, s)| matches!(s, StepState::Queued { .. } | StepState::Running { .. }))
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect(),
        ..Submission::default()
    };
    let mut record = read_record(experiment)?;
    let mut sbatch =
        |args: Vec<String>, script: &Path, placeholder: &str| -> anyhow::Result<String> {
            let mut full = vec!["--parsable".to_string()];
            full.extend(args);
            full.push(absolute(script).display().to_string());
            submission
                .commands
                .push(format!("sbatch {}", full.join(" ")));
            submission.scripts.push(script.to_path_buf());
            if dry_run {
                return Ok(placeholder.to_string());
            }
            let out = slurm_command("sbatch", &full)?;
            let id = out.trim().split(';').next().unwrap_or("").to_string();
            anyhow::ensure!(
                !id.is_empty(),
                "sbatch printed no job id for {}",
                script.display()
            );
            Ok(id)
        };

    // The data job, or the one already in the queue.
    let mut data_dependency = queued(&layout.data);
    if needs(&layout.data) {
        let id = sbatch(vec![], &scripts[0], "$DATA_JOB")?;
        record.steps.insert(layout.data.clone(), id.clone());
        data_dependency = Some(id);
    }

    // One array task per pair with a step to run and no job in the queue.
    let mut finish_dependencies: Vec<String> = Vec::new();
    let mut tasks = Vec::new();
    for (index, (train, metrics)) in layout.runs.iter().enumerate() {
        match (queued(train), queued(metrics)) {
            (Some(job), _) | (None, Some(job)) => finish_dependencies.push(job),
            (None, None) if needs(train) || needs(metrics) => tasks.push(index),
            _ => {}
        }
    }
    if !tasks.is_empty() {
        let mut args = vec![format!("--array={}", array_ranges(&tasks))];
        if let Some(data) = &data_dependency {
            args.push(format!("--dependency=afterok:{data}"));
            args.push("--kill-on-invalid-dep=yes".into());
        }
        let id = sbatch(args, &scripts[1], "$RUNS_JOB")?;
        for &index in &tasks {
            let job = format!("{id}_{index}");
            let (train, metrics) = &layout.runs[index];
            record.steps.insert(train.clone(), job.clone());
            record.steps.insert(metrics.clone(), job);
        }
        // afterok on an array waits for all its tasks.
        finish_dependencies.push(id);
    } else if let Some(data) = data_dependency {
        finish_dependencies.push(data);
    }

    // The steps that read every run, after all of them.
    let finish_needed = layout.finish.iter().any(|s| needs(s));
    let finish_queued = layout.finish.iter().any(|s| queued(s).is_some());
    if finish_needed && !finish_queued {
        let mut args = Vec::new();
        if !finish_dependencies.is_empty() {
            finish_dependencies.sort();
            finish_dependencies.dedup();
            args.push(format!(
                "--dependency=afterok:{}",
                finish_dependencies.join(":")
            ));
            args.push("--kill-on-invalid-dep=yes".into());
        }
        let id = sbatch(args, &scripts[2], "$FINISH_JOB")?;
        for step in &layout.finish {
            record.steps.insert(step.clone(), id.clone());
        }
    }
    if !dry_run {
        write_record(experiment, &record)?;
    }
    Ok(submission)
}

/// The step list of the array, for the dry run's printout: `index: train, metrics`.
pub fn array_tasks(experiment: &Experiment) -> Vec<String> {
    experiment
        .job_layout()
        .runs
        .iter()
        .enumerate()
        .map(|(i, (train, metrics))| format!("{i}: {train}, {metrics}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_indices_become_ranges() {
        assert_eq!(array_ranges(&[0, 1, 2, 3, 4]), "0-4");
        assert_eq!(array_ranges(&[0, 2, 3, 7, 9, 10]), "0,2-3,7,9-10");
        assert_eq!(array_ranges(&[5]), "5");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/a/b-c_d.toml"), "/a/b-c_d.toml");
        assert_eq!(shell_quote("train gdl seed 0"), "'train gdl seed 0'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
