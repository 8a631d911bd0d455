//! `unpack`: the official archives checked against their md5 sums and unpacked with the
//! original make files' clean-up, into the raw folder the slicers read.
//!
//! - ISLES: `ISLES2018_Training.zip` (and `ISLES2018_Testing.zip` if present) without
//!   `__MACOSX` and the `CT_4DPWI` perfusion series: `DEST/TRAINING/case_N/...`.
//! - WMH: `Amsterdam_GE3T.zip`, `Singapore.zip`, `Utrecht.zip` flattened (the site folder
//!   dropped) without `orig/` and `pre/3DT1.nii.gz`: `DEST/<id>/pre/{FLAIR,T1}.nii.gz`,
//!   `DEST/<id>/wmh.nii.gz`.
//! - ACDC: `acdc.zip` without the 4-D sequences: `DEST/training/patientNNN/...`.
//!
//! Everything is extracted into a partial folder renamed at the end; entries that would land
//! outside the destination are refused.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use md5::{Digest, Md5};
use volume_io::FileError;

use crate::datasets::OfficialDataset;
use crate::staging::Staging;
use crate::{bad, PreprocessError};

/// One official archive: its file name, md5 sum, and whether the data set needs it.
#[derive(Debug, Clone)]
pub struct Archive {
    pub name: String,
    pub md5: String,
    pub required: bool,
}

/// The official archives of a data set (the original's `.lineage` files).
pub fn official_archives(dataset: OfficialDataset) -> Vec<Archive> {
    let list: &[(&str, &str, bool)] = match dataset {
        OfficialDataset::Isles => &[
            (
                "ISLES2018_Training.zip",
                "b6d16c456e173743e30a3fbdb3bd29a5",
                true,
            ),
            (
                "ISLES2018_Testing.zip",
                "932a493c105024942700fe589cd441a9",
                false,
            ),
        ],
        OfficialDataset::Wmh => &[
            (
                "Amsterdam_GE3T.zip",
                "259938e3ba38ec77d878c6eaa7fa3c12",
                true,
            ),
            ("Singapore.zip", "02658fd204a7d2526920f92c37f3d417", true),
            ("Utrecht.zip", "7768dda529a00cdcf49d9f574bb146cd", true),
        ],
        OfficialDataset::Acdc => &[("acdc.zip", "8f88b442fce65a13f28e30bad4d1b6ce", true)],
    };
    list.iter()
        .map(|&(name, md5, required)| Archive {
            name: name.to_string(),
            md5: md5.to_string(),
            required,
        })
        .collect()
}

/// What to unpack.
#[derive(Debug, Clone)]
pub struct Unpack {
    pub dataset: OfficialDataset,
    /// The folder holding the downloaded archives.
    pub archives: PathBuf,
    pub dest: PathBuf,
    /// The archives to expect ([`official_archives`] for real use).
    pub expected: Vec<Archive>,
}

