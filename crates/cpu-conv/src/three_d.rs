//! 3-D convolutions of NCDHW tensors and their gradients, built on [`Conv2d`]'s banded im2col
//! and `gemm`.
//!
//! Forward: the weight `(C_out, C_in / groups, kd, kh, kw)` is split into its `kd` depth taps
//! `W_k`, each a 2-D weight over one input plane, and output depth `z` is
//! `sum_k W_k @ col(plane(z, k))`, accumulated in `gemm`. A task (image, group, band of output
//! rows, chunk of output depths) builds the 2-D im2col matrix of each input plane once and keeps
//! the `kd` most recent, so neighbouring depths reuse what they share instead of gathering
//! `C_in * kd` channels per depth; the sum runs over taps in order in every task, so the result
//! does not depend on the thread count.
//!
//! Gradients: with stride 1 the input gradient is the adjoint forward convolution (the kernel
//! rotated, channels swapped, padding `span - 1 - p`), as in 2-D; otherwise each input plane
//! sums `col2im(W_k^T @ G(z))` over the (output depth `z`, tap `k`) pairs that read it, planes
//! in parallel. The weight gradient runs on the forward pass's tasks: tap `k`'s 2-D weight
//! gradient is `sum_z G(z) @ col(plane(z, k))^T`; each plane's matrix is built once per task and
//! multiplied by the stacked output gradients of all the (depth, tap) pairs that read it, with
//! the (tap, output channel) rows as gemm's vector dimension (so gemm packs the small stacked
//! gradient, not a transposed copy of the im2col matrix); tasks add into a fixed number of
//! partial sums in fixed runs, so it does not depend on the thread count.

use rayon::prelude::*;

use crate::{
    add_weight_product, adjoint_padding, count_pass, flip_transpose, sum_in_fixed_order, Conv2d,
    GeometryError, Scalar, SharedMut,
};

/// Output depths per forward task: each task builds the im2col matrices of the input planes its
/// depths read once, and the first `kd - 1` of them again at its start.
const DEPTH_CHUNK: usize = 16;

/// The geometry of one 3-D convolution: input `(batch, channels_in, in_d, in_h, in_w)`, weight
/// `(channels_out, channels_in / groups, kernel_d, kernel_h, kernel_w)`, output
/// `(batch, channels_out, out_d, out_h, out_w)`, all contiguous row-major (NCDHW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv3d {
    pub batch: usize,
    pub channels_in: usize,
    pub channels_out: usize,
    pub groups: usize,
    /// `[depth, height, width]` of the input.
    pub input: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub padding_begin: [usize; 3],
    pub padding_end: [usize; 3],
    pub dilation: [usize; 3],
}

impl Conv3d {
    /// The 2-D convolution each output depth runs: channels `C_in * kd`, the in-plane geometry.
    fn plane(&self) -> Conv2d {
        Conv2d {
            batch: self.batch,
            channels_in: self.channels_in * self.kernel[0],
            channels_out: self.channels_out,
            groups: self.groups,
            input: [self.input[1], self.input[2]],
            kernel: [self.kernel[1], self.kernel[2]],
            stride: [self.stride[1], self.stride[2]],
            padding_begin: [self.padding_begin[1], self.padding_begin[2]],
            padding_end: [self.padding_end[1], self.padding_end[2]],
            dilation: [self.dilation[1], self.dilation[2]],
        }
    }

    /// Checks the geometry as [`Conv2d::validated`] does, the depth axis included.
    pub fn validated(self) -> Result<Self, GeometryError> {
        self.plane().validated()?;
        if self.kernel[0] == 0 || self.stride[0] == 0 || self.dilation[0] == 0 {
            return Err(GeometryError(
                "the kernel depth, stride or dilation is zero".into(),
            ));
        }
        let padded = self.input[0] + self.padding_begin[0] + self.padding_end[0];
        if padded < self.depth_span() {
            return Err(GeometryError(format!(
                "the kernel depth ({} with dilation {}) is larger than the padded input ({padded})",
                self.kernel[0], self.dilation[0]
            )));
        }
        Ok(self)
    }

