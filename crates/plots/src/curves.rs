//! The curves figure: one panel per metric, a mean line and a ± std band per method over its
//! seeds, thin seed lines, the best epoch marked.

use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{color, save, Figure, PlotError, FONT};

/// One line: a run's (or a seed's) values per epoch, in its group (the method).
#[derive(Debug, Clone)]
pub struct Curve {
    pub group: String,
    pub label: String,
    pub values: Vec<f64>,
}

/// One panel of the curves figure: a metric.
#[derive(Debug, Clone)]
pub struct Panel {
    pub metric: String,
    /// Axis unit, e.g. "mm" (empty for none).
    pub unit: String,
    pub lower_is_better: bool,
    pub curves: Vec<Curve>,
    /// y limits; from the data when none.
    pub ylim: Option<(f64, f64)>,
}

/// Per group (in order of first appearance), the indices of its curves.
pub(crate) fn groups(curves: &[Curve]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, c) in curves.iter().enumerate() {
        match out.iter_mut().find(|(g, _)| *g == c.group) {
            Some((_, members)) => members.push(i),
            None => out.push((c.group.clone(), vec![i])),
        }
    }
    out
}

/// Mean and population std per epoch over the curves (NaN skipped), up to the longest.
fn mean_and_std(curves: &[&Curve]) -> Vec<(f64, f64)> {
    let epochs = curves.iter().map(|c| c.values.len()).max().unwrap_or(0);
    (0..epochs)
        .map(|e| {
            let v: Vec<f64> = curves
                .iter()
                .filter_map(|c| c.values.get(e).copied())
                .filter(|v| !v.is_nan())
                .collect();
            if v.is_empty() {
                return (f64::NAN, f64::NAN);
            }
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            (m, s)
        })
        .collect()
}

/// Centred moving average over `window` epochs (1: unchanged), NaN skipped.
pub fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    if window <= 1 {
        return values.to_vec();
    }
    let half = window / 2;
    (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            let v: Vec<f64> = values[lo..hi]
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect()
}

/// The best (epoch, value) of `values`: max, or min when lower is better; NaN skipped.
pub fn best(values: &[f64], lower_is_better: bool) -> Option<(usize, f64)> {
    values.iter().enumerate().filter(|(_, v)| !v.is_nan()).fold(
        None,
        |acc: Option<(usize, f64)>, (e, &v)| match acc {
            Some((_, b)) if (lower_is_better && v >= b) || (!lower_is_better && v <= b) => acc,
            _ => Some((e, v)),
        },
    )
}

/// Metric curves over epochs: one panel per metric, per group a mean line (with a band of
/// ± one std over its curves when it has several, e.g. seeds) and its curves as thin lines, the
/// best epoch of the mean marked.
pub struct CurvesFigure {
    pub title: String,
    pub panels: Vec<Panel>,
    /// Moving-average window applied to every line (1: none).
    pub smooth: usize,
}

impl CurvesFigure {
    /// `base.png`, `base.svg` and `base.csv` (the plotted numbers, unsmoothed).
    pub fn save(&self, base: &Path) -> Result<Vec<PathBuf>, PlotError> {
        if self.panels.iter().all(|p| p.curves.is_empty()) {
            return Err(PlotError::Empty(self.title.clone()));
        }
        let height = 60 + 330 * self.panels.len() as u32;
        let mut written = save(self, base, (1000, height))?;
        let csv = base.with_extension("csv");
        volume_io::write_text_atomically(&csv, &self.csv())?;
        written.push(csv);
        Ok(written)
    }

    fn csv(&self) -> String {
        let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
        for p in &self.panels {
            for (group, members) in groups(&p.curves) {
                let curves: Vec<&Curve> = members.iter().map(|&i| &p.curves[i]).collect();
                let stats = mean_and_std(&curves);
                columns.push((
                    format!("{}:{group}:mean", p.metric),
                    stats.iter().map(|s| s.0).collect(),
                ));
                columns.push((
                    format!("{}:{group}:std", p.metric),
                    stats.iter().map(|s| s.1).collect(),
                ));
                for c in curves {
                    columns.push((format!("{}:{}", p.metric, c.label), c.values.clone()));
                }
            }
        }
        let rows = columns.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        let mut out = String::from("epoch");
        for (name, _) in &columns {
            out.push(',');
            out.push_str(name);
        }
        out.push('\n');
        for e in 0..rows {
            out.push_str(&e.to_string());
            for (_, v) in &columns {
                out.push(',');
                if let Some(x) = v.get(e).filter(|x| !x.is_nan()) {
                    out.push_str(&format!("{x:.6}"));
                }
            }
            out.push('\n');
        }
        out
    }
}

