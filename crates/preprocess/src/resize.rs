//! In-plane resizing on scikit-image's sampling grid, as the original resizes WMH and ACDC:
//! `skimage.transform.resize(..., mode='constant', preserve_range=True, anti_aliasing=False)`,
//! which is `scipy.ndimage.zoom(grid_mode=True, mode='grid-constant', cval=0)` followed by
//! clipping to the input's range.
//!
//! Output pixel `o` of an axis samples the input at `(o + 0.5) * n_in / n_out - 0.5` (pixel
//! centres aligned); order 1 weighs the two neighbours `1 - t` and `1 - (1 - t)` as scipy's
//! spline weights do, with zeros outside the image; order 0 takes `floor(c + 0.5)`. Sums run in
//! f64 in scipy's tap order, so the results match scipy to the last bit in practice.

use ndarray::{s, Array2, Array3, ArrayView2};

/// The two taps of one output position on one axis (order 1).
#[derive(Debug, Clone, Copy)]
struct LinearTap {
    start: isize,
    weights: [f64; 2],
}

fn sample_coordinate(out_index: usize, n_in: usize, n_out: usize) -> f64 {
    let zoom = n_in as f64 / n_out as f64;
    (out_index as f64 + 0.5) * zoom - 0.5
}

fn linear_taps(n_in: usize, n_out: usize) -> Vec<LinearTap> {
    (0..n_out)
        .map(|o| {
            let c = sample_coordinate(o, n_in, n_out);
            let floor = c.floor();
            let w0 = 1.0 - (c - floor);
            LinearTap {
                start: floor as isize,
                weights: [w0, 1.0 - w0],
            }
        })
        .collect()
}

fn nearest_indices(n_in: usize, n_out: usize) -> Vec<Option<usize>> {
    (0..n_out)
        .map(|o| {
            let i = (sample_coordinate(o, n_in, n_out) + 0.5).floor();
            (i >= 0.0 && (i as usize) < n_in).then_some(i as usize)
        })
        .collect()
}

/// Bilinear (order 1) resize of one plane to `shape`, in f64, not yet clipped.
pub fn resize_linear<T: Copy + Into<f64>>(plane: ArrayView2<T>, shape: [usize; 2]) -> Array2<f64> {
    let (h, w) = plane.dim();
    let rows = linear_taps(h, shape[0]);
    let cols = linear_taps(w, shape[1]);
    let input: Vec<f64> = plane.iter().map(|&v| v.into()).collect();
    // A tap outside the image reads the constant 0 (scipy's grid-constant mode).
    let row_of = |i: isize| -> Option<&[f64]> {
        (i >= 0 && (i as usize) < h).then(|| &input[i as usize * w..(i as usize + 1) * w])
    };
    let at = |row: Option<&[f64]>, j: isize| -> f64 {
        match row {
            Some(r) if j >= 0 && (j as usize) < w => r[j as usize],
            _ => 0.0,
        }
    };
    let mut out = Vec::with_capacity(shape[0] * shape[1]);
    for r in &rows {
        let upper = [row_of(r.start), row_of(r.start + 1)];
        for c in &cols {
            // scipy's order: taps (0,0), (0,1), (1,0), (1,1), each value * row weight * column
            // weight, summed from 0.
            let mut sum = 0.0;
            for (row, wr) in upper.iter().zip(r.weights) {
                for (b, wc) in c.weights.iter().enumerate() {
                    sum += at(*row, c.start + b as isize) * wr * wc;
                }
            }
            out.push(sum);
        }
    }
    Array2::from_shape_vec(shape, out).expect("shape of the taps")
}

/// Nearest-neighbour (order 0) resize of one plane to `shape`.
pub fn resize_nearest<T: Copy + Default>(plane: ArrayView2<T>, shape: [usize; 2]) -> Array2<T> {
    let (h, w) = plane.dim();
    let rows = nearest_indices(h, shape[0]);
    let cols = nearest_indices(w, shape[1]);
    Array2::from_shape_fn(shape, |(o0, o1)| match (rows[o0], cols[o1]) {
        (Some(i), Some(j)) => plane[[i, j]],
        _ => T::default(),
    })
}