    fn depth_span(&self) -> usize {
        self.dilation[0] * (self.kernel[0] - 1) + 1
    }

    /// `[depth, height, width]` of the output.
    pub fn output(&self) -> [usize; 3] {
        let [h, w] = self.plane().output();
        let depth = (self.input[0] + self.padding_begin[0] + self.padding_end[0]
            - self.depth_span())
            / self.stride[0]
            + 1;
        [depth, h, w]
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.channels_in * self.input.iter().product::<usize>()
    }

    pub fn weight_len(&self) -> usize {
        self.channels_out * self.channels_in / self.groups * self.kernel.iter().product::<usize>()
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.channels_out * self.output().iter().product::<usize>()
    }

    /// The 2-D convolution of one input plane by one depth tap: `C_in` channels, the in-plane
    /// geometry.
    fn tap_plane(&self) -> Conv2d {
        Conv2d {
            channels_in: self.channels_in,
            ..self.plane()
        }
    }

    /// The weight as `kd` tap-major 2-D weights `(kd, C_out, C_in / groups, kh, kw)`.
    fn taps_weight<T: Scalar>(&self, weight: &[T]) -> Vec<T> {
        let [taps, kernel_h, kernel_w] = self.kernel;
        let (area, group_in) = (kernel_h * kernel_w, self.channels_in / self.groups);
        let mut by_tap = vec![T::default(); weight.len()];
        for o in 0..self.channels_out {
            for c in 0..group_in {
                for k in 0..taps {
                    let src = &weight[((o * group_in + c) * taps + k) * area..][..area];
                    let dst = &mut by_tap[((k * self.channels_out + o) * group_in + c) * area..];
                    dst[..area].copy_from_slice(src);
                }
            }
        }
        by_tap
    }

    /// The forward convolution `conv(x, weight) + bias` into a new vector: per output depth
    /// `z` and band of output rows, `out[z] = sum_k W_k @ col(plane(z, k))`, where `W_k` is the
    /// weight's depth tap `k` and `col(p)` the 2-D im2col matrix of input plane `p`, built once
    /// per plane and task and read by every output depth that reaches it.
    pub fn forward_new<T: Scalar>(&self, x: &[T], weight: &[T], bias: Option<&[T]>) -> Vec<T> {
        assert_eq!(x.len(), self.input_len(), "input length");
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        if let Some(bias) = bias {
            assert_eq!(bias.len(), self.channels_out, "bias length");
        }
        count_pass();
        let grid = TaskGrid::new(self);
        let [out_d, out_h, out_w] = self.output();
        let out_plane = out_h * out_w;
        let by_tap = self.taps_weight(weight);
        let (patch, group_out) = (grid.tap.group_patch(), grid.tap.group_channels_out());
        let len = self.output_len();
        let mut out: Vec<T> = Vec::with_capacity(len);
        let out_ptr = SharedMut(out.as_mut_ptr());
        (0..grid.tasks()).into_par_iter().for_each_init(
            Vec::new,
            |planes: &mut Vec<(usize, Vec<T>)>, task| {
                let task = grid.task(task);
                let (first, pixels, group) = (task.first, task.pixels, task.group);
                planes.iter_mut().for_each(|(plane, _)| *plane = usize::MAX);
                let channel0 = task.image * self.channels_out + group * group_out;
                for z in task.depths.clone() {
                    // SAFETY: each task writes output depths of its own chunk, rows of its own
                    // band, channels of its own group and image; no two tasks share an element.
                    let dst = unsafe {
                        out_ptr
                            .get()
                            .add((channel0 * out_d + z) * out_plane + first * out_w)
                    };
                    let mut written = false;
                    for k in 0..self.kernel[0] {
                        let Some(col) = grid.tap_matrix(x, &task, planes, z, k) else {
                            continue;
                        };
                        let lhs = &by_tap[(k * self.channels_out + group * group_out) * patch..];
                        // SAFETY: `dst` addresses `group_out` rows of `pixels` elements,
                        // `out_d * out_plane` apart, inside `out`'s capacity.
                        unsafe {
                            gemm::gemm(
                                group_out,
                                pixels,
                                patch,
                                dst,
                                1,
                                (out_d * out_plane) as isize,
                                written,
                                lhs.as_ptr(),
                                1,
                                patch as isize,
                                col.as_ptr(),
                                1,
                                pixels as isize,
                                if written { T::ONE } else { T::default() },
                                T::ONE,
                                false,
                                false,
                                false,
                                gemm::Parallelism::None,
                            );
                        }
                        written = true;
                    }
                    for channel in 0..group_out {
                        let value = bias.map_or(T::default(), |b| b[group * group_out + channel]);
                        // SAFETY: the same rows as the products above.
                        let row = unsafe {
                            std::slice::from_raw_parts_mut(
                                dst.add(channel * out_d * out_plane),
                                pixels,
                            )
                        };
                        if !written {
                            row.fill(value);
                        } else if bias.is_some() {
                            row.iter_mut().for_each(|v| *v += value);
                        }
                    }
                }
            },
        );
        // SAFETY: the tasks cover every (image, group, band, depth) and wrote all `len` elements.
        unsafe { out.set_len(len) };
        out
    }

