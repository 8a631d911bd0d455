//! Synthetic raw data in the official layouts (ISLES 2018, WMH 2017, ACDC), so that the whole
//! pipeline (`synth` -> `slice` -> `train`) runs here and in CI without the real archives.
//!
//! File names, folder layout, data types, in-plane shapes and spacings follow the official
//! archives as the slicers read them after `unpack`'s clean-up; labels are lesion-like (a few
//! small irregular blobs: ISLES stroke cores, WMH hyperintensities plus some "other pathology"
//! label 2) or cardiac-like (ACDC: left-ventricle cavity 3 inside a myocardium ring 2, a
//! right-ventricle crescent 1); images are noisy tissue intensities in which the structures are
//! brighter or darker. Everything is drawn from one seed and written through a partial folder.

use std::path::{Path, PathBuf};

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::datasets::OfficialDataset;
use crate::staging::Staging;
use crate::{bad, PreprocessError};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Synthesize {
    pub dataset: OfficialDataset,
    pub dest: PathBuf,
    /// Cases (ACDC: patients, two frames each).
    pub cases: usize,
    /// Slices per volume [default: a few per data set, small enough for CI].
    pub slices: Option<usize>,
    pub seed: u64,
}

impl Synthesize {
    /// Writes the raw data set to `dest` (which must not exist).
    pub fn run(&self) -> Result<(), PreprocessError> {
        if self.cases == 0 || self.slices == Some(0) {
            return Err(bad(&self.dest, "asked for 0 cases or 0 slices"));
        }
        let staging = Staging::create(&self.dest)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        match self.dataset {
            OfficialDataset::Isles => {
                isles(&staging, self.cases, self.slices.unwrap_or(4), &mut rng)?
            }
            OfficialDataset::Wmh => wmh(&staging, self.cases, self.slices.unwrap_or(6), &mut rng)?,
            OfficialDataset::Acdc => {
                acdc(&staging, self.cases, self.slices.unwrap_or(5), &mut rng)?
            }
        }
        staging.finish()
    }
}

/// A plain NIfTI folder for `slice nifti` (and `--volumes`): `flair/`, `t1/` and `labels/`, each
/// holding `case_NN.nii.gz` of `side` x `side` x `slices` voxels at 0.9 x 0.9 x 2.5 mm, with one
/// to three lesion-like blobs (class 1) brighter in FLAIR and darker in T1.
#[derive(Debug, Clone)]
pub struct SynthesizeFolder {
    pub dest: PathBuf,
    pub cases: usize,
    pub side: usize,
    pub slices: usize,
    pub seed: u64,
}

impl SynthesizeFolder {
    /// Writes the folder to `dest` (which must not exist).
    pub fn run(&self) -> Result<(), PreprocessError> {
        if self.cases == 0 || self.slices == 0 || self.side < 8 {
            return Err(bad(
                &self.dest,
                "asked for 0 cases, 0 slices or a side below 8",
            ));
        }
        let staging = Staging::create(&self.dest)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let spacing = [0.9f32, 0.9, 2.5];
        let scale = self.side as f64 / 64.0;
        for case in 1..=self.cases {
            let mut gt = Array3::<u8>::zeros((self.side, self.side, self.slices));
            let count = rng.random_range(1..=3);
            blobs(&mut gt, 1, count, (3.0 * scale, 7.0 * scale), &mut rng);
            let name = format!("case_{case:02}.nii.gz");
            let flair = image(&gt, 300.0, &[0.0, 250.0], 35.0, &mut rng).mapv(|v| v as f32);
            write_volume(&staging.dir().join("flair").join(&name), &flair, spacing)?;
            let t1 = image(&gt, 600.0, &[0.0, -200.0], 60.0, &mut rng).mapv(|v| v as i16);
            write_volume(&staging.dir().join("t1").join(&name), &t1, spacing)?;
            write_volume(&staging.dir().join("labels").join(&name), &gt, spacing)?;
        }
        staging.finish()
    }
}

