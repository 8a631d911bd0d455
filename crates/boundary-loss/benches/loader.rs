//! Loader benchmark: ISLES-like slices (5x256x256 float32 image, uint8 labels, the signed
//! distance map computed on the fly) read through `data::Loader` in batches of 8. Prints
//! slices/s. Threads: RAYON_NUM_THREADS (the README's table uses 2).
//!
//! Usage: cargo bench --workspace --bench loader -- [--slices N] [--passes P]

use std::sync::Arc;
use std::time::Instant;

use boundary_loss::data::{slice_batches, synthetic, Dataset, Loader};
use ndarray::{Array2, Array3};
use ndarray_npy::write_npy;

fn main() {
    // As the CLI runs (boundary_loss::memory).
    boundary_loss::memory::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (slices, passes) = (option("--slices", 256), option("--passes", 2));
    let dir = tempfile::tempdir().expect("temporary folder");
    let split = dir.path().join("train");
    for folder in ["in_npy", "gt_npy"] {
        std::fs::create_dir_all(split.join(folder)).unwrap();
    }
    for s in 0..slices {
        let image = Array3::<f32>::from_shape_fn((5, 256, 256), |(m, y, x)| {
            ((m * 7 + y * 3 + x + s) % 255) as f32 / 255.0
        });
        let labels = Array2::<u8>::from_shape_fn((256, 256), |(y, x)| {
            let (dy, dx) = (y as f64 - 100.0 - (s % 50) as f64, x as f64 - 120.0);
            u8::from(dy * dy + dx * dx <= 144.0)
        });
        write_npy(split.join(format!("in_npy/case_{s:04}.npy")), &image).unwrap();
        write_npy(split.join(format!("gt_npy/case_{s:04}.npy")), &labels).unwrap();
    }
    let streams = synthetic::streams();
    let dataset = Arc::new(Dataset::open(dir.path(), "train", streams, 2).unwrap());
    // Warm the page cache once, then time full passes.
    Loader::new(
        dataset.clone(),
        slice_batches(dataset.len(), 8, Some(0)),
        2,
        None,
    )
    .for_each(|b| drop(b.unwrap()));
    let started = Instant::now();
    let mut read = 0;
    for epoch in 0..passes as u64 {
        for batch in Loader::new(
            dataset.clone(),
            slice_batches(dataset.len(), 8, Some(epoch)),
            2,
            None,
        ) {
            read += batch.unwrap().indices.len();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"slices\": {read}, \"seconds\": {seconds:.3}, \"slices_per_second\": {:.1}, \"threads\": {}}}",
        read as f64 / seconds,
        rayon::current_num_threads()
    );
}
