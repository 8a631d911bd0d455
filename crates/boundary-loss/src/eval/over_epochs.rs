//! Metrics over epochs of a run folder (the original's `metrics_overtime.py`, without its bugs):
//! every saved validation prediction `iterNNN/val/<slice>.png` against the truth, per epoch,
//! as `val_<metric>.npy` arrays next to the ones training wrote.
//!
//! 3-D metrics are per patient (rows in `val_3d_patients.txt` order) and class, with each
//! patient's spacing from `spacing_3d` (mm); per-slice metrics (`hd`, `boundary`) are per
//! validation slice (rows in `val_slices.txt` order) with the slice spacing of `spacing`. What
//! each array holds (definition, units, empty-mask rule) is recorded in `val_metrics.json`;
//! epochs already computed with the same definitions are kept. Work runs in parallel over
//! (epoch, patient) pairs, and nothing is written until every value is computed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ndarray::{Array3, ArrayViewD, IxDyn};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use volume_io::{read_label_map, write_npy_atomically, FileError};

use super::surface::{diagonal, AssdDefinition, ClassSurfaces, Hd95Definition, SurfaceMeasure};
use super::{EmptyMaskRule, MetricError, Overlap};
use crate::data::{slice_stem, Dataset};
use crate::train::config::RunConfig;
use crate::train::inputs::{open_split, patient_spacings, patients_of};
use crate::train::run_folder::{
    iteration_dir, val_prediction, write_text, PATIENTS_FILE, RUN_FILE,
};
use crate::train::TrainError;
use distmap::distance_maps;

/// What `val_metrics.json` describes: one record per array.
pub const METRICS_RECORD_FILE: &str = "val_metrics.json";
/// Row order of the per-slice arrays.
pub const SLICES_FILE: &str = "val_slices.txt";

/// A metric the `metrics` command computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunMetric {
    /// 3-D Dice per patient.
    Dsc3d,
    /// 3-D Hausdorff distance per patient (mm).
    Hd3d,
    /// 3-D HD95 per patient (mm).
    Hd95_3d,
    /// 3-D average symmetric surface distance per patient (mm).
    Assd3d,
    /// 2-D Hausdorff distance per slice (mm).
    Hd,
    /// Boundary value per slice: the sum over pixels of the one-hot prediction times the
    /// truth's signed distance map (mm).
    Boundary,
}

impl RunMetric {
    pub const ALL: [RunMetric; 6] = [
        RunMetric::Dsc3d,
        RunMetric::Hd3d,
        RunMetric::Hd95_3d,
        RunMetric::Assd3d,
        RunMetric::Hd,
        RunMetric::Boundary,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RunMetric::Dsc3d => "3d_dsc",
            RunMetric::Hd3d => "3d_hd",
            RunMetric::Hd95_3d => "3d_hd95",
            RunMetric::Assd3d => "3d_assd",
            RunMetric::Hd => "hd",
            RunMetric::Boundary => "boundary",
        }
    }

    /// The array's file name in the run folder.
    pub fn file(self) -> String {
        format!("val_{}.npy", self.name())
    }

    /// One row per slice (otherwise per patient).
    pub fn per_slice(self) -> bool {
        matches!(self, RunMetric::Hd | RunMetric::Boundary)
    }

    /// Lower is better (a distance), as opposed to Dice.
    pub fn lower_is_better(self) -> bool {
        super::report::lower_is_better(self.name())
    }

    fn surface_measure(self, options: &MetricsOptions) -> Option<SurfaceMeasure> {
        match self {
            RunMetric::Hd3d | RunMetric::Hd => Some(SurfaceMeasure::Hausdorff),
            RunMetric::Hd95_3d => Some(SurfaceMeasure::Hd95(options.hd95)),
            RunMetric::Assd3d => Some(SurfaceMeasure::Assd(options.assd)),
            RunMetric::Dsc3d | RunMetric::Boundary => None,
        }
    }
}

