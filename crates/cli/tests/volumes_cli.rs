//! 3-D training as users run it: `synth nifti` -> `slice nifti --volumes` -> `train` with the
//! shipped 3-D recipe (Dimwit3D for speed), in separate processes: the volumetric layout (maps
//! against brute force), the run folder, validation numbers against the saved predictions, the
//! same run from the same seed, resuming, and the run-file errors.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{boundary_loss, failed, ok};
use ndarray::{Array3, Array4, ArrayD};

/// Raw volumes (4 cases of 16x16x8) sliced into `data/` with one validation case; the shipped
/// recipe next to it.
fn prepared() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static PREPARED: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
        ok(&boundary_loss(&[
            "synth",
            "nifti",
            "--dest",
            &path("raw"),
            "--cases",
            "4",
            "--side",
            "16",
            "--slices",
            "8",
        ]));
        let stdout = ok(&boundary_loss(&[
            "slice",
            "nifti",
            "--images",
            &path("raw/flair"),
            &path("raw/t1"),
            "--labels",
            &path("raw/labels"),
            "--dest",
            &path("data"),
            "--retain",
            "1",
            "--volumes",
        ]));
        assert!(
            stdout.contains("3 training and 1 validation volumes (2 classes)"),
            "{stdout}"
        );
        let recipe =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes/volumes_gdl_surface.toml");
        let data = dir.path().join("data");
        (dir, data, recipe)
    })
}

fn train(out: &Path, extra: &[&str]) -> String {
    let (_, data, recipe) = prepared();
    let mut args = vec![
        "train",
        recipe.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--network",
        "Dimwit3D",
        "--epochs",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&boundary_loss(&args))
}

fn spacing(data: &Path, case: &str) -> [f64; 3] {
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("spacing_3d.json")).unwrap())
            .unwrap();
    std::array::from_fn(|a| table[case][a].as_f64().unwrap())
}

/// Dice of class `k` of two label arrays of the same shape, by brute force (the original's
/// smoothing).
fn brute_force_dice<D: ndarray::Dimension>(
    predicted: ndarray::ArrayView<u8, D>,
    truth: ndarray::ArrayView<u8, D>,
    k: u8,
) -> f64 {
    let count = |m: &ndarray::ArrayView<u8, D>| m.iter().filter(|&&l| l == k).count() as f64;
    let both = predicted
        .iter()
        .zip(truth.iter())
        .filter(|(&a, &b)| a == k && b == k)
        .count() as f64;
    (2.0 * both + 1e-8) / (count(&predicted) + count(&truth) + 1e-8)
}

