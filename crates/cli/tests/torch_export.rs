//! PyTorch interchange as users run it, in separate processes: every architecture trained for
//! one seeded epoch (`synth nifti` -> `slice nifti` -> `train`), exported in both formats, loads
//! into the original's PyTorch class with `load_state_dict(strict=True)` and computes the same
//! evaluation-mode logits as ours (`network --input --logits`) to 1e-5 with the same argmax
//! (`check_torch_export.py`, with torch from `scripts/torch_venv.sh`). An exported file given to
//! `predict --weights` gives the labels of the run's own weights, 2-D and 3-D; a corrupted or
//! mismatched file is one error line and writes nothing; the original's own `best.pkl` (a
//! pickled module) loads as its state_dict does.
//!
//! Without python3 the PyTorch half is skipped with a warning, unless REQUIRE_TORCH=1 (CI sets
//! it), which makes that a failure.

mod common;
use common::{boundary_loss, failed, ok};

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::ArrayD;

const RUN_2D: &str = "dataset = \"DATA\"\nnetwork = \"NETWORK\"\nBASE\nmodalities = MODALITIES\nclasses = 2\nepochs = 1\nbatch_size = 4\nseed = 3\nmetric_classes = [1]\npatient_regex = '(case_\\d+)_\\d+_\\d+'\n\n[[streams]]\nfolder = \"in_npy\"\nkind = \"image_npy\"\n\n[[streams]]\nfolder = \"gt_npy\"\nkind = \"one_hot\"\n\n[[losses]]\nname = \"GeneralizedDice\"\nidc = [0, 1]\nweight = 1.0\nstream = 1\n";

const RUN_3D: &str = "dataset = \"DATA\"\nnetwork = \"NETWORK\"\nBASE\nmodalities = 2\nclasses = 2\nepochs = 1\nbatch_size = 2\nseed = 3\nmetric_classes = [1]\n\n[patches]\nsize = [16, 16, 8]\nper_epoch = 4\noverlap = 0.5\nblending = \"gaussian\"\n\n[[streams]]\nfolder = \"img_npy\"\nkind = \"image_npy\"\n\n[[streams]]\nfolder = \"gt_npy\"\nkind = \"one_hot\"\n\n[[losses]]\nname = \"GeneralizedDice\"\nidc = [0, 1]\nweight = 1.0\nstream = 1\n";

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Raw volumes (4 cases of 32x32x16) and three data sets made from them: 2-D slices with both
/// modalities, with FLAIR only (the original's ENet takes one channel), and whole volumes.
fn data_sets(dir: &Path) -> [PathBuf; 3] {
    let raw = dir.join("raw");
    ok(&boundary_loss(&[
        "synth",
        "nifti",
        "--dest",
        s(&raw),
        "--cases",
        "4",
        "--side",
        "32",
        "--slices",
        "16",
    ]));
    let slice = |dest: &str, images: &[&str], extra: &[&str]| {
        let dest = dir.join(dest);
        let images: Vec<String> = images.iter().map(|m| s(&raw.join(m)).to_string()).collect();
        let mut args = vec!["slice", "nifti", "--images"];
        args.extend(images.iter().map(String::as_str));
        let labels = raw.join("labels");
        args.extend(["--labels", s(&labels), "--dest", s(&dest), "--threads", "2"]);
        args.extend_from_slice(extra);
        ok(&boundary_loss(&args));
        dest
    };
    [
        slice("slices", &["flair", "t1"], &[]),
        slice("slices_flair", &["flair"], &[]),
        slice("volumes", &["flair", "t1"], &["--volumes"]),
    ]
}

/// Trains `network` for one epoch on `data` and returns the run folder.
fn train(dir: &Path, data: &Path, network: &str, modalities: usize) -> PathBuf {
    let three_d = network.ends_with("3D");
    let template = if three_d { RUN_3D } else { RUN_2D };
    let base = if network.starts_with("UNet") {
        "network_base = 4"
    } else {
        ""
    };
    let run_file = dir.join(format!("{network}.toml"));
    std::fs::write(
        &run_file,
        template
            .replace("DATA", s(data))
            .replace("NETWORK", network)
            .replace("BASE", base)
            .replace("MODALITIES", &modalities.to_string()),
    )
    .unwrap();
    let run = dir.join("runs").join(network);
    ok(&boundary_loss(&["train", s(&run_file), "--out", s(&run)]));
    run
}

