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
use std::sync::Arc;

use ndarray::{Array3, ArrayViewD, IxDyn};
use rayon::prelude::*;
use volume_io::{read_label_map, write_npy_atomically, FileError};

use super::records::{
    read_records, write_records, MetricRecord, MetricsOptions, RunMetric, SLICES_FILE,
};
use crate::config::RunConfig;
use crate::inputs::{open_split, patient_spacings, patients_of, InputError};
use crate::run_folder::{
    iteration_dir, saved_epochs, val_prediction, write_text, PATIENTS_FILE, RUN_FILE,
};
use datasets::data::{slice_stem, Dataset};
use distmap::{distance_maps, MapOptions};
use segmentation_metrics::{diagonal, ClassSurfaces, MetricError, Overlap, SurfaceMeasure};

/// Why the metrics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Run(#[from] InputError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Metric(#[from] MetricError),
}

fn bad(path: &Path, reason: impl fmt::Display) -> EvalError {
    EvalError::File(FileError::new(path, reason))
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
    /// Per validation slice, its spacing in mm from the split's table (whatever the run's
    /// `use_spacing`); `None` without a table (the 2-D Hausdorff is then in pixels).
    slice_spacings: Option<Vec<Vec<f64>>>,
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
    let numbers = saved_epochs(run_dir)?;
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
        let config = RunConfig::from_file(&run_file).map_err(InputError::from)?;
        if config.data.patches.is_some() {
            return Err(bad(
                &run_file,
                "a 3-D run: its training already measured each validation volume (val_dice, val_3d_dsc, val_3d_hd95); metrics recomputes 2-D runs' slices",
            ));
        }
        let truth_folder = config.truth_folder().map_err(InputError::from)?;
        let val_set = open_split(&config, "val", &truth_folder)?;
        let pattern =
            crate::config::anchored_regex("patient_regex", &config.validation.patient_regex)
                .map_err(InputError::from)?;
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
        let slice_spacings = val_set.slice_spacings().map_err(InputError::from)?;
        if slice_spacings.is_none() && options.metrics.contains(&RunMetric::BoundaryMm) {
            return Err(bad(
                val_set.split_dir(),
                "no spacing.json or spacing.pkl: boundary_mm needs the slice spacing",
            ));
        }
        let mut truths = Vec::with_capacity(val_set.len());
        let mut size: Option<[usize; 2]> = None;
        for index in 0..val_set.len() {
            let (labels, hw) = val_set
                .class_map(&truth_folder, index)
                .map_err(InputError::from)?;
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
        // Epochs that `val_every` skipped have no predictions; their rows stay NaN.
        for epoch in (0..epochs).filter(|&e| config.validates(e)) {
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
            slice_spacings,
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
            self.config.validation.empty_mask,
            self.slice_spacings.is_some(),
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
            if r == self.rows(metric) && k == self.config.network.classes && e <= self.epochs {
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
            .filter(|&e| self.config.validates(e))
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
        let classes = self.config.network.classes;
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
        let classes = self.config.network.classes;
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
                if (l as usize) < self.config.network.classes {
                    Ok(l as u8)
                } else {
                    Err(bad(
                        &path,
                        format!(
                            "label {l} is not below the {} classes",
                            self.config.network.classes
                        ),
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
        let classes = self.config.network.classes;
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
        for k in 0..self.config.network.classes {
            let value = ClassSurfaces::of_labels(predicted, truth, shape, spacing, k as u8)?.value(
                measure,
                self.config.validation.empty_mask,
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
        let classes = self.config.network.classes;
        let spacing = self
            .slice_spacings
            .as_ref()
            .map_or_else(|| vec![1.0; 2], |s| s[index].clone());
        if metric == RunMetric::Hd {
            return self.surface_values(
                SurfaceMeasure::Hausdorff,
                predicted,
                truth,
                &self.size,
                &spacing,
            );
        }
        // The original's maps (unit spacing, truncated) or exact ones in mm; float32 as the
        // original's loader gives them.
        let (spacing, options) = match metric {
            RunMetric::BoundaryMm => (spacing, MapOptions::default()),
            _ => (
                vec![1.0; 2],
                MapOptions {
                    truncate: true,
                    ..MapOptions::default()
                },
            ),
        };
        let truth_view = ArrayViewD::from_shape(IxDyn(&self.size), truth).expect("slice size");
        let maps =
            distance_maps::<u8, f32>(truth_view, classes, &spacing, &options).map_err(|e| {
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