impl fmt::Display for RunMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RunMetric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // The original's names are accepted too.
        let s = match s {
            "3d_hausdorff" => "3d_hd",
            "hausdorff" => "hd",
            other => other,
        };
        RunMetric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = RunMetric::ALL.iter().map(|m| m.name()).collect();
                format!("unknown metric '{s}' (one of {})", names.join(", "))
            })
    }
}

/// What the `metrics` command computes and how.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    pub metrics: Vec<RunMetric>,
    pub hd95: Hd95Definition,
    pub assd: AssdDefinition,
    /// Recompute every epoch, even those already in the arrays.
    pub force: bool,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            metrics: RunMetric::ALL.to_vec(),
            hd95: Hd95Definition::default(),
            assd: AssdDefinition::default(),
            force: false,
        }
    }
}

/// What one array of a run folder holds: `val_metrics.json` maps the metric's name to this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricRecord {
    pub file: String,
    /// `(epochs, rows, classes)`; the file naming the rows.
    pub shape: String,
    pub rows_file: String,
    pub definition: String,
    pub units: String,
    /// The value of a surface distance when a mask is empty (none for Dice and boundary).
    pub empty_mask: Option<EmptyMaskRule>,
}

impl MetricRecord {
    /// The record of `metric` computed with `options` on a run whose empty-mask rule is `rule`.
    pub fn of(
        metric: RunMetric,
        options: &MetricsOptions,
        rule: EmptyMaskRule,
        slice_spacing: bool,
    ) -> Self {
        let (definition, units) = match metric {
            RunMetric::Dsc3d => (
                "Dice of the patient's stacked slices, (2|A&B| + 1e-8) / (|A| + |B| + 1e-8)".to_string(),
                "",
            ),
            RunMetric::Hd3d => ("Hausdorff distance of the surfaces (max of both directions)".into(), "mm"),
            RunMetric::Hd95_3d => (
                match options.hd95 {
                    Hd95Definition::Medpy => "HD95, medpy: 95th percentile of both directed surface distance sets pooled",
                    Hd95Definition::Monai => "HD95, monai: the larger of the two directed 95th percentiles",
                }
                .into(),
                "mm",
            ),
            RunMetric::Assd3d => (
                match options.assd {
                    AssdDefinition::Pooled => "ASSD, pooled: mean of both directed surface distance sets pooled (medpy 0.5, MONAI)",
                    AssdDefinition::MeanOfDirected => "ASSD, mean-of-directed: mean of the two directed means (medpy 0.4)",
                }
                .into(),
                "mm",
            ),
            RunMetric::Hd => (
                "2-D Hausdorff distance of the surfaces, per slice".into(),
                if slice_spacing { "mm" } else { "pixels (no slice spacing)" },
            ),
            RunMetric::Boundary => (
                "sum over pixels of the one-hot prediction times the truth's signed distance map (the run's map options)".into(),
                if slice_spacing { "mm" } else { "pixels (no slice spacing)" },
            ),
        };
        let (shape, rows_file) = if metric.per_slice() {
            ("(epochs, slices, classes)", SLICES_FILE)
        } else {
            ("(epochs, patients, classes)", PATIENTS_FILE)
        };
        MetricRecord {
            file: metric.file(),
            shape: shape.into(),
            rows_file: rows_file.into(),
            definition,
            units: units.into(),
            empty_mask: metric.surface_measure(options).map(|_| rule),
        }
    }
}

/// Why the metrics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Run(#[from] TrainError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Metric(#[from] MetricError),
}

fn bad(path: &Path, reason: impl fmt::Display) -> EvalError {
    EvalError::File(FileError::new(path, reason))
}

/// The records of `val_metrics.json` (empty when the file is absent).
pub fn read_records(run_dir: &Path) -> Result<BTreeMap<String, MetricRecord>, FileError> {
    let path = run_dir.join(METRICS_RECORD_FILE);
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| FileError::new(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| FileError::new(&path, format!("not a metrics record: {e}")))
}

