//! `ResidualUNet` (base 32): residual convolution blocks, max-pooling down, transposed
//! convolutions up, skips *averaged* with the decoder (not concatenated); sides multiple of 16.

use burn::module::Module;
use burn::nn::conv::{Conv2d, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::batch_norm::BatchNorm;
use super::blocks::{batch_norm, conv2d, Init};
use super::TrainableParams;

/// Encoder activation: one shared LeakyReLU(0.2); decoder: ReLU (slope 0).
const ENCODER_SLOPE: f64 = 0.2;
const DECODER_SLOPE: f64 = 0.0;

/// `conv_block`: conv 3x3 (bias) -> BN -> activation.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    slope: f64,
}

impl ConvBlock {
    fn new(channels: [usize; 2], slope: f64, device: &Device) -> Self {
        ConvBlock {
            conv: conv2d(channels, [3, 3], 1, [1, 1], 1, true, Init::HeFanOut, device),
            norm: batch_norm(channels[1], Init::HeFanOut, device),
            slope,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        leaky_relu(self.norm.forward(self.conv.forward(x)), self.slope)
    }
}

/// `Conv_residual_conv`: c1 = block(x); c2 = [block, block, conv, BN](c1); block(c1 + c2).
#[derive(Module, Debug)]
pub struct ResidualBlock {
    first: ConvBlock,
    inner1: ConvBlock,
    inner2: ConvBlock,
    inner_conv: Conv2d,
    inner_norm: BatchNorm,
    last: ConvBlock,
}

impl ResidualBlock {
    fn new(channels: [usize; 2], slope: f64, device: &Device) -> Self {
        let out = channels[1];
        ResidualBlock {
            first: ConvBlock::new(channels, slope, device),
            inner1: ConvBlock::new([out, out], slope, device),
            inner2: ConvBlock::new([out, out], slope, device),
            inner_conv: conv2d(
                [out, out],
                [3, 3],
                1,
                [1, 1],
                1,
                true,
                Init::HeFanOut,
                device,
            ),
            inner_norm: batch_norm(out, Init::HeFanOut, device),
            last: ConvBlock::new([out, out], slope, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let c1 = self.first.forward(x);
        let c2 = self.inner_norm.forward(
            self.inner_conv
                .forward(self.inner2.forward(self.inner1.forward(c1.clone()))),
        );
        self.last.forward(c1.add(c2))
    }
}

/// `conv_decod_block`: transposed conv 3x3 stride 2 (bias; PyTorch-default init) -> BN -> ReLU.
#[derive(Module, Debug)]
pub struct DecoderBlock {
    conv: ConvTranspose2d,
    norm: BatchNorm,
}

impl DecoderBlock {
    fn new(channels: [usize; 2], device: &Device) -> Self {
        DecoderBlock {
            conv: ConvTranspose2dConfig::new(channels, [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device),
            norm: batch_norm(channels[1], Init::HeFanOut, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        leaky_relu(self.norm.forward(self.conv.forward(x)), DECODER_SLOPE)
    }
}

#[derive(Module, Debug)]
pub struct ResidualUNet {
    down_1: ResidualBlock,
    down_2: ResidualBlock,
    down_3: ResidualBlock,
    down_4: ResidualBlock,
    bridge: ResidualBlock,
    deconv_1: DecoderBlock,
    up_1: ResidualBlock,
    deconv_2: DecoderBlock,
    up_2: ResidualBlock,
    deconv_3: DecoderBlock,
    up_3: ResidualBlock,
    deconv_4: DecoderBlock,
    up_4: ResidualBlock,
    out: Conv2d,
}

impl ResidualUNet {
    pub fn new(modalities: usize, classes: usize, device: &Device) -> Self {
        let g = 32;
        let down = |c: [usize; 2]| ResidualBlock::new(c, ENCODER_SLOPE, device);
        let up = |c: usize| ResidualBlock::new([c, c], DECODER_SLOPE, device);
        ResidualUNet {
            down_1: down([modalities, g]),
            down_2: down([g, 2 * g]),
            down_3: down([2 * g, 4 * g]),
            down_4: down([4 * g, 8 * g]),
            bridge: down([8 * g, 16 * g]),
            deconv_1: DecoderBlock::new([16 * g, 8 * g], device),
            up_1: up(8 * g),
            deconv_2: DecoderBlock::new([8 * g, 4 * g], device),
            up_2: up(4 * g),
            deconv_3: DecoderBlock::new([4 * g, 2 * g], device),
            up_3: up(2 * g),
            deconv_4: DecoderBlock::new([2 * g, g], device),
            up_4: up(g),
            out: conv2d(
                [g, classes],
                [3, 3],
                1,
                [1, 1],
                1,
                true,
                Init::HeFanOut,
                device,
            ),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pool = |t: Tensor<4>| max_pool2d(t, MaxPoolOptions::new([2, 2]));
        let d1 = self.down_1.forward(x);
        let d2 = self.down_2.forward(pool(d1.clone()));
        let d3 = self.down_3.forward(pool(d2.clone()));
        let d4 = self.down_4.forward(pool(d3.clone()));
        let bridge = self.bridge.forward(pool(d4.clone()));
        let average = |a: Tensor<4>, b: Tensor<4>| a.add(b).div_scalar(2.0);
        let u1 = self
            .up_1
            .forward(average(self.deconv_1.forward(bridge), d4));
        let u2 = self.up_2.forward(average(self.deconv_2.forward(u1), d3));
        let u3 = self.up_3.forward(average(self.deconv_3.forward(u2), d2));
        let u4 = self.up_4.forward(average(self.deconv_4.forward(u3), d1));
        self.out.forward(u4)
    }

    pub fn blocks(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("down_1", self.down_1.trainable_params()),
            ("down_2", self.down_2.trainable_params()),
            ("down_3", self.down_3.trainable_params()),
            ("down_4", self.down_4.trainable_params()),
            ("bridge", self.bridge.trainable_params()),
            ("deconv_1", self.deconv_1.trainable_params()),
            ("up_1", self.up_1.trainable_params()),
            ("deconv_2", self.deconv_2.trainable_params()),
            ("up_2", self.up_2.trainable_params()),
            ("deconv_3", self.deconv_3.trainable_params()),
            ("up_3", self.up_3.trainable_params()),
            ("deconv_4", self.deconv_4.trainable_params()),
            ("up_4", self.up_4.trainable_params()),
            ("out", self.out.trainable_params()),
        ]
    }
}