fn write_volume<A: nifti::DataElement + bytemuck::Pod>(
    path: &Path,
    volume: &Array3<A>,
    spacing: [f32; 3],
) -> Result<(), PreprocessError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| volume_io::FileError::new(dir, e))?;
    }
    Ok(volume_io::write_nifti(path, volume, &spacing)?)
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Marks `label` on a few irregular ellipsoidal blobs inside the brain-like ellipse of the
/// volume; radii in voxels.
fn blobs(
    labels: &mut Array3<u8>,
    label: u8,
    count: usize,
    radius: (f64, f64),
    rng: &mut ChaCha8Rng,
) {
    let (nx, ny, nz) = labels.dim();
    for _ in 0..count {
        let centre = [
            nx as f64 * rng.random_range(0.3..0.7),
            ny as f64 * rng.random_range(0.3..0.7),
            nz as f64 * rng.random_range(0.2..0.8),
        ];
        let r = [
            rng.random_range(radius.0..radius.1),
            rng.random_range(radius.0..radius.1),
            rng.random_range(0.6..1.6),
        ];
        let wobble = rng.random_range(0.0..0.35);
        let phase = rng.random_range(0.0..6.3);
        for ((x, y, z), l) in labels.indexed_iter_mut() {
            let d = [
                (x as f64 - centre[0]) / r[0],
                (y as f64 - centre[1]) / r[1],
                (z as f64 - centre[2]) / r[2],
            ];
            let angle = d[1].atan2(d[0]);
            let edge = 1.0 + wobble * (3.0 * angle + phase).sin();
            if d.iter().map(|v| v * v).sum::<f64>() <= edge * edge {
                *l = label;
            }
        }
    }
}

/// Tissue intensities: a bright ellipse (head) on a dark background, `contrast` added on each
/// label, Gaussian noise of `noise`.
fn image(
    labels: &Array3<u8>,
    tissue: f64,
    contrast: &[f64],
    noise: f64,
    rng: &mut ChaCha8Rng,
) -> Array3<f64> {
    let (nx, ny, _) = labels.dim();
    Array3::from_shape_fn(labels.dim(), |(x, y, z)| {
        let (u, v) = (
            (x as f64 / nx as f64 - 0.5) / 0.42,
            (y as f64 / ny as f64 - 0.5) / 0.46,
        );
        let inside = if u * u + v * v <= 1.0 { tissue } else { 0.0 };
        let l = labels[[x, y, z]] as usize;
        (inside + contrast.get(l).copied().unwrap_or(0.0) + noise * normal(rng)).max(0.0)
    })
}

fn isles(
    staging: &Staging,
    cases: usize,
    slices: usize,
    rng: &mut ChaCha8Rng,
) -> Result<(), PreprocessError> {
    // Data types as the archive's: CT int32, CBF/CBV uint16, MTT/Tmax float64, OT uint8.
    let mut file_id = 345_000u32;
    for case in 1..=cases {
        let pixel = rng.random_range(0.8..1.0) as f32;
        let thickness = [5.0f32, 4.0, 8.0][rng.random_range(0..3)];
        let spacing = [pixel, pixel, thickness];
        let mut gt = Array3::<u8>::zeros((256, 256, slices));
        let count = rng.random_range(1..=3);
        blobs(&mut gt, 1, count, (4.0, 14.0), rng);
        let case_dir = PathBuf::from(format!("case_{case}"));
        let mut path_of = |token: &str| {
            file_id += 1;
            let folder = format!("SMIR.Brain.XX.O.{token}.{file_id}");
            staging
                .dir()
                .join(&case_dir)
                .join(&folder)
                .join(format!("{folder}.nii"))
        };
        let ct = image(&gt, 40.0, &[0.0, -6.0], 8.0, rng).mapv(|v| v as i32);
        write_volume(&path_of("CT"), &ct, spacing)?;
        let cbf = image(&gt, 300.0, &[0.0, -200.0], 40.0, rng).mapv(|v| v as u16);
        write_volume(&path_of("CT_CBF"), &cbf, spacing)?;
        let cbv = image(&gt, 180.0, &[0.0, -90.0], 30.0, rng).mapv(|v| v as u16);
        write_volume(&path_of("CT_CBV"), &cbv, spacing)?;
        let mtt = image(&gt, 6.0, &[0.0, 5.0], 1.0, rng);
        write_volume(&path_of("CT_MTT"), &mtt, spacing)?;
        let tmax = image(&gt, 3.0, &[0.0, 8.0], 0.8, rng);
        write_volume(&path_of("CT_Tmax"), &tmax, spacing)?;
        write_volume(&path_of("OT"), &gt, spacing)?;
    }
    Ok(())
}

