//! The run file's named choices that training maps onto Burn: how logits become probabilities,
//! and which optimiser steps.

use serde::{Deserialize, Serialize};

/// What turns the network's logits into class probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `softmax(temperature * logits)` over K output channels (the original).
    #[default]
    Softmax,
    /// Binary segmentation with one output channel: `p = sigmoid(temperature * logit)` is the
    /// foreground probability, and the losses and metrics see the two classes `[1 - p, p]`.
    Sigmoid,
}

/// The optimiser (`optimizer` in run files), with the original's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam, betas (0.9, 0.99), epsilon `adam_epsilon`.
    Adam,
    /// SGD, momentum 0.99, dampening 0, weight decay 5e-4.
    Sgd,
}
