//! Every `one_hot2dist` case of the scipy-computed reference data (tests/data/distmap, generated
//! by its gen.py with the original's functions), compared bit for bit.

use std::path::{Path, PathBuf};

use distmap::{distance_maps, distance_maps_from_one_hot, MapKind, MapOptions};
use ndarray::{ArrayD, Axis};
use ndarray_npy::read_npy;
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/distmap")
}

struct Case {
    name: String,
    seg: ArrayD<u8>,
    spacing: Vec<f64>,
    files: serde_json::Map<String, Value>,
}

fn cases() -> Vec<Case> {
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir().join("index.json")).unwrap())
            .unwrap();
    let mut out = Vec::new();
    for (name, case) in index["cases"].as_object().unwrap() {
        if case["kind"] != "one_hot2dist" {
            continue;
        }
        let files = case["files"].as_object().unwrap().clone();
        let seg: ArrayD<u8> = read_npy(data_dir().join(files["seg"].as_str().unwrap())).unwrap();
        let rank = seg.ndim() - 1;
        let spacing = match &case["resolution"] {
            Value::Null => vec![1.0; rank],
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect(),
        };
        out.push(Case {
            name: name.clone(),
            seg,
            spacing,
            files,
        });
    }
    assert_eq!(out.len(), 23, "all reference cases are found");
    out
}

fn expected<T: ndarray_npy::ReadableElement>(case: &Case, role: &str) -> Option<ArrayD<T>> {
    let file = case.files.get(role)?.as_str().unwrap();
    Some(read_npy(data_dir().join(file)).unwrap())
}

/// The class map of a one-hot array (every reference input is one-hot).
fn labels_of(seg: &ArrayD<u8>) -> ArrayD<u8> {
    let mut labels = ArrayD::<u8>::zeros(seg.index_axis(Axis(0), 0).raw_dim());
    for (k, channel) in seg.axis_iter(Axis(0)).enumerate() {
        labels.zip_mut_with(&channel, |l, &c| {
            if c != 0 {
                *l = k as u8
            }
        });
    }
    labels
}

fn assert_bits_equal(case: &str, what: &str, got: &ArrayD<f64>, want: &ArrayD<f64>) {
    assert_eq!(got.shape(), want.shape(), "{case} {what}: shape");
    let mismatches: Vec<_> = got
        .iter()
        .zip(want.iter())
        .enumerate()
        .filter(|(_, (g, w))| g.to_bits() != w.to_bits())
        .take(5)
        .collect();
    assert!(
        mismatches.is_empty(),
        "{case} {what}: first mismatches (flat index, (got, want)): {mismatches:?}"
    );
}

#[test]
fn signed_maps_match_scipy_bit_for_bit() {
    for case in cases() {
        let want: ArrayD<f64> = expected(&case, "dist").unwrap();
        let k = case.seg.shape()[0];
        let options = MapOptions::default();
        let from_labels: ArrayD<f64> =
            distance_maps(labels_of(&case.seg).view(), k, &case.spacing, &options).unwrap();
        assert_bits_equal(&case.name, "dist (labels)", &from_labels, &want);
        let from_one_hot: ArrayD<f64> =
            distance_maps_from_one_hot(case.seg.view(), &case.spacing, &options).unwrap();
        assert_bits_equal(&case.name, "dist (one-hot)", &from_one_hot, &want);
    }
}

#[test]
fn hausdorff_maps_match_scipy_bit_for_bit() {
    let mut seen = 0;
    for case in cases() {
        let Some(want) = expected::<f64>(&case, "hd_dist") else {
            continue;
        };
        seen += 1;
        let k = case.seg.shape()[0];
        let options = MapOptions {
            kind: MapKind::Hausdorff,
            ..MapOptions::default()
        };
        let from_labels: ArrayD<f64> =
            distance_maps(labels_of(&case.seg).view(), k, &case.spacing, &options).unwrap();
        assert_bits_equal(&case.name, "hd_dist (labels)", &from_labels, &want);
        let from_one_hot: ArrayD<f64> =
            distance_maps_from_one_hot(case.seg.view(), &case.spacing, &options).unwrap();
        assert_bits_equal(&case.name, "hd_dist (one-hot)", &from_one_hot, &want);
    }
    assert!(seen >= 15);
}

#[test]
fn truncated_maps_match_the_original_int32_loader() {
    let mut seen = 0;
    for case in cases() {
        let Some(want) = expected::<i32>(&case, "dist_trunc_int32") else {
            continue;
        };
        seen += 1;
        let options = MapOptions {
            truncate: true,
            ..MapOptions::default()
        };
        let k = case.seg.shape()[0];
        let got: ArrayD<f32> =
            distance_maps(labels_of(&case.seg).view(), k, &case.spacing, &options).unwrap();
        let want = want.mapv(|v| v as f64);
        assert_bits_equal(
            &case.name,
            "dist_trunc_int32",
            &got.mapv(|v| v as f64),
            &want,
        );
    }
    assert_eq!(seen, 4);
}

#[test]
fn f32_maps_are_the_f64_maps_rounded_once() {
    let mut seen = 0;
    for case in cases() {
        let Some(want) = expected::<f32>(&case, "dist_f32") else {
            continue;
        };
        seen += 1;
        let k = case.seg.shape()[0];
        let got: ArrayD<f32> = distance_maps(
            labels_of(&case.seg).view(),
            k,
            &case.spacing,
            &MapOptions::default(),
        )
        .unwrap();
        assert_eq!(got.shape(), want.shape());
        assert!(
            got.iter()
                .zip(want.iter())
                .all(|(g, w)| g.to_bits() == w.to_bits()),
            "{}",
            case.name
        );
    }
    assert_eq!(seen, 1);
}
