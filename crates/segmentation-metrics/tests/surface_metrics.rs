//! Surface distances against medpy (`hd`, `hd95`) on the metric cases of the reference data.

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::read_npy;
use segmentation_metrics::surface::{percentile, SurfaceDistances};
use serde_json::Value;

#[test]
fn hausdorff_and_hd95_match_medpy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../distmap/tests/data/distmap");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let mut checked = 0;
    for (name, case) in index["cases"].as_object().unwrap() {
        if case["kind"] != "metrics" {
            continue;
        }
        let load = |role: &str| -> ArrayD<bool> {
            let a: ArrayD<u8> = read_npy(dir.join(case["files"][role].as_str().unwrap())).unwrap();
            a.mapv(|v| v != 0)
        };
        let (pred, gt) = (load("pred"), load("gt"));
        let spacing: Vec<f64> = match &case["voxelspacing"] {
            Value::Null => vec![1.0; pred.ndim()],
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect(),
        };
        let distances = SurfaceDistances::new(pred.view(), gt.view(), &spacing).unwrap();
        let expected = &case["expected"];
        match (&distances, expected["medpy_hd"].as_f64()) {
            (Some(d), Some(hd)) => {
                assert_eq!(d.hausdorff(), hd, "{name} hd");
                assert_eq!(
                    d.hd95_pooled(),
                    expected["medpy_hd95"].as_f64().unwrap(),
                    "{name} hd95"
                );
                assert!(
                    d.hd95_max_directed() >= d.hd95_pooled() - 1e-12
                        || d.hd95_max_directed() <= d.hausdorff()
                );
                checked += 1;
            }
            (None, None) => checked += 1, // medpy raises on an empty mask; we return None
            (got, want) => panic!("{name}: got {got:?}, medpy {want:?}"),
        }
    }
    assert_eq!(checked, 8);
}

#[test]
fn percentile_is_numpys_linear_method() {
    let mut values = vec![3.0, 1.0, 2.0, 10.0];
    assert_eq!(
        percentile(&mut values, 95.0),
        10.0 - (10.0 - 3.0) * (1.0 - 0.8499999999999996)
    );
    assert_eq!(percentile(&mut [5.0], 95.0), 5.0);
}

/// Every surface metric against medpy 0.5 (hd, hd95, pooled assd), medpy 0.4's assd (mean of
/// the directed means) and MONAI (hd95 as the larger directed 95th percentile, pooled assd), on
/// the label-map pairs of `tests/data/surface` (made by `make_surface_metrics.py` there).
#[test]
fn every_surface_metric_matches_medpy_and_monai() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/surface");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut checked = 0;
    for (name, case) in index["cases"].as_object().unwrap() {
        let pred: ArrayD<u8> = read_npy(dir.join(format!("{name}.pred.npy"))).unwrap();
        let gt: ArrayD<u8> = read_npy(dir.join(format!("{name}.gt.npy"))).unwrap();
        let spacing: Vec<f64> = case["spacing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (k, expected) in case["expected"].as_object().unwrap() {
            let k: u8 = k.parse().unwrap();
            let distances = SurfaceDistances::new(
                pred.mapv(|v| v == k).view(),
                gt.mapv(|v| v == k).view(),
                &spacing,
            )
            .unwrap();
            let Some(d) = distances else {
                assert!(
                    expected["medpy_hd"].is_null(),
                    "{name} class {k}: medpy has a value"
                );
                assert!(expected["monai_hd95"].is_null(), "{name} class {k}");
                checked += 1;
                continue;
            };
            let want = |key: &str| expected[key].as_f64().unwrap();
            // medpy computes in float64 as we do: the same bits for hd and hd95, means to
            // rounding; MONAI returns float32 (a few units in its last place).
            assert_eq!(d.hausdorff(), want("medpy_hd"), "{name} {k} hd");
            assert_eq!(d.hd95_pooled(), want("medpy_hd95"), "{name} {k} hd95");
            let close = |got: f64, key: &str, tolerance: f64| {
                let w = want(key);
                assert!(
                    (got - w).abs() <= tolerance * w.abs().max(1.0),
                    "{name} class {k} {key}: {got} vs {w}"
                );
            };
            close(d.assd_pooled(), "medpy_assd", 1e-14);
            close(d.assd_mean_of_directed(), "medpy04_assd", 1e-14);
            close(d.hausdorff(), "monai_hd", 5e-7);
            close(d.hd95_max_directed(), "monai_hd95", 5e-7);
            close(d.assd_pooled(), "monai_assd", 5e-7);
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}
