//! The experiment recipe (TOML): where the data comes from, the training targets (run files),
//! the seeds, and what to measure, plot and report. Paths are relative to the recipe's folder.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// Where the data set comes from.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// The built-in synthetic data set (`datasets::data::synthetic`).
    Synthetic {
        #[serde(default = "defaults::train_patients")]
        train_patients: usize,
        #[serde(default = "defaults::val_patients")]
        val_patients: usize,
        #[serde(default = "defaults::slices")]
        slices_per_patient: usize,
        #[serde(default = "defaults::side")]
        side: usize,
        #[serde(default = "defaults::modalities")]
        modalities: usize,
        #[serde(default)]
        seed: u64,
    },
    /// An official data set: its archives are checked, unpacked and sliced as the make files do.
    Official {
        dataset: OfficialName,
        /// The folder holding the downloaded archives (checked and unpacked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archives: Option<PathBuf>,
        /// Or the raw folder `slice DATASET --source` reads (unpacked, or written by `synth`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<PathBuf>,
        /// Validation cases [default: the make files' 20 / 10 / 25].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retain: Option<usize>,
        #[serde(default)]
        seed: u64,
        #[serde(default = "defaults::shape")]
        shape: [usize; 2],
        #[serde(default)]
        augment: usize,
    },
    /// A data set already in the sliced layout.
    Folder { path: PathBuf },
}

impl DataSource {
    /// The synthetic data set with `val_patients` validation patients and generator `seed`,
    /// every other field at the recipe file's default.
    pub fn synthetic(val_patients: usize, seed: u64) -> Self {
        DataSource::Synthetic {
            train_patients: defaults::train_patients(),
            val_patients,
            slices_per_patient: defaults::slices(),
            side: defaults::side(),
            modalities: defaults::modalities(),
            seed,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OfficialName {
    Isles,
    Wmh,
    Acdc,
}

/// A training target: a method, trained once per seed.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: String,
    /// Its run file; its `dataset` and `seed` are replaced by the experiment's.
    pub run_file: PathBuf,
}

mod defaults {
    pub fn train_patients() -> usize {
        8
    }
    pub fn val_patients() -> usize {
        3
    }
    pub fn slices() -> usize {
        12
    }
    pub fn side() -> usize {
        64
    }
    pub fn modalities() -> usize {
        2
    }
    pub fn shape() -> [usize; 2] {
        [256, 256]
    }
    pub fn seeds() -> Vec<u64> {
        vec![0]
    }
    pub fn metrics() -> Vec<String> {
        vec!["3d_dsc".into(), "3d_hd95".into()]
    }
    pub fn report() -> Vec<String> {
        vec!["val_dice".into(), "val_3d_dsc".into(), "val_3d_hd95".into()]
    }
    pub fn last_epochs() -> usize {
        5
    }
    /// report.py's `--precision` default.
    pub fn precision() -> usize {
        4
    }
    pub fn yes() -> bool {
        true
    }
}

/// A whole experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Name of the experiment (archive name) [default: the recipe's file stem].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Output folder, relative to the recipe [default: `results/<name>` in the current folder].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    pub data: DataSource,
    pub targets: Vec<Target>,
    /// Every target is trained once per seed (the run's `seed`).
    #[serde(default = "defaults::seeds")]
    pub seeds: Vec<u64>,
    /// Epochs of every run [default: each run file's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// What `metrics` computes on every run (3d_dsc, 3d_hd, 3d_hd95, 3d_assd, hd, boundary, boundary_mm).
    #[serde(default = "defaults::metrics")]
    pub metrics: Vec<String>,
    /// Arrays reported and plotted; the first chooses each run's best epoch.
    #[serde(default = "defaults::report")]
    pub report: Vec<String>,
    /// Classes averaged [default: the first target's `metric_classes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<usize>>,
    /// The report also averages the last epochs of each run.
    #[serde(default = "defaults::last_epochs")]
    pub last_epochs: usize,
    /// Digits after the decimal point in `report.txt`, the original report.py's format
    /// (`--precision`: 4 by default, 3 in isles.make and wmh.make).
    #[serde(default = "defaults::precision")]
    pub precision: usize,
    /// Moving-average window of the curves.
    #[serde(default)]
    pub smooth: usize,
    /// A GIF of this validation patient's predictions (first seed of the first target)
    /// [default: the first patient].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gif_patient: Option<String>,
    /// Pack the results into `<out>/<name>.tar.gz`.
    #[serde(default = "defaults::yes")]
    pub archive: bool,
}

impl Recipe {
    /// A recipe of `targets` on `data` with every other field at its default (one seed, 3-D
    /// Dice and HD95, ...), as a recipe file that names only those two would give.
    pub fn new(data: DataSource, targets: Vec<Target>) -> Self {
        Recipe {
            name: None,
            out: None,
            data,
            targets,
            seeds: defaults::seeds(),
            epochs: None,
            metrics: defaults::metrics(),
            report: defaults::report(),
            classes: None,
            last_epochs: defaults::last_epochs(),
            precision: defaults::precision(),
            smooth: 0,
            gif_patient: None,
            archive: defaults::yes(),
        }
    }

