//! What each metric array of a run folder holds: the metric names the `metrics` command takes
//! ([`RunMetric`]), their definitions ([`MetricsOptions`]) and `val_metrics.json`, one
//! [`MetricRecord`] per array (definition, units, empty-mask rule), which training writes for its
//! own arrays and `train --resume` checks.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use volume_io::FileError;

use segmentation_metrics::{AssdDefinition, EmptyMaskRule, Hd95Definition, SurfaceMeasure};

use crate::config::RunConfig;
use crate::run_folder::{write_text, PATIENTS_FILE};

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
    /// The original's boundary value per slice (`metrics_overtime.py`): the sum over pixels of
    /// the one-hot prediction times the truth's signed distance map at unit spacing, truncated
    /// toward zero (computed on an integer one-hot), in pixels.
    Boundary,
    /// The same sum with exact maps in mm (the slice spacing of `spacing.json`): the quantity
    /// the boundary loss minimises, in the units of the paper.
    BoundaryMm,
}

impl RunMetric {
    pub const ALL: [RunMetric; 7] = [
        RunMetric::Dsc3d,
        RunMetric::Hd3d,
        RunMetric::Hd95_3d,
        RunMetric::Assd3d,
        RunMetric::Hd,
        RunMetric::Boundary,
        RunMetric::BoundaryMm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RunMetric::Dsc3d => "3d_dsc",
            RunMetric::Hd3d => "3d_hd",
            RunMetric::Hd95_3d => "3d_hd95",
            RunMetric::Assd3d => "3d_assd",
            RunMetric::Hd => "hd",
            RunMetric::Boundary => "boundary",
            RunMetric::BoundaryMm => "boundary_mm",
        }
    }

    /// The array's file name in the run folder.
    pub fn file(self) -> String {
        format!("val_{}.npy", self.name())
    }

    /// One row per slice (otherwise per patient).
    pub fn per_slice(self) -> bool {
        matches!(
            self,
            RunMetric::Hd | RunMetric::Boundary | RunMetric::BoundaryMm
        )
    }

    /// Lower is better (a distance), as opposed to Dice.
    pub fn lower_is_better(self) -> bool {
        super::report::lower_is_better(self.name())
    }

    /// The surface distance this metric measures under `options`, if it is one.
    pub fn surface_measure(self, options: &MetricsOptions) -> Option<SurfaceMeasure> {
        match self {
            RunMetric::Hd3d | RunMetric::Hd => Some(SurfaceMeasure::Hausdorff),
            RunMetric::Hd95_3d => Some(SurfaceMeasure::Hd95(options.hd95)),
            RunMetric::Assd3d => Some(SurfaceMeasure::Assd(options.assd)),
            RunMetric::Dsc3d | RunMetric::Boundary | RunMetric::BoundaryMm => None,
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
                "the original's: sum over pixels of the one-hot prediction times the truth's signed distance map at unit spacing, truncated toward zero".into(),
                "pixels",
            ),
            RunMetric::BoundaryMm => (
                "sum over pixels of the one-hot prediction times the truth's exact signed distance map in mm (slice spacing)".into(),
                "mm",
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

/// The records training writes for the arrays it computes itself.
pub fn training_records(config: &RunConfig, slice_spacing: bool) -> Vec<(RunMetric, MetricRecord)> {
    let options = MetricsOptions::default();
    [RunMetric::Dsc3d, RunMetric::Hd95_3d]
        .into_iter()
        .map(|m| {
            (
                m,
                MetricRecord::of(m, &options, config.validation.empty_mask, slice_spacing),
            )
        })
        .collect()
}
