//! Evaluation of predicted class maps: Dice per image and class (the original's `meta_dice`),
//! 3-D Dice per patient, and HD95 per patient and class in mm (medpy's pooled definition, from
//! `distmap::surface`).
//!
//! Conventions for empty masks (one rule for training and offline metrics, ../SPEC §8): Dice is
//! `(2|A&B| + 1e-8) / (|A| + |B| + 1e-8)` as in the original, so it is 1 when both are empty and
//! about 0 when only one is. HD95 follows [`EmptyMaskRule`]: both empty 0; exactly one empty the
//! volume's diagonal in mm (the original's value for an empty prediction), or NaN on request; the
//! caller counts such cases ([`VolumeHd95::empty`]). Means over patients skip NaN ([`nan_mean`]).

use std::collections::BTreeMap;

use distmap::surface::SurfaceDistances;
use ndarray::{ArrayD, IxDyn};
use regex::Regex;
use serde::{Deserialize, Serialize};

const SMOOTH: f64 = 1e-8;

/// Per-class intersection and sizes of a predicted and a true class map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlap {
    pub intersection: Vec<u64>,
    pub predicted: Vec<u64>,
    pub truth: Vec<u64>,
}

impl Overlap {
    pub fn new(classes: usize) -> Self {
        Overlap {
            intersection: vec![0; classes],
            predicted: vec![0; classes],
            truth: vec![0; classes],
        }
    }

    /// The overlap of one predicted / true class map pair.
    pub fn of(predicted: &[u8], truth: &[u8], classes: usize) -> Self {
        let mut overlap = Overlap::new(classes);
        overlap.add(predicted, truth);
        overlap
    }

    /// Adds the pixels of one predicted / true class map pair.
    pub fn add(&mut self, predicted: &[u8], truth: &[u8]) {
        for (&p, &t) in predicted.iter().zip(truth) {
            self.predicted[p as usize] += 1;
            self.truth[t as usize] += 1;
            if p == t {
                self.intersection[p as usize] += 1;
            }
        }
    }

    /// Dice per class.
    pub fn dice(&self) -> Vec<f64> {
        (0..self.intersection.len())
            .map(|k| {
                (2.0 * self.intersection[k] as f64 + SMOOTH)
                    / ((self.predicted[k] + self.truth[k]) as f64 + SMOOTH)
            })
            .collect()
    }
}

/// A slice stem that the patient regex does not match.
#[derive(Debug, thiserror::Error)]
#[error("slice '{stem}' does not match {field} '{pattern}' (matched at the start of the name)")]
pub struct UnmatchedSlice {
    pub stem: String,
    pub field: &'static str,
    pub pattern: String,
}

/// The first capture group of `pattern` (anchored at the start, as Python's `re.match`) on
/// `stem`.
pub fn patient_of(
    stem: &str,
    pattern: &Regex,
    field: &'static str,
) -> Result<String, UnmatchedSlice> {
    pattern
        .captures(stem)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .ok_or_else(|| UnmatchedSlice {
            stem: stem.to_string(),
            field,
            pattern: pattern.as_str().to_string(),
        })
}

