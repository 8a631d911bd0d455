//! Figures of run folders: metric curves over epochs (runs grouped by method, seeds as a band),
//! box plots and histograms at each run's best epoch, and a GIF of one validation patient's
//! predictions over the epochs. Used by the `plot` command and by experiments.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use datasets::data::slice_stem;
use ndarray::Array3;
use plots::{BoxFigure, Curve, CurvesFigure, Frame, HistogramFigure, Panel, Sample};
use runs::config::{anchored_regex, RunConfig};
use runs::eval::report::{best_epoch, lower_is_better, MetricArray};
use runs::inputs::{open_split, patients_of};
use runs::run_folder::{iteration_dir, val_prediction, RUN_FILE};
use volume_io::{read_label_map, FileError};

/// A run folder and how figures name it: its group (the method) and its own label.
#[derive(Debug, Clone)]
pub struct RunRef {
    pub dir: PathBuf,
    pub group: String,
    pub label: String,
}

/// Runs named from their folders: `.../METHOD/seedN` is run `METHOD seedN` of group `METHOD`;
/// any other folder is its own group.
pub fn run_refs(dirs: &[PathBuf]) -> Vec<RunRef> {
    dirs.iter()
        .map(|dir| {
            let name = |p: &Path| {
                p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            };
            let own = name(dir);
            let seeded = own
                .strip_prefix("seed")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            match dir.parent().filter(|_| seeded) {
                Some(parent) => {
                    let group = name(parent);
                    RunRef {
                        dir: dir.clone(),
                        label: format!("{group} {own}"),
                        group,
                    }
                }
                None => RunRef {
                    dir: dir.clone(),
                    group: own.clone(),
                    label: own,
                },
            }
        })
        .collect()
}

/// The unit of a metric array, from its name.
pub fn metric_unit(stem: &str) -> &'static str {
    if stem.contains("boundary_mm") {
        "mm, summed over pixels"
    } else if stem.contains("boundary") {
        "px (unit spacing), summed over pixels"
    } else if stem.contains("hd") || stem.contains("assd") {
        "mm"
    } else {
        ""
    }
}

/// `val_3d_dsc` from `3d_dsc`, `val_3d_dsc.npy` or `val_3d_dsc`.
pub fn array_stem(name: &str) -> String {
    let name = name.strip_suffix(".npy").unwrap_or(name);
    if name.starts_with("val_") || name.starts_with("tra_") {
        name.to_string()
    } else {
        format!("val_{name}")
    }
}

