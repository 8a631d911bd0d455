//! One module per subcommand: its arguments (clap) and what it runs. What several share: the
//! official data set names and the progress bar of long jobs.

pub mod demo;
pub mod distmap;
pub mod experiment;
pub mod export;
pub mod metrics;
pub mod network;
pub mod plot;
pub mod predict;
pub mod report;
pub mod slice;
pub mod surface_metrics;
pub mod synth;
pub mod train;
pub mod unpack;
pub mod view;

use ::distmap::NamedChoice;
use indicatif::{ProgressBar, ProgressStyle};
use preprocess::OfficialDataset;

/// An official data set, as the command line names it.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum DatasetName {
    Isles,
    Wmh,
    Acdc,
}

impl From<DatasetName> for OfficialDataset {
    fn from(name: DatasetName) -> Self {
        match name {
            DatasetName::Isles => OfficialDataset::Isles,
            DatasetName::Wmh => OfficialDataset::Wmh,
            DatasetName::Acdc => OfficialDataset::Acdc,
        }
    }
}

/// The clap parser of a [`NamedChoice`]: its own names (listed by `--help`, checked by clap),
/// so the command line, the run files and the Python package spell the options alike.
pub fn choice<T: NamedChoice + Send + Sync>() -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(T::NAMES)
        .map(|name| name.parse::<T>().expect("clap accepted one of the names"))
}

/// A bar counting `unit`s (volumes, archive entries).
fn progress_bar(unit: &str) -> ProgressBar {
    ProgressBar::new(0).with_style(
        ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit} {{elapsed}}"))
            .expect("a valid template"),
    )
}

/// Which arrays of run folders a table or figure shows, and over which classes.
#[derive(clap::Args, Debug, Clone)]
pub struct ArraySelection {
    /// Arrays of the run folders (file stems, `val_` optional); the first chooses each run's
    /// best epoch.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "val_dice,val_3d_dsc,val_3d_hd95"
    )]
    pub metrics: Vec<String>,
    /// Classes averaged [default: the first run's metric_classes].
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<usize>>,
}

impl ArraySelection {
    /// The array stems (`val_3d_dsc`).
    pub fn stems(&self) -> Vec<String> {
        self.metrics
            .iter()
            .map(|m| ::experiment::figures::array_stem(m))
            .collect()
    }

    /// `--classes`, or the metric classes of the run file in `first_run`.
    pub fn classes(&self, first_run: &std::path::Path) -> anyhow::Result<Vec<usize>> {
        let classes = match &self.classes {
            Some(c) => c.clone(),
            None => boundary_loss::train::RunConfig::from_file(
                &first_run.join(boundary_loss::train::run_folder::RUN_FILE),
            )?
            .metric_classes(),
        };
        anyhow::ensure!(!classes.is_empty(), "--classes: at least one class");
        Ok(classes)
    }
}
