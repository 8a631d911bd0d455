//! `preprocess.json`: how a data set was made from its volumes (slicing axis, in-plane resize,
//! intensity normalisation, modality order, label mapping), written by every slicer next to
//! `spacing_3d`, so that inference can apply exactly the same steps to a new volume and refuse a
//! data set that does not say how it was made.

use std::path::Path;

use serde::{Deserialize, Serialize};
use volume_io::{write_text_atomically, FileError};

/// The file name, at the data set's root.
pub const PREPROCESS_FILE: &str = "preprocess.json";

/// The version of the record's layout.
pub const RECORD_FORMAT: u32 = 1;

/// How image intensities were mapped to the network's input range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Per volume and modality, `(v - min) / (max - min)` in float32 (0 for a constant volume).
    MinMaxPerVolume,
    /// ACDC's: per volume `uint8(255 * min-max)` truncated, each slice resized bilinearly,
    /// clipped to its own percentile range and truncated to uint8 again, stored as PNG.
    AcdcUint8,
}

/// How a data set was made from its volumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessRecord {
    pub format: u32,
    /// `nifti` (`slice nifti`), `isles`, `wmh` or `acdc`.
    pub source: String,
    /// The volume axis the slices were cut along (the other two, in order, are the slice's).
    pub axis: usize,
    /// The in-plane size every slice was resized to; `None`: the volume's own.
    pub shape: Option<[usize; 2]>,
    pub normalisation: Normalisation,
    /// Image folders, in the channel order of `in_npy` (the network's input channels).
    pub modalities: Vec<String>,
    /// Classes of the label maps after the mapping.
    pub classes: usize,
    /// Labels replaced before slicing, `(from, to)` (WMH's "other pathology" 2 becomes 0).
    pub label_mapping: Vec<(u32, u32)>,
}

impl PreprocessRecord {
    pub fn write(&self, root: &Path) -> Result<(), FileError> {
        let text = serde_json::to_string_pretty(self).expect("a record serialises");
        write_text_atomically(&root.join(PREPROCESS_FILE), &format!("{text}\n"))
    }

    /// The record of the data set at `root`; a missing file says what made the data set
    /// without one and what to do.
    pub fn read(root: &Path) -> Result<Self, FileError> {
        let path = root.join(PREPROCESS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            FileError::new(
                &path,
                format!(
                    "{e}: this data set does not record how it was made (sliced before \
                     preprocess.json existed?); slice it again"
                ),
            )
        })?;
        let record: PreprocessRecord = serde_json::from_str(&text)
            .map_err(|e| FileError::new(&path, format!("not a preprocessing record: {e}")))?;
        if record.format != RECORD_FORMAT {
            return Err(FileError::new(
                &path,
                format!(
                    "record format {} (this version reads {RECORD_FORMAT})",
                    record.format
                ),
            ));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PreprocessRecord {
        PreprocessRecord {
            format: RECORD_FORMAT,
            source: "wmh".into(),
            axis: 2,
            shape: Some([256, 256]),
            normalisation: Normalisation::MinMaxPerVolume,
            modalities: vec!["flair".into(), "t1".into()],
            classes: 2,
            label_mapping: vec![(2, 0)],
        }
    }

    #[test]
    fn a_record_reads_back_and_a_missing_or_newer_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = PreprocessRecord::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("preprocess.json") && e.contains("slice it again"),
            "{e}"
        );
        record().write(dir.path()).unwrap();
        assert_eq!(PreprocessRecord::read(dir.path()).unwrap(), record());
        let newer = PreprocessRecord {
            format: RECORD_FORMAT + 1,
            ..record()
        };
        newer.write(dir.path()).unwrap();
        let e = PreprocessRecord::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("record format 2"), "{e}");
    }
}
