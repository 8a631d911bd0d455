//! The 3-D benchmark volumes (the shapes of `benches/compare_peers.py`), generated so that the
//! criterion bench and the roofline example need no files.

use ndarray::{ArrayD, IxDyn};

/// Ellipsoids in a 256x256x64 volume: a few lesions (K = 2) or nested shells (K = 4).
pub fn volume(classes: u8) -> ArrayD<u8> {
    let shape = [256usize, 256, 64];
    let lesions = [
        [80.0, 90.0, 20.0],
        [170.0, 150.0, 40.0],
        [120.0, 200.0, 30.0],
    ];
    ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        let p = [ix[0] as f64, ix[1] as f64, ix[2] as f64];
        if classes == 2 {
            let inside = lesions.iter().any(|c| {
                ((p[0] - c[0]) / 18.0).powi(2)
                    + ((p[1] - c[1]) / 15.0).powi(2)
                    + ((p[2] - c[2]) / 5.0).powi(2)
                    <= 1.0
            });
            u8::from(inside)
        } else {
            let d: f64 = (0..3)
                .map(|a| ((p[a] - shape[a] as f64 / 2.0) / shape[a] as f64).powi(2))
                .sum();
            (1..classes)
                .filter(|&k| d <= [0.35f64, 0.25, 0.12][k as usize - 1].powi(2))
                .max()
                .unwrap_or(0)
        }
    })
}