fn wmh(
    staging: &Staging,
    cases: usize,
    slices: usize,
    rng: &mut ChaCha8Rng,
) -> Result<(), PreprocessError> {
    // The three sites: first id, in-plane shape, spacing (Utrecht, Singapore, Amsterdam GE3T).
    let sites: [(usize, [usize; 2], [f32; 3]); 3] = [
        (0, [240, 240], [0.96, 0.96, 3.0]),
        (50, [232, 256], [1.0, 1.0, 3.0]),
        (100, [132, 256], [1.2, 0.98, 3.0]),
    ];
    for case in 0..cases {
        let (first, shape, spacing) = sites[case % 3];
        let id = first + case / 3;
        let mut gt = Array3::<u8>::zeros((shape[0], shape[1], slices));
        let count = rng.random_range(2..=6);
        blobs(&mut gt, 1, count, (1.5, 6.0), rng);
        if rng.random_bool(0.5) {
            blobs(&mut gt, 2, 1, (2.0, 5.0), rng);
        }
        let dir = staging.dir().join(id.to_string());
        let flair = image(&gt, 300.0, &[0.0, 250.0, 120.0], 35.0, rng).mapv(|v| v as f32);
        write_volume(&dir.join("pre/FLAIR.nii.gz"), &flair, spacing)?;
        let t1 = image(&gt, 600.0, &[0.0, -150.0, -80.0], 60.0, rng).mapv(|v| v as u16);
        write_volume(&dir.join("pre/T1.nii.gz"), &t1, spacing)?;
        write_volume(&dir.join("wmh.nii.gz"), &gt.mapv(f32::from), spacing)?;
    }
    Ok(())
}

/// LV cavity (3) in a myocardium ring (2), RV crescent (1) beside it, shrinking toward the apex;
/// `squeeze` < 1 for the end-systolic frame.
fn heart(
    shape: (usize, usize, usize),
    centre: (f64, f64),
    radius: f64,
    squeeze: f64,
) -> Array3<u8> {
    Array3::from_shape_fn(shape, |(x, y, z)| {
        let taper = 1.0 - 0.5 * z as f64 / shape.2.max(1) as f64;
        let lv = radius * squeeze * taper;
        let wall = lv + 0.45 * radius * taper;
        let d = ((x as f64 - centre.0).powi(2) + (y as f64 - centre.1).powi(2)).sqrt();
        let rv_centre = (centre.0 - 0.2 * radius, centre.1 - 1.5 * radius);
        let d_rv = ((x as f64 - rv_centre.0).powi(2) + (y as f64 - rv_centre.1).powi(2)).sqrt();
        if d <= lv {
            3
        } else if d <= wall {
            2
        } else if d_rv <= 1.4 * radius * squeeze * taper {
            1
        } else {
            0
        }
    })
}

fn acdc(
    staging: &Staging,
    patients: usize,
    slices: usize,
    rng: &mut ChaCha8Rng,
) -> Result<(), PreprocessError> {
    for patient in 1..=patients {
        let shape = [(216, 256), (232, 256), (154, 224), (256, 216)][rng.random_range(0..4)];
        let pixel = rng.random_range(1.3..1.8) as f32;
        let spacing = [
            pixel,
            pixel,
            [5.0f32, 6.5, 7.0, 10.0][rng.random_range(0..4)],
        ];
        let centre = (
            shape.0 as f64 * rng.random_range(0.4..0.6),
            shape.1 as f64 * rng.random_range(0.45..0.6),
        );
        let radius = rng.random_range(12.0..20.0) / pixel as f64;
        let es_frame = rng.random_range(8..16);
        let name = format!("patient{patient:03}");
        let dir = staging.dir().join(&name);
        for (frame, squeeze) in [(1usize, 1.0), (es_frame, 0.65)] {
            let gt = heart((shape.0, shape.1, slices), centre, radius, squeeze);
            let img = image(&gt, 90.0, &[0.0, 120.0, -40.0, 140.0], 18.0, rng).mapv(|v| v as i16);
            let stem = format!("{name}_frame{frame:02}");
            write_volume(&dir.join(format!("{stem}.nii.gz")), &img, spacing)?;
            write_volume(&dir.join(format!("{stem}_gt.nii.gz")), &gt, spacing)?;
        }
        let info = format!(
            "ED: 1\nES: {es_frame}\nGroup: NOR\nHeight: 175.0\nNbFrame: 30\nWeight: 70.0\n"
        );
        std::fs::write(dir.join("Info.cfg"), info)
            .map_err(|e| volume_io::FileError::new(dir.join("Info.cfg"), e))?;
    }
    Ok(())
}
