//! The page generator on generated slices: the files it writes, the numbers it shows (against
//! brute force), its refusals.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use viewer::{write_view, EpochInput, RunInput, SliceInput, ViewInput, MARKER};

/// A square of class `k` at (y, x) of side `side` in an `n` x `n` map.
fn square(n: usize, y: usize, x: usize, side: usize, k: u8) -> Array2<u8> {
    Array2::from_shape_fn((n, n), |(i, j)| {
        if (y..y + side).contains(&i) && (x..x + side).contains(&j) {
            k
        } else {
            0
        }
    })
}

fn npy(path: &Path, labels: &Array2<u8>) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ndarray_npy::write_npy(path, labels).unwrap();
    path.to_path_buf()
}

/// Two patients of two 20x20 slices; one run with two epochs.
fn input(dir: &Path) -> ViewInput {
    let mut slices = Vec::new();
    let mut epochs = vec![
        EpochInput {
            epoch: 0,
            predictions: vec![],
        },
        EpochInput {
            epoch: 1,
            predictions: vec![],
        },
    ];
    for p in 0..2 {
        for s in 0..2 {
            let name = format!("case_{p}_{s}");
            let image = Array2::from_shape_fn((20, 20), |(y, x)| (y * 20 + x) as f32 / 400.0);
            let image_path = dir.join("img").join(format!("{name}.npy"));
            std::fs::create_dir_all(image_path.parent().unwrap()).unwrap();
            ndarray_npy::write_npy(&image_path, &image).unwrap();
            let truth = if s == 0 {
                square(20, 5, 5, 6, 1)
            } else {
                Array2::zeros((20, 20))
            };
            slices.push(SliceInput {
                name: name.clone(),
                patient: format!("case_{p}"),
                image: image_path,
                channel: 0,
                truth: npy(&dir.join("gt").join(format!("{name}.npy")), &truth),
                spacing: [0.5, 2.0],
                slice: None,
            });
            // Epoch 0: the square moved by 2 rows; epoch 1: exact.
            let moved = if s == 0 {
                square(20, 7, 5, 6, 1)
            } else {
                square(20, 0, 0, 1, 1)
            };
            epochs[0]
                .predictions
                .push(npy(&dir.join("e0").join(format!("{name}.npy")), &moved));
            epochs[1]
                .predictions
                .push(npy(&dir.join("e1").join(format!("{name}.npy")), &truth));
        }
    }
    ViewInput {
        title: "test view".into(),
        classes: 2,
        metric_classes: vec![1],
        units: "mm".into(),
        slices,
        runs: vec![RunInput {
            name: "gdl/seed0".into(),
            epochs,
            best_epoch: Some(1),
        }],
        crop: 2,
        zoom: None,
        per_page: 3,
    }
}

fn page_data(index: &Path) -> serde_json::Value {
    let page = std::fs::read_to_string(index).unwrap();
    let start = page.find(r#"id="view-data">"#).unwrap() + 15;
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

#[test]
fn writes_every_image_and_the_numbers_of_each_panel() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let out = dir.path().join("view");
    let summary = write_view(&input, &out, &|| {}).unwrap();
    assert_eq!(summary.slices, 4);
    let data = page_data(&out.join("index.html"));
    // 16x16 after cropping 2 pixels each side: 200 pixels would need 13, the zoom stops at 8.
    assert_eq!(data["zoom"], 8);
    let first = &data["slices"][0];
    assert_eq!(first["name"], "case_0_0");
    assert_eq!(first["patient"], "case_0");
    assert_eq!(first["width"], 16 * 8);
    assert_eq!(first["areas"][0], 36);
    // Epoch 0 moved the square by 2 rows of 0.5 mm: Dice 2*24/72, Hausdorff 1 mm.
    let moved = &first["runs"][0][0]["metrics"][0];
    assert!((moved["dice"].as_f64().unwrap() - 48.0 / 72.0).abs() < 1e-9);
    assert!((moved["hd"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let exact = &first["runs"][0][1]["metrics"][0];
    assert!((exact["dice"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert_eq!(exact["hd"], 0.0);
    // A false positive on an empty truth: Dice ~0, HD the slice's diagonal (20x0.5, 20x2 mm).
    let false_positive = &data["slices"][1]["runs"][0][0]["metrics"][0];
    assert!(false_positive["dice"].as_f64().unwrap() < 1e-6);
    let diagonal = (10.0f64.powi(2) + 40.0f64.powi(2)).sqrt();
    assert!((false_positive["hd"].as_f64().unwrap() - diagonal).abs() < 1e-9);
    assert_eq!(false_positive["empty"], "truth");
    // Files: the image of every slice; overlays only where the shown (cropped) pixels hold
    // foreground: the false positive at (0, 0) is cropped away.
    for s in 0..4 {
        let image = image::open(out.join(format!("img/s{s:05}.png"))).unwrap();
        assert_eq!((image.width(), image.height()), (128, 128));
    }
    assert!(out.join("truth/s00000_fill.png").is_file());
    assert!(out.join("truth/s00000_outline.png").is_file());
    assert!(!out.join("truth/s00001_fill.png").exists());
    assert!(first["truth"].is_string());
    assert!(data["slices"][1]["truth"].is_null());
    assert!(out.join("run0/e0001/s00000_line.png").is_file());
    assert!(!out.join("run0/e0000/s00001_line.png").exists());
    assert!(data["slices"][1]["runs"][0][0]["overlay"].is_null());
    assert!(out.join(MARKER).is_file());
    // The filled overlay colours the square's pixels with class 1's colour.
    let fill = image::open(out.join("truth/s00000_fill.png"))
        .unwrap()
        .to_rgba8();
    let inside = fill.get_pixel((5 - 2) * 8 + 20, (5 - 2) * 8 + 20).0;
    assert_eq!(&inside[..3], &viewer::palette::class_colour(1));
    assert_eq!(fill.get_pixel(0, 0).0[3], 0);
}

#[test]
fn refuses_a_folder_that_is_not_a_view_and_replaces_a_view() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep").unwrap();
    let error = write_view(&input, &other, &|| {}).unwrap_err().to_string();
    assert!(error.contains("is not a view"), "{error}");
    assert!(other.join("notes.txt").is_file());
    let out = dir.path().join("view");
    write_view(&input, &out, &|| {}).unwrap();
    std::fs::write(out.join("stale.png"), "old").unwrap();
    write_view(&input, &out, &|| {}).unwrap();
    assert!(!out.join("stale.png").exists());
}

#[test]
fn bad_inputs_name_the_file_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("view");
    let mut bad = input(dir.path());
    let wrong = npy(&dir.path().join("bad.npy"), &square(12, 1, 1, 2, 1));
    bad.runs[0].epochs[1].predictions[2] = wrong.clone();
    let error = write_view(&bad, &out, &|| {}).unwrap_err().to_string();
    assert!(
        error.contains("bad.npy") && error.contains("is 12x12"),
        "{error}"
    );
    assert!(!out.exists());
    assert!(!dir.path().join(".view.partial").exists());

    let mut label = input(dir.path());
    let three = npy(&dir.path().join("three.npy"), &square(20, 1, 1, 2, 3));
    label.slices[0].truth = three;
    let error = write_view(&label, &out, &|| {}).unwrap_err().to_string();
    assert!(
        error.contains("three.npy") && error.contains("label 3"),
        "{error}"
    );

    let mut crop = input(dir.path());
    crop.crop = 10;
    let error = write_view(&crop, &out, &|| {}).unwrap_err().to_string();
    assert!(error.contains("leaves nothing"), "{error}");
    assert!(!out.exists());
}