/// A deterministic input batch in [0, 1): two items of `shape` (C, *spatial).
fn input(shape: &[usize]) -> ArrayD<f32> {
    let mut full = vec![2];
    full.extend_from_slice(shape);
    let mut state = 12345u64;
    ArrayD::from_shape_simple_fn(full, || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    })
}

/// The python of the torch environment, or `None` (skipped) where there is no python3.
fn torch_python() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/torch_venv.sh");
    let out = Command::new("bash").arg(&script).output().unwrap();
    let required = std::env::var("REQUIRE_TORCH").is_ok_and(|v| v == "1");
    match out.status.code() {
        Some(0) => {
            let stdout = String::from_utf8(out.stdout).unwrap();
            Some(PathBuf::from(stdout.lines().last().unwrap().trim()))
        }
        Some(3) if !required => {
            eprintln!(
                "warning: no python3 with venv: the PyTorch half of torch_export did not run"
            );
            None
        }
        _ => panic!(
            "scripts/torch_venv.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

struct Case {
    network: &'static str,
    run: PathBuf,
    description: PathBuf,
    weights: Vec<PathBuf>,
    input: PathBuf,
    logits: PathBuf,
}

/// Exports `run` in both formats and writes our logits of a fixed input.
fn export_case(dir: &Path, network: &'static str, run: PathBuf, modalities: usize) -> Case {
    let out = dir.join("exported");
    std::fs::create_dir_all(&out).unwrap();
    let mut weights = Vec::new();
    for extension in ["safetensors", "pt"] {
        let file = out.join(format!("{network}.{extension}"));
        let stdout = ok(&boundary_loss(&[
            "export",
            s(&run),
            "--out",
            s(&file),
            "--weights",
            "last",
        ]));
        assert!(stdout.contains(&format!("of {network}(")), "{stdout}");
        weights.push(file);
    }
    let description = out.join(format!("{network}.json"));
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&description).unwrap()).unwrap();
    assert_eq!(info["architecture"], network);
    assert_eq!(info["classes"], 2);
    assert_eq!(info["activation"], "softmax");
    assert_eq!(info["source"]["weights"], "last");
    assert_eq!(
        info["preprocess"]["modalities"].as_array().unwrap().len(),
        modalities,
        "the data set's preprocessing record travels with the network"
    );

    let spatial: &[usize] = if network.ends_with("3D") {
        &[8, 16, 16]
    } else {
        &[32, 32]
    };
    let mut shape = vec![modalities];
    shape.extend_from_slice(spatial);
    let input_path = dir.join(format!("{network}-input.npy"));
    ndarray_npy::write_npy(&input_path, &input(&shape)).unwrap();
    let logits = dir.join(format!("{network}-logits.npy"));
    let modalities = modalities.to_string();
    let checkpoint = run.join("checkpoint/model.bpk");
    let mut args = vec![
        "network",
        network,
        "--modalities",
        &modalities,
        "--classes",
        "2",
        "--weights",
        s(&checkpoint),
        "--input",
        s(&input_path),
        "--logits",
        s(&logits),
    ];
    if network.starts_with("UNet") {
        args.extend(["--base", "4"]);
    }
    ok(&boundary_loss(&args));
    Case {
        network,
        run,
        description,
        weights,
        input: input_path,
        logits,
    }
}

/// Our own `network --weights exported` gives bit-identical logits to the run's checkpoint.
fn assert_same_logits_from_export(dir: &Path, case: &Case, modalities: usize) {
    for weights in &case.weights {
        let logits = dir.join(format!("{}-again.npy", case.network));
        let modalities = modalities.to_string();
        let mut args = vec![
            "network",
            case.network,
            "--modalities",
            &modalities,
            "--classes",
            "2",
            "--weights",
            s(weights),
            "--input",
            s(&case.input),
            "--logits",
            s(&logits),
        ];
        if case.network.starts_with("UNet") {
            args.extend(["--base", "4"]);
        }
        ok(&boundary_loss(&args));
        assert_eq!(
            std::fs::read(&logits).unwrap(),
            std::fs::read(&case.logits).unwrap(),
            "{}: {}",
            case.network,
            weights.display()
        );
    }
}

