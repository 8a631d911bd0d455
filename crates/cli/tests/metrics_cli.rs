//! `boundary-loss metrics`, `surface-metrics` and `report` as users run them: separate
//! processes on a run folder whose expected arrays medpy, MONAI and scipy computed
//! (tests/data/metrics_run, made by make_metrics_run.py there), on a run trained here, and on
//! bad input.

mod common;
use common::{boundary_loss, failed, ok, prepared, RUN_FILE};

use std::path::{Path, PathBuf};

use ndarray::Array3;
use ndarray_npy::read_npy;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/metrics_run")
}

/// A writable copy of the fixture (data/, run/, expected/).
fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn array(path: &Path) -> Array3<f32> {
    read_npy(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `got` equals `want` within `relative` (0: the same bits).
fn assert_arrays(got: &Array3<f32>, want: &Array3<f32>, relative: f32, what: &str) {
    assert_eq!(got.dim(), want.dim(), "{what}");
    for ((i, &g), &w) in got.indexed_iter().zip(want.iter()) {
        let close = g.to_bits() == w.to_bits() || (g - w).abs() <= relative * w.abs().max(1.0);
        assert!(close, "{what} at {i:?}: {g} vs {w}");
    }
}

fn run_metrics(run: &Path, extra: &[&str]) -> String {
    let mut args = vec!["metrics", run.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(&boundary_loss(&args))
}

#[test]
fn every_metric_matches_medpy_monai_and_scipy() {
    let dir = fixture_copy();
    let (run, expected) = (dir.path().join("run"), dir.path().join("expected"));
    run_metrics(&run, &[]);
    // boundary_mm is asked for by name (it needs the slice spacing table).
    run_metrics(&run, &["--metrics", "boundary_mm"]);
    // medpy and we compute in float64 and store float32: the same bits, except the means of
    // the ASSD and the sums of float maps in mm, summed in another order (the original's
    // boundary sums integers).
    for (name, relative) in [
        ("3d_dsc", 0.0),
        ("3d_hd", 0.0),
        ("3d_hd95", 0.0),
        ("3d_assd", 1e-6),
        ("hd", 0.0),
        ("boundary", 0.0),
        ("boundary_mm", 1e-6),
    ] {
        let file = format!("val_{name}.npy");
        assert_arrays(
            &array(&run.join(&file)),
            &array(&expected.join(&file)),
            relative,
            name,
        );
    }
    let patients = std::fs::read_to_string(run.join("val_3d_patients.txt")).unwrap();
    assert_eq!(patients, "case_1\ncase_2\n");
    let slices = std::fs::read_to_string(run.join("val_slices.txt")).unwrap();
    assert_eq!(slices.lines().count(), 6);

    // The other definitions; MONAI works in float32.
    run_metrics(
        &run,
        &[
            "--metrics",
            "3d_hd95,3d_assd",
            "--hd95",
            "monai",
            "--assd",
            "mean-of-directed",
        ],
    );
    assert_arrays(
        &array(&run.join("val_3d_hd95.npy")),
        &array(&expected.join("val_3d_hd95_monai.npy")),
        1e-6,
        "monai hd95",
    );
    assert_arrays(
        &array(&run.join("val_3d_assd.npy")),
        &array(&expected.join("val_3d_assd_mean_of_directed.npy")),
        1e-6,
        "mean-of-directed assd",
    );
    let records: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("val_metrics.json")).unwrap())
            .unwrap();
    let hd95 = records["3d_hd95"]["definition"].as_str().unwrap();
    assert!(hd95.contains("monai"), "{hd95}");
    assert_eq!(records["3d_hd"]["empty_mask"], "always_diagonal");
    assert_eq!(records["hd"]["units"], "mm");
    assert_eq!(records["boundary"]["units"], "pixels");
    assert_eq!(records["boundary_mm"]["units"], "mm");
}

#[test]
fn epochs_already_computed_are_kept_unless_forced() {
    let dir = fixture_copy();
    let run = dir.path().join("run");
    let later = dir.path().join("iter001");
    std::fs::rename(run.join("iter001"), &later).unwrap();
    let first = run_metrics(&run, &["--metrics", "3d_hd95,hd"]);
    assert!(
        first.contains("[1, 2, 3] (0 epochs kept, 1 computed"),
        "{first}"
    );
    std::fs::rename(&later, run.join("iter001")).unwrap();
    let second = run_metrics(&run, &["--metrics", "3d_hd95,hd"]);
    assert!(
        second.contains("[2, 2, 3] (1 epochs kept, 1 computed"),
        "{second}"
    );
    assert_arrays(
        &array(&run.join("val_3d_hd95.npy")),
        &array(&dir.path().join("expected/val_3d_hd95.npy")),
        0.0,
        "incremental hd95",
    );
    let forced = run_metrics(&run, &["--metrics", "3d_hd95", "--force"]);
    assert!(forced.contains("(0 epochs kept, 2 computed"), "{forced}");
    // Another definition is not the same array: computed again.
    let monai = run_metrics(&run, &["--metrics", "3d_hd95", "--hd95", "monai"]);
    assert!(monai.contains("(0 epochs kept, 2 computed"), "{monai}");
}

#[test]
fn metrics_of_a_trained_run_equal_what_training_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path(), RUN_FILE, 1, 2);
    let run = dir.path().join("run");
    ok(&boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--epochs",
        "2",
    ]));
    let trained: Vec<Array3<f32>> = ["val_3d_dsc.npy", "val_3d_hd95.npy"]
        .iter()
        .map(|f| array(&run.join(f)))
        .collect();
    let kept = run_metrics(&run, &["--metrics", "3d_dsc,3d_hd95"]);
    assert!(kept.contains("(2 epochs kept, 0 computed"), "{kept}");
    run_metrics(&run, &["--metrics", "3d_dsc,3d_hd95", "--force"]);
    for (file, before) in ["val_3d_dsc.npy", "val_3d_hd95.npy"].iter().zip(&trained) {
        assert_arrays(&array(&run.join(file)), before, 0.0, file);
    }
    // Another HD95 in the array training extends: resuming is refused until it is restored.
    run_metrics(&run, &["--metrics", "3d_hd95", "--hd95", "monai"]);
    let e = failed(&boundary_loss(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
    ]));
    assert!(
        e.contains("val_3d_hd95.npy") && e.contains("--force"),
        "{e}"
    );
    run_metrics(&run, &["--metrics", "3d_hd95", "--force"]);
    ok(&boundary_loss(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
    ]));
    assert_arrays(
        &array(&run.join("val_3d_hd95.npy")),
        &trained[1],
        0.0,
        "restored",
    );
}

