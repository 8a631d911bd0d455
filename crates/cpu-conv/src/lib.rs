//! 2-D convolutions of NCHW tensors on the CPU: the forward pass, the input gradient and the
//! weight gradient, for `f32` and `f64`, any stride, padding (begin and end per axis), dilation
//! and groups; and 3-D convolutions with both gradients ([`Conv3d`], built from 2-D im2col
//! matrices of the input planes, one per depth tap). This crate owns the arithmetic only (slices in, slices out, no deep-learning
//! dependency); `patches/burn-flex` routes Burn's flex backend to it.
//!
//! Why it exists: flex runs 2-D convolutions through its 3-D path (a serial channels-last copy,
//! 512-pixel im2col tiles, a strided write-back) and computes the gradients as a transposed
//! convolution and as a convolution with a kernel the size of the image, which left training at
//! 0.3x PyTorch's speed (docs/benchmarks.md). Here every pass is im2col over bands of output rows
//! in the tensors' own layout followed by one `gemm` call per band, bands in parallel:
//! - forward: `out[b][:, band] = W (C_out x K) @ col(band) (K x n)`, `K = C_in/groups * kh * kw`;
//!   1x1 convolutions with stride 1 read the input in place;
//! - input gradient: with stride 1 it is the forward convolution of the output gradient with the
//!   flipped, transposed kernel; otherwise `W^T @ grad` per band, scattered back (col2im);
//! - weight gradient: `sum over bands of grad[b][:, band] @ col(band)^T`, summed in a fixed order
//!   over a number of partial sums that depends only on the shapes, so the result is the same
//!   for any thread count; each block is computed column-major, so that gemm's vector dimension
//!   is the output channels and it never packs a transposed copy of the im2col matrix.

mod three_d;
pub use three_d::Conv3d;

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

/// Passes run by this process (forward and gradients), so that a test can tell whether Burn's
/// backend reaches this crate at all: if `patches/burn-flex` stops being used (a Burn upgrade
/// leaves the `[patch]` unused, which Cargo only warns about), the count stays at 0.
static PASSES: AtomicU64 = AtomicU64::new(0);

/// How many convolution passes (forward, input gradient, weight gradient) this process has run.
pub fn passes_run() -> u64 {
    PASSES.load(Ordering::Relaxed)
}

pub(crate) fn count_pass() {
    PASSES.fetch_add(1, Ordering::Relaxed);
}

/// Scalars the kernels run on (`gemm` supports both natively).
pub trait Scalar:
    Copy + Default + Send + Sync + 'static + std::ops::Add<Output = Self> + std::ops::AddAssign
{
    const ONE: Self;
}

impl Scalar for f32 {
    const ONE: Self = 1.0;
}

impl Scalar for f64 {
    const ONE: Self = 1.0;
}

/// The geometry of one 2-D convolution: input `(batch, channels_in, in_h, in_w)`, weight
/// `(channels_out, channels_in / groups, kernel_h, kernel_w)`, output
/// `(batch, channels_out, out_h, out_w)`, all contiguous row-major (NCHW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    pub batch: usize,
    pub channels_in: usize,
    pub channels_out: usize,
    pub groups: usize,
    /// `[height, width]` of the input.
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero padding before the first row and column.
    pub padding_begin: [usize; 2],
    /// Zero padding after the last row and column.
    pub padding_end: [usize; 2],
    pub dilation: [usize; 2],
}

/// A geometry the kernels cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("convolution: {0}")]
pub struct GeometryError(String);

/// Floats of an im2col band the forward pass aims for (512 KiB of `f32`).
const BAND_BUDGET: usize = 1 << 17;
/// Output pixels a band holds at least, so that a `gemm` call is never too thin.
const BAND_MIN_PIXELS: usize = 256;
/// Partial weight gradients summed at the end (at most; fewer for large kernels).
const WEIGHT_PARTIALS: usize = 8;
/// Floats all partial weight gradients may take together.
const WEIGHT_PARTIALS_BUDGET: usize = 1 << 24;

