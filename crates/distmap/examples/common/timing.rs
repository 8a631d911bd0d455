//! Timing shared by the bench example binaries.

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
