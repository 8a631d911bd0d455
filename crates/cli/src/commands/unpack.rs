//! `boundary-loss unpack DATASET`: the official archives checked against their md5 sums and
//! unpacked with the make files' clean-up.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use preprocess::{official_archives, OfficialDataset, Unpack};

use super::{progress_bar, DatasetName};

#[derive(Args, Debug, Clone)]
pub struct UnpackArgs {
    /// Which data set's archives.
    pub dataset: DatasetName,
    /// The folder holding the downloaded official archives (checked against their md5 sums).
    #[arg(long)]
    pub archives: PathBuf,
    /// Raw folder to create [default: data/isles, data/wmh or data/acdc, as the make files].
    #[arg(long)]
    pub dest: Option<PathBuf>,
}

pub fn run(args: &UnpackArgs) -> anyhow::Result<()> {
    let dataset = OfficialDataset::from(args.dataset);
    let (default_dest, source, sliced) = match dataset {
        OfficialDataset::Isles => ("data/isles", "data/isles/TRAINING", "data/ISLES"),
        OfficialDataset::Wmh => ("data/wmh", "data/wmh", "data/WMH"),
        OfficialDataset::Acdc => ("data/acdc", "data/acdc/training", "data/ACDC-2D"),
    };
    let dest = args
        .dest
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_dest));
    let bar = progress_bar("entries");
    let unpacked = Unpack {
        dataset,
        archives: args.archives.clone(),
        dest: dest.clone(),
        expected: official_archives(dataset),
    }
    .run(&bar)
    .with_context(|| format!("unpacking into {}", dest.display()))?;
    bar.finish_and_clear();
    println!(
        "{} archive(s) verified and unpacked into {}",
        unpacked.len(),
        dest.display()
    );
    if args.dest.is_none() {
        let name = format!("{:?}", args.dataset).to_lowercase();
        println!("next: boundary-loss slice {name} --source {source} --dest {sliced}");
    }
    Ok(())
}
