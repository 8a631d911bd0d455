//! `boundary-loss synth DATASET` -> `slice DATASET` -> `train` with the shipped recipes: the
//! official layouts, end to end, without the real archives.

use std::path::Path;
use std::process::Command;

fn boundary_loss(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_boundary-loss"))
        .args(args)
        .output()
        .unwrap()
}

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

fn synth_slice_train(dataset: &str, cases: &str, recipe_name: &str, folders: &[&str]) {
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
    ok(boundary_loss(&[
        "train",
        &recipe(recipe_name),
        "--out",
        &p("run"),
        "--dataset",
        &p("sliced"),
        "--network",
        "Dimwit",
        "--epochs",
        "1",
        "--batch-size",
        "2",
    ]));
    assert!(dir.path().join("run/metrics.csv").is_file());
}

#[test]
fn wmh_from_synthetic_raw_data_to_a_training_run() {
    synth_slice_train(
        "wmh",
        "3",
        "wmh_gdl_surface_w.toml",
        &["flair", "t1", "gt", "in_npy", "gt_npy", "3d_distmap"],
    );
}

#[test]
fn isles_from_synthetic_raw_data_to_a_training_run() {
    synth_slice_train(
        "isles",
        "3",
        "isles_gdl_3d_surface_steal.toml",
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
    synth_slice_train("acdc", "3", "acdc_boundary.toml", &["img", "gt"]);
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
