//! WMH 2017 (`slice_wmh.py`): `<source>/<id>/pre/FLAIR.nii.gz`, `<id>/pre/T1.nii.gz`,
//! `<id>/wmh.nii.gz`; FLAIR and T1 min-max normalised, resized in-plane to 256x256 (bilinear),
//! labels resized by nearest neighbour with label 2 ("other pathology") set to 0, spacing scaled
//! by the resize, 3-D distance maps on the resized labels.
//!
//! Fixed: files are matched by exact name (not by substring of the whole path), and the case id
//! is the case folder's name whatever the source path (the original took the 4th-last path
//! component, so any other source depth gave every case the same id).

use std::path::{Path, PathBuf};

use volume_io::NumpyScalar;

use super::{
    check_same_shape, label_volume, min_max_normalise, name_of, read_volume, sorted_subfolders,
    SliceDataset, VolumeCase,
};
use crate::resize::{resize_image_volume, resize_label_volume};
use crate::{bad, PreprocessError, Sliced};

#[derive(Debug, Clone)]
struct WmhCase {
    id: String,
    flair: PathBuf,
    t1: PathBuf,
    gt: PathBuf,
}

/// The case folders: `<source>/<id>/`, or `<source>/<site>/<id>/` when the site folders of the
/// archives were not flattened (ids are unique across the three sites).
fn find_cases(source: &Path) -> Result<Vec<WmhCase>, PreprocessError> {
    let mut cases = Vec::new();
    for dir in sorted_subfolders(source)? {
        if !collect_case(&dir, &mut cases)? {
            for inner in sorted_subfolders(&dir)? {
                collect_case(&inner, &mut cases)?;
            }
        }
    }
    if cases.is_empty() {
        return Err(bad(
            source,
            "holds no WMH case (<id>/pre/FLAIR.nii.gz, <id>/pre/T1.nii.gz, <id>/wmh.nii.gz)",
        ));
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = cases.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(bad(
            &pair[1].gt,
            format!(
                "a second case with the id {} (the other: {})",
                pair[1].id,
                pair[0].gt.display()
            ),
        ));
    }
    Ok(cases)
}

/// Adds `dir` if it is a case folder; `Ok(false)` if it holds none of a case's files.
fn collect_case(dir: &Path, cases: &mut Vec<WmhCase>) -> Result<bool, PreprocessError> {
    let case = WmhCase {
        id: name_of(dir),
        flair: dir.join("pre").join("FLAIR.nii.gz"),
        t1: dir.join("pre").join("T1.nii.gz"),
        gt: dir.join("wmh.nii.gz"),
    };
    let paths = [&case.flair, &case.t1, &case.gt];
    let present = paths.map(|p| p.is_file());
    if present == [false; 3] {
        return Ok(false);
    }
    if let Some((missing, _)) = paths.into_iter().zip(present).find(|(_, here)| !here) {
        return Err(bad(
            missing,
            "missing: a WMH case needs pre/FLAIR.nii.gz, pre/T1.nii.gz and wmh.nii.gz",
        ));
    }
    cases.push(case);
    Ok(true)
}

fn prepare(case: &WmhCase, size: [usize; 2]) -> Result<VolumeCase, PreprocessError> {
    let (flair, [dx, dy, dz]) = read_volume(&case.flair)?;
    let (t1, _) = read_volume(&case.t1)?;
    let (gt, _) = read_volume(&case.gt)?;
    check_same_shape(flair.shape(), &case.flair, t1.shape(), &case.t1)?;
    check_same_shape(flair.shape(), &case.flair, gt.shape(), &case.gt)?;
    let gt = label_volume(&gt, &[0, 1, 2], &case.gt)?;
    // The spacing after resizing, in float64 as numpy computes `dx * w / 256` (dz stays f32).
    let (w, h) = (flair.shape()[0] as f64, flair.shape()[1] as f64);
    let rx = dx as f64 * w / size[0] as f64;
    let ry = dy as f64 * h / size[1] as f64;
    let flair = resize_image_volume(&min_max_normalise(&flair, &case.flair)?, size);
    let t1 = resize_image_volume(&min_max_normalise(&t1, &case.t1)?, size);
    let mut gt = resize_label_volume(&gt, size);
    gt.mapv_inplace(|l| if l == 2 { 0 } else { l });
    Ok(VolumeCase::lesion(
        &case.id,
        vec![flair, t1],
        gt,
        [NumpyScalar::F64(rx), NumpyScalar::F64(ry)],
        dz,
    ))
}

pub(super) fn slice(
    job: &SliceDataset,
    progress: &indicatif::ProgressBar,
) -> Result<Sliced, PreprocessError> {
    let cases = find_cases(&job.source)?;
    let png_folders = ["flair", "t1"];
    // The "other pathology" label 2 is background for training.
    let record = job.lesion_record(&png_folders, Some(job.shape), vec![(2, 0)]);
    job.slice_lesion_volumes(
        &cases,
        &png_folders,
        record,
        |c| c.id.clone(),
        |case| prepare(case, job.shape),
        progress,
    )
}
