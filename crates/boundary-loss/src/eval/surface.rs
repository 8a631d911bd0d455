//! Surface metrics of one class of a predicted and a true label map (Hausdorff, HD95, ASSD in
//! mm), with the empty-mask rule applied: one implementation for training, the `metrics` and
//! the `surface-metrics` commands.

use std::fmt;
use std::str::FromStr;

use distmap::surface::SurfaceDistances;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde::{Deserialize, Serialize};

use super::EmptyMaskRule;

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

macro_rules! named_choice {
    ($type:ty, $(($variant:path, $name:literal)),+) => {
        impl $type {
            /// The name the command line and the run folder use.
            pub fn name(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $type {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(format!(
                        "'{s}' is not one of {}",
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
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

/// The diagonal of a grid in physical units: `sqrt(sum (n_i s_i)^2)`.
pub fn diagonal(shape: &[usize], spacing: &[f64]) -> f64 {
    shape
        .iter()
        .zip(spacing)
        .map(|(&n, &s)| (n as f64 * s).powi(2))
        .sum::<f64>()
        .sqrt()
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
                    EmptyMaskRule::Diagonal => diagonal,
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

/// HD95 (mm, medpy's pooled definition) of class `k` between a predicted and a true class map
/// of `shape` (row-major), empty masks following `rule`: what training records.
pub fn hd95(
    predicted: &[u8],
    truth: &[u8],
    shape: &[usize],
    spacing: &[f64],
    k: u8,
    rule: EmptyMaskRule,
) -> Result<SurfaceValue, MetricError> {
    Ok(
        ClassSurfaces::of_labels(predicted, truth, shape, spacing, k)?.value(
            SurfaceMeasure::Hd95(Hd95Definition::Medpy),
            rule,
            diagonal(shape, spacing),
        ),
    )
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
pub fn pair_metrics(
    predicted: ArrayViewD<'_, u32>,
    truth: ArrayViewD<'_, u32>,
    spacing: &[f64],
    classes: usize,
    rule: EmptyMaskRule,
) -> Result<Vec<(usize, PairMetrics)>, MetricError> {
    use rayon::prelude::*;
    let diagonal = diagonal(truth.shape(), spacing);
    (1..classes)
        .into_par_iter()
        .map(|k| {
            let k32 = k as u32;
            let p = predicted.mapv(|v| v == k32);
            let t = truth.mapv(|v| v == k32);
            let count = |m: &ArrayD<bool>| m.iter().filter(|&&v| v).count() as u64;
            let both = p.iter().zip(t.iter()).filter(|(&a, &b)| a && b).count() as u64;
            let dice = super::dice(both, count(&p), count(&t));
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

/// Per patient (rows) and class, of one epoch.
pub struct VolumeMetrics {
    pub dsc: Vec<Vec<f32>>,
    pub hd95: Vec<Vec<f32>>,
    /// (patient, metric class) HD95 values that met an empty mask.
    pub empty_cases: usize,
}

/// The 3-D Dice and HD95 of every patient and class, from the predicted and true class maps of
/// each slice (`size` pixels) and each patient's slices and spacing `(slices, axis 0, axis 1)`.
#[allow(clippy::too_many_arguments)]
pub fn volume_metrics(
    classes: usize,
    metric_classes: &[usize],
    rule: EmptyMaskRule,
    patients: &[(String, Vec<usize>)],
    spacings: &[[f64; 3]],
    predictions: &[Vec<u8>],
    truths: &[Vec<u8>],
    size: [usize; 2],
) -> Result<VolumeMetrics, MetricError> {
    let (mut dsc, mut hd95s, mut empty) = (Vec::new(), Vec::new(), 0);
    for ((_, slices), spacing) in patients.iter().zip(spacings) {
        let mut overlap = super::Overlap::new(classes);
        let (mut p3, mut t3) = (Vec::new(), Vec::new());
        for &i in slices {
            overlap.add(&predictions[i], &truths[i]);
            p3.extend_from_slice(&predictions[i]);
            t3.extend_from_slice(&truths[i]);
        }
        dsc.push(overlap.dice().iter().map(|&d| d as f32).collect());
        let shape = [slices.len(), size[0], size[1]];
        let mut row = Vec::with_capacity(classes);
        for k in 0..classes {
            let value = hd95(&p3, &t3, &shape, spacing, k as u8, rule)?;
            if value.empty && metric_classes.contains(&k) {
                empty += 1;
            }
            row.push(value.value as f32);
        }
        hd95s.push(row);
    }
    Ok(VolumeMetrics {
        dsc,
        hd95: hd95s,
        empty_cases: empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_masks_follow_the_rule() {
        let shape = [2, 3, 4];
        let spacing = [5.0, 0.5, 2.0];
        let empty = vec![0u8; 24];
        let mut one = vec![0u8; 24];
        one[5] = 1;
        let diag = (10.0f64.powi(2) + 1.5f64.powi(2) + 8.0f64.powi(2)).sqrt();
        let both = hd95(&empty, &empty, &shape, &spacing, 1, EmptyMaskRule::Diagonal).unwrap();
        assert_eq!(
            both,
            SurfaceValue {
                value: 0.0,
                empty: true
            }
        );
        for (p, t) in [(&empty, &one), (&one, &empty)] {
            let r = hd95(p, t, &shape, &spacing, 1, EmptyMaskRule::Diagonal).unwrap();
            assert_eq!(
                r,
                SurfaceValue {
                    value: diag,
                    empty: true
                }
            );
            let r = hd95(p, t, &shape, &spacing, 1, EmptyMaskRule::Nan).unwrap();
            assert!(r.value.is_nan() && r.empty);
        }
        let same = hd95(&one, &one, &shape, &spacing, 1, EmptyMaskRule::Diagonal).unwrap();
        assert_eq!(
            same,
            SurfaceValue {
                value: 0.0,
                empty: false
            }
        );
    }

    #[test]
    fn a_shape_mismatch_is_an_error() {
        let e = hd95(
            &[0; 4],
            &[0; 5],
            &[2, 2],
            &[1.0, 1.0],
            1,
            EmptyMaskRule::Nan,
        )
        .unwrap_err();
        assert!(e.to_string().contains("4 predicted and 5 true"), "{e}");
    }

    #[test]
    fn choices_parse_their_names() {
        for d in [Hd95Definition::Medpy, Hd95Definition::Monai] {
            assert_eq!(d.name().parse::<Hd95Definition>().unwrap(), d);
        }
        for d in [AssdDefinition::Pooled, AssdDefinition::MeanOfDirected] {
            assert_eq!(d.name().parse::<AssdDefinition>().unwrap(), d);
        }
        assert!("hd"
            .parse::<Hd95Definition>()
            .unwrap_err()
            .contains("medpy, monai"));
    }
}
