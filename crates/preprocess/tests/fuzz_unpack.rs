//! `unpack` against hostile archives: a real zip with random mutations (sizes in the local and
//! central headers overwritten, truncation, appended bytes). Extraction must end with the
//! archive unpacked or an error naming it, never a panic, and never write more than an entry
//! declares. `FUZZ_CASES` sets the cases (default 200; docs/fuzzing.md records the long run).

use std::io::Write;

use preprocess::{md5_hex, Archive, OfficialDataset, Unpack};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn seed_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let stored =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("Utrecht/0/wmh.nii.gz", deflated).unwrap();
    zip.write_all(&[7u8; 300]).unwrap();
    zip.start_file("Utrecht/0/pre/FLAIR.nii.gz", stored)
        .unwrap();
    zip.write_all(b"not really a volume").unwrap();
    zip.finish().unwrap().into_inner()
}

fn mutate(seed: &[u8], mutations: &[(u8, usize, u64)]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for &(kind, pos, value) in mutations {
        if b.is_empty() {
            break;
        }
        let at = pos % b.len();
        match kind % 4 {
            0 => b[at] = value as u8,
            1 => b
                .iter_mut()
                .skip(at)
                .zip(value.to_le_bytes().iter().take(4))
                .for_each(|(x, v)| *x = *v),
            2 => b.truncate(at),
            _ => b.extend_from_slice(&value.to_le_bytes()),
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_archives_are_errors(
        m in prop::collection::vec(
            (any::<u8>(), any::<usize>(), prop_oneof![any::<u64>(), Just(u32::MAX as u64), 0u64..1000]),
            1..5,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let archives = dir.path().join("archives");
        std::fs::create_dir(&archives).unwrap();
        let path = archives.join("Utrecht.zip");
        std::fs::write(&path, mutate(&seed_zip(), &m)).unwrap();
        let unpack = Unpack {
            dataset: OfficialDataset::Wmh,
            archives: archives.clone(),
            dest: dir.path().join("wmh"),
            expected: vec![Archive {
                name: "Utrecht.zip".into(),
                md5: md5_hex(&path).unwrap(),
                required: true,
            }],
        };
        match unpack.run(&indicatif::ProgressBar::hidden()) {
            Ok(_) => {
                // Whatever was written fits what the archive could declare.
                let written: u64 = walk(&dir.path().join("wmh")).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
                prop_assert!(written <= 1100 * std::fs::metadata(&path).unwrap().len() + 4096);
            }
            Err(e) => {
                prop_assert!(e.to_string().contains("Utrecht.zip") || e.to_string().contains("wmh"), "{e}");
                prop_assert!(!dir.path().join("wmh").exists(), "nothing is left after an error");
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