/// Adds or replaces records in `val_metrics.json`.
pub fn write_records(
    run_dir: &Path,
    records: impl IntoIterator<Item = (RunMetric, MetricRecord)>,
) -> Result<(), FileError> {
    let mut all = read_records(run_dir).unwrap_or_default();
    for (metric, record) in records {
        all.insert(metric.name().to_string(), record);
    }
    let text = serde_json::to_string_pretty(&all).expect("records serialise");
    write_text(&run_dir.join(METRICS_RECORD_FILE), &format!("{text}\n"))
}

/// Everything read before the first value is computed.
pub struct MetricsPlan {
    run_dir: PathBuf,
    options: MetricsOptions,
    config: RunConfig,
    val_set: Arc<Dataset>,
    patients: Vec<(String, Vec<usize>)>,
    /// Per patient `(slices, axis 0, axis 1)` in mm; empty when no 3-D distance is asked for.
    spacings: Vec<[f64; 3]>,
    truths: Vec<Vec<u8>>,
    size: [usize; 2],
    epochs: usize,
    /// Per metric: the epochs kept from the array already there, and those values.
    kept: Vec<(RunMetric, Array3<f32>)>,
}

/// What a finished `metrics` run reports, per metric.
#[derive(Debug, Clone)]
pub struct MetricSummary {
    pub metric: RunMetric,
    pub file: PathBuf,
    pub shape: [usize; 3],
    pub kept_epochs: usize,
    /// Per epoch, the mean over rows and the run's metric classes (NaN skipped).
    pub epoch_means: Vec<f64>,
    /// Values of the metric classes, in the epochs computed now, that met an empty mask.
    pub empty_cases: usize,
}

fn epoch_count(run_dir: &Path) -> Result<usize, EvalError> {
    let entries = std::fs::read_dir(run_dir).map_err(|e| FileError::new(run_dir, e))?;
    let mut numbers: Vec<usize> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let digits = name.strip_prefix("iter")?;
            (digits.len() >= 3 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        })
        .collect();
    numbers.sort_unstable();
    if numbers.is_empty() {
        return Err(bad(
            &run_dir.join("iter000"),
            "missing: the run folder has no epoch (iterNNN/val) to measure",
        ));
    }
    // Epochs are numbered from 0 without a gap: name the first one missing.
    if let Some(missing) = (0..numbers.len()).find(|&e| numbers[e] != e) {
        return Err(bad(
            &iteration_dir(run_dir, missing),
            "missing: an epoch between the others",
        ));
    }
    Ok(numbers.len())
}

/// The predictions file of slice `index` at `epoch`.
fn prediction_path(run_dir: &Path, epoch: usize, val_set: &Dataset, index: usize) -> PathBuf {
    val_prediction(run_dir, epoch, slice_stem(&val_set.names()[index]))
}

impl MetricsPlan {
    /// Reads the run file, the truth and the spacings, and checks that every prediction file
    /// exists; decides which epochs of which metric are kept.
    pub fn new(run_dir: &Path, options: MetricsOptions) -> Result<Self, EvalError> {
        let run_file = run_dir.join(RUN_FILE);
        if !run_file.is_file() {
            return Err(bad(
                &run_file,
                "missing: not a run folder (train writes run.toml)",
            ));
        }
        let config = RunConfig::from_file(&run_file).map_err(TrainError::from)?;
        let truth_folder = config.truth_folder().map_err(TrainError::from)?;
        let val_set = open_split(&config, "val", &truth_folder)?;
        let pattern = crate::train::config::anchored_regex("patient_regex", &config.patient_regex)
            .map_err(TrainError::from)?;
        let patients = patients_of(&val_set, &pattern)?;
        let needs_3d_spacing = options
            .metrics
            .iter()
            .any(|m| !m.per_slice() && m.surface_measure(&options).is_some());
        let spacings = if needs_3d_spacing {
            patient_spacings(&config, &val_set, &patients)?
        } else {
            Vec::new()
        };
        let mut truths = Vec::with_capacity(val_set.len());
        let mut size: Option<[usize; 2]> = None;
        for index in 0..val_set.len() {
            let (labels, hw) = val_set
                .class_map(&truth_folder, index)
                .map_err(TrainError::from)?;
            if let Some(expected) = size.filter(|&s| s != hw) {
                return Err(bad(
                    &val_set
                        .split_dir()
                        .join(&truth_folder)
                        .join(&val_set.names()[index]),
                    format!(
                        "is {}x{}, the first slice {}x{}",
                        hw[0], hw[1], expected[0], expected[1]
                    ),
                ));
            }
            size = Some(hw);
            truths.push(labels);
        }
        let size = size.ok_or_else(|| bad(val_set.split_dir(), "no validation slice"))?;
        let epochs = epoch_count(run_dir)?;
        for epoch in 0..epochs {
            for index in 0..val_set.len() {
                let path = prediction_path(run_dir, epoch, &val_set, index);
                if !path.is_file() {
                    return Err(bad(&path, "missing: a validation prediction of this epoch"));
                }
            }
        }
        let mut plan = MetricsPlan {
            run_dir: run_dir.to_path_buf(),
            options,
            config,
            val_set,
            patients,
            spacings,
            truths,
            size,
            epochs,
            kept: Vec::new(),
        };
        plan.kept = plan.reusable()?;
        Ok(plan)
    }

