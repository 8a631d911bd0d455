//! Brute-force searches shared by the property tests of `distmap` and `segmentation-metrics`
//! (included by path): every element against every other, in scipy's arithmetic.
#![allow(dead_code)]

use proptest::prelude::*;

/// Coordinates of a row-major flat index.
pub fn coordinates(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        out[axis] = index % shape[axis];
        index /= shape[axis];
    }
    out
}

/// scipy's distance expression between two elements: products, squares, sum in axis order.
pub fn squared_distance(a: &[usize], b: &[isize], spacing: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(spacing)
        .fold(0.0, |sum, ((&i, &f), &s)| {
            let offset = (f - i as isize) as f64 * s;
            sum + offset * offset
        })
}

/// Brute-force distance from every element to the nearest element of `targets` (`None` when
/// `targets` is empty).
pub fn brute_nearest(
    shape: &[usize],
    spacing: &[f64],
    targets: &[Vec<isize>],
    index: usize,
) -> Option<f64> {
    let here = coordinates(index, shape);
    targets
        .iter()
        .map(|t| squared_distance(&here, t, spacing))
        .min_by(|a, b| a.total_cmp(b))
        .map(f64::sqrt)
}

pub fn elements_where(shape: &[usize], keep: impl Fn(usize) -> bool) -> Vec<Vec<isize>> {
    let total: usize = shape.iter().product();
    (0..total)
        .filter(|&i| keep(i))
        .map(|i| {
            coordinates(i, shape)
                .into_iter()
                .map(|c| c as isize)
                .collect()
        })
        .collect()
}

/// scipy's `distance_transform_edt` by brute force, its no-zero artefact included.
pub fn brute_edt(mask: &[bool], shape: &[usize], spacing: &[f64]) -> Vec<f64> {
    let mut zeros = elements_where(shape, |i| !mask[i]);
    if zeros.is_empty() {
        let mut virtual_point = vec![0isize; shape.len()];
        virtual_point[0] = -1;
        zeros.push(virtual_point);
    }
    (0..mask.len())
        .map(|i| {
            if mask[i] {
                brute_nearest(shape, spacing, &zeros, i).unwrap()
            } else {
                0.0
            }
        })
        .collect()
}

/// A random shape of rank 1 to 3 (sides 1..=9), spacing per axis, and labels below `classes`.
pub fn labelled_volume() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, usize, Vec<u8>)> {
    (1usize..=3, 2usize..=4)
        .prop_flat_map(|(rank, classes)| {
            (
                prop::collection::vec(1usize..=9, rank),
                prop::collection::vec(prop_oneof![Just(1.0), 0.3f64..3.0], rank),
                Just(classes),
            )
        })
        .prop_flat_map(|(shape, spacing, classes)| {
            let total = shape.iter().product::<usize>();
            // Skewed towards class 0 so that small objects and empty classes both occur.
            let label = prop_oneof![4 => Just(0u8), 3 => 0u8..(classes as u8)];
            (
                Just(shape),
                Just(spacing),
                Just(classes),
                prop::collection::vec(label, total),
            )
        })
}

/// Equal bits, or within 1e-12 relative (at least 1e-12 absolute).
pub fn close(got: f64, want: f64) -> bool {
    got.to_bits() == want.to_bits() || (got - want).abs() <= 1e-12 * want.abs().max(1.0)
}
