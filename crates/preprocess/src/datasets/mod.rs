//! The official data sets (ISLES 2018, WMH 2017, ACDC) sliced as the original's
//! `preprocess/slice_*.py` slice them, with the original's bugs fixed where they lose data.
//!
//! This module holds the [`OfficialDataset`] names and the [`SliceDataset`] job; each data set's
//! module (`isles`, `wmh`, `acdc`) finds its files and prepares its cases. What they share lives
//! beside them: `volumes` (finding, reading and checking volumes, per-volume min-max),
//! `split` (the validation split drawn with CPython's `random`, so the official splits come out
//! as the original's), `augment` (seeded flips), `writers` (PNGs, `in_npy`, `gt_npy`,
//! `3d_distmap` of a case) and `jobs` (cases in parallel into one staging folder, then the
//! spacing files).

mod acdc;
pub(crate) use acdc::{acdc_image_slice, acdc_normalise};
mod augment;
mod isles;
mod jobs;
mod split;
mod volumes;
mod wmh;
mod writers;

pub(crate) use augment::*;
pub(crate) use jobs::*;
pub(crate) use split::*;
pub(crate) use volumes::*;
pub(crate) use writers::*;

use std::path::PathBuf;

use volume_io::{encode_png_u8, read_nifti_f32, write_directly, write_npy_directly, NumpyScalar};

use crate::record::{Normalisation, PreprocessRecord};
use crate::staging::{write_spacing, SpacingTable, Staging};
use crate::{bad, PreprocessError, PythonRandom, Sliced};

/// An official data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficialDataset {
    Isles,
    Wmh,
    Acdc,
}

impl OfficialDataset {
    /// The lower-case name the command line and `preprocess.json` use.
    pub fn name(self) -> &'static str {
        match self {
            OfficialDataset::Isles => "isles",
            OfficialDataset::Wmh => "wmh",
            OfficialDataset::Acdc => "acdc",
        }
    }
}

/// How to slice an official data set.
#[derive(Debug, Clone)]
pub struct SliceDataset {
    pub dataset: OfficialDataset,
    /// The unpacked raw folder (`TRAINING` of ISLES, the flattened `wmh` folder, ACDC's
    /// `training`).
    pub source: PathBuf,
    pub dest: PathBuf,
    /// Cases (patients for ACDC) kept for validation.
    pub retain: usize,
    /// Seed of CPython's `random`, as the original's `--seed`.
    pub seed: u64,
    /// ACDC's cross-validation fold: validation = patients `fold*retain..(fold+1)*retain` of the
    /// shuffled list.
    pub fold: usize,
    /// Output in-plane size of the resized data sets (ACDC, WMH; the original's `--shape`,
    /// which its WMH script ignored). ISLES keeps its volumes' size.
    pub shape: [usize; 2],
    /// Augmented copies of every training slice (flips; ACDC also rotations).
    pub augment: usize,
    /// Skip slices without foreground (WMH's `--discard_negatives`; here for every data set).
    pub discard_negatives: bool,
}

impl SliceDataset {
    /// The writing side of this job for a volume data set with these PNG folders.
    pub(crate) fn volume_job<'a>(
        &'a self,
        png_folders: &'a [&'a str],
        record: PreprocessRecord,
    ) -> VolumeJob<'a> {
        VolumeJob {
            dest: &self.dest,
            augment: self.augment,
            discard_negatives: self.discard_negatives,
            seed: self.seed,
            png_folders,
            record,
        }
    }

    /// The record of a two-class lesion data set sliced along the last axis with min-max
    /// normalised modalities (ISLES, WMH).
    pub(crate) fn lesion_record(
        &self,
        png_folders: &[&str],
        shape: Option<[usize; 2]>,
        label_mapping: Vec<(u32, u32)>,
    ) -> PreprocessRecord {
        PreprocessRecord {
            format: crate::record::RECORD_FORMAT,
            source: self.dataset.name().to_string(),
            axis: 2,
            shape,
            normalisation: Normalisation::MinMaxPerVolume,
            modalities: png_folders.iter().map(|f| f.to_string()).collect(),
            classes: 2,
            label_mapping,
        }
    }

    /// Splits `cases` (in order) with the original's `random.sample` and writes them as
    /// two-class volume cases (ISLES, WMH).
    pub(crate) fn slice_lesion_volumes<C: Clone + Sync>(
        &self,
        cases: &[C],
        png_folders: &[&str],
        record: PreprocessRecord,
        case_id: impl Fn(&C) -> String + Sync,
        prepare: impl Fn(&C) -> Result<VolumeCase, PreprocessError> + Sync,
        progress: &indicatif::ProgressBar,
    ) -> Result<Sliced, PreprocessError> {
        let (train, val) = sample_split(cases, self.retain, self.seed, &self.source)?;
        let sliced =
            self.volume_job(png_folders, record)
                .run((&train, &val), case_id, prepare, progress)?;
        Ok(Sliced {
            classes: 2,
            ..sliced
        })
    }

    /// Slices every case into `dest/{train,val}`; see the module documentation.
    pub fn run(&self, progress: &indicatif::ProgressBar) -> Result<Sliced, PreprocessError> {
        if !self.source.is_dir() {
            return Err(bad(&self.source, "is not a folder"));
        }
        if self.shape.contains(&0) {
            return Err(bad(
                &self.dest,
                format!("output shape {:?} has an empty side", self.shape),
            ));
        }
        match self.dataset {
            OfficialDataset::Isles => isles::slice(self, progress),
            OfficialDataset::Wmh => wmh::slice(self, progress),
            OfficialDataset::Acdc => acdc::slice(self, progress),
        }
    }
}
