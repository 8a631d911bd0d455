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

/// [`write_atomically`] for an `.npy` array.
pub fn write_npy_atomically<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<(), FileError>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    write_atomically(path, |out| array.write_npy(out).map_err(|e| e.to_string()))
}
