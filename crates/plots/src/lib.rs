//! Figures of runs and experiments, as PNG and SVG (and the numbers behind them as CSV): metric
//! curves over epochs (the original's `plot.py`), box plots and histograms at the best epoch
//! (`moustache.py`, `hist.py`), and an animated GIF of one patient's predictions over the
//! epochs (the README's `convert iter*/val/...` trick).
//!
//! This crate only draws: callers pass numbers (no file formats of the run folder here). Text
//! uses the bundled DejaVu Sans (assets/, its licence next to it), so figures look the same on
//! every machine and no system font library is needed. Every file is written to a temporary
//! name and renamed.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor};

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{path}: {reason}")]
    Draw { path: PathBuf, reason: String },
    #[error(transparent)]
    File(#[from] volume_io::FileError),
    #[error("nothing to plot: {0}")]
    Empty(String),
}

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped with the crate.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

/// Colours of groups (the tab10 palette), in group order.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// One figure, drawn by a function generic over the backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Where `path` is drawn before it is renamed: a hidden name in the same folder, ending in `ext`
/// (the backends choose the image format by the extension).
fn temporary(path: &Path, ext: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp.{ext}"))
}

/// Writes `figure` as `base.png` and `base.svg`.
fn save(figure: &impl Figure, base: &Path, size: (u32, u32)) -> Result<Vec<PathBuf>, PlotError> {
    register_font();
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let path = base.with_extension(ext);
        let temp = temporary(&path, ext);
        let fail = |reason: String| PlotError::Draw {
            path: path.clone(),
            reason,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| volume_io::FileError::new(parent, e))?;
        }
        let drawn = if ext == "png" {
            let root = BitMapBackend::new(&temp, size).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        } else {
            let root = SVGBackend::new(&temp, size).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        if let Err(reason) = drawn {
            let _ = std::fs::remove_file(&temp);
            return Err(fail(reason));
        }
        std::fs::rename(&temp, &path).map_err(|e| volume_io::FileError::new(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

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
fn groups(curves: &[Curve]) -> Vec<(String, Vec<usize>)> {
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

fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
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
fn integer_tick(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{:.0}", x)
    } else {
        String::new()
    }
}

fn axis_name(metric: &str, unit: &str) -> String {
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
            let epochs = panel
                .curves
                .iter()
                .map(|c| c.values.len())
                .max()
                .unwrap_or(1)
                .max(2);
            let (y0, y1) = panel.ylim.unwrap_or_else(|| {
                y_range(panel.curves.iter().flat_map(|c| c.values.iter().copied()))
            });
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
                let c = color(g);
                let curves: Vec<&Curve> = members.iter().map(|&i| &panel.curves[i]).collect();
                let stats = mean_and_std(&curves);
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
                    for curve in &curves {
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
                    None => group.clone(),
                };
                chart
                    .draw_series(LineSeries::new(points(&mean), c.stroke_width(3)))
                    .map_err(e)?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                    });
                if let Some((epoch, value)) = best {
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (epoch as f64, value.clamp(y0, y1)),
                            6,
                            c.filled(),
                        )))
                        .map_err(e)?;
                }
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
        }
        Ok(())
    }
}

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

/// One frame of a prediction GIF: slices side by side, each an image with the prediction and
/// the truth's outline over it.
pub struct Frame {
    pub caption: String,
    /// Per slice: gray image in [0, 1], truth and predicted class maps, row-major `height x width`.
    pub slices: Vec<(Vec<f32>, Vec<u8>, Vec<u8>)>,
}

/// An animated GIF of `frames` (one per epoch), each slice `height x width` drawn `scale` times
/// larger: the image in gray, predicted foreground in red, the truth's outline in green.
pub fn prediction_gif(
    frames: &[Frame],
    height: usize,
    width: usize,
    scale: u32,
    delay_ms: u32,
    out: &Path,
) -> Result<PathBuf, PlotError> {
    register_font();
    let tiles = frames.iter().map(|f| f.slices.len()).max().unwrap_or(0);
    if frames.is_empty() || tiles == 0 {
        return Err(PlotError::Empty(out.display().to_string()));
    }
    let gap = 4u32;
    let caption = 34u32;
    let size = (
        tiles as u32 * (width as u32 * scale + gap) + gap,
        height as u32 * scale + caption + gap,
    );
    let temp = temporary(out, "gif");
    let fail = |reason: String| PlotError::Draw {
        path: out.to_path_buf(),
        reason,
    };
    let drawn = (|| -> Result<(), String> {
        let root = BitMapBackend::gif(&temp, size, delay_ms)
            .map_err(|e| e.to_string())?
            .into_drawing_area();
        for frame in frames {
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            root.draw(&Text::new(
                frame.caption.clone(),
                (8, 6),
                (FONT, 20).into_font(),
            ))
            .map_err(|e| e.to_string())?;
            for (t, (image, truth, predicted)) in frame.slices.iter().enumerate() {
                let x0 = gap + t as u32 * (width as u32 * scale + gap);
                let y0 = caption;
                for r in 0..height {
                    for c in 0..width {
                        let i = r * width + c;
                        let g = (image[i].clamp(0.0, 1.0) * 255.0) as u8;
                        let outline = truth[i] > 0
                            && [(0i64, 1i64), (0, -1), (1, 0), (-1, 0)]
                                .iter()
                                .any(|(dr, dc)| {
                                    let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                                    rr < 0
                                        || cc < 0
                                        || rr >= height as i64
                                        || cc >= width as i64
                                        || truth[rr as usize * width + cc as usize] == 0
                                });
                        let pixel = if outline {
                            RGBColor(0, 220, 0)
                        } else if predicted[i] > 0 {
                            RGBColor(255, (g as u16 / 3) as u8, (g as u16 / 3) as u8)
                        } else {
                            RGBColor(g, g, g)
                        };
                        for dy in 0..scale {
                            for dx in 0..scale {
                                root.draw_pixel(
                                    (
                                        (x0 + c as u32 * scale + dx) as i32,
                                        (y0 + r as u32 * scale + dy) as i32,
                                    ),
                                    &pixel,
                                )
                                .map_err(|e| e.to_string())?;
                            }
                        }
                    }
                }
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(())
    })();
    if let Err(reason) = drawn {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(reason));
    }
    std::fs::rename(&temp, out).map_err(|e| volume_io::FileError::new(out, e))?;
    Ok(out.to_path_buf())
}
