//! `Dimwit` (alias `Dummy`) and `Dimwit3D`: a strided convolution and a transposed one, for
//! smoke tests (232 parameters for 1 modality and 2 classes).

use burn::module::Module;
use burn::nn::conv::{
    Conv2d, Conv2dConfig, Conv3d, ConvTranspose2d, ConvTranspose2dConfig, ConvTranspose3d,
    ConvTranspose3dConfig,
};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

use super::blocks::conv3d;
use super::TrainableParams;

#[derive(Module, Debug)]
pub struct Dimwit {
    down: Conv2d,
    up: ConvTranspose2d,
}

impl Dimwit {
    pub fn new(modalities: usize, classes: usize, device: &Device) -> Self {
        let xavier = Initializer::XavierNormal { gain: 1.0 };
        let mut down = Conv2dConfig::new([modalities, 10], [2, 2])
            .with_stride([2, 2])
            .init(device);
        down.weight = xavier.init_with(
            [10, modalities, 2, 2],
            Some(modalities * 4),
            Some(40),
            device,
        );
        let mut up = ConvTranspose2dConfig::new([10, classes], [3, 3])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_padding_out([1, 1])
            .init(device);
        up.weight = xavier.init_with([10, classes, 3, 3], Some(classes * 9), Some(90), device);
        Dimwit { down, up }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.up.forward(self.down.forward(x))
    }

    pub fn blocks(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("down", self.down.trainable_params()),
            ("up", self.up.trainable_params()),
        ]
    }
}

#[derive(Module, Debug)]
pub struct Dimwit3D {
    down: Conv3d,
    up: ConvTranspose3d,
}

impl Dimwit3D {
    pub fn new(modalities: usize, classes: usize, device: &Device) -> Self {
        Dimwit3D {
            down: conv3d([modalities, 10], 2, 2, 0, true, device),
            up: ConvTranspose3dConfig::new([10, classes], [3, 3, 3])
                .with_stride([2, 2, 2])
                .with_padding([1, 1, 1])
                .with_padding_out([1, 1, 1])
                .init(device),
        }
    }

    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.up.forward(self.down.forward(x))
    }

    pub fn blocks(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("down", self.down.trainable_params()),
            ("up", self.up.trainable_params()),
        ]
    }
}
