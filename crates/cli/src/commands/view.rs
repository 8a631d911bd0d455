//! `boundary-loss view RUN_DIR... --out VIEW_DIR`: a static web page of the validation images
//! with the ground truth and each run's predictions side by side (the original's `make view`).

use std::path::PathBuf;

use clap::Args;
use experiment::views::{view_input, EpochChoice, ViewRequest};

use super::progress_bar;

#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// Run folders, one column each (they validate on the same slices).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output folder: index.html and its images (replaced if it holds a view; never a folder
    /// of other files).
    #[arg(long)]
    pub out: PathBuf,
    /// The images' folder, e.g. DATA/val/flair (<slice>.png or .npy) [default: the first run's
    /// image stream, e.g. DATA/val/in_npy].
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// The channel (modality) of (C, H, W) .npy images.
    #[arg(long, default_value_t = 0)]
    pub channel: usize,
    /// Predictions shown: each run's best epoch, one epoch N (0 is the first), or all (a
    /// slider over the epochs).
    #[arg(long, default_value = "best")]
    pub epoch: EpochChoice,
    /// Pixels removed from each side of every slice.
    #[arg(long, default_value_t = 0)]
    pub crop: usize,
    /// Enlargement, a whole factor [default: the largest slice at 200 pixels or more, at most 8].
    #[arg(long)]
    pub zoom: Option<usize>,
    /// Column names, comma-separated, one per run [default: METHOD seedN or the folder name].
    #[arg(long, value_delimiter = ',')]
    pub names: Vec<String>,
    /// Only the validation patients matching this regular expression.
    #[arg(long)]
    pub patients: Option<String>,
    /// Slices (rows) per page.
    #[arg(long, default_value_t = 3)]
    pub per_page: usize,
    /// Title of the page [default: the data set's name].
    #[arg(long)]
    pub title: Option<String>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: &ViewArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let request = ViewRequest {
        images: args.images.clone(),
        channel: args.channel,
        epoch: args.epoch,
        crop: args.crop,
        zoom: args.zoom,
        names: args.names.clone(),
        patients: args.patients.clone(),
        per_page: args.per_page,
        title: args.title.clone(),
    };
    let input = view_input(&args.runs, &request)?;
    let bar = progress_bar("slices");
    bar.set_length(input.slices.len() as u64);
    let summary = viewer::write_view(&input, &args.out, &|| bar.inc(1))?;
    bar.finish_and_clear();
    println!(
        "{}: {} slices x {} runs, {} files; open it in a browser",
        summary.index.display(),
        summary.slices,
        summary.runs,
        summary.images
    );
    Ok(())
}
