//! Agreement with the original's preprocessing: the raw synthetic volumes in
//! `tests/data/original/{wmh,acdc}` sliced by us must give the arrays, PNGs, names and spacings
//! the original scripts gave (`tests/data/original/{WMH,ACDC-2D}`): floats within 1e-6, integers
//! and PNG levels exactly. Slices are compared by name, whichever split they landed in.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;
use preprocess::{Dataset, SliceDataset};
use volume_io::{read_png_levels, read_spacing_pickle};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/original")
}

fn job(dataset: Dataset, source: PathBuf, dest: PathBuf, retain: usize) -> SliceDataset {
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

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
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
    let sliced = job(Dataset::Wmh, data().join("wmh"), dest.clone(), 1)
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
    let sliced = job(Dataset::Acdc, data().join("acdc/training"), dest.clone(), 1)
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
