//! `boundary-loss synth DATASET` -> `slice DATASET` -> `train` with every shipped recipe of the
//! data set (one debug epoch, Dimwit): the official layouts, end to end, without the archives.

mod common;
use common::boundary_loss;

use std::path::Path;

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn recipe(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../recipes")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// The shipped recipes of a data set, e.g. `recipes/wmh_*.toml`.
fn recipes_of(dataset: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{dataset}_")) && n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

fn synth_slice_train(dataset: &str, cases: &str, folders: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    ok(boundary_loss(&[
        "synth",
        dataset,
        "--dest",
        &p("raw"),
        "--cases",
        cases,
        "--slices",
        "3",
    ]));
    let printed = ok(boundary_loss(&[
        "slice",
        dataset,
        "--source",
        &p("raw"),
        "--dest",
        &p("sliced"),
        "--retain",
        "1",
        "--augment",
        "1",
        "--shape",
        "32",
        "32",
    ]));
    assert!(printed.contains("validation"), "{printed}");
    for split in ["train", "val"] {
        for folder in folders {
            let d = dir.path().join("sliced").join(split).join(folder);
            assert!(
                std::fs::read_dir(&d).unwrap().count() > 0,
                "{}",
                d.display()
            );
        }
        assert!(dir
            .path()
            .join("sliced")
            .join(split)
            .join("spacing.json")
            .is_file());
        assert!(dir
            .path()
            .join("sliced")
            .join(split)
            .join("spacing.pkl")
            .is_file());
    }
    assert!(dir.path().join("sliced/spacing_3d.pkl").is_file());
    // How the data set was made, for inference to repeat it.
    let record = preprocess::PreprocessRecord::read(&dir.path().join("sliced")).unwrap();
    let image_folders: Vec<&str> = folders
        .iter()
        .take_while(|f| **f != "gt")
        .copied()
        .collect();
    assert_eq!(record.source, dataset);
    assert_eq!(record.axis, 2);
    let expected_shape = if dataset == "isles" {
        None
    } else {
        Some([32, 32])
    };
    assert_eq!(record.shape, expected_shape);
    assert_eq!(record.modalities, image_folders);
    assert_eq!(record.classes, if dataset == "acdc" { 4 } else { 2 });
    assert_eq!(record.label_mapping.is_empty(), dataset != "wmh");
    let recipes = recipes_of(dataset);
    assert!(recipes.len() >= 3, "{recipes:?}");
    for name in &recipes {
        let run = dir.path().join("runs").join(name);
        let printed = ok(boundary_loss(&[
            "train",
            &recipe(name),
            "--out",
            run.to_str().unwrap(),
            "--dataset",
            &p("sliced"),
            "--network",
            "Dimwit",
            "--epochs",
            "1",
            "--debug",
        ]));
        assert!(
            printed.contains("val_3d_hd95 per class"),
            "{name}: {printed}"
        );
        let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 2, "{name}: {csv}");
        // HD95 in mm for every patient and class: the resolution regex found every spacing,
        // and empty masks give the volume's diagonal, never NaN.
        let hd95: ndarray::Array3<f32> =
            ndarray_npy::read_npy(run.join("val_3d_hd95.npy")).unwrap();
        assert!(hd95.iter().all(|v| v.is_finite()), "{name}: {hd95:?}");
        assert!(run.join("best_epoch/val").is_dir(), "{name}");
    }
}

#[test]
fn wmh_from_synthetic_raw_data_to_a_training_run() {
    synth_slice_train(
        "wmh",
        "3",
        &["flair", "t1", "gt", "in_npy", "gt_npy", "3d_distmap"],
    );
}

#[test]
fn isles_from_synthetic_raw_data_to_a_training_run() {
    synth_slice_train(
        "isles",
        "3",
        &[
            "ct",
            "cbf",
            "cbv",
            "mtt",
            "tmax",
            "gt",
            "in_npy",
            "gt_npy",
            "3d_distmap",
        ],
    );
}

#[test]
fn acdc_from_synthetic_raw_data_to_a_training_run() {
    synth_slice_train("acdc", "3", &["img", "gt"]);
}

#[test]
fn a_broken_raw_folder_is_named_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    ok(boundary_loss(&[
        "synth",
        "wmh",
        "--dest",
        &p("raw"),
        "--cases",
        "3",
        "--slices",
        "2",
    ]));
    std::fs::remove_file(dir.path().join("raw/50/pre/T1.nii.gz")).unwrap();
    let out = boundary_loss(&[
        "slice",
        "wmh",
        "--source",
        &p("raw"),
        "--dest",
        &p("sliced"),
        "--retain",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("50/pre/T1.nii.gz") && err.contains("missing"),
        "{err}"
    );
    assert!(!dir.path().join("sliced").exists());
    assert!(!dir.path().join(".sliced.partial").exists());
}

#[test]
fn unpack_refuses_an_archive_that_is_not_the_official_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::create_dir(dir.path().join("archives")).unwrap();
    std::fs::write(dir.path().join("archives/acdc.zip"), b"half a download").unwrap();
    let out = boundary_loss(&[
        "unpack",
        "acdc",
        "--archives",
        &p("archives"),
        "--dest",
        &p("acdc"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("archives/acdc.zip") && err.contains("not the official"),
        "{err}"
    );
    assert!(!dir.path().join("acdc").exists());
}