/// `RUN/<stem>.npy` as `(epochs, rows, classes)`.
pub fn load_array(run: &Path, stem: &str) -> anyhow::Result<MetricArray> {
    let path = run.join(format!("{stem}.npy"));
    if !path.is_file() {
        return Err(FileError::new(
            &path,
            format!(
                "missing (training writes val_dice, val_3d_dsc, val_3d_hd95; `boundary-loss metrics {}` the others)",
                run.display()
            ),
        )
        .into());
    }
    volume_io::guard::check_npy_file(&path)?;
    let values: Array3<f32> = ndarray_npy::read_npy(&path).map_err(|e| {
        FileError::new(
            &path,
            format!("not an (epochs, rows, classes) float32 array: {e}"),
        )
    })?;
    Ok(MetricArray {
        name: stem.to_string(),
        values,
    })
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct PlotRequest {
    /// Array stems; the first chooses each run's best epoch for the box plots and histograms.
    pub metrics: Vec<String>,
    pub classes: Vec<usize>,
    /// Moving-average window of the curves (1: none).
    pub smooth: usize,
    pub title: String,
    /// A GIF of this validation patient of the first run (`Some("")`: its first patient).
    pub gif_patient: Option<String>,
    /// Curves per class (each class its own group) instead of the mean over the classes.
    pub per_class: bool,
    /// y limits of every panel [default: 0 to 1 for Dice, from the data otherwise].
    pub ylim: Option<(f64, f64)>,
}

/// Draws the figures of `runs` into `out_dir`; returns the files written.
pub fn plot_runs(
    runs: &[RunRef],
    request: &PlotRequest,
    out_dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    if runs.is_empty() || request.metrics.is_empty() {
        bail!("nothing to plot: no run or no metric");
    }
    let arrays = load_arrays(runs, request)?;
    let mut written = plot_curves(runs, &arrays, request, out_dir)?;
    written.extend(plot_distributions(runs, &arrays, request, out_dir)?);
    if let Some(patient) = &request.gif_patient {
        written.push(prediction_gif(&runs[0], patient, out_dir)?);
    }
    Ok(written)
}

/// Per run, the requested arrays, each checked to hold the requested classes.
fn load_arrays(runs: &[RunRef], request: &PlotRequest) -> anyhow::Result<Vec<Vec<MetricArray>>> {
    let mut arrays = Vec::new();
    for run in runs {
        let per_metric = request
            .metrics
            .iter()
            .map(|m| load_array(&run.dir, m))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for a in &per_metric {
            if let Some(&k) = request.classes.iter().find(|&&k| k >= a.values.dim().2) {
                bail!(
                    "{}: has {} classes, class {k} asked for",
                    run.dir.join(format!("{}.npy", a.name)).display(),
                    a.values.dim().2
                );
            }
        }
        arrays.push(per_metric);
    }
    Ok(arrays)
}

/// `curves.*`: one panel per metric, one curve per run (and per class with `per_class`).
fn plot_curves(
    runs: &[RunRef],
    arrays: &[Vec<MetricArray>],
    request: &PlotRequest,
    out_dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let classes = format!("{:?}", request.classes);
    let per_class: Vec<(String, Vec<usize>)> = if request.per_class {
        request
            .classes
            .iter()
            .map(|&k| (format!(" class {k}"), vec![k]))
            .collect()
    } else {
        vec![(String::new(), request.classes.clone())]
    };
    let panels: Vec<Panel> = request
        .metrics
        .iter()
        .enumerate()
        .map(|(m, metric)| Panel {
            metric: format!("{metric} {classes}"),
            unit: metric_unit(metric).into(),
            lower_is_better: lower_is_better(metric),
            curves: runs
                .iter()
                .zip(arrays)
                .flat_map(|(run, a)| {
                    per_class.iter().map(move |(suffix, classes)| Curve {
                        group: format!("{}{suffix}", run.group),
                        label: format!("{}{suffix}", run.label),
                        values: a[m].epoch_means(classes),
                    })
                })
                .collect(),
            ylim: request
                .ylim
                .or((!lower_is_better(metric)).then_some((0.0, 1.0))),
        })
        .collect();
    Ok(CurvesFigure {
        title: format!(
            "{}: validation metrics over epochs (mean over patients, classes {classes})",
            request.title
        ),
        panels,
        smooth: request.smooth,
    }
    .save(&out_dir.join("curves"))?)
}

/// `box_<metric>.*` and `hist_<metric>.*`: every row (patient or image) of each run at its best
/// epoch by the first metric.
fn plot_distributions(
    runs: &[RunRef],
    arrays: &[Vec<MetricArray>],
    request: &PlotRequest,
    out_dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let classes = format!("{:?}", request.classes);
    let chooser = &request.metrics[0];
    let best: Vec<usize> = arrays
        .iter()
        .zip(runs)
        .map(|(a, run)| {
            best_epoch(
                &a[0].epoch_means(&request.classes),
                lower_is_better(chooser),
            )
            .with_context(|| format!("{}: every epoch of {chooser} is NaN", run.dir.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut written = Vec::new();
    for (m, metric) in request.metrics.iter().enumerate() {
        let samples: Vec<Sample> = runs
            .iter()
            .zip(arrays)
            .zip(&best)
            .map(|((run, a), &e)| {
                let values = &a[m].values;
                let e = e.min(values.dim().0.saturating_sub(1));
                Sample {
                    group: run.group.clone(),
                    label: format!("{} (epoch {e})", run.label),
                    values: (0..values.dim().1)
                        .flat_map(|r| {
                            request
                                .classes
                                .iter()
                                .map(move |&k| values[[e, r, k]] as f64)
                        })
                        .collect(),
                }
            })
            .collect();
        let rows = if metric.contains("3d") {
            "patient"
        } else {
            "image"
        };
        let title = format!("{metric} {classes} per {rows}, at each run's best epoch by {chooser}");
        written.extend(
            BoxFigure {
                title: title.clone(),
                metric: metric.clone(),
                unit: metric_unit(metric).into(),
                samples: samples.clone(),
            }
            .save(&out_dir.join(format!("box_{metric}")))?,
        );
        written.extend(
            HistogramFigure {
                title,
                metric: metric.clone(),
                unit: metric_unit(metric).into(),
                samples,
                bins: 20,
            }
            .save(&out_dir.join(format!("hist_{metric}")))?,
        );
    }
    Ok(written)
}

/// The most slices a GIF frame shows (those with the most foreground in the truth).
const GIF_SLICES: usize = 6;

/// `prediction_<patient>.gif`: one frame per epoch of `run`, the patient's slices with the most
/// foreground side by side (`patient` empty: the first validation patient).
pub fn prediction_gif(run: &RunRef, patient: &str, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let config = RunConfig::from_file(&run.dir.join(RUN_FILE))?;
    let truth_folder = config.truth_folder()?;
    let val_set = open_split(&config, "val", &truth_folder)?;
    let pattern = anchored_regex("patient_regex", &config.validation.patient_regex)?;
    let patients = patients_of(&val_set, &pattern)?;
    let (name, slices) = if patient.is_empty() {
        patients.first().cloned()
    } else {
        patients.iter().find(|(p, _)| p == patient).cloned()
    }
    .with_context(|| {
        format!(
            "{}: no validation patient '{patient}' (patients: {})",
            val_set.split_dir().display(),
            patients
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let mut shown: Vec<(usize, Vec<u8>)> = Vec::new();
    for &i in &slices {
        let (truth, _) = val_set.class_map(&truth_folder, i)?;
        shown.push((i, truth));
    }
    shown.sort_by_key(|(i, t)| (std::cmp::Reverse(t.iter().filter(|&&v| v > 0).count()), *i));
    shown.truncate(GIF_SLICES);
    shown.sort_by_key(|(i, _)| *i);
    let mut images = Vec::new();
    let mut size = [0, 0];
    for (i, _) in &shown {
        let slice = val_set.read(*i)?;
        size = slice.size;
        let pixels = size[0] * size[1];
        let first = &slice.streams[0][..pixels];
        let (lo, hi) = first
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        images.push(
            first
                .iter()
                .map(|v| (v - lo) / (hi - lo).max(1e-12))
                .collect::<Vec<f32>>(),
        );
    }
    let mut frames = Vec::new();
    for epoch in 0.. {
        let dir = iteration_dir(&run.dir, epoch);
        if !dir.is_dir() {
            break;
        }
        if !dir.join("val").is_dir() {
            continue; // an epoch that `val_every` did not validate
        }
        let mut tiles = Vec::new();
        for ((i, truth), image) in shown.iter().zip(&images) {
            let path = val_prediction(&run.dir, epoch, slice_stem(&val_set.names()[*i]));
            let predicted = read_label_map(&path)?.labels;
            if predicted.shape() != size {
                bail!(
                    "{}: is {:?}, the truth {:?}",
                    path.display(),
                    predicted.shape(),
                    size
                );
            }
            tiles.push((
                image.clone(),
                truth.clone(),
                predicted.iter().map(|&v| v.min(255) as u8).collect(),
            ));
        }
        frames.push(Frame {
            caption: format!(
                "{} - patient {name} - epoch {epoch} (red: prediction, green: truth outline)",
                run.label
            ),
            slices: tiles,
        });
    }
    if frames.is_empty() {
        bail!(
            "{}: no epoch with predictions (iterNNN/val)",
            run.dir.display()
        );
    }
    let scale = (256 / size[0].max(size[1]).max(1)).clamp(1, 4) as u32;
    std::fs::create_dir_all(out_dir).map_err(|e| FileError::new(out_dir, e))?;
    let out = out_dir.join(format!("prediction_{name}.gif"));
    Ok(plots::prediction_gif(
        &frames, size[0], size[1], scale, 500, &out,
    )?)
}
