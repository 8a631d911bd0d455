//! A roofline of the 3-D signed maps on one thread: the memory bandwidth this machine gives one
//! thread (read, write, copy of 512 MiB), the bytes each pass of `distance_maps` must move per
//! voxel, the time those bytes alone would take, and the measured time, so that docs/benchmarks.md
//! can say how far the transform is from the memory floor and what the f64 intermediate (which
//! keeps the maps bit-identical to scipy's) costs against an f32 pipeline such as `edt`'s.
//!
//! Usage: `cargo run --release -p distmap --example roofline` (prints Markdown).

use std::hint::black_box;
use std::time::Instant;

use distmap::{distance_maps, edt, MapOptions};
use ndarray::ArrayD;

#[path = "common/volume.rs"]
mod volume;
use volume::volume;

/// Median seconds of `runs` calls of `f` (after one warm-up call).
fn median_seconds(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// Single-thread bandwidths in GB/s: (read, write, copy counted as read + write).
fn bandwidths() -> (f64, f64, f64) {
    let len = 64 << 20; // 64 Mi f64 = 512 MiB
    let bytes = (len * 8) as f64;
    let mut a = vec![1.0f64; len];
    let mut b = vec![2.0f64; len];
    // Eight independent sums, so that the adds pipeline and vectorise: the loads set the pace.
    let read = median_seconds(5, || {
        let mut lanes = [0.0f64; 8];
        for chunk in a.chunks_exact(8) {
            for (lane, value) in lanes.iter_mut().zip(chunk) {
                *lane += value;
            }
        }
        black_box(lanes);
    });
    let mut value = 0.0;
    let write = median_seconds(5, || {
        value += 1.0;
        a.fill(black_box(value));
    });
    let copy = median_seconds(5, || {
        b.copy_from_slice(black_box(&a));
    });
    black_box(&b);
    (
        bytes / read / 1e9,
        bytes / write / 1e9,
        2.0 * bytes / copy / 1e9,
    )
}

/// Bytes per voxel that K = 2 signed maps in `output_bytes`-byte floats must read and write,
/// with `intermediate_bytes`-byte squared distances: (read, written).
fn k2_bytes_per_voxel(intermediate_bytes: f64, output_bytes: f64) -> (f64, f64) {
    let labels = 1.0;
    // Class presence (labels); first axis (labels -> distances); two envelope passes (labels
    // and distances in, distances out); the fill (distances and labels in, two channels out).
    let read = labels + labels + 2.0 * (labels + intermediate_bytes) + intermediate_bytes + labels;
    let written = intermediate_bytes + 2.0 * intermediate_bytes + 2.0 * output_bytes;
    (read, written)
}

fn main() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    pool.install(|| {
        let (read_bw, write_bw, copy_bw) = bandwidths();
        println!("One thread: read {read_bw:.1} GB/s, write {write_bw:.1} GB/s, copy {copy_bw:.1} GB/s (512 MiB buffers).\n");
        let labels: ArrayD<u8> = volume(2);
        let voxels = labels.len() as f64;
        let spacing = [0.97, 0.97, 2.5];
        let options = MapOptions::default();
        let maps = median_seconds(5, || {
            let maps: ArrayD<f32> = distance_maps(labels.view(), 2, &spacing, &options).unwrap();
            black_box(maps);
        });
        let mask = labels.mapv(|l| l == 1);
        let plain_edt = median_seconds(5, || {
            black_box(edt(mask.view(), &spacing).unwrap());
        });
        println!("| 3-D 256x256x64 K=2, 1 thread | bytes read / voxel | bytes written / voxel | memory floor (ms) | measured (ms) | measured / floor |");
        println!("|---|---|---|---|---|---|");
        for (name, intermediate, measured) in [
            ("ours: f64 squared distances (bit-identical to scipy), f32 maps", 8.0, Some(maps)),
            ("the same passes with f32 squared distances (what edt computes in)", 4.0, None),
        ] {
            let (read, written) = k2_bytes_per_voxel(intermediate, 4.0);
            let floor = voxels * (read / read_bw + written / write_bw) / 1e9;
            let measured_ms = measured.map_or("-".to_string(), |s| format!("{:.1}", s * 1e3));
            let ratio = measured.map_or("-".to_string(), |s| format!("{:.1}x", s / floor));
            println!(
                "| {name} | {read:.0} | {written:.0} | {:.1} | {measured_ms} | {ratio} |",
                floor * 1e3
            );
        }
        println!(
            "\nThe plain EDT of the same volume's class 1 (f64 out, one transform and a square root): {:.1} ms.",
            plain_edt * 1e3
        );
    });
}
