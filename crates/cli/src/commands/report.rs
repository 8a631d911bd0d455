//! `boundary-loss report RUN_DIR...`: a table of runs at their best epoch (the original's
//! `report.py`), as text, Markdown or JSON.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use experiment::figures::load_array;
use runs::eval::report::{build_report, Selection};
use runs::run_folder::RUN_FILE;

use super::ArraySelection;
use volume_io::FileError;

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Run folders.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    #[command(flatten)]
    pub arrays: ArraySelection,
    /// How the epoch is chosen: auto (max for Dice, min for distances), max, min, or avg (the
    /// mean of the last --last-epochs epochs).
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// Epochs averaged with --mode avg.
    #[arg(long, default_value_t = 1)]
    pub last_epochs: usize,
    /// Digits after the decimal point.
    #[arg(long, default_value_t = 4)]
    pub precision: usize,
    /// Also each class on its own.
    #[arg(long)]
    pub per_class: bool,
    /// A Markdown table instead of the original's text.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// JSON instead of the original's text.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Mode {
    Auto,
    Max,
    Min,
    Avg,
}

/// Run names: the folder names, or the paths as given when two folders share a name.
fn run_names(runs: &[PathBuf]) -> Vec<String> {
    let names: Vec<String> = runs
        .iter()
        .map(|r| {
            r.file_name().map_or_else(
                || r.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let unique = names
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        == names.len();
    if unique {
        names
    } else {
        runs.iter().map(|r| r.display().to_string()).collect()
    }
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    for run in &args.runs {
        if !run.join(RUN_FILE).is_file() {
            return Err(FileError::new(
                run.join(RUN_FILE),
                "missing: not a run folder (train writes run.toml)",
            )
            .into());
        }
    }
    let classes = args.arrays.classes(&args.runs[0])?;
    let stems = args.arrays.stems();
    let mut runs = Vec::new();
    for (run, name) in args.runs.iter().zip(run_names(&args.runs)) {
        let arrays = stems
            .iter()
            .map(|stem| load_array(run, stem))
            .collect::<anyhow::Result<Vec<_>>>()?;
        runs.push((name, arrays));
    }
    let selection = match args.mode {
        Mode::Auto => Selection::Auto,
        Mode::Max => Selection::Max,
        Mode::Min => Selection::Min,
        Mode::Avg => Selection::Average(args.last_epochs),
    };
    let report = build_report(&runs, &classes, selection)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.markdown {
        print!("{}", report.markdown(args.precision, args.per_class));
    } else {
        print!("{}", report.text(args.precision, args.per_class));
    }
    Ok(())
}
