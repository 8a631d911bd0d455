//! Surface distances between two binary masks, as medpy measures them (`hd`, `hd95`), and the
//! MONAI variant of HD95.
//!
//! The surface of a mask is the mask minus its erosion by the cross-shaped (face-connected)
//! structuring element, with the image edge counting as outside: a mask element is on the
//! surface if it lies on the image edge or has a face neighbour outside the mask. Directed
//! distances go from each surface element of one mask to the nearest surface element of the
//! other, in physical units (`spacing`). An empty mask has no surface: every function returns
//! `None` then (medpy raises; the caller chooses a convention, see [`SurfaceDistances`]).

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::{edt, DistmapError};

/// Both directed distance sets of two non-empty masks.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfaceDistances {
    /// From each surface element of the first mask to the second mask's surface.
    pub first_to_second: Vec<f64>,
    /// From each surface element of the second mask to the first mask's surface.
    pub second_to_first: Vec<f64>,
}

impl SurfaceDistances {
    /// Surface distances of `first` and `second` (same shape), or `None` if either is empty.
    pub fn new(
        first: ArrayViewD<'_, bool>,
        second: ArrayViewD<'_, bool>,
        spacing: &[f64],
    ) -> Result<Option<Self>, DistmapError> {
        if first.shape() != second.shape() {
            return Err(DistmapError::ShapeMismatch {
                first: first.shape().to_vec(),
                second: second.shape().to_vec(),
            });
        }
        let (a, b) = (surface(first), surface(second));
        if !a.iter().any(|&s| s) || !b.iter().any(|&s| s) {
            return Ok(None);
        }
        let to_a = edt(a.mapv(|s| !s).view(), spacing)?;
        let to_b = edt(b.mapv(|s| !s).view(), spacing)?;
        let pick = |surface: &ArrayD<bool>, distances: &ArrayD<f64>| -> Vec<f64> {
            surface
                .iter()
                .zip(distances.iter())
                .filter(|(&s, _)| s)
                .map(|(_, &d)| d)
                .collect()
        };
        Ok(Some(SurfaceDistances {
            first_to_second: pick(&a, &to_b),
            second_to_first: pick(&b, &to_a),
        }))
    }

    /// Hausdorff distance: the largest directed distance (medpy `hd`).
    pub fn hausdorff(&self) -> f64 {
        self.first_to_second
            .iter()
            .chain(&self.second_to_first)
            .fold(0.0, |m, &d| m.max(d))
    }

    /// medpy's `hd95`: the 95th percentile of both directed sets pooled together.
    pub fn hd95_pooled(&self) -> f64 {
        let mut all: Vec<f64> = self
            .first_to_second
            .iter()
            .chain(&self.second_to_first)
            .copied()
            .collect();
        percentile(&mut all, 95.0)
    }

    /// MONAI's HD95: the larger of the two directed 95th percentiles.
    pub fn hd95_max_directed(&self) -> f64 {
        let mut a = self.first_to_second.clone();
        let mut b = self.second_to_first.clone();
        percentile(&mut a, 95.0).max(percentile(&mut b, 95.0))
    }
}

/// numpy's `percentile(values, q)` with the default linear method, bit for bit (numpy >= 1.22).
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    assert!(!values.is_empty(), "percentile of an empty set");
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let virtual_index = (n - 1) as f64 * (q / 100.0);
    if virtual_index >= (n - 1) as f64 {
        return values[n - 1];
    }
    let i = virtual_index.floor() as usize;
    let g = virtual_index - i as f64;
    let (a, b) = (values[i], values[i + 1]);
    if g >= 0.5 {
        b - (b - a) * (1.0 - g)
    } else {
        a + (b - a) * g
    }
}

/// The surface of a mask: elements on the image edge or with a face neighbour outside it.
pub fn surface(mask: ArrayViewD<'_, bool>) -> ArrayD<bool> {
    let mask = mask.as_standard_layout();
    let shape = mask.shape().to_vec();
    let values = mask.as_slice().expect("standard layout");
    let strides: Vec<usize> = (0..shape.len())
        .map(|a| shape[a + 1..].iter().product())
        .collect();
    let out: Vec<bool> = (0..values.len())
        .map(|i| {
            values[i]
                && shape.iter().zip(&strides).any(|(&len, &stride)| {
                    let c = (i / stride) % len;
                    c == 0 || c + 1 == len || !values[i - stride] || !values[i + stride]
                })
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same shape")
}
