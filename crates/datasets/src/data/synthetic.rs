//! A small, highly unbalanced synthetic data set in the original layout: lesion-like ellipsoid
//! blobs (about 1% of the pixels) in per-patient volumes, cut into slices, with noisy
//! multi-modal images in which lesions are brighter in some modalities and darker in others.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use volume_io::{write_npy_atomically, write_spacing_json, FileError};

use super::{Stream, StreamKind};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SyntheticSpec {
    pub train_patients: usize,
    pub val_patients: usize,
    pub slices_per_patient: usize,
    pub side: usize,
    pub modalities: usize,
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            train_patients: 8,
            val_patients: 3,
            slices_per_patient: 12,
            side: 64,
            modalities: 2,
            seed: 0,
        }
    }
}

/// Slice thickness (mm) of the synthetic volumes, written to `spacing_3d.json`.
pub const SLICE_THICKNESS: f64 = 2.5;

/// The streams of a generated data set (and of the original's ISLES/WMH layout): the image,
/// the one-hot target, and the signed distance map computed on the fly from the same labels.
pub fn streams() -> Vec<Stream> {
    vec![
        Stream::new("in_npy", StreamKind::ImageNpy),
        Stream::new("gt_npy", StreamKind::OneHot),
        Stream::new("gt_npy", StreamKind::DistanceMap),
    ]
}

/// The slice-name regex that groups the generated slices into patients.
pub const PATIENT_REGEX: &str = r"(case_\d+_\d+)_\d+";

/// Writes `root/{train,val}/{in_npy,gt_npy}/case_PP_0_SSSS.npy`, `spacing.json` per split
/// (`{slice: [spacing per axis]}`) and `root/spacing_3d.json` (`{patient: [axis 0, axis 1, slice
/// thickness]}`, the order of the original's `spacing_3d.pkl`).
/// Returns the fraction of foreground pixels.
pub fn generate(root: &Path, spec: &SyntheticSpec) -> Result<f64, FileError> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let noise = Normal::new(0.0f32, 0.08).expect("valid normal");
    let (mut foreground, mut total) = (0usize, 0usize);
    let mut spacing_3d = BTreeMap::new();
    for (split, patients, first) in [
        ("train", spec.train_patients, 0),
        ("val", spec.val_patients, spec.train_patients),
    ] {
        let dir = root.join(split);
        for folder in ["in_npy", "gt_npy"] {
            std::fs::create_dir_all(dir.join(folder))
                .map_err(|e| FileError::new(dir.join(folder), e))?;
        }
        let mut spacing = BTreeMap::new();
        for patient in first..first + patients {
            let labels = lesions(&mut rng, [spec.slices_per_patient, spec.side, spec.side]);
            let contrast: Vec<f32> = (0..spec.modalities)
                .map(|m| if m % 2 == 0 { 0.25 } else { -0.2 })
                .collect();
            let pixel_spacing: [f64; 2] = [rng.random_range(0.8..1.2), rng.random_range(0.8..1.2)];
            spacing_3d.insert(
                format!("case_{patient:02}_0"),
                vec![pixel_spacing[0], pixel_spacing[1], SLICE_THICKNESS],
            );
            for s in 0..spec.slices_per_patient {
                let name = format!("case_{patient:02}_0_{s:04}");
                let slice = labels.index_axis(ndarray::Axis(0), s).to_owned();
                foreground += slice.iter().filter(|&&l| l == 1).count();
                total += slice.len();
                let image = ndarray::Array3::from_shape_fn(
                    (spec.modalities, spec.side, spec.side),
                    |(m, y, x)| {
                        let base = 0.45 + 0.1 * ((x + y) as f32 / (2 * spec.side) as f32);
                        let value =
                            base + contrast[m] * f32::from(slice[[y, x]]) + noise.sample(&mut rng);
                        value.clamp(0.0, 1.0)
                    },
                );
                write_npy_atomically(&dir.join("in_npy").join(format!("{name}.npy")), &image)?;
                write_npy_atomically(&dir.join("gt_npy").join(format!("{name}.npy")), &slice)?;
                spacing.insert(name, pixel_spacing.to_vec());
            }
        }
        write_spacing_json(&dir.join("spacing.json"), &spacing)?;
    }
    write_spacing_json(&root.join("spacing_3d.json"), &spacing_3d)?;
    Ok(foreground as f64 / total.max(1) as f64)
}

/// One to three ellipsoid lesions (class 1) per volume.
fn lesions(rng: &mut ChaCha8Rng, shape: [usize; 3]) -> Array3<u8> {
    let mut volume = Array3::<u8>::zeros(shape);
    for _ in 0..rng.random_range(1..=3) {
        let centre: [f64; 3] =
            std::array::from_fn(|a| rng.random_range(0.25..0.75) * shape[a] as f64);
        let radii = [
            rng.random_range(2.0..4.0),
            rng.random_range(3.5..6.5) * shape[1] as f64 / 64.0,
            rng.random_range(3.5..6.5) * shape[2] as f64 / 64.0,
        ];
        volume.indexed_iter_mut().for_each(|((z, y, x), v)| {
            let r: f64 = [z, y, x]
                .iter()
                .enumerate()
                .map(|(a, &c)| ((c as f64 - centre[a]) / radii[a]).powi(2))
                .sum();
            if r <= 1.0 {
                *v = 1;
            }
        });
    }
    volume
}
