//! 3-D convolutions of NCDHW tensors (the forward pass), as one 2-D convolution per output
//! depth: the input planes that the kernel's depth taps read for that depth are gathered into
//! `C_in * kd` channels (zeros where a tap falls in the padding), and the weight
//! `(C_out, C_in / groups, kd, kh, kw)` is, unchanged in memory, the 2-D weight
//! `(C_out, C_in / groups * kd, kh, kw)` over them. Each plane then runs [`Conv2d`]'s banded
//! im2col and `gemm`; the sum over `(channel, kd, kh, kw)` is the same product as a 3-D im2col.

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
        let [in_d, in_h, in_w] = self.input;
        let (in_plane, out_plane) = (in_h * in_w, out_h * out_w);
        let taps = self.kernel[0];
        let mut out = vec![T::default(); self.output_len()];
        let mut gathered = vec![T::default(); plane.input_len()];
        for depth in 0..out_d {
            // Channel (b, c * kd + k) of the plane's input is input plane z = depth * stride +
            // k * dilation - padding of (b, c), or zeros in the padding.
            gathered
                .par_chunks_mut(in_plane)
                .enumerate()
                .for_each(|(index, target)| {
                    let (b, rest) = (
                        index / (self.channels_in * taps),
                        index % (self.channels_in * taps),
                    );
                    let (c, k) = (rest / taps, rest % taps);
                    let z = (depth * self.stride[0] + k * self.dilation[0]) as isize
                        - self.padding_begin[0] as isize;
                    if z < 0 || z >= in_d as isize {
                        target.fill(T::default());
                    } else {
                        let start = ((b * self.channels_in + c) * in_d + z as usize) * in_plane;
                        target.copy_from_slice(&x[start..start + in_plane]);
                    }
                });
            let planes = plane.forward_new(&gathered, weight, bias);
            // Output plane (b, o) of this depth.
            for (index, values) in planes.chunks(out_plane).enumerate() {
                let start = (index * out_d + depth) * out_plane;
                out[start..start + out_plane].copy_from_slice(values);
            }
        }
        out
    }
}
