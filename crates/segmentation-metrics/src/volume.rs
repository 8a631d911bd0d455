//! The surface metrics of training's validation and the `metrics` command: HD95 of one class of
//! flattened label maps, and the per-patient 3-D Dice and HD95 of a validation epoch, from the
//! pair definitions of [`crate::pair`].

use crate::pair::{
    diagonal, ClassSurfaces, EmptyMaskRule, Hd95Definition, MetricError, SurfaceMeasure,
    SurfaceValue,
};

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
        let mut overlap = crate::Overlap::new(classes);
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
        // The original's metrics_overtime.py: an empty prediction gets the diagonal, even on
        // an empty truth.
        let both = hd95(
            &empty,
            &empty,
            &shape,
            &spacing,
            1,
            EmptyMaskRule::AlwaysDiagonal,
        )
        .unwrap();
        assert_eq!(
            both,
            SurfaceValue {
                value: diag,
                empty: true
            }
        );
        for (p, t) in [(&empty, &one), (&one, &empty)] {
            let r = hd95(p, t, &shape, &spacing, 1, EmptyMaskRule::AlwaysDiagonal).unwrap();
            assert_eq!((r.value, r.empty), (diag, true));
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
}
