//! The boundary loss and its baselines on Burn: losses, networks and the device they run on.
//!
//! This crate owns everything that touches the deep-learning framework. Distance maps come from
//! the `distmap` crate (no framework inside); file formats and the command line live elsewhere.
//! Losses take softmax probabilities of shape `(B, K, *spatial)` (any spatial rank) and return a
//! one-element tensor; networks return logits.

pub mod device;
pub mod losses;
pub mod nets;