/// Slices grouped into patients by the first capture group of `pattern` (anchored) on the slice
/// stem, in order of first appearance; slices keep the order given (natural order from the data
/// set). A stem that does not match is an error.
pub fn group_patients(
    stems: &[String],
    pattern: &Regex,
) -> Result<Vec<(String, Vec<usize>)>, UnmatchedSlice> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut position: BTreeMap<String, usize> = BTreeMap::new();
    for (i, stem) in stems.iter().enumerate() {
        let patient = patient_of(stem, pattern, "patient_regex")?;
        let at = *position.entry(patient.clone()).or_insert_with(|| {
            groups.push((patient, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(i);
    }
    Ok(groups)
}

/// What a surface distance is when a mask is empty (no surface to measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EmptyMaskRule {
    /// Both empty: 0; exactly one empty: the diagonal of the volume in mm.
    #[default]
    Diagonal,
    /// NaN whenever a mask is empty (left out of means).
    Nan,
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

/// HD95 of one class of one volume, and whether a mask was empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeHd95 {
    pub value: f64,
    /// Prediction or ground truth (or both) empty: the value comes from the rule.
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

/// HD95 (mm, medpy's pooled definition) of class `k` between a predicted and a true class map
/// of `shape` (row-major), empty masks following `rule`.
pub fn hd95(
    predicted: &[u8],
    truth: &[u8],
    shape: &[usize],
    spacing: &[f64],
    k: u8,
    rule: EmptyMaskRule,
) -> Result<VolumeHd95, MetricError> {
    let error = |reason: String| MetricError {
        shape: shape.to_vec(),
        spacing: spacing.to_vec(),
        reason,
    };
    let voxels: usize = shape.iter().product();
    if predicted.len() != voxels || truth.len() != voxels || spacing.len() != shape.len() {
        return Err(error(format!(
            "{} predicted and {} true values, {} spacings",
            predicted.len(),
            truth.len(),
            spacing.len()
        )));
    }
    let mask = |m: &[u8]| {
        ArrayD::from_shape_vec(IxDyn(shape), m.iter().map(|&v| v == k).collect())
            .expect("length checked above")
    };
    let (p, t) = (mask(predicted), mask(truth));
    let (p_empty, t_empty) = (!p.iter().any(|&v| v), !t.iter().any(|&v| v));
    if p_empty || t_empty {
        let value = match rule {
            EmptyMaskRule::Nan => f64::NAN,
            EmptyMaskRule::Diagonal if p_empty && t_empty => 0.0,
            EmptyMaskRule::Diagonal => diagonal(shape, spacing),
        };
        return Ok(VolumeHd95 { value, empty: true });
    }
    let distances = SurfaceDistances::new(p.view(), t.view(), spacing)
        .map_err(|e| error(e.to_string()))?
        .expect("both masks are non-empty");
    Ok(VolumeHd95 {
        value: distances.hd95_pooled(),
        empty: false,
    })
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
        let mut overlap = Overlap::new(classes);
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

/// Mean of the values that are not NaN; NaN when there is none.
pub fn nan_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Per class, the NaN-skipping mean over rows (patients or images) of `rows[r][k]`.
pub fn column_means(rows: &[Vec<f32>], classes: usize) -> Vec<f64> {
    (0..classes)
        .map(|k| nan_mean(rows.iter().map(|r| r[k] as f64)))
        .collect()
}

/// The NaN-skipping mean of `values[k]` over the classes `classes`.
pub fn mean_over(values: &[f64], classes: &[usize]) -> f64 {
    nan_mean(classes.iter().map(|&k| values[k]))
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
            VolumeHd95 {
                value: 0.0,
                empty: true
            }
        );
        for (p, t) in [(&empty, &one), (&one, &empty)] {
            let r = hd95(p, t, &shape, &spacing, 1, EmptyMaskRule::Diagonal).unwrap();
            assert_eq!(
                r,
                VolumeHd95 {
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
            VolumeHd95 {
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
    fn patients_are_matched_at_the_start_of_the_stem() {
        let pattern = Regex::new(r"^(?:(case_\d+)_\d+)").unwrap();
        let stems = vec!["case_2_0".to_string(), "case_1_3".into(), "case_2_1".into()];
        let groups = group_patients(&stems, &pattern).unwrap();
        assert_eq!(
            groups,
            vec![
                ("case_2".to_string(), vec![0, 2]),
                ("case_1".into(), vec![1])
            ]
        );
        let e = group_patients(&["xcase_1_0".to_string()], &pattern).unwrap_err();
        assert!(e.to_string().contains("xcase_1_0"), "{e}");
    }

    #[test]
    fn means_skip_nan() {
        assert_eq!(nan_mean([1.0, f64::NAN, 3.0]), 2.0);
        assert!(nan_mean([f64::NAN]).is_nan());
        assert_eq!(mean_over(&[9.0, 1.0, f64::NAN, 3.0], &[1, 2, 3]), 2.0);
    }
}
