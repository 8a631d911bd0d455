//! Batch normalisation as PyTorch's `nn.BatchNorm2d` / `nn.BatchNorm3d` computes it, which the
//! original's networks use. Burn's `BatchNorm` differs in one number: it keeps the running
//! variance of the batch's *biased* variance (divided by n), where PyTorch keeps the *unbiased*
//! one (divided by n − 1, n the values per channel in the batch). The normalisation in training
//! mode is the same (biased, both); every output in evaluation mode reads the running variance,
//! so the difference reaches every validation number: about 1e-4 relative on 2-D slices, more
//! on small 3-D patches where n is small. The record has Burn's field names and layout, so
//! weights written before this module existed still load.

use burn::module::{Flag, Module, Param, RunningState};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

/// PyTorch's defaults, which the original never changes.
const MOMENTUM: f64 = 0.1;
const EPSILON: f64 = 1e-5;

/// Batch normalisation over axis 1 of `[batch, channels, ...]`, with PyTorch's running
/// statistics (see the module doc).
#[derive(Module, Debug)]
pub struct BatchNorm {
    /// The learnable scale (PyTorch's `weight`).
    pub gamma: Param<Tensor<1>>,
    /// The learnable shift (PyTorch's `bias`).
    pub beta: Param<Tensor<1>>,
    /// Whether the layer takes the training path on an autodiff device (Burn's flag, kept so
    /// that freezing works as with Burn's module).
    pub training: Param<Flag>,
    /// The running mean (PyTorch's `running_mean`).
    pub running_mean: RunningState<Tensor<1>>,
    /// The running unbiased variance (PyTorch's `running_var`).
    pub running_var: RunningState<Tensor<1>>,
    /// Weight of the new batch in the running statistics.
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl BatchNorm {
    /// A layer over `features` channels: scale 1, shift 0, running mean 0 and variance 1,
    /// momentum 0.1, epsilon 1e-5 (PyTorch's initial state).
    pub fn new(features: usize, device: &Device) -> Self {
        assert!(
            features > 0,
            "batch normalisation needs at least one channel"
        );
        BatchNorm {
            gamma: Initializer::Ones.init([features], device),
            beta: Initializer::Zeros.init([features], device),
            training: Param::from_bool(true),
            running_mean: RunningState::new(Tensor::zeros([features], device)),
            running_var: RunningState::new(Tensor::ones([features], device)),
            momentum: MOMENTUM,
            epsilon: EPSILON,
        }
    }

    /// Normalises `input` (`[batch, channels, ...]`): with the batch's statistics, updating
    /// the running ones, on an autodiff device with the layer in training; with the running
    /// statistics otherwise (the network's `valid()` copy, as PyTorch's `eval()`).
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let [features] = self.gamma.shape().dims();
        let dims = input.dims();
        assert!(
            D >= 2 && dims[1] == features,
            "batch normalisation over {features} channels got an input of shape {dims:?}"
        );
        if input.device().is_autodiff() && self.training.is_enabled() {
            self.forward_train(input)
        } else {
            let device = input.device();
            burn::tensor::module::batch_norm(
                input,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value().to_device(&device),
                self.running_var.value().to_device(&device),
                self.epsilon,
            )
        }
    }

    fn forward_train<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let device = input.device();
        let dims = input.dims();
        let per_channel = dims.iter().product::<usize>() / dims[1];
        let result = burn::tensor::module::batch_norm_train(
            input,
            self.gamma.val(),
            self.beta.val(),
            self.epsilon,
        );
        // PyTorch stores var * n / (n - 1). With one value per channel it refuses to train
        // ("Expected more than 1 value per channel"); we keep the biased 0 rather than divide
        // by zero.
        let unbiased = if per_channel > 1 {
            per_channel as f64 / (per_channel - 1) as f64
        } else {
            1.0
        };
        let keep = 1.0 - self.momentum;
        let running_mean = self
            .running_mean
            .value_sync()
            .to_device(&device)
            .mul_scalar(keep)
            .add(result.mean.detach().mul_scalar(self.momentum));
        let running_var = self
            .running_var
            .value_sync()
            .to_device(&device)
            .mul_scalar(keep)
            .add(
                result
                    .variance
                    .detach()
                    .mul_scalar(self.momentum * unbiased),
            );
        self.running_mean.update(running_mean.detach());
        self.running_var.update(running_var.detach());
        result.output
    }
}
