//! The steps of an experiment in dependency order (data, training per target and seed, metrics,
//! plots, report, view, archive), each skipped when done, like the original's make files.
//!
//! A step is done when its marker `OUT/.steps/<step>.done` exists and is newer than the markers
//! of the steps it depends on. A step removes its marker before it starts and writes it after
//! its outputs are complete (each written to a temporary name and renamed, or resumable for
//! training), so a failed or interrupted call leaves finished steps alone and the next call
//! resumes from the step that failed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use boundary_loss::eval::{
    over_epochs::MetricsPlan,
    records::{MetricsOptions, RunMetric},
};
use boundary_loss::train::run_folder::holds_run;
use boundary_loss::train::Observer;
use volume_io::write_text_atomically;

use crate::recipe::{DataSource, LoadedRecipe};

mod steps;

/// How an experiment is driven (not part of the recipe).
#[derive(Debug, Clone, Default)]
pub struct ExperimentOptions {
    /// List the steps and why each runs; do nothing.
    pub dry_run: bool,
    /// Redo every selected step.
    pub force: bool,
    /// Dimwit, 5 epochs, 10 slices per split, into `OUT-debug`.
    pub debug: bool,
    /// Only the data and this target's training and metrics.
    pub only: Option<String>,
    /// Train every target on this device instead of its run file's (a cluster's GPU).
    pub device: Option<boundary_loss::device::DeviceSpec>,
}

/// Where an experiment reports what it does.
pub trait Progress {
    fn step(&mut self, text: &str);
    /// The observer of a training run.
    fn observer(&mut self) -> &mut dyn Observer;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StepKind {
    Data,
    Train { target: usize, seed: u64 },
    Metrics { target: usize, seed: u64 },
    Plots,
    Report,
    View,
    Archive,
}

#[derive(Debug, Clone)]
struct Step {
    kind: StepKind,
    name: String,
    /// Indices of the steps whose outputs this one reads.
    inputs: Vec<usize>,
}

/// The steps of an experiment as an executor schedules them (names as `--step` takes them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobLayout {
    pub data: String,
    /// (train, metrics) of each target and seed, in recipe order.
    pub runs: Vec<(String, String)>,
    /// The steps that read every run; empty with `--only`.
    pub finish: Vec<String>,
}

/// A step of the plan, as `--dry-run` lists it.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub name: String,
    pub runs: bool,
    pub why: String,
}

/// An experiment: a recipe, its output folder and how it is driven.
pub struct Experiment {
    recipe: LoadedRecipe,
    out: PathBuf,
    options: ExperimentOptions,
    steps: Vec<Step>,
}

