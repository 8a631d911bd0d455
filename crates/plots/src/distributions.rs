//! Distributions at one epoch: box plots (the original's `moustache.py`) and histograms
//! (`hist.py`) of per-patient or per-slice values.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::curves::{axis_name, groups, integer_tick, y_range, Curve};
use crate::{color, save, Figure, PlotError, FONT};

/// Values of one box (or histogram): e.g. the patients of one run at its best epoch.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The colour group (the method).
    pub group: String,
    pub label: String,
    pub values: Vec<f64>,
}

/// An error when no sample holds a number.
fn no_values(samples: &[Sample], title: &str) -> Result<(), PlotError> {
    if samples.iter().all(|s| s.values.iter().all(|v| v.is_nan())) {
        return Err(PlotError::Empty(title.to_string()));
    }
    Ok(())
}

/// Box plots, one box per sample, coloured by group: the box spans the quartiles, the whiskers
/// the 5th and 95th percentiles (as `moustache.py`), the line the median, the diamond the mean;
/// every value is drawn as a dot.
pub struct BoxFigure {
    pub title: String,
    pub metric: String,
    pub unit: String,
    pub samples: Vec<Sample>,
}

/// numpy's linear percentile of sorted values.
fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = (sorted.len() - 1) as f64 * q / 100.0;
    let (i, g) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 >= sorted.len() {
        sorted[sorted.len() - 1]
    } else {
        sorted[i] + (sorted[i + 1] - sorted[i]) * g
    }
}

impl BoxFigure {
    pub fn save(&self, base: &Path) -> Result<Vec<PathBuf>, PlotError> {
        no_values(&self.samples, &self.title)?;
        let width = (200 + 230 * self.samples.len() as u32).max(700);
        save(self, base, (width, 600))
    }
}

impl Figure for BoxFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let (y0, y1) = y_range(self.samples.iter().flat_map(|s| s.values.iter().copied()));
        let n = self.samples.len();
        let labels: Vec<String> = self.samples.iter().map(|s| s.label.clone()).collect();
        let mut chart = ChartBuilder::on(root)
            .margin(15)
            .caption(&self.title, (FONT, 22))
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_label_style((FONT, 13))
            .light_line_style(WHITE.mix(0.0))
            .y_desc(axis_name(&self.metric, &self.unit))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(e)?;
        let group_names: Vec<String> = groups(
            &self
                .samples
                .iter()
                .map(|s| Curve {
                    group: s.group.clone(),
                    label: s.label.clone(),
                    values: vec![],
                })
                .collect::<Vec<_>>(),
        )
        .into_iter()
        .map(|(g, _)| g)
        .collect();
        for (i, sample) in self.samples.iter().enumerate() {
            let mut v: Vec<f64> = sample
                .values
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let g = group_names
                .iter()
                .position(|n| *n == sample.group)
                .unwrap_or(0);
            let c = color(g);
            let x = i as f64;
            let q = |p| percentile_sorted(&v, p);
            let (p5, p25, p50, p75, p95) = (q(5.0), q(25.0), q(50.0), q(75.0), q(95.0));
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let w = 0.3;
            chart
                .draw_series([
                    Rectangle::new([(x - w, p25), (x + w, p75)], c.mix(0.3).filled()),
                    Rectangle::new([(x - w, p25), (x + w, p75)], c.stroke_width(2)),
                ])
                .map_err(e)?;
            chart
                .draw_series([
                    PathElement::new(vec![(x - w, p50), (x + w, p50)], c.stroke_width(3)),
                    PathElement::new(vec![(x, p75), (x, p95)], c.stroke_width(1)),
                    PathElement::new(vec![(x, p25), (x, p5)], c.stroke_width(1)),
                    PathElement::new(
                        vec![(x - w / 2.0, p95), (x + w / 2.0, p95)],
                        c.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(x - w / 2.0, p5), (x + w / 2.0, p5)],
                        c.stroke_width(1),
                    ),
                ])
                .map_err(e)?;
            chart
                .draw_series(v.iter().enumerate().map(|(j, &y)| {
                    let jitter = ((j * 37) % 11) as f64 / 11.0 * 0.3 - 0.15;
                    Circle::new((x + jitter, y), 2, BLACK.mix(0.5).filled())
                }))
                .map_err(e)?;
            chart
                .draw_series(std::iter::once(TriangleMarker::new(
                    (x, mean),
                    6,
                    BLACK.filled(),
                )))
                .map_err(e)?;
        }
        Ok(())
    }
}

/// Histograms of the samples, one outline per group (samples of a group pooled), counts.
pub struct HistogramFigure {
    pub title: String,
    pub metric: String,
    pub unit: String,
    pub samples: Vec<Sample>,
    pub bins: usize,
}

impl HistogramFigure {
    pub fn save(&self, base: &Path) -> Result<Vec<PathBuf>, PlotError> {
        no_values(&self.samples, &self.title)?;
        save(self, base, (900, 550))
    }
}

impl Figure for HistogramFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let all: Vec<f64> = self
            .samples
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|v| v.is_finite())
            .collect();
        // The bins span the values exactly (from 0 when all are positive): no padding past the
        // largest value (Dice would reach past 1).
        let lo = all.iter().copied().fold(0.0f64, f64::min);
        let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let bins = self.bins.max(1);
        let width = (hi - lo) / bins as f64;
        let curves: Vec<Curve> = self
            .samples
            .iter()
            .map(|s| Curve {
                group: s.group.clone(),
                label: s.label.clone(),
                values: s.values.clone(),
            })
            .collect();
        let pooled: Vec<(String, Vec<usize>)> = groups(&curves)
            .into_iter()
            .map(|(g, members)| {
                let mut counts = vec![0usize; bins];
                for &i in &members {
                    for v in curves[i].values.iter().filter(|v| v.is_finite()) {
                        let b = (((v - lo) / width) as usize).min(bins - 1);
                        counts[b] += 1;
                    }
                }
                (g, counts)
            })
            .collect();
        let top = pooled
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut chart = ChartBuilder::on(root)
            .margin(15)
            .caption(&self.title, (FONT, 22))
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0f64..(top as f64 * 1.1))
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(axis_name(&self.metric, &self.unit))
            .y_desc("count")
            .y_label_formatter(&integer_tick)
            .light_line_style(WHITE.mix(0.0))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(e)?;
        for (g, (group, counts)) in pooled.iter().enumerate() {
            let c = color(g);
            chart
                .draw_series(counts.iter().enumerate().map(|(b, &n)| {
                    let x0 = lo + b as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, n as f64)], c.mix(0.3).filled())
                }))
                .map_err(e)?;
            let mut outline = vec![(lo, 0.0)];
            for (b, &n) in counts.iter().enumerate() {
                let x0 = lo + b as f64 * width;
                outline.push((x0, n as f64));
                outline.push((x0 + width, n as f64));
            }
            outline.push((hi, 0.0));
            chart
                .draw_series(LineSeries::new(outline, c.stroke_width(2)))
                .map_err(e)?
                .label(group.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()));
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(e)?;
        Ok(())
    }
}
