//! All-or-nothing output folders and the spacing files every slicer writes.
//!
//! A job writes into `.<DEST>.partial` next to `DEST` and renames it to `DEST` only when every
//! volume succeeded; a failure (or a panic) removes the partial folder, so users never see half
//! a data set under the final name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use volume_io::{write_spacing_json, write_spacing_pickle, FileError, NumpyScalar, StagedDir};

use crate::{bad, PreprocessError};

/// A destination being written.
pub(crate) struct Staging {
    staged: StagedDir,
}

impl Staging {
    /// Refuses an existing `dest` (the original asserts the same) and starts a fresh partial
    /// folder.
    pub(crate) fn create(dest: &Path) -> Result<Self, PreprocessError> {
        if dest.exists() {
            return Err(bad(
                dest,
                "already exists; remove it or choose another destination",
            ));
        }
        let name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad(dest, "the destination needs a folder name"))?;
        let temp = dest.with_file_name(format!(".{name}.partial"));
        Ok(Staging {
            staged: StagedDir::create(dest, temp)?,
        })
    }

    /// The folder to write into.
    pub(crate) fn dir(&self) -> &Path {
        self.staged.dir()
    }

    /// Creates `sub` (and its parents) inside the partial folder.
    pub(crate) fn make_dir(&self, sub: &Path) -> Result<PathBuf, PreprocessError> {
        let dir = self.staged.dir().join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| FileError::new(&dir, e))?;
        Ok(dir)
    }

    /// Moves the finished folder into place.
    pub(crate) fn finish(self) -> Result<(), PreprocessError> {
        Ok(self.staged.finish(false)?)
    }
}

/// Name -> spacing values, each with the numpy type the original stores.
pub type SpacingTable = BTreeMap<String, Vec<NumpyScalar>>;

/// Writes `<stem>.json` (plain numbers) and `<stem>.pkl` (the original's pickle) in `dir`.
pub(crate) fn write_spacing(
    dir: &Path,
    stem: &str,
    table: &SpacingTable,
) -> Result<(), PreprocessError> {
    let plain: volume_io::Spacings = table
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| s.value()).collect()))
        .collect();
    write_spacing_json(&dir.join(format!("{stem}.json")), &plain)?;
    write_spacing_pickle(&dir.join(format!("{stem}.pkl")), table)?;
    Ok(())
}