    fn record(&self, metric: RunMetric) -> MetricRecord {
        MetricRecord::of(
            metric,
            &self.options,
            self.config.empty_mask,
            self.val_set.has_spacing(),
        )
    }

    fn rows(&self, metric: RunMetric) -> usize {
        if metric.per_slice() {
            self.val_set.len()
        } else {
            self.patients.len()
        }
    }

    /// Per metric, the epochs of the array already there that were computed the same way.
    fn reusable(&self) -> Result<Vec<(RunMetric, Array3<f32>)>, EvalError> {
        let records = read_records(&self.run_dir)?;
        let rows_unchanged = |file: &str, rows: Vec<String>| {
            std::fs::read_to_string(self.run_dir.join(file))
                .map(|t| t.lines().map(str::to_string).collect::<Vec<_>>() == rows)
                .unwrap_or(false)
        };
        let patients_same = rows_unchanged(
            PATIENTS_FILE,
            self.patients.iter().map(|(p, _)| p.clone()).collect(),
        );
        let slices_same = rows_unchanged(SLICES_FILE, self.slice_stems());
        let mut kept = Vec::new();
        for &metric in &self.options.metrics {
            let path = self.run_dir.join(metric.file());
            let same_rows = if metric.per_slice() {
                slices_same
            } else {
                patients_same
            };
            let reusable = !self.options.force
                && same_rows
                && records.get(metric.name()) == Some(&self.record(metric))
                && path.is_file();
            if !reusable {
                continue;
            }
            volume_io::guard::check_npy_file(&path)?;
            let array: Array3<f32> =
                ndarray_npy::read_npy(&path).map_err(|e| FileError::new(&path, e))?;
            let (e, r, k) = array.dim();
            if r == self.rows(metric) && k == self.config.classes && e <= self.epochs {
                kept.push((metric, array));
            }
        }
        Ok(kept)
    }

    fn slice_stems(&self) -> Vec<String> {
        self.val_set
            .names()
            .iter()
            .map(|n| slice_stem(n).to_string())
            .collect()
    }

    fn kept_epochs(&self, metric: RunMetric) -> usize {
        self.kept
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or(0, |(_, a)| a.dim().0)
    }

