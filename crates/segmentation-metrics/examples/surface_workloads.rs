//! Times the surface metrics on mask pairs saved as .npy by `benches/compare_surface.py`, so that
//! medpy, MONAI and this crate are measured on the same inputs in the same run.
//!
//! Usage: surface_workloads MANIFEST.json THREADS
//! The manifest lists {name, pred, gt, spacing}; prints one JSON line per workload with the
//! median milliseconds of HD95 alone (surfaces, both transforms, percentile) and of every metric
//! from one pass, and the values, so that the script can check them against medpy's and MONAI's.

use ndarray::ArrayD;
use ndarray_npy::read_npy;
use segmentation_metrics::surface::SurfaceDistances;
use serde_json::json;

#[path = "../../distmap/examples/common/timing.rs"]
mod timing;
use timing::{median_ms, spacing, Workloads};

fn main() {
    let workloads = Workloads::from_args();
    let (dir, pool) = (&workloads.dir, &workloads.pool);
    let threads = pool.current_num_threads();
    for workload in &workloads.items {
        let load = |key: &str| -> ArrayD<bool> {
            let a: ArrayD<u8> = read_npy(dir.join(workload[key].as_str().unwrap())).unwrap();
            a.mapv(|v| v != 0)
        };
        let (pred, gt) = (load("pred"), load("gt"));
        let spacing = spacing(workload);
        let distances = || {
            SurfaceDistances::new(pred.view(), gt.view(), &spacing)
                .unwrap()
                .unwrap()
        };
        let (hd95_ms, all_ms, d) = pool.install(|| {
            let hd95_ms = median_ms(|| {
                std::hint::black_box(distances().hd95_pooled());
            });
            let all_ms = median_ms(|| {
                let d = distances();
                std::hint::black_box((
                    d.hausdorff(),
                    d.hd95_pooled(),
                    d.hd95_max_directed(),
                    d.assd_pooled(),
                    d.assd_mean_of_directed(),
                ));
            });
            (hd95_ms, all_ms, distances())
        });
        println!(
            "{}",
            json!({
                "name": workload["name"],
                "threads": threads,
                "hd95_ms": hd95_ms,
                "all_ms": all_ms,
                "hd": d.hausdorff(),
                "hd95_medpy": d.hd95_pooled(),
                "hd95_monai": d.hd95_max_directed(),
                "assd_pooled": d.assd_pooled(),
            })
        );
    }
}
