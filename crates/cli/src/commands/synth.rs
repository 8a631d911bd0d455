//! `boundary-loss synth DATASET`: synthetic raw data sets in the official layouts (names, data
//! types, shapes, spacings), for running every step without the archives.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use preprocess::{OfficialDataset, Synthesize};

use super::DatasetName;

#[derive(Args, Debug, Clone)]
pub struct SynthArgs {
    /// Which official layout to imitate.
    pub dataset: DatasetName,
    /// Raw folder to create (what `slice DATASET --source` reads).
    #[arg(long)]
    pub dest: PathBuf,
    /// Cases (ACDC: patients, two frames each) [default: ISLES 6, WMH 6, ACDC 8].
    #[arg(long)]
    pub cases: Option<usize>,
    /// Slices per volume [default: ISLES 4, WMH 6, ACDC 5].
    #[arg(long)]
    pub slices: Option<usize>,
    /// Seed of every random draw (shapes, lesions, noise).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let dataset = OfficialDataset::from(args.dataset);
    let cases = args.cases.unwrap_or(match dataset {
        OfficialDataset::Isles | OfficialDataset::Wmh => 6,
        OfficialDataset::Acdc => 8,
    });
    Synthesize {
        dataset,
        dest: args.dest.clone(),
        cases,
        slices: args.slices,
        seed: args.seed,
    }
    .run()
    .with_context(|| format!("generating {}", args.dest.display()))?;
    println!(
        "{cases} synthetic {:?} cases in {}",
        args.dataset,
        args.dest.display()
    );
    Ok(())
}