pub(crate) fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (
        (lo - pad).min(if lo >= 0.0 { 0.0 } else { lo - pad }),
        hi + pad,
    )
}

/// Tick labels of a count or an epoch: integers only.
pub(crate) fn integer_tick(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{:.0}", x)
    } else {
        String::new()
    }
}

pub(crate) fn axis_name(metric: &str, unit: &str) -> String {
    if unit.is_empty() {
        metric.to_string()
    } else {
        format!("{metric} ({unit})")
    }
}

impl Figure for CurvesFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let root = root.titled(&self.title, (FONT, 26)).map_err(e)?;
        let areas = root.split_evenly((self.panels.len(), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            self.draw_panel(panel, area)?;
        }
        Ok(())
    }
}

/// The chart of one panel: epochs on x, the metric on y.
type PanelChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

impl CurvesFigure {
    /// One metric's panel: axes, every group's band, curves and mean, the legend.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let epochs = panel
            .curves
            .iter()
            .map(|c| c.values.len())
            .max()
            .unwrap_or(1)
            .max(2);
        let (y0, y1) = panel
            .ylim
            .unwrap_or_else(|| y_range(panel.curves.iter().flat_map(|c| c.values.iter().copied())));
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .caption(
                format!(
                    "{} over epochs ({} is better)",
                    panel.metric,
                    if panel.lower_is_better {
                        "lower"
                    } else {
                        "higher"
                    }
                ),
                (FONT, 18),
            )
            .build_cartesian_2d(0f64..(epochs - 1) as f64, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_labels((epochs).min(16))
            .x_label_formatter(&integer_tick)
            .x_desc("epoch")
            .y_desc(axis_name(&panel.metric, &panel.unit))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(e)?;
        for (g, (group, members)) in groups(&panel.curves).into_iter().enumerate() {
            let curves: Vec<&Curve> = members.iter().map(|&i| &panel.curves[i]).collect();
            self.draw_group(&mut chart, color(g), &group, &curves, (y0, y1), panel)?;
        }
        chart
            .configure_series_labels()
            .position(if panel.lower_is_better {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(e)?;
        Ok(())
    }

    /// One group of a panel (a method over its seeds): the ± std band and each curve thin when
    /// it has several, the mean thick and labelled, its best epoch marked.
    fn draw_group<DB: DrawingBackend>(
        &self,
        chart: &mut PanelChart<'_, DB>,
        c: RGBColor,
        group: &str,
        curves: &[&Curve],
        (y0, y1): (f64, f64),
        panel: &Panel,
    ) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let stats = mean_and_std(curves);
        let mean = smooth(&stats.iter().map(|s| s.0).collect::<Vec<_>>(), self.smooth);
        let std = smooth(&stats.iter().map(|s| s.1).collect::<Vec<_>>(), self.smooth);
        let points = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .filter(|(_, y)| y.is_finite())
                .map(|(x, &y)| (x as f64, y.clamp(y0, y1)))
                .collect()
        };
        if curves.len() > 1 {
            let mut band: Vec<(f64, f64)> = points(
                &mean
                    .iter()
                    .zip(&std)
                    .map(|(m, s)| m + s)
                    .collect::<Vec<_>>(),
            );
            let mut lower = points(
                &mean
                    .iter()
                    .zip(&std)
                    .map(|(m, s)| m - s)
                    .collect::<Vec<_>>(),
            );
            lower.reverse();
            band.extend(lower);
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.15).filled())))
                .map_err(e)?;
            for curve in curves {
                chart
                    .draw_series(LineSeries::new(
                        points(&smooth(&curve.values, self.smooth)),
                        c.mix(0.35).stroke_width(1),
                    ))
                    .map_err(e)?;
            }
        }
        let best = best(&mean, panel.lower_is_better);
        let label = match best {
            Some((epoch, value)) if curves.len() > 1 => format!(
                "{group}: mean ± std of {} runs (best {value:.3} at epoch {epoch})",
                curves.len()
            ),
            Some((epoch, value)) => format!("{group} (best {value:.3} at epoch {epoch})"),
            None => group.to_string(),
        };
        chart
            .draw_series(LineSeries::new(points(&mean), c.stroke_width(3)))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
        if let Some((epoch, value)) = best {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (epoch as f64, value.clamp(y0, y1)),
                    6,
                    c.filled(),
                )))
                .map_err(e)?;
        }
        Ok(())
    }
}
