//! Whole experiments from one recipe, the original's make files done in Rust: the data set
//! (synthetic, or an official one unpacked and sliced), every training target once per seed,
//! the metrics of every run, the figures, a report over seeds (mean ± std, and each method
//! against the first seed by seed) and an archive, in dependency order, skipping what is done.
//!
//! Modules: [`recipe`] (the TOML recipe), [`runner`] (steps and their markers), [`figures`]
//! (run folders to figures, also the `plot` command's), [`summary`] (the report over seeds).

pub mod figures;
pub mod recipe;
pub mod runner;
pub mod summary;

pub use recipe::{LoadedRecipe, Recipe};
pub use runner::{Experiment, ExperimentOptions, PlannedStep, Progress};
