//! Overlap and surface metrics of a predicted and a true label map: Dice, Hausdorff, HD95 and
//! ASSD in physical units, per class, with one rule for empty masks.
//!
//! One implementation for every consumer: training's validation, the `metrics` and
//! `surface-metrics` commands and the Python package. Dice is the original's
//! `(2|A&B| + 1e-8) / (|A| + |B| + 1e-8)` (1 when both masks are empty); the surface distances come
//! from [`crate::surface`]; a distance whose mask is empty follows [`EmptyMaskRule`].

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::surface::SurfaceDistances;
pub use distmap::diagonal;
use distmap::{named_choice, ClassLabel};

const SMOOTH: f64 = 1e-8;

/// Dice from element counts, `(2|A&B| + 1e-8) / (|A| + |B| + 1e-8)`: 1 when both are empty.
pub fn dice(intersection: u64, predicted: u64, truth: u64) -> f64 {
    (2.0 * intersection as f64 + SMOOTH) / ((predicted + truth) as f64 + SMOOTH)
}

/// What a surface distance is when a mask is empty (no surface to measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EmptyMaskRule {
    /// Both empty: 0 (a correct "nothing here"); exactly one empty: the diagonal of the volume
    /// in mm.
    #[default]
    Diagonal,
    /// Any empty mask, both included: the diagonal of the volume in mm. The original's
    /// `metrics_overtime.py` gives the diagonal to every empty prediction, whatever the truth
    /// (and, by a swallowed error, 0 to a prediction on an empty truth, which this rule does
    /// not copy). Training's default.
    AlwaysDiagonal,
    /// NaN whenever a mask is empty (left out of means).
    Nan,
}

named_choice!(
    EmptyMaskRule,
    (EmptyMaskRule::Diagonal, "diagonal"),
    (EmptyMaskRule::AlwaysDiagonal, "always_diagonal"),
    (EmptyMaskRule::Nan, "nan")
);

/// Which 95th-percentile Hausdorff distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hd95Definition {
    /// medpy's `hd95`: the 95th percentile of both directed distance sets pooled (the original's).
    #[default]
    Medpy,
    /// MONAI's: the larger of the two directed 95th percentiles.
    Monai,
}

/// Which average symmetric surface distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssdDefinition {
    /// The mean of both directed sets pooled (medpy 0.5, MONAI `symmetric=True`).
    #[default]
    Pooled,
    /// The mean of the two directed means (medpy 0.4, the original's era).
    MeanOfDirected,
}

named_choice!(
    Hd95Definition,
    (Hd95Definition::Medpy, "medpy"),
    (Hd95Definition::Monai, "monai")
);
named_choice!(
    AssdDefinition,
    (AssdDefinition::Pooled, "pooled"),
    (AssdDefinition::MeanOfDirected, "mean-of-directed")
);

/// One distance between two surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurfaceMeasure {
    Hausdorff,
    Hd95(Hd95Definition),
    Assd(AssdDefinition),
}

/// The surfaces of one class in a prediction and a truth: their distances, or which was empty.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassSurfaces {
    Distances(SurfaceDistances),
    PredictionEmpty,
    TruthEmpty,
    BothEmpty,
}

/// A value measured on surfaces, and whether a mask was empty (the value came from the rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceValue {
    pub value: f64,
    pub empty: bool,
}

/// A problem computing a surface metric (shapes or spacing that do not fit).
#[derive(Debug, thiserror::Error)]
#[error("surface distances of a {shape:?} volume with spacing {spacing:?}: {reason}")]
pub struct MetricError {
    pub shape: Vec<usize>,
    pub spacing: Vec<f64>,
    pub reason: String,
}

