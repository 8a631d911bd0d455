use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{WritableElement, WriteNpyExt};

use crate::FileError;

/// Writes `path` through `write` into a temporary file next to it, then renames it into place:
/// readers see either no file or the complete file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
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
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
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
    write_directly(path, npy_bytes(array))
}

/// [`write_atomically`] for an `.npy` array.
pub fn write_npy_atomically<A, S, D>(path: &Path, array: &ArrayBase<S, D>) -> Result<(), FileError>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    write_atomically(path, npy_bytes(array))
}

/// What both `.npy` writers write: the array in `.npy` format.
fn npy_bytes<'a, A, S, D>(
    array: &'a ArrayBase<S, D>,
) -> impl FnOnce(&mut dyn Write) -> std::io::Result<()> + 'a
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    move |out| array.write_npy(out).map_err(std::io::Error::other)
}

/// [`write_atomically`] for a text file.
pub fn write_text_atomically(path: &Path, text: &str) -> Result<(), FileError> {
    write_atomically(path, |out| out.write_all(text.as_bytes()))
}

/// A folder written under a temporary name and renamed into place when complete: readers see
/// the old folder (or none) or the complete new one. Dropped unfinished (an error, a panic), the
/// temporary folder is removed.
pub struct StagedDir {
    temp: PathBuf,
    dest: PathBuf,
    finished: bool,
}

impl StagedDir {
    /// Starts `temp` (removing what a killed earlier attempt left there) for `dest`.
    pub fn create(dest: &Path, temp: PathBuf) -> Result<Self, FileError> {
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(|e| FileError::new(&temp, e))?;
        }
        std::fs::create_dir_all(&temp).map_err(|e| FileError::new(&temp, e))?;
        Ok(StagedDir {
            temp,
            dest: dest.to_path_buf(),
            finished: false,
        })
    }

    /// The folder to write into.
    pub fn dir(&self) -> &Path {
        &self.temp
    }

    /// Renames the folder into place; an existing `dest` is replaced when `replace`, an error
    /// otherwise.
    pub fn finish(mut self, replace: bool) -> Result<(), FileError> {
        // The old folder leaves in one rename before it is deleted: deleting it in place could be
        // interrupted half way, leaving `dest` neither old nor new.
        let old = replace.then(|| {
            let name = self
                .dest
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            self.dest.with_file_name(format!(".{name}.old.tmp"))
        });
        if let Some(old) = old.as_ref().filter(|_| self.dest.exists()) {
            remove_dir_if_present(old)?;
            std::fs::rename(&self.dest, old).map_err(|e| FileError::new(&self.dest, e))?;
        }
        std::fs::rename(&self.temp, &self.dest).map_err(|e| FileError::new(&self.dest, e))?;
        self.finished = true;
        if let Some(old) = &old {
            remove_dir_if_present(old)?;
        }
        Ok(())
    }
}

fn remove_dir_if_present(dir: &Path) -> Result<(), FileError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FileError::new(dir, e)),
        _ => Ok(()),
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}
