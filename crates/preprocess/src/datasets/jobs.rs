//! The job runner: cases in parallel with a progress bar, then the spacing files, all into one
//! staging folder.

use std::path::Path;

use rayon::prelude::*;

use crate::record::PreprocessRecord;

use super::*;

/// How the cases of a volume data set (ISLES, WMH, a NIfTI folder) are written.
pub(crate) struct VolumeJob<'a> {
    pub dest: &'a Path,
    pub augment: usize,
    pub discard_negatives: bool,
    pub seed: u64,
    /// One PNG folder per modality, in `in_npy` order.
    pub png_folders: &'a [&'a str],
    /// Written as `preprocess.json`.
    pub record: PreprocessRecord,
}

impl VolumeJob<'_> {
    /// Prepares and writes every case of `(train, val)` (see [`run_cases`]).
    pub(crate) fn run<C: Sync>(
        &self,
        split: (&[C], &[C]),
        case_id: impl Fn(&C) -> String + Sync,
        prepare: impl Fn(&C) -> Result<VolumeCase, PreprocessError> + Sync,
        progress: &indicatif::ProgressBar,
    ) -> Result<Sliced, PreprocessError> {
        let mut folders = self.png_folders.to_vec();
        folders.extend(["gt", "in_npy", "gt_npy", "3d_distmap"]);
        run_cases(
            self.dest,
            self.augment,
            &self.record,
            split,
            &folders,
            case_id,
            |case, split_dir, augment| {
                let prepared = prepare(case)?;
                let written = write_volume_case(
                    &prepared,
                    self.png_folders,
                    split_dir,
                    augment,
                    self.discard_negatives,
                    self.seed,
                )?;
                Ok((written, prepared.volume_spacing))
            },
            progress,
        )
    }
}

/// Runs `prepare_and_write` for every (split, case) of `(train, val)` in parallel inside a staging folder with
/// `folders` made in each split, then writes the spacing files and `record`, and moves the
/// folder into place.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_cases<C: Sync>(
    dest: &Path,
    augment: usize,
    record: &PreprocessRecord,
    (train, val): (&[C], &[C]),
    folders: &[&str],
    case_id: impl Fn(&C) -> String + Sync,
    prepare_and_write: impl Fn(&C, &Path, usize) -> Result<(WrittenCase, [NumpyScalar; 3]), PreprocessError>
        + Sync,
    progress: &indicatif::ProgressBar,
) -> Result<Sliced, PreprocessError> {
    let staging = Staging::create(dest)?;
    for split in ["train", "val"] {
        for folder in folders {
            staging.make_dir(&Path::new(split).join(folder))?;
        }
    }
    progress.set_length((train.len() + val.len()) as u64);
    let jobs: Vec<(&str, &C, usize)> = train
        .iter()
        .map(|c| ("train", c, augment))
        .chain(val.iter().map(|c| ("val", c, 0)))
        .collect();
    let results: Vec<Result<(WrittenCase, [NumpyScalar; 3]), PreprocessError>> = jobs
        .par_iter()
        .map(|(split, case, augment)| {
            let result = prepare_and_write(case, &staging.dir().join(split), *augment);
            progress.inc(1);
            result
        })
        .collect();
    let mut per_split = [SpacingTable::new(), SpacingTable::new()];
    let mut volumes = SpacingTable::new();
    let mut slices = 0;
    for ((split, case, _), result) in jobs.iter().zip(results) {
        let (written, volume_spacing) = result?;
        per_split[usize::from(*split == "val")].extend(written.spacing);
        volumes.insert(case_id(case), volume_spacing.to_vec());
        slices += written.slices;
    }
    for (split, table) in ["train", "val"].iter().zip(&per_split) {
        write_spacing(&staging.dir().join(split), "spacing", table)?;
    }
    write_spacing(staging.dir(), "spacing_3d", &volumes)?;
    record.write(staging.dir())?;
    staging.finish()?;
    Ok(Sliced {
        train_cases: train.iter().map(&case_id).collect(),
        val_cases: val.iter().map(&case_id).collect(),
        slices,
        classes: 0,
    })
}
