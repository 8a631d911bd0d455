//! ACDC (`slice_acdc.py`): `<source>/patientNNN/patientNNN_frameFF.nii.gz` and
//! `..._frameFF_gt.nii.gz` (ED and ES frames). Each image volume is min-max normalised to uint8
//! (`uint8(255 * norm)`, truncated), every slice is resized to the output shape (bilinear for the
//! image, then truncated to uint8; nearest for the labels 0..3) and written as PNGs
//! `img/<name>.png`, `gt/<name>.png`. The split shuffles the sorted patient ids with CPython's
//! `random` and keeps patients `fold*retain..(fold+1)*retain` for validation.
//!
//! Fixed or relaxed: names are zero-padded (`patient001_01_00_0007`, the original wrote
//! `patient001_01_0_7`, which sorts slice 10 before slice 2); files are matched by the
//! `patientNNN_frameFF[_gt].nii[.gz]` pattern, not by substrings; any number of patients is
//! accepted (the original asserted exactly 200 volumes) and any slice thickness (it asserted
//! 5, 6.5, 7 or 10 mm). Added: `spacing.json`/`.pkl` per split with the in-plane spacing after
//! resizing (`dx / (256 / W)`, what the original used for its statistics) and `spacing_3d`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{s, Array2};
use rand::Rng;
use volume_io::NumpyScalar;

use super::{
    case_rng, check_retain, check_same_shape, label_volume, name_of, read_volume, run_cases,
    sorted_subfolders, write_png, SliceDataset, WrittenCase,
};
use crate::record::{Normalisation, PreprocessRecord};
use crate::resize::{clip_range, min_max, resize_linear, resize_nearest};
use crate::staging::SpacingTable;
use crate::{bad, PreprocessError, PythonRandom, Sliced};

#[derive(Debug, Clone)]
struct AcdcVolume {
    patient: String,
    frame: String,
    image: PathBuf,
    gt: PathBuf,
}

impl AcdcVolume {
    fn id(&self) -> String {
        format!("{}_{}", self.patient, self.frame)
    }
}

/// `patientNNN_frameFF[_gt].nii[.gz]` -> (patient, frame, is ground truth).
fn parse_name(name: &str) -> Option<(String, String, bool)> {
    let stem = name
        .strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))?;
    let (stem, gt) = match stem.strip_suffix("_gt") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let (patient, frame) = stem.split_once("_frame")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number = patient.strip_prefix("patient")?;
    (digits(number) && digits(frame)).then(|| (patient.to_string(), frame.to_string(), gt))
}

fn find_volumes(source: &Path) -> Result<Vec<AcdcVolume>, PreprocessError> {
    let mut volumes = Vec::new();
    for dir in sorted_subfolders(source)? {
        let patient_dir = name_of(&dir);
        if !patient_dir.starts_with("patient") {
            continue;
        }
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| bad(&dir, format!("cannot list the folder: {e}")))?;
        let mut frames: BTreeMap<String, [Option<PathBuf>; 2]> = BTreeMap::new();
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let Some((patient, frame, gt)) = parse_name(&name_of(&path)) else {
                continue; // the 4-D sequence, Info.cfg, ...
            };
            if patient != patient_dir {
                return Err(bad(
                    &path,
                    format!("belongs to {patient}, not {patient_dir}"),
                ));
            }
            frames.entry(frame).or_default()[usize::from(gt)] = Some(path);
        }
        for (frame, pair) in frames {
            match pair {
                [Some(image), Some(gt)] => volumes.push(AcdcVolume {
                    patient: patient_dir.clone(),
                    frame,
                    image,
                    gt,
                }),
                [Some(image), None] => {
                    return Err(bad(
                        &image,
                        "has no ground truth (..._gt.nii.gz) next to it",
                    ))
                }
                [None, Some(gt)] => return Err(bad(&gt, "has no image next to it")),
                [None, None] => unreachable!("an entry is made with one of the two"),
            }
        }
    }
    if volumes.is_empty() {
        return Err(bad(
            source,
            "holds no ACDC volume (patientNNN/patientNNN_frameFF[_gt].nii.gz; the unpacked \
             archive has them in its training/ folder)",
        ));
    }
    Ok(volumes)
}

