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
        self.second
            .forward(self.first.forward(upsample_nearest_3d(x)))
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
