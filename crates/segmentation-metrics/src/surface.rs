//! Surface distances between two binary masks, as medpy and MONAI measure them: Hausdorff
//! distance, HD95 (medpy's pooled and MONAI's directed definitions) and the average symmetric
//! surface distance (pooled, as MONAI, or the mean of the two directed means, as medpy).
//!
//! The surface of a mask is the mask minus its erosion by the cross-shaped (face-connected)
//! structuring element, with the image edge counting as outside: a mask element is on the
//! surface if it lies on the image edge or has a face neighbour outside the mask. Directed
//! distances go from each surface element of one mask to the nearest surface element of the
//! other, in physical units (`spacing`). An empty mask has no surface: [`SurfaceDistances::new`]
//! returns `None` then (medpy raises; the caller chooses a convention).
//!
//! Speed: surfaces and distance transforms are computed on the bounding box of both masks only.
//! The result is the same as on the whole grid (see [`SurfaceDistances::new`]; a Euclidean
//! distance does not depend on the frame).

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;

use distmap::{check_spacing, squared_edt_into, DistmapError};

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
        check_spacing(first.shape(), spacing)?;
        let (first, second) = (first.as_standard_layout(), second.as_standard_layout());
        // Every surface element lies in the bounding box of both masks, and a mask element on
        // the box's border is on its surface whether the border is the image edge or not (its
        // neighbour beyond is in neither mask): the surfaces of the cropped masks are the
        // cropped surfaces.
        let Some(bounds) = bounding_box(&first.view(), &second.view()) else {
            return Ok(None);
        };
        let shape: Vec<usize> = bounds.iter().map(|(lo, hi)| hi - lo).collect();
        let cropped = |mask: &ArrayViewD<'_, bool>| {
            let values = crop(mask, &bounds);
            let view = ArrayViewD::from_shape(IxDyn(&shape), &values).expect("cropped shape");
            surface(view).into_raw_vec_and_offset().0
        };
        let (a, b) = (cropped(&first.view()), cropped(&second.view()));
        if !a.iter().any(|&s| s) || !b.iter().any(|&s| s) {
            return Ok(None);
        }
        // Squared distance from every element to the nearest surface element of `to`, read at
        // the surface elements of `from`.
        let directed = |from: &[bool], to: &[bool]| -> Result<Vec<f64>, DistmapError> {
            let outside: Vec<bool> = to.par_iter().map(|&s| !s).collect();
            let mut squared = vec![0.0f64; outside.len()];
            squared_edt_into(&outside, &shape, spacing, &mut squared)?;
            Ok(from
                .iter()
                .zip(&squared)
                .filter(|(&s, _)| s)
                .map(|(_, &d)| d.sqrt())
                .collect())
        };
        Ok(Some(SurfaceDistances {
            first_to_second: directed(&a, &b)?,
            second_to_first: directed(&b, &a)?,
        }))
    }

    /// Hausdorff distance: the largest directed distance (medpy `hd`, MONAI without percentile).
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

    /// MONAI's HD95 (`directed=False`): the larger of the two directed 95th percentiles.
    pub fn hd95_max_directed(&self) -> f64 {
        let mut a = self.first_to_second.clone();
        let mut b = self.second_to_first.clone();
        percentile(&mut a, 95.0).max(percentile(&mut b, 95.0))
    }

    /// ASSD as the mean of both directed sets pooled together (MONAI's `symmetric=True`).
    pub fn assd_pooled(&self) -> f64 {
        let n = self.first_to_second.len() + self.second_to_first.len();
        (pairwise_sum(&self.first_to_second) + pairwise_sum(&self.second_to_first)) / n as f64
    }

    /// ASSD as the mean of the two directed means (medpy's `assd`).
    pub fn assd_mean_of_directed(&self) -> f64 {
        let mean = |d: &[f64]| pairwise_sum(d) / d.len() as f64;
        (mean(&self.first_to_second) + mean(&self.second_to_first)) / 2.0
    }
}

