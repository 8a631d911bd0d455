//! One module per subcommand: its arguments (clap) and what it runs. What several share: the
//! official data set names and the progress bar of long jobs.

pub mod demo;
pub mod distmap;
pub mod experiment;
pub mod metrics;
pub mod network;
pub mod plot;
pub mod report;
pub mod slice;
pub mod surface_metrics;
pub mod synth;
pub mod train;
pub mod unpack;

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

/// A bar counting `unit`s (volumes, archive entries).
fn progress_bar(unit: &str) -> ProgressBar {
    ProgressBar::new(0).with_style(
        ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit} {{elapsed}}"))
            .expect("a valid template"),
    )
}