impl ClassSurfaces {
    /// The surfaces of two boolean masks of the same shape.
    pub fn of_masks(
        predicted: ArrayViewD<'_, bool>,
        truth: ArrayViewD<'_, bool>,
        spacing: &[f64],
    ) -> Result<Self, MetricError> {
        let shape = truth.shape().to_vec();
        let error = |reason: String| MetricError {
            shape: shape.clone(),
            spacing: spacing.to_vec(),
            reason,
        };
        if predicted.shape() != truth.shape() {
            return Err(error(format!(
                "the prediction is {:?}, the truth {:?}",
                predicted.shape(),
                truth.shape()
            )));
        }
        let (p_empty, t_empty) = (!predicted.iter().any(|&v| v), !truth.iter().any(|&v| v));
        if p_empty || t_empty {
            distmap::check_spacing(truth.shape(), spacing).map_err(|e| error(e.to_string()))?;
            return Ok(match (p_empty, t_empty) {
                (true, true) => ClassSurfaces::BothEmpty,
                (true, false) => ClassSurfaces::PredictionEmpty,
                _ => ClassSurfaces::TruthEmpty,
            });
        }
        let distances = SurfaceDistances::new(predicted, truth, spacing)
            .map_err(|e| error(e.to_string()))?
            .expect("both masks are non-empty");
        Ok(ClassSurfaces::Distances(distances))
    }

    /// The surfaces of class `k` in two row-major label maps of `shape`.
    pub fn of_labels<T: Copy + PartialEq>(
        predicted: &[T],
        truth: &[T],
        shape: &[usize],
        spacing: &[f64],
        k: T,
    ) -> Result<Self, MetricError> {
        let voxels: usize = shape.iter().product();
        if predicted.len() != voxels || truth.len() != voxels || spacing.len() != shape.len() {
            return Err(MetricError {
                shape: shape.to_vec(),
                spacing: spacing.to_vec(),
                reason: format!(
                    "{} predicted and {} true values, {} spacings",
                    predicted.len(),
                    truth.len(),
                    spacing.len()
                ),
            });
        }
        let mask = |m: &[T]| {
            ArrayD::from_shape_vec(IxDyn(shape), m.iter().map(|&v| v == k).collect())
                .expect("length checked above")
        };
        Self::of_masks(mask(predicted).view(), mask(truth).view(), spacing)
    }

    /// Whether a mask was empty.
    pub fn is_empty(&self) -> bool {
        !matches!(self, ClassSurfaces::Distances(_))
    }

    /// `measure` in mm; with an empty mask, the value `rule` gives (`diagonal`: the volume's).
    pub fn value(
        &self,
        measure: SurfaceMeasure,
        rule: EmptyMaskRule,
        diagonal: f64,
    ) -> SurfaceValue {
        let d = match self {
            ClassSurfaces::Distances(d) => d,
            empty => {
                let value = match rule {
                    EmptyMaskRule::Nan => f64::NAN,
                    EmptyMaskRule::Diagonal if *empty == ClassSurfaces::BothEmpty => 0.0,
                    EmptyMaskRule::Diagonal | EmptyMaskRule::AlwaysDiagonal => diagonal,
                };
                return SurfaceValue { value, empty: true };
            }
        };
        let value = match measure {
            SurfaceMeasure::Hausdorff => d.hausdorff(),
            SurfaceMeasure::Hd95(Hd95Definition::Medpy) => d.hd95_pooled(),
            SurfaceMeasure::Hd95(Hd95Definition::Monai) => d.hd95_max_directed(),
            SurfaceMeasure::Assd(AssdDefinition::Pooled) => d.assd_pooled(),
            SurfaceMeasure::Assd(AssdDefinition::MeanOfDirected) => d.assd_mean_of_directed(),
        };
        SurfaceValue {
            value,
            empty: false,
        }
    }
}

/// Every metric of one class of a pair of label maps (the `surface-metrics` command).
#[derive(Debug, Clone, Serialize)]
pub struct PairMetrics {
    pub dice: f64,
    pub hd: f64,
    pub hd95_medpy: f64,
    pub hd95_monai: f64,
    pub assd_pooled: f64,
    pub assd_mean_of_directed: f64,
    /// Which mask was empty (`prediction`, `truth`, `both`), when one was: the distances then
    /// come from the empty-mask rule.
    pub empty: Option<&'static str>,
}

