//! Property tests: the separable transforms against a brute-force search over every element,
//! on random small 1-D, 2-D and 3-D inputs with random spacing.

use distmap::{
    distance_maps, distance_maps_from_one_hot, edt, AbsentClass, BorderOffset, MapKind, MapOptions,
    WholeImageClass,
};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

mod common;
use common::brute::{
    brute_edt, brute_nearest, close, coordinates, elements_where, labelled_volume,
};

/// Channel `k` of a `(K, *spatial)` array of `total` elements per channel.
fn channel_of(maps: &ArrayD<f64>, k: usize, total: usize) -> Vec<f64> {
    maps.as_slice().unwrap()[k * total..(k + 1) * total].to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn edt_equals_brute_force((shape, spacing, _classes, labels) in labelled_volume()) {
        let mask: Vec<bool> = labels.iter().map(|&l| l != 0).collect();
        let got = edt(ArrayD::from_shape_vec(IxDyn(&shape), mask.clone()).unwrap().view(), &spacing).unwrap();
        let want = brute_edt(&mask, &shape, &spacing);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            prop_assert!(g.to_bits() == w.to_bits(), "element {i}: got {g}, brute force {w}");
        }
    }

    #[test]
    fn signed_and_hausdorff_maps_equal_brute_force(
        (shape, spacing, classes, labels) in labelled_volume(),
        truncate in any::<bool>(),
    ) {
        let label_array = ArrayD::from_shape_vec(IxDyn(&shape), labels.clone()).unwrap();
        let total = labels.len();
        for kind in [MapKind::Signed, MapKind::Hausdorff] {
            let options = MapOptions { kind, truncate, ..MapOptions::default() };
            let got: ArrayD<f64> = distance_maps(label_array.view(), classes, &spacing, &options).unwrap();
            for k in 0..classes {
                let pos: Vec<bool> = labels.iter().map(|&l| l as usize == k).collect();
                let neg: Vec<bool> = pos.iter().map(|p| !p).collect();
                let present = pos.iter().any(|&p| p);
                let inside = brute_edt(&pos, &shape, &spacing);
                let outside = brute_edt(&neg, &shape, &spacing);
                for i in 0..total {
                    let want = if !present {
                        0.0
                    } else {
                        match kind {
                            MapKind::Signed if pos[i] => 0.0 - (inside[i] - 1.0),
                            MapKind::Signed => outside[i],
                            MapKind::Hausdorff => inside[i],
                        }
                    };
                    let want = if truncate { want.trunc() + 0.0 } else { want };
                    let g = got[[k].iter().chain(&coordinates(i, &shape)).copied().collect::<Vec<_>>().as_slice()];
                    prop_assert!(close(g, want), "{kind:?} class {k} element {i}: got {g}, brute force {want}");
                }
            }
        }
    }

    #[test]
    fn corrected_border_is_the_signed_distance_to_the_inner_border(
        (shape, spacing, classes, labels) in labelled_volume(),
    ) {
        let label_array = ArrayD::from_shape_vec(IxDyn(&shape), labels.clone()).unwrap();
        let options = MapOptions {
            border: BorderOffset::Corrected,
            whole_image: WholeImageClass::Zeros,
            ..MapOptions::default()
        };
        let got: ArrayD<f64> = distance_maps(label_array.view(), classes, &spacing, &options).unwrap();
        for k in 0..classes {
            let pos = |i: usize| labels[i] as usize == k;
            let count = (0..labels.len()).filter(|&i| pos(i)).count();
            let border = elements_where(&shape, |i| {
                pos(i) && (0..shape.len()).any(|axis| {
                    let c = coordinates(i, &shape);
                    let stride: usize = shape[axis + 1..].iter().product();
                    (c[axis] > 0 && !pos(i - stride)) || (c[axis] + 1 < shape[axis] && !pos(i + stride))
                })
            });
            for i in 0..labels.len() {
                let g = got[[k].iter().chain(&coordinates(i, &shape)).copied().collect::<Vec<_>>().as_slice()];
                let want = if count == 0 || count == labels.len() {
                    0.0
                } else {
                    let d = brute_nearest(&shape, &spacing, &border, i).unwrap();
                    if pos(i) { 0.0 - d } else { d }
                };
                prop_assert!(close(g, want), "class {k} element {i}: got {g}, brute force {want}");
            }
            // The defining property: the inner border ring is exactly 0.
            for b in &border {
                let mut index = vec![k];
                index.extend(b.iter().map(|&c| c as usize));
                if count < labels.len() {
                    prop_assert_eq!(got[index.as_slice()], 0.0);
                }
            }
        }
    }

    #[test]
    fn absent_class_diagonal_is_in_mm_and_bounds_every_present_map(
        (shape, spacing, classes, labels) in labelled_volume(),
        kind in prop_oneof![Just(MapKind::Signed), Just(MapKind::Hausdorff)],
        truncate in any::<bool>(),
    ) {
        // One class more than the labels use: at least one class is absent.
        let classes = classes + 1;
        let label_array = ArrayD::from_shape_vec(IxDyn(&shape), labels.clone()).unwrap();
        let original = MapOptions { kind, truncate, ..MapOptions::default() };
        let penalising = MapOptions { absent: AbsentClass::Diagonal, ..original };
        let zeros: ArrayD<f64> = distance_maps(label_array.view(), classes, &spacing, &original).unwrap();
        let got: ArrayD<f64> = distance_maps(label_array.view(), classes, &spacing, &penalising).unwrap();
        // The diagonal in mm, from the shape and spacing alone.
        let diagonal = shape.iter().zip(&spacing).map(|(&n, &s)| (n as f64 * s).powi(2)).sum::<f64>().sqrt();
        let diagonal = if truncate { diagonal.trunc() } else { diagonal };
        let total = labels.len();
        for k in 0..classes {
            let (g, z) = (channel_of(&got, k, total), channel_of(&zeros, k, total));
            let absent = !labels.iter().any(|&l| l as usize == k);
            if absent && kind == MapKind::Signed {
                prop_assert!(g.iter().all(|&v| v == diagonal), "class {k}: {g:?}, diagonal {diagonal}");
                // No present class's map reaches it outside that class: a false positive never
                // costs less on an image without the class.
                for j in (0..classes).filter(|&j| labels.iter().any(|&l| l as usize == j)) {
                    for (i, &v) in channel_of(&zeros, j, total).iter().enumerate() {
                        if labels[i] as usize != j {
                            prop_assert!(v <= diagonal, "class {j} element {i}: {v} > {diagonal}");
                        }
                    }
                }
            } else {
                // Present classes, and every Hausdorff map, are the original's.
                prop_assert_eq!(g, z);
            }
        }
    }

    #[test]
    fn one_hot_input_gives_the_label_map_result(
        (shape, spacing, classes, labels) in labelled_volume(),
        kind in prop_oneof![Just(MapKind::Signed), Just(MapKind::Hausdorff)],
        border in prop_oneof![Just(BorderOffset::Voxel), Just(BorderOffset::Corrected)],
    ) {
        let options = MapOptions { kind, border, ..MapOptions::default() };
        let label_array = ArrayD::from_shape_vec(IxDyn(&shape), labels.clone()).unwrap();
        let mut one_hot_shape = vec![classes];
        one_hot_shape.extend(&shape);
        let one_hot = ArrayD::from_shape_fn(IxDyn(&one_hot_shape), |ix| {
            let i = (0..shape.len()).fold(0, |acc, a| acc * shape[a] + ix[a + 1]);
            u8::from(labels[i] as usize == ix[0])
        });
        let from_labels: ArrayD<f32> = distance_maps(label_array.view(), classes, &spacing, &options).unwrap();
        let from_one_hot: ArrayD<f32> = distance_maps_from_one_hot(one_hot.view(), &spacing, &options).unwrap();
        prop_assert_eq!(from_labels, from_one_hot);
    }
}

