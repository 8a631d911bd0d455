//! One batch through the network, the same way in training and validation: logits ->
//! probabilities -> weighted loss terms -> predicted class maps -> Dice per image.

use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Tensor, TensorData};

pub use super::config::Activation;
use super::config::{LossKind, LossTerm, RunConfig};
use super::TrainError;
use crate::data::Batch;
use crate::eval::Overlap;
use crate::losses::{
    argmax_classes, BoundaryLossConfig, CrossEntropyConfig, DiceLossConfig, FocalLossConfig,
    GeneralizedDiceConfig, HausdorffLossConfig, Loss, LossError,
};
use crate::nets::Network;

/// A loss term ready to call on probabilities and its second input, of rank `D` (4: 2-D
/// batches, 5: 3-D).
pub type LossFn<const D: usize = 4> =
    Box<dyn Fn(Tensor<D>, Tensor<D>) -> Result<Tensor<1>, LossError>>;

/// The loss of a run-file term. `truncate_maps` is the run's `truncate_distance_maps`, the
/// default of the Hausdorff loss's prediction-map truncation.
pub fn build_loss<const D: usize>(term: &LossTerm, checks: bool, truncate_maps: bool) -> LossFn<D> {
    fn boxed<L: Loss + 'static, const D: usize>(loss: L, checks: bool) -> LossFn<D> {
        let loss = loss.with_checks(checks);
        Box::new(move |probs, second| loss.loss(probs, second))
    }
    let idc = term.idc.clone();
    match term.kind {
        LossKind::Boundary => boxed(BoundaryLossConfig::new(idc).init(), checks),
        LossKind::GeneralizedDice {
            batch,
            absent_weight,
        } => boxed(
            GeneralizedDiceConfig::new(idc)
                .with_batch(batch)
                .with_absent_weight(absent_weight)
                .init(),
            checks,
        ),
        LossKind::Dice => boxed(DiceLossConfig::new(idc).init(), checks),
        LossKind::CrossEntropy => boxed(CrossEntropyConfig::new(idc).init(), checks),
        LossKind::Focal { gamma } => boxed(FocalLossConfig::new(idc, gamma).init(), checks),
        LossKind::Hausdorff {
            truncate_prediction_map,
        } => boxed(
            HausdorffLossConfig::new(idc)
                .with_truncate_prediction_map(truncate_prediction_map.unwrap_or(truncate_maps))
                .init(),
            checks,
        ),
    }
}

/// Class probabilities `(B, K, *spatial)` of the network's logits, as the original: softmax of
/// `temperature * logits`; for a one-channel sigmoid network, `[1 - p, p]` with
/// `p = sigmoid(temperature * logit)`.
pub fn probabilities<const D: usize>(
    logits: Tensor<D>,
    activation: Activation,
    temperature: f64,
) -> Tensor<D> {
    let scaled = logits.mul_scalar(temperature);
    match activation {
        Activation::Softmax => softmax(scaled, 1),
        Activation::Sigmoid => {
            let foreground = sigmoid(scaled);
            let background = foreground.clone().neg().add_scalar(1.0);
            Tensor::cat(vec![background, foreground], 1)
        }
    }
}

/// A batch stream as a `(B, C, H, W)` tensor.
pub fn stream_tensor(batch: &Batch, stream: usize, device: &Device) -> Tensor<4> {
    let shape = [
        batch.indices.len(),
        batch.channels[stream],
        batch.size[0],
        batch.size[1],
    ];
    Tensor::<4>::from_data(
        TensorData::new(batch.streams[stream].clone(), shape),
        device,
    )
}

/// The probabilities `(B, K, *spatial)` on the host, and the class of each element (the first
/// maximum, as torch's argmax): what validation saves and inference writes.
pub fn class_maps<const D: usize>(probs: Tensor<D>, classes: usize) -> (Vec<f32>, Vec<u8>) {
    let spatial: usize = probs.dims()[2..].iter().product();
    let host = probs
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 probabilities");
    let predicted = argmax_classes(&host, classes, spatial);
    (host, predicted)
}

/// Every loss term of the run file on `probs` against its stream (`second(stream)`), times its
/// weight: their sum (what is minimised) and each `weight * loss` (what the original logs).
pub fn weighted_losses<const D: usize>(
    probs: &Tensor<D>,
    second: impl Fn(usize) -> Tensor<D>,
    config: &RunConfig,
    losses: &[LossFn<D>],
    weights: &[f64],
) -> Result<(Tensor<1>, Vec<f32>), TrainError> {
    let mut total: Option<Tensor<1>> = None;
    let mut terms = Vec::with_capacity(losses.len());
    for ((loss, term), &w) in losses.iter().zip(&config.losses.terms).zip(weights) {
        let weighted = loss(probs.clone(), second(term.stream))?.mul_scalar(w);
        terms.push(weighted.clone().into_scalar::<f32>());
        total = Some(match total {
            Some(t) => t.add(weighted),
            None => weighted,
        });
    }
    Ok((total.expect("validated: at least one loss term"), terms))
}

/// What one batch gave.
pub struct BatchOutcome {
    /// The weighted sum of the loss terms (what is minimised).
    pub total: Tensor<1>,
    /// `weight * loss` of each term (what the original logs).
    pub weighted_terms: Vec<f32>,
    /// Predicted class maps `(B, H, W)`.
    pub predicted: Vec<u8>,
    /// Dice per image of the batch and class.
    pub dice: Vec<Vec<f32>>,
}

/// The network's forward pass in training mode, nothing else: BatchNorm layers update their
/// running statistics (see `recalibrate_batch_norm`).
pub fn forward_only(net: &Network, batch: &Batch, device: &Device) -> Result<(), TrainError> {
    net.forward_2d(stream_tensor(batch, 0, device))?;
    Ok(())
}

/// Runs `batch` through `net` on `device` and evaluates every loss term with its weight.
pub fn run_batch(
    net: &Network,
    batch: &Batch,
    device: &Device,
    config: &RunConfig,
    losses: &[LossFn],
    weights: &[f64],
) -> Result<BatchOutcome, TrainError> {
    let logits = net.forward_2d(stream_tensor(batch, 0, device))?;
    let probs = probabilities(
        logits,
        config.network.activation,
        config.network.temperature,
    );
    let (total, weighted_terms) = weighted_losses(
        &probs,
        |stream| stream_tensor(batch, stream, device),
        config,
        losses,
        weights,
    )?;
    let classes = config.network.classes;
    let pixels = batch.size[0] * batch.size[1];
    let (_, predicted) = class_maps(probs.detach(), classes);
    let dice = (0..batch.indices.len())
        .map(|b| {
            let image = b * pixels..(b + 1) * pixels;
            Overlap::of(&predicted[image.clone()], &batch.truth[image], classes)
                .dice()
                .iter()
                .map(|&d| d as f32)
                .collect()
        })
        .collect();
    Ok(BatchOutcome {
        total,
        weighted_terms,
        predicted,
        dice,
    })
}
