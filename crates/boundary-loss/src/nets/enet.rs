//! `ENet` (Paszke et al.) as the original writes it: projecting factor 4, 16 initial kernels,
//! max-unpooling with the encoder's indices, unused auxiliary heads kept for the parameter
//! count. Unlike the original it accepts any number of input channels (1 to 15): the initial
//! convolution gives `16 - modalities` channels, so its concatenation with the pooled input
//! always has 16. Input sides must be multiples of 8.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Dropout, DropoutConfig, PRelu};
use burn::tensor::module::{max_pool2d, max_pool2d_with_indices};
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor};

use super::batch_norm::BatchNorm;
use super::blocks::{batch_norm, conv2d, prelu, Init, UpSampleConv};
use super::NetError;
use super::TrainableParams;

const PROJECTION: usize = 4;

fn dropout(prob: f64) -> Dropout {
    DropoutConfig::new(prob).init()
}

/// conv (bias) -> BN -> PReLU; `conv_block_1` (1x1) and `conv_block_3_3` (3x3, padding 1).
#[derive(Module, Debug)]
pub struct ConvNormAct {
    conv: Conv2d,
    norm: BatchNorm,
    act: PRelu,
}

impl ConvNormAct {
    fn new(channels: [usize; 2], kernel: usize, device: &Device) -> Self {
        Self::with(
            conv2d(
                channels,
                [kernel, kernel],
                1,
                [kernel / 2, kernel / 2],
                1,
                true,
                Init::Xavier,
                device,
            ),
            device,
        )
    }