    /// The (epoch, patient) pairs left to compute: the size of the progress bar.
    pub fn units(&self) -> Vec<(usize, usize)> {
        let first = self
            .options
            .metrics
            .iter()
            .map(|&m| self.kept_epochs(m))
            .min()
            .unwrap_or(self.epochs);
        (first..self.epochs)
            .flat_map(|e| (0..self.patients.len()).map(move |p| (e, p)))
            .collect()
    }

    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Computes what is missing, calling `tick` after each (epoch, patient), then writes every
    /// array (atomically), the row files and the records.
    pub fn run(self, tick: &(dyn Fn() + Sync)) -> Result<Vec<MetricSummary>, EvalError> {
        let units = self.units();
        let results: Vec<UnitValues> = units
            .par_iter()
            .map(|&(epoch, patient)| {
                let values = self.patient_values(epoch, patient);
                tick();
                values
            })
            .collect::<Result<_, _>>()?;
        let classes = self.config.classes;
        let metric_classes = self.config.metric_classes();
        let mut summaries = Vec::new();
        let mut arrays = Vec::new();
        for &metric in &self.options.metrics {
            let kept = self.kept_epochs(metric);
            let mut array =
                Array3::<f32>::from_elem((self.epochs, self.rows(metric), classes), f32::NAN);
            if let Some((_, old)) = self.kept.iter().find(|(m, _)| *m == metric) {
                array.slice_mut(ndarray::s![..kept, .., ..]).assign(old);
            }
            let mut empty_cases = 0;
            for (&(epoch, patient), values) in units.iter().zip(&results) {
                if epoch < kept {
                    continue;
                }
                let rows: Vec<usize> = if metric.per_slice() {
                    self.patients[patient].1.clone()
                } else {
                    vec![patient]
                };
                let table = &values.by_metric[&metric];
                for (row, (row_values, empties)) in rows.iter().zip(table) {
                    for k in 0..classes {
                        array[[epoch, *row, k]] = row_values[k] as f32;
                        if empties[k] && metric_classes.contains(&k) {
                            empty_cases += 1;
                        }
                    }
                }
            }
            let epoch_means = super::report::epoch_means(&array, &metric_classes);
            summaries.push(MetricSummary {
                metric,
                file: self.run_dir.join(metric.file()),
                shape: [self.epochs, self.rows(metric), classes],
                kept_epochs: kept,
                epoch_means,
                empty_cases,
            });
            arrays.push((metric, array));
        }
        // Every value is known: now the files.
        for (metric, array) in &arrays {
            write_npy_atomically(&self.run_dir.join(metric.file()), array)?;
        }
        let lines = |rows: Vec<String>| rows.iter().map(|r| format!("{r}\n")).collect::<String>();
        write_text(
            &self.run_dir.join(PATIENTS_FILE),
            &lines(self.patients.iter().map(|(p, _)| p.clone()).collect()),
        )?;
        write_text(&self.run_dir.join(SLICES_FILE), &lines(self.slice_stems()))?;
        write_records(
            &self.run_dir,
            self.options.metrics.iter().map(|&m| (m, self.record(m))),
        )?;
        Ok(summaries)
    }

    /// Every asked metric of one patient at one epoch.
    fn patient_values(&self, epoch: usize, patient: usize) -> Result<UnitValues, EvalError> {
        let classes = self.config.classes;
        let slices = &self.patients[patient].1;
        let pixels = self.size[0] * self.size[1];
        let mut predicted = Vec::with_capacity(slices.len() * pixels);
        for &index in slices {
            predicted.extend(self.read_prediction(epoch, index)?);
        }
        let truth: Vec<u8> = slices
            .iter()
            .flat_map(|&i| self.truths[i].iter().copied())
            .collect();
        let mut by_metric = BTreeMap::new();
        for &metric in &self.options.metrics {
            if epoch < self.kept_epochs(metric) {
                continue;
            }
            let table = if metric.per_slice() {
                slices
                    .iter()
                    .enumerate()
                    .map(|(s, &index)| {
                        let range = s * pixels..(s + 1) * pixels;
                        self.slice_values(metric, &predicted[range.clone()], &truth[range], index)
                    })
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                vec![self.volume_values(metric, patient, &predicted, &truth)?]
            };
            by_metric.insert(metric, table);
        }
        debug_assert!(by_metric
            .values()
            .all(|t| t.iter().all(|(v, _)| v.len() == classes)));
        Ok(UnitValues { by_metric })
    }

    fn read_prediction(&self, epoch: usize, index: usize) -> Result<Vec<u8>, EvalError> {
        let path = prediction_path(&self.run_dir, epoch, &self.val_set, index);
        let labels = read_label_map(&path)?.labels;
        if labels.shape() != self.size {
            return Err(bad(
                &path,
                format!("is {:?}, the truth {:?}", labels.shape(), self.size),
            ));
        }
        labels
            .iter()
            .map(|&l| {
                if (l as usize) < self.config.classes {
                    Ok(l as u8)
                } else {
                    Err(bad(
                        &path,
                        format!("label {l} is not below the {} classes", self.config.classes),
                    ))
                }
            })
            .collect()
    }

