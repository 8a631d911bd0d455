//! Tables of runs (the original's `report.py`): for each run, the best epoch by the first
//! metric (argmax for Dice, argmin for distances and losses) or the average of the last epochs,
//! and the mean and population std of every metric there, over rows (patients or images) and
//! the chosen classes, NaN skipped; per class on request. As the original's text, Markdown or
//! JSON.

use ndarray::{s, Array3};
use serde::Serialize;

/// How the epoch a run is reported at is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Max for Dice-like metrics (name contains `dice` or `dsc`), min for the others.
    Auto,
    Max,
    Min,
    /// The mean over the last `n` epochs of the per-epoch means (no epoch is chosen).
    Average(usize),
}

/// Whether smaller values of the metric named `name` (a file stem) are better.
pub fn lower_is_better(name: &str) -> bool {
    let name = name.to_lowercase();
    !(name.contains("dice") || name.contains("dsc"))
}

/// Mean and population standard deviation of the values that are not NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    /// Values that entered the mean (NaN left out).
    pub count: usize,
}

impl Stat {
    /// Mean and population std (numpy's ddof 0).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Stat {
        Stat::with_ddof(values, 0)
    }

    /// Mean and std with `ddof` delta degrees of freedom (1: the sample std); the std is NaN
    /// when there are no more values than `ddof`.
    pub fn with_ddof(values: impl IntoIterator<Item = f64>, ddof: usize) -> Stat {
        let values: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        let count = values.len();
        if count == 0 {
            return Stat {
                mean: f64::NAN,
                std: f64::NAN,
                count,
            };
        }
        let mean = values.iter().sum::<f64>() / count as f64;
        let std = if count > ddof {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (count - ddof) as f64).sqrt()
        } else {
            f64::NAN
        };
        Stat { mean, std, count }
    }
}

/// Per epoch of an `(epochs, rows, classes)` array, the mean over rows and `classes` (NaN
/// skipped).
pub fn epoch_means(values: &Array3<f32>, classes: &[usize]) -> Vec<f64> {
    (0..values.dim().0)
        .map(|e| stat_at(values, e, classes).mean)
        .collect()
}

/// Mean and population std over the rows and `classes` of one epoch.
fn stat_at(values: &Array3<f32>, epoch: usize, classes: &[usize]) -> Stat {
    let e = values.slice(s![epoch, .., ..]);
    Stat::of(e.outer_iter().flat_map(|row| {
        classes
            .iter()
            .map(move |&k| row[k] as f64)
            .collect::<Vec<_>>()
    }))
}

/// One metric of one run: `(epochs, rows, classes)`.
#[derive(Debug, Clone)]
pub struct MetricArray {
    pub name: String,
    pub values: Array3<f32>,
}

impl MetricArray {
    fn at(&self, epoch: usize, classes: &[usize]) -> Stat {
        stat_at(&self.values, epoch, classes)
    }

    /// Per epoch, the mean over rows and `classes`.
    pub fn epoch_means(&self, classes: &[usize]) -> Vec<f64> {
        epoch_means(&self.values, classes)
    }
}

/// The best epoch of `means` (NaN skipped; the first of equals), or `None` if all are NaN.
pub fn best_epoch(means: &[f64], lower_is_better: bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (e, &m) in means.iter().enumerate() {
        if m.is_nan() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, b)) if lower_is_better => m < b,
            Some((_, b)) => m > b,
        };
        if better {
            best = Some((e, m));
        }
    }
    best.map(|(e, _)| e)
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricReport {
    pub metric: String,
    #[serde(flatten)]
    pub value: Stat,
    /// Per class: mean and std over rows.
    pub per_class: Vec<(usize, Stat)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run: String,
    /// The epoch reported (0-based); none when averaging the last epochs.
    pub epoch: Option<usize>,
    pub metrics: Vec<MetricReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub classes: Vec<usize>,
    /// `max`, `min` or `avg of the last N epochs`, by the first metric.
    pub selection: String,
    pub selected_by: String,
    pub runs: Vec<RunReport>,
}

/// Why a report cannot be made (the caller names the file).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("run {run}: {metric} has {classes} classes, class {class} asked for")]
    Class {
        run: String,
        metric: String,
        classes: usize,
        class: usize,
    },
    #[error("run {run}: {metric} holds {epochs} epochs, but the epoch chosen by {by} is {epoch}")]
    Epochs {
        run: String,
        metric: String,
        epochs: usize,
        by: String,
        epoch: usize,
    },
    #[error("run {run}: every epoch of {metric} is NaN or there is none")]
    NoEpoch { run: String, metric: String },
}

