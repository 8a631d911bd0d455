//! ISLES 2018 (`slice_isles.py`): `<source>/case_<n>/SMIR.Brain.XX.O.<MOD>.<id>/*.nii` with the
//! five CT modalities (CT, CT_CBF, CT_CBV, CT_MTT, CT_Tmax) and the `OT` ground truth; each
//! modality min-max normalised, no resizing, 3-D distance maps on the labels with the header's
//! spacing. Spacings are stored as float32, as the original's `get_zooms()` gives them.
//!
//! Fixed or relaxed: modalities are told apart by the exact token after `.O.` (not by
//! substrings of the whole path, where "CT." also matched other folders); the in-plane size is
//! whatever the volumes have (the original asserted 256x256); any numeric data type is read
//! (the original asserted int32/uint16/float64 per modality); `dx == dy` is not required.

use std::path::{Path, PathBuf};

use volume_io::NumpyScalar;

use super::{
    check_same_shape, label_volume, min_max_normalise, name_of, read_volume, sorted_subfolders,
    SliceDataset, VolumeCase,
};
use crate::{bad, PreprocessError, Sliced};

/// The five modalities in `in_npy` channel order, with their PNG folders.
const MODALITIES: [(&str, &str); 5] = [
    ("CT", "ct"),
    ("CT_CBF", "cbf"),
    ("CT_CBV", "cbv"),
    ("CT_MTT", "mtt"),
    ("CT_Tmax", "tmax"),
];
const GROUND_TRUTH: &str = "OT";

#[derive(Debug, Clone)]
struct IslesCase {
    id: String,
    /// The five modalities in [`MODALITIES`] order, then the ground truth.
    files: Vec<PathBuf>,
}

/// The modality token of an ISLES file or folder name (`SMIR.Brain.XX.O.CT_CBF.345` ->
/// `CT_CBF`).
fn modality_of(name: &str) -> Option<&str> {
    let (_, rest) = name.split_once(".O.")?;
    rest.split('.').next()
}

fn nifti_files_below(dir: &Path) -> Result<Vec<PathBuf>, PreprocessError> {
    let mut found = Vec::new();
    for sub in sorted_subfolders(dir)? {
        let entries = std::fs::read_dir(&sub)
            .map_err(|e| bad(&sub, format!("cannot list the folder: {e}")))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = name_of(p);
                p.is_file() && (n.ends_with(".nii") || n.ends_with(".nii.gz"))
            })
            .collect();
        files.sort();
        found.extend(files);
    }
    Ok(found)
}

fn find_cases(source: &Path) -> Result<Vec<IslesCase>, PreprocessError> {
    let mut cases = Vec::new();
    for dir in sorted_subfolders(source)? {
        let id = name_of(&dir);
        if !id.starts_with("case_") {
            continue;
        }
        let files = nifti_files_below(&dir)?;
        let mut ordered = Vec::new();
        for token in MODALITIES.iter().map(|m| m.0).chain([GROUND_TRUTH]) {
            let matching: Vec<&PathBuf> = files
                .iter()
                .filter(|p| modality_of(&name_of(p)) == Some(token))
                .collect();
            match matching.as_slice() {
                [one] => ordered.push((*one).clone()),
                [] => {
                    return Err(bad(
                        &dir,
                        format!("has no {token} volume (SMIR.Brain.XX.O.{token}.<id>/*.nii)"),
                    ))
                }
                [first, ..] => {
                    return Err(bad(
                        first,
                        format!(
                            "{} {token} volumes in this case, expected one",
                            matching.len()
                        ),
                    ))
                }
            }
        }
        cases.push(IslesCase { id, files: ordered });
    }
    if cases.is_empty() {
        return Err(bad(
            source,
            "holds no ISLES case folder (case_<n>; the unpacked archive has them in TRAINING/)",
        ));
    }
    Ok(cases)
}

fn prepare(case: &IslesCase) -> Result<VolumeCase, PreprocessError> {
    let (gt, [dx, dy, dz]) = read_volume(&case.files[5])?;
    let gt = label_volume(&gt, &[0, 1], &case.files[5])?;
    let mut modalities = Vec::with_capacity(5);
    for path in &case.files[..5] {
        let (volume, _) = read_volume(path)?;
        check_same_shape(gt.shape(), &case.files[5], volume.shape(), path)?;
        modalities.push(min_max_normalise(&volume, path)?);
    }
    Ok(VolumeCase::lesion(
        &case.id,
        modalities,
        gt,
        [NumpyScalar::F32(dx), NumpyScalar::F32(dy)],
        dz,
    ))
}

pub(super) fn slice(
    job: &SliceDataset,
    progress: &indicatif::ProgressBar,
) -> Result<Sliced, PreprocessError> {
    let cases = find_cases(&job.source)?;
    let png_folders: Vec<&str> = MODALITIES.iter().map(|m| m.1).collect();
    let record = job.lesion_record(&png_folders, None, Vec::new());
    job.slice_lesion_volumes(
        &cases,
        &png_folders,
        record,
        |c| c.id.clone(),
        prepare,
        progress,
    )
}

#[cfg(test)]
mod tests {
    use super::modality_of;

    #[test]
    fn modality_tokens_are_exact() {
        assert_eq!(modality_of("SMIR.Brain.XX.O.CT.345"), Some("CT"));
        assert_eq!(
            modality_of("SMIR.Brain.XX.O.CT_CBF.345.nii"),
            Some("CT_CBF")
        );
        assert_eq!(modality_of("SMIR.Brain.XX.O.OT.351.nii"), Some("OT"));
        assert_eq!(modality_of("notes.txt"), None);
    }
}