/// `predict` with the exported weights gives the labels of `predict --weights last`.
fn assert_same_predictions(dir: &Path, case: &Case, raw: &Path, modalities: &[&str]) {
    let images: Vec<String> = modalities
        .iter()
        .map(|m| s(&raw.join(m).join("case_01.nii.gz")).to_string())
        .collect();
    let predict = |weights: &str, out: &Path| {
        let mut args = vec!["predict", s(&case.run), "--images"];
        args.extend(images.iter().map(String::as_str));
        args.extend(["--out", s(out), "--weights", weights]);
        ok(&boundary_loss(&args));
        let mut files: Vec<PathBuf> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| (f.file_name().unwrap().to_owned(), std::fs::read(f).unwrap()))
            .collect::<Vec<_>>()
    };
    let own = predict("last", &dir.join(format!("{}-own", case.network)));
    assert!(!own.is_empty());
    for weights in &case.weights {
        let out = dir.join(format!(
            "{}-{}",
            case.network,
            weights.extension().unwrap().to_str().unwrap()
        ));
        assert_eq!(predict(s(weights), &out), own, "{}", weights.display());
    }
}

#[test]
fn every_network_travels_to_pytorch_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let [slices, slices_flair, volumes] = data_sets(dir.path());
    let cases = [
        ("Dimwit", &slices, 2),
        ("UNet", &slices, 2),
        ("ResidualUNet", &slices, 2),
        ("ENet", &slices_flair, 1),
        ("Dimwit3D", &volumes, 2),
        ("UNet3D", &volumes, 2),
    ];
    let mut exported = Vec::new();
    for (network, data, modalities) in cases {
        let run = train(dir.path(), data, network, modalities);
        let case = export_case(dir.path(), network, run, modalities);
        assert_same_logits_from_export(dir.path(), &case, modalities);
        exported.push(case);
    }
    let raw = dir.path().join("raw");
    assert_same_predictions(dir.path(), &exported[1], &raw, &["flair", "t1"]);
    assert_same_predictions(dir.path(), &exported[5], &raw, &["flair", "t1"]);

    let Some(python) = torch_python() else {
        return;
    };
    let manifest: Vec<serde_json::Value> = exported
        .iter()
        .map(|c| {
            serde_json::json!({
                "description": c.description,
                "weights": c.weights,
                "input": c.input,
                "logits": c.logits,
            })
        })
        .collect();
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let checker = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../boundary-loss/tests/reference/check_torch_export.py");
    let out = Command::new(&python)
        .arg(&checker)
        .arg(&manifest_path)
        .args(["--pickle-module", s(dir.path()), "UNet"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("\"ok\": true").count(), 12, "{stdout}");

    // The original's best.pkl pickles the whole module (torch.save(net)): Burn's reader takes
    // its parameters and buffers by their state_dict names, so it loads as the state_dict does.
    let unet = &exported[1];
    let pickled = dir.path().join("best.pkl");
    let logits = dir.path().join("pickled-logits.npy");
    ok(&boundary_loss(&[
        "network",
        "UNet",
        "--modalities",
        "2",
        "--base",
        "4",
        "--weights",
        s(&pickled),
        "--input",
        s(&unet.input),
        "--logits",
        s(&logits),
    ]));
    assert_eq!(
        std::fs::read(&logits).unwrap(),
        std::fs::read(&unet.logits).unwrap()
    );
}

