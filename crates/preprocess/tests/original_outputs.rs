//! Agreement with the original's preprocessing: the raw synthetic volumes in
//! `tests/data/original/{wmh,acdc}` sliced by us must give the arrays, PNGs, names and spacings
//! the original scripts gave (`tests/data/original/{WMH,ACDC-2D}`): floats within 1e-6, integers
//! and PNG levels exactly. Slices are compared by name, whichever split they landed in.

mod common;
use common::files_below;

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;
use preprocess::{OfficialDataset, SliceDataset};
use volume_io::{read_png_levels, read_spacing_pickle};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/original")
}

fn job(dataset: OfficialDataset, source: PathBuf, dest: PathBuf, retain: usize) -> SliceDataset {
    SliceDataset {
        dataset,
        source,
        dest,
        retain,
        seed: 0,
        fold: 0,
        shape: [256, 256],
        augment: 0,
        discard_negatives: false,
    }
}

/// Our file for the reference file `folder/name`, in either split.
fn ours(root: &Path, folder: &str, name: &str) -> PathBuf {
    ["train", "val"]
        .iter()
        .map(|s| root.join(s).join(folder).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("we wrote no {folder}/{name}"))
}

fn read_npy<T: ndarray_npy::ReadableElement>(path: &Path) -> ArrayD<T> {
    ArrayD::<T>::read_npy(std::fs::File::open(path).unwrap()).unwrap()
}

#[test]
fn wmh_slices_match_the_original() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("WMH");
    let sliced = job(OfficialDataset::Wmh, data().join("wmh"), dest.clone(), 1)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap();
    // random.seed(0); random.sample(["0", "100", "50"], 1) picks "100", as in the original's log.
    assert_eq!(sliced.val_cases, ["100"]);
    assert_eq!(sliced.train_cases, ["0", "50"]);
    assert_eq!(sliced.slices, 13);

    let reference = data().join("WMH");
    let mut compared = 0;
    for file in files_below(&reference) {
        let rel = file.strip_prefix(&reference).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap();
        if rel.components().count() < 3 {
            continue; // spacing files, compared below
        }
        let folder = rel.parent().unwrap().file_name().unwrap().to_str().unwrap();
        let mine = ours(&dest, folder, name);
        match folder {
            "in_npy" | "3d_distmap" => {
                let (want, got) = (read_npy::<f32>(&file), read_npy::<f32>(&mine));
                assert_eq!(want.shape(), got.shape(), "{}", rel.display());
                let worst = want
                    .iter()
                    .zip(&got)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst <= 1e-6, "{}: max difference {worst}", rel.display());
            }
            "gt_npy" => assert_eq!(read_npy::<u8>(&file), read_npy::<u8>(&mine), "{rel:?}"),
            _ => assert_eq!(
                read_png_levels(&file).unwrap(),
                read_png_levels(&mine).unwrap(),
                "{}",
                rel.display()
            ),
        }
        compared += 1;
    }
    assert_eq!(compared, 13 + 3 * 5);

    for split in ["train", "val"] {
        let want = read_spacing_pickle(&reference.join(split).join("spacing.pkl")).unwrap();
        let got = read_spacing_pickle(&dest.join(split).join("spacing.pkl")).unwrap();
        assert_eq!(want, got, "{split}/spacing.pkl");
    }
    let want = read_spacing_pickle(&reference.join("spacing_3d.pkl")).unwrap();
    let got = read_spacing_pickle(&dest.join("spacing_3d.pkl")).unwrap();
    assert_eq!(want, got, "spacing_3d.pkl");
}

