//! Data sets in the original layout: `ROOT/{train,val}/<stream folder>/<slice>.{npy,png}`, the
//! same file names in every folder, per-split `spacing.json` (ours) next to them.
//!
//! This module owns reading slices into host arrays (streams and their transforms), checking
//! them (missing files, disagreeing shapes, labels >= K, images outside [0, 1], NaN), grouping
//! slices into patients, and delivering batches in parallel ahead of the training step. It knows
//! nothing about networks or losses.

mod loader;
mod names;
mod slices;
mod streams;
pub mod synthetic;

pub use loader::{
    balanced_batches, patient_batches, slice_batches, Batch, Loader, Prefetch, SliceCache,
};
pub use names::{natural_cmp, stem as slice_stem};
pub use slices::{read_spacing, DataError, Dataset, OpenOptions, Slice};
pub use streams::{equalize_levels, MapNormalization, Stream, StreamKind};
