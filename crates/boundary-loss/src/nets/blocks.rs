//! Layers shared by the networks, built with the original's initialisation.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, Conv3d, Conv3dConfig};
use burn::nn::{Initializer, PRelu, PReluConfig, PaddingConfig2d, PaddingConfig3d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};

use super::batch_norm::BatchNorm;

/// How a network's weights start, as in the original code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// `random_weights_init`: xavier-normal conv weights (PyTorch-default biases), BN weight
    /// N(1, 0.02) and bias 0. UNet, ENet, Dimwit.
    Xavier,
    /// He fan-out normal conv weights, BN weight 1, bias 0. ResidualUNet.
    HeFanOut,
    /// PyTorch's defaults (kaiming-uniform a=sqrt(5), biases U(+-1/sqrt(fan_in)), BN 1/0): the 3-D
    /// networks, whose `init_weights` matches no 3-D layer in the original.
    PyTorch,
}

/// A 2-D convolution: square kernel `k`, `stride`, symmetric `padding`, `dilation`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    channels: [usize; 2],
    kernel: [usize; 2],
    stride: usize,
    padding: [usize; 2],
    dilation: usize,
    bias: bool,
    init: Init,
    device: &Device,
) -> Conv2d {
    let mut conv = Conv2dConfig::new(channels, kernel)
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding[0], padding[1], padding[0], padding[1],
        ))
        .with_dilation([dilation, dilation])
        .with_bias(bias)
        .init(device);
    let taps = kernel[0] * kernel[1];
    let shape = [channels[1], channels[0], kernel[0], kernel[1]];
    match init {
        Init::Xavier => {
            conv.weight = Initializer::XavierNormal { gain: 1.0 }.init_with(
                shape,
                Some(channels[0] * taps),
                Some(channels[1] * taps),
                device,
            )
        }
        Init::HeFanOut => {
            let std = (2.0 / (taps * channels[1]) as f64).sqrt();
            conv.weight = Initializer::Normal { mean: 0.0, std }.init(shape, device)
        }
        Init::PyTorch => {}
    }
    conv
}

/// A 3-D convolution with a cubic kernel (PyTorch-default initialisation, as the original's).
pub fn conv3d(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: usize,
    bias: bool,
    device: &Device,
) -> Conv3d {
    Conv3dConfig::new(channels, [kernel; 3])
        .with_stride([stride; 3])
        .with_padding(PaddingConfig3d::Explicit(padding, padding, padding))
        .with_bias(bias)
        .init(device)
}

/// Batch normalisation (PyTorch's, eps 1e-5, momentum 0.1) with the original's weight init.
pub fn batch_norm(features: usize, init: Init, device: &Device) -> BatchNorm {
    let mut norm = BatchNorm::new(features, device);
    if init == Init::Xavier {
        norm.gamma = Initializer::Normal {
            mean: 1.0,
            std: 0.02,
        }
        .init([features], device);
    }
    norm
}

/// One shared PReLU slope, 0.25 at the start (PyTorch's default).
pub fn prelu(device: &Device) -> PRelu {
    PReluConfig::new().init(device)
}

/// `convBatch`: conv (no bias) -> BN -> PReLU.
#[derive(Module, Debug)]
pub struct ConvBatch {
    conv: Conv2d,
    norm: BatchNorm,
    activation: PRelu,
}