#[test]
fn whole_image_class_follows_the_switch() {
    let labels = ArrayD::from_elem(IxDyn(&[3, 4]), 0u8);
    let spacing = [0.97, 2.0];
    let scipy: ArrayD<f64> =
        distance_maps(labels.view(), 2, &spacing, &MapOptions::default()).unwrap();
    let brute = brute_edt(&[true; 12], &[3, 4], &spacing);
    for (i, &d) in brute.iter().enumerate() {
        assert_eq!(scipy[[0, i / 4, i % 4]], 0.0 - (d - 1.0));
        assert_eq!(scipy[[1, i / 4, i % 4]], 0.0);
    }
    let zeros: ArrayD<f64> = distance_maps(
        labels.view(),
        2,
        &spacing,
        &MapOptions {
            whole_image: WholeImageClass::Zeros,
            ..MapOptions::default()
        },
    )
    .unwrap();
    assert!(zeros.iter().all(|&v| v == 0.0));
    let corrected: ArrayD<f64> = distance_maps(
        labels.view(),
        2,
        &spacing,
        &MapOptions {
            border: BorderOffset::Corrected,
            ..MapOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        corrected[[0, 0, 0]],
        0.0,
        "the origin is the border next to the virtual point"
    );
}

#[test]
fn bad_inputs_are_errors() {
    let labels = ArrayD::from_elem(IxDyn(&[3, 4]), 2u8);
    let err = distance_maps::<u8, f64>(labels.view(), 2, &[1.0, 1.0], &MapOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("label 2"), "{err}");
    let err =
        distance_maps::<u8, f64>(labels.view(), 3, &[1.0], &MapOptions::default()).unwrap_err();
    assert!(err.to_string().contains("1 spacing value(s)"), "{err}");
    let err = distance_maps::<u8, f64>(labels.view(), 3, &[1.0, -1.0], &MapOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("positive"), "{err}");
    let negative = ArrayD::from_elem(IxDyn(&[2]), -1i32);
    assert!(distance_maps::<i32, f64>(negative.view(), 3, &[1.0], &MapOptions::default()).is_err());
}

/// Maps computed by many rayon jobs at once (each thread reusing its kept scratch buffer, and a
/// job that waits inside a transform possibly running another job's maps on the same thread)
/// are bit for bit the maps computed one after another; sizes above and below the kept-scratch
/// limit, f32 and f64 outputs, every map kind that uses a scratch buffer.
#[test]
fn maps_computed_in_parallel_jobs_equal_the_sequential_ones() {
    let shapes: Vec<Vec<usize>> = vec![
        vec![40, 56],
        vec![7, 9, 11],
        vec![256, 256],
        vec![96, 96, 120], // above the 8 MB of kept scratch
        vec![3, 200],
        vec![33, 17, 5],
    ];
    let labels: Vec<ArrayD<u8>> = (0..24)
        .map(|i| {
            let shape = &shapes[i % shapes.len()];
            let total: usize = shape.iter().product();
            let classes = 2 + (i % 3) as u64;
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
            let values = (0..total)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    // Mostly class 0, with sparse other classes: runs of every length.
                    let draw = (state >> 33) % 64;
                    if draw < 64 - 2 * classes {
                        0
                    } else {
                        (draw % classes) as u8
                    }
                })
                .collect();
            ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
        })
        .collect();
    let options = [
        MapOptions::default(),
        MapOptions {
            kind: MapKind::Hausdorff,
            ..MapOptions::default()
        },
        MapOptions {
            border: BorderOffset::Corrected,
            ..MapOptions::default()
        },
    ];
    let job = |i: usize| -> (ArrayD<f32>, ArrayD<f64>) {
        let spacing: Vec<f64> = (0..labels[i].ndim()).map(|a| 0.5 + a as f64).collect();
        let options = &options[i % options.len()];
        (
            distance_maps(labels[i].view(), 4, &spacing, options).unwrap(),
            distance_maps(labels[i].view(), 4, &spacing, options).unwrap(),
        )
    };
    let sequential: Vec<_> = (0..labels.len()).map(job).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for _ in 0..2 {
        let parallel: Vec<_> = pool.install(|| {
            use rayon::prelude::*;
            (0..labels.len()).into_par_iter().map(job).collect()
        });
        for (i, ((f32_seq, f64_seq), (f32_par, f64_par))) in
            sequential.iter().zip(&parallel).enumerate()
        {
            let same32 = f32_seq
                .iter()
                .zip(f32_par)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            let same64 = f64_seq
                .iter()
                .zip(f64_par)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same32 && same64,
                "job {i}: parallel maps differ from sequential ones"
            );
        }
    }
}
