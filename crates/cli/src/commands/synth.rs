//! `boundary-loss synth DATASET`: synthetic raw data sets in the official layouts (names, data
//! types, shapes, spacings), for running every step without the archives.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use preprocess::{OfficialDataset, Synthesize, SynthesizeFolder};

/// A raw layout to generate.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthLayout {
    Isles,
    Wmh,
    Acdc,
    /// A plain folder for `slice nifti`: flair/, t1/, labels/ of case_NN.nii.gz.
    Nifti,
}

#[derive(Args, Debug, Clone)]
pub struct SynthArgs {
    /// Which layout to imitate: an official one, or a plain NIfTI folder.
    pub dataset: SynthLayout,
    /// Raw folder to create (what `slice DATASET --source` reads).
    #[arg(long)]
    pub dest: PathBuf,
    /// Cases (ACDC: patients, two frames each) [default: ISLES 6, WMH 6, ACDC 8, nifti 8].
    #[arg(long)]
    pub cases: Option<usize>,
    /// Slices per volume [default: ISLES 4, WMH 6, ACDC 5, nifti 24].
    #[arg(long)]
    pub slices: Option<usize>,
    /// In-plane size of the nifti layout's volumes.
    #[arg(long, default_value_t = 48)]
    pub side: usize,
    /// Seed of every random draw (shapes, lesions, noise).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let dataset = match args.dataset {
        SynthLayout::Isles => OfficialDataset::Isles,
        SynthLayout::Wmh => OfficialDataset::Wmh,
        SynthLayout::Acdc => OfficialDataset::Acdc,
        SynthLayout::Nifti => {
            let cases = args.cases.unwrap_or(8);
            SynthesizeFolder {
                dest: args.dest.clone(),
                cases,
                side: args.side,
                slices: args.slices.unwrap_or(24),
                seed: args.seed,
            }
            .run()
            .with_context(|| format!("generating {}", args.dest.display()))?;
            println!(
                "{cases} synthetic cases in {} (flair/, t1/, labels/)",
                args.dest.display()
            );
            return Ok(());
        }
    };
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