/// The report of `runs` (name, arrays in metric order; the first chooses the epoch).
pub fn build_report(
    runs: &[(String, Vec<MetricArray>)],
    classes: &[usize],
    selection: Selection,
) -> Result<Report, ReportError> {
    let first = runs
        .first()
        .and_then(|(_, m)| m.first())
        .map_or(String::new(), |m| m.name.clone());
    let mut reports = Vec::new();
    for (run, metrics) in runs {
        for m in metrics {
            let k = m.values.dim().2;
            if let Some(&class) = classes.iter().find(|&&c| c >= k) {
                return Err(ReportError::Class {
                    run: run.clone(),
                    metric: m.name.clone(),
                    classes: k,
                    class,
                });
            }
        }
        let Some(chooser) = metrics.first() else {
            continue;
        };
        let means = chooser.epoch_means(classes);
        let lower = match selection {
            Selection::Min => true,
            Selection::Max => false,
            _ => lower_is_better(&chooser.name),
        };
        let epoch = match selection {
            Selection::Average(_) => None,
            _ => Some(
                best_epoch(&means, lower).ok_or_else(|| ReportError::NoEpoch {
                    run: run.clone(),
                    metric: chooser.name.clone(),
                })?,
            ),
        };
        let mut metric_reports = Vec::new();
        for m in metrics {
            let epochs = m.values.dim().0;
            let report = match (epoch, selection) {
                (Some(e), _) => {
                    if e >= epochs {
                        return Err(ReportError::Epochs {
                            run: run.clone(),
                            metric: m.name.clone(),
                            epochs,
                            by: chooser.name.clone(),
                            epoch: e,
                        });
                    }
                    MetricReport {
                        metric: m.name.clone(),
                        value: m.at(e, classes),
                        per_class: classes.iter().map(|&k| (k, m.at(e, &[k]))).collect(),
                    }
                }
                (None, Selection::Average(n)) => {
                    let last = |cls: &[usize]| {
                        let means = m.epoch_means(cls);
                        let from = means.len().saturating_sub(n.max(1));
                        Stat::of(means[from..].iter().copied())
                    };
                    MetricReport {
                        metric: m.name.clone(),
                        value: last(classes),
                        per_class: classes.iter().map(|&k| (k, last(&[k]))).collect(),
                    }
                }
                (None, _) => unreachable!("an epoch is chosen unless averaging"),
            };
            metric_reports.push(report);
        }
        reports.push(RunReport {
            run: run.clone(),
            epoch,
            metrics: metric_reports,
        });
    }
    let selection_name = match selection {
        Selection::Average(n) => format!("avg of the last {n} epochs"),
        Selection::Max => "max".into(),
        Selection::Min => "min".into(),
        Selection::Auto if lower_is_better(&first) => "min".into(),
        Selection::Auto => "max".into(),
    };
    Ok(Report {
        classes: classes.to_vec(),
        selection: selection_name,
        selected_by: first,
        runs: reports,
    })
}

fn fixed(v: f64, precision: usize) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v:.precision$}")
    }
}

impl Report {
    fn metric_names(&self) -> Vec<String> {
        self.runs
            .first()
            .map(|r| r.metrics.iter().map(|m| m.metric.clone()).collect())
            .unwrap_or_default()
    }

    /// The original's text format: per metric, a line per run (`name: mean (std) at epoch E`)
    /// and with `per_class` (several classes) a line of `k=mean (std)`.
    pub fn text(&self, precision: usize, per_class: bool) -> String {
        let mut out = format!("Reporting on {} folders.\n", self.runs.len());
        for (i, name) in self.metric_names().iter().enumerate() {
            out.push_str(&format!("{name} (classes {:?})\n", self.classes));
            for run in &self.runs {
                let m = &run.metrics[i];
                out.push_str(&format!(
                    "\t{}: {} ({}) {}\n",
                    run.run,
                    fixed(m.value.mean, precision),
                    fixed(m.value.std, precision),
                    // The original printed "at epoch 0" in avg mode.
                    run.epoch
                        .map_or_else(|| self.selection.clone(), |e| format!("at epoch {e}"))
                ));
                if per_class && self.classes.len() > 1 {
                    let parts: Vec<String> = m
                        .per_class
                        .iter()
                        .map(|(k, s)| {
                            format!(
                                "{k}={} ({})",
                                fixed(s.mean, precision),
                                fixed(s.std, precision)
                            )
                        })
                        .collect();
                    out.push_str(&format!("\t\t {}\n", parts.join(" ")));
                }
            }
        }
        out
    }

