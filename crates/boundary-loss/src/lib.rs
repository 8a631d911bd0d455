//! The boundary loss and its baselines on Burn: losses, networks, data, training, evaluation.
//!
//! This crate owns everything that touches the deep-learning framework, and the experiment
//! pipeline around it. Distance maps come from the `distmap` crate (no framework inside); file
//! formats from `volume-io`; the command line lives in the `boundary-loss` binary. Losses take
//! softmax probabilities of shape `(B, K, *spatial)` (any spatial rank) and return a one-element
//! tensor; networks return logits. Data flows one way: files -> [`data`] -> batches ->
//! [`nets`] -> [`losses`] -> [`train`] (run folder) -> [`eval`].

pub mod data;
pub mod device;
pub mod eval;
pub mod losses;
pub mod nets;
pub mod train;
