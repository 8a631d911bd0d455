//! Batch normalisation of row-major tensors of shape `[batch, channels, ...]` on the CPU: the
//! batch statistics, the normalisation itself and its gradients, for `f32` and `f64`. This crate
//! owns the arithmetic only (slices in, vectors out, no deep-learning dependency);
//! `patches/burn-flex` routes Burn's `batch_norm`, `batch_norm_train` and
//! `batch_norm_train_backward` of the flex backend to it.
//!
//! Why it exists: Burn's default computes each channel's statistics after swapping the batch and
//! channel axes (a transposed copy of the whole activation), does so twice in the forward pass
//! and twice more in the backward pass, and runs the rest as a chain of broadcast element-wise
//! operations, each writing a fresh tensor. Here the forward pass reads the input once for the
//! statistics and once more to write the output; the backward pass reads the input and the
//! output gradient once for its two sums and once more to write the input gradient.
//!
//! Precision and determinism: every sum is accumulated in `f64` over one `(sample, channel)`
//! plane at a time (in cache: its mean, then its centred squares), and the planes are combined
//! per channel in sample order, so the result does not depend on the thread count.

use std::sync::atomic::{AtomicU64, Ordering};

/// Passes run by this process, so that a test can tell whether Burn's backend reaches this
/// crate (it stays at 0 if `patches/burn-flex` stops being used).
static PASSES: AtomicU64 = AtomicU64::new(0);

/// How many batch-normalisation passes (statistics, normalisation, gradients) this process has
/// run.
pub fn passes_run() -> u64 {
    PASSES.load(Ordering::Relaxed)
}

fn count_pass() {
    PASSES.fetch_add(1, Ordering::Relaxed);
}

use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::ops::{Add, Mul, Sub};

/// Scalars the kernels run on; sums are taken in `f64` whatever the element type.
pub trait Float:
    Copy
    + Default
    + Send
    + Sync
    + 'static
    + Into<f64>
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
{
    /// `value` rounded to this type.
    fn from_f64(value: f64) -> Self;
}

impl Float for f32 {
    fn from_f64(value: f64) -> Self {
        value as f32
    }
}

impl Float for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
}

/// A shape batch normalisation cannot run on, or per-channel slices of the wrong length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Fewer than two dimensions: there is no channel axis.
    #[error("batch norm needs a shape [batch, channels, ...] of rank 2 or more, got rank {0}")]
    Rank(usize),
    /// A slice that must hold one value per element (or per channel) does not.
    #[error("{name} has {found} values, expected {expected}")]
    Length {
        /// Which argument.
        name: &'static str,
        /// Its length.
        found: usize,
        /// The length the shape implies.
        expected: usize,
    },
}

/// The layout of one batch normalisation: `batch` samples of `channels` planes of `plane`
/// contiguous values each (the product of the spatial dimensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchNorm {
    /// Size of the first axis.
    pub batch: usize,
    /// Size of the second axis: one mean and variance each.
    pub channels: usize,
    /// Product of the remaining axes (1 for a 2-D `[batch, channels]` input).
    pub plane: usize,
}

/// Per-channel mean and biased variance of a batch, rounded to the element type.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics<T> {
    /// Mean over the batch and spatial axes.
    pub mean: Vec<T>,
    /// Biased (divided by the count) variance over the batch and spatial axes.
    pub variance: Vec<T>,
}

/// Gradients of the normalisation with respect to its input, scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<T> {
    /// Same layout as the input.
    pub input: Vec<T>,
    /// One per channel.
    pub gamma: Vec<T>,
    /// One per channel.
    pub beta: Vec<T>,
}

/// Planes below this many values are grouped so that each parallel task has some work.
const TASK_VALUES: usize = 16 * 1024;

impl BatchNorm {
    /// The layout of a tensor of `shape` (`[batch, channels, ...]`).
    pub fn from_shape(shape: &[usize]) -> Result<Self, ShapeError> {
        if shape.len() < 2 {
            return Err(ShapeError::Rank(shape.len()));
        }
        Ok(Self {
            batch: shape[0],
            channels: shape[1],
            plane: shape[2..].iter().product(),
        })
    }

    /// Number of values of the input (and of the output).
    pub fn len(&self) -> usize {
        self.batch * self.channels * self.plane
    }

    /// Whether the input holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per channel that the statistics average over.
    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// Planes per parallel task.
    fn planes_per_task(&self) -> usize {
        (TASK_VALUES / self.plane.max(1)).max(1)
    }

    fn check(
        &self,
        name: &'static str,
        values: usize,
        per_channel: bool,
    ) -> Result<(), ShapeError> {
        let expected = if per_channel {
            self.channels
        } else {
            self.len()
        };
        if values == expected {
            Ok(())
        } else {
            Err(ShapeError::Length {
                name,
                found: values,
                expected,
            })
        }
    }

