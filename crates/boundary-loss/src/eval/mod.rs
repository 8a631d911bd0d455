//! Evaluation of predicted class maps: Dice per image and class (the original's `meta_dice`),
//! 3-D Dice per patient, and HD95 per patient and class in mm (medpy's pooled definition, from
//! `distmap::surface`).
//!
//! Conventions for empty masks (never a silent 0): Dice is `(2|A&B| + 1e-8) / (|A| + |B| + 1e-8)`
//! as in the original, so it is 1 when both are empty and about 0 when only one is; HD95 is NaN
//! when either mask is empty (no surface to measure), and is left out of means.

use std::collections::BTreeMap;

use distmap::surface::SurfaceDistances;
use ndarray::{ArrayD, IxDyn};
use regex::Regex;

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

/// Slices grouped into patients by the first capture group of `pattern` on the slice stem, in
/// order of first appearance; slices keep the order given (natural order from the data set).
pub fn group_patients(stems: &[String], pattern: &Regex) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut position: BTreeMap<String, usize> = BTreeMap::new();
    for (i, stem) in stems.iter().enumerate() {
        let patient = pattern
            .captures(stem)
            .and_then(|c| c.get(1).or_else(|| c.get(0)))
            .map_or_else(|| stem.clone(), |m| m.as_str().to_string());
        let at = *position.entry(patient.clone()).or_insert_with(|| {
            groups.push((patient, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(i);
    }
    groups
}

/// HD95 (mm, medpy's pooled definition) of class `k` between two stacks of slices `(S, H, W)`,
/// NaN when either mask is empty.
pub fn hd95(predicted: &[u8], truth: &[u8], shape: [usize; 3], spacing: &[f64; 3], k: u8) -> f64 {
    let mask = |m: &[u8]| {
        ArrayD::from_shape_vec(IxDyn(&shape), m.iter().map(|&v| v == k).collect()).expect("shape")
    };
    match SurfaceDistances::new(mask(predicted).view(), mask(truth).view(), spacing) {
        Ok(Some(d)) => d.hd95_pooled(),
        _ => f64::NAN,
    }
}