/// The original's `utils.augment`: each with probability 1/2 a vertical flip, a horizontal
/// mirror, a rotation by uniform(-45, 45) degrees (nearest, black outside).
#[derive(Debug, Clone, Copy)]
struct Augmentation {
    flip_rows: bool,
    mirror: bool,
    degrees: Option<f64>,
}

impl Augmentation {
    fn draw(rng: &mut impl Rng) -> Self {
        let flip_rows = rng.random_bool(0.5);
        let mirror = rng.random_bool(0.5);
        let rotate = rng.random_bool(0.5);
        let angle = rng.random_range(-45.0..45.0);
        Augmentation {
            flip_rows,
            mirror,
            degrees: rotate.then_some(angle),
        }
    }

    fn apply(&self, plane: &Array2<u8>) -> Array2<u8> {
        let mut view = plane.view();
        if self.flip_rows {
            view.invert_axis(ndarray::Axis(0));
        }
        if self.mirror {
            view.invert_axis(ndarray::Axis(1));
        }
        let flipped = view.to_owned();
        match self.degrees {
            Some(d) => rotate_nearest(&flipped, d),
            None => flipped,
        }
    }
}

/// PIL's `Image.rotate(degrees)` (counter-clockwise about the image centre, nearest, 0 fill).
fn rotate_nearest(plane: &Array2<u8>, degrees: f64) -> Array2<u8> {
    let (h, w) = plane.dim();
    let (sin, cos) = (-degrees.to_radians()).sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    Array2::from_shape_fn((h, w), |(row, col)| {
        let (x, y) = (col as f64 + 0.5 - cx, row as f64 + 0.5 - cy);
        let sx = cos * x + sin * y + cx;
        let sy = -sin * x + cos * y + cy;
        if sx >= 0.0 && sy >= 0.0 && (sx as usize) < w && (sy as usize) < h {
            plane[[sy as usize, sx as usize]]
        } else {
            0
        }
    })
}

fn slice_volume(
    volume: &AcdcVolume,
    job: &SliceDataset,
    split_dir: &Path,
    augment: usize,
) -> Result<(WrittenCase, [NumpyScalar; 3]), PreprocessError> {
    let shape = job.shape;
    let (image, [dx, dy, dz]) = read_volume(&volume.image)?;
    let (gt, _) = read_volume(&volume.gt)?;
    check_same_shape(image.shape(), &volume.image, gt.shape(), &volume.gt)?;
    let gt = label_volume(&gt, &[0, 1, 2, 3], &volume.gt)?;
    let normalised = acdc_normalise(&image, &volume.image)?;
    // numpy: float32 spacing / python float -> float64.
    let spacing = [
        NumpyScalar::F64(dx as f64 / (shape[0] as f64 / image.shape()[0] as f64)),
        NumpyScalar::F64(dy as f64 / (shape[1] as f64 / image.shape()[1] as f64)),
    ];
    let mut rng = case_rng(job.seed, &volume.id());
    let mut table = SpacingTable::new();
    let mut slices = 0;
    for j in 0..image.shape()[2] {
        let image_slice = acdc_image_slice(normalised.slice(s![.., .., j]), shape);
        let gt_slice = resize_nearest(gt.slice(s![.., .., j]), shape);
        if job.discard_negatives && gt_slice.iter().all(|&l| l == 0) {
            continue;
        }
        for k in 0..=augment {
            let augmented;
            let (image_out, gt_out) = if k == 0 {
                (image_slice.view(), gt_slice.view())
            } else {
                let a = Augmentation::draw(&mut rng);
                augmented = (a.apply(&image_slice), a.apply(&gt_slice));
                (augmented.0.view(), augmented.1.view())
            };
            let name = format!("{}_{k:02}_{j:04}", volume.id());
            write_png(&split_dir.join("img"), &name, image_out)?;
            write_png(&split_dir.join("gt"), &name, gt_out)?;
            table.insert(name, spacing.to_vec());
            slices += 1;
        }
    }
    Ok((
        WrittenCase {
            spacing: table,
            slices,
        },
        [spacing[0], spacing[1], NumpyScalar::F32(dz)],
    ))
}