    /// Per-channel mean and biased variance of `input`. Channels of an empty batch get NaN.
    pub fn statistics<T: Float>(&self, input: &[T]) -> Result<Statistics<T>, ShapeError> {
        count_pass();
        self.check("input", input.len(), false)?;
        // Each plane's own mean and sum of centred squares, in (sample, channel) order.
        let planes: Vec<(f64, f64)> = self
            .planes(input)
            .map(|values| {
                let mean = sum(values) / values.len() as f64;
                (mean, centred_squares(values, mean))
            })
            .collect();
        let mut statistics = Statistics {
            mean: Vec::with_capacity(self.channels),
            variance: Vec::with_capacity(self.channels),
        };
        if self.count() == 0.0 {
            statistics.mean = vec![T::from_f64(f64::NAN); self.channels];
            statistics.variance = statistics.mean.clone();
            return Ok(statistics);
        }
        for channel in 0..self.channels {
            let of_channel = || planes.iter().skip(channel).step_by(self.channels);
            // Equal-sized planes: the channel's mean is the mean of the planes' means, and its
            // sum of squares adds each plane's spread around the channel's mean.
            let mean = of_channel().map(|p| p.0).sum::<f64>() / self.batch as f64;
            let squares: f64 = of_channel()
                .map(|&(plane_mean, plane_squares)| {
                    plane_squares + self.plane as f64 * (plane_mean - mean).powi(2)
                })
                .sum();
            statistics.mean.push(T::from_f64(mean));
            statistics
                .variance
                .push(T::from_f64(squares / self.count()));
        }
        Ok(statistics)
    }

    /// `(input - mean) / sqrt(variance + epsilon) * gamma + beta`, per channel.
    pub fn normalize<T: Float>(
        &self,
        input: &[T],
        gamma: &[T],
        beta: &[T],
        statistics: &Statistics<T>,
        epsilon: f64,
    ) -> Result<Vec<T>, ShapeError> {
        count_pass();
        self.check("input", input.len(), false)?;
        self.check_channels(&[
            ("gamma", gamma.len()),
            ("beta", beta.len()),
            ("mean", statistics.mean.len()),
            ("variance", statistics.variance.len()),
        ])?;
        let scale: Vec<T> = (0..self.channels)
            .map(|c| T::from_f64(gamma[c].into() * inverse_std(statistics.variance[c], epsilon)))
            .collect();
        let mean = &statistics.mean;
        Ok(self.map_planes(&[input], |channel, [x], out| {
            let (m, a, b) = (mean[channel], scale[channel], beta[channel]);
            for (o, &x) in out.iter_mut().zip(x) {
                o.write((x - m) * a + b);
            }
        }))
    }

    /// The batch statistics of `input` and the input normalised with them (training mode).
    pub fn train<T: Float>(
        &self,
        input: &[T],
        gamma: &[T],
        beta: &[T],
        epsilon: f64,
    ) -> Result<(Vec<T>, Statistics<T>), ShapeError> {
        let statistics = self.statistics(input)?;
        let output = self.normalize(input, gamma, beta, &statistics, epsilon)?;
        Ok((output, statistics))
    }

    /// Gradients of [`BatchNorm::train`]'s output with respect to its input, `gamma` and `beta`,
    /// given the output's gradient and the statistics the forward pass returned:
    /// `dx = gamma / std * (dy - mean(dy) - x_hat * mean(dy * x_hat))`,
    /// `dgamma = sum(dy * x_hat)`, `dbeta = sum(dy)`, with `x_hat = (x - mean) / std`.
    pub fn backward<T: Float>(
        &self,
        input: &[T],
        gamma: &[T],
        statistics: &Statistics<T>,
        epsilon: f64,
        output_grad: &[T],
    ) -> Result<Gradients<T>, ShapeError> {
        count_pass();
        self.check("input", input.len(), false)?;
        self.check("output gradient", output_grad.len(), false)?;
        self.check_channels(&[
            ("gamma", gamma.len()),
            ("mean", statistics.mean.len()),
            ("variance", statistics.variance.len()),
        ])?;
        let mean = &statistics.mean;
        // Per plane: sum(dy) and sum(dy * (x - mean)).
        let planes: Vec<(f64, f64)> = self
            .planes(input)
            .zip(self.planes(output_grad))
            .enumerate()
            .map(|(unit, (x, dy))| {
                let m: f64 = mean[unit % self.channels].into();
                (sum(dy), centred_products(x, dy, m))
            })
            .collect();
        let count = self.count();
        let mut gradients = Gradients {
            input: Vec::new(),
            gamma: Vec::with_capacity(self.channels),
            beta: Vec::with_capacity(self.channels),
        };
        // Per channel: dx = k_dy * dy - k_x * (x - mean) - k_0.
        let mut coefficients = Vec::with_capacity(self.channels);
        for (channel, (&scale, &variance)) in gamma.iter().zip(&statistics.variance).enumerate() {
            let of_channel = || planes.iter().skip(channel).step_by(self.channels);
            let beta_grad: f64 = of_channel().map(|p| p.0).sum();
            let centred: f64 = of_channel().map(|p| p.1).sum();
            let inv_std = inverse_std(variance, epsilon);
            let gamma_grad = centred * inv_std;
            let k_dy = scale.into() * inv_std;
            coefficients.push((
                T::from_f64(k_dy),
                T::from_f64(k_dy * inv_std * gamma_grad / count),
                T::from_f64(k_dy * beta_grad / count),
            ));
            gradients.gamma.push(T::from_f64(gamma_grad));
            gradients.beta.push(T::from_f64(beta_grad));
        }
        gradients.input = self.map_planes(&[input, output_grad], |channel, [x, dy], out| {
            let (k_dy, k_x, k_0) = coefficients[channel];
            let m = mean[channel];
            for ((o, &x), &dy) in out.iter_mut().zip(x).zip(dy) {
                o.write(k_dy * dy - k_x * (x - m) - k_0);
            }
        });
        Ok(gradients)
    }

