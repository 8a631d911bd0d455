//! Spacing files: `{name}.json` (ours: `{key: [spacing per axis]}`) and the original's
//! `{name}.pkl` (see [`crate::read_spacing_pickle`]), read and written in one place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{read_spacing_pickle, write_text_atomically, FileError};

/// Key (slice or patient) -> spacing per axis.
pub type Spacings = BTreeMap<String, Vec<f64>>;

/// Reads a `{key: [numbers]}` JSON spacing file.
pub fn read_spacing_json(path: &Path) -> Result<Spacings, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::new(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| FileError::new(path, format!("not a {{name: [spacing per axis]}} map: {e}")))
}

/// Writes a `{key: [numbers]}` JSON spacing file atomically.
pub fn write_spacing_json(path: &Path, table: &Spacings) -> Result<(), FileError> {
    let text = serde_json::to_string_pretty(table).expect("a map of numbers serialises");
    write_text_atomically(path, &text)
}

/// The spacing file `{name}.json` (ours) or else `{name}.pkl` (the original's) in `dir`, if
/// either exists.
pub fn spacing_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [format!("{name}.json"), format!("{name}.pkl")]
        .into_iter()
        .map(|file| dir.join(file))
        .find(|path| path.exists())
}

/// Reads [`spacing_file`]; `None` when neither exists.
pub fn read_spacing(dir: &Path, name: &str) -> Result<Option<Spacings>, FileError> {
    spacing_file(dir, name)
        .map(|path| read_spacing_file(&path))
        .transpose()
}

/// Reads a spacing file: JSON (`.json`) or the original's pickle (anything else).
pub fn read_spacing_file(path: &Path) -> Result<Spacings, FileError> {
    if path.extension().is_some_and(|e| e == "json") {
        read_spacing_json(path)
    } else {
        read_spacing_pickle(path)
    }
}