    /// The input plane that depth tap `k` of output depth `depth` reads, or `None` in the
    /// padding.
    fn input_depth(&self, depth: usize, k: usize) -> Option<usize> {
        let z = (depth * self.stride[0] + k * self.dilation[0]) as isize
            - self.padding_begin[0] as isize;
        (0..self.input[0] as isize)
            .contains(&z)
            .then_some(z as usize)
    }

    /// The adjoint of a stride-1 convolution whose padding the kernel reaches: a stride-1
    /// convolution of the output gradient giving the input gradient (see the module docs).
    fn adjoint_convolution(&self) -> Option<Conv3d> {
        let (padding_begin, padding_end) = adjoint_padding(
            self.stride,
            self.kernel,
            self.dilation,
            self.padding_begin,
            self.padding_end,
        )?;
        Some(Conv3d {
            batch: self.batch,
            channels_in: self.channels_out,
            channels_out: self.channels_in,
            groups: self.groups,
            input: self.output(),
            kernel: self.kernel,
            stride: [1, 1, 1],
            padding_begin,
            padding_end,
            dilation: self.dilation,
        })
    }

    /// The weight of the adjoint convolution: per group, input and output channels swapped and
    /// the kernel rotated by 180 degrees about every axis (its taps reversed).
    fn flipped_transposed<T: Scalar>(&self, weight: &[T]) -> Vec<T> {
        let taps = self.kernel.iter().product();
        let (group_in, group_out) = (
            self.channels_in / self.groups,
            self.channels_out / self.groups,
        );
        flip_transpose(weight, self.groups, group_in, group_out, taps)
    }