/// Dice and every surface distance of classes `1..classes` of two label maps of the same shape,
/// in the units of `spacing`; in parallel over classes.
pub fn pair_metrics<T: ClassLabel>(
    predicted: ArrayViewD<'_, T>,
    truth: ArrayViewD<'_, T>,
    spacing: &[f64],
    classes: usize,
    rule: EmptyMaskRule,
) -> Result<Vec<(usize, PairMetrics)>, MetricError> {
    if predicted.shape() != truth.shape() {
        return Err(MetricError {
            shape: truth.shape().to_vec(),
            spacing: spacing.to_vec(),
            reason: format!(
                "the prediction is {:?}, the truth {:?}",
                predicted.shape(),
                truth.shape()
            ),
        });
    }
    let diagonal = diagonal(truth.shape(), spacing);
    (1..classes)
        .into_par_iter()
        .map(|k| {
            let in_class = |v: &T| v.class_index() == Some(k);
            let p = predicted.map(in_class);
            let t = truth.map(in_class);
            let count = |m: &ArrayD<bool>| m.iter().filter(|&&v| v).count() as u64;
            let both = p.iter().zip(t.iter()).filter(|(&a, &b)| a && b).count() as u64;
            let dice = dice(both, count(&p), count(&t));
            let surfaces = ClassSurfaces::of_masks(p.view(), t.view(), spacing)?;
            let value = |m: SurfaceMeasure| surfaces.value(m, rule, diagonal).value;
            Ok((
                k,
                PairMetrics {
                    dice,
                    hd: value(SurfaceMeasure::Hausdorff),
                    hd95_medpy: value(SurfaceMeasure::Hd95(Hd95Definition::Medpy)),
                    hd95_monai: value(SurfaceMeasure::Hd95(Hd95Definition::Monai)),
                    assd_pooled: value(SurfaceMeasure::Assd(AssdDefinition::Pooled)),
                    assd_mean_of_directed: value(SurfaceMeasure::Assd(
                        AssdDefinition::MeanOfDirected,
                    )),
                    empty: match surfaces {
                        ClassSurfaces::Distances(_) => None,
                        ClassSurfaces::PredictionEmpty => Some("prediction"),
                        ClassSurfaces::TruthEmpty => Some("truth"),
                        ClassSurfaces::BothEmpty => Some("both"),
                    },
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use distmap::{AbsentClass, BorderOffset, MapKind, NamedChoice, WholeImageClass};

    fn round_trips<T: NamedChoice + PartialEq + std::fmt::Debug>() {
        for name in T::NAMES {
            let parsed: T = name.parse().unwrap();
            assert_eq!(parsed.name(), *name);
            assert_eq!(parsed.to_string(), *name);
        }
        let err = "nope".parse::<T>().unwrap_err();
        assert!(err.contains(&T::NAMES.join(", ")), "{err}");
    }

    #[test]
    fn choices_parse_their_names() {
        round_trips::<Hd95Definition>();
        round_trips::<AssdDefinition>();
        round_trips::<EmptyMaskRule>();
        round_trips::<MapKind>();
        round_trips::<BorderOffset>();
        round_trips::<WholeImageClass>();
        round_trips::<AbsentClass>();
        assert_eq!(MapKind::NAMES, ["signed", "hd"]);
        assert_eq!(WholeImageClass::NAMES, ["scipy", "zeros"]);
    }

    #[test]
    fn pair_metrics_take_any_integer_labels_and_refuse_shape_mismatch() {
        let truth = ndarray::array![[0i64, 1, 1], [0, 2, 0]].into_dyn();
        let pred = ndarray::array![[0i64, 1, 0], [0, 2, 2]].into_dyn();
        let m = pair_metrics(
            pred.view(),
            truth.view(),
            &[1.0, 1.0],
            3,
            EmptyMaskRule::Nan,
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert!((m[0].1.dice - 2.0 / 3.0).abs() < 1e-8);
        assert!((m[1].1.dice - 2.0 / 3.0).abs() < 1e-8);
        assert_eq!(m[0].1.hd, 1.0);
        let other = ndarray::array![[0i64, 1]].into_dyn();
        let e = pair_metrics(
            other.view(),
            truth.view(),
            &[1.0, 1.0],
            3,
            EmptyMaskRule::Nan,
        )
        .unwrap_err();
        assert!(e.to_string().contains("the prediction is [1, 2]"), "{e}");
    }
}
