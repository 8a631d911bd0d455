//! `boundary-loss predict`: volumes with an oblique affine, a negative qfac, int16 with a
//! scaling slope and a 4-D float64 modality are sliced (along axis 0, resized), trained on, and
//! predicted; the labels equal the run's own validation PNGs of the best epoch brought back to
//! the input grid, in the input's space (same affine and codes), with per-case metrics.

mod common;
use common::{boundary_loss, failed, ok};

use std::path::Path;

use ndarray::{Array3, Array4};

const SHAPE: (usize, usize, usize) = (12, 10, 6);

fn header() -> nifti::NiftiHeader {
    nifti::NiftiHeader {
        pixdim: [-1.0, 0.9, 0.8, 3.0, 1.0, 1.0, 1.0, 1.0],
        qform_code: 1,
        sform_code: 2,
        quatern_b: 0.1,
        quatern_c: -0.2,
        quatern_d: 0.3,
        quatern_x: -20.0,
        quatern_y: 15.5,
        quatern_z: -4.0,
        srow_x: [0.85, -0.2, 0.1, -20.0],
        srow_y: [0.25, 0.75, -0.05, 15.5],
        srow_z: [0.0, 0.1, 2.95, -4.0],
        xyzt_units: 10,
        ..Default::default()
    }
}

fn write<A, D>(path: &Path, volume: &ndarray::Array<A, D>, header: &nifti::NiftiHeader)
where
    A: nifti::DataElement + bytemuck::Pod,
    D: ndarray::Dimension + ndarray::RemoveAxis,
{
    nifti::writer::WriterOptions::new(path)
        .reference_header(header)
        .write_nifti(volume)
        .unwrap();
}

fn labels_of(case: usize) -> Array3<u8> {
    Array3::from_shape_fn(SHAPE, |(x, y, z)| {
        let (dy, dz) = (y as f64 - 4.0 - case as f64 * 0.5, z as f64 - 3.0);
        u8::from(dy * dy + dz * dz <= 5.0 && x >= 2)
    })
}