    /// Each named slice holds one value per channel.
    fn check_channels(&self, slices: &[(&'static str, usize)]) -> Result<(), ShapeError> {
        slices
            .iter()
            .try_for_each(|&(name, len)| self.check(name, len, true))
    }

    /// The `(sample, channel)` planes of `values`, in order, as a parallel iterator.
    fn planes<'a, T: Float>(
        &self,
        values: &'a [T],
    ) -> impl IndexedParallelIterator<Item = &'a [T]> + 'a {
        // An empty plane still counts as one (empty) unit per (sample, channel).
        let plane = self.plane.max(1);
        let units = if self.plane == 0 {
            0
        } else {
            values.len() / plane
        };
        values[..units * plane]
            .par_chunks(plane)
            .with_min_len(self.planes_per_task())
    }

    /// A new tensor of the input's layout, each plane written by `write(channel, inputs' planes,
    /// output plane)`, which must write every value.
    fn map_planes<T: Float, const N: usize>(
        &self,
        inputs: &[&[T]; N],
        write: impl Fn(usize, [&[T]; N], &mut [MaybeUninit<T>]) + Sync,
    ) -> Vec<T> {
        let len = self.len();
        let mut out = Vec::with_capacity(len);
        if len > 0 {
            out.spare_capacity_mut()[..len]
                .par_chunks_mut(self.plane)
                .with_min_len(self.planes_per_task())
                .enumerate()
                .for_each(|(unit, plane)| {
                    let start = unit * self.plane;
                    let planes = inputs.map(|values| &values[start..start + self.plane]);
                    write(unit % self.channels, planes, plane);
                });
            // SAFETY: the chunks cover `..len` and `write` initialises every value of each.
            unsafe { out.set_len(len) };
        }
        out
    }
}

fn inverse_std<T: Float>(variance: T, epsilon: f64) -> f64 {
    1.0 / (variance.into() + epsilon).sqrt()
}

/// Lanes of the `f64` sums: independent accumulators the compiler can vectorise.
const LANES: usize = 8;

/// Sum of `values` in `f64`.
fn sum<T: Float>(values: &[T]) -> f64 {
    fold(values, values, |x, _| x)
}

/// Sum of `(values - mean)^2` in `f64`.
fn centred_squares<T: Float>(values: &[T], mean: f64) -> f64 {
    fold(values, values, |x, _| (x - mean) * (x - mean))
}

/// Sum of `(x - mean) * dy` in `f64`.
fn centred_products<T: Float>(x: &[T], dy: &[T], mean: f64) -> f64 {
    fold(x, dy, |x, dy| (x - mean) * dy)
}

/// Sum over `i` of `term(a[i], b[i])` in `f64`, in `LANES` interleaved partial sums.
#[inline(always)]
fn fold<T: Float>(a: &[T], b: &[T], term: impl Fn(f64, f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let (a_body, a_tail) = a.split_at(a.len() / LANES * LANES);
    let (b_body, b_tail) = b.split_at(a_body.len());
    for (a, b) in a_body.chunks_exact(LANES).zip(b_body.chunks_exact(LANES)) {
        for lane in 0..LANES {
            lanes[lane] += term(a[lane].into(), b[lane].into());
        }
    }
    let tail: f64 = a_tail
        .iter()
        .zip(b_tail)
        .map(|(&a, &b)| term(a.into(), b.into()))
        .sum();
    lanes.iter().sum::<f64>() + tail
}