    /// The recipe as a TOML file that reads back to the same recipe.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a recipe is plain data and serialises")
    }
}

/// A recipe and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedRecipe {
    pub path: PathBuf,
    pub name: String,
    pub recipe: Recipe,
}

impl LoadedRecipe {
    /// Reads and checks a recipe; errors name the file and the line.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the recipe", path.display()))?;
        let recipe: Recipe = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => anyhow::anyhow!("{}: line {line}: {}", path.display(), e.message()),
                None => anyhow::anyhow!("{}: {}", path.display(), e.message()),
            }
        })?;
        let name = recipe.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map_or_else(|| "experiment".into(), |s| s.to_string_lossy().into_owned())
        });
        let loaded = LoadedRecipe {
            path: path.to_path_buf(),
            name,
            recipe,
        };
        loaded.check()?;
        Ok(loaded)
    }

    fn check(&self) -> anyhow::Result<()> {
        let r = &self.recipe;
        let here = self.path.display();
        if r.targets.is_empty() {
            bail!("{here}: no [[targets]]");
        }
        if r.seeds.is_empty() {
            bail!("{here}: seeds: at least one seed");
        }
        let mut names = std::collections::BTreeSet::new();
        for t in &r.targets {
            if t.name.is_empty() || t.name.contains(['/', '\\']) || !names.insert(&t.name) {
                bail!(
                    "{here}: target name '{}' is empty, has a slash or is used twice",
                    t.name
                );
            }
            let run_file = self.resolve(&t.run_file);
            if !run_file.is_file() {
                bail!(
                    "{here}: target '{}': run file {}: missing",
                    t.name,
                    run_file.display()
                );
            }
        }
        for m in &r.metrics {
            m.parse::<runs::eval::records::RunMetric>()
                .map_err(|e| anyhow::anyhow!("{here}: metrics: {e}"))?;
        }
        if r.report.is_empty() {
            bail!("{here}: report: at least one array");
        }
        if let DataSource::Official { archives, raw, .. } = &r.data {
            if archives.is_some() == raw.is_some() {
                bail!("{here}: [data]: give either `archives` (the downloaded archives) or `raw` (an unpacked folder)");
            }
        }
        if let DataSource::Folder { path } = &r.data {
            let path = self.resolve(path);
            if !path.is_dir() {
                bail!("{here}: data.path {}: missing", path.display());
            }
        }
        Ok(())
    }

    /// A path of the recipe, relative to its folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new("")).join(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Recipe {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../recipes")
            .join(name);
        toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn every_shipped_recipe_reads_back_from_its_own_toml() {
        for name in [
            "synthetic.toml",
            "switches.toml",
            "isles.toml",
            "wmh.toml",
            "acdc.toml",
        ] {
            let recipe = shipped(name);
            let again: Recipe = toml::from_str(&recipe.to_toml()).unwrap();
            assert_eq!(again, recipe, "{name}");
        }
    }

    #[test]
    fn a_new_recipe_has_the_defaults_of_a_minimal_file() {
        let data = DataSource::Folder {
            path: PathBuf::from("data"),
        };
        let targets = vec![Target {
            name: "gdl".into(),
            run_file: PathBuf::from("gdl.toml"),
        }];
        let minimal: Recipe = toml::from_str(
            "[data]\nkind = \"folder\"\npath = \"data\"\n\n[[targets]]\nname = \"gdl\"\nrun_file = \"gdl.toml\"\n",
        )
        .unwrap();
        assert_eq!(Recipe::new(data, targets), minimal);
        // Fields left at None are not written (TOML has no null).
        let text = minimal.to_toml();
        let keys: Vec<&str> = text.lines().filter_map(|l| l.split(" = ").next()).collect();
        assert!(
            !keys.contains(&"epochs") && !keys.contains(&"classes"),
            "{text}"
        );
    }

    #[test]
    fn the_acdc_recipe_reports_class_3_and_isles_three_decimals() {
        assert_eq!(shipped("acdc.toml").classes, Some(vec![3]));
        assert_eq!(shipped("acdc.toml").precision, 4);
        assert_eq!(shipped("isles.toml").precision, 3);
        assert_eq!(shipped("wmh.toml").precision, 3);
    }
}