    /// One patient's 3-D values per class, and which met an empty mask.
    fn volume_values(
        &self,
        metric: RunMetric,
        patient: usize,
        predicted: &[u8],
        truth: &[u8],
    ) -> Result<ClassValues, EvalError> {
        let classes = self.config.classes;
        if metric == RunMetric::Dsc3d {
            let dice = Overlap::of(predicted, truth, classes).dice();
            return Ok((dice, vec![false; classes]));
        }
        let measure = metric
            .surface_measure(&self.options)
            .expect("a surface metric");
        let shape = [self.patients[patient].1.len(), self.size[0], self.size[1]];
        let spacing = self.spacings[patient];
        self.surface_values(measure, predicted, truth, &shape, &spacing)
    }

    fn surface_values(
        &self,
        measure: SurfaceMeasure,
        predicted: &[u8],
        truth: &[u8],
        shape: &[usize],
        spacing: &[f64],
    ) -> Result<ClassValues, EvalError> {
        let diagonal = diagonal(shape, spacing);
        let mut values = Vec::new();
        let mut empties = Vec::new();
        for k in 0..self.config.classes {
            let value = ClassSurfaces::of_labels(predicted, truth, shape, spacing, k as u8)?.value(
                measure,
                self.config.empty_mask,
                diagonal,
            );
            values.push(value.value);
            empties.push(value.empty);
        }
        Ok((values, empties))
    }

    /// One slice's values per class.
    fn slice_values(
        &self,
        metric: RunMetric,
        predicted: &[u8],
        truth: &[u8],
        index: usize,
    ) -> Result<ClassValues, EvalError> {
        let classes = self.config.classes;
        let spacing = self.val_set.spacing_of(index);
        if metric == RunMetric::Hd {
            return self.surface_values(
                SurfaceMeasure::Hausdorff,
                predicted,
                truth,
                &self.size,
                &spacing,
            );
        }
        // The maps the run's loader computes (its options, this slice's spacing).
        let options = self.val_set.map_options();
        let truth_view = ArrayViewD::from_shape(IxDyn(&self.size), truth).expect("slice size");
        let maps =
            distance_maps::<u8, f32>(truth_view, classes, &spacing, options).map_err(|e| {
                MetricError {
                    shape: self.size.to_vec(),
                    spacing: spacing.clone(),
                    reason: e.to_string(),
                }
            })?;
        let maps = maps.as_slice().expect("fresh array");
        let pixels = predicted.len();
        let mut sums = vec![0.0f64; classes];
        for (i, &p) in predicted.iter().enumerate() {
            sums[p as usize] += maps[p as usize * pixels + i] as f64;
        }
        Ok((sums, vec![false; classes]))
    }
}

/// Per class: the value, and whether it met an empty mask.
type ClassValues = (Vec<f64>, Vec<bool>);

/// The values of one (epoch, patient): per metric, per row (the patient, or its slices), the
/// value and empty-mask flag of each class.
struct UnitValues {
    by_metric: BTreeMap<RunMetric, Vec<ClassValues>>,
}

/// Runs [`MetricsPlan`] without progress reports.
pub fn compute_metrics(
    run_dir: &Path,
    options: MetricsOptions,
) -> Result<Vec<MetricSummary>, EvalError> {
    MetricsPlan::new(run_dir, options)?.run(&|| {})
}

/// The records training writes for the arrays it computes itself.
pub fn training_records(config: &RunConfig, slice_spacing: bool) -> Vec<(RunMetric, MetricRecord)> {
    let options = MetricsOptions::default();
    [RunMetric::Dsc3d, RunMetric::Hd95_3d]
        .into_iter()
        .map(|m| {
            (
                m,
                MetricRecord::of(m, &options, config.empty_mask, slice_spacing),
            )
        })
        .collect()
}
