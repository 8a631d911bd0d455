//! `unpack`: archives in the official layouts (made here from synthetic raw data, plus the junk
//! the make files delete) unpack to exactly the raw folders the slicers read; a wrong md5 sum or
//! a missing archive is an error naming the file, and nothing is unpacked.

mod common;
use common::files_below;

use std::io::Write;
use std::path::{Path, PathBuf};

use preprocess::{md5_hex, Archive, OfficialDataset, Synthesize, Unpack};

/// Zips `files` (relative name inside the archive -> content) into `path`.
fn zip_files(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::FileOptions::default();
    for (name, content) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
}

fn synth(dataset: OfficialDataset, dest: &Path, cases: usize) {
    Synthesize {
        dataset,
        dest: dest.to_path_buf(),
        cases,
        slices: Some(2),
        seed: 1,
    }
    .run()
    .unwrap();
}

/// The files of `raw` as archive entries under `prefix`.
fn entries(raw: &Path, prefix: &str, keep: impl Fn(&Path) -> bool) -> Vec<(String, Vec<u8>)> {
    files_below(raw)
        .into_iter()
        .filter(|p| keep(p.strip_prefix(raw).unwrap()))
        .map(|p| {
            let rel = p.strip_prefix(raw).unwrap().to_str().unwrap().to_string();
            (format!("{prefix}{rel}"), std::fs::read(&p).unwrap())
        })
        .collect()
}

fn archive_list(dir: &Path, names: &[&str]) -> Vec<Archive> {
    names
        .iter()
        .map(|n| Archive {
            name: n.to_string(),
            md5: md5_hex(&dir.join(n)).unwrap(),
            required: true,
        })
        .collect()
}

fn same_tree(a: &Path, b: &Path) {
    let rel = |root: &Path| -> Vec<PathBuf> {
        files_below(root)
            .into_iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect()
    };
    assert_eq!(rel(a), rel(b));
    for file in rel(a) {
        assert_eq!(
            std::fs::read(a.join(&file)).unwrap(),
            std::fs::read(b.join(&file)).unwrap()
        );
    }
}

#[test]
fn wmh_sites_are_flattened_and_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    synth(OfficialDataset::Wmh, &raw, 6);
    let archives = dir.path().join("archives");
    std::fs::create_dir(&archives).unwrap();
    for (zip_name, site, first) in [
        ("Utrecht.zip", "Utrecht", 0),
        ("Singapore.zip", "Singapore", 50),
        ("Amsterdam_GE3T.zip", "GE3T", 100),
    ] {
        let mut files = entries(&raw, &format!("{site}/"), |rel| {
            let id: usize = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            (first..first + 50).contains(&id)
        });
        files.push((
            format!("{site}/{first}/orig/FLAIR.nii.gz"),
            b"raw scanner data".to_vec(),
        ));
        files.push((
            format!("{site}/{first}/pre/3DT1.nii.gz"),
            b"cannot align".to_vec(),
        ));
        zip_files(&archives.join(zip_name), &files);
    }
    let dest = dir.path().join("wmh");
    Unpack {
        dataset: OfficialDataset::Wmh,
        archives: archives.clone(),
        dest: dest.clone(),
        expected: archive_list(
            &archives,
            &["Amsterdam_GE3T.zip", "Singapore.zip", "Utrecht.zip"],
        ),
    }
    .run(&indicatif::ProgressBar::hidden())
    .unwrap();
    same_tree(&raw, &dest);
}

#[test]
fn isles_and_acdc_drop_what_the_make_files_delete() {
    let dir = tempfile::tempdir().unwrap();
    for (dataset, zip_name, prefix, junk) in [
        (
            OfficialDataset::Isles,
            "ISLES2018_Training.zip",
            "TRAINING/",
            vec![
                "TRAINING/case_1/SMIR.Brain.XX.O.CT_4DPWI.9/SMIR.Brain.XX.O.CT_4DPWI.9.nii",
                "__MACOSX/TRAINING/._case_1",
            ],
        ),
        (
            OfficialDataset::Acdc,
            "acdc.zip",
            "training/",
            vec!["training/patient001/patient001_4d.nii.gz"],
        ),
    ] {
        let raw = dir.path().join(format!("raw{dataset:?}"));
        synth(dataset, &raw, 2);
        let archives = dir.path().join(format!("archives{dataset:?}"));
        std::fs::create_dir(&archives).unwrap();
        let mut files = entries(&raw, prefix, |_| true);
        files.extend(junk.iter().map(|j| (j.to_string(), b"junk".to_vec())));
        zip_files(&archives.join(zip_name), &files);
        let dest = dir.path().join(format!("unpacked{dataset:?}"));
        let mut expected = archive_list(&archives, &[zip_name]);
        // An optional archive (ISLES' testing set) may be absent.
        expected.push(Archive {
            name: "optional.zip".into(),
            md5: "0".repeat(32),
            required: false,
        });
        Unpack {
            dataset,
            archives,
            dest: dest.clone(),
            expected,
        }
        .run(&indicatif::ProgressBar::hidden())
        .unwrap();
        same_tree(&raw, &dest.join(prefix.trim_end_matches('/')));
    }
}

#[test]
fn a_wrong_or_missing_archive_is_named_and_nothing_is_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let archives = dir.path().join("archives");
    std::fs::create_dir(&archives).unwrap();
    zip_files(
        &archives.join("acdc.zip"),
        &[("training/x".into(), b"x".to_vec())],
    );
    let dest = dir.path().join("acdc");
    let job = |expected: Vec<Archive>| Unpack {
        dataset: OfficialDataset::Acdc,
        archives: archives.clone(),
        dest: dest.clone(),
        expected,
    };
    let official = preprocess::official_archives(OfficialDataset::Acdc);
    let err = job(official.clone())
        .run(&indicatif::ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("acdc.zip") && err.contains("8f88b442fce65a13f28e30bad4d1b6ce"),
        "{err}"
    );
    assert!(!dest.exists());
    std::fs::remove_file(archives.join("acdc.zip")).unwrap();
    let err = job(official)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(err.contains("acdc.zip") && err.contains("missing"), "{err}");
    // A file with the right sum that is no zip archive.
    std::fs::write(archives.join("acdc.zip"), b"not a zip").unwrap();
    let expected = archive_list(&archives, &["acdc.zip"]);
    let err = job(expected)
        .run(&indicatif::ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("acdc.zip") && err.contains("not a readable zip"),
        "{err}"
    );
    assert!(!dest.exists());
}
