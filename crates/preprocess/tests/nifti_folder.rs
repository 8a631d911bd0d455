//! `slice nifti` options: in-plane resizing (images, labels, spacing and the maps computed on the
//! resized labels) and flip augmentation (image, labels and distance map flipped together).

use std::path::Path;

use distmap::{distance_maps, MapOptions};
use ndarray::{Array3, ArrayD, Axis};
use ndarray_npy::read_npy;
use preprocess::resize::resize_label_volume;
use preprocess::SliceNifti;

const SPACING: [f32; 3] = [0.9, 0.8, 3.0];

fn write<A: nifti::DataElement + bytemuck::Pod>(path: &Path, volume: &Array3<A>) {
    volume_io::write_nifti(path, volume, &SPACING).unwrap();
}

fn labels_of(case: usize) -> Array3<u8> {
    Array3::from_shape_fn((12, 10, 4), |(x, y, z)| {
        let (dx, dy) = (x as f64 - 3.0 - case as f64, y as f64 - 4.0);
        u8::from(dx * dx + 2.0 * dy * dy <= 7.0 && z >= 1)
    })
}

fn make_cases(root: &Path) {
    for folder in ["flair", "labels"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    for case in 0..3 {
        let name = format!("case{case}.nii.gz");
        let flair = Array3::from_shape_fn((12, 10, 4), |(x, y, z)| {
            (x * 7 + y * 3 + z * 5 + case) as f32
        });
        write(&root.join("flair").join(&name), &flair);
        write(&root.join("labels").join(&name), &labels_of(case));
    }
}

fn job(root: &Path, shape: Option<[usize; 2]>, augment: usize) -> SliceNifti {
    SliceNifti {
        image_dirs: vec![root.join("flair")],
        label_dir: root.join("labels"),
        dest: root.join("sliced"),
        axis: 2,
        retain: 1,
        seed: 0,
        classes: None,
        shape,
        augment,
    }
}

#[test]
fn resizing_scales_images_labels_spacing_and_maps_together() {
    let dir = tempfile::tempdir().unwrap();
    make_cases(dir.path());
    let sliced = job(dir.path(), Some([24, 15]), 0)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap();
    let case: usize = sliced.val_cases[0][4..].parse().unwrap();
    let resized = resize_label_volume(&labels_of(case), [24, 15]);
    let spacing = [
        SPACING[0] as f64 * 12.0 / 24.0,
        SPACING[1] as f64 * 10.0 / 15.0,
        SPACING[2] as f64,
    ];
    let maps: ArrayD<f32> = distance_maps(
        resized.view().into_dyn(),
        2,
        &spacing,
        &MapOptions::default(),
    )
    .unwrap();
    let val = dir.path().join("sliced/val");
    for z in 0..4 {
        let name = format!("case{case}_00_{z:04}.npy");
        let image: ArrayD<f32> = read_npy(val.join("in_npy").join(&name)).unwrap();
        assert_eq!(image.shape(), [1, 24, 15]);
        let gt: ArrayD<u8> = read_npy(val.join("gt_npy").join(&name)).unwrap();
        assert_eq!(gt, resized.index_axis(Axis(2), z).into_dyn());
        let map: ArrayD<f32> = read_npy(val.join("3d_distmap").join(&name)).unwrap();
        assert_eq!(map, maps.index_axis(Axis(3), z));
    }
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(val.join("spacing.json")).unwrap()).unwrap();
    assert_eq!(
        table[format!("case{case}_00_0000")],
        serde_json::json!([spacing[0], spacing[1]])
    );
}

/// The four flips the augmentation can give (none, both axes, columns, rows) of a (..., H, W)
/// array.
fn flips(a: &ArrayD<f32>) -> Vec<ArrayD<f32>> {
    let n = a.ndim();
    let mut out = Vec::new();
    for (rows, cols) in [(false, false), (true, true), (false, true), (true, false)] {
        let mut v = a.view();
        if rows {
            v.invert_axis(Axis(n - 2));
        }
        if cols {
            v.invert_axis(Axis(n - 1));
        }
        out.push(v.to_owned());
    }
    out
}

#[test]
fn augmented_copies_flip_image_labels_and_distance_map_together() {
    let dir = tempfile::tempdir().unwrap();
    make_cases(dir.path());
    let sliced = job(dir.path(), None, 3)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap();
    assert_eq!(sliced.slices, 2 * 4 * 4 + 4);
    let train = dir.path().join("sliced/train");
    let read = |folder: &str, name: &str| -> ArrayD<f32> {
        let path = train.join(folder).join(format!("{name}.npy"));
        match folder {
            "gt_npy" => read_npy::<_, ArrayD<u8>>(path).unwrap().mapv(f32::from),
            _ => read_npy(path).unwrap(),
        }
    };
    let mut flipped_copies = 0;
    for case in &sliced.train_cases {
        for z in 0..4 {
            let original = format!("{case}_00_{z:04}");
            for k in 1..=3 {
                let copy = format!("{case}_{k:02}_{z:04}");
                let candidates: Vec<usize> = (0..4)
                    .filter(|&f| {
                        ["in_npy", "gt_npy", "3d_distmap"]
                            .iter()
                            .all(|folder| flips(&read(folder, &original))[f] == read(folder, &copy))
                    })
                    .collect();
                assert!(!candidates.is_empty(), "{copy} is no flip of {original}");
                flipped_copies += usize::from(!candidates.contains(&0));
            }
        }
    }
    assert!(flipped_copies > 0, "some copies are actually flipped");
}

#[test]
fn a_trailing_time_axis_of_one_frame_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    make_cases(dir.path());
    let four_d =
        |case: usize| -> ndarray::Array4<u8> { labels_of(case).insert_axis(Axis(3)).to_owned() };
    for case in 0..3 {
        let path = dir.path().join(format!("labels/case{case}.nii.gz"));
        nifti::writer::WriterOptions::new(&path)
            .write_nifti(&four_d(case))
            .unwrap();
    }
    let sliced = job(dir.path(), None, 0)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap();
    assert_eq!(sliced.slices, 3 * 4);
    // A real fourth axis is refused, naming the file.
    let path = dir.path().join("labels/case1.nii.gz");
    let two_frames = ndarray::concatenate(Axis(3), &[four_d(1).view(), four_d(1).view()]).unwrap();
    nifti::writer::WriterOptions::new(&path)
        .write_nifti(&two_frames)
        .unwrap();
    std::fs::remove_dir_all(dir.path().join("sliced")).unwrap();
    let err = job(dir.path(), None, 0)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(err.contains("case1.nii.gz") && err.contains("3-D"), "{err}");
}
