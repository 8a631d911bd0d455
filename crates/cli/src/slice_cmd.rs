//! `boundary-loss slice nifti`: a user's NIfTI volumes to the original 2-D layout.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use preprocess::SliceNifti;

#[derive(Subcommand, Debug, Clone)]
pub enum SliceCommand {
    /// Any folder of NIfTI volumes: modalities matched by file name, one label volume per case.
    Nifti(NiftiArgs),
}

#[derive(Args, Debug, Clone)]
pub struct NiftiArgs {
    /// One folder per modality (e.g. --images flair t1), volumes matched by file name.
    #[arg(long, num_args = 1.., required = true)]
    pub images: Vec<PathBuf>,
    /// The label volumes, named as the images.
    #[arg(long)]
    pub labels: PathBuf,
    /// Output data set root (written to DEST_tmp, renamed when every volume succeeded).
    #[arg(long)]
    pub dest: PathBuf,
    /// Axis to slice along (0, 1 or 2; the original slices the last).
    #[arg(long, default_value_t = 2)]
    pub axis: usize,
    /// Cases kept for validation.
    #[arg(long, default_value_t = 1)]
    pub retain: usize,
    /// Seed of the validation split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Classes K [default: max label + 1].
    #[arg(long)]
    pub classes: Option<usize>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(command: &SliceCommand) -> anyhow::Result<()> {
    let SliceCommand::Nifti(args) = command;
    crate::set_threads(args.threads)?;
    let job = SliceNifti {
        image_dirs: args.images.clone(),
        label_dir: args.labels.clone(),
        dest: args.dest.clone(),
        axis: args.axis,
        retain: args.retain,
        seed: args.seed,
        classes: args.classes,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} volumes {elapsed}")
            .expect("static template"),
    );
    let sliced = job
        .run(&bar)
        .with_context(|| format!("slicing into {}", args.dest.display()))?;
    bar.finish_and_clear();
    println!(
        "{} slices of {} training and {} validation cases ({} classes) in {}",
        sliced.slices,
        sliced.train_cases.len(),
        sliced.val_cases.len(),
        sliced.classes,
        args.dest.display()
    );
    Ok(())
}