#[test]
fn bad_run_folders_are_clear_errors_and_write_nothing() {
    let dir = fixture_copy();
    let run = dir.path().join("run");

    let e = failed(&boundary_loss(&["metrics", dir.path().to_str().unwrap()]));
    assert!(
        e.contains("run.toml") && e.contains("not a run folder"),
        "{e}"
    );

    // A missing prediction: named, and no array written.
    let missing = run.join("iter001/val/case_2_1.png");
    std::fs::remove_file(&missing).unwrap();
    let e = failed(&boundary_loss(&["metrics", run.to_str().unwrap()]));
    assert!(
        e.contains(missing.to_str().unwrap()) && e.contains("missing"),
        "{e}"
    );
    let arrays: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".npy"))
        .collect();
    assert!(arrays.is_empty(), "{arrays:?}");
    std::fs::copy(run.join("iter000/val/case_2_1.png"), &missing).unwrap();

    // A label that is not a class.
    let image = image::GrayImage::from_pixel(14, 12, image::Luma([7u8]));
    let bad_label = run.join("iter000/val/case_1_2.png");
    let saved = std::fs::read(&bad_label).unwrap();
    image.save(&bad_label).unwrap();
    let e = failed(&boundary_loss(&["metrics", run.to_str().unwrap()]));
    assert!(e.contains("case_1_2.png") && e.contains("label 7"), "{e}");
    std::fs::write(&bad_label, saved).unwrap();

    // A patient without a spacing.
    let spacing = dir.path().join("data/spacing_3d.json");
    std::fs::write(&spacing, r#"{"case_1": [0.8, 0.9, 3.0]}"#).unwrap();
    let e = failed(&boundary_loss(&["metrics", run.to_str().unwrap()]));
    assert!(e.contains("spacing_3d.json") && e.contains("case_2"), "{e}");
    // Per-slice metrics need no 3-D spacing.
    run_metrics(&run, &["--metrics", "hd,3d_dsc"]);

    // A flag value that is not a metric: clap's usage error (exit 2) lists the metrics.
    let out = boundary_loss(&["metrics", run.to_str().unwrap(), "--metrics", "3d_hd96"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(e.contains("unknown metric '3d_hd96' (one of 3d_dsc"), "{e}");
}

fn surface_case(name: &str) -> (PathBuf, PathBuf, Value) {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../segmentation-metrics/tests/data/surface");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    (
        dir.join(format!("{name}.pred.npy")),
        dir.join(format!("{name}.gt.npy")),
        index["cases"][name].clone(),
    )
}

#[test]
fn surface_metrics_of_a_pair_match_medpy_and_monai() {
    for name in ["3d_three_classes_aniso", "2d_edge_aniso", "2d_empty_masks"] {
        let (pred, gt, case) = surface_case(name);
        let spacing: Vec<String> = case["spacing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        let classes = case["classes"].to_string();
        let out = ok(&boundary_loss(&[
            "surface-metrics",
            "--pred",
            pred.to_str().unwrap(),
            "--gt",
            gt.to_str().unwrap(),
            "--spacing",
            &spacing.join(","),
            "--classes",
            &classes,
        ]));
        let json: Value = serde_json::from_str(&out).unwrap();
        let shape: Vec<f64> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let diagonal = shape
            .iter()
            .zip(case["spacing"].as_array().unwrap())
            .map(|(n, s)| (n * s.as_f64().unwrap()).powi(2))
            .sum::<f64>()
            .sqrt();
        for (k, want) in case["expected"].as_object().unwrap() {
            let got = &json["classes"][k];
            let value = |key: &str| got[key].as_f64().unwrap();
            if want["medpy_hd"].is_null() {
                // One mask empty: the volume's diagonal, and which one says so.
                assert!(got["empty"].is_string(), "{name} {k}: {got}");
                assert_eq!(value("hd95_medpy"), diagonal, "{name} {k}");
                continue;
            }
            assert!(got["empty"].is_null());
            assert_eq!(
                value("hd"),
                want["medpy_hd"].as_f64().unwrap(),
                "{name} {k}"
            );
            assert_eq!(value("hd95_medpy"), want["medpy_hd95"].as_f64().unwrap());
            let close = |got: f64, want: &Value, tolerance: f64| {
                let want = want.as_f64().unwrap();
                assert!(
                    (got - want).abs() <= tolerance * want.abs().max(1.0),
                    "{name} {k}: {got} vs {want}"
                );
            };
            close(value("hd95_monai"), &want["monai_hd95"], 5e-7);
            close(value("assd_pooled"), &want["medpy_assd"], 1e-14);
            close(value("assd_mean_of_directed"), &want["medpy04_assd"], 1e-14);
            // medpy's dc has no smoothing term.
            close(value("dice"), &want["medpy_dc"], 1e-8);
        }
    }
}

#[test]
fn surface_metrics_refuses_bad_pairs() {
    let (pred, gt, _) = surface_case("3d_points");
    let (other, _, _) = surface_case("2d_edge_aniso");
    let e = failed(&boundary_loss(&[
        "surface-metrics",
        "--pred",
        other.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
    ]));
    assert!(
        e.contains("shape") && e.contains("2d_edge_aniso.pred.npy"),
        "{e}"
    );
    let e = failed(&boundary_loss(&[
        "surface-metrics",
        "--pred",
        pred.to_str().unwrap(),
        "--gt",
        gt.to_str().unwrap(),
        "--spacing",
        "1,2",
    ]));
    assert!(
        e.contains("2 spacing value(s)") && e.contains("3d_points.gt.npy"),
        "{e}"
    );
    let (three, three_gt, _) = surface_case("3d_three_classes_aniso");
    let e = failed(&boundary_loss(&[
        "surface-metrics",
        "--pred",
        three.to_str().unwrap(),
        "--gt",
        three_gt.to_str().unwrap(),
        "--classes",
        "2",
    ]));
    assert!(e.contains("not below --classes 2"), "{e}");
}

#[test]
fn report_picks_the_best_epoch_and_averages_over_patients() {
    let dir = fixture_copy();
    let run = dir.path().join("run");
    run_metrics(&run, &[]);
    let json = ok(&boundary_loss(&[
        "report",
        run.to_str().unwrap(),
        "--metrics",
        "3d_dsc,val_3d_hd95",
        "--json",
    ]));
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["classes"], serde_json::json!([1, 2]));
    // By hand from the expected arrays: the best epoch by 3-D Dice over classes 1 and 2.
    let dsc = array(&dir.path().join("expected/val_3d_dsc.npy"));
    let hd95 = array(&dir.path().join("expected/val_3d_hd95.npy"));
    let mean_at = |a: &Array3<f32>, e: usize| -> (f64, f64) {
        let v: Vec<f64> = (0..2)
            .flat_map(|p| [1, 2].map(|k| a[[e, p, k]] as f64))
            .collect();
        let m = v.iter().sum::<f64>() / 4.0;
        let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4.0).sqrt();
        (m, s)
    };
    let best = if mean_at(&dsc, 1).0 > mean_at(&dsc, 0).0 {
        1
    } else {
        0
    };
    let r = &report["runs"][0];
    assert_eq!(r["epoch"], best);
    for (i, a) in [&dsc, &hd95].into_iter().enumerate() {
        let (m, s) = mean_at(a, best);
        let got = &r["metrics"][i];
        assert!((got["mean"].as_f64().unwrap() - m).abs() < 1e-9, "{got}");
        assert!((got["std"].as_f64().unwrap() - s).abs() < 1e-9, "{got}");
    }
    // The original's text, and Markdown.
    let text = ok(&boundary_loss(&[
        "report",
        run.to_str().unwrap(),
        "--metrics",
        "3d_dsc,3d_hd95",
        "--precision",
        "3",
        "--per-class",
    ]));
    let (m, s) = mean_at(&dsc, best);
    let line = format!("\trun: {m:.3} ({s:.3}) at epoch {best}");
    assert!(
        text.starts_with("Reporting on 1 folders.\nval_3d_dsc (classes [1, 2])\n"),
        "{text}"
    );
    assert!(text.contains(&line), "{text}\n{line}");
    assert!(text.contains("\t\t 1="), "{text}");
    let markdown = ok(&boundary_loss(&[
        "report",
        run.to_str().unwrap(),
        "--metrics",
        "3d_dsc,3d_hd95",
        "--markdown",
    ]));
    assert!(
        markdown.starts_with("| run | epoch (val_3d_dsc max) | val_3d_dsc | val_3d_hd95 |\n|---|---|---|---|\n| run | "),
        "{markdown}"
    );
    // A metric not computed yet names its file.
    std::fs::remove_file(run.join("val_3d_assd.npy")).unwrap();
    let e = failed(&boundary_loss(&[
        "report",
        run.to_str().unwrap(),
        "--metrics",
        "3d_dsc,3d_assd",
    ]));
    assert!(
        e.contains("val_3d_assd.npy") && e.contains("missing"),
        "{e}"
    );
}
