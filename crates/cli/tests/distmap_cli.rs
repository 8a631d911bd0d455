//! The `boundary-loss distmap` contract: formats in, .npy out, and a clear error, a non-zero
//! exit and no output file for each kind of bad input.

mod common;
use common::boundary_loss;

use std::path::{Path, PathBuf};
use std::process::Output;

use distmap::{distance_maps, MapOptions};
use ndarray::{ArrayD, Axis, IxDyn};
use ndarray_npy::{read_npy, write_npy};

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 12x10 map with a disk of class 1 and a square of class 2.
fn labels_2d() -> ArrayD<u8> {
    ArrayD::from_shape_fn(IxDyn(&[12, 10]), |ix| {
        let (y, x) = (ix[0] as f64, ix[1] as f64);
        if (y - 4.0).powi(2) + (x - 4.0).powi(2) <= 6.0 {
            1
        } else if y >= 8.0 && x >= 7.0 {
            2
        } else {
            0
        }
    })
}

fn expect_failure(output: &Output, names: &Path, mentions: &str, no_file: &Path) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "must fail; stderr: {stderr}");
    assert!(
        stderr.contains(path_str(names)),
        "the error names {}: {stderr}",
        names.display()
    );
    assert!(
        stderr.contains(mentions),
        "the error says '{mentions}': {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(!no_file.exists(), "no output file is left behind");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(no_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left behind: {leftovers:?}"
    );
}

