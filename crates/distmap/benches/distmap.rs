//! Criterion benches of the hot paths: the signed maps of the benchmark workloads (the same
//! shapes as `benches/compare_peers.py`, generated here so the bench needs no files) and the
//! plain EDT, and the surface distances of a mask pair.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use distmap::surface::SurfaceDistances;
use distmap::{distance_maps, edt, MapKind, MapOptions};
use ndarray::{ArrayD, IxDyn};

/// A disk covering `fraction` of a side x side image (class 1).
fn disk(side: usize, fraction: f64) -> ArrayD<u8> {
    let radius = (fraction * (side * side) as f64 / std::f64::consts::PI).sqrt();
    let c = side as f64 * 0.43;
    ArrayD::from_shape_fn(IxDyn(&[side, side]), |ix| {
        let (y, x) = (ix[0] as f64 - c, ix[1] as f64 - c * 1.2);
        u8::from(y * y + x * x <= radius * radius)
    })
}

/// Nested rings of classes 1..K-1 in a side x side image.
fn rings(side: usize, classes: u8) -> ArrayD<u8> {
    ArrayD::from_shape_fn(IxDyn(&[side, side]), |ix| {
        let (y, x) = (
            ix[0] as f64 - side as f64 * 0.5,
            ix[1] as f64 - side as f64 * 0.47,
        );
        let d = (y * y + x * x).sqrt() / side as f64;
        (1..classes)
            .filter(|&k| d <= [0.3, 0.2, 0.1][k as usize - 1])
            .max()
            .unwrap_or(0)
    })
}

/// Ellipsoids in a 256x256x64 volume: a few lesions (K = 2) or nested shells (K = 4).
fn volume(classes: u8) -> ArrayD<u8> {
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

fn signed_maps(c: &mut Criterion) {
    let aniso = [0.97, 0.97, 2.5];
    let workloads: Vec<(&str, ArrayD<u8>, usize, Vec<f64>)> = vec![
        ("2d_256_k2_blob", disk(256, 0.02), 2, vec![1.0, 1.0]),
        ("2d_256_k4_rings", rings(256, 4), 4, vec![1.0, 1.0]),
        ("2d_512_k2_blob", disk(512, 0.02), 2, vec![1.0, 1.0]),
        ("3d_256x256x64_k2_aniso", volume(2), 2, aniso.to_vec()),
        ("3d_256x256x64_k4_aniso", volume(4), 4, aniso.to_vec()),
    ];
    let mut group = c.benchmark_group("signed_maps_f64");
    group.sample_size(10);
    for (name, labels, classes, spacing) in &workloads {
        group.bench_with_input(BenchmarkId::from_parameter(name), labels, |b, labels| {
            b.iter(|| {
                let maps: ArrayD<f64> =
                    distance_maps(labels.view(), *classes, spacing, &MapOptions::default())
                        .unwrap();
                maps
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("hausdorff_maps_f32");
    group.sample_size(10);
    let options = MapOptions {
        kind: MapKind::Hausdorff,
        ..MapOptions::default()
    };
    let (name, labels, classes, spacing) = &workloads[1];
    group.bench_function(*name, |b| {
        b.iter(|| {
            let maps: ArrayD<f32> =
                distance_maps(labels.view(), *classes, spacing, &options).unwrap();
            maps
        })
    });
    group.finish();

    let mask = disk(512, 0.02).mapv(|v| v == 0);
    c.bench_function("edt_512x512", |b| {
        b.iter(|| edt(mask.view(), &[1.0, 1.0]).unwrap())
    });
}

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

criterion_group!(benches, signed_maps, surface_distances);
criterion_main!(benches);
