//! `boundary-loss demo`: the built-in example. It generates a small synthetic, highly unbalanced
//! data set (lesion-like blobs in an anisotropic 3-D volume, cardiac-like 4-class 2-D slices),
//! computes the distance maps of every label map, and prints what it did.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use distmap::MapOptions;
use image::{ExtendedColorType, ImageEncoder};
use ndarray::{Array2, Array3, ArrayD, Axis};
use rand::{rngs::StdRng, Rng, SeedableRng};
use volume_io::{write_atomically, write_npy_atomically};

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Folder for the generated labels and their maps.
    #[arg(long, default_value = "boundary-loss-demo")]
    pub out: PathBuf,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Spacing of the synthetic volume: ISLES/WMH-like, thick slices.
const VOLUME_SPACING: [f64; 3] = [0.97, 0.97, 2.5];

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let labels_dir = args.out.join("labels");
    let maps_dir = args.out.join("distmaps");
    for dir in [&labels_dir, &maps_dir] {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let mut rng = StdRng::seed_from_u64(args.seed);

    let volume = lesion_volume(&mut rng, [192, 192, 48]);
    let volume_path = labels_dir.join("lesions.npy");
    write_npy_atomically(&volume_path, &volume)?;
    let mut jobs: Vec<(PathBuf, ArrayD<u8>, usize, Vec<f64>)> =
        vec![(volume_path, volume.into_dyn(), 2, VOLUME_SPACING.to_vec())];
    for slice in 0..4 {
        let heart = cardiac_slice(&mut rng, 256);
        let path = labels_dir.join(format!("heart_{slice:03}.png"));
        write_gray_png(&path, &heart)?;
        jobs.push((path, heart.into_dyn(), 4, vec![1.25, 1.25]));
    }

    println!(
        "{:<16} {:>14} {:>3} {:>18} {:>8}  per-class value range",
        "label map", "shape", "K", "spacing", "ms"
    );
    for (path, labels, classes, spacing) in &jobs {
        let started = Instant::now();
        let maps: ArrayD<f32> =
            distmap::distance_maps(labels.view(), *classes, spacing, &MapOptions::default())
                .with_context(|| path.display().to_string())?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("map");
        write_npy_atomically(&maps_dir.join(format!("{stem}.npy")), &maps)?;
        let ranges: Vec<String> = maps
            .axis_iter(Axis(0))
            .map(|m| {
                let (lo, hi) = m
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                format!("[{lo:.1}, {hi:.1}]")
            })
            .collect();
        let file = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
        println!(
            "{file:<16} {:>14} {classes:>3} {:>18} {ms:>8.2}  {}",
            format!("{:?}", labels.shape()),
            format!("{spacing:?}"),
            ranges.join(" ")
        );
    }
    let foreground = jobs[0].1.iter().filter(|&&l| l == 1).count() as f64 / jobs[0].1.len() as f64;
    println!(
        "lesion foreground: {:.2}% of voxels; labels in {}, maps in {}",
        foreground * 100.0,
        labels_dir.display(),
        maps_dir.display()
    );
    Ok(())
}

/// Ellipsoidal blobs (class 1) in a background volume, about 1% foreground.
fn lesion_volume(rng: &mut StdRng, shape: [usize; 3]) -> Array3<u8> {
    let mut volume = Array3::<u8>::zeros(shape);
    for _ in 0..6 {
        let center: [f64; 3] =
            std::array::from_fn(|a| rng.random_range(0.15..0.85) * shape[a] as f64);
        let radii = [
            rng.random_range(4.0..12.0),
            rng.random_range(4.0..12.0),
            rng.random_range(1.5..4.0),
        ];
        volume.indexed_iter_mut().for_each(|((x, y, z), v)| {
            let r: f64 = [x, y, z]
                .iter()
                .enumerate()
                .map(|(a, &c)| ((c as f64 - center[a]) / radii[a]).powi(2))
                .sum();
            if r <= 1.0 {
                *v = 1;
            }
        });
    }
    volume
}

/// Right ventricle (1), myocardium ring (2) around the left ventricle (3), jittered.
fn cardiac_slice(rng: &mut StdRng, side: usize) -> Array2<u8> {
    let c = side as f64 / 2.0;
    let (cx, cy) = (
        c + rng.random_range(-10.0..10.0),
        c + rng.random_range(-10.0..10.0),
    );
    let (inner, outer) = (rng.random_range(14.0..22.0), rng.random_range(26.0..32.0));
    Array2::from_shape_fn((side, side), |(y, x)| {
        let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
        let rv = ((x as f64 - cx + outer + 12.0) / 16.0).powi(2) + ((y as f64 - cy) / 28.0).powi(2);
        if d <= inner {
            3
        } else if d <= outer {
            2
        } else if rv <= 1.0 {
            1
        } else {
            0
        }
    })
}

fn write_gray_png(path: &Path, labels: &Array2<u8>) -> anyhow::Result<()> {
    let (h, w) = labels.dim();
    let pixels = labels
        .as_standard_layout()
        .into_owned()
        .into_raw_vec_and_offset()
        .0;
    write_atomically(path, |out| {
        image::codecs::png::PngEncoder::new(out)
            .write_image(&pixels, w as u32, h as u32, ExtendedColorType::L8)
            .map_err(|e| e.to_string())
    })?;
    Ok(())
}