/// Sum in numpy's pairwise order for long inputs (blocks of 8 accumulators below 128 values),
/// so that means agree with numpy's to the last bit in most cases.
fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(-0.0, |s, &v| s + v);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&values[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += values[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &values[i..] {
            res += v;
        }
        return res;
    }
    let half = (n / 2) / 8 * 8;
    pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
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
    let mut out = vec![false; values.len()];
    if values.is_empty() || shape.is_empty() {
        return ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same shape");
    }
    let rank = shape.len();
    let row_len = shape[rank - 1];
    let strides: Vec<usize> = (0..rank).map(|a| shape[a + 1..].iter().product()).collect();
    // Row by row along the last axis: the leading coordinates are decoded once per row.
    out.par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(row, out_row)| {
            let start = row * row_len;
            let mut rest = row;
            let mut leading_edge = false;
            for a in (0..rank - 1).rev() {
                let c = rest % shape[a];
                rest /= shape[a];
                leading_edge |= c == 0 || c + 1 == shape[a];
            }
            for (j, o) in out_row.iter_mut().enumerate() {
                let i = start + j;
                if !values[i] {
                    continue;
                }
                *o = leading_edge
                    || j == 0
                    || j + 1 == row_len
                    || !values[i - 1]
                    || !values[i + 1]
                    || strides[..rank - 1]
                        .iter()
                        .any(|&s| !values[i - s] || !values[i + s]);
            }
        });
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same shape")
}

/// Per axis, `[lo, hi)` of the elements set in `a` or `b`; `None` when neither has one.
fn bounding_box(a: &ArrayViewD<'_, bool>, b: &ArrayViewD<'_, bool>) -> Option<Vec<(usize, usize)>> {
    let shape = a.shape();
    let rank = shape.len();
    if a.is_empty() || rank == 0 {
        return None;
    }
    let row_len = shape[rank - 1];
    let (a, b) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let merge = |x: Option<Vec<(usize, usize)>>, y: Option<Vec<(usize, usize)>>| match (x, y) {
        (Some(x), Some(y)) => Some(
            x.iter()
                .zip(&y)
                .map(|(p, q)| (p.0.min(q.0), p.1.max(q.1)))
                .collect(),
        ),
        (x, None) => x,
        (None, y) => y,
    };
    a.par_chunks(row_len)
        .zip(b.par_chunks(row_len))
        .enumerate()
        .map(|(row, (ra, rb))| {
            let first = ra
                .iter()
                .position(|&s| s)
                .into_iter()
                .chain(rb.iter().position(|&s| s))
                .min()?;
            let last = ra
                .iter()
                .rposition(|&s| s)
                .into_iter()
                .chain(rb.iter().rposition(|&s| s))
                .max()?;
            let mut bounds = vec![(0, 0); rank];
            bounds[rank - 1] = (first, last + 1);
            let mut rest = row;
            for axis in (0..rank - 1).rev() {
                let c = rest % shape[axis];
                rest /= shape[axis];
                bounds[axis] = (c, c + 1);
            }
            Some(bounds)
        })
        .reduce(|| None, merge)
}

/// The elements of `mask` inside `bounds`, row-major.
fn crop(mask: &ArrayViewD<'_, bool>, bounds: &[(usize, usize)]) -> Vec<bool> {
    let shape = mask.shape();
    let values = mask.as_slice().expect("standard layout");
    let rank = shape.len();
    let (lo, hi) = bounds[rank - 1];
    let out_shape: Vec<usize> = bounds.iter().map(|(l, h)| h - l).collect();
    let rows: usize = out_shape[..rank - 1].iter().product();
    let mut out = vec![false; rows * (hi - lo)];
    // Row by row: decode the cropped row's leading coordinates, copy the slice of the row.
    out.par_chunks_mut(hi - lo)
        .enumerate()
        .for_each(|(row, out_row)| {
            let mut rest = row;
            let mut source_row = 0;
            let mut scale = 1;
            for axis in (0..rank - 1).rev() {
                let c = rest % out_shape[axis] + bounds[axis].0;
                rest /= out_shape[axis];
                source_row += c * scale;
                scale *= shape[axis];
            }
            let start = source_row * shape[rank - 1];
            out_row.copy_from_slice(&values[start + lo..start + hi]);
        });
    out
}
