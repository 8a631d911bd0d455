//! The original data loader's less common transforms, as stream kinds:
//!
//! * `image_png_equalized` (`equalized_png`): Pillow's `ImageOps.equalize` against Pillow's own
//!   outputs (tests/reference/equalize.json, written by make_equalize.py), directly and through
//!   a data set read;
//! * `dummy_one_hot` (`dummy_gt_transform`): class 0 everywhere, whatever the class map holds.

use std::collections::BTreeMap;
use std::path::Path;

use boundary_loss::data::{equalize_levels, Dataset, Stream, StreamKind};
use serde::Deserialize;
use volume_io::write_png_u8;

#[derive(Deserialize)]
struct Case {
    shape: Vec<usize>,
    levels: Vec<u8>,
    equalized: Vec<u8>,
}

#[derive(Deserialize)]
struct Reference {
    cases: BTreeMap<String, Case>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("reference/equalize.json")).unwrap()
}

#[test]
fn equalization_matches_pillow() {
    let reference = reference();
    assert_eq!(reference.cases.len(), 6);
    for (name, case) in &reference.cases {
        let mut levels = case.levels.clone();
        equalize_levels(&mut levels);
        assert_eq!(levels, case.equalized, "{name}");
    }
}

/// A split `root/val` with one slice per case: `img/` the case's levels, `gt/` a class map.
fn split(root: &Path, reference: &Reference) -> Vec<String> {
    for folder in ["img", "gt"] {
        std::fs::create_dir_all(root.join("val").join(folder)).unwrap();
    }
    let mut names = Vec::new();
    for (name, case) in &reference.cases {
        let (h, w) = (case.shape[0], case.shape[1]);
        write_png_u8(
            &root.join("val/img").join(format!("{name}.png")),
            &case.levels,
            h,
            w,
        )
        .unwrap();
        let labels: Vec<u8> = (0..h * w).map(|i| (i % 3 == 0) as u8).collect();
        write_png_u8(
            &root.join("val/gt").join(format!("{name}.png")),
            &labels,
            h,
            w,
        )
        .unwrap();
        names.push(name.clone());
    }
    names
}

#[test]
fn equalized_and_dummy_streams_read_as_the_original_loader() {
    let reference = reference();
    let dir = tempfile::tempdir().unwrap();
    split(dir.path(), &reference);
    let streams = vec![
        Stream::new("img", StreamKind::ImagePngEqualized),
        Stream::new("gt", StreamKind::DummyOneHot),
        Stream::new("gt", StreamKind::OneHot),
    ];
    let dataset = Dataset::open(dir.path(), "val", streams, 2).unwrap();
    assert_eq!(dataset.len(), reference.cases.len());
    for index in 0..dataset.len() {
        let name = dataset.names()[index].trim_end_matches(".png").to_string();
        let case = &reference.cases[&name];
        let slice = dataset.read(index).unwrap();
        let expected: Vec<f32> = case.equalized.iter().map(|&l| l as f32 / 255.0).collect();
        assert_eq!(slice.streams[0], expected, "{name}: equalized image");
        let pixels = expected.len();
        let dummy = &slice.streams[1];
        assert_eq!(dummy.len(), 2 * pixels);
        assert!(dummy[..pixels].iter().all(|&v| v == 1.0), "{name}: class 0");
        assert!(dummy[pixels..].iter().all(|&v| v == 0.0), "{name}: class 1");
        // The class map it came from does hold class 1.
        assert!(slice.streams[2][pixels..].contains(&1.0));
    }
}