#[test]
fn npy_of_any_integer_dtype_gives_the_library_maps() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels_2d();
    let want: ArrayD<f64> =
        distance_maps(labels.view(), 3, &[0.97, 2.5], &MapOptions::default()).unwrap();
    for dtype in ["u8", "i16", "u16", "i32", "i64"] {
        let input = dir.path().join(format!("labels_{dtype}.npy"));
        match dtype {
            "u8" => write_npy(&input, &labels).unwrap(),
            "i16" => write_npy(&input, &labels.mapv(i16::from)).unwrap(),
            "u16" => write_npy(&input, &labels.mapv(u16::from)).unwrap(),
            "i32" => write_npy(&input, &labels.mapv(i32::from)).unwrap(),
            _ => write_npy(&input, &labels.mapv(i64::from)).unwrap(),
        }
        let output = dir.path().join(format!("maps_{dtype}.npy"));
        let run = boundary_loss(&[
            "distmap",
            path_str(&input),
            path_str(&output),
            "--spacing",
            "0.97,2.5",
            "--dtype",
            "f64",
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got: ArrayD<f64> = read_npy(&output).unwrap();
        assert_eq!(got, want, "{dtype}");
    }
}

/// Runs `distmap` on [`labels_2d`] with `options` and reads its output.
fn maps_of_labels_2d(options: &[&str]) -> ArrayD<f32> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("labels.npy");
    write_npy(&input, &labels_2d()).unwrap();
    let output = dir.path().join("maps.npy");
    let mut args = vec!["distmap", path_str(&input), path_str(&output)];
    args.extend_from_slice(options);
    let run = boundary_loss(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    read_npy(&output).unwrap()
}

#[test]
fn options_reach_the_library() {
    let got = maps_of_labels_2d(&[
        "--classes",
        "4",
        "--kind",
        "hd",
        "--truncate",
        "--border",
        "corrected",
        "--whole-image",
        "zeros",
        "--threads",
        "1",
    ]);
    let options = MapOptions {
        kind: distmap::MapKind::Hausdorff,
        truncate: true,
        border: distmap::BorderOffset::Corrected,
        whole_image: distmap::WholeImageClass::Zeros,
        absent: distmap::AbsentClass::Zeros,
    };
    let want: ArrayD<f32> = distance_maps(labels_2d().view(), 4, &[1.0, 1.0], &options).unwrap();
    assert_eq!(got.shape(), &[4, 12, 10]);
    assert_eq!(got, want);
}

/// `--absent diagonal`: the map of a class the image does not hold is the image's diagonal in mm.
#[test]
fn absent_class_gets_the_diagonal_on_request() {
    let got = maps_of_labels_2d(&[
        "--classes",
        "4",
        "--spacing",
        "0.5,2",
        "--absent",
        "diagonal",
    ]);
    let spacing = [0.5, 2.0];
    let original: ArrayD<f32> =
        distance_maps(labels_2d().view(), 4, &spacing, &MapOptions::default()).unwrap();
    // 12 x 10 elements at 0.5 x 2 mm.
    let diagonal = ((12.0f64 * 0.5).powi(2) + (10.0f64 * 2.0).powi(2)).sqrt() as f32;
    assert!(!labels_2d().iter().any(|&l| l == 3));
    for k in 0..4 {
        let (g, o) = (got.index_axis(Axis(0), k), original.index_axis(Axis(0), k));
        if k == 3 {
            assert!(g.iter().all(|&v| v == diagonal), "{g:?}");
        } else {
            assert_eq!(g, o, "class {k}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("labels.npy");
    write_npy(&input, &labels_2d()).unwrap();
    let output = dir.path().join("maps.npy");
    let bad = boundary_loss(&[
        "distmap",
        path_str(&input),
        path_str(&output),
        "--absent",
        "far",
    ]);
    assert!(!bad.status.success());
    assert!(!output.exists());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("zeros, diagonal"));
}

#[test]
fn png_8_and_16_bit_gray_levels_are_class_indices() {
    let dir = tempfile::tempdir().unwrap();
    let labels = labels_2d();
    let (h, w) = (labels.shape()[0] as u32, labels.shape()[1] as u32);
    let want: ArrayD<f32> =
        distance_maps(labels.view(), 3, &[1.0, 1.0], &MapOptions::default()).unwrap();
    let png8 = dir.path().join("gray8.png");
    image::GrayImage::from_raw(w, h, labels.iter().copied().collect())
        .unwrap()
        .save(&png8)
        .unwrap();
    let png16 = dir.path().join("gray16.png");
    image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(
        w,
        h,
        labels.iter().map(|&l| l as u16).collect(),
    )
    .unwrap()
    .save(&png16)
    .unwrap();
    for input in [png8, png16] {
        let output = input.with_extension("npy");
        let run = boundary_loss(&["distmap", path_str(&input), path_str(&output)]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got: ArrayD<f32> = read_npy(&output).unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn nifti_spacing_comes_from_the_header_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let labels = ArrayD::from_shape_fn(IxDyn(&[9, 8, 5]), |ix| {
        u8::from(ix[0] >= 3 && ix[0] < 6 && ix[1] > 2 && ix[2] >= 2)
    });
    let input = dir.path().join("volume.nii.gz");
    let header = nifti::NiftiHeader {
        pixdim: [1.0, 0.75, 0.75, 2.5, 1.0, 1.0, 1.0, 1.0],
        ..Default::default()
    };
    nifti::writer::WriterOptions::new(&input)
        .reference_header(&header)
        .write_nifti(&labels)
        .unwrap();
    let output = dir.path().join("maps.npy");
    let run = boundary_loss(&[
        "distmap",
        path_str(&input),
        path_str(&output),
        "--dtype",
        "f64",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let got: ArrayD<f64> = read_npy(&output).unwrap();
    let want: ArrayD<f64> =
        distance_maps(labels.view(), 2, &[0.75, 0.75, 2.5], &MapOptions::default()).unwrap();
    assert_eq!(got, want);
    let run = boundary_loss(&[
        "distmap",
        path_str(&input),
        path_str(&output),
        "--dtype",
        "f64",
        "--spacing",
        "1,1,1",
    ]);
    assert!(run.status.success());
    let got: ArrayD<f64> = read_npy(&output).unwrap();
    let want: ArrayD<f64> =
        distance_maps(labels.view(), 2, &[1.0, 1.0, 1.0], &MapOptions::default()).unwrap();
    assert_eq!(got, want);
}

#[test]
fn label_not_below_classes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("labels.npy");
    write_npy(&input, &labels_2d()).unwrap();
    let output = dir.path().join("maps.npy");
    let run = boundary_loss(&[
        "distmap",
        path_str(&input),
        path_str(&output),
        "--classes",
        "2",
    ]);
    expect_failure(&run, &input, "label 2", &output);
}

#[test]
fn float_npy_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("probabilities.npy");
    write_npy(&input, &labels_2d().mapv(f32::from)).unwrap();
    let output = dir.path().join("maps.npy");
    let run = boundary_loss(&["distmap", path_str(&input), path_str(&output)]);
    expect_failure(&run, &input, "floating-point", &output);
}

#[test]
fn wrong_number_of_spacings_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("labels.npy");
    write_npy(&input, &labels_2d()).unwrap();
    let output = dir.path().join("maps.npy");
    let run = boundary_loss(&[
        "distmap",
        path_str(&input),
        path_str(&output),
        "--spacing",
        "1,1,2.5",
    ]);
    expect_failure(&run, &input, "3 spacing value(s)", &output);
    let run = boundary_loss(&[
        "distmap",
        path_str(&input),
        path_str(&output),
        "--spacing",
        "1,-2",
    ]);
    expect_failure(&run, &input, "positive", &output);
}

#[test]
fn unreadable_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("maps.npy");
    let missing = dir.path().join("missing.npy");
    expect_failure(
        &boundary_loss(&["distmap", path_str(&missing), path_str(&output)]),
        &missing,
        "No such file",
        &output,
    );
    for (name, bytes) in [
        ("garbage.npy", &b"not an npy"[..]),
        ("garbage.png", b"\x89PNG nope"),
        ("garbage.nii.gz", b"nope"),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        expect_failure(
            &boundary_loss(&["distmap", path_str(&input), path_str(&output)]),
            &input,
            "not a readable",
            &output,
        );
    }
    let input = dir.path().join("labels.txt");
    std::fs::write(&input, "0 1").unwrap();
    expect_failure(
        &boundary_loss(&["distmap", path_str(&input), path_str(&output)]),
        &input,
        "unsupported file type",
        &output,
    );
    let rgb = dir.path().join("color.png");
    image::RgbImage::new(4, 4).save(&rgb).unwrap();
    expect_failure(
        &boundary_loss(&["distmap", path_str(&rgb), path_str(&output)]),
        &rgb,
        "gray",
        &output,
    );
}

#[test]
fn folder_mode_converts_every_file_and_names_the_failures() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("labels");
    std::fs::create_dir(&inputs).unwrap();
    for i in 0..5 {
        write_npy(inputs.join(format!("case_{i}.npy")), &labels_2d()).unwrap();
    }
    let bad = inputs.join("case_bad.npy");
    write_npy(&bad, &labels_2d().mapv(f64::from)).unwrap();
    std::fs::write(inputs.join("notes.txt"), "ignored").unwrap();
    let outputs = dir.path().join("maps");
    let run = boundary_loss(&[
        "distmap",
        path_str(&inputs),
        path_str(&outputs),
        "--classes",
        "3",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains(path_str(&bad)) && stderr.contains("floating-point"),
        "{stderr}"
    );
    let mut written: Vec<String> = std::fs::read_dir(&outputs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        (0..5).map(|i| format!("case_{i}.npy")).collect::<Vec<_>>()
    );
    let want: ArrayD<f32> =
        distance_maps(labels_2d().view(), 3, &[1.0, 1.0], &MapOptions::default()).unwrap();
    let got: ArrayD<f32> = read_npy(outputs.join("case_3.npy")).unwrap();
    assert_eq!(got, want);
}
