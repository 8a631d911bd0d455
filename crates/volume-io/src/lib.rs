//! Files in, files out: integer label maps from `.npy`, `.png` and `.nii`/`.nii.gz`, and `.npy`
//! outputs written atomically.
//!
//! This crate owns file formats and nothing about distances or training. Every error carries the
//! path and a reason a person can act on; every output is written to a temporary file in the
//! destination folder and renamed into place, so a crash or an error never leaves a half-written
//! file under the final name.
//!
//! ```
//! use volume_io::{read_label_map, write_npy_atomically};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("labels.npy");
//! write_npy_atomically(&path, &ndarray::array![[0u8, 1], [2, 1]]).unwrap();
//! let map = read_label_map(&path).unwrap();
//! assert_eq!(map.labels.shape(), [2, 2]);
//! assert_eq!(map.labels[[1, 0]], 2);
//! ```

// Nothing here needs unsafe code; the unsafe parts live in page-buffers, distmap, cpu-conv,
// cpu-norm and boundary-loss::memory, each with its SAFETY comments.
#![forbid(unsafe_code)]

mod arrays;
pub mod guard;
mod labels;
mod layout;
mod pickle;
pub mod spacing;
mod write;

pub use arrays::{
    encode_png_u8, read_nifti_f32, read_nifti_header, read_npy_f32, read_png_levels, write_nifti,
    write_nifti_like, write_png_u8,
};
pub use labels::{read_label_map, LabelMap, LABEL_EXTENSIONS};
pub use pickle::{read_spacing_pickle, write_spacing_pickle, NumpyScalar};
pub use spacing::{
    read_spacing, read_spacing_file, read_spacing_json, spacing_file, write_spacing_json, Spacings,
};
pub use write::{
    write_atomically, write_directly, write_npy_atomically, write_npy_directly,
    write_text_atomically, StagedDir,
};

use std::path::PathBuf;

/// A problem with one file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct FileError {
    pub path: PathBuf,
    pub reason: String,
}

impl FileError {
    pub fn new(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        FileError {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
