//! `boundary-loss plot RUN_DIR...`: metric curves over epochs, box plots and histograms at each
//! run's best epoch, and a GIF of one patient's predictions (the original's plot.py,
//! moustache.py and hist.py), as PNG, SVG and CSV.

use std::path::PathBuf;

use clap::Args;
use experiment::figures::{plot_runs, run_refs, PlotRequest};

use super::ArraySelection;

#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// Run folders (`METHOD/seedN` folders are grouped by METHOD: mean line and ± std band).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output folder (curves.png/svg/csv, box_<metric>, hist_<metric>, prediction_<patient>.gif).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub arrays: ArraySelection,
    /// Moving-average window of the curves, in epochs.
    #[arg(long, default_value_t = 1)]
    pub smooth: usize,
    /// Also a GIF of this validation patient's predictions over the epochs (first run); an
    /// empty value takes the first patient.
    #[arg(long)]
    pub gif: Option<String>,
    /// One curve per class instead of the mean over the classes.
    #[arg(long)]
    pub per_class: bool,
    /// y limits of every panel, e.g. 0,1 [default: 0 to 1 for Dice, from the data otherwise].
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub ylim: Option<Vec<f64>>,
    /// Title of the figures [default: the first run's folder name].
    #[arg(long)]
    pub title: Option<String>,
}

pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    if let Some(l) = &args.ylim {
        anyhow::ensure!(
            l.len() == 2 && l[0] < l[1],
            "--ylim {l:?}: two values, the lower below the upper (e.g. --ylim 0,1)"
        );
    }
    let classes = args.arrays.classes(&args.runs[0])?;
    let runs = run_refs(&args.runs);
    let request = PlotRequest {
        metrics: args.arrays.stems(),
        classes,
        smooth: args.smooth.max(1),
        title: args.title.clone().unwrap_or_else(|| runs[0].group.clone()),
        gif_patient: args.gif.clone(),
        per_class: args.per_class,
        ylim: args.ylim.as_ref().map(|l| (l[0], l[1])),
    };
    for path in plot_runs(&runs, &request, &args.out)? {
        println!("{}", path.display());
    }
    Ok(())
}