/// The range scikit-image clips a resized image to: the input's range, widened to include the
/// constant 0 when 0 lies outside the input's range but inside the output's.
pub fn clip_range(input: (f64, f64), output: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = input;
    let keeps_zero = !(lo <= 0.0 && 0.0 <= hi) && output.0 <= 0.0 && 0.0 <= output.1;
    if keeps_zero {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (lo, hi)
    }
}

/// The smallest and largest of some values.
pub fn min_max(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        })
}

/// skimage's `resize(volume, (H, W, z), order=1)` of a float32 volume: every `(x, y)` plane
/// resized, then clipped as skimage clips.
pub fn resize_image_volume(volume: &Array3<f32>, size: [usize; 2]) -> Array3<f32> {
    let z = volume.shape()[2];
    let mut out = Array3::<f32>::zeros((size[0], size[1], z));
    for j in 0..z {
        let plane = resize_linear(volume.slice(s![.., .., j]), size);
        out.slice_mut(s![.., .., j])
            .assign(&plane.mapv(|v| v as f32));
    }
    let input = min_max(volume.iter().map(|&v| v as f64));
    let output = min_max(out.iter().map(|&v| v as f64));
    let (lo, hi) = clip_range(input, output);
    out.mapv_inplace(|v| v.clamp(lo as f32, hi as f32));
    out
}

/// Nearest-neighbour resize of every `(x, y)` plane of a label volume.
pub fn resize_label_volume(labels: &Array3<u8>, size: [usize; 2]) -> Array3<u8> {
    let z = labels.shape()[2];
    let mut out = Array3::<u8>::zeros((size[0], size[1], z));
    for j in 0..z {
        out.slice_mut(s![.., .., j])
            .assign(&resize_nearest(labels.slice(s![.., .., j]), size));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    // Expected values: scipy.ndimage.zoom(a, z, order=o, mode='grid-constant', grid_mode=True).
    #[test]
    fn upsampling_a_constant_row_fades_into_the_zero_border() {
        let a = array![[1.0f64, 1.0, 1.0, 1.0]];
        let got = resize_linear(a.view(), [1, 8]);
        assert_eq!(
            got.row(0).to_vec(),
            [0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75]
        );
        let a = array![[1.0f64, 2.0, 3.0, 4.0]];
        let got = resize_linear(a.view(), [1, 8]);
        assert_eq!(
            got.row(0).to_vec(),
            [0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 3.0]
        );
    }

    #[test]
    fn downsampling_and_nearest_follow_scipy() {
        let a = array![[1.0f64, 2., 3., 4., 5., 6., 7., 8.]];
        assert_eq!(
            resize_linear(a.view(), [1, 4]).row(0).to_vec(),
            [1.5, 3.5, 5.5, 7.5]
        );
        let a = array![[1u8, 2, 3, 4, 5, 6, 7, 8]];
        assert_eq!(
            resize_nearest(a.view(), [1, 4]).row(0).to_vec(),
            [2, 4, 6, 8]
        );
        assert_eq!(
            resize_nearest(a.view(), [1, 11]).row(0).to_vec(),
            [1, 2, 2, 3, 4, 5, 5, 6, 7, 7, 8]
        );
    }

    #[test]
    fn same_size_is_the_identity() {
        let a = Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f64 * 0.37);
        assert_eq!(resize_linear(a.view(), [5, 7]), a);
        assert_eq!(resize_nearest(a.view(), [5, 7]), a);
    }

    #[test]
    fn clipping_keeps_zero_only_when_the_output_reaches_it() {
        assert_eq!(clip_range((0.0, 1.0), (0.0, 1.0)), (0.0, 1.0));
        assert_eq!(clip_range((3.0, 9.0), (1.5, 9.0)), (3.0, 9.0));
        assert_eq!(clip_range((3.0, 9.0), (0.0, 9.0)), (0.0, 9.0));
    }
}
