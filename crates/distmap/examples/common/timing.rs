//! Timing shared by the bench example binaries.
// Each example includes this file and uses a part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Median milliseconds of `run` after one warm-up call: at least 5 runs, more within 2 s (at
/// most 200).
pub fn median_ms(mut run: impl FnMut()) -> f64 {
    run(); // warm-up: page faults, thread start
    let mut times = Vec::new();
    let budget = Instant::now();
    while times.len() < 5 || (budget.elapsed() < Duration::from_secs(2) && times.len() < 200) {
        let started = Instant::now();
        run();
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The arguments of a workload binary, `MANIFEST.json THREADS [OUT_DIR]`: the manifest's
/// workloads, the folder their files are in, a pool of THREADS threads, and OUT_DIR.
pub struct Workloads {
    pub items: Vec<serde_json::Value>,
    pub dir: std::path::PathBuf,
    pub pool: rayon::ThreadPool,
    pub out_dir: Option<String>,
}

impl Workloads {
    pub fn from_args() -> Self {
        let args: Vec<String> = std::env::args().collect();
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&args[1]).expect("manifest"))
                .expect("json");
        let threads: usize = args[2].parse().expect("threads");
        Workloads {
            items: manifest.as_array().expect("a list of workloads").clone(),
            dir: std::path::Path::new(&args[1])
                .parent()
                .unwrap()
                .to_path_buf(),
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap(),
            out_dir: args.get(3).cloned(),
        }
    }
}

/// A workload's `spacing` list.
pub fn spacing(workload: &serde_json::Value) -> Vec<f64> {
    workload["spacing"]
        .as_array()
        .expect("spacing")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}
