//! Whole experiments from one recipe, the original's make files done in Rust: the data set
//! (synthetic, or an official one unpacked and sliced), every training target once per seed,
//! the metrics of every run, the figures, a report over seeds (mean ± std, and each method
//! against the first seed by seed) and an archive, in dependency order, skipping what is done.
//!
//! Modules: [`recipe`] (the TOML recipe), [`runner`] (steps and their markers), [`executor`]
//! (steps run as processes on this machine or as Slurm jobs), [`figures`]
//! (run folders to figures, also the `plot` command's), [`views`] (run folders to a viewer page,
//! also the `view` command's), [`summary`] (the report over seeds).
//!
//! ```
//! use experiment::{Experiment, ExperimentOptions, LoadedRecipe};
//! use std::path::Path;
//!
//! // The shipped synthetic study, planned into an empty folder: every step would run.
//! let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
//! let mut recipe = LoadedRecipe::from_file(&recipes.join("synthetic.toml")).unwrap();
//! let out = std::env::temp_dir().join(format!("experiment-doc-{}", std::process::id()));
//! recipe.recipe.out = Some(out);
//! let experiment = Experiment::new(recipe, ExperimentOptions::default()).unwrap();
//! let plan = experiment.plan();
//! assert_eq!(plan[0].name, "data");
//! assert!(plan.iter().all(|step| step.runs));
//! // 4 targets x 5 seeds, each trained and measured.
//! assert_eq!(plan.iter().filter(|s| s.name.starts_with("train")).count(), 20);
//!
//! // The switch study: 8 targets x 3 seeds.
//! let mut recipe = LoadedRecipe::from_file(&recipes.join("switches.toml")).unwrap();
//! recipe.recipe.out = Some(std::env::temp_dir().join(format!("switches-doc-{}", std::process::id())));
//! let plan = Experiment::new(recipe, ExperimentOptions::default()).unwrap().plan();
//! assert_eq!(plan.iter().filter(|s| s.name.starts_with("train")).count(), 24);
//! ```

// Nothing here needs unsafe code; the unsafe parts live in page-buffers, distmap, cpu-conv,
// cpu-norm and boundary-loss::memory, each with its SAFETY comments.
#![forbid(unsafe_code)]

pub mod executor;
pub mod figures;
pub mod recipe;
pub mod runner;
pub mod summary;
pub mod views;

pub use recipe::{LoadedRecipe, Recipe};
pub use runner::{Experiment, ExperimentOptions, JobLayout, PlannedStep, Progress};
