//! `UNet` and `UNet3D` (base 64): stride-2 convolutions down, a residual bridge, nearest x2
//! upsampling, concatenated skips (upsampled tensor first), a 1x1 output convolution.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv3d};
use burn::tensor::{Device, Tensor};

use super::blocks::{
    conv2d, conv3d, ConvBatch, ConvBatch3d, Init, ResidualConv, ResidualConv3d, UpSampleConv,
    UpSampleConv3d,
};
use super::TrainableParams;

/// Two `convBatch`, the first one with a stride.
#[derive(Module, Debug)]
pub struct DoubleConv {
    first: ConvBatch,
    second: ConvBatch,
}

impl DoubleConv {
    fn new(channels: [usize; 2], stride: usize, device: &Device) -> Self {
        DoubleConv {
            first: ConvBatch::new(channels, stride, Init::Xavier, device),
            second: ConvBatch::new([channels[1], channels[1]], 1, Init::Xavier, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.second.forward(self.first.forward(x))
    }
}

/// The bridge: strided `convBatch`, `residualConv`, `convBatch`.
#[derive(Module, Debug)]
pub struct Bridge {
    down: ConvBatch,
    residual: ResidualConv,
    out: ConvBatch,
}

/// The original `UNet(in_dim, out_dim)`; input sides must be multiples of 8.
#[derive(Module, Debug)]
pub struct UNet {
    conv0: DoubleConv,
    conv1: DoubleConv,
    conv2: DoubleConv,
    bridge: Bridge,
    deconv1: UpSampleConv,
    conv5: DoubleConv,
    deconv2: UpSampleConv,
    conv6: DoubleConv,
    deconv3: UpSampleConv,
    conv7: DoubleConv,
    last: Conv2d,
}

impl UNet {
    /// The original's default `nG` (UNet's and UNet3D's).
    pub const DEFAULT_BASE: usize = 64;

    pub fn new(modalities: usize, classes: usize, device: &Device) -> Self {
        Self::with_base(modalities, classes, UNet::DEFAULT_BASE, device)
    }

    /// The original's `nG` argument: channels of the first level (64 in every recipe; smaller
    /// values give a fast network for demos and tests).
    pub fn with_base(modalities: usize, classes: usize, g: usize, device: &Device) -> Self {
        UNet {
            conv0: DoubleConv::new([modalities, g], 1, device),
            conv1: DoubleConv::new([g, 2 * g], 2, device),
            conv2: DoubleConv::new([2 * g, 4 * g], 2, device),
            bridge: Bridge {
                down: ConvBatch::new([4 * g, 8 * g], 2, Init::Xavier, device),
                residual: ResidualConv::new(8 * g, Init::Xavier, device),
                out: ConvBatch::new([8 * g, 8 * g], 1, Init::Xavier, device),
            },
            deconv1: UpSampleConv::new([8 * g, 8 * g], Init::Xavier, device),
            conv5: DoubleConv::new([12 * g, 4 * g], 1, device),
            deconv2: UpSampleConv::new([4 * g, 4 * g], Init::Xavier, device),
            conv6: DoubleConv::new([6 * g, 2 * g], 1, device),
            deconv3: UpSampleConv::new([2 * g, 2 * g], Init::Xavier, device),
            conv7: DoubleConv::new([3 * g, g], 1, device),
            last: conv2d(
                [g, classes],
                [1, 1],
                1,
                [0, 0],
                1,
                true,
                Init::Xavier,
                device,
            ),
        }
    }
}

/// Two 3-D `convBatch`, the first one with a stride.
#[derive(Module, Debug)]
pub struct DoubleConv3d {
    first: ConvBatch3d,
    second: ConvBatch3d,
}

impl DoubleConv3d {
    fn new(channels: [usize; 2], stride: usize, device: &Device) -> Self {
        DoubleConv3d {
            first: ConvBatch3d::new(channels, stride, device),
            second: ConvBatch3d::new([channels[1], channels[1]], 1, device),
        }
    }

    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.second.forward(self.first.forward(x))
    }
}

/// The 3-D bridge.
#[derive(Module, Debug)]
pub struct Bridge3d {
    down: ConvBatch3d,
    residual: ResidualConv3d,
    out: ConvBatch3d,
}

/// The original `UNet3D(nin, nout)`: UNet's topology in 3-D; sides must be multiples of 8.
#[derive(Module, Debug)]
pub struct UNet3D {
    conv0: DoubleConv3d,
    conv1: DoubleConv3d,
    conv2: DoubleConv3d,
    bridge: Bridge3d,
    deconv1: UpSampleConv3d,
    conv5: DoubleConv3d,
    deconv2: UpSampleConv3d,
    conv6: DoubleConv3d,
    deconv3: UpSampleConv3d,
    conv7: DoubleConv3d,
    last: Conv3d,
}

impl UNet3D {
    pub fn new(modalities: usize, classes: usize, device: &Device) -> Self {
        Self::with_base(modalities, classes, UNet::DEFAULT_BASE, device)
    }

