use thiserror::Error;

/// What can be wrong with the input of a distance computation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DistmapError {
    #[error("{got} spacing value(s) given for an array with {expected} spatial axes")]
    SpacingRank { expected: usize, got: usize },
    #[error("spacing must be finite and positive, got {0}")]
    BadSpacing(f64),
    #[error("label {label} at element {index} is not a class index below {classes}")]
    LabelOutOfRange {
        label: i128,
        index: usize,
        classes: usize,
    },
    #[error("the input has no spatial axis (rank 0)")]
    NoSpatialAxis,
    #[error("at least one class is needed")]
    NoClass,
    #[error("an input of {got} values does not fit (channels of) shape {shape:?}")]
    InputSize { shape: Vec<usize>, got: usize },
    #[error("output buffer holds {got} values, {expected} needed")]
    OutputSize { expected: usize, got: usize },
    #[error("the two masks differ in shape: {first:?} and {second:?}")]
    ShapeMismatch {
        first: Vec<usize>,
        second: Vec<usize>,
    },
}
