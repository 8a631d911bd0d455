//! Every way a raw folder can be wrong gives an error naming the file and the problem, and no
//! output folder (neither the destination nor its partial folder).

use std::path::{Path, PathBuf};

use ndarray::Array3;
use preprocess::{OfficialDataset, PreprocessError, SliceDataset, Synthesize};

fn synth(dataset: OfficialDataset, dir: &Path, cases: usize) -> PathBuf {
    let raw = dir.join("raw");
    Synthesize {
        dataset,
        dest: raw.clone(),
        cases,
        slices: Some(2),
        seed: 3,
    }
    .run()
    .unwrap();
    raw
}

fn slice(dataset: OfficialDataset, raw: &Path, retain: usize) -> Result<(), PreprocessError> {
    let dest = raw.with_file_name("sliced");
    let existed = dest.exists();
    let result = SliceDataset {
        dataset,
        source: raw.to_path_buf(),
        dest: dest.clone(),
        retain,
        seed: 0,
        fold: 0,
        shape: [64, 64],
        augment: 0,
        discard_negatives: false,
    }
    .run(&indicatif::ProgressBar::hidden());
    if result.is_err() {
        assert_eq!(
            dest.exists(),
            existed,
            "a failed run left {}",
            dest.display()
        );
        assert!(!raw.with_file_name(".sliced.partial").exists());
    }
    result.map(|_| ())
}

fn write_f32(path: &Path, volume: &Array3<f32>) {
    volume_io::write_nifti(path, volume, &[1.0, 1.0, 1.0]).unwrap();
}

fn expect_error(result: Result<(), PreprocessError>, path_part: &str, reason_part: &str) {
    let err = result.expect_err("should fail").to_string();
    assert!(
        err.contains(path_part) && err.contains(reason_part),
        "expected '{path_part}' and '{reason_part}' in: {err}"
    );
}

#[test]
fn wmh_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synth(OfficialDataset::Wmh, dir.path(), 3);
    // Label 3 does not exist in WMH.
    write_f32(
        &raw.join("0/wmh.nii.gz"),
        &Array3::from_elem((240, 240, 2), 3.0),
    );
    expect_error(
        slice(OfficialDataset::Wmh, &raw, 1),
        "0/wmh.nii.gz",
        "label 3",
    );
    // A constant image cannot be min-max normalised.
    write_f32(&raw.join("0/wmh.nii.gz"), &Array3::zeros((240, 240, 2)));
    write_f32(
        &raw.join("0/pre/FLAIR.nii.gz"),
        &Array3::from_elem((240, 240, 2), 7.0),
    );
    expect_error(
        slice(OfficialDataset::Wmh, &raw, 1),
        "0/pre/FLAIR.nii.gz",
        "constant",
    );
    // Shapes must agree within a case.
    write_f32(
        &raw.join("0/pre/FLAIR.nii.gz"),
        &Array3::zeros((240, 232, 2)),
    );
    expect_error(
        slice(OfficialDataset::Wmh, &raw, 1),
        "0/pre/T1.nii.gz",
        "differs",
    );
    // Not a NIfTI file at all.
    std::fs::write(raw.join("0/pre/FLAIR.nii.gz"), b"not gzip").unwrap();
    expect_error(
        slice(OfficialDataset::Wmh, &raw, 1),
        "0/pre/FLAIR.nii.gz",
        "NIfTI",
    );
}

#[test]
fn split_and_destination_errors() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synth(OfficialDataset::Wmh, dir.path(), 3);
    expect_error(slice(OfficialDataset::Wmh, &raw, 3), "raw", "cannot keep 3");
    std::fs::create_dir(dir.path().join("sliced")).unwrap();
    let err = slice(OfficialDataset::Wmh, &raw, 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sliced") && err.contains("already exists"),
        "{err}"
    );
    expect_error(
        slice(OfficialDataset::Isles, &dir.path().join("nowhere"), 1),
        "nowhere",
        "not a folder",
    );
    expect_error(
        slice(OfficialDataset::Acdc, &raw, 1),
        "raw",
        "no ACDC volume",
    );
}

#[test]
fn isles_errors_name_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synth(OfficialDataset::Isles, dir.path(), 3);
    let case = raw.join("case_2");
    let cbv = std::fs::read_dir(&case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_str().unwrap().contains(".O.CT_CBV."))
        .unwrap();
    std::fs::remove_dir_all(&cbv).unwrap();
    expect_error(
        slice(OfficialDataset::Isles, &raw, 1),
        "case_2",
        "no CT_CBV volume",
    );
}

#[test]
fn acdc_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synth(OfficialDataset::Acdc, dir.path(), 3);
    std::fs::remove_file(raw.join("patient002/patient002_frame01_gt.nii.gz")).unwrap();
    expect_error(
        slice(OfficialDataset::Acdc, &raw, 1),
        "patient002_frame01.nii.gz",
        "no ground truth",
    );
    let dir = tempfile::tempdir().unwrap();
    let raw = synth(OfficialDataset::Acdc, dir.path(), 3);
    let mut fold = SliceDataset {
        dataset: OfficialDataset::Acdc,
        source: raw.clone(),
        dest: dir.path().join("sliced"),
        retain: 1,
        seed: 0,
        fold: 3,
        shape: [32, 32],
        augment: 0,
        discard_negatives: false,
    };
    let err = fold
        .run(&indicatif::ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(err.contains("fold 3"), "{err}");
    fold.fold = 2;
    let sliced = fold.run(&indicatif::ProgressBar::hidden()).unwrap();
    assert_eq!(sliced.val_cases.len(), 2);
}

#[test]
fn wmh_site_folders_need_not_be_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synth(OfficialDataset::Wmh, dir.path(), 3);
    let sites = dir.path().join("sites");
    for (site, id) in [("Utrecht", "0"), ("Singapore", "50"), ("GE3T", "100")] {
        std::fs::create_dir_all(sites.join(site)).unwrap();
        std::fs::rename(raw.join(id), sites.join(site).join(id)).unwrap();
    }
    let sliced = SliceDataset {
        dataset: OfficialDataset::Wmh,
        source: sites.clone(),
        dest: dir.path().join("sliced"),
        retain: 1,
        seed: 0,
        fold: 0,
        shape: [32, 32],
        augment: 0,
        discard_negatives: false,
    }
    .run(&indicatif::ProgressBar::hidden())
    .unwrap();
    assert_eq!(sliced.val_cases, ["100"]);
    assert_eq!(sliced.train_cases, ["0", "50"]);
    // The same id at two sites would overwrite files: refused.
    std::fs::create_dir_all(sites.join("Other")).unwrap();
    copy_dir(&sites.join("Utrecht/0"), &sites.join("Other/0"));
    expect_error(
        slice(OfficialDataset::Wmh, &sites, 1),
        "Other/0/wmh.nii.gz",
        "second case",
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
