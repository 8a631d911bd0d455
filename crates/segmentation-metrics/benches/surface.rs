//! Criterion benchmark of the surface distances behind HD95 and ASSD (the `metrics` and
//! `surface-metrics` hot path).

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::{ArrayD, IxDyn};
use segmentation_metrics::surface::SurfaceDistances;

/// HD95 of a predicted / true pair (the `metrics` and `surface-metrics` hot path): a lesion-sized
/// and an organ-sized ellipsoid pair in 256x256x64 at 0.94x0.94x3 mm, as in
/// `benches/compare_surface.py`.
fn surface_distances(c: &mut Criterion) {
    let ellipsoid = |centre: [f64; 3], radii: [f64; 3]| {
        ArrayD::from_shape_fn(IxDyn(&[256, 256, 64]), |ix| {
            (0..3)
                .map(|a| ((ix[a] as f64 - centre[a]) / radii[a]).powi(2))
                .sum::<f64>()
                <= 1.0
        })
    };
    let spacing = [0.94, 0.94, 3.0];
    let pairs = [
        (
            "lesion",
            ellipsoid([123.0, 127.0, 31.0], [20.0, 20.0, 6.0]),
            ellipsoid([120.0, 130.0, 30.0], [22.0, 18.0, 6.0]),
        ),
        (
            "organ",
            ellipsoid([131.0, 126.0, 31.0], [86.0, 74.0, 21.0]),
            ellipsoid([128.0, 128.0, 32.0], [90.0, 70.0, 22.0]),
        ),
    ];
    let mut group = c.benchmark_group("hd95_256x256x64_aniso");
    group.sample_size(10);
    for (name, pred, truth) in &pairs {
        group.bench_function(*name, |b| {
            b.iter(|| {
                SurfaceDistances::new(pred.view(), truth.view(), &spacing)
                    .unwrap()
                    .unwrap()
                    .hd95_pooled()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, surface_distances);
criterion_main!(benches);
