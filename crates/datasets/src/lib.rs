//! Training data on the host: the original's 2-D slice layout and our 3-D volume layout, read,
//! checked and batched, with no deep-learning framework inside.
//!
//! This crate owns reading a data set's slices ([`data`]: streams and their transforms, checks,
//! patients, balanced and grouped batches delivered in parallel ahead of the training step) and
//! its volumes ([`volumes`]: whole volumes, training patches, sliding windows and their
//! blending), and the synthetic data set of the demo. Tensors, networks and losses are the
//! `boundary-loss` crate's; arrays here are plain `ndarray` and `Vec`s.

#![forbid(unsafe_code)]

pub mod data;
pub mod volumes;
