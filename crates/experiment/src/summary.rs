//! The experiment's report: every method over its seeds, mean ± std, at each run's best epoch
//! and over its last epochs, and each method against the first one seed by seed.

use std::path::PathBuf;

use boundary_loss::eval::report::{best_epoch, lower_is_better, MetricArray, Stat};
use serde::Serialize;

use crate::figures::{load_array, metric_unit};

/// One run's numbers: per metric, the value at the run's best epoch and the mean of its last
/// epochs (each a mean over rows and classes).
#[derive(Debug, Clone, Serialize)]
pub struct RunValues {
    pub seed: u64,
    pub dir: PathBuf,
    pub best_epoch: usize,
    pub at_best: Vec<f64>,
    pub last_epochs: Vec<f64>,
}

/// Mean and sample std (n - 1) over seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl Spread {
    fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let stat = Stat::with_ddof(values, 1);
        Spread {
            mean: stat.mean,
            std: stat.std,
            n: stat.count,
        }
    }

    fn cell(&self, precision: usize) -> String {
        if self.mean.is_nan() {
            "-".into()
        } else if self.std.is_nan() {
            format!("{:.precision$} (1 run)", self.mean)
        } else {
            format!("{:.precision$} ± {:.precision$}", self.mean, self.std)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MethodSummary {
    pub method: String,
    pub runs: Vec<RunValues>,
    pub at_best: Vec<Spread>,
    pub last_epochs: Vec<Spread>,
}

/// Seed-paired comparison of a method with the reference (the first method) on one metric.
#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    pub method: String,
    pub metric: String,
    /// method - reference, per common seed, at the best epochs.
    pub difference: Spread,
    pub better_in: usize,
    pub seeds: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    pub metrics: Vec<String>,
    pub classes: Vec<usize>,
    pub last_epochs: usize,
    pub methods: Vec<MethodSummary>,
    pub paired: Vec<Paired>,
}

/// The report of `methods` (name, runs as (seed, folder)).
pub fn experiment_report(
    methods: &[(String, Vec<(u64, PathBuf)>)],
    metrics: &[String],
    classes: &[usize],
    last_epochs: usize,
) -> anyhow::Result<ExperimentReport> {
    let mut summaries = Vec::new();
    for (method, runs) in methods {
        let mut values = Vec::new();
        for (seed, dir) in runs {
            let arrays: Vec<MetricArray> = metrics
                .iter()
                .map(|m| load_array(dir, m))
                .collect::<anyhow::Result<_>>()?;
            let means: Vec<Vec<f64>> = arrays.iter().map(|a| a.epoch_means(classes)).collect();
            let best = best_epoch(&means[0], lower_is_better(&metrics[0])).ok_or_else(|| {
                anyhow::anyhow!("{}: every epoch of {} is NaN", dir.display(), metrics[0])
            })?;
            let at = |m: &Vec<f64>| m.get(best).copied().unwrap_or(f64::NAN);
            let last = |m: &Vec<f64>| {
                let from = m.len().saturating_sub(last_epochs.max(1));
                Spread::of(m[from..].iter().copied()).mean
            };
            values.push(RunValues {
                seed: *seed,
                dir: dir.clone(),
                best_epoch: best,
                at_best: means.iter().map(at).collect(),
                last_epochs: means.iter().map(last).collect(),
            });
        }
        let spread = |pick: &dyn Fn(&RunValues) -> f64| Spread::of(values.iter().map(pick));
        summaries.push(MethodSummary {
            method: method.clone(),
            at_best: (0..metrics.len())
                .map(|m| spread(&|r| r.at_best[m]))
                .collect(),
            last_epochs: (0..metrics.len())
                .map(|m| spread(&|r| r.last_epochs[m]))
                .collect(),
            runs: values,
        });
    }
    let mut paired = Vec::new();
    if let Some((reference, others)) = summaries.split_first() {
        for other in others {
            for (m, metric) in metrics.iter().enumerate() {
                let diffs: Vec<f64> = other
                    .runs
                    .iter()
                    .filter_map(|r| {
                        reference
                            .runs
                            .iter()
                            .find(|q| q.seed == r.seed)
                            .map(|q| r.at_best[m] - q.at_best[m])
                    })
                    .filter(|d| !d.is_nan())
                    .collect();
                let better = diffs
                    .iter()
                    .filter(|&&d| {
                        if lower_is_better(metric) {
                            d < 0.0
                        } else {
                            d > 0.0
                        }
                    })
                    .count();
                paired.push(Paired {
                    method: other.method.clone(),
                    metric: metric.clone(),
                    seeds: diffs.len(),
                    difference: Spread::of(diffs),
                    better_in: better,
                });
            }
        }
    }
    Ok(ExperimentReport {
        metrics: metrics.to_vec(),
        classes: classes.to_vec(),
        last_epochs,
        methods: summaries,
        paired,
    })
}

fn header(metric: &str) -> String {
    match metric_unit(metric) {
        "" => metric.to_string(),
        unit => format!("{metric} ({unit})"),
    }
}

impl ExperimentReport {
    /// Markdown: the two tables (best epoch, last epochs), the paired comparison, every run.
    pub fn markdown(&self, precision: usize) -> String {
        let mut out = String::new();
        let columns: Vec<String> = self.metrics.iter().map(|m| header(m)).collect();
        let table = |title: &str, pick: &dyn Fn(&MethodSummary) -> &Vec<Spread>| {
            let mut t = format!(
                "{title}\n\n| method | runs | {} |\n|---|---|{}\n",
                columns.join(" | "),
                "---|".repeat(columns.len())
            );
            for m in &self.methods {
                let cells: Vec<String> = pick(m).iter().map(|s| s.cell(precision)).collect();
                t.push_str(&format!(
                    "| {} | {} | {} |\n",
                    m.method,
                    m.runs.len(),
                    cells.join(" | ")
                ));
            }
            t
        };
        out.push_str(&table(
            &format!(
                "Mean ± std over seeds (sample std), classes {:?}, at each run's best epoch by {}:",
                self.classes, self.metrics[0]
            ),
            &|m| &m.at_best,
        ));
        out.push('\n');
        out.push_str(&table(
            &format!(
                "The same, averaged over each run's last {} epochs:",
                self.last_epochs
            ),
            &|m| &m.last_epochs,
        ));
        if !self.paired.is_empty() {
            let reference = &self.methods[0].method;
            out.push_str(&format!(
                "\nSeed by seed against {reference} (difference at the best epochs, mean ± std; seeds where the method is better):\n\n| method | metric | difference | better in |\n|---|---|---|---|\n"
            ));
            for p in &self.paired {
                out.push_str(&format!(
                    "| {} | {} | {} | {} of {} |\n",
                    p.method,
                    header(&p.metric),
                    p.difference.cell(precision),
                    p.better_in,
                    p.seeds
                ));
            }
        }
        out.push_str(&format!(
            "\nEvery run (best epoch by {}):\n\n| method | seed | best epoch | {} |\n|---|---|---|{}\n",
            self.metrics[0],
            columns.join(" | "),
            "---|".repeat(columns.len())
        ));
        for m in &self.methods {
            for r in &m.runs {
                let cells: Vec<String> = r
                    .at_best
                    .iter()
                    .map(|v| format!("{v:.precision$}"))
                    .collect();
                out.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    m.method,
                    r.seed,
                    r.best_epoch,
                    cells.join(" | ")
                ));
            }
        }
        out
    }
}
