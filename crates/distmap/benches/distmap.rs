//! Criterion benches of the hot paths: the signed maps of the benchmark workloads (the same
//! shapes as `benches/compare_peers.py`, generated here so the bench needs no files) and the
//! plain EDT. The surface distances have theirs in `segmentation-metrics`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
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

#[path = "../examples/common/volume.rs"]
mod volume;
use volume::volume;

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

criterion_group!(benches, signed_maps);
criterion_main!(benches);