impl Conv2d {
    /// Checks the geometry: positive sizes, channels divisible by groups, an output of at least
    /// one pixel.
    pub fn validated(self) -> Result<Self, GeometryError> {
        let positive = [
            ("batch", self.batch),
            ("input channels", self.channels_in),
            ("output channels", self.channels_out),
            ("groups", self.groups),
            ("kernel height", self.kernel[0]),
            ("kernel width", self.kernel[1]),
            ("stride", self.stride[0].min(self.stride[1])),
            ("dilation", self.dilation[0].min(self.dilation[1])),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(GeometryError(format!("{name} is zero")));
        }
        if !self.channels_in.is_multiple_of(self.groups)
            || !self.channels_out.is_multiple_of(self.groups)
        {
            return Err(GeometryError(format!(
                "{} input and {} output channels do not split into {} groups",
                self.channels_in, self.channels_out, self.groups
            )));
        }
        for axis in 0..2 {
            let padded = self.input[axis] + self.padding_begin[axis] + self.padding_end[axis];
            if padded < self.span(axis) {
                return Err(GeometryError(format!(
                    "the kernel ({} with dilation {}) is larger than the padded input ({padded})",
                    self.kernel[axis], self.dilation[axis]
                )));
            }
        }
        Ok(self)
    }

    /// Extent of the dilated kernel along `axis`.
    fn span(&self, axis: usize) -> usize {
        self.dilation[axis] * (self.kernel[axis] - 1) + 1
    }

    /// `[height, width]` of the output.
    pub fn output(&self) -> [usize; 2] {
        [0, 1].map(|axis| {
            (self.input[axis] + self.padding_begin[axis] + self.padding_end[axis] - self.span(axis))
                / self.stride[axis]
                + 1
        })
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.channels_in * self.input[0] * self.input[1]
    }

    pub fn weight_len(&self) -> usize {
        self.channels_out * self.group_patch()
    }

    pub fn output_len(&self) -> usize {
        let [h, w] = self.output();
        self.batch * self.channels_out * h * w
    }

    pub(crate) fn group_channels_in(&self) -> usize {
        self.channels_in / self.groups
    }

    pub(crate) fn group_channels_out(&self) -> usize {
        self.channels_out / self.groups
    }

    /// Rows of the im2col matrix of one group: `C_in / groups * kh * kw`.
    pub(crate) fn group_patch(&self) -> usize {
        self.group_channels_in() * self.kernel[0] * self.kernel[1]
    }

