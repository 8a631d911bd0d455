//! `boundary-loss slice nifti`: volumes in, the original layout out, then training on it; a
//! failing volume is named and leaves no output.

mod common;
use common::boundary_loss;

use std::path::Path;

use distmap::{distance_maps, MapOptions};
use ndarray::{Array3, ArrayD, Axis};
use ndarray_npy::read_npy;

const SPACING: [f32; 3] = [0.9, 0.8, 3.0];

fn write_f32(path: &Path, volume: &Array3<f32>) {
    volume_io::write_nifti(path, volume, &SPACING).unwrap();
}

fn write_u8(path: &Path, volume: &Array3<u8>) {
    volume_io::write_nifti(path, volume, &SPACING).unwrap();
}

fn labels_of(case: usize) -> Array3<u8> {
    Array3::from_shape_fn((12, 10, 4), |(x, y, z)| {
        let (dx, dy) = (x as f64 - 4.0 - case as f64, y as f64 - 5.0);
        u8::from(dx * dx + dy * dy <= 6.0 && z >= 1)
    })
}

fn make_cases(root: &Path) {
    for folder in ["flair", "t1", "labels"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    for case in 0..3 {
        let name = format!("case{case}.nii.gz");
        let flair = Array3::from_shape_fn((12, 10, 4), |(x, y, z)| {
            (x * 7 + y * 3 + z + case) as f32 * 1.5 - 20.0
        });
        let t1 = Array3::from_shape_fn((12, 10, 4), |(x, y, z)| ((x + y * z) % 11) as f32);
        write_f32(&root.join("flair").join(&name), &flair);
        write_f32(&root.join("t1").join(&name), &t1);
        write_u8(&root.join("labels").join(&name), &labels_of(case));
    }
}

#[test]
fn nifti_volumes_become_the_original_layout_and_train() {
    let dir = tempfile::tempdir().unwrap();
    make_cases(dir.path());
    let dest = dir.path().join("sliced");
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out = boundary_loss(&[
        "slice",
        "nifti",
        "--images",
        &p("flair"),
        &p("t1"),
        "--labels",
        &p("labels"),
        "--dest",
        &p("sliced"),
        "--retain",
        "1",
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = preprocess::PreprocessRecord::read(&dest).unwrap();
    assert_eq!(
        (record.source.as_str(), record.axis, record.shape),
        ("nifti", 2, None)
    );
    assert_eq!(record.modalities, ["flair", "t1"]);
    assert_eq!(
        record.normalisation,
        preprocess::Normalisation::MinMaxPerVolume
    );
    let count = |split: &str, folder: &str| {
        std::fs::read_dir(dest.join(split).join(folder))
            .unwrap()
            .count()
    };
    for folder in ["flair", "t1", "gt", "in_npy", "gt_npy", "3d_distmap"] {
        assert_eq!(count("train", folder), 2 * 4);
        assert_eq!(count("val", folder), 4);
    }
    // Every slice of a case: image in [0, 1] per volume, labels, and the 3-D map sliced.
    let val_case = std::fs::read_dir(dest.join("val/gt_npy"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let case: usize = val_case.to_str().unwrap()[4..5].parse().unwrap();
    let labels = labels_of(case).into_dyn();
    let maps: ArrayD<f32> = distance_maps(
        labels.view(),
        2,
        &[0.9f32 as f64, 0.8f32 as f64, 3.0],
        &MapOptions::default(),
    )
    .unwrap();
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for z in 0..4 {
        let name = format!("case{case}_00_{z:04}.npy");
        let image: ArrayD<f32> = read_npy(dest.join("val/in_npy").join(&name)).unwrap();
        assert_eq!(image.shape(), [2, 12, 10]);
        image
            .iter()
            .for_each(|&v| (lo, hi) = (lo.min(v), hi.max(v)));
        let gt: ArrayD<u8> = read_npy(dest.join("val/gt_npy").join(&name)).unwrap();
        assert_eq!(gt, labels.index_axis(Axis(2), z));
        let map: ArrayD<f32> = read_npy(dest.join("val/3d_distmap").join(&name)).unwrap();
        assert_eq!(map, maps.index_axis(Axis(3), z));
    }
    assert_eq!((lo, hi), (0.0, 1.0), "per-volume min-max normalisation");
    let spacing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dest.join("val/spacing.json")).unwrap())
            .unwrap();
    assert_eq!(
        spacing[format!("case{case}_00_0000")],
        serde_json::json!([0.8999999761581421, 0.800000011920929])
    );
    let spacing_3d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dest.join("spacing_3d.json")).unwrap())
            .unwrap();
    assert_eq!(
        spacing_3d[format!("case{case}")],
        serde_json::json!([0.8999999761581421, 0.800000011920929, 3.0])
    );

    // And a training run reads it.
    let run_file = dir.path().join("run.toml");
    std::fs::write(
        &run_file,
        "dataset = \"sliced\"\nnetwork = \"Dimwit\"\nmodalities = 2\nclasses = 2\nepochs = 1\nbatch_size = 4\nmetric_classes = [1]\npatient_regex = '(case\\d+)_\\d+_\\d+'\n\n[[streams]]\nfolder = \"in_npy\"\nkind = \"image_npy\"\n\n[[streams]]\nfolder = \"gt_npy\"\nkind = \"one_hot\"\n\n[[streams]]\nfolder = \"3d_distmap\"\nkind = \"precomputed\"\n\n[[losses]]\nname = \"GeneralizedDice\"\nidc = [0, 1]\nweight = 1.0\nstream = 1\n\n[[losses]]\nname = \"BoundaryLoss\"\nidc = [1]\nweight = 0.01\nstream = 2\n",
    )
    .unwrap();
    let out = boundary_loss(&["train", run_file.to_str().unwrap(), "--out", &p("run")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("run/val_3d_patients.txt")).unwrap(),
        format!("case{case}\n")
    );
}

#[test]
fn a_failing_volume_is_named_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    make_cases(dir.path());
    let wrong = dir.path().join("t1/case1.nii.gz");
    write_f32(&wrong, &Array3::<f32>::zeros((12, 10, 5)));
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out = boundary_loss(&[
        "slice",
        "nifti",
        "--images",
        &p("flair"),
        &p("t1"),
        "--labels",
        &p("labels"),
        "--dest",
        &p("sliced"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(wrong.to_str().unwrap()) && stderr.contains("differs"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("sliced").exists(),
        "no partial output under the final name"
    );
    std::fs::remove_file(dir.path().join("flair/case2.nii.gz")).unwrap();
    let out = boundary_loss(&[
        "slice",
        "nifti",
        "--images",
        &p("flair"),
        "--labels",
        &p("labels"),
        "--dest",
        &p("sliced"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("case2") && stderr.contains("missing"),
        "{stderr}"
    );
}
