//! The steps of an experiment in dependency order (data, training per target and seed, metrics,
//! plots, report, archive), each skipped when done, like the original's make files.
//!
//! A step is done when its marker `OUT/.steps/<step>.done` exists and is newer than the markers
//! of the steps it depends on. A step removes its marker before it starts and writes it after
//! its outputs are complete (each written to a temporary name and renamed, or resumable for
//! training), so a failed or interrupted call leaves finished steps alone and the next call
//! resumes from the step that failed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use boundary_loss::data::synthetic::{generate, SyntheticSpec};
use boundary_loss::eval::report::{build_report, Selection};
use boundary_loss::eval::{
    over_epochs::MetricsPlan,
    records::{MetricsOptions, RunMetric},
};
use boundary_loss::nets::Architecture;
use boundary_loss::train::run_folder::{holds_run, RUN_FILE};
use boundary_loss::train::{resume, train, Observer, RunConfig, TrainOptions};
use preprocess::{official_archives, OfficialDataset, SliceDataset, Unpack};
use volume_io::write_text_atomically;

use crate::figures::{load_array, plot_runs, run_refs, PlotRequest};
use crate::recipe::{DataSource, LoadedRecipe, OfficialName};
use crate::summary::experiment_report;

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
    Archive,
}

#[derive(Debug, Clone)]
struct Step {
    kind: StepKind,
    name: String,
    /// Indices of the steps whose outputs this one reads.
    inputs: Vec<usize>,
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
                inputs: metric_steps,
            });
            if recipe.recipe.archive {
                let n = steps.len();
                steps.push(Step {
                    kind: StepKind::Archive,
                    name: "archive".into(),
                    inputs: vec![n - 2, n - 1],
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
        std::fs::create_dir_all(self.out.join(".steps"))
            .with_context(|| format!("{}: cannot create the output folder", self.out.display()))?;
        for (step, planned) in self.steps.iter().zip(&plan) {
            if !planned.runs {
                progress.step(&format!("skip {}: {}", step.name, planned.why));
                continue;
            }
            progress.step(&format!("run {}: {}", step.name, planned.why));
            let marker = self.marker(step);
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(anyhow::Error::new(e).context(marker.display().to_string()))
                }
                _ => {}
            }
            self.execute(step, progress).with_context(|| {
                format!("step '{}' of {}", step.name, self.recipe.path.display())
            })?;
            write_text_atomically(&marker, &format!("{}\n", step.name))?;
        }
        Ok(plan)
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
            StepKind::Archive => self.archive(),
        }
    }

    fn make_data(&self, progress: &mut dyn Progress) -> anyhow::Result<()> {
        let data = self.out.join("data");
        let partial = self.out.join(".data.partial");
        match &self.recipe.recipe.data {
            DataSource::Folder { path } => {
                progress.step(&format!("data: {}", self.recipe.resolve(path).display()));
                Ok(())
            }
            DataSource::Synthetic {
                train_patients,
                val_patients,
                slices_per_patient,
                side,
                modalities,
                seed,
            } => {
                remove_dir(&partial)?;
                let spec = SyntheticSpec {
                    train_patients: *train_patients,
                    val_patients: *val_patients,
                    slices_per_patient: *slices_per_patient,
                    side: *side,
                    modalities: *modalities,
                    seed: *seed,
                };
                let foreground = generate(&partial, &spec)?;
                remove_dir(&data)?;
                std::fs::rename(&partial, &data).with_context(|| data.display().to_string())?;
                progress.step(&format!(
                    "data: synthetic, {train_patients} training and {val_patients} validation patients x {slices_per_patient} slices of {side}x{side}, {:.2}% lesion pixels -> {}",
                    foreground * 100.0,
                    data.display()
                ));
                Ok(())
            }
            DataSource::Official {
                dataset,
                archives,
                raw,
                retain,
                seed,
                shape,
                augment,
            } => {
                let (dataset, default_retain, raw_source) = match dataset {
                    OfficialName::Isles => (OfficialDataset::Isles, 20, "TRAINING"),
                    OfficialName::Wmh => (OfficialDataset::Wmh, 10, ""),
                    OfficialName::Acdc => (OfficialDataset::Acdc, 25, "training"),
                };
                let source = match (raw, archives) {
                    (Some(raw), _) => self.recipe.resolve(raw),
                    (None, archives) => {
                        let raw = self.out.join("raw");
                        let raw_partial = self.out.join(".raw.partial");
                        if !raw.is_dir() {
                            remove_dir(&raw_partial)?;
                            Unpack {
                                dataset,
                                archives: self
                                    .recipe
                                    .resolve(archives.as_deref().unwrap_or(Path::new("."))),
                                dest: raw_partial.clone(),
                                expected: official_archives(dataset),
                            }
                            .run(&indicatif::ProgressBar::hidden())?;
                            std::fs::rename(&raw_partial, &raw)
                                .with_context(|| raw.display().to_string())?;
                        }
                        raw.join(raw_source)
                    }
                };
                remove_dir(&data)?;
                SliceDataset {
                    dataset,
                    source,
                    dest: data.clone(),
                    retain: retain.unwrap_or(default_retain),
                    seed: *seed,
                    fold: 0,
                    shape: *shape,
                    augment: *augment,
                    discard_negatives: false,
                }
                .run(&indicatif::ProgressBar::hidden())?;
                progress.step(&format!("data: sliced into {}", data.display()));
                Ok(())
            }
        }
    }

    /// The run file of a target for one seed, with the experiment's data set (and debug
    /// settings).
    fn run_config(&self, target: usize, seed: u64) -> anyhow::Result<RunConfig> {
        let path = self
            .recipe
            .resolve(&self.recipe.recipe.targets[target].run_file);
        let mut config = RunConfig::from_file(&path)?;
        config.dataset = std::fs::canonicalize(self.data_dir())
            .with_context(|| format!("{}: the data set", self.data_dir().display()))?;
        config.seed = seed;
        if let Some(epochs) = self.recipe.recipe.epochs {
            config.epochs = epochs;
        }
        if self.options.debug {
            config.network = Architecture::Dimwit;
            config.network_base = None;
            config.epochs = 5;
            config.debug = true;
        }
        config.validate().map_err(|e| e.in_file(&path))?;
        Ok(config)
    }

    fn train(&self, target: usize, seed: u64, progress: &mut dyn Progress) -> anyhow::Result<()> {
        let dir = self.run_dir(target, seed);
        let config = self.run_config(target, seed)?;
        if !self.options.force && holds_run(&dir) && dir.join(RUN_FILE).is_file() {
            // Killed or failed earlier: continue where it stopped.
            resume(&dir, &TrainOptions::default(), progress.observer())?;
        } else {
            let options = TrainOptions {
                force: true,
                ..TrainOptions::default()
            };
            train(&config, &dir, &options, progress.observer())?;
        }
        Ok(())
    }

    fn classes(&self) -> anyhow::Result<Vec<usize>> {
        match &self.recipe.recipe.classes {
            Some(c) => Ok(c.clone()),
            None => Ok(self
                .run_config(0, self.recipe.recipe.seeds[0])?
                .metric_classes()),
        }
    }

    fn report_metrics(&self) -> Vec<String> {
        self.recipe
            .recipe
            .report
            .iter()
            .map(|m| crate::figures::array_stem(m))
            .collect()
    }

    fn plots(&self) -> anyhow::Result<()> {
        let partial = self.out.join(".plots.partial");
        remove_dir(&partial)?;
        let dirs: Vec<PathBuf> = self
            .methods()
            .into_iter()
            .flat_map(|(_, runs)| runs.into_iter().map(|(_, d)| d))
            .collect();
        let request = PlotRequest {
            metrics: self.report_metrics(),
            classes: self.classes()?,
            smooth: self.recipe.recipe.smooth.max(1),
            title: self.recipe.name.clone(),
            gif_patient: Some(self.recipe.recipe.gif_patient.clone().unwrap_or_default()),
            per_class: false,
            ylim: None,
        };
        plot_runs(&run_refs(&dirs), &request, &partial)?;
        let plots = self.out.join("plots");
        remove_dir(&plots)?;
        std::fs::rename(&partial, &plots).with_context(|| plots.display().to_string())?;
        Ok(())
    }

    fn report(&self, progress: &mut dyn Progress) -> anyhow::Result<()> {
        let metrics = self.report_metrics();
        let classes = self.classes()?;
        let report = experiment_report(
            &self.methods(),
            &metrics,
            &classes,
            self.recipe.recipe.last_epochs,
        )?;
        let markdown = format!(
            "# {}\n\nRecipe: `{}`. Methods: {}. Seeds: {:?}.\n\n{}",
            self.recipe.name,
            self.recipe.path.display(),
            self.recipe
                .recipe
                .targets
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            self.recipe.recipe.seeds,
            report.markdown(3)
        );
        // Every run in the original report.py's text format, too.
        let mut runs = Vec::new();
        for (method, seeds) in self.methods() {
            for (seed, dir) in seeds {
                let arrays = metrics
                    .iter()
                    .map(|m| load_array(&dir, m))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                runs.push((format!("{method}/seed{seed}"), arrays));
            }
        }
        let text = build_report(&runs, &classes, Selection::Auto)?.text(4, true);
        write_text_atomically(&self.out.join("report.md"), &markdown)?;
        write_text_atomically(&self.out.join("report.txt"), &text)?;
        write_text_atomically(
            &self.out.join("report.json"),
            &format!("{}\n", serde_json::to_string_pretty(&report)?),
        )?;
        progress.step(&markdown);
        Ok(())
    }

    /// `OUT/<name>.tar.gz`: the report, the plots and every run's results (run file, CSV,
    /// arrays, best epoch), without checkpoints and per-epoch predictions.
    fn archive(&self) -> anyhow::Result<()> {
        let path = self.out.join(format!("{}.tar.gz", self.recipe.name));
        let temp = self
            .out
            .join(format!(".{}.tar.gz.partial", self.recipe.name));
        let written = (|| -> anyhow::Result<()> {
            let file = std::fs::File::create(&temp).with_context(|| temp.display().to_string())?;
            let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            ));
            let root = Path::new(&self.recipe.name);
            for name in ["report.md", "report.txt", "report.json"] {
                tar.append_path_with_name(self.out.join(name), root.join(name))?;
            }
            tar.append_dir_all(root.join("plots"), self.out.join("plots"))?;
            for (method, seeds) in self.methods() {
                for (seed, dir) in seeds {
                    let inside = root.join("runs").join(&method).join(format!("seed{seed}"));
                    for entry in
                        std::fs::read_dir(&dir).with_context(|| dir.display().to_string())?
                    {
                        let entry = entry?;
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let keep = name == "best_epoch"
                            || [".toml", ".csv", ".npy", ".txt", ".json"]
                                .iter()
                                .any(|e| name.ends_with(e));
                        if !keep || name.starts_with('.') {
                            continue;
                        }
                        if entry.path().is_dir() {
                            tar.append_dir_all(inside.join(&name), entry.path())?;
                        } else {
                            tar.append_path_with_name(entry.path(), inside.join(&name))?;
                        }
                    }
                }
            }
            tar.into_inner()?.finish()?.sync_all()?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        std::fs::rename(&temp, &path).with_context(|| path.display().to_string())?;
        Ok(())
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