    /// A 1x1 kernel with stride 1 and no padding reads the input as its own im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && self.padding_begin == [0, 0]
            && self.padding_end == [0, 0]
    }

    /// Output rows per band.
    pub(crate) fn band_rows(&self) -> usize {
        let [out_h, out_w] = self.output();
        let per_row = (self.group_patch() * out_w).max(1);
        let by_budget = BAND_BUDGET / per_row;
        let by_width = BAND_MIN_PIXELS.div_ceil(out_w);
        by_budget.max(by_width).clamp(1, out_h)
    }

    /// Output rows `first..last` of band `band` (bands of `rows` rows).
    pub(crate) fn band_range(&self, band: usize, rows: usize) -> (usize, usize) {
        let first = band * rows;
        (first, (first + rows).min(self.output()[0]))
    }

    /// Where output row `first` of the first channel of `group` in image `image` starts in an
    /// output (or output gradient) tensor.
    fn output_offset(&self, image: usize, group: usize, first: usize) -> usize {
        let [out_h, out_w] = self.output();
        ((image * self.groups + group) * self.group_channels_out() * out_h + first) * out_w
    }

    /// The forward convolution: `out = conv(x, weight) + bias`.
    pub fn forward<T: Scalar>(&self, x: &[T], weight: &[T], bias: Option<&[T]>, out: &mut [T]) {
        assert_eq!(out.len(), self.output_len(), "output length");
        // SAFETY: `out` holds `output_len()` elements.
        unsafe { self.forward_raw(x, weight, bias, out.as_mut_ptr()) }
    }

    /// [`Conv2d::forward`] into a new vector, never zero-filled first: the products write every
    /// element of the output without reading it (a freshly allocated buffer that is reused from
    /// the heap would otherwise be cleared for nothing).
    pub fn forward_new<T: Scalar>(&self, x: &[T], weight: &[T], bias: Option<&[T]>) -> Vec<T> {
        let len = self.output_len();
        let mut out = Vec::with_capacity(len);
        // SAFETY: the capacity is `len`; `forward_raw` writes all `len` elements (every task's
        // `gemm` with `read_dst == false` overwrites its rows of its band) before `set_len`.
        unsafe {
            self.forward_raw(x, weight, bias, out.as_mut_ptr());
            out.set_len(len);
        }
        out
    }

    /// The forward pass into `out`, which must have room for `output_len()` elements; it writes
    /// every one of them and reads none before writing it.
    unsafe fn forward_raw<T: Scalar>(
        &self,
        x: &[T],
        weight: &[T],
        bias: Option<&[T]>,
        out: *mut T,
    ) {
        // Every forward pass, and every stride-1 input gradient (its adjoint), runs here.
        count_pass();
        assert_eq!(x.len(), self.input_len(), "input length");
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        if let Some(bias) = bias {
            assert_eq!(bias.len(), self.channels_out, "bias length");
        }
        let [out_h, out_w] = self.output();
        let rows = self.band_rows();
        let bands = out_h.div_ceil(rows);
        let out_ptr = SharedMut(out);
        let image_in = self.channels_in * self.input[0] * self.input[1];
        let (patch, group_out) = (self.group_patch(), self.group_channels_out());
        (0..self.batch * bands * self.groups)
            .into_par_iter()
            .for_each_init(Vec::new, |col, task| {
                let (image, band, group) = (
                    task / (bands * self.groups),
                    task / self.groups % bands,
                    task % self.groups,
                );
                let (first, last) = self.band_range(band, rows);
                let pixels = (last - first) * out_w;
                let x_image = &x[image * image_in..][..image_in];
                let (rhs, rhs_rs) = self.band_matrix(x_image, group, first, last, col);
                // SAFETY: each task writes the rows of its own group's output channels for its
                // own band of pixels of its own image; no two tasks share an element.
                unsafe {
                    let dst = out_ptr.get().add(self.output_offset(image, group, first));
                    gemm::gemm(
                        group_out,
                        pixels,
                        patch,
                        dst,
                        1,
                        (out_h * out_w) as isize,
                        false,
                        weight[group * group_out * patch..].as_ptr(),
                        1,
                        patch as isize,
                        rhs,
                        1,
                        rhs_rs,
                        T::default(),
                        T::ONE,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                    if let Some(bias) = bias {
                        for channel in 0..group_out {
                            let value = bias[group * group_out + channel];
                            let row = dst.add(channel * out_h * out_w);
                            for pixel in 0..pixels {
                                *row.add(pixel) += value;
                            }
                        }
                    }
                }
            });
    }

    /// The im2col matrix (`K x pixels`, row stride returned) of output rows `first..last` of one
    /// group of one image: the input itself for pointwise convolutions, else built in `col`.
    fn band_matrix<T: Scalar>(
        &self,
        x_image: &[T],
        group: usize,
        first: usize,
        last: usize,
        col: &mut Vec<T>,
    ) -> (*const T, isize) {
        let [in_h, in_w] = self.input;
        let group_in = self.group_channels_in();
        if self.is_pointwise() {
            let start = group * group_in * in_h * in_w + first * in_w;
            return (x_image[start..].as_ptr(), (in_h * in_w) as isize);
        }
        let [_, out_w] = self.output();
        let pixels = (last - first) * out_w;
        col.resize(self.group_patch() * pixels, T::default());
        let channels = &x_image[group * group_in * in_h * in_w..][..group_in * in_h * in_w];
        self.im2col(channels, first, last, col);
        (col.as_ptr(), pixels as isize)
    }

    /// For kernel column `j`: the output columns whose input column lies inside the image, and
    /// the input column of output column 0 (may be negative).
    fn valid_columns(&self, j: usize) -> (usize, usize, isize) {
        let [_, out_w] = self.output();
        let stride = self.stride[1] as isize;
        let offset = (j * self.dilation[1]) as isize - self.padding_begin[1] as isize;
        let in_w = self.input[1] as isize;
        // ow * stride + offset in [0, in_w)
        let low = if offset >= 0 {
            0
        } else {
            (-offset + stride - 1) / stride
        };
        let high = if in_w - 1 - offset < 0 {
            0
        } else {
            ((in_w - 1 - offset) / stride + 1).min(out_w as isize)
        };
        let low = low.min(out_w as isize) as usize;
        (low, (high as usize).max(low), offset)
    }

    /// The input row of output row `oh` for kernel row `i`, if inside the image.
    fn input_row(&self, oh: usize, i: usize) -> Option<usize> {
        let row =
            (oh * self.stride[0] + i * self.dilation[0]) as isize - self.padding_begin[0] as isize;
        (row >= 0 && (row as usize) < self.input[0]).then_some(row as usize)
    }

    /// Where row `index` of the im2col matrix reads from (see [`PatchRow`]).
    fn patch_row(&self, index: usize) -> PatchRow {
        let [kernel_h, kernel_w] = self.kernel;
        let (low, high, offset) = self.valid_columns(index % kernel_w);
        PatchRow {
            offset,
            channel: index / (kernel_h * kernel_w),
            kernel_row: index / kernel_w % kernel_h,
            low,
            high,
            start: if low < high {
                (low as isize * self.stride[1] as isize + offset) as usize
            } else {
                0
            },
        }
    }

    /// Fills `col` (`group_patch x (last - first) * out_w`) from `channels` (one group's input
    /// channels of one image).
    fn im2col<T: Scalar>(&self, channels: &[T], first: usize, last: usize, col: &mut [T]) {
        let [in_h, in_w] = self.input;
        self.im2col_strided(channels, in_h * in_w, first, last, col);
    }

    /// [`Conv2d::im2col`] from planes `channel_stride` elements apart (the planes of one depth
    /// of a 3-D volume: a volume's depth apart).
    pub(crate) fn im2col_strided<T: Scalar>(
        &self,
        channels: &[T],
        channel_stride: usize,
        first: usize,
        last: usize,
        col: &mut [T],
    ) {
        let [in_h, in_w] = self.input;
        let [_, out_w] = self.output();
        let shifted_planes = self.stride == [1, 1] && out_w == in_w;
        // The rows in order (channel, kernel row, kernel column), each kernel column's range
        // computed once rather than per row of every band.
        let columns: Vec<PatchRow> = (0..self.kernel[1]).map(|j| self.patch_row(j)).collect();
        let columns = &columns;
        let patch_rows = (0..self.group_channels_in()).flat_map(|channel| {
            (0..self.kernel[0]).flat_map(move |kernel_row| {
                columns.iter().map(move |column| PatchRow {
                    channel,
                    kernel_row,
                    ..*column
                })
            })
        });
        for (patch_row, col_row) in patch_rows.zip(col.chunks_exact_mut((last - first) * out_w)) {
            let plane = &channels[patch_row.channel * channel_stride..][..in_h * in_w];
            if shifted_planes {
                self.shifted_plane(&patch_row, plane, first, last, col_row);
            } else {
                self.row_by_row(&patch_row, plane, first, last, col_row);
            }
        }
    }

    /// One row of the im2col matrix, output row by output row: any geometry.
    fn row_by_row<T: Scalar>(
        &self,
        patch_row: &PatchRow,
        plane: &[T],
        first: usize,
        last: usize,
        col_row: &mut [T],
    ) {
        let in_w = self.input[1];
        let [_, out_w] = self.output();
        let stride = self.stride[1];
        let &PatchRow {
            kernel_row,
            low,
            high,
            start,
            ..
        } = patch_row;
        for (oh, dst) in (first..last).zip(col_row.chunks_exact_mut(out_w)) {
            let Some(row) = self.input_row(oh, kernel_row) else {
                dst.fill(T::default());
                continue;
            };
            let src = &plane[row * in_w..][..in_w];
            zero_edge(&mut dst[..low]);
            zero_edge(&mut dst[high..]);
            if stride == 1 {
                copy_row(&mut dst[low..high], &src[start..start + high - low]);
            } else {
                for (k, value) in dst[low..high].iter_mut().enumerate() {
                    *value = src[start + k * stride];
                }
            }
        }
    }

    /// Row `index` of the im2col matrix when the stride is 1 and the output as wide as the input
    /// ("same" padding): then the row is the input plane shifted by the kernel offset, so the
    /// rows inside the image are one contiguous copy, and only the few padding columns at each
    /// row's edges (which the copy filled from the neighbouring row) and the rows above or below
    /// the image are zeroed. One copy per row of the matrix instead of one per output row is what
    /// makes small planes (the deep levels of a 3-D UNet: 2 to 8 wide) cheap.
    fn shifted_plane<T: Scalar>(
        &self,
        patch_row: &PatchRow,
        plane: &[T],
        first: usize,
        last: usize,
        col_row: &mut [T],
    ) {
        let [in_h, in_w] = self.input;
        let &PatchRow {
            kernel_row,
            low,
            high,
            offset,
            ..
        } = patch_row;
        // Output rows whose input row is inside the image: a contiguous range (stride 1).
        let shift = (kernel_row * self.dilation[0]) as isize - self.padding_begin[0] as isize;
        let inside_first = (first as isize).max(-shift) as usize;
        let inside_last = (last as isize)
            .min(in_h as isize - shift)
            .max(inside_first as isize);
        let inside_last = inside_last as usize;
        let (top, bottom) = (
            (inside_first.min(last) - first) * in_w,
            (inside_last.min(last) - first) * in_w,
        );
        col_row[..top].fill(T::default());
        col_row[bottom..].fill(T::default());
        if top == bottom {
            return;
        }
        // Element `e` of `col_row[top..bottom]` reads plane element `source + e`; the elements
        // before the plane's start or past its end are padding columns, zeroed below.
        let source = (inside_first as isize + shift) * in_w as isize + offset;
        let skip = (-source).max(0) as usize;
        let end = (bottom - top).min((plane.len() as isize - source).max(0) as usize);
        if skip < end {
            let from = (source + skip as isize) as usize;
            col_row[top + skip..top + end].copy_from_slice(&plane[from..from + end - skip]);
        }
        for row in col_row[top..bottom].chunks_exact_mut(in_w) {
            zero_edge(&mut row[..low]);
            zero_edge(&mut row[high..]);
        }
    }

    /// Adds `col` (`group_patch x (last - first) * out_w`) back into `channels`: the adjoint of
    /// [`Conv2d::im2col`].
    fn col2im<T: Scalar>(&self, col: &[T], first: usize, last: usize, channels: &mut [T]) {
        let [in_h, in_w] = self.input;
        let [_, out_w] = self.output();
        let stride = self.stride[1];
        for (index, col_row) in col.chunks_exact((last - first) * out_w).enumerate() {
            let PatchRow {
                channel,
                kernel_row,
                low,
                high,
                start,
                ..
            } = self.patch_row(index);
            let plane = &mut channels[channel * in_h * in_w..][..in_h * in_w];
            for (oh, src) in (first..last).zip(col_row.chunks_exact(out_w)) {
                let Some(row) = self.input_row(oh, kernel_row) else {
                    continue;
                };
                let dst = &mut plane[row * in_w..][..in_w];
                for (k, value) in src[low..high].iter().enumerate() {
                    dst[start + k * stride] += *value;
                }
            }
        }
    }

    /// [`Conv2d::input_grad`] into a new vector; with stride 1 (the adjoint forward convolution)
    /// it is never zero-filled first, as [`Conv2d::forward_new`].
    pub fn input_grad_new<T: Scalar>(&self, weight: &[T], grad_out: &[T]) -> Vec<T> {
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        if let Some(adjoint) = self.adjoint_convolution() {
            return adjoint.forward_new(grad_out, &self.flipped_transposed(weight), None);
        }
        let mut grad_in = vec![T::default(); self.input_len()];
        self.input_grad(weight, grad_out, &mut grad_in);
        grad_in
    }

    /// The gradient of the loss with respect to the input, from the gradient with respect to the
    /// output.
    pub fn input_grad<T: Scalar>(&self, weight: &[T], grad_out: &[T], grad_in: &mut [T]) {
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        assert_eq!(grad_in.len(), self.input_len(), "input gradient length");
        if let Some(adjoint) = self.adjoint_convolution() {
            let flipped = self.flipped_transposed(weight);
            adjoint.forward(grad_out, &flipped, None, grad_in);
            return;
        }
        count_pass();
        let [out_h, out_w] = self.output();
        let rows = self.band_rows();
        let bands = out_h.div_ceil(rows);
        let (patch, group_in, group_out) = (
            self.group_patch(),
            self.group_channels_in(),
            self.group_channels_out(),
        );
        let plane_in = self.input[0] * self.input[1];
        // Bands of one image overlap in the input, so images (and groups) are the parallel unit.
        grad_in
            .par_chunks_mut(plane_in * group_in)
            .enumerate()
            .for_each_init(Vec::new, |col, (task, channels)| {
                let (image, group) = (task / self.groups, task % self.groups);
                channels.fill(T::default());
                for band in 0..bands {
                    let (first, last) = self.band_range(band, rows);
                    let pixels = (last - first) * out_w;
                    col.resize(patch * pixels, T::default());
                    let grad = &grad_out[self.output_offset(image, group, first)..];
                    // SAFETY: `col` holds patch x pixels elements; the operands are in bounds.
                    unsafe {
                        gemm::gemm(
                            patch,
                            pixels,
                            group_out,
                            col.as_mut_ptr(),
                            1,
                            pixels as isize,
                            false,
                            weight[group * group_out * patch..].as_ptr(),
                            patch as isize,
                            1,
                            grad.as_ptr(),
                            1,
                            (out_h * out_w) as isize,
                            T::default(),
                            T::ONE,
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                    self.col2im(col, first, last, channels);
                }
            });
    }

    /// With stride 1 (and padding no larger than the dilated kernel), the input gradient is a
    /// forward convolution of the output gradient: this is its geometry.
    fn adjoint_convolution(&self) -> Option<Conv2d> {
        let (padding_begin, padding_end) = adjoint_padding(
            self.stride,
            self.kernel,
            self.dilation,
            self.padding_begin,
            self.padding_end,
        )?;
        Some(Conv2d {
            batch: self.batch,
            channels_in: self.channels_out,
            channels_out: self.channels_in,
            groups: self.groups,
            input: self.output(),
            kernel: self.kernel,
            stride: [1, 1],
            padding_begin,
            padding_end,
            dilation: self.dilation,
        })
    }

    /// The weight of the adjoint convolution: per group, input and output channels swapped and
    /// the kernel rotated by 180 degrees.
    fn flipped_transposed<T: Scalar>(&self, weight: &[T]) -> Vec<T> {
        let [kernel_h, kernel_w] = self.kernel;
        let (group_in, group_out) = (self.group_channels_in(), self.group_channels_out());
        flip_transpose(
            weight,
            self.groups,
            group_in,
            group_out,
            kernel_h * kernel_w,
        )
    }

    /// The gradient of the loss with respect to the weight.
    pub fn weight_grad<T: Scalar>(&self, x: &[T], grad_out: &[T], grad_weight: &mut [T]) {
        count_pass();
        assert_eq!(x.len(), self.input_len(), "input length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        assert_eq!(
            grad_weight.len(),
            self.weight_len(),
            "weight gradient length"
        );
        let [out_h, out_w] = self.output();
        let rows = self.band_rows();
        let bands = out_h.div_ceil(rows);
        let image_in = self.channels_in * self.input[0] * self.input[1];
        let (patch, group_out) = (self.group_patch(), self.group_channels_out());
        let per_group = group_out * patch;
        // Each group's `group_out x patch` block column-major: gemm's vector dimension is then
        // the output channels, and it packs only the output gradient, not a transposed copy of
        // every im2col matrix (the larger operand whenever `patch > group_out`).
        let mut transposed = vec![T::default(); grad_weight.len()];
        // Tasks are (image, band).
        sum_in_fixed_order(self.batch * bands, &mut transposed, |run, sum| {
            let mut col = Vec::new();
            let start = run.start;
            for task in run {
                let (image, band) = (task / bands, task % bands);
                let (first, last) = self.band_range(band, rows);
                let pixels = (last - first) * out_w;
                let x_image = &x[image * image_in..][..image_in];
                for group in 0..self.groups {
                    let (rhs, rhs_rs) = self.band_matrix(x_image, group, first, last, &mut col);
                    let grad = &grad_out[self.output_offset(image, group, first)..];
                    // SAFETY: the destination is this partial's own buffer; operands are in
                    // bounds (im2col rows have `pixels` entries at stride `rhs_rs`).
                    unsafe {
                        add_weight_product(
                            group_out,
                            patch,
                            pixels,
                            sum[group * per_group..].as_mut_ptr(),
                            group_out,
                            task != start,
                            grad.as_ptr(),
                            out_h * out_w,
                            rhs,
                            rhs_rs as usize,
                        );
                    }
                }
            }
        });
        for (block, transposed) in grad_weight
            .chunks_exact_mut(per_group)
            .zip(transposed.chunks_exact(per_group))
        {
            for (o, row) in block.chunks_exact_mut(patch).enumerate() {
                for (q, value) in row.iter_mut().enumerate() {
                    *value = transposed[q * group_out + o];
                }
            }
        }
    }
}

/// `dst = dst + grad @ col^T` (or `grad @ col^T` where `accumulate` is false), the product of a
/// weight gradient: `grad` is `rows x pixels` (row stride `grad_rs`), `col` an im2col matrix
/// `patch x pixels` (row stride `col_rs`), `dst` is `rows x patch` column-major (column stride
/// `dst_cs`). Column-major, gemm's vector dimension is the rows (output channels) and it packs
/// only `grad`, never a transposed copy of the (larger) im2col matrix.
///
/// # Safety
/// Each pointer must address every element its shape and strides name.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn add_weight_product<T: Scalar>(
    rows: usize,
    patch: usize,
    pixels: usize,
    dst: *mut T,
    dst_cs: usize,
    accumulate: bool,
    grad: *const T,
    grad_rs: usize,
    col: *const T,
    col_rs: usize,
) {
    // SAFETY: the caller's contract.
    unsafe {
        gemm::gemm(
            rows,
            patch,
            pixels,
            dst,
            dst_cs as isize,
            1,
            accumulate,
            grad,
            1,
            grad_rs as isize,
            col,
            col_rs as isize,
            1,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The sum over `tasks` tasks of what each adds to a buffer, into `total`, with the same bits
/// for any number of threads: the tasks go in fixed runs to a fixed number of partial sums (at
/// most [`WEIGHT_PARTIALS`], fewer where their buffers would pass [`WEIGHT_PARTIALS_BUDGET`]);
/// `add_run(run, sum)` adds a run's tasks in order to its zeroed partial sum, and the partials
/// are added in order.
pub(crate) fn sum_in_fixed_order<T: Scalar>(
    tasks: usize,
    total: &mut [T],
    add_run: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync,
) {
    let partials = WEIGHT_PARTIALS
        .min(tasks)
        .min((WEIGHT_PARTIALS_BUDGET / total.len()).max(1));
    let partial_sums: Vec<Vec<T>> = (0..partials)
        .into_par_iter()
        .map(|partial| {
            let mut sum = vec![T::default(); total.len()];
            add_run(
                tasks * partial / partials..tasks * (partial + 1) / partials,
                &mut sum,
            );
            sum
        })
        .collect();
    total.copy_from_slice(&partial_sums[0]);
    for partial in &partial_sums[1..] {
        for (sum, value) in total.iter_mut().zip(partial) {
            *sum += *value;
        }
    }
}

/// Where one row of the im2col matrix reads from: input channel `channel` (of the group), kernel
/// row `kernel_row`; output columns `low..high` fall inside the image and read input columns
/// `start, start + stride, ...`; the others are padding. Output column `ow` reads input column
/// `ow * stride + offset`.
struct PatchRow {
    offset: isize,
    channel: usize,
    kernel_row: usize,
    low: usize,
    high: usize,
    start: usize,
}

/// A pointer the parallel tasks write through, each to its own elements.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);

impl<T> SharedMut<T> {
    /// The pointer (a method, so that closures capture the `Sync` wrapper, not the field).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}
// SAFETY: the tasks that share it write disjoint elements (see each use).
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// The padding of the adjoint of a convolution of any rank, or `None` where it is not a
/// stride-1 convolution: with stride 1 and padding within the dilated kernel's reach `r`, the
/// input gradient is the output gradient convolved with padding `r - p` on each side.
pub(crate) fn adjoint_padding<const N: usize>(
    stride: [usize; N],
    kernel: [usize; N],
    dilation: [usize; N],
    padding_begin: [usize; N],
    padding_end: [usize; N],
) -> Option<([usize; N], [usize; N])> {
    if stride != [1; N] {
        return None;
    }
    let reach: [usize; N] = std::array::from_fn(|axis| dilation[axis] * (kernel[axis] - 1));
    let fits =
        (0..N).all(|axis| padding_begin[axis] <= reach[axis] && padding_end[axis] <= reach[axis]);
    fits.then(|| {
        (
            std::array::from_fn(|axis| reach[axis] - padding_begin[axis]),
            std::array::from_fn(|axis| reach[axis] - padding_end[axis]),
        )
    })
}

/// The weight of the adjoint convolution of any rank: `(groups * group_out, group_in, taps)`
/// becomes `(groups * group_in, group_out, taps)`, each kernel reversed (rotated by 180 degrees
/// in every axis).
pub(crate) fn flip_transpose<T: Scalar>(
    weight: &[T],
    groups: usize,
    group_in: usize,
    group_out: usize,
    taps: usize,
) -> Vec<T> {
    let mut flipped = vec![T::default(); weight.len()];
    for group in 0..groups {
        for o in 0..group_out {
            for c in 0..group_in {
                let src = &weight[((group * group_out + o) * group_in + c) * taps..][..taps];
                let dst = &mut flipped[((group * group_in + c) * group_out + o) * taps..][..taps];
                for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                    *d = *s;
                }
            }
        }
    }
    flipped
}

/// Zeros the few padding columns at a row's edge. The usual one column is a single store:
/// `fill` would call `memset` for it, and im2col does this for every row of small planes.
#[inline(always)]
fn zero_edge<T: Scalar>(edge: &mut [T]) {
    match edge {
        [] => {}
        [only] => *only = T::default(),
        _ => edge.fill(T::default()),
    }
}

/// `dst.copy_from_slice(src)` for the short rows of small planes (a 32-wide window is 128
/// bytes): fixed blocks of 8 copied inline, the last block overlapping the one before, instead of
/// a `memcpy` call per row.
#[inline(always)]
fn copy_row<T: Scalar>(dst: &mut [T], src: &[T]) {
    const BLOCK: usize = 8;
    let len = dst.len();
    assert_eq!(len, src.len(), "row lengths");
    if len < BLOCK {
        dst.copy_from_slice(src);
        return;
    }
    let mut at = 0;
    while at + BLOCK <= len {
        copy_block::<T, BLOCK>(&mut dst[at..at + BLOCK], &src[at..at + BLOCK]);
        at += BLOCK;
    }
    if at < len {
        let tail = len - BLOCK;
        copy_block::<T, BLOCK>(&mut dst[tail..], &src[tail..]);
    }
}

/// One fixed-size block copy, which the compiler keeps inline as vector moves.
#[inline(always)]
fn copy_block<T: Scalar, const N: usize>(dst: &mut [T], src: &[T]) {
    let dst: &mut [T; N] = dst.try_into().expect("a block");
    let src: &[T; N] = src.try_into().expect("a block");
    *dst = *src;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// "Same"-width geometries (stride 1, horizontal padding `(kw - 1) * dilation` split any
    /// way), any height padding, planes down to 1 wide, bands anywhere.
    fn same_width() -> impl Strategy<Value = (Conv2d, usize, usize)> {
        (
            (1usize..4, 1usize..10, 1usize..10),
            (1usize..4, 1usize..4, 1usize..3, 1usize..3),
            (0usize..4, 0usize..4, 0usize..5),
            (0usize..8, 0usize..8),
        )
            .prop_filter_map(
                "valid geometry",
                |((channels, in_h, in_w), (kh, kw, dh, dw), (top, bottom, left), (a, b))| {
                    let span_w = (kw - 1) * dw;
                    let left = left.min(span_w);
                    let conv = Conv2d {
                        batch: 1,
                        channels_in: channels,
                        channels_out: 1,
                        groups: 1,
                        input: [in_h, in_w],
                        kernel: [kh, kw],
                        stride: [1, 1],
                        padding_begin: [top, left],
                        padding_end: [bottom, span_w - left],
                        dilation: [dh, dw],
                    }
                    .validated()
                    .ok()?;
                    let out_h = conv.output()[0];
                    let (first, last) = (a.min(b) % out_h, a.max(b) % out_h + 1);
                    Some((conv, first, last.max(first + 1)))
                },
            )
    }

    proptest! {
        #[test]
        fn shifted_planes_are_the_row_by_row_matrix((conv, first, last) in same_width()) {
            let [in_h, in_w] = conv.input;
            assert_eq!(conv.output()[1], in_w);
            let channels: Vec<f32> = (0..conv.channels_in * in_h * in_w)
                .map(|i| i as f32 + 1.0)
                .collect();
            let len = conv.group_patch() * (last - first) * in_w;
            // Stale values in the buffers: every element must be written.
            let (mut fast, mut slow) = (vec![f32::NAN; len], vec![-7.0f32; len]);
            conv.im2col_strided(&channels, in_h * in_w, first, last, &mut fast);
            for (index, col_row) in slow.chunks_exact_mut((last - first) * in_w).enumerate() {
                let patch_row = conv.patch_row(index);
                let plane = &channels[patch_row.channel * in_h * in_w..][..in_h * in_w];
                conv.row_by_row(&patch_row, plane, first, last, col_row);
            }
            prop_assert_eq!(fast, slow);
        }
    }
}