    /// The input gradient of a convolution with stride 2, 4-wide kernels and padding 1 on every
    /// axis and an even input (twice the output), by parity of the input position; `None` for
    /// any other geometry, and for outputs so small that the general path is faster. It is the
    /// transposed convolution that nearest x2 upsampling followed by a 3x3x3 convolution
    /// amounts to (UNet3D's decoder in inference).
    ///
    /// Along an axis, input position `2j` gets output `j - 1` through tap 3 and `j` through tap
    /// 1, and `2j + 1` gets `j` through tap 2 and `j + 1` through tap 0. So each of the 8 parity
    /// classes is a stride-1 convolution of the output gradient with a 2x2x2 kernel (taps
    /// `3 - parity - 2a`), which runs on the forward path's `gemm`s; the 8 results are
    /// interleaved. Scatter-adding a 4x4x4 im2col matrix at stride 2 did the same sums 1.3 to 1.7
    /// times slower than a 3x3x3 convolution of the upsampled volume that needs 3.4 times more
    /// of them; by parity, 5.1 against 8.6 ms on UNet3D's full-resolution decoder layer
    /// (`kernels_3d -- --decoder 1`, batch 8 of 32 x 32 x 16).
    fn input_grad_by_parity<T: Scalar>(&self, weight: &[T], grad_out: &[T]) -> Option<Vec<T>> {
        let output = self.output();
        let fits = self.stride == [2; 3]
            && self.kernel == [4; 3]
            && self.padding_begin == [1; 3]
            && self.padding_end == [1; 3]
            && self.dilation == [1; 3]
            && self.groups == 1
            && self.input == output.map(|n| 2 * n);
        // The stacked product below computes (n + 1)^3 positions for n^3: past twice the work
        // (planes of a few voxels) the general path is faster (UNet3D's deepest decoder layer on
        // 4 x 4 x 2 outputs: 3.3 against 2.1 ms, kernels_3d at batch 8).
        let padded: usize = output.iter().map(|n| n + 1).product();
        if !fits || padded > 2 * output.iter().product::<usize>() {
            return None;
        }
        let [n_d, n_h, n_w] = output;
        let (inputs, outputs) = (self.channels_in, self.channels_out);
        // All 8 parities in one convolution (8 * inputs output channels, parity-major), padded
        // by 1 on both sides: n + 1 positions per axis, of which parity 0 takes 0..n and
        // parity 1 takes 1..n+1. One product 8 times wider runs faster than 8 narrow ones,
        // though it computes (n + 1)^3 positions for n^3.
        let stacked = Conv3d {
            batch: self.batch,
            channels_in: outputs,
            channels_out: 8 * inputs,
            groups: 1,
            input: output,
            kernel: [2; 3],
            stride: [1; 3],
            padding_begin: [1; 3],
            padding_end: [1; 3],
            dilation: [1; 3],
        };
        let mut sub = Vec::with_capacity(8 * inputs * outputs * 8);
        for parity in 0..8 {
            let parity = [parity >> 2, (parity >> 1) & 1, parity & 1];
            let tap = |axis: usize, a: usize| 3 - parity[axis] - 2 * a;
            for i in 0..inputs {
                for o in 0..outputs {
                    for a in 0..2 {
                        for b in 0..2 {
                            for c in 0..2 {
                                let at = ((o * inputs + i) * 4 + tap(0, a)) * 4 + tap(1, b);
                                sub.push(weight[at * 4 + tap(2, c)]);
                            }
                        }
                    }
                }
            }
        }
        let parts = stacked.forward_new(grad_out, &sub, None);
        let [s_d, s_h, s_w] = stacked.output();
        let part_volume = s_d * s_h * s_w;
        let mut grad = vec![T::default(); self.input_len()];
        grad.par_chunks_mut(8 * n_d * n_h * n_w)
            .enumerate()
            .for_each(|(channel, volume)| {
                let (image, channel) = (channel / inputs, channel % inputs);
                let rows = volume.chunks_exact_mut(2 * n_w);
                for (row_index, row) in rows.enumerate() {
                    let (z, y) = (row_index / (2 * n_h), row_index % (2 * n_h));
                    let (pd, ph) = (z % 2, y % 2);
                    let at = |pw: usize| {
                        let block = image * 8 * inputs + (pd * 4 + ph * 2 + pw) * inputs + channel;
                        block * part_volume + ((z / 2 + pd) * s_h + y / 2 + ph) * s_w + pw
                    };
                    let even = &parts[at(0)..][..n_w];
                    let odd = &parts[at(1)..][..n_w];
                    for ((pair, &e), &o) in row.chunks_exact_mut(2).zip(even).zip(odd) {
                        pair[0] = e;
                        pair[1] = o;
                    }
                }
            });
        Some(grad)
    }

