//! 3-D convolutions of NCDHW tensors and their gradients, as one 2-D convolution per output
//! depth: the input planes that the kernel's depth taps read for that depth are gathered into
//! `C_in * kd` channels (zeros where a tap falls in the padding), and the weight
//! `(C_out, C_in / groups, kd, kh, kw)` is, unchanged in memory, the 2-D weight
//! `(C_out, C_in / groups * kd, kh, kw)` over them. Each plane then runs [`Conv2d`]'s banded
//! im2col and `gemm`; the sum over `(channel, kd, kh, kw)` is the same product as a 3-D im2col.
//!
//! Gradients: with stride 1 the input gradient is the adjoint forward convolution (the kernel
//! rotated, channels swapped, padding `span - 1 - p`), as in 2-D; otherwise each output depth's
//! 2-D input gradient is scattered back onto the planes its taps read. The weight gradient is
//! the sum over output depths of the 2-D weight gradients of the gathered planes, in depth
//! order, so it does not depend on the thread count.

use rayon::prelude::*;

use crate::{Conv2d, GeometryError, Scalar};

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

    /// The forward convolution `conv(x, weight) + bias` into a new vector.
    pub fn forward_new<T: Scalar>(&self, x: &[T], weight: &[T], bias: Option<&[T]>) -> Vec<T> {
        assert_eq!(x.len(), self.input_len(), "input length");
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        let plane = self.plane();
        let [out_d, out_h, out_w] = self.output();
        let out_plane = out_h * out_w;
        let mut out = vec![T::default(); self.output_len()];
        let mut gathered = vec![T::default(); plane.input_len()];
        for depth in 0..out_d {
            self.gather_input(x, depth, &mut gathered);
            let planes = plane.forward_new(&gathered, weight, bias);
            // Output plane (b, o) of this depth.
            for (index, values) in planes.chunks(out_plane).enumerate() {
                let start = (index * out_d + depth) * out_plane;
                out[start..start + out_plane].copy_from_slice(values);
            }
        }
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

    /// The 2-D input of output depth `depth`: channel `(b, c * kd + k)` is the input plane that
    /// tap `k` reads from `(b, c)`, or zeros in the padding.
    fn gather_input<T: Scalar>(&self, x: &[T], depth: usize, gathered: &mut [T]) {
        let in_plane = self.input[1] * self.input[2];
        let taps = self.kernel[0];
        gathered
            .par_chunks_mut(in_plane)
            .enumerate()
            .for_each(|(index, target)| {
                let (b, rest) = (
                    index / (self.channels_in * taps),
                    index % (self.channels_in * taps),
                );
                let (c, k) = (rest / taps, rest % taps);
                match self.input_depth(depth, k) {
                    None => target.fill(T::default()),
                    Some(z) => {
                        let start = ((b * self.channels_in + c) * self.input[0] + z) * in_plane;
                        target.copy_from_slice(&x[start..start + in_plane]);
                    }
                }
            });
    }

    /// The output gradient's planes of output depth `depth`: `(batch, channels_out, h, w)`.
    fn gather_output<T: Scalar>(&self, grad_out: &[T], depth: usize, planes: &mut [T]) {
        let [out_d, out_h, out_w] = self.output();
        let out_plane = out_h * out_w;
        for (index, target) in planes.chunks_mut(out_plane).enumerate() {
            let start = (index * out_d + depth) * out_plane;
            target.copy_from_slice(&grad_out[start..start + out_plane]);
        }
    }

    /// The adjoint of a stride-1 convolution whose padding the kernel reaches: a stride-1
    /// convolution of the output gradient giving the input gradient (see the module docs).
    fn adjoint_convolution(&self) -> Option<Conv3d> {
        if self.stride != [1, 1, 1] {
            return None;
        }
        let reach = [0, 1, 2].map(|axis| self.dilation[axis] * (self.kernel[axis] - 1));
        let fits = (0..3).all(|axis| {
            self.padding_begin[axis] <= reach[axis] && self.padding_end[axis] <= reach[axis]
        });
        fits.then(|| Conv3d {
            batch: self.batch,
            channels_in: self.channels_out,
            channels_out: self.channels_in,
            groups: self.groups,
            input: self.output(),
            kernel: self.kernel,
            stride: [1, 1, 1],
            padding_begin: [0, 1, 2].map(|axis| reach[axis] - self.padding_begin[axis]),
            padding_end: [0, 1, 2].map(|axis| reach[axis] - self.padding_end[axis]),
            dilation: self.dilation,
        })
    }

    /// The weight of the adjoint convolution: per group, input and output channels swapped and
    /// the kernel rotated by 180 degrees about every axis (its taps reversed).
    fn flipped_transposed<T: Scalar>(&self, weight: &[T]) -> Vec<T> {
        let taps: usize = self.kernel.iter().product();
        let (group_in, group_out) = (
            self.channels_in / self.groups,
            self.channels_out / self.groups,
        );
        let mut flipped = vec![T::default(); weight.len()];
        for group in 0..self.groups {
            for o in 0..group_out {
                for c in 0..group_in {
                    let src = &weight[((group * group_out + o) * group_in + c) * taps..][..taps];
                    let dst =
                        &mut flipped[((group * group_in + c) * group_out + o) * taps..][..taps];
                    for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                        *d = *s;
                    }
                }
            }
        }
        flipped
    }

    /// The gradient of the loss with respect to the input, from the gradient with respect to the
    /// output, into a new vector.
    pub fn input_grad_new<T: Scalar>(&self, weight: &[T], grad_out: &[T]) -> Vec<T> {
        assert_eq!(weight.len(), self.weight_len(), "weight length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        if let Some(adjoint) = self.adjoint_convolution() {
            return adjoint.forward_new(grad_out, &self.flipped_transposed(weight), None);
        }
        let plane = self.plane();
        let in_plane = self.input[1] * self.input[2];
        let taps = self.kernel[0];
        let mut grad_in = vec![T::default(); self.input_len()];
        let mut planes = vec![T::default(); plane.output_len()];
        for depth in 0..self.output()[0] {
            self.gather_output(grad_out, depth, &mut planes);
            let gathered = plane.input_grad_new(weight, &planes);
            // Channel (b, c * kd + k) goes back onto the input plane that tap k read.
            grad_in
                .par_chunks_mut(self.input[0] * in_plane)
                .enumerate()
                .for_each(|(image_channel, volume)| {
                    let (b, c) = (
                        image_channel / self.channels_in,
                        image_channel % self.channels_in,
                    );
                    for k in 0..taps {
                        let Some(z) = self.input_depth(depth, k) else {
                            continue;
                        };
                        let src = &gathered[((b * self.channels_in + c) * taps + k) * in_plane..]
                            [..in_plane];
                        for (d, s) in volume[z * in_plane..][..in_plane].iter_mut().zip(src) {
                            *d += *s;
                        }
                    }
                });
        }
        grad_in
    }

    /// The gradient of the loss with respect to the weight: the sum over output depths, in
    /// order, of the 2-D weight gradients of the gathered planes.
    pub fn weight_grad<T: Scalar>(&self, x: &[T], grad_out: &[T], grad_weight: &mut [T]) {
        assert_eq!(x.len(), self.input_len(), "input length");
        assert_eq!(grad_out.len(), self.output_len(), "output gradient length");
        assert_eq!(
            grad_weight.len(),
            self.weight_len(),
            "weight gradient length"
        );
        let plane = self.plane();
        let mut gathered = vec![T::default(); plane.input_len()];
        let mut planes = vec![T::default(); plane.output_len()];
        let mut partial = vec![T::default(); self.weight_len()];
        grad_weight.fill(T::default());
        for depth in 0..self.output()[0] {
            self.gather_input(x, depth, &mut gathered);
            self.gather_output(grad_out, depth, &mut planes);
            plane.weight_grad(&gathered, &planes, &mut partial);
            for (total, value) in grad_weight.iter_mut().zip(&partial) {
                *total += *value;
            }
        }
    }
}
