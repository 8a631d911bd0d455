//! Times reading one 512x512x61 uint8 label volume (about 16 MB) as `.npy`, `.nii` and
//! `.nii.gz`, and a float32 image volume of the same shape as `.nii` and `.nii.gz`, through the
//! readers every command uses (`read_label_map`, `read_nifti_f32`): the medians of repeated
//! reads of files in the page cache.
//!
//! Usage: cargo run --release -p volume-io --example nifti_read

use std::time::Instant;

use ndarray::Array3;

fn median_ms(mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("nifti-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shape = (512, 512, 61);
    // Lesion-like labels: mostly background, some blobs (compresses like real label maps).
    let labels = Array3::from_shape_fn(shape, |(x, y, z)| {
        let (dx, dy, dz) = (x as f64 - 250.0, y as f64 - 260.0, (z as f64 - 30.0) * 4.0);
        u8::from(dx * dx + dy * dy + dz * dz < 60.0 * 60.0) + u8::from(x % 97 < 3 && y % 89 < 4)
    });
    let image = Array3::from_shape_fn(shape, |(x, y, z)| ((x * 31 + y * 17 + z * 7) % 251) as f32);
    let npy = dir.join("labels.npy");
    ndarray_npy::write_npy(&npy, &labels).unwrap();
    for ext in ["nii", "nii.gz"] {
        volume_io::write_nifti(
            &dir.join(format!("labels.{ext}")),
            &labels,
            &[0.5, 0.5, 3.0],
        )
        .unwrap();
        volume_io::write_nifti(&dir.join(format!("image.{ext}")), &image, &[0.5, 0.5, 3.0])
            .unwrap();
    }
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len() as f64 / 1e6;
    for name in ["labels.npy", "labels.nii", "labels.nii.gz"] {
        let path = dir.join(name);
        let ms = median_ms(|| {
            std::hint::black_box(volume_io::read_label_map(&path).unwrap());
        });
        println!(
            "read_label_map {name:<14} {:>7.1} MB on disk {ms:>8.1} ms",
            size(name)
        );
    }
    for name in ["image.nii", "image.nii.gz"] {
        let path = dir.join(name);
        let ms = median_ms(|| {
            std::hint::black_box(volume_io::read_nifti_f32(&path).unwrap());
        });
        println!(
            "read_nifti_f32 {name:<14} {:>7.1} MB on disk {ms:>8.1} ms",
            size(name)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
