//! What each step of an experiment does: make the data, train one (target, seed), compute the
//! metrics, draw the figures, write the report, the viewer page and the archive.

use std::path::{Path, PathBuf};

use anyhow::Context;
use boundary_loss::data::synthetic::{generate, SyntheticSpec};
use boundary_loss::eval::report::{build_report, Selection};
use boundary_loss::nets::Architecture;
use boundary_loss::train::run_folder::{holds_run, RUN_FILE};
use boundary_loss::train::{resume, train, RunConfig, TrainOptions};
use preprocess::{official_archives, OfficialDataset, SliceDataset, Unpack};
use volume_io::write_text_atomically;

use crate::figures::{load_array, plot_runs, run_refs, PlotRequest};
use crate::recipe::{DataSource, OfficialName};
use crate::summary::experiment_report;
use crate::views::{view_runs, ViewRequest};

use super::*;

impl Experiment {
    pub(super) fn make_data(&self, progress: &mut dyn Progress) -> anyhow::Result<()> {
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
    pub(super) fn run_config(&self, target: usize, seed: u64) -> anyhow::Result<RunConfig> {
        let path = self
            .recipe
            .resolve(&self.recipe.recipe.targets[target].run_file);
        let mut config = RunConfig::from_file(&path)?;
        config.data.dataset = std::fs::canonicalize(self.data_dir())
            .with_context(|| format!("{}: the data set", self.data_dir().display()))?;
        config.run.seed = seed;
        if let Some(epochs) = self.recipe.recipe.epochs {
            config.schedule.epochs = epochs;
        }
        if let Some(device) = &self.options.device {
            config.run.device = *device;
        }
        if self.options.debug {
            config.network.architecture = Architecture::Dimwit;
            config.network.base = None;
            config.schedule.epochs = 5;
            config.data.debug = true;
        }
        config.validate().map_err(|e| e.in_file(&path))?;
        Ok(config)
    }

    pub(super) fn train(
        &self,
        target: usize,
        seed: u64,
        progress: &mut dyn Progress,
    ) -> anyhow::Result<()> {
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

    pub(super) fn classes(&self) -> anyhow::Result<Vec<usize>> {
        match &self.recipe.recipe.classes {
            Some(c) => Ok(c.clone()),
            None => Ok(self
                .run_config(0, self.recipe.recipe.seeds[0])?
                .metric_classes()),
        }
    }

    pub(super) fn report_metrics(&self) -> Vec<String> {
        self.recipe
            .recipe
            .report
            .iter()
            .map(|m| crate::figures::array_stem(m))
            .collect()
    }

    pub(super) fn plots(&self) -> anyhow::Result<()> {
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

    /// `OUT/view/`: the viewer page of each method's first seed at its best epoch.
    pub(super) fn view(&self) -> anyhow::Result<()> {
        let seed = self.recipe.recipe.seeds[0];
        let runs: Vec<PathBuf> = self
            .methods()
            .into_iter()
            .filter_map(|(_, seeds)| seeds.into_iter().find(|(s, _)| *s == seed))
            .map(|(_, dir)| dir)
            .collect();
        let request = ViewRequest {
            title: Some(format!(
                "{}: validation predictions at each run's best epoch (seed {seed})",
                self.recipe.name
            )),
            ..ViewRequest::default()
        };
        view_runs(&runs, &request, &self.out.join("view"), &|| {})?;
        Ok(())
    }

    pub(super) fn report(&self, progress: &mut dyn Progress) -> anyhow::Result<()> {
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
        let text = build_report(&runs, &classes, Selection::Auto)?
            .text(self.recipe.recipe.precision, true);
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
    pub(super) fn archive(&self) -> anyhow::Result<()> {
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