    fn with(conv: Conv2d, device: &Device) -> Self {
        let features = conv.weight.dims()[0];
        ConvNormAct {
            conv,
            norm: batch_norm(features, Init::Xavier, device),
            act: prelu(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.act.forward(self.norm.forward(self.conv.forward(x)))
    }
}

/// The middle of a bottleneck: 3x3, dilated 3x3, or asymmetric 5x1 then 1x5; then BN, PReLU.
#[derive(Module, Debug)]
pub struct Middle {
    conv: Conv2d,
    second: Option<Conv2d>,
    norm: BatchNorm,
    act: PRelu,
}

#[derive(Clone, Copy)]
enum MiddleKind {
    Regular,
    Dilated(usize),
    Asymmetric,
}

impl Middle {
    fn new(channels: usize, kind: MiddleKind, device: &Device) -> Self {
        let c = [channels, channels];
        let (conv, second) = match kind {
            MiddleKind::Regular => (
                conv2d(c, [3, 3], 1, [1, 1], 1, true, Init::Xavier, device),
                None,
            ),
            MiddleKind::Dilated(d) => (
                conv2d(c, [3, 3], 1, [d, d], d, true, Init::Xavier, device),
                None,
            ),
            MiddleKind::Asymmetric => (
                conv2d(c, [5, 1], 1, [2, 0], 1, true, Init::Xavier, device),
                Some(conv2d(c, [1, 5], 1, [0, 2], 1, true, Init::Xavier, device)),
            ),
        };
        Middle {
            conv,
            second,
            norm: batch_norm(channels, Init::Xavier, device),
            act: prelu(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self.conv.forward(x);
        if let Some(second) = &self.second {
            y = second.forward(y);
        }
        self.act.forward(self.norm.forward(y))
    }
}

/// `BottleNeckNormal`, `..._Asym`, `BottleNeckDownSamplingDilatedConv` (which does not
/// downsample) and `...DilatedConvLast`: PReLU(skip + side), side = 1x1 -> middle -> 1x1 ->
/// dropout. The skip is the identity, a 1x1 conv block (in > out), or a 3x3 conv (Last).
#[derive(Module, Debug)]
pub struct Bottleneck {
    reduce: ConvNormAct,
    middle: Middle,
    expand: ConvNormAct,
    dropout: Dropout,
    skip_block: Option<ConvNormAct>,
    skip_conv: Option<Conv2d>,
    act: PRelu,
}

#[derive(Clone, Copy)]
enum Skip {
    Identity,
    Block,
    Conv3x3,
}

impl Bottleneck {
    fn new(channels: [usize; 2], kind: MiddleKind, skip: Skip, rate: f64, device: &Device) -> Self {
        let p = channels[0] / PROJECTION;
        Bottleneck {
            reduce: ConvNormAct::new([channels[0], p], 1, device),
            middle: Middle::new(p, kind, device),
            expand: ConvNormAct::new([p, channels[1]], 1, device),
            dropout: dropout(rate),
            skip_block: matches!(skip, Skip::Block).then(|| ConvNormAct::new(channels, 1, device)),
            skip_conv: matches!(skip, Skip::Conv3x3)
                .then(|| conv2d(channels, [3, 3], 1, [1, 1], 1, true, Init::Xavier, device)),
            act: prelu(device),
        }
    }

    fn regular(c: usize, rate: f64, device: &Device) -> Self {
        Self::new([c, c], MiddleKind::Regular, Skip::Identity, rate, device)
    }

    fn dilated(c: usize, d: usize, device: &Device) -> Self {
        Self::new([c, c], MiddleKind::Dilated(d), Skip::Identity, 0.01, device)
    }

    fn asymmetric(c: usize, rate: f64, device: &Device) -> Self {
        Self::new([c, c], MiddleKind::Asymmetric, Skip::Identity, rate, device)
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let side = self.dropout.forward(
            self.expand
                .forward(self.middle.forward(self.reduce.forward(x.clone()))),
        );
        let skip = match (&self.skip_block, &self.skip_conv) {
            (Some(block), _) => block.forward(x),
            (None, Some(conv)) => conv.forward(x),
            (None, None) => x,
        };
        self.act.forward(skip.add(side))
    }
}

/// `BottleNeckDownSampling`: PReLU(max-pool padded with zero channels + side branch); also
/// returns the pooling indices for the decoder's unpooling.
#[derive(Module, Debug)]
pub struct Downsampling {
    reduce: ConvNormAct,
    middle: Middle,
    expand: ConvNormAct,
    dropout: Dropout,
    act: PRelu,
    out_channels: usize,
}

impl Downsampling {
    fn new(channels: [usize; 2], device: &Device) -> Self {
        let p = channels[0] / PROJECTION;
        let reduce = conv2d(
            [channels[0], p],
            [2, 2],
            2,
            [0, 0],
            1,
            true,
            Init::Xavier,
            device,
        );
        Downsampling {
            reduce: ConvNormAct::with(reduce, device),
            middle: Middle::new(p, MiddleKind::Regular, device),
            expand: ConvNormAct::new([p, channels[1]], 1, device),
            dropout: dropout(0.01),
            act: prelu(device),
            out_channels: channels[1],
        }
    }

    fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4, Int>) {
        let (pooled, indices) = max_pool2d_with_indices(x.clone(), MaxPoolOptions::new([2, 2]));
        let [b, c, h, w] = pooled.dims();
        let padding = Tensor::<4>::zeros([b, self.out_channels - c, h, w], &pooled.device());
        let main = Tensor::cat(vec![pooled, padding], 1);
        let side = self.dropout.forward(
            self.expand
                .forward(self.middle.forward(self.reduce.forward(x))),
        );
        (self.act.forward(main.add(side)), indices)
    }
}

/// `BottleNeckUpSampling`: 3x3 block, 3x3 block, 1x1 block, dropout; no skip. The original
/// module also owns a PReLU it never uses (it counts as one parameter).
#[derive(Module, Debug)]
pub struct Upsampling {
    first: ConvNormAct,
    second: ConvNormAct,
    expand: ConvNormAct,
    dropout: Dropout,
    unused_act: PRelu,
}

impl Upsampling {
    fn new(channels: [usize; 2], device: &Device) -> Self {
        let p = channels[0] / PROJECTION;
        Upsampling {
            first: ConvNormAct::new([channels[0], p], 3, device),
            second: ConvNormAct::new([p, p], 3, device),
            expand: ConvNormAct::new([p, channels[1]], 1, device),
            dropout: dropout(0.01),
            unused_act: prelu(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.dropout.forward(
            self.expand
                .forward(self.second.forward(self.first.forward(x))),
        )
    }
}

/// `MaxUnpool2d(2)`: each value goes back to the position its max-pool index names.
fn max_unpool(x: Tensor<4>, indices: Tensor<4, Int>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let plane = 4 * h * w;
    let zeros = Tensor::<3>::zeros([b, c, plane], &x.device());
    zeros
        .scatter(
            2,
            indices.reshape([b, c, h * w]),
            x.reshape([b, c, h * w]),
            IndexingUpdateOp::Add,
        )
        .reshape([b, c, 2 * h, 2 * w])
}

#[derive(Module, Debug)]
pub struct ENet {
    conv0: Conv2d,
    bn1_0: Downsampling,
    bn1: Vec<Bottleneck>,
    bn2_0: Downsampling,
    bn2: Vec<Bottleneck>,
    bn3: Vec<Bottleneck>,
    bn4_0: Upsampling,
    prelu_up_1: PRelu,
    bn4_1: Bottleneck,
    bn4_2: Bottleneck,
    bn5_0: Upsampling,
    bn5_1: Bottleneck,
    prelu_up_2: PRelu,
    deconv3: UpSampleConv,
    last: Conv2d,
    unused_out_025: Conv2d,
    unused_out_05: Conv2d,
}

impl ENet {
    /// `modalities` must lie in 1..=15 (the initial block gives 16 - modalities channels).
    pub fn new(modalities: usize, classes: usize, device: &Device) -> Result<Self, NetError> {
        if !(1..16).contains(&modalities) {
            return Err(NetError::Modalities {
                network: "ENet",
                max: 15,
                got: modalities,
            });
        }
        let stage = |d: &Device| {
            vec![
                Bottleneck::regular(128, 0.1, d),
                Bottleneck::dilated(128, 2, d),
                Bottleneck::asymmetric(128, 0.1, d),
                Bottleneck::dilated(128, 4, d),
                Bottleneck::regular(128, 0.1, d),
                Bottleneck::dilated(128, 8, d),
                Bottleneck::asymmetric(128, 0.1, d),
            ]
        };
        let mut bn2 = stage(device);
        bn2.push(Bottleneck::dilated(128, 16, device));
        let mut bn3 = stage(device);
        bn3.push(Bottleneck::new(
            [128, 64],
            MiddleKind::Dilated(16),
            Skip::Conv3x3,
            0.01,
            device,
        ));
        Ok(ENet {
            conv0: conv2d(
                [modalities, 16 - modalities],
                [3, 3],
                2,
                [1, 1],
                1,
                true,
                Init::Xavier,
                device,
            ),
            bn1_0: Downsampling::new([16, 64], device),
            bn1: (0..4)
                .map(|_| Bottleneck::regular(64, 0.01, device))
                .collect(),
            bn2_0: Downsampling::new([64, 128], device),
            bn2,
            bn3,
            bn4_0: Upsampling::new([128, 64], device),
            prelu_up_1: prelu(device),
            bn4_1: Bottleneck::regular(64, 0.1, device),
            bn4_2: Bottleneck::new([64, 16], MiddleKind::Regular, Skip::Block, 0.1, device),
            bn5_0: Upsampling::new([32, 16], device),
            bn5_1: Bottleneck::regular(16, 0.1, device),
            prelu_up_2: prelu(device),
            deconv3: UpSampleConv::new([16, 16], Init::Xavier, device),
            last: conv2d(
                [16, classes],
                [1, 1],
                1,
                [0, 0],
                1,
                true,
                Init::Xavier,
                device,
            ),
            unused_out_025: conv2d(
                [128, classes],
                [3, 3],
                1,
                [1, 1],
                1,
                true,
                Init::Xavier,
                device,
            ),
            unused_out_05: conv2d(
                [16, classes],
                [3, 3],
                1,
                [1, 1],
                1,
                true,
                Init::Xavier,
                device,
            ),
        })
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pooled = max_pool2d(x.clone(), MaxPoolOptions::new([2, 2]));
        let initial = Tensor::cat(vec![self.conv0.forward(x), pooled], 1);
        let (mut y, indices1) = self.bn1_0.forward(initial.clone());
        for block in &self.bn1 {
            y = block.forward(y);
        }
        let stage1 = y.clone();
        let (mut y, indices2) = self.bn2_0.forward(y);
        for block in self.bn2.iter().chain(&self.bn3) {
            y = block.forward(y);
        }
        let unpooled = max_unpool(y, indices2);
        let b = self
            .bn4_0
            .forward(Tensor::cat(vec![unpooled.clone(), stage1], 1));
        let up1 = self.prelu_up_1.forward(unpooled.add(b));
        let y = self.bn4_2.forward(self.bn4_1.forward(up1));
        let unpooled = max_unpool(y, indices1);
        let c = self
            .bn5_0
            .forward(Tensor::cat(vec![unpooled.clone(), initial], 1));
        let d = self.bn5_1.forward(c);
        let up2 = self.prelu_up_2.forward(unpooled.add(d));
        self.last.forward(self.deconv3.forward(up2))
    }

    pub fn blocks(&self) -> Vec<(&'static str, usize)> {
        let sum = |blocks: &[Bottleneck]| blocks.iter().map(|b| b.trainable_params()).sum();
        vec![
            ("initial conv0", self.conv0.trainable_params()),
            ("bn1_0 downsampling", self.bn1_0.trainable_params()),
            ("bn1_1..4", sum(&self.bn1)),
            ("bn2_0 downsampling", self.bn2_0.trainable_params()),
            ("bn2_1..8", sum(&self.bn2)),
            ("bn3_1..8", sum(&self.bn3)),
            ("bn4_0 upsampling", self.bn4_0.trainable_params()),
            ("prelu_up_1", self.prelu_up_1.trainable_params()),
            (
                "bn4_1..2",
                self.bn4_1.trainable_params() + self.bn4_2.trainable_params(),
            ),
            ("bn5_0 upsampling", self.bn5_0.trainable_params()),
            ("bn5_1", self.bn5_1.trainable_params()),
            ("prelu_up_2", self.prelu_up_2.trainable_params()),
            ("deconv3", self.deconv3.trainable_params()),
            ("final", self.last.trainable_params()),
            (
                "out_025, out_05 (unused, as the original)",
                self.unused_out_025.trainable_params() + self.unused_out_05.trainable_params(),
            ),
        ]
    }
}