    /// The gradient of the loss with respect to the input, from the gradient with respect to the
    /// output, into a new vector.
    pub fn input_grad_new<T: Scalar>(&self, weight: &[T], grad_out: &[T]) -> Vec<T> {
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        if let Some(adjoint) = self.adjoint_convolution() {
            return adjoint.forward_new(grad_out, &self.flipped_transposed(weight), None);
        }
        if let Some(grad) = self.input_grad_by_parity(weight, grad_out) {
            return grad;
        }
        count_pass();
        // The forward pass's bands of output rows; the tasks below are input planes.
        let TaskGrid {
            tap, rows, bands, ..
        } = TaskGrid::new(self);
        let [out_d, out_h, out_w] = self.output();
        let out_plane = out_h * out_w;
        let [in_d, in_h, in_w] = self.input;
        let in_plane = in_h * in_w;
        let by_tap = self.taps_weight(weight);
        let (patch, group_in, group_out) = (
            tap.group_patch(),
            tap.group_channels_in(),
            tap.group_channels_out(),
        );
        let len = self.input_len();
        let mut grad_in: Vec<T> = Vec::with_capacity(len);
        let grad_ptr = SharedMut(grad_in.as_mut_ptr());
        // A task owns one input plane of one image and group: the sum over the (output depth,
        // tap) pairs that read it, taps in order, of `col2im(W_k^T @ G(z))`. Planes of one
        // depth overlap in rows between bands, so the plane, not the band, is the unit.
        (0..self.batch * self.groups * in_d)
            .into_par_iter()
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(col, sum): &mut (Vec<T>, Vec<T>), task| {
                    let (image, rest) = (task / (self.groups * in_d), task % (self.groups * in_d));
                    let (group, p) = (rest / in_d, rest % in_d);
                    sum.clear();
                    sum.resize(group_in * in_plane, T::default());
                    let channel0 = image * self.channels_out + group * group_out;
                    for k in 0..self.kernel[0] {
                        let Some(z) = self.output_depth(p, k) else {
                            continue;
                        };
                        let lhs = &by_tap[(k * self.channels_out + group * group_out) * patch..];
                        for band in 0..bands {
                            let (first, last) = tap.band_range(band, rows);
                            let pixels = (last - first) * out_w;
                            col.resize(patch * pixels, T::default());
                            let grad =
                                &grad_out[(channel0 * out_d + z) * out_plane + first * out_w..];
                            // SAFETY: `col` holds `patch x pixels`; `lhs` is tap `k`'s
                            // `group_out x patch` block, read transposed; `grad` has `group_out`
                            // rows of `pixels` at stride `out_d * out_plane`.
                            unsafe {
                                gemm::gemm(
                                    patch,
                                    pixels,
                                    group_out,
                                    col.as_mut_ptr(),
                                    1,
                                    pixels as isize,
                                    false,
                                    lhs.as_ptr(),
                                    patch as isize,
                                    1,
                                    grad.as_ptr(),
                                    1,
                                    (out_d * out_plane) as isize,
                                    T::default(),
                                    T::ONE,
                                    false,
                                    false,
                                    false,
                                    gemm::Parallelism::None,
                                );
                            }
                            tap.col2im(col, first, last, sum);
                        }
                    }
                    let channel_in0 = image * self.channels_in + group * group_in;
                    for (c, plane) in sum.chunks_exact(in_plane).enumerate() {
                        // SAFETY: plane `p` of channel `channel_in0 + c` belongs to this task
                        // alone; the tasks cover every (image, channel, plane).
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                plane.as_ptr(),
                                grad_ptr
                                    .get()
                                    .add(((channel_in0 + c) * in_d + p) * in_plane),
                                in_plane,
                            );
                        }
                    }
                },
            );
        // SAFETY: every element was written by the task of its plane.
        unsafe { grad_in.set_len(len) };
        grad_in
    }

    /// The output depth whose depth tap `k` reads input plane `plane`, or `None` where no output
    /// depth does (the stride skips it, or it lies beyond the output).
    fn output_depth(&self, plane: usize, k: usize) -> Option<usize> {
        let reach = (plane + self.padding_begin[0]).checked_sub(k * self.dilation[0])?;
        let depth = reach / self.stride[0];
        (reach % self.stride[0] == 0 && depth < self.output()[0]).then_some(depth)
    }

    /// The gradient of the loss with respect to the weight. Depth tap `k`'s 2-D weight gradient
    /// is `sum_z G(z) @ col(plane(z, k))^T` over output depths `z` (`G(z)` the output gradient's
    /// planes at depth `z`). Each task builds the im2col matrix of every input plane it reads
    /// once, and multiplies it by the output-gradient planes of all the taps that read it,
    /// stacked: one product of `(taps x C_out) x pixels` by `pixels x patch`, whose rows are the
    /// (tap, output channel) pairs, so that gemm's vector dimension is `taps x C_out` (it packs
    /// only the small stacked gradient, never a transposed copy of the im2col matrix). Tasks go
    /// to a fixed number of partial sums in fixed runs, in order, and the partials are added in
    /// order: the same sums for any number of threads.
    pub fn weight_grad<T: Scalar>(&self, x: &[T], grad_out: &[T], grad_weight: &mut [T]) {
        assert_eq!(x.len(), self.input_len(), "input length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        assert_eq!(
            grad_weight.len(),
            self.weight_len(),
            "weight gradient length"
        );
        count_pass();
        let grid = TaskGrid::new(self);
        let [out_d, out_h, out_w] = self.output();
        let out_plane = out_h * out_w;
        let (patch, group_out) = (grid.tap.group_patch(), grid.tap.group_channels_out());
        let taps = self.kernel[0];
        // Per group, a column-major `(taps x group_out) x patch` block: element (tap k,
        // channel o, patch entry q) at `q * rows + k * group_out + o`.
        let rows = taps * group_out;
        let block = rows * patch;
        let mut sums = vec![T::default(); self.weight_len()];
        sum_in_fixed_order(grid.tasks(), &mut sums, |run, sum| {
            let (mut col, mut stacked) = (Vec::new(), Vec::new());
            for task in run {
                let task = grid.task(task);
                let channel0 = task.image * self.channels_out + task.group * group_out;
                // (input plane, tap, output depth) of every product, by plane, taps ascending.
                let mut reads: Vec<(usize, usize, usize)> = task
                    .depths
                    .clone()
                    .flat_map(|z| {
                        (0..taps).filter_map(move |k| self.input_depth(z, k).map(|p| (p, k, z)))
                    })
                    .collect();
                reads.sort_unstable();
                for plane_reads in reads.chunk_by(|a, b| a.0 == b.0) {
                    grid.plane_im2col(x, &task, plane_reads[0].0, &mut col);
                    // Consecutive taps are consecutive rows of the block: one product each run.
                    for tap_run in plane_reads.chunk_by(|a, b| b.1 == a.1 + 1) {
                        stacked.clear();
                        for &(_, _, z) in tap_run {
                            for o in 0..group_out {
                                let start =
                                    ((channel0 + o) * out_d + z) * out_plane + task.first * out_w;
                                stacked.extend_from_slice(&grad_out[start..start + task.pixels]);
                            }
                        }
                        let dst = &mut sum[task.group * block + tap_run[0].1 * group_out..];
                        // SAFETY: `dst` starts at row `first tap x group_out` of this group's
                        // block (column stride `rows`) and the run's rows fit in it; `stacked`
                        // is `(run x group_out) x pixels` row-major; `col` is `patch x pixels`.
                        unsafe {
                            add_weight_product(
                                tap_run.len() * group_out,
                                patch,
                                task.pixels,
                                dst.as_mut_ptr(),
                                rows,
                                true,
                                stacked.as_ptr(),
                                task.pixels,
                                col.as_ptr(),
                                task.pixels,
                            );
                        }
                    }
                }
            }
        });
        let [_, kernel_h, kernel_w] = self.kernel;
        let area = kernel_h * kernel_w;
        let group_in = self.channels_in / self.groups;
        for (o_global, per_channel) in grad_weight
            .chunks_exact_mut(group_in * taps * area)
            .enumerate()
        {
            let (group, o) = (o_global / group_out, o_global % group_out);
            for (c, per_input) in per_channel.chunks_exact_mut(taps * area).enumerate() {
                for (k, per_tap) in per_input.chunks_exact_mut(area).enumerate() {
                    for (a, value) in per_tap.iter_mut().enumerate() {
                        let q = c * area + a;
                        *value = sums[group * block + q * rows + k * group_out + o];
                    }
                }
            }
        }
    }
}