impl ConvBatch {
    pub fn new(channels: [usize; 2], stride: usize, init: Init, device: &Device) -> Self {
        ConvBatch {
            conv: conv2d(channels, [3, 3], stride, [1, 1], 1, false, init, device),
            norm: batch_norm(channels[1], init, device),
            activation: prelu(device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.activation
            .forward(self.norm.forward(self.conv.forward(x)))
    }
}

/// `convBatch` in 3-D.
#[derive(Module, Debug)]
pub struct ConvBatch3d {
    conv: Conv3d,
    norm: BatchNorm,
    activation: PRelu,
}

impl ConvBatch3d {
    pub fn new(channels: [usize; 2], stride: usize, device: &Device) -> Self {
        ConvBatch3d {
            conv: conv3d(channels, 3, stride, 1, false, device),
            norm: BatchNorm::new(channels[1], device),
            activation: prelu(device),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.activation
            .forward(self.norm.forward(self.conv.forward(x)))
    }

    /// [`ConvBatch3d::forward`] of `upsample_nearest_3d(x)`. Without gradients (validation,
    /// `predict`) its convolution runs on `x` ([`conv3d_of_upsampled`]); in training on the
    /// upsampled volume as before: there the transposed convolution's backward passes (stride 2
    /// in `cpu-conv`) ate the saving (base 8 on 32^3: 0.179 against 0.178 s per step, 0.175
    /// against 0.169 s), so training keeps its numerics.
    pub fn forward_upsampled(&self, x: Tensor<5>) -> Tensor<5> {
        let convolved = if self.conv.weight.val().is_require_grad() {
            self.conv.forward(upsample_nearest_3d(x))
        } else {
            conv3d_of_upsampled(x, &self.conv)
        };
        self.activation.forward(self.norm.forward(convolved))
    }
}

/// `conv(upsample_nearest_3d(x))` for a 3x3x3 convolution (stride 1, padding 1, no bias),
/// as one transposed convolution of the low-resolution `x` (stride 2, padding 1, a 4x4x4
/// kernel): 64 multiply-adds per input voxel and channel pair where the upsampled volume costs
/// 216, and the volume 8 times the input is never built.
///
/// Along each axis, input `x[m]` reaches the upsampled `u[2m]` and `u[2m+1]`, so the output
/// `y[i] = w0 u[i-1] + w1 u[i] + w2 u[i+1]` gets it at `i = 2m-1` through `w2`, at `2m` through
/// `w1 + w2`, at `2m+1` through `w0 + w1` and at `2m+2` through `w0`: a transposed convolution
/// with the taps `[w2, w1 + w2, w0 + w1, w0]` (`i = 2m - 1 + t`). The same function as PyTorch's
/// upsample-then-conv with the same weights, summed in another order (rounding-level
/// differences). Any other geometry takes the plain path.
pub fn conv3d_of_upsampled(x: Tensor<5>, conv: &Conv3d) -> Tensor<5> {
    let plain = conv.kernel_size != [3; 3]
        || conv.stride != [1; 3]
        || conv.dilation != [1; 3]
        || conv.groups != 1
        || conv.bias.is_some()
        || !matches!(conv.padding, PaddingConfig3d::Explicit(1, 1, 1));
    // On volumes of a few voxels `cpu-conv`'s transposed convolution is slower than the
    // upsampled one (its product by parity computes (n + 1)^3 positions for n^3; see
    // `Conv3d::input_grad_new`): the same bound as there.
    let [_, _, d, h, w] = x.dims();
    if plain || (d + 1) * (h + 1) * (w + 1) > 2 * d * h * w {
        return conv.forward(upsample_nearest_3d(x));
    }
    let mut kernel = conv.weight.val();
    for axis in 2..5 {
        let tap = |k| kernel.clone().narrow(axis, k, 1);
        kernel = Tensor::cat(vec![tap(2), tap(1) + tap(2), tap(0) + tap(1), tap(0)], axis);
    }
    // A transposed convolution's weight is (C_in, C_out, ...).
    burn::tensor::module::conv_transpose3d(
        x,
        kernel.swap_dims(0, 1),
        None,
        burn::tensor::ops::ConvTransposeOptions::new([2; 3], [1; 3], [0; 3], [1; 3], 1),
    )
}

/// Nearest-neighbour x2 upsampling of the two spatial axes (pixel duplication).
pub fn upsample_nearest_2d(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .reshape([b, c, 2 * h, 2 * w])
}

/// Nearest-neighbour x2 upsampling of the three spatial axes.
pub fn upsample_nearest_3d(x: Tensor<5>) -> Tensor<5> {
    let [b, c, d, h, w] = x.dims();
    x.reshape([b, c, d, 1, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .repeat_dim(7, 2)
        .reshape([b, c, 2 * d, 2 * h, 2 * w])
}

/// `upSampleConv`: nearest x2, then two `convBatch`.
#[derive(Module, Debug)]
pub struct UpSampleConv {
    first: ConvBatch,
    second: ConvBatch,
}

impl UpSampleConv {
    pub fn new(channels: [usize; 2], init: Init, device: &Device) -> Self {
        UpSampleConv {
            first: ConvBatch::new(channels, 1, init, device),
            second: ConvBatch::new([channels[1], channels[1]], 1, init, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.second
            .forward(self.first.forward(upsample_nearest_2d(x)))
    }
}

/// `upSampleConv` in 3-D.
#[derive(Module, Debug)]
pub struct UpSampleConv3d {
    first: ConvBatch3d,
    second: ConvBatch3d,
}

impl UpSampleConv3d {
    pub fn new(channels: [usize; 2], device: &Device) -> Self {
        UpSampleConv3d {
            first: ConvBatch3d::new(channels, 1, device),
            second: ConvBatch3d::new([channels[1], channels[1]], 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.second.forward(self.first.forward_upsampled(x))
    }
}

/// `residualConv` with nin == nout (the only use in UNet): `leaky_relu(convs(x) + x, 0.2)`
/// with convs = [convBatch, conv3x3 (bias), BN].
#[derive(Module, Debug)]
pub struct ResidualConv {
    first: ConvBatch,
    conv: Conv2d,
    norm: BatchNorm,
}

impl ResidualConv {
    pub fn new(channels: usize, init: Init, device: &Device) -> Self {
        ResidualConv {
            first: ConvBatch::new([channels, channels], 1, init, device),
            conv: conv2d(
                [channels, channels],
                [3, 3],
                1,
                [1, 1],
                1,
                true,
                init,
                device,
            ),
            norm: batch_norm(channels, init, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let convs = self
            .norm
            .forward(self.conv.forward(self.first.forward(x.clone())));
        leaky_relu(convs.add(x), 0.2)
    }
}

/// `residualConv` in 3-D (nin == nout).
#[derive(Module, Debug)]
pub struct ResidualConv3d {
    first: ConvBatch3d,
    conv: Conv3d,
    norm: BatchNorm,
}

impl ResidualConv3d {
    pub fn new(channels: usize, device: &Device) -> Self {
        ResidualConv3d {
            first: ConvBatch3d::new([channels, channels], 1, device),
            conv: conv3d([channels, channels], 3, 1, 1, true, device),
            norm: BatchNorm::new(channels, device),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        let convs = self
            .norm
            .forward(self.conv.forward(self.first.forward(x.clone())));
        leaky_relu(convs.add(x), 0.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| {
                let h = (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503))
                    .wrapping_mul(2246822519);
                (h >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn assert_close(fast: Vec<f32>, plain: Vec<f32>, what: &str) {
        assert_eq!(fast.len(), plain.len(), "{what}");
        let scale = plain.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (k, (a, b)) in fast.iter().zip(&plain).enumerate() {
            assert!((a - b).abs() <= 1e-5 * scale, "{what}[{k}]: {a} != {b}");
        }
    }

    /// The transposed convolution computes nearest upsampling then the 3x3x3 convolution: the
    /// same output, input gradient and weight gradient (of `sum(y * g)`) as the plain path,
    /// to rounding, on volumes above the size bound (odd and even axes) and below it.
    #[test]
    fn convolution_of_upsampled_is_upsample_then_convolve() {
        let device = Device::flex().autodiff();
        for (seed, dims) in [[2, 3, 6, 5, 4], [1, 4, 8, 8, 4], [2, 2, 2, 2, 1]]
            .into_iter()
            .enumerate()
        {
            let seed = seed as u32 * 10;
            let mut conv = conv3d([dims[1], 5], 3, 1, 1, false, &device);
            let weight_shape = conv.weight.dims();
            let weight = values(weight_shape.iter().product(), seed);
            conv.weight = burn::module::Param::from_tensor(Tensor::<5>::from_data(
                TensorData::new(weight, weight_shape),
                &device,
            ));
            let x = values(dims.iter().product(), seed + 1);
            let out_dims = [dims[0], 5, 2 * dims[2], 2 * dims[3], 2 * dims[4]];
            let g = Tensor::<5>::from_data(
                TensorData::new(values(out_dims.iter().product(), seed + 2), out_dims),
                &device,
            );
            let run = |fast: bool| {
                let x = Tensor::<5>::from_data(TensorData::new(x.clone(), dims), &device)
                    .require_grad();
                let y = if fast {
                    conv3d_of_upsampled(x.clone(), &conv)
                } else {
                    conv.forward(upsample_nearest_3d(x.clone()))
                };
                let grads = y.clone().mul(g.clone()).sum().backward();
                (
                    read(y),
                    read(x.grad(&grads).unwrap()),
                    read(conv.weight.grad(&grads).unwrap()),
                )
            };
            let (fast, plain) = (run(true), run(false));
            assert_close(fast.0, plain.0, "output");
            assert_close(fast.1, plain.1, "input gradient");
            assert_close(fast.2, plain.2, "weight gradient");
        }
    }

    /// Burn's 3-D transposed convolution on this backend (patches/burn-flex routes it to
    /// `cpu-conv` as the input gradient of a convolution) against its definition, values and
    /// gradients: UNet3D's decoder geometry (kernel 4, stride 2, padding 1) and Dimwit3D's
    /// (kernel 3, stride 2, padding 1, output padding 1), with a bias, on uneven sizes.
    #[test]
    fn transposed_convolution_is_its_definition() {
        let device = Device::flex().autodiff();
        for (kernel, padding_out, dims) in [(4, 0, [2, 3, 5, 4, 3]), (3, 1, [2, 3, 4, 3, 5])] {
            let [batch, inputs, n_d, n_h, n_w] = dims;
            let outputs = 2;
            let (stride, padding) = (2, 1);
            let size = |n: usize| (n - 1) * stride + kernel + padding_out - 2 * padding;
            let out_dims = [batch, outputs, size(n_d), size(n_h), size(n_w)];
            let weight_dims = [inputs, outputs, kernel, kernel, kernel];
            let (x, w) = (
                values(dims.iter().product(), 7),
                values(weight_dims.iter().product(), 8),
            );
            let g = values(out_dims.iter().product(), 9);
            let bias = values(outputs, 10);
            let per_channel: usize = out_dims[2..].iter().product();
            let mut out: Vec<f64> = (0..g.len())
                .map(|k| bias[k / per_channel % outputs] as f64)
                .collect();
            let (mut dx, mut dw) = (vec![0f64; x.len()], vec![0f64; w.len()]);
            let index = |d: [usize; 5], at: [usize; 5]| {
                at.iter().zip(d).fold(0, |flat, (&a, n)| flat * n + a)
            };
            for b in 0..batch {
                for i in 0..inputs {
                    for o in 0..outputs {
                        for m in 0..n_d * n_h * n_w {
                            let m = [m / (n_h * n_w), m / n_w % n_h, m % n_w];
                            for t in 0..kernel * kernel * kernel {
                                let t = [t / (kernel * kernel), t / kernel % kernel, t % kernel];
                                let o_at: [isize; 3] = core::array::from_fn(|a| {
                                    (m[a] * stride + t[a]) as isize - padding as isize
                                });
                                if (0..3)
                                    .any(|a| o_at[a] < 0 || o_at[a] as usize >= out_dims[a + 2])
                                {
                                    continue;
                                }
                                let xi = index(dims, [b, i, m[0], m[1], m[2]]);
                                let wi = index(weight_dims, [i, o, t[0], t[1], t[2]]);
                                let at = o_at.map(|v| v as usize);
                                let oi = index(out_dims, [b, o, at[0], at[1], at[2]]);
                                out[oi] += x[xi] as f64 * w[wi] as f64;
                                dx[xi] += w[wi] as f64 * g[oi] as f64;
                                dw[wi] += x[xi] as f64 * g[oi] as f64;
                            }
                        }
                    }
                }
            }
            let xt = Tensor::<5>::from_data(TensorData::new(x, dims), &device).require_grad();
            let wt =
                Tensor::<5>::from_data(TensorData::new(w, weight_dims), &device).require_grad();
            let y = burn::tensor::module::conv_transpose3d(
                xt.clone(),
                wt.clone(),
                Some(Tensor::<1>::from_data(
                    TensorData::new(bias, [outputs]),
                    &device,
                )),
                burn::tensor::ops::ConvTransposeOptions::new(
                    [stride; 3],
                    [padding; 3],
                    [padding_out; 3],
                    [1; 3],
                    1,
                ),
            );
            assert_eq!(y.dims(), out_dims);
            let gt = Tensor::<5>::from_data(TensorData::new(g, out_dims), &device);
            let grads = y.clone().mul(gt).sum().backward();
            let as32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<_>>();
            assert_close(read(y), as32(out), "output");
            assert_close(read(xt.grad(&grads).unwrap()), as32(dx), "input gradient");
            assert_close(read(wt.grad(&grads).unwrap()), as32(dw), "weight gradient");
        }
    }
}
