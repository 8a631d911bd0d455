//! `boundary-loss metrics RUN_DIR`: the validation metrics of every epoch of a run, from its
//! saved predictions (the original's `metrics_overtime.py`).

use std::path::PathBuf;

use clap::Args;
use runs::eval::report::best_epoch;
use runs::eval::{
    over_epochs::MetricsPlan,
    records::{MetricsOptions, RunMetric},
};
use runs::eval::{AssdDefinition, Hd95Definition};

use super::progress_bar;

#[derive(Args, Debug, Clone)]
pub struct MetricsArgs {
    /// The run folder (holds run.toml and iterNNN/val/*.png).
    pub run_dir: PathBuf,
    /// Metrics, comma-separated: 3d_dsc, 3d_hd, 3d_hd95, 3d_assd (per patient) and hd,
    /// boundary (the original's: unit spacing, truncated maps), boundary_mm (exact maps in mm;
    /// needs the split's spacing.json or .pkl) (per slice).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "3d_dsc,3d_hd,3d_hd95,3d_assd,hd,boundary"
    )]
    pub metrics: Vec<RunMetric>,
    /// HD95: medpy (both directions pooled) or monai (larger directed 95th percentile).
    #[arg(long, default_value = "medpy", value_parser = super::choice::<Hd95Definition>())]
    pub hd95: Hd95Definition,
    /// ASSD: pooled (medpy 0.5, MONAI) or mean-of-directed (medpy 0.4).
    #[arg(long, default_value = "pooled", value_parser = super::choice::<AssdDefinition>())]
    pub assd: AssdDefinition,
    /// Recompute every epoch (otherwise epochs already computed the same way are kept).
    #[arg(long)]
    pub force: bool,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: &MetricsArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let mut metrics = args.metrics.clone();
    metrics.sort();
    metrics.dedup();
    let options = MetricsOptions {
        metrics,
        hd95: args.hd95,
        assd: args.assd,
        force: args.force,
    };
    let plan = MetricsPlan::new(&args.run_dir, options)?;
    let bar = progress_bar("patient-epochs");
    bar.set_length(plan.units().len() as u64);
    let summaries = plan.run(&|| bar.inc(1))?;
    bar.finish_and_clear();
    for s in summaries {
        let last = s.epoch_means.last().copied().unwrap_or(f64::NAN);
        let best = best_epoch(&s.epoch_means, s.metric.lower_is_better())
            .map_or(f64::NAN, |e| s.epoch_means[e]);
        let empty = if s.empty_cases > 0 {
            format!(", {} values with an empty mask", s.empty_cases)
        } else {
            String::new()
        };
        println!(
            "{}: {:?} ({} epochs kept, {} computed{empty}); mean over the metric classes: last {last:.4}, best {best:.4}",
            s.file.display(),
            s.shape,
            s.kept_epochs,
            s.shape[0] - s.kept_epochs,
        );
    }
    Ok(())
}
