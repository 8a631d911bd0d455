//! `boundary-loss slice nifti|isles|wmh|acdc`: volumes to the original 2-D layout.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use preprocess::{OfficialDataset, SliceDataset, SliceNifti, Sliced};

use super::progress_bar;

#[derive(Subcommand, Debug, Clone)]
pub enum SliceCommand {
    /// Any folder of NIfTI volumes: modalities matched by file name, one label volume per case.
    Nifti(NiftiArgs),
    /// ISLES 2018 (the unpacked TRAINING folder), as the original slice_isles.py.
    Isles(DatasetArgs),
    /// WMH 2017 (the unpacked, flattened folder of case ids), as the original slice_wmh.py.
    Wmh(DatasetArgs),
    /// ACDC (the unpacked training folder of patients), as the original slice_acdc.py.
    Acdc(DatasetArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DatasetArgs {
    /// The unpacked raw folder (see `boundary-loss unpack`, or `boundary-loss synth`).
    #[arg(long)]
    pub source: PathBuf,
    /// Output data set root (must not exist; written to .DEST.partial, renamed at the end).
    #[arg(long)]
    pub dest: PathBuf,
    /// Cases (ACDC: patients) kept for validation [default: the make files': ISLES 20, WMH 10,
    /// ACDC 25].
    #[arg(long)]
    pub retain: Option<usize>,
    /// Seed of the split (CPython's random, so the official splits come out as the original's).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// ACDC's cross-validation fold (validation = patients fold*retain..(fold+1)*retain).
    #[arg(long, default_value_t = 0)]
    pub fold: usize,
    /// Augmented copies of each training slice (flips; ACDC also rotations).
    #[arg(long, default_value_t = 0)]
    pub augment: usize,
    /// In-plane output size of the resized data sets (WMH, ACDC).
    #[arg(long, num_args = 2, value_names = ["H", "W"], default_values_t = [256, 256])]
    pub shape: Vec<usize>,
    /// Skip slices without foreground.
    #[arg(long)]
    pub discard_negatives: bool,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

fn report(sliced: &Sliced, dest: &std::path::Path) {
    println!(
        "{} slices of {} training and {} validation cases ({} classes) in {}",
        sliced.slices,
        sliced.train_cases.len(),
        sliced.val_cases.len(),
        sliced.classes,
        dest.display()
    );
}

fn slice_dataset(dataset: OfficialDataset, args: &DatasetArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let retain = args.retain.unwrap_or(match dataset {
        OfficialDataset::Isles => 20,
        OfficialDataset::Wmh => 10,
        OfficialDataset::Acdc => 25,
    });
    let job = SliceDataset {
        dataset,
        source: args.source.clone(),
        dest: args.dest.clone(),
        retain,
        seed: args.seed,
        fold: args.fold,
        shape: [args.shape[0], args.shape[1]],
        augment: args.augment,
        discard_negatives: args.discard_negatives,
    };
    let bar = progress_bar("volumes");
    let sliced = job.run(&bar).with_context(|| {
        format!(
            "slicing {} into {}",
            args.source.display(),
            args.dest.display()
        )
    })?;
    bar.finish_and_clear();
    report(&sliced, &args.dest);
    Ok(())
}

#[derive(Args, Debug, Clone)]
pub struct NiftiArgs {
    /// One folder per modality (e.g. --images flair t1), volumes matched by file name.
    #[arg(long, num_args = 1.., required = true)]
    pub images: Vec<PathBuf>,
    /// The label volumes, named as the images.
    #[arg(long)]
    pub labels: PathBuf,
    /// Output data set root (must not exist; written to .DEST.partial, renamed at the end).
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
    /// Resize every slice in-plane to H x W (bilinear images, nearest labels, spacing scaled)
    /// [default: keep the volumes' size].
    #[arg(long, num_args = 2, value_names = ["H", "W"])]
    pub shape: Option<Vec<usize>>,
    /// Flipped copies of each training slice.
    #[arg(long, default_value_t = 0)]
    pub augment: usize,
    /// Write whole volumes for 3-D training instead of slices: {train,val}/img_npy (C, X, Y, Z),
    /// gt_npy (X, Y, Z), dist_npy (K, X, Y, Z, signed 3-D maps with the true spacing) and
    /// spacing_3d.json.
    #[arg(long)]
    pub volumes: bool,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(command: &SliceCommand) -> anyhow::Result<()> {
    let args = match command {
        SliceCommand::Nifti(args) => args,
        SliceCommand::Isles(args) => return slice_dataset(OfficialDataset::Isles, args),
        SliceCommand::Wmh(args) => return slice_dataset(OfficialDataset::Wmh, args),
        SliceCommand::Acdc(args) => return slice_dataset(OfficialDataset::Acdc, args),
    };
    crate::set_threads(args.threads)?;
    let job = SliceNifti {
        image_dirs: args.images.clone(),
        label_dir: args.labels.clone(),
        dest: args.dest.clone(),
        axis: args.axis,
        retain: args.retain,
        seed: args.seed,
        classes: args.classes,
        shape: args.shape.as_ref().map(|s| [s[0], s[1]]),
        augment: args.augment,
    };
    let bar = progress_bar("volumes");
    let sliced = if args.volumes {
        job.run_volumes(&bar)
    } else {
        job.run(&bar)
    }
    .with_context(|| format!("slicing into {}", args.dest.display()))?;
    bar.finish_and_clear();
    if args.volumes {
        println!(
            "{} training and {} validation volumes ({} classes) in {}",
            sliced.train_cases.len(),
            sliced.val_cases.len(),
            sliced.classes,
            args.dest.display()
        );
    } else {
        report(&sliced, &args.dest);
    }
    Ok(())
}
