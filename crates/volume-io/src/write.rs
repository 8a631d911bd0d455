use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{WritableElement, WriteNpyExt};

use crate::FileError;

/// Writes `path` through `write` into a temporary file next to it, then renames it into place:
/// readers see either no file or the complete file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), String>,
) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| {
            FileError::new(
                path,
                format!("cannot create a file in {}: {e}", dir.display()),
            )
        })?;
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out).map_err(|e| FileError::new(path, e))?;
        out.flush().map_err(|e| FileError::new(path, e))?;
    }
    temp.persist(path)
        .map_err(|e| FileError::new(path, format!("cannot rename into place: {}", e.error)))?;
    Ok(())
}

/// Writes `path` directly, for files inside a folder that is itself renamed into place when
/// complete (a temporary file per file would only cost file-system work there).
pub fn write_directly(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), String>,
) -> Result<(), FileError> {
    let file = std::fs::File::create(path).map_err(|e| FileError::new(path, e))?;
    let mut out = BufWriter::new(file);
    write(&mut out).map_err(|e| FileError::new(path, e))?;
    out.flush().map_err(|e| FileError::new(path, e))
}

/// [`write_directly`] for an `.npy` array.
pub fn write_npy_directly<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<(), FileError>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    write_directly(path, |out| array.write_npy(out).map_err(|e| e.to_string()))
}

/// [`write_atomically`] for an `.npy` array.
pub fn write_npy_atomically<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<(), FileError>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    write_atomically(path, |out| array.write_npy(out).map_err(|e| e.to_string()))
}
