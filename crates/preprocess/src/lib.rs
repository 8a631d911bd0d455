//! Preprocessing: NIfTI volumes in, the original's 2-D data layout out.
//!
//! This crate owns turning volumes into `DEST/{train,val}/...` slices as the original's
//! `preprocess/slice_*.py` lay them out: the official data sets (`datasets`: ISLES 2018, WMH
//! 2017, ACDC, compared bit for bit with the original's outputs) and any user's NIfTI folder
//! (`nifti_folder`); synthetic raw data in the official layouts (`synth`); the official archives
//! checked and unpacked (`unpack`). The pieces they share: per-volume min-max normalisation,
//! in-plane resizing on scikit-image's grid (`resize`), 3-D distance maps on the whole volume,
//! validation splits drawn with CPython's `random` (`python_random`), spacing files in JSON and
//! the original's pickle format, and all-or-nothing output folders (`staging`). No Burn here.
//!
//! Synthetic WMH-like raw data, sliced as the original's `slice_wmh.py` would:
//!
//! ```
//! use preprocess::{OfficialDataset, SliceDataset, Synthesize};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let raw = dir.path().join("wmh");
//! Synthesize { dataset: OfficialDataset::Wmh, dest: raw.clone(), cases: 3, slices: Some(2), seed: 0 }
//!     .run()
//!     .unwrap();
//! let sliced = SliceDataset {
//!     dataset: OfficialDataset::Wmh,
//!     source: raw,
//!     dest: dir.path().join("WMH"),
//!     retain: 1,
//!     seed: 0,
//!     fold: 0,
//!     shape: [32, 32],
//!     augment: 0,
//!     discard_negatives: false,
//! }
//! .run(&indicatif::ProgressBar::hidden())
//! .unwrap();
//! assert_eq!((sliced.train_cases.len(), sliced.val_cases.len()), (2, 1));
//! assert!(dir.path().join("WMH/val/gt_npy").is_dir());
//! ```

// Nothing here needs unsafe code; the unsafe parts live in page-buffers, distmap, cpu-conv,
// cpu-norm and boundary-loss::memory, each with its SAFETY comments. `deny`, not `forbid`:
// ndarray's `s!` macro expands to an `allow(unsafe_code)`, which `forbid` refuses.
#![deny(unsafe_code)]

use std::path::{Path, PathBuf};

mod datasets;
pub mod inference;
mod nifti_folder;
mod nifti_volumes;
mod python_random;
pub mod record;
pub mod resize;
mod staging;
mod synth;
mod unpack;

pub use datasets::{OfficialDataset, SliceDataset};
pub use nifti_folder::{case_name, nifti_files, SliceNifti};
pub use nifti_volumes::{VOLUMES_SOURCE, VOLUME_FOLDERS};
pub use python_random::PythonRandom;
pub use record::{Normalisation, PreprocessRecord, PREPROCESS_FILE};
pub use synth::{Synthesize, SynthesizeFolder};
pub use unpack::{md5_hex, official_archives, Archive, Unpack};

use volume_io::FileError;

/// A failure, naming the file or case.
#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
}

pub(crate) fn bad(path: &Path, reason: impl Into<String>) -> PreprocessError {
    PreprocessError::Bad {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Summary of a finished slicing.
#[derive(Debug, Clone)]
pub struct Sliced {
    pub train_cases: Vec<String>,
    pub val_cases: Vec<String>,
    pub slices: usize,
    pub classes: usize,
}