/// Two run folders hold the same training results, byte for byte.
fn assert_same_results(a: &Path, b: &Path) {
    for file in [
        "metrics.csv",
        "val_dice.npy",
        "tra_loss.npy",
        "val_3d_hd95.npy",
    ] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// The original's signed map of class `k` by brute force: outside, the distance (mm) to the
/// nearest voxel of the class; inside, -(distance to the nearest voxel outside - 1).
fn brute_force_map(labels: &Array3<u8>, k: u8, s: [f64; 3]) -> Array3<f64> {
    let voxels: Vec<([usize; 3], bool)> = labels
        .indexed_iter()
        .map(|((x, y, z), &l)| ([x, y, z], l == k))
        .collect();
    let any_inside = voxels.iter().any(|v| v.1);
    Array3::from_shape_fn(labels.dim(), |(x, y, z)| {
        let here = labels[[x, y, z]] == k;
        if !any_inside {
            return 0.0;
        }
        let nearest = voxels
            .iter()
            .filter(|(_, inside)| *inside != here)
            .map(|(p, _)| {
                ((p[0] as f64 - x as f64) * s[0]).powi(2)
                    + ((p[1] as f64 - y as f64) * s[1]).powi(2)
                    + ((p[2] as f64 - z as f64) * s[2]).powi(2)
            })
            .fold(f64::INFINITY, f64::min)
            .sqrt();
        if here {
            -(nearest - 1.0)
        } else {
            nearest
        }
    })
}

#[test]
fn the_volumetric_layout_holds_images_labels_and_exact_3d_maps() {
    let (_, data, _) = prepared();
    for split in ["train", "val"] {
        for entry in std::fs::read_dir(data.join(split).join("gt_npy")).unwrap() {
            let path = entry.unwrap().path();
            let case = path.file_stem().unwrap().to_str().unwrap().to_string();
            let labels: Array3<u8> = ndarray_npy::read_npy(&path).unwrap();
            assert_eq!(labels.dim(), (16, 16, 8));
            let image: Array4<f32> =
                ndarray_npy::read_npy(data.join(split).join("img_npy").join(format!("{case}.npy")))
                    .unwrap();
            assert_eq!(image.dim(), (2, 16, 16, 8));
            assert!(image.iter().all(|&v| (0.0..=1.0).contains(&v)));
            let maps: ArrayD<f32> = ndarray_npy::read_npy(
                data.join(split)
                    .join("dist_npy")
                    .join(format!("{case}.npy")),
            )
            .unwrap();
            assert_eq!(maps.shape(), &[2, 16, 16, 8]);
            let s = spacing(data, &case);
            assert!((s[2] - 2.5).abs() < 1e-6, "{s:?}");
            for k in 0..2u8 {
                let want = brute_force_map(&labels, k, s);
                let got = maps.index_axis(ndarray::Axis(0), k as usize);
                for (g, w) in got.iter().zip(want.iter()) {
                    assert!(
                        (f64::from(*g) - w).abs() < 1e-4,
                        "{case} class {k}: {g} vs {w}"
                    );
                }
            }
        }
    }
    let record = std::fs::read_to_string(data.join("preprocess.json")).unwrap();
    assert!(record.contains("nifti_volumes"), "{record}");
}

#[test]
fn a_3d_run_trains_validates_whole_volumes_and_repeats_itself() {
    let (dir, data, _) = prepared();
    let out = dir.path().join("run-a");
    let stdout = train(&out, &[]);
    assert!(stdout.contains("val_3d_hd95 per class (mm)"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let cases = std::fs::read_to_string(out.join("val_3d_patients.txt")).unwrap();
    let case = cases.trim().to_string();
    assert_eq!(cases.lines().count(), 1);
    let truth: Array3<u8> =
        ndarray_npy::read_npy(data.join("val/gt_npy").join(format!("{case}.npy"))).unwrap();
    let dice: ndarray::Array3<f32> = ndarray_npy::read_npy(out.join("val_dice.npy")).unwrap();
    let dsc: ndarray::Array3<f32> = ndarray_npy::read_npy(out.join("val_3d_dsc.npy")).unwrap();
    assert_eq!(dice.dim(), (3, 1, 2));
    assert_eq!(dice, dsc, "a volume's Dice is its 3-D Dice");
    let tra_dice: ndarray::Array3<f32> = ndarray_npy::read_npy(out.join("tra_dice.npy")).unwrap();
    // The recipe's 24 patches per epoch.
    assert_eq!(tra_dice.dim(), (3, 24, 2));
    for epoch in 0..3 {
        let predicted: Array3<u8> =
            ndarray_npy::read_npy(out.join(format!("iter{epoch:03}/val/{case}.npy"))).unwrap();
        assert_eq!(predicted.dim(), truth.dim());
        for k in 0..2u8 {
            let want = brute_force_dice(predicted.view(), truth.view(), k);
            let got = f64::from(dice[[epoch, 0, k as usize]]);
            assert!((got - want).abs() < 1e-6, "epoch {epoch} class {k}");
        }
    }
    // The same seed in another process: the same files.
    let again = dir.path().join("run-b");
    train(&again, &[]);
    assert_same_results(&out, &again);
    assert_eq!(
        std::fs::read(out.join(format!("iter002/val/{case}.npy"))).unwrap(),
        std::fs::read(again.join(format!("iter002/val/{case}.npy"))).unwrap()
    );
    // `predict` with the run: the validation case's raw volumes segment to the run's own
    // validation prediction at its best epoch, in the input's grid.
    let raw = |folder: &str| dir.path().join(format!("raw/{folder}/{case}.nii.gz"));
    let predictions = dir.path().join("predictions");
    let stdout = ok(&boundary_loss(&[
        "predict",
        out.to_str().unwrap(),
        "--images",
        raw("flair").to_str().unwrap(),
        raw("t1").to_str().unwrap(),
        "--gt",
        raw("labels").to_str().unwrap(),
        "--probabilities",
        "--out",
        predictions.to_str().unwrap(),
    ]));
    assert!(stdout.contains("1 of 1 case(s) segmented"), "{stdout}");
    let best: usize = std::fs::read_to_string(out.join("best_epoch.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let validated: Array3<u8> =
        ndarray_npy::read_npy(out.join(format!("iter{best:03}/val/{case}.npy"))).unwrap();
    let predicted = volume_io::read_label_map(&predictions.join(format!("{case}.nii.gz")))
        .unwrap()
        .labels;
    assert_eq!(predicted.shape(), &[16, 16, 8]);
    assert!(predicted
        .iter()
        .zip(validated.iter())
        .all(|(&p, &v)| p == u32::from(v)));
    assert!(predictions
        .join(format!("{case}_probabilities.nii.gz"))
        .is_file());
    assert!(predictions.join("metrics.csv").is_file());
    // `metrics` is for 2-D runs; it says so.
    let e = failed(&boundary_loss(&["metrics", out.to_str().unwrap()]));
    assert!(e.contains("a 3-D run"), "{e}");
    // `view` cuts the validation volume along its last axis: one row per slice, each panel's
    // Dice that of the prediction's slice.
    let view = dir.path().join("view");
    ok(&boundary_loss(&[
        "view",
        out.to_str().unwrap(),
        "--epoch",
        "2",
        "--out",
        view.to_str().unwrap(),
    ]));
    let page = std::fs::read_to_string(view.join("index.html")).unwrap();
    let start = page.find(r#"id="view-data">"#).unwrap() + 15;
    let end = start + page[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
    let rows = data["slices"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    let predicted: Array3<u8> =
        ndarray_npy::read_npy(out.join(format!("iter002/val/{case}.npy"))).unwrap();
    for (z, row) in rows.iter().enumerate() {
        assert_eq!(row["name"], format!("{case}_{z:04}"));
        assert_eq!(row["patient"], case.as_str());
        let want = brute_force_dice(
            predicted.index_axis(ndarray::Axis(2), z),
            truth.index_axis(ndarray::Axis(2), z),
            1,
        );
        let got = row["runs"][0][0]["metrics"][0]["dice"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "slice {z}: {got} vs {want}");
    }
    // Another seed draws other patches (and weights).
    let other = dir.path().join("run-c");
    train(&other, &["--seed", "5"]);
    assert_ne!(
        std::fs::read(out.join("tra_loss.npy")).unwrap(),
        std::fs::read(other.join("tra_loss.npy")).unwrap()
    );
}

#[test]
fn a_stopped_3d_run_resumes_to_the_uninterrupted_files() {
    let (dir, data, recipe) = prepared();
    let whole = dir.path().join("whole");
    train(&whole, &[]);
    // The first epoch only (as if killed after it), then `--resume` in another process.
    let mut config = boundary_loss::train::RunConfig::from_file(recipe).unwrap();
    config.data.dataset = data.clone();
    config.network.architecture = boundary_loss::nets::Architecture::Dimwit3D;
    config.network.base = None;
    config.schedule.epochs = 3;
    let part = dir.path().join("part");
    boundary_loss::train::train(
        &config,
        &part,
        &boundary_loss::train::TrainOptions {
            stop_after: Some(1),
            force: false,
        },
        &mut boundary_loss::train::Silent,
    )
    .unwrap();
    assert!(!part.join("iter001").exists());
    ok(&boundary_loss(&[
        "train",
        "--resume",
        part.to_str().unwrap(),
    ]));
    assert_same_results(&whole, &part);
    // The weights: their values (a record's parameter ids differ between processes).
    let weights = |run: &Path| -> Vec<f32> {
        use boundary_loss::nets::BuildNetwork;
        let device = boundary_loss::device::parse("cpu").unwrap();
        let net = boundary_loss::nets::Architecture::Dimwit3D
            .build_with_base(2, 2, None, &device)
            .unwrap();
        boundary_loss::train::run_folder::load_weights(net, &run.join("best.bpk"))
            .unwrap()
            .parameter_values()
    };
    assert!(weights(&whole) == weights(&part), "best.bpk differs");
}

#[test]
fn run_files_that_mix_2d_and_3d_are_refused() {
    let (dir, data, recipe) = prepared();
    let text = std::fs::read_to_string(recipe).unwrap();
    let data_line = format!("dataset = {:?}", data.to_str().unwrap());
    let text = text.replace("dataset = \"../data/VOLUMES\"", &data_line);
    let out = dir.path().join("refused");
    // `train` on the run file `contents` (written as `name`): its one error line.
    let refused = |name: &str, contents: String| {
        let file = dir.path().join(name);
        std::fs::write(&file, contents).unwrap();
        failed(&boundary_loss(&[
            "train",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]))
    };
    let no_patches = text[..text.find("[patches]").unwrap()].to_string()
        + &text[text.find("[[streams]]").unwrap()..];
    let e = refused("no_patches.toml", no_patches);
    assert!(e.contains("add a [patches] table"), "{e}");
    let two_d = text.replace(
        "network = \"UNet3D\"\nnetwork_base = 8",
        "network = \"UNet\"",
    );
    let e = refused("two_d.toml", two_d);
    assert!(e.contains("3-D training needs Dimwit3D or UNet3D"), "{e}");
    let on_the_fly = text.replace("kind = \"precomputed\"", "kind = \"distance_map\"");
    let e = refused("on_the_fly.toml", on_the_fly);
    assert!(e.contains("streams[2].kind"), "{e}");
    let odd_patch = text.replace("size = [32, 32, 16]", "size = [32, 30, 16]");
    let e = refused("odd_patch.toml", odd_patch);
    assert!(
        e.contains("patches.size") && e.contains("multiple of 8"),
        "{e}"
    );
    assert!(!out.exists());
}