    /// A Markdown table: a row per run, a column per metric (`mean ± std`), and with
    /// `per_class` a column per metric and class.
    pub fn markdown(&self, precision: usize, per_class: bool) -> String {
        let names = self.metric_names();
        let mut header = vec![
            "run".to_string(),
            format!("epoch ({} {})", self.selected_by, self.selection),
        ];
        for name in &names {
            header.push(name.clone());
            if per_class && self.classes.len() > 1 {
                header.extend(self.classes.iter().map(|k| format!("{name} [{k}]")));
            }
        }
        let mut out = format!(
            "| {} |\n|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        );
        let cell = |s: &Stat| format!("{} ± {}", fixed(s.mean, precision), fixed(s.std, precision));
        for run in &self.runs {
            let mut row = vec![
                run.run.clone(),
                run.epoch.map_or_else(|| "-".into(), |e| e.to_string()),
            ];
            for m in &run.metrics {
                row.push(cell(&m.value));
                if per_class && self.classes.len() > 1 {
                    row.extend(m.per_class.iter().map(|(_, s)| cell(s)));
                }
            }
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(values: &[[[f32; 2]; 2]]) -> Array3<f32> {
        Array3::from_shape_fn((values.len(), 2, 2), |(e, r, k)| values[e][r][k])
    }

    #[test]
    fn best_epoch_is_argmax_for_dice_and_argmin_for_distances() {
        let dice = MetricArray {
            name: "val_dice".into(),
            values: array(&[
                [[0.0, 0.2], [0.0, 0.4]],
                [[0.0, 0.9], [0.0, 0.7]],
                [[0.0, 0.5], [0.0, 0.5]],
            ]),
        };
        let hd = MetricArray {
            name: "val_3d_hd95".into(),
            values: array(&[
                [[0.0, 9.0], [0.0, 7.0]],
                [[0.0, 2.0], [0.0, f32::NAN]],
                [[0.0, 1.0], [0.0, 5.0]],
            ]),
        };
        let runs = vec![("a".to_string(), vec![dice.clone(), hd.clone()])];
        let r = build_report(&runs, &[1], Selection::Auto).unwrap();
        assert_eq!(r.runs[0].epoch, Some(1));
        // HD at epoch 1: one value, the NaN left out.
        assert_eq!(
            r.runs[0].metrics[1].value,
            Stat {
                mean: 2.0,
                std: 0.0,
                count: 1
            }
        );
        let m = &r.runs[0].metrics[0].value;
        assert!(
            (m.mean - 0.8).abs() < 1e-6 && (m.std - 0.1).abs() < 1e-6,
            "{m:?}"
        );
        let by_hd = vec![("a".to_string(), vec![hd, dice])];
        let r = build_report(&by_hd, &[1], Selection::Auto).unwrap();
        // Means 8, 2, 3: the minimum is epoch 1.
        assert_eq!(r.runs[0].epoch, Some(1));
        assert_eq!(r.selection, "min");
    }

    #[test]
    fn text_is_the_originals_format() {
        let dice = MetricArray {
            name: "val_dice".into(),
            values: array(&[[[1.0, 0.5], [0.5, 0.25]]]),
        };
        let r = build_report(&[("gdl".to_string(), vec![dice])], &[0, 1], Selection::Max).unwrap();
        assert_eq!(
            r.text(3, true),
            "Reporting on 1 folders.\nval_dice (classes [0, 1])\n\tgdl: 0.562 (0.272) at epoch 0\n\t\t 0=0.750 (0.250) 1=0.375 (0.125)\n"
        );
    }

    #[test]
    fn a_missing_class_or_epoch_is_an_error() {
        let short = MetricArray {
            name: "val_3d_dsc".into(),
            values: array(&[[[1.0, 0.5], [0.5, 0.25]]]),
        };
        let long = MetricArray {
            name: "val_dice".into(),
            values: array(&[[[0.0, 0.1], [0.0, 0.1]], [[0.0, 0.9], [0.0, 0.9]]]),
        };
        let e = build_report(
            &[("r".to_string(), vec![long, short.clone()])],
            &[1],
            Selection::Auto,
        )
        .unwrap_err();
        assert!(e.to_string().contains("holds 1 epochs"), "{e}");
        let e = build_report(&[("r".to_string(), vec![short])], &[2], Selection::Auto).unwrap_err();
        assert!(e.to_string().contains("class 2"), "{e}");
    }
}