fn make_cases(root: &Path) {
    for folder in ["flair", "t1", "labels"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    for case in 0..3 {
        let name = format!("case{case}.nii.gz");
        let labels = labels_of(case);
        // int16 with a slope and an intercept: the reader scales, as nibabel does.
        let flair = Array3::from_shape_fn(SHAPE, |(x, y, z)| {
            (100 * labels[[x, y, z]] as i16) + ((x * 7 + y * 3 + z + case) % 13) as i16
        });
        let scaled = nifti::NiftiHeader {
            scl_slope: 0.5,
            scl_inter: 3.0,
            ..header()
        };
        write(&root.join("flair").join(&name), &flair, &scaled);
        // 4-D (x, y, z, 1) float64.
        let t1 = Array4::from_shape_fn((SHAPE.0, SHAPE.1, SHAPE.2, 1), |(x, y, z, _)| {
            ((x + y * z) % 11) as f64 - 40.0 * labels[[x, y, z]] as f64
        });
        write(&root.join("t1").join(&name), &t1, &header());
        write(&root.join("labels").join(&name), &labels, &header());
    }
}

const RUN: &str = "dataset = \"sliced\"\nnetwork = \"Dimwit\"\nmodalities = 2\nclasses = 2\nepochs = 3\nbatch_size = 4\nmetric_classes = [1]\npatient_regex = '(case\\d+)_\\d+_\\d+'\n\n[[streams]]\nfolder = \"in_npy\"\nkind = \"image_npy\"\n\n[[streams]]\nfolder = \"gt_npy\"\nkind = \"one_hot\"\n\n[[losses]]\nname = \"GeneralizedDice\"\nidc = [0, 1]\nweight = 1.0\nstream = 1\n";

/// The run's best epoch (0-based), from `best_epoch.txt`.
fn best_epoch(run: &Path) -> usize {
    std::fs::read_to_string(run.join("best_epoch.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The class map the run saved for validation slice `name` (a `.png` name) at `epoch`.
fn val_prediction(run: &Path, epoch: usize, name: &str) -> ndarray::Array2<u8> {
    volume_io::read_png_levels(&run.join(format!("iter{epoch:03}/val/{name}")))
        .unwrap()
        .mapv(|l| l as u8)
        .into_dimensionality()
        .unwrap()
}

/// The cases of [`make_cases`] sliced by `slice nifti` (one validation case, `extra` flags) into
/// `sliced/`, and a Dimwit run of `epochs` on them in `run/`. The run file's data set is given
/// as `--dataset sliced` relative to the working folder: the run folder's copy of the run file
/// must still find it (resume, predict).
fn sliced_and_trained(root: &Path, extra: &[&str], epochs: usize) {
    make_cases(root);
    let path = |name: &str| root.join(name).to_str().unwrap().to_string();
    let mut args = vec![
        "slice".to_string(),
        "nifti".into(),
        "--images".into(),
        path("flair"),
        path("t1"),
        "--labels".into(),
        path("labels"),
        "--dest".into(),
        path("sliced"),
        "--retain".into(),
        "1".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    ok(&boundary_loss(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let run = RUN.replace("epochs = 3", &format!("epochs = {epochs}"));
    std::fs::write(root.join("run.toml"), run).unwrap();
    ok(
        &std::process::Command::new(env!("CARGO_BIN_EXE_boundary-loss"))
            .current_dir(root)
            .args(["train", "run.toml", "--dataset", "sliced", "--out", "run"])
            .output()
            .unwrap(),
    );
}

#[test]
fn predictions_equal_the_runs_own_and_keep_the_inputs_space() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    sliced_and_trained(
        dir.path(),
        &["--seed", "1", "--axis", "0", "--shape", "8", "8"],
        3,
    );
    let printed = ok(&boundary_loss(&[
        "predict",
        &p("run"),
        "--images",
        &p("flair"),
        &p("t1"),
        "--out",
        &p("pred"),
        "--gt",
        &p("labels"),
        "--probabilities",
    ]));
    assert!(printed.contains("3 of 3 case(s) segmented"), "{printed}");

    // The validation case, slice for slice, against the run's PNGs of its best epoch.
    let record = preprocess::PreprocessRecord::read(&dir.path().join("sliced")).unwrap();
    let case = std::fs::read_to_string(dir.path().join("run/val_3d_patients.txt")).unwrap();
    let case = case.trim();
    let best = best_epoch(&dir.path().join("run"));
    let mut stack = Array3::<u8>::zeros((8, 8, SHAPE.0));
    for j in 0..SHAPE.0 {
        let name = format!("{case}_00_{j:04}.png");
        let predicted = val_prediction(&dir.path().join("run"), best, &name);
        assert_eq!(predicted.dim(), (8, 8));
        stack.slice_mut(ndarray::s![.., .., j]).assign(&predicted);
    }
    let expected = preprocess::inference::restore_labels(&record, stack, [12, 10, 6]);
    // The network's input is the slicer's own, bit for bit (whatever the network predicts).
    let prepared = preprocess::inference::prepare_case(
        &record,
        &[
            dir.path().join(format!("flair/{case}.nii.gz")),
            dir.path().join(format!("t1/{case}.nii.gz")),
        ],
    )
    .unwrap();
    assert_eq!((prepared.size, prepared.slices.len()), ([8, 8], SHAPE.0));
    for (j, slice) in prepared.slices.iter().enumerate() {
        let sliced: ndarray::ArrayD<f32> = ndarray_npy::read_npy(
            dir.path()
                .join(format!("sliced/val/in_npy/{case}_00_{j:04}.npy")),
        )
        .unwrap();
        assert_eq!(sliced.shape(), [2, 8, 8]);
        assert_eq!(sliced.as_slice().unwrap(), slice.as_slice(), "slice {j}");
    }
    let out = dir.path().join(format!("pred/{case}.nii.gz"));
    let predicted = volume_io::read_label_map(&out).unwrap();
    assert_eq!(predicted.labels, expected.mapv(u32::from).into_dyn());

    // The input's space: affine, codes, pixel dimensions, units; no scaling.
    let (input, output) = (
        volume_io::read_nifti_header(&dir.path().join(format!("t1/{case}.nii.gz"))).unwrap(),
        volume_io::read_nifti_header(&out).unwrap(),
    );
    assert_eq!(output.dim[..4], [3, 12, 10, 6]);
    assert_eq!(output.pixdim[..4], input.pixdim[..4]);
    assert_eq!(
        (
            output.srow_x,
            output.srow_y,
            output.srow_z,
            output.sform_code
        ),
        (input.srow_x, input.srow_y, input.srow_z, input.sform_code)
    );
    assert_eq!(
        (
            output.quatern_b,
            output.quatern_c,
            output.quatern_d,
            output.qform_code
        ),
        (
            input.quatern_b,
            input.quatern_c,
            input.quatern_d,
            input.qform_code
        )
    );
    assert_eq!(
        (
            output.quatern_x,
            output.quatern_y,
            output.quatern_z,
            output.xyzt_units
        ),
        (
            input.quatern_x,
            input.quatern_y,
            input.quatern_z,
            input.xyzt_units
        )
    );
    assert_eq!((output.scl_slope, output.scl_inter), (1.0, 0.0));
    let probabilities =
        volume_io::read_nifti_f32(&dir.path().join(format!("pred/{case}_probabilities.nii.gz")))
            .unwrap()
            .0;
    assert_eq!(probabilities.shape(), [12, 10, 6, 2]);
    assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));

    // Metrics against the labels, one row per case and class.
    let csv = std::fs::read_to_string(dir.path().join("pred/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
    assert!(csv.starts_with("case,class,dice,hd_mm,hd95_mm,assd_mm,empty\n"));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("pred/metrics.json")).unwrap(),
    )
    .unwrap();
    assert!(json[case]["1"]["dice"].as_f64().unwrap() >= 0.0);
}

#[test]
fn bad_inputs_are_named_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    sliced_and_trained(dir.path(), &[], 1);

    // One modality instead of two.
    let e = failed(&boundary_loss(&[
        "predict",
        &p("run"),
        "--images",
        &p("flair/case0.nii.gz"),
        "--out",
        &p("one"),
    ]));
    assert!(
        e.contains("1 --images given, the run was trained on 2 modalities (flair, t1)"),
        "{e}"
    );
    assert!(!dir.path().join("one/case0.nii.gz").exists());

    // A case missing in one modality folder.
    std::fs::remove_file(dir.path().join("t1/case2.nii.gz")).unwrap();
    let e = failed(&boundary_loss(&[
        "predict",
        &p("run"),
        "--images",
        &p("flair"),
        &p("t1"),
        "--out",
        &p("missing"),
    ]));
    assert!(e.contains("case2.nii.gz: missing"), "{e}");

    // A data set that does not say how it was made.
    std::fs::remove_file(dir.path().join("sliced/preprocess.json")).unwrap();
    let e = failed(&boundary_loss(&[
        "predict",
        &p("run"),
        "--images",
        &p("flair/case0.nii.gz"),
        &p("t1/case0.nii.gz"),
        "--out",
        &p("old"),
    ]));
    let record = std::fs::canonicalize(dir.path().join("sliced"))
        .unwrap()
        .join("preprocess.json");
    assert!(e.contains(&format!("{}: ", record.display())), "{e}");
    assert!(e.contains("slice it again"), "{e}");
}

/// ACDC's slicer writes uint8 PNG levels (normalised, resized and clipped per slice): inference
/// repeats exactly that, and the labels of the validation volume equal the run's own PNGs.
#[test]
fn acdc_volumes_are_prepared_as_their_slicer_did() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    ok(&boundary_loss(&[
        "synth",
        "acdc",
        "--dest",
        &p("raw"),
        "--cases",
        "3",
        "--slices",
        "3",
    ]));
    ok(&boundary_loss(&[
        "slice",
        "acdc",
        "--source",
        &p("raw"),
        "--dest",
        &p("sliced"),
        "--retain",
        "1",
        "--shape",
        "32",
        "32",
    ]));
    let run = "dataset = \"sliced\"\nnetwork = \"Dimwit\"\nmodalities = 1\nclasses = 4\nepochs = 2\nbatch_size = 4\nmetric_classes = [1, 2, 3]\npatient_regex = '(patient\\d+_\\d+)_\\d+_\\d+'\n\n[[streams]]\nfolder = \"img\"\nkind = \"image_png\"\n\n[[streams]]\nfolder = \"gt\"\nkind = \"one_hot\"\n\n[[losses]]\nname = \"GeneralizedDice\"\nidc = [0, 1, 2, 3]\nweight = 1.0\nstream = 1\n";
    std::fs::write(dir.path().join("run.toml"), run).unwrap();
    ok(&boundary_loss(&[
        "train",
        &p("run.toml"),
        "--out",
        &p("run"),
    ]));
    let record = preprocess::PreprocessRecord::read(&dir.path().join("sliced")).unwrap();
    let best = best_epoch(&dir.path().join("run"));
    // The first validation volume, e.g. patient001_01 = raw/patient001/patient001_frame01.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("sliced/val/img"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let volume = &names[0][..13];
    let (patient, frame) = (&volume[..10], &volume[11..13]);
    let image = dir
        .path()
        .join(format!("raw/{patient}/{patient}_frame{frame}.nii.gz"));
    let prepared =
        preprocess::inference::prepare_case(&record, std::slice::from_ref(&image)).unwrap();
    let slices = prepared.slices.len();
    assert_eq!(prepared.size, [32, 32]);
    let mut stack = Array3::<u8>::zeros((32, 32, slices));
    for (j, slice) in prepared.slices.iter().enumerate() {
        let name = format!("{volume}_00_{j:04}.png");
        let levels =
            volume_io::read_png_levels(&dir.path().join("sliced/val/img").join(&name)).unwrap();
        let expected: Vec<f32> = levels.iter().map(|&l| l as f32 / 255.0).collect();
        assert_eq!(slice, &expected, "{name}");
        let predicted = val_prediction(&dir.path().join("run"), best, &name);
        stack.slice_mut(ndarray::s![.., .., j]).assign(&predicted);
    }
    let gt = image.with_file_name(format!("{patient}_frame{frame}_gt.nii.gz"));
    ok(&boundary_loss(&[
        "predict",
        &p("run"),
        "--images",
        image.to_str().unwrap(),
        "--out",
        &p("pred"),
        "--gt",
        gt.to_str().unwrap(),
    ]));
    let predicted = volume_io::read_label_map(
        &dir.path()
            .join(format!("pred/{patient}_frame{frame}.nii.gz")),
    )
    .unwrap();
    let expected = preprocess::inference::restore_labels(&record, stack, prepared.shape);
    assert_eq!(predicted.labels, expected.mapv(u32::from).into_dyn());
    let csv = std::fs::read_to_string(dir.path().join("pred/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
}