#[test]
fn a_bad_file_is_one_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let [slices, ..] = data_sets(dir.path());
    let run = train(dir.path(), &slices, "Dimwit", 2);
    let exported = dir.path().join("dimwit.safetensors");
    ok(&boundary_loss(&[
        "export",
        s(&run),
        "--out",
        s(&exported),
        "--weights",
        "last",
    ]));
    let whole = std::fs::read(&exported).unwrap();
    // Fine-tuning starts from an exported file as from a Burn record.
    ok(&boundary_loss(&[
        "train",
        s(&dir.path().join("Dimwit.toml")),
        "--weights",
        s(&exported),
        "--out",
        s(&dir.path().join("finetuned")),
    ]));
    let raw = dir.path().join("raw");
    let flair = raw.join("flair/case_01.nii.gz");
    let t1 = raw.join("t1/case_01.nii.gz");

    let predict_with = |weights: &Path, out: &Path| {
        failed(&boundary_loss(&[
            "predict",
            s(&run),
            "--images",
            s(&flair),
            s(&t1),
            "--out",
            s(out),
            "--weights",
            s(weights),
        ]))
    };
    // Corrupted: cut in half.
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = dir.path().join("pred-cut");
    let error = predict_with(&cut, &out);
    assert!(error.contains("cut.safetensors"), "{error}");
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(!out.exists(), "nothing written");

    // Mismatched: a UNet's file for the Dimwit run.
    let unet = dir.path().join("unet.pt");
    let unet_run = train(dir.path(), &slices, "UNet", 2);
    ok(&boundary_loss(&[
        "export",
        s(&unet_run),
        "--out",
        s(&unet),
        "--weights",
        "last",
    ]));
    let out = dir.path().join("pred-unet");
    let error = predict_with(&unet, &out);
    assert!(error.contains("unet.pt"), "{error}");
    assert!(error.contains("Dimwit"), "{error}");
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(!out.exists(), "nothing written");

    // Export into a missing folder, or onto its own description's name: nothing written.
    let error = failed(&boundary_loss(&[
        "export",
        s(&run),
        "--out",
        s(&dir.path().join("missing/w.safetensors")),
        "--weights",
        "last",
    ]));
    assert!(error.contains("missing"), "{error}");
    assert!(!dir.path().join("missing").exists());
    let error = failed(&boundary_loss(&[
        "export",
        s(&run),
        "--out",
        s(&dir.path().join("w.json")),
        "--weights",
        "last",
    ]));
    assert!(error.contains("w.json"), "{error}");
    assert!(!dir.path().join("w.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.ends_with(".tmp").then_some(name)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The Python block of docs/pytorch.md, as written.
fn guide_example() -> String {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pytorch.md"),
    )
    .unwrap();
    let section = guide
        .split("## Using an exported network in PyTorch")
        .nth(1)
        .unwrap();
    let start = section.find("```python\n").unwrap() + "```python\n".len();
    section[start..][..section[start..].find("```").unwrap()].to_string()
}

/// A label volume's voxels, x fastest as NIfTI stores them.
fn labels_of(path: &Path) -> Vec<u8> {
    use nifti::{IntoNdArray, NiftiObject};
    let object = nifti::ReaderOptions::new().read_file(path).unwrap();
    let volume = object.into_volume().into_ndarray::<f32>().unwrap();
    volume.t().iter().map(|&v| v as u8).collect()
}

#[test]
fn the_guides_python_example_segments_as_predict_does() {
    let Some(python) = torch_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let [slices, ..] = data_sets(dir.path());
    let run_file = dir.path().join("unet16.toml");
    std::fs::write(
        &run_file,
        RUN_2D
            .replace("DATA", s(&slices))
            .replace("NETWORK", "UNet")
            .replace("BASE", "network_base = 16")
            .replace("MODALITIES", "2"),
    )
    .unwrap();
    let run = dir.path().join("unet16");
    ok(&boundary_loss(&["train", s(&run_file), "--out", s(&run)]));

    // The example's working folder: the export, the case's modality folders, the original.
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    ok(&boundary_loss(&[
        "export",
        s(&run),
        "--out",
        s(&work.join("unet.safetensors")),
        "--weights",
        "last",
    ]));
    let raw = dir.path().join("raw");
    for folder in ["flair", "t1"] {
        std::os::unix::fs::symlink(raw.join(folder), work.join(folder)).unwrap();
    }
    let original = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../boundary-loss/tests/reference/original_networks")
        .canonicalize()
        .unwrap();
    std::os::unix::fs::symlink(original, work.join("boundary-loss-original")).unwrap();
    let script = work.join("example.py");
    std::fs::write(&script, guide_example()).unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let predicted = dir.path().join("predicted");
    ok(&boundary_loss(&[
        "predict",
        s(&run),
        "--images",
        s(&raw.join("flair/case_01.nii.gz")),
        s(&raw.join("t1/case_01.nii.gz")),
        "--out",
        s(&predicted),
        "--weights",
        "last",
    ]));
    let ours = labels_of(&predicted.join("case_01.nii.gz"));
    let theirs = labels_of(&work.join("case_01_labels.nii.gz"));
    assert_eq!(ours.len(), 32 * 32 * 16);
    assert!(ours.contains(&1), "the run finds some foreground");
    assert_eq!(theirs, ours);
}
