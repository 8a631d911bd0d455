//! The experiment's report: every method over its seeds, mean ± std, at each run's best epoch
//! and over its last epochs, and each method against the first one seed by seed.

use std::path::PathBuf;

use runs::eval::report::{best_epoch, lower_is_better, MetricArray, Stat};
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
    /// method - reference, per common seed, averaged over the last epochs.
    pub difference_last: Spread,
    pub better_in_last: usize,
    pub seeds: usize,
}

impl Paired {
    /// Whether the mean paired difference over the last epochs is beyond the seed spread: a
    /// two-sided paired t-test at 5 % (|mean| > t(0.975, n - 1) * std / sqrt(n)).
    pub fn beyond_spread(&self) -> bool {
        let d = self.difference_last;
        match t_critical(d.n) {
            Some(t) if d.std.is_finite() => d.mean.abs() > t * d.std / (d.n as f64).sqrt(),
            _ => false,
        }
    }
}

/// The 97.5th percentile of Student's t with `n - 1` degrees of freedom (two-sided 5 %); none
/// below two seeds.
fn t_critical(n: usize) -> Option<f64> {
    const TABLE: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    match n {
        0 | 1 => None,
        n if n - 1 <= TABLE.len() => Some(TABLE[n - 2]),
        n if n <= 31 => Some(2.1),
        _ => Some(1.96),
    }
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
                let differences = |pick: &dyn Fn(&RunValues) -> f64| -> Vec<f64> {
                    other
                        .runs
                        .iter()
                        .filter_map(|r| {
                            reference
                                .runs
                                .iter()
                                .find(|q| q.seed == r.seed)
                                .map(|q| pick(r) - pick(q))
                        })
                        .filter(|d| !d.is_nan())
                        .collect()
                };
                let better = |diffs: &[f64]| diffs.iter().filter(|&&d| improves(metric, d)).count();
                let at_best = differences(&|r| r.at_best[m]);
                let last = differences(&|r| r.last_epochs[m]);
                paired.push(Paired {
                    method: other.method.clone(),
                    metric: metric.clone(),
                    seeds: at_best.len(),
                    better_in: better(&at_best),
                    difference: Spread::of(at_best),
                    better_in_last: better(&last),
                    difference_last: Spread::of(last),
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

/// Whether `difference` (method - reference) on `metric` is an improvement.
fn improves(metric: &str, difference: f64) -> bool {
    if lower_is_better(metric) {
        difference < 0.0
    } else {
        difference > 0.0
    }
}

/// A formatted value of `metric` followed by the metric's unit, if it has one.
fn with_unit(value: String, metric: &str) -> String {
    match metric_unit(metric) {
        "" => value,
        unit => format!("{value} {unit}"),
    }
}

fn header(metric: &str) -> String {
    match metric_unit(metric) {
        "" => metric.to_string(),
        unit => format!("{metric} ({unit})"),
    }
}

impl ExperimentReport {
    /// A plain-language reading of the paired comparisons: for each method and metric, whether
    /// it beat the first method beyond the seed spread over the last epochs (a paired t-test
    /// at 5 %), with the difference and in how many seeds it was better. The last epochs, not
    /// the best one: the best epoch is chosen on the validation curves it is reported on.
    pub fn reading(&self, precision: usize) -> String {
        let Some(reference) = self.methods.first().map(|m| m.method.as_str()) else {
            return String::new();
        };
        let mut out = format!(
            "Reading (over the last {} epochs; \"beyond the seed spread\": a paired t-test at 5 %):\n\n",
            self.last_epochs
        );
        for p in &self.paired {
            let d = p.difference_last;
            let sign = if d.mean >= 0.0 { "+" } else { "" };
            let direction = if improves(&p.metric, d.mean) {
                "better"
            } else {
                "worse"
            };
            let verdict = if p.seeds < 2 {
                "one seed cannot tell".to_string()
            } else if p.beyond_spread() {
                format!("{direction} than {reference} beyond the seed spread")
            } else {
                format!("not distinguishable from {reference} within the seed spread")
            };
            out.push_str(&format!(
                "* {} on {}: {verdict} ({}, better in {} of {} seeds).\n",
                p.method,
                p.metric,
                with_unit(
                    format!("{sign}{:.precision$} ± {:.precision$}", d.mean, d.std),
                    &p.metric
                ),
                p.better_in_last,
                p.seeds
            ));
        }
        out
    }

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
                "\nSeed by seed against {reference} (method - {reference} with the same seed, mean ± std; seeds where the method is better):\n\n| method | metric | at the best epochs | better in | over the last {} epochs | better in |\n|---|---|---|---|---|---|\n",
                self.last_epochs
            ));
            for p in &self.paired {
                out.push_str(&format!(
                    "| {} | {} | {} | {} of {} | {} | {} of {} |\n",
                    p.method,
                    header(&p.metric),
                    p.difference.cell(precision),
                    p.better_in,
                    p.seeds,
                    p.difference_last.cell(precision),
                    p.better_in_last,
                    p.seeds
                ));
            }
            out.push_str(&format!("\n{}", self.reading(precision)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn paired(metric: &str, differences: &[f64]) -> Paired {
        Paired {
            method: "b".into(),
            metric: metric.into(),
            difference: Spread::of(differences.iter().copied()),
            better_in: 0,
            difference_last: Spread::of(differences.iter().copied()),
            better_in_last: differences.iter().filter(|&&d| d > 0.0).count(),
            seeds: differences.len(),
        }
    }

    #[test]
    fn beyond_the_spread_is_a_paired_t_test() {
        // mean 0.1, std 0.05, n 5: t = 0.1 / (0.05 / sqrt 5) = 4.47 > 2.776.
        assert!(paired("val_3d_dsc", &[0.05, 0.1, 0.15, 0.05, 0.15]).beyond_spread());
        // mean 0.02, std 0.1: t = 0.45.
        assert!(!paired("val_3d_dsc", &[0.1, -0.1, 0.12, -0.08, 0.06]).beyond_spread());
        // One seed proves nothing.
        assert!(!paired("val_3d_dsc", &[0.5]).beyond_spread());
    }

    #[test]
    fn reading_names_the_direction_for_distances_too() {
        let report = ExperimentReport {
            metrics: vec!["val_3d_dsc".into(), "val_3d_hd95".into()],
            classes: vec![1],
            last_epochs: 5,
            methods: ["a", "b"]
                .into_iter()
                .map(|m| MethodSummary {
                    method: m.into(),
                    runs: Vec::new(),
                    at_best: Vec::new(),
                    last_epochs: Vec::new(),
                })
                .collect(),
            paired: vec![
                paired("val_3d_dsc", &[0.1, -0.1, 0.12, -0.08, 0.06]),
                paired("val_3d_hd95", &[-2.0, -2.5, -1.5, -2.2, -1.8]),
            ],
        };
        let text = report.reading(2);
        assert!(
            text.contains("b on val_3d_dsc: not distinguishable from a within the seed spread"),
            "{text}"
        );
        assert!(
            text.contains(
                "b on val_3d_hd95: better than a beyond the seed spread (-2.00 ± 0.38 mm"
            ),
            "{text}"
        );
    }
}
