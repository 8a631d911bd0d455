//! Sliding windows over a whole volume, and the blending of their probabilities: every voxel
//! gets the weighted mean of the windows covering it, the weights summing to one per voxel.

use super::patches::Blending;

/// Window starts per axis covering a volume of `shape` with windows of `size`: a step of
/// `size * (1 - overlap)` (at least 1), the last window flush with the end; an axis shorter
/// than the window gets one window at 0 (the rest is padding).
#[derive(Debug, Clone, PartialEq)]
pub struct SlidingWindows {
    pub shape: [usize; 3],
    pub size: [usize; 3],
    pub starts: [Vec<usize>; 3],
}

impl SlidingWindows {
    pub fn new(shape: [usize; 3], size: [usize; 3], overlap: f64) -> Self {
        let starts = std::array::from_fn(|a| {
            let (n, p) = (shape[a], size[a]);
            if n <= p {
                return vec![0];
            }
            let step = ((p as f64 * (1.0 - overlap)).floor() as usize).max(1);
            let mut starts: Vec<usize> =
                (0..).map(|i| i * step).take_while(|&s| s + p < n).collect();
            starts.push(n - p);
            starts
        });
        SlidingWindows {
            shape,
            size,
            starts,
        }
    }

    /// Every window's start, x slowest.
    pub fn positions(&self) -> Vec<[usize; 3]> {
        let mut out = Vec::new();
        for &x in &self.starts[0] {
            for &y in &self.starts[1] {
                for &z in &self.starts[2] {
                    out.push([x, y, z]);
                }
            }
        }
        out
    }
}

/// A window's voxel weights `(px, py, pz)`: a Gaussian with sigma = size / 8 per axis centred on
/// the window, scaled to 1 at its peak and kept above 1e-3 (so that every covered voxel has
/// weight), or all ones.
pub fn window_weights(size: [usize; 3], blending: Blending) -> Vec<f32> {
    let n: usize = size.iter().product();
    match blending {
        Blending::Uniform => vec![1.0; n],
        Blending::Gaussian => {
            let axis = |a: usize| -> Vec<f64> {
                let p = size[a] as f64;
                let sigma = p / 8.0;
                (0..size[a])
                    .map(|i| {
                        let d = i as f64 + 0.5 - p / 2.0;
                        (-d * d / (2.0 * sigma * sigma)).exp()
                    })
                    .collect()
            };
            let (wx, wy, wz) = (axis(0), axis(1), axis(2));
            let peak = wx.iter().cloned().fold(0.0, f64::max)
                * wy.iter().cloned().fold(0.0, f64::max)
                * wz.iter().cloned().fold(0.0, f64::max);
            let mut out = Vec::with_capacity(n);
            for x in &wx {
                for y in &wy {
                    for z in &wz {
                        out.push(((x * y * z / peak) as f32).max(1e-3));
                    }
                }
            }
            out
        }
    }
}

/// Sums of weighted window probabilities and of weights over a volume.
pub struct Blender {
    shape: [usize; 3],
    size: [usize; 3],
    channels: usize,
    weights: Vec<f32>,
    sum: Vec<f32>,
    total: Vec<f32>,
}

impl Blender {
    pub fn new(shape: [usize; 3], size: [usize; 3], channels: usize, blending: Blending) -> Self {
        let voxels: usize = shape.iter().product();
        Blender {
            shape,
            size,
            channels,
            weights: window_weights(size, blending),
            sum: vec![0.0; channels * voxels],
            total: vec![0.0; voxels],
        }
    }

    /// Adds one window's values `(C, px, py, pz)` at `start` (voxels beyond the volume are
    /// padding and dropped).
    pub fn add(&mut self, start: [usize; 3], values: &[f32]) {
        let [px, py, pz] = self.size;
        let n = px * py * pz;
        let voxels: usize = self.shape.iter().product();
        let [sx, sy, sz] = self.shape;
        for i in 0..px.min(sx.saturating_sub(start[0])) {
            for j in 0..py.min(sy.saturating_sub(start[1])) {
                for k in 0..pz.min(sz.saturating_sub(start[2])) {
                    let w_index = (i * py + j) * pz + k;
                    let w = self.weights[w_index];
                    let v = ((start[0] + i) * sy + start[1] + j) * sz + start[2] + k;
                    self.total[v] += w;
                    for c in 0..self.channels {
                        self.sum[c * voxels + v] += w * values[c * n + w_index];
                    }
                }
            }
        }
    }