/// The md5 sum of a file, as lowercase hex.
pub fn md5_hex(path: &Path) -> Result<String, FileError> {
    let mut file = std::fs::File::open(path).map_err(|e| FileError::new(path, e))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| FileError::new(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Where an archive entry goes under the destination, or `None` for what the original's make
/// rules delete.
fn destination(dataset: OfficialDataset, entry: &Path) -> Option<PathBuf> {
    let parts: Vec<String> = entry
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let name = parts.last()?;
    match dataset {
        OfficialDataset::Isles => {
            let dropped = parts
                .iter()
                .any(|p| p == "__MACOSX" || p.contains("CT_4DPWI"));
            (!dropped).then(|| parts.iter().collect())
        }
        OfficialDataset::Wmh => {
            // <site>/<id>/... -> <id>/...
            let rest = &parts[1.min(parts.len())..];
            let dropped = rest.get(1).is_some_and(|p| p == "orig")
                || (rest.len() == 3 && rest[1] == "pre" && rest[2] == "3DT1.nii.gz")
                || parts.iter().any(|p| p == "__MACOSX");
            (!dropped && !rest.is_empty()).then(|| rest.iter().collect())
        }
        OfficialDataset::Acdc => {
            let dropped = name.ends_with("_4d.nii.gz") || parts.iter().any(|p| p == "__MACOSX");
            (!dropped).then(|| parts.iter().collect())
        }
    }
}

impl Unpack {
    /// Checks every archive's md5 sum, then unpacks them all (or nothing).
    pub fn run(&self, progress: &indicatif::ProgressBar) -> Result<Vec<PathBuf>, PreprocessError> {
        let mut present = Vec::new();
        for archive in &self.expected {
            let path = self.archives.join(&archive.name);
            if !path.is_file() {
                if archive.required {
                    return Err(bad(
                        &path,
                        "missing: download the official archive into this folder",
                    ));
                }
                continue;
            }
            let sum = md5_hex(&path)?;
            if sum != archive.md5 {
                return Err(bad(
                    &path,
                    format!(
                        "md5 sum {sum} is not the official {} (incomplete download or another version)",
                        archive.md5
                    ),
                ));
            }
            present.push(path);
        }
        let staging = Staging::create(&self.dest)?;
        for path in &present {
            self.extract(path, staging.dir(), progress)?;
        }
        staging.finish()?;
        Ok(present)
    }

    fn extract(
        &self,
        path: &Path,
        into: &Path,
        progress: &indicatif::ProgressBar,
    ) -> Result<(), PreprocessError> {
        let file = std::fs::File::open(path).map_err(|e| FileError::new(path, e))?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| bad(path, format!("not a readable zip archive: {e}")))?;
        progress.set_length(zip.len() as u64);
        progress.set_position(0);
        for i in 0..zip.len() {
            let mut entry = zip
                .by_index(i)
                .map_err(|e| bad(path, format!("entry {i}: {e}")))?;
            let Some(inside) = entry.enclosed_name().map(Path::to_path_buf) else {
                return Err(bad(
                    path,
                    format!("entry '{}' points outside the destination", entry.name()),
                ));
            };
            progress.inc(1);
            if entry.is_dir() {
                continue;
            }
            let Some(rel) = destination(self.dataset, &inside) else {
                continue;
            };
            let target = into.join(rel);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e))?;
            }
            // What an entry declares bounds what is written: deflate cannot expand beyond ~1032:1,
            // and an entry that decompresses to more than it declares is refused.
            let declared = entry.size();
            if declared
                > entry
                    .compressed_size()
                    .saturating_mul(1100)
                    .saturating_add(1024)
            {
                return Err(bad(
                    path,
                    format!(
                        "entry '{}' declares {declared} bytes from {} compressed: not a real archive",
                        inside.display(),
                        entry.compressed_size()
                    ),
                ));
            }
            let mut out = std::fs::File::create(&target).map_err(|e| FileError::new(&target, e))?;
            let written = std::io::copy(&mut (&mut entry).take(declared + 1), &mut out)
                .map_err(|e| bad(path, format!("cannot extract '{}': {e}", inside.display())))?;
            if written != declared {
                return Err(bad(
                    path,
                    format!(
                        "entry '{}' holds {written}{} bytes, it declares {declared}",
                        inside.display(),
                        if written > declared { "+" } else { "" }
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(dataset: OfficialDataset, entry: &str) -> Option<String> {
        destination(dataset, Path::new(entry)).map(|p| p.to_string_lossy().into_owned())
    }

    #[test]
    fn the_make_files_clean_up_is_applied_per_entry() {
        assert_eq!(
            dest(OfficialDataset::Wmh, "Utrecht/0/pre/FLAIR.nii.gz").as_deref(),
            Some("0/pre/FLAIR.nii.gz")
        );
        assert_eq!(
            dest(OfficialDataset::Wmh, "Utrecht/0/wmh.nii.gz").as_deref(),
            Some("0/wmh.nii.gz")
        );
        assert_eq!(
            dest(OfficialDataset::Wmh, "Utrecht/0/orig/FLAIR.nii.gz"),
            None
        );
        assert_eq!(dest(OfficialDataset::Wmh, "GE3T/100/pre/3DT1.nii.gz"), None);
        assert_eq!(
            dest(
                OfficialDataset::Isles,
                "TRAINING/case_1/SMIR.Brain.XX.O.CT_4DPWI.1/x.nii"
            ),
            None
        );
        assert_eq!(
            dest(OfficialDataset::Isles, "__MACOSX/TRAINING/._case_1"),
            None
        );
        assert_eq!(
            dest(
                OfficialDataset::Isles,
                "TRAINING/case_1/SMIR.Brain.XX.O.OT.7/SMIR.Brain.XX.O.OT.7.nii"
            )
            .as_deref(),
            Some("TRAINING/case_1/SMIR.Brain.XX.O.OT.7/SMIR.Brain.XX.O.OT.7.nii")
        );
        assert_eq!(
            dest(
                OfficialDataset::Acdc,
                "training/patient001/patient001_4d.nii.gz"
            ),
            None
        );
        assert_eq!(
            dest(OfficialDataset::Acdc, "training/patient001/Info.cfg").as_deref(),
            Some("training/patient001/Info.cfg")
        );
    }

    #[test]
    fn md5_of_a_known_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"The quick brown fox jumps over the lazy dog").unwrap();
        assert_eq!(md5_hex(&path).unwrap(), "9e107d9d372bb6826bd81d3542a419d6");
    }
}
