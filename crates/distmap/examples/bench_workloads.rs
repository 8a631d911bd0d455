//! Times `distance_maps` on label maps saved as .npy by `benches/compare_peers.py`, so that the
//! Python peers and this crate are measured on the same inputs in the same run.
//!
//! Usage: bench_workloads MANIFEST.json THREADS [OUT_DIR]
//! The manifest lists {name, file, classes, spacing}; prints one JSON line per workload with the
//! median milliseconds (f64 and f32 outputs), and, with OUT_DIR, saves the f64 maps there so the
//! script can check them against scipy's.

use distmap::{distance_maps, MapOptions};
use ndarray::ArrayD;
use ndarray_npy::{read_npy, write_npy};

#[path = "common/timing.rs"]
mod timing;
use timing::{median_ms, spacing, Workloads};

fn main() {
    let workloads = Workloads::from_args();
    let (dir, out_dir) = (&workloads.dir, &workloads.out_dir);
    let threads = workloads.pool.current_num_threads();
    for workload in &workloads.items {
        let name = workload["name"].as_str().unwrap();
        let labels: ArrayD<u8> = read_npy(dir.join(workload["file"].as_str().unwrap())).unwrap();
        let classes = workload["classes"].as_u64().unwrap() as usize;
        let spacing = spacing(workload);
        let options = MapOptions::default();
        workloads.pool.install(|| {
            let f64_ms = median_ms(|| {
                let maps: ArrayD<f64> = distance_maps(labels.view(), classes, &spacing, &options).unwrap();
                std::hint::black_box(maps);
            });
            let f32_ms = median_ms(|| {
                let maps: ArrayD<f32> = distance_maps(labels.view(), classes, &spacing, &options).unwrap();
                std::hint::black_box(maps);
            });
            if let Some(out) = out_dir {
                let maps: ArrayD<f64> = distance_maps(labels.view(), classes, &spacing, &options).unwrap();
                write_npy(std::path::Path::new(out).join(format!("{name}.npy")), &maps).unwrap();
            }
            println!(
                "{}",
                serde_json::json!({"name": name, "threads": threads, "f64_ms": f64_ms, "f32_ms": f32_ms})
            );
        });
    }
}