impl Experiment {
    pub fn new(recipe: LoadedRecipe, options: ExperimentOptions) -> anyhow::Result<Self> {
        let mut out = match &recipe.recipe.out {
            Some(out) => recipe.resolve(out),
            None => Path::new("results").join(&recipe.name),
        };
        if options.debug {
            let name = out.file_name().map_or_else(
                || "debug".into(),
                |n| format!("{}-debug", n.to_string_lossy()),
            );
            out.set_file_name(name);
        }
        let targets = &recipe.recipe.targets;
        let selected: Vec<usize> = match &options.only {
            Some(only) => {
                vec![targets
                    .iter()
                    .position(|t| &t.name == only)
                    .with_context(|| {
                        format!(
                            "--only {only}: no such target in {} (targets: {})",
                            recipe.path.display(),
                            targets
                                .iter()
                                .map(|t| t.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?]
            }
            None => (0..targets.len()).collect(),
        };
        let mut steps = vec![Step {
            kind: StepKind::Data,
            name: "data".into(),
            inputs: vec![],
        }];
        let mut metric_steps = Vec::new();
        for &t in &selected {
            for &seed in &recipe.recipe.seeds {
                steps.push(Step {
                    kind: StepKind::Train { target: t, seed },
                    name: format!("train {} seed {seed}", targets[t].name),
                    inputs: vec![0],
                });
                let train = steps.len() - 1;
                steps.push(Step {
                    kind: StepKind::Metrics { target: t, seed },
                    name: format!("metrics {} seed {seed}", targets[t].name),
                    inputs: vec![train],
                });
                metric_steps.push(steps.len() - 1);
            }
        }
        if options.only.is_none() {
            steps.push(Step {
                kind: StepKind::Plots,
                name: "plots".into(),
                inputs: metric_steps.clone(),
            });
            steps.push(Step {
                kind: StepKind::Report,
                name: "report".into(),
                inputs: metric_steps.clone(),
            });
            let (plots, report) = (steps.len() - 2, steps.len() - 1);
            steps.push(Step {
                kind: StepKind::View,
                name: "view".into(),
                inputs: metric_steps,
            });
            if recipe.recipe.archive {
                steps.push(Step {
                    kind: StepKind::Archive,
                    name: "archive".into(),
                    inputs: vec![plots, report],
                });
            }
        }
        Ok(Experiment {
            recipe,
            out,
            options,
            steps,
        })
    }

    pub fn out(&self) -> &Path {
        &self.out
    }

    fn marker(&self, step: &Step) -> PathBuf {
        self.out
            .join(".steps")
            .join(format!("{}.done", step.name.replace(' ', "_")))
    }

    fn finished_at(&self, step: &Step) -> Option<SystemTime> {
        std::fs::metadata(self.marker(step))
            .and_then(|m| m.modified())
            .ok()
    }

    /// Which steps run and why, in order.
    pub fn plan(&self) -> Vec<PlannedStep> {
        let mut planned: Vec<PlannedStep> = Vec::new();
        for step in &self.steps {
            let (runs, why) = if self.options.force {
                (true, "--force".to_string())
            } else {
                match self.finished_at(step) {
                    None => (true, self.unfinished_reason(step)),
                    Some(done) => match step.inputs.iter().find(|&&i| {
                        planned[i].runs || self.finished_at(&self.steps[i]).is_none_or(|t| t > done)
                    }) {
                        Some(&i) => (
                            true,
                            format!("its input '{}' is newer or reruns", self.steps[i].name),
                        ),
                        None => (false, format!("done ({})", self.marker(step).display())),
                    },
                }
            };
            planned.push(PlannedStep {
                name: step.name.clone(),
                runs,
                why,
            });
        }
        planned
    }

    fn unfinished_reason(&self, step: &Step) -> String {
        match &step.kind {
            StepKind::Train { target, seed } if holds_run(&self.run_dir(*target, *seed)) => {
                format!(
                    "unfinished: resumes {}",
                    self.run_dir(*target, *seed).display()
                )
            }
            _ => "not done yet".into(),
        }
    }

    fn run_dir(&self, target: usize, seed: u64) -> PathBuf {
        self.out
            .join("runs")
            .join(&self.recipe.recipe.targets[target].name)
            .join(format!("seed{seed}"))
    }

    fn data_dir(&self) -> PathBuf {
        match &self.recipe.recipe.data {
            DataSource::Folder { path } => self.recipe.resolve(path),
            _ => self.out.join("data"),
        }
    }

    /// Every run folder of the experiment, grouped by target: (target, [(seed, folder)]).
    fn methods(&self) -> Vec<(String, Vec<(u64, PathBuf)>)> {
        self.recipe
            .recipe
            .targets
            .iter()
            .enumerate()
            .map(|(t, target)| {
                (
                    target.name.clone(),
                    self.recipe
                        .recipe
                        .seeds
                        .iter()
                        .map(|&s| (s, self.run_dir(t, s)))
                        .collect(),
                )
            })
            .collect()
    }

    /// Runs the steps that need to run (or only lists them with `dry_run`).
    pub fn run(&self, progress: &mut dyn Progress) -> anyhow::Result<Vec<PlannedStep>> {
        let plan = self.plan();
        if self.options.dry_run {
            return Ok(plan);
        }
        self.create_steps_folder()?;
        for (step, planned) in self.steps.iter().zip(&plan) {
            self.run_planned(step, planned, progress)?;
        }
        Ok(plan)
    }

    /// Runs the steps named `names`, in that order, each only if it needs to run: what one job
    /// of an executor does (`experiment RECIPE --step NAME ...`). A step whose inputs are not
    /// done (and not run earlier in this call) is an error naming them; an unknown name lists
    /// the steps.
    pub fn run_named(
        &self,
        names: &[String],
        progress: &mut dyn Progress,
    ) -> anyhow::Result<Vec<PlannedStep>> {
        let plan = self.plan();
        let mut indices = Vec::with_capacity(names.len());
        for name in names {
            let index = self
                .steps
                .iter()
                .position(|s| &s.name == name)
                .with_context(|| {
                    format!(
                        "--step '{name}': no such step of {} (steps: {})",
                        self.recipe.path.display(),
                        self.step_names().join(", ")
                    )
                })?;
            indices.push(index);
        }
        self.create_steps_folder()?;
        for (position, &index) in indices.iter().enumerate() {
            let step = &self.steps[index];
            let waiting = step.inputs.iter().find(|&&i| {
                plan[i].runs
                    && !indices[..position].contains(&i)
                    && self.finished_at(&self.steps[i]).is_none()
            });
            if let Some(&input) = waiting {
                anyhow::bail!(
                    "step '{}' of {} needs '{}', which is not done",
                    step.name,
                    self.recipe.path.display(),
                    self.steps[input].name
                );
            }
            self.run_planned(step, &plan[index], progress)?;
        }
        Ok(indices.iter().map(|&i| plan[i].clone()).collect())
    }

    fn create_steps_folder(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.out.join(".steps"))
            .with_context(|| format!("{}: cannot create the output folder", self.out.display()))
    }

    /// One step: skipped when done; otherwise its marker goes, it runs, and its marker is
    /// written when its outputs are complete.
    fn run_planned(
        &self,
        step: &Step,
        planned: &PlannedStep,
        progress: &mut dyn Progress,
    ) -> anyhow::Result<()> {
        if !planned.runs {
            progress.step(&format!("skip {}: {}", step.name, planned.why));
            return Ok(());
        }
        progress.step(&format!("run {}: {}", step.name, planned.why));
        let marker = self.marker(step);
        match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::Error::new(e).context(marker.display().to_string()))
            }
            _ => {}
        }
        self.execute(step, progress)
            .with_context(|| format!("step '{}' of {}", step.name, self.recipe.path.display()))?;
        write_text_atomically(&marker, &format!("{}\n", step.name))?;
        Ok(())
    }

