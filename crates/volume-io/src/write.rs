use std::io::{BufWriter, Seek, Write};
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
    write_atomically_sized(path, None, write)
}

/// [`write_atomically`] for an output of about `expected_len` bytes (at most that plus
/// [`HEADER_SLACK`]): the space is reserved before writing, which spares the rename its flush.
///
/// ext4 (with its default `auto_da_alloc`) starts the write-back of a file that is renamed over
/// an existing one when the file still has blocks waiting for allocation: 20-25 ms for a 32 MB
/// map on the machine of docs/benchmarks.md, more than writing it. Reserved blocks wait for
/// nothing, so the rename stays a rename. Extra reserved space is given back before it.
fn write_atomically_sized(
    path: &Path,
    expected_len: Option<u64>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    // tempfile makes private (0600) files; an output should get the mode any other new file
    // gets (0666 less the umask), as np.save's do.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(dir).map_err(|e| {
        FileError::new(
            path,
            format!("cannot create a file in {}: {e}", dir.display()),
        )
    })?;
    let reserved = expected_len.is_some_and(|len| reserve(temp.as_file(), len + HEADER_SLACK));
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out).map_err(|e| FileError::new(path, e))?;
        out.flush().map_err(|e| FileError::new(path, e))?;
    }
    if reserved {
        // Truncating at the written length frees the reserved blocks past it.
        let file = temp.as_file_mut();
        let written = file
            .stream_position()
            .map_err(|e| FileError::new(path, e))?;
        file.set_len(written).map_err(|e| FileError::new(path, e))?;
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
    let data_len = array.len() as u64 * std::mem::size_of::<A>() as u64;
    write_atomically_sized(path, Some(data_len), npy_bytes(array))
}

/// Room reserved past the expected length for a format's header (an `.npy` header is a few
/// hundred bytes at most).
const HEADER_SLACK: u64 = 4096;

/// Reserves `len` bytes of disk for `file` without changing its length; false where the file
/// system cannot (the write then goes on as it would have).
#[cfg(target_os = "linux")]
fn reserve(file: &std::fs::File, len: u64) -> bool {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, 0, len).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn reserve(_file: &std::fs::File, _len: u64) -> bool {
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reserving space for an `.npy` (header slack included) leaves the file at exactly the bytes
    /// written, equal to what `ndarray-npy` writes without the reservation, also over an older
    /// and larger file.
    #[test]
    fn reserved_npy_is_exactly_the_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maps.npy");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        for shape in [(1, 1, 1), (3, 5, 7), (17, 64, 65)] {
            let array =
                ndarray::Array3::from_shape_fn(shape, |(z, y, x)| (z * 7 + y * 3 + x) as f32);
            write_npy_atomically(&path, &array).unwrap();
            let mut expected = Vec::new();
            array.write_npy(&mut expected).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), expected, "{shape:?}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the output, no temporary file");
    }

    /// Outputs get the mode a new file gets under the process's umask, not tempfile's 0600.
    #[cfg(unix)]
    #[test]
    fn outputs_are_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, "x").unwrap();
        let ours = dir.path().join("ours.txt");
        write_text_atomically(&ours, "x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ours), mode(&plain));
    }
}
