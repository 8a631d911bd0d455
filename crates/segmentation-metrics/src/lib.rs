//! Segmentation metrics: how far a predicted label map is from the truth.
//!
//! This crate owns every metric of the project, for training's validation, the `metrics`,
//! `surface-metrics` and `view` commands and the Python package, and nothing that trains:
//! no deep-learning framework. [`surface`] measures the surface distances between two masks as
//! medpy and MONAI do (Hausdorff, HD95 pooled and directed, ASSD) on `distmap`'s exact distance
//! transforms; [`pair`] turns a predicted / true label-map pair into per-class Dice and
//! distances with one rule for empty masks ([`EmptyMaskRule`]); [`patients`] groups slices into
//! patients and keeps the overlap counts and means of a validation epoch; [`volume`] gives the
//! per-patient 3-D Dice and HD95 that training records.
//!
//! Conventions for empty masks (one rule for training and offline metrics): Dice is
//! `(2|A&B| + 1e-8) / (|A| + |B| + 1e-8)` as in the original, so it is 1 when both are empty and
//! about 0 when only one is. HD95 follows [`EmptyMaskRule`]: both empty 0; exactly one empty the
//! volume's diagonal in mm (the original's value for an empty prediction), or NaN on request.
//! Means over patients skip NaN ([`nan_mean`]).
//!
//! ```
//! use ndarray::array;
//! use segmentation_metrics::{pair_metrics, EmptyMaskRule};
//!
//! let truth = array![[0u8, 1, 1, 0]].into_dyn();
//! let predicted = array![[0u8, 1, 0, 0]].into_dyn();
//! let per_class =
//!     pair_metrics(predicted.view(), truth.view(), &[1.0, 1.0], 2, EmptyMaskRule::Diagonal)
//!         .unwrap();
//! let (class, metrics) = &per_class[0];
//! assert_eq!(*class, 1);
//! assert!((metrics.dice - 2.0 / 3.0).abs() < 1e-6);
//! assert_eq!(metrics.hd, 1.0);
//! ```

#![forbid(unsafe_code)]

pub mod pair;
pub mod patients;
pub mod surface;
pub mod volume;

pub use pair::{
    diagonal, dice, pair_metrics, AssdDefinition, ClassSurfaces, EmptyMaskRule, Hd95Definition,
    MetricError, PairMetrics, SurfaceMeasure, SurfaceValue,
};
pub use patients::*;
pub use volume::{hd95, volume_metrics, VolumeMetrics};