    /// Channels of the first level `g` (64 in the original; smaller for CPUs and tests).
    pub fn with_base(modalities: usize, classes: usize, g: usize, device: &Device) -> Self {
        UNet3D {
            conv0: DoubleConv3d::new([modalities, g], 1, device),
            conv1: DoubleConv3d::new([g, 2 * g], 2, device),
            conv2: DoubleConv3d::new([2 * g, 4 * g], 2, device),
            bridge: Bridge3d {
                down: ConvBatch3d::new([4 * g, 8 * g], 2, device),
                residual: ResidualConv3d::new(8 * g, device),
                out: ConvBatch3d::new([8 * g, 8 * g], 1, device),
            },
            deconv1: UpSampleConv3d::new([8 * g, 8 * g], device),
            conv5: DoubleConv3d::new([12 * g, 4 * g], 1, device),
            deconv2: UpSampleConv3d::new([4 * g, 4 * g], device),
            conv6: DoubleConv3d::new([6 * g, 2 * g], 1, device),
            deconv3: UpSampleConv3d::new([2 * g, 2 * g], device),
            conv7: DoubleConv3d::new([3 * g, g], 1, device),
            last: conv3d([g, classes], 1, 1, 0, true, device),
        }
    }
}

/// `forward` and `blocks` of [`UNet`] and [`UNet3D`], which share the topology and the field
/// names: one text for both ranks.
macro_rules! unet_topology {
    ($net:ident, $rank:literal, $axes:literal) => {
        impl $net {
            #[doc = concat!("Logits `(B, K, ", $axes, ")` of an input `(B, modalities, ", $axes, ")`.")]
            pub fn forward(&self, x: Tensor<$rank>) -> Tensor<$rank> {
                let x0 = self.conv0.forward(x);
                let x1 = self.conv1.forward(x0.clone());
                let x2 = self.conv2.forward(x1.clone());
                let bridge = &self.bridge;
                let b = bridge
                    .out
                    .forward(bridge.residual.forward(bridge.down.forward(x2.clone())));
                let y0 = self.deconv1.forward(b);
                let y1 = self
                    .deconv2
                    .forward(self.conv5.forward(Tensor::cat(vec![y0, x2], 1)));
                let y2 = self
                    .deconv3
                    .forward(self.conv6.forward(Tensor::cat(vec![y1, x1], 1)));
                let y3 = self.conv7.forward(Tensor::cat(vec![y2, x0], 1));
                self.last.forward(y3)
            }

            /// Parameters of each top-level block, in forward order.
            pub fn blocks(&self) -> Vec<(&'static str, usize)> {
                vec![
                    ("conv0", self.conv0.trainable_params()),
                    ("conv1", self.conv1.trainable_params()),
                    ("conv2", self.conv2.trainable_params()),
                    ("bridge", self.bridge.trainable_params()),
                    ("deconv1", self.deconv1.trainable_params()),
                    ("conv5", self.conv5.trainable_params()),
                    ("deconv2", self.deconv2.trainable_params()),
                    ("conv6", self.conv6.trainable_params()),
                    ("deconv3", self.deconv3.trainable_params()),
                    ("conv7", self.conv7.trainable_params()),
                    ("final", self.last.trainable_params()),
                ]
            }
        }
    };
}

unet_topology!(UNet, 4, "H, W");
unet_topology!(UNet3D, 5, "D, H, W");