#[test]
fn acdc_slices_match_the_original() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("ACDC-2D");
    let sliced = job(
        OfficialDataset::Acdc,
        data().join("acdc/training"),
        dest.clone(),
        1,
    )
    .run(&indicatif::ProgressBar::hidden())
    .unwrap();
    assert_eq!(sliced.slices, 5 * 2 * 3);
    assert_eq!(sliced.val_cases.len(), 2, "one patient, both frames");

    let reference = data().join("ACDC-2D");
    let mut compared = 0;
    for file in files_below(&reference) {
        let rel = file.strip_prefix(&reference).unwrap();
        let folder = rel.parent().unwrap().file_name().unwrap().to_str().unwrap();
        // The original's unpadded patient001_01_0_7.png is our patient001_01_00_0007.png.
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let parts: Vec<&str> = stem.rsplitn(3, '_').collect();
        let (j, k, volume): (usize, usize, &str) = (
            parts[0].parse().unwrap(),
            parts[1].parse().unwrap(),
            parts[2],
        );
        let mine = ours(&dest, folder, &format!("{volume}_{k:02}_{j:04}.png"));
        assert_eq!(
            read_png_levels(&file).unwrap(),
            read_png_levels(&mine).unwrap(),
            "{}",
            rel.display()
        );
        compared += 1;
    }
    assert_eq!(compared, 5 * 2 * 3 * 2);
}

/// ISLES has no reference output here (its archive is not public): each slice is checked
/// against the original's steps computed directly from the raw volumes (float32 min-max per
/// volume, no resizing, labels as they are, signed maps of the whole volume with the header's
/// spacing, PNG levels `uint8(x * 255)`, float32 spacings).
#[test]
fn isles_slices_are_the_original_steps_applied_to_the_raw_volumes() {
    use distmap::{distance_maps, MapOptions};
    use ndarray::{s, Axis};
    use volume_io::read_nifti_f32;

    let out = tempfile::tempdir().unwrap();
    let raw = out.path().join("raw");
    preprocess::Synthesize {
        dataset: OfficialDataset::Isles,
        dest: raw.clone(),
        cases: 2,
        slices: Some(3),
        seed: 5,
    }
    .run()
    .unwrap();
    let dest = out.path().join("ISLES");
    let sliced = job(OfficialDataset::Isles, raw.clone(), dest.clone(), 1)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap();
    assert_eq!(sliced.slices, 6);
    let volumes = read_spacing_pickle(&dest.join("spacing_3d.pkl")).unwrap();
    for case in ["case_1", "case_2"] {
        let folders: Vec<PathBuf> = files_below(&raw.join(case))
            .into_iter()
            .map(|p| p.to_path_buf())
            .collect();
        let find = |token: &str| {
            folders
                .iter()
                .find(|p| p.to_str().unwrap().contains(&format!(".O.{token}.")))
                .unwrap()
                .clone()
        };
        let (gt, spacing) = read_nifti_f32(&find("OT")).unwrap();
        let gt = gt.mapv(|v| v as u8);
        assert_eq!(volumes[case], spacing);
        let modalities: Vec<ArrayD<f32>> = ["CT", "CT_CBF", "CT_CBV", "CT_MTT", "CT_Tmax"]
            .iter()
            .map(|t| {
                let (v, _) = read_nifti_f32(&find(t)).unwrap();
                let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
                let shifted = v.mapv(|x| x - lo);
                let hi = shifted.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                shifted.mapv(|x| x / hi)
            })
            .collect();
        let maps: ArrayD<f32> =
            distance_maps(gt.view(), 2, &spacing, &MapOptions::default()).unwrap();
        for j in 0..3 {
            let name = format!("{case}_00_{j:04}");
            let image = read_npy::<f32>(&ours(&dest, "in_npy", &format!("{name}.npy")));
            for (m, modality) in modalities.iter().enumerate() {
                assert_eq!(
                    image.index_axis(Axis(0), m),
                    modality.slice(s![.., .., j]).into_dyn(),
                    "{name} channel {m}"
                );
            }
            let png = read_png_levels(&ours(&dest, "cbf", &format!("{name}.png"))).unwrap();
            assert_eq!(
                png,
                modalities[1]
                    .slice(s![.., .., j])
                    .mapv(|x| (x * 255.0) as u8 as u16)
                    .into_dyn()
            );
            let labels = read_npy::<u8>(&ours(&dest, "gt_npy", &format!("{name}.npy")));
            assert_eq!(labels, gt.slice(s![.., .., j]).into_dyn());
            let map = read_npy::<f32>(&ours(&dest, "3d_distmap", &format!("{name}.npy")));
            assert_eq!(map, maps.slice(s![.., .., .., j]).into_dyn());
        }
    }
}