pub(super) fn slice(
    job: &SliceDataset,
    progress: &indicatif::ProgressBar,
) -> Result<Sliced, PreprocessError> {
    let volumes = find_volumes(&job.source)?;
    let mut patients: Vec<String> = volumes.iter().map(|v| v.patient.clone()).collect();
    patients.dedup();
    check_retain(patients.len(), job.retain, &job.source)?;
    let start = job.fold * job.retain;
    if start + job.retain > patients.len() {
        return Err(bad(
            &job.source,
            format!(
                "{} patients: fold {} of {} validation patients does not fit",
                patients.len(),
                job.fold,
                job.retain
            ),
        ));
    }
    PythonRandom::new(job.seed).shuffle(&mut patients);
    let validation = &patients[start..start + job.retain];
    let (val, train): (Vec<AcdcVolume>, Vec<AcdcVolume>) = volumes
        .into_iter()
        .partition(|v| validation.contains(&v.patient));
    let record = PreprocessRecord {
        format: crate::record::RECORD_FORMAT,
        source: job.dataset.name().to_string(),
        axis: 2,
        shape: Some(job.shape),
        normalisation: Normalisation::AcdcUint8,
        modalities: vec!["img".to_string()],
        classes: 4,
        label_mapping: Vec::new(),
    };
    let sliced = run_cases(
        &job.dest,
        job.augment,
        &record,
        (&train, &val),
        &["img", "gt"],
        AcdcVolume::id,
        |volume, split_dir, augment| slice_volume(volume, job, split_dir, augment),
        progress,
    )?;
    Ok(Sliced {
        classes: 4,
        ..sliced
    })
}

/// ACDC's `norm_arr`: float32 min-max over the volume, times 255, truncated to uint8.
pub(crate) fn acdc_normalise(
    image: &ndarray::Array3<f32>,
    path: &Path,
) -> Result<ndarray::Array3<u8>, PreprocessError> {
    Ok(super::min_max_normalise(image, path)?.mapv(|v| (255.0 * v) as u8))
}

/// One normalised slice as ACDC's slicer writes it: resized bilinearly to `shape`, clipped to
/// the range the resize may reach, truncated to uint8.
pub(crate) fn acdc_image_slice(plane: ndarray::ArrayView2<u8>, shape: [usize; 2]) -> Array2<u8> {
    let resized = resize_linear(plane, shape);
    let input = min_max(plane.iter().map(|&v| v as f64));
    let (lo, hi) = clip_range(input, min_max(resized.iter().copied()));
    resized.mapv(|v| v.clamp(lo, hi) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_exactly() {
        assert_eq!(
            parse_name("patient001_frame01_gt.nii.gz"),
            Some(("patient001".into(), "01".into(), true))
        );
        assert_eq!(
            parse_name("patient001_frame12.nii.gz"),
            Some(("patient001".into(), "12".into(), false))
        );
        assert_eq!(parse_name("patient001_4d.nii.gz"), None);
        assert_eq!(parse_name("Info.cfg"), None);
    }

    #[test]
    fn rotation_by_zero_is_the_identity_and_by_180_reverses() {
        let plane = Array2::from_shape_fn((6, 8), |(i, j)| (i * 8 + j) as u8);
        assert_eq!(rotate_nearest(&plane, 0.0), plane);
        let mut reversed = plane.view();
        reversed.invert_axis(ndarray::Axis(0));
        reversed.invert_axis(ndarray::Axis(1));
        assert_eq!(rotate_nearest(&plane, 180.0), reversed.to_owned());
    }
}