    /// Every step's name, in order.
    pub fn step_names(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.name.clone()).collect()
    }

    /// The steps grouped as jobs: the data, one (train, metrics) pair per target and seed, and
    /// the steps that read every run (plots, report, view, archive).
    pub fn job_layout(&self) -> JobLayout {
        let mut layout = JobLayout::default();
        for (i, step) in self.steps.iter().enumerate() {
            match step.kind {
                StepKind::Data => layout.data = step.name.clone(),
                StepKind::Train { .. } => layout.runs.push((step.name.clone(), String::new())),
                StepKind::Metrics { .. } => {
                    let train = &self.steps[step.inputs[0]].name;
                    let pair = layout
                        .runs
                        .iter_mut()
                        .find(|(t, _)| t == train)
                        .expect("a metrics step follows its training");
                    pair.1 = self.steps[i].name.clone();
                }
                StepKind::Plots | StepKind::Report | StepKind::View | StepKind::Archive => {
                    layout.finish.push(step.name.clone())
                }
            }
        }
        layout
    }

    /// The recipe file.
    pub fn recipe_path(&self) -> &Path {
        &self.recipe.path
    }

    /// How the experiment is driven.
    pub fn options(&self) -> &ExperimentOptions {
        &self.options
    }

    fn execute(&self, step: &Step, progress: &mut dyn Progress) -> anyhow::Result<()> {
        match &step.kind {
            StepKind::Data => self.make_data(progress),
            StepKind::Train { target, seed } => self.train(*target, *seed, progress),
            StepKind::Metrics { target, seed } => {
                let metrics = self
                    .recipe
                    .recipe
                    .metrics
                    .iter()
                    .map(|m| m.parse::<RunMetric>().map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let options = MetricsOptions {
                    metrics,
                    force: self.options.force,
                    ..MetricsOptions::default()
                };
                MetricsPlan::new(&self.run_dir(*target, *seed), options)?.run(&|| {})?;
                Ok(())
            }
            StepKind::Plots => self.plots(),
            StepKind::Report => self.report(progress),
            StepKind::View => self.view(),
            StepKind::Archive => self.archive(),
        }
    }
}

fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::Error::new(e).context(format!("{}: cannot remove", dir.display())))
        }
        _ => Ok(()),
    }
}
