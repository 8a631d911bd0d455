//! 3-D data: whole volumes and their patches (the method's documented extension to 3-D CNNs:
//! pre-compute the 3-D distance maps, sub-patch them in a traditional fashion).
//!
//! [`dataset`] reads a split of the volumetric layout (`slice nifti --volumes`), every stream
//! of the run file as a whole volume; [`patches`] draws training patches (size per axis,
//! foreground oversampling, padding, flips; deterministic from the run's seed) and prefetches
//! their batches in parallel; [`windows`] covers a volume with overlapping sliding windows and
//! blends their probabilities (Gaussian or uniform) for validation and inference.

pub mod dataset;
pub mod patches;
pub mod windows;

pub use dataset::{StreamVolume, Volume, VolumeSet};
pub use patches::{Blending, PatchBatch, PatchLoader, PatchOptions, PatchPlacement};
pub use windows::{Blender, SlidingWindows};