/// The forward pass's and the weight gradient's work, split into tasks: (image, group, band of
/// output rows, chunk of output depths), numbered in that order.
struct TaskGrid<'a> {
    conv: &'a Conv3d,
    /// The 2-D convolution of one input plane by one depth tap.
    tap: Conv2d,
    rows: usize,
    bands: usize,
    chunks: usize,
}

/// One task of a [`TaskGrid`].
struct Task {
    image: usize,
    group: usize,
    /// Output rows `first..last`: `pixels` output elements per plane.
    first: usize,
    last: usize,
    pixels: usize,
    depths: std::ops::Range<usize>,
}

impl<'a> TaskGrid<'a> {
    fn new(conv: &'a Conv3d) -> Self {
        let tap = conv.tap_plane();
        let [out_d, out_h, _] = conv.output();
        let rows = tap.band_rows();
        TaskGrid {
            conv,
            tap,
            rows,
            bands: out_h.div_ceil(rows),
            chunks: out_d.div_ceil(DEPTH_CHUNK),
        }
    }

    fn tasks(&self) -> usize {
        self.conv.batch * self.conv.groups * self.bands * self.chunks
    }

    fn task(&self, index: usize) -> Task {
        let per_image = self.conv.groups * self.bands * self.chunks;
        let (image, rest) = (index / per_image, index % per_image);
        let (group, rest) = (
            rest / (self.bands * self.chunks),
            rest % (self.bands * self.chunks),
        );
        let (band, chunk) = (rest / self.chunks, rest % self.chunks);
        let (first, last) = self.tap.band_range(band, self.rows);
        let out_d = self.conv.output()[0];
        Task {
            image,
            group,
            first,
            last,
            pixels: (last - first) * self.tap.output()[1],
            depths: chunk * DEPTH_CHUNK..((chunk + 1) * DEPTH_CHUNK).min(out_d),
        }
    }