    /// The blended values `(C, X, Y, Z)`; panics if a voxel was never covered (the windows of
    /// [`SlidingWindows`] cover every voxel).
    pub fn finish(self) -> Vec<f32> {
        let voxels = self.total.len();
        let mut out = self.sum;
        for (v, &t) in self.total.iter().enumerate() {
            assert!(t > 0.0, "voxel {v} is in no window");
            for c in 0..self.channels {
                out[c * voxels + v] /= t;
            }
        }
        out
    }

    /// The summed weight of each voxel.
    pub fn coverage(&self) -> &[f32] {
        &self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_voxel_and_stay_inside_when_they_fit() {
        for (shape, size, overlap) in [
            ([37, 20, 9], [16, 16, 8], 0.5),
            ([16, 16, 8], [16, 16, 8], 0.5),
            ([5, 40, 12], [8, 8, 8], 0.25),
            ([33, 33, 33], [32, 32, 32], 0.0),
        ] {
            let windows = SlidingWindows::new(shape, size, overlap);
            let mut covered = vec![0usize; shape.iter().product()];
            for start in windows.positions() {
                for a in 0..3 {
                    assert!(shape[a] < size[a] || start[a] + size[a] <= shape[a]);
                }
                for x in start[0]..(start[0] + size[0]).min(shape[0]) {
                    for y in start[1]..(start[1] + size[1]).min(shape[1]) {
                        for z in start[2]..(start[2] + size[2]).min(shape[2]) {
                            covered[(x * shape[1] + y) * shape[2] + z] += 1;
                        }
                    }
                }
            }
            assert!(covered.iter().all(|&c| c >= 1), "{shape:?} {size:?}");
        }
    }

    /// Blending normalises the weights to one at every voxel: windows that all say 1 give 1
    /// exactly; windows that each say their own constant give a convex mix of them.
    #[test]
    fn blended_weights_sum_to_one_at_every_voxel() {
        let (shape, size) = ([37usize, 20, 9], [16usize, 16, 8]);
        for blending in [Blending::Gaussian, Blending::Uniform] {
            let windows = SlidingWindows::new(shape, size, 0.5);
            let mut ones = Blender::new(shape, size, 2, blending);
            let mut constants = Blender::new(shape, size, 1, blending);
            let positions = windows.positions();
            for (w, &start) in positions.iter().enumerate() {
                ones.add(start, &vec![1.0; 2 * 16 * 16 * 8]);
                constants.add(start, &vec![w as f32; 16 * 16 * 8]);
            }
            assert!(ones.coverage().iter().all(|&t| t > 0.0));
            assert!(ones.finish().iter().all(|&v| (v - 1.0).abs() < 1e-6));
            let last = (positions.len() - 1) as f32;
            assert!(constants
                .finish()
                .iter()
                .all(|&v| (-1e-4..=last + 1e-4).contains(&v)));
        }
        // Non-overlapping uniform windows: each voxel's weight is exactly 1.
        let windows = SlidingWindows::new([32, 16, 8], [16, 16, 8], 0.0);
        assert_eq!(windows.positions().len(), 2);
        let mut blender = Blender::new([32, 16, 8], [16, 16, 8], 1, Blending::Uniform);
        for start in windows.positions() {
            blender.add(start, &vec![0.5; 16 * 16 * 8]);
        }
        assert!(blender.coverage().iter().all(|&t| t == 1.0));
    }

    #[test]
    fn the_gaussian_peaks_in_the_middle_and_never_vanishes() {
        let w = window_weights([8, 8, 4], Blending::Gaussian);
        let at = |x: usize, y: usize, z: usize| w[(x * 8 + y) * 4 + z];
        assert!(at(3, 3, 1) > at(0, 3, 1));
        assert!((at(3, 4, 2) - 1.0).abs() < 1e-6);
        assert!(w.iter().all(|&v| v >= 1e-3));
    }
}
