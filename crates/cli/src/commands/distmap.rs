//! `boundary-loss distmap`: one label map, or a folder of them, to per-class distance maps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use distmap::{AbsentClass, BorderOffset, DistmapError, MapKind, MapOptions, WholeImageClass};
use indicatif::{ParallelProgressIterator, ProgressBar, ProgressStyle};
use ndarray::ArrayD;
use rayon::prelude::*;
use volume_io::{read_label_map, write_npy_atomically, FileError, LABEL_EXTENSIONS};

#[derive(Args, Debug, Clone)]
pub struct DistmapArgs {
    /// Label map (.npy of any integer dtype, 8/16-bit gray .png, .nii/.nii.gz), or a folder of them.
    pub input: PathBuf,
    /// Output .npy of shape (K, *spatial); a folder when INPUT is a folder.
    pub output: PathBuf,
    /// Number of classes K [default: max label + 1].
    #[arg(long)]
    pub classes: Option<usize>,
    /// Spacing per axis, e.g. 0.97,0.97,2.5 [default: the NIfTI header's, else 1 per axis].
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub spacing: Option<Vec<f64>>,
    /// Signed map of the boundary loss (one_hot2dist) or the Hausdorff-DT map (one_hot2hd_dist).
    #[arg(long, default_value = "signed", value_parser = super::choice::<MapKind>())]
    pub kind: MapKind,
    /// Output element type (maps are computed in f64 and rounded once).
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub dtype: Dtype,
    /// Truncate toward zero like the original 2-D data loader (int32 one-hot).
    #[arg(long)]
    pub truncate: bool,
    /// Inside offset: the original's one voxel, or corrected (inner border exactly 0 at any spacing).
    #[arg(long, default_value = "voxel", value_parser = super::choice::<BorderOffset>())]
    pub border: BorderOffset,
    /// A class covering the whole image: scipy's artefact (as the original) or zeros.
    #[arg(long, default_value = "scipy", value_parser = super::choice::<WholeImageClass>())]
    pub whole_image: WholeImageClass,
    /// A class absent from the image: zeros (as the original: no supervision) or the image's
    /// diagonal in mm everywhere (every pixel predicted for it is penalised; signed maps only).
    #[arg(long, default_value = "zeros", value_parser = super::choice::<AbsentClass>())]
    pub absent: AbsentClass,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

impl DistmapArgs {
    fn options(&self) -> MapOptions {
        MapOptions {
            kind: self.kind,
            border: self.border,
            whole_image: self.whole_image,
            absent: self.absent,
            truncate: self.truncate,
        }
    }
}

pub fn run(args: &DistmapArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    if args.input.is_dir() {
        return run_folder(args);
    }
    let started = Instant::now();
    let summary = convert_file(&args.input, &args.output, args)?;
    println!(
        "{} -> {}: {summary}, {:.1} ms",
        args.input.display(),
        args.output.display(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// Name of a supported label file without its extension, or `None` for other files.
fn label_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_lowercase();
    LABEL_EXTENSIONS
        .iter()
        .rev() // ".nii.gz" is tried before ".nii"
        .find(|ext| lower.ends_with(*ext))
        .map(|ext| name[..name.len() - ext.len()].to_string())
}

fn run_folder(args: &DistmapArgs) -> anyhow::Result<()> {
    let mut inputs: Vec<(PathBuf, String)> = std::fs::read_dir(&args.input)
        .with_context(|| format!("{}: cannot list the folder", args.input.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter_map(|p| label_stem(&p).map(|stem| (p, stem)))
        .collect();
    inputs.sort();
    if inputs.is_empty() {
        bail!(
            "{}: no label maps ({}) in this folder",
            args.input.display(),
            LABEL_EXTENSIONS.join(", ")
        );
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create the output folder", args.output.display()))?;
    let bar = ProgressBar::new(inputs.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} maps {elapsed} (eta {eta})")
            .expect("static template"),
    );
    let started = Instant::now();
    let failures: Vec<anyhow::Error> = inputs
        .par_iter()
        .progress_with(bar.clone())
        .filter_map(|(input, stem)| {
            convert_file(input, &args.output.join(format!("{stem}.npy")), args).err()
        })
        .collect();
    bar.finish_and_clear();
    println!(
        "{} maps written to {} in {:.2} s, {} failed",
        inputs.len() - failures.len(),
        args.output.display(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    for failure in &failures {
        eprintln!("failed: {failure:#}");
    }
    if !failures.is_empty() {
        bail!("{} of {} files failed", failures.len(), inputs.len());
    }
    Ok(())
}

/// Reads one label map, computes its maps and writes them atomically; returns a summary line.
fn convert_file(input: &Path, output: &Path, args: &DistmapArgs) -> anyhow::Result<String> {
    let is_npy = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !is_npy {
        bail!("{}: the output must be a .npy file", output.display());
    }
    let map = read_label_map(input)?;
    let shape = map.labels.shape().to_vec();
    let spacing = match (&args.spacing, &map.spacing) {
        (Some(given), _) => given.clone(),
        (None, Some(header)) => header.clone(),
        (None, None) => vec![1.0; shape.len()],
    };
    if spacing.len() != shape.len() {
        return Err(FileError::new(
            input,
            format!(
                "{} spacing value(s) for a label map of shape {:?} ({} axes)",
                spacing.len(),
                shape,
                shape.len()
            ),
        )
        .into());
    }
    let classes = match args.classes {
        Some(k) => k,
        None => map
            .labels
            .iter()
            .copied()
            .max()
            .map_or(1, |m| m as usize + 1),
    };
    let options = args.options();
    let explain = |e: DistmapError| -> anyhow::Error {
        let hint = match e {
            DistmapError::LabelOutOfRange { .. } => {
                " (--classes is too small, or the file is not a label map)"
            }
            _ => "",
        };
        FileError::new(input, format!("{e}{hint}")).into()
    };
    match args.dtype {
        Dtype::F32 => {
            let maps: ArrayD<f32> =
                distmap::distance_maps(map.labels.view(), classes, &spacing, &options)
                    .map_err(explain)?;
            write_npy_atomically(output, &maps)?;
        }
        Dtype::F64 => {
            let maps: ArrayD<f64> =
                distmap::distance_maps(map.labels.view(), classes, &spacing, &options)
                    .map_err(explain)?;
            write_npy_atomically(output, &maps)?;
        }
    }
    Ok(format!(
        "{classes} classes, shape {shape:?}, spacing {spacing:?}"
    ))
}