    /// The im2col matrix (`patch x pixels`) of the task's rows of the input plane that depth tap
    /// `k` of output depth `z` reads, from the task's cache; `None` where that tap is in the
    /// padding.
    fn tap_matrix<'p, T: Scalar>(
        &self,
        x: &[T],
        task: &Task,
        planes: &'p mut Vec<(usize, Vec<T>)>,
        z: usize,
        k: usize,
    ) -> Option<&'p [T]> {
        let p = self.conv.input_depth(z, k)?;
        Some(plane_matrix(planes, self.conv.kernel[0], p, |col| {
            self.plane_im2col(x, task, p, col)
        }))
    }

    /// The im2col matrix (`patch x pixels`) of the task's rows of input plane `p` into `col`.
    fn plane_im2col<T: Scalar>(&self, x: &[T], task: &Task, p: usize, col: &mut Vec<T>) {
        let conv = self.conv;
        let volume = conv.input.iter().product::<usize>();
        let in_plane = conv.input[1] * conv.input[2];
        // Planes of this image and group: channel c of plane p starts at c * volume + p * plane.
        let channels = &x[(task.image * conv.channels_in
            + task.group * self.tap.group_channels_in())
            * volume..];
        col.resize(self.tap.group_patch() * task.pixels, T::default());
        self.tap.im2col_strided(
            &channels[p * in_plane..],
            volume,
            task.first,
            task.last,
            col,
        );
    }
}

/// The im2col matrix of input plane `plane` from the task's cache of at most `taps` planes,
/// built by `build` into the slot of the lowest plane when missing: output depths read planes in
/// increasing order, so the lowest cached plane is one no later depth of the task needs first.
fn plane_matrix<T>(
    cache: &mut Vec<(usize, Vec<T>)>,
    taps: usize,
    plane: usize,
    build: impl FnOnce(&mut Vec<T>),
) -> &[T] {
    let slot = match cache.iter().position(|(p, _)| *p == plane) {
        Some(slot) => slot,
        None => {
            let slot = if cache.len() < taps {
                cache.push((usize::MAX, Vec::new()));
                cache.len() - 1
            } else {
                (0..cache.len())
                    .min_by_key(|&i| cache[i].0.wrapping_add(1))
                    .expect("a cache of taps > 0 slots")
            };
            build(&mut cache[slot].1);
            cache[slot].0 = plane;
            slot
        }
    };
    &cache[slot].1
}
