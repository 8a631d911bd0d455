//! Every reader against hostile bytes: random files and real files with random mutations (size
//! fields overwritten with huge values, truncation, appended bytes). A reader must answer with
//! `Ok` or an error, never panic, abort, or allocate what the file does not hold.
//!
//! `FUZZ_CASES` sets the cases per reader (default 300, what CI runs); the long runs recorded in
//! docs/fuzzing.md use `FUZZ_CASES=200000` under `ulimit -v` (see that file).

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3};
use proptest::prelude::*;
use volume_io::{
    read_label_map, read_nifti_f32, read_npy_f32, read_png_levels, read_spacing_pickle,
    write_spacing_pickle, NumpyScalar,
};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// One mutation: (kind, position, value).
type Mutation = (u8, usize, u64);

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for &(kind, pos, value) in mutations {
        if b.is_empty() {
            b.push(value as u8);
            continue;
        }
        let at = pos % b.len();
        let bytes = value.to_le_bytes();
        match kind % 6 {
            0 => b[at] = value as u8,
            1 => b
                .iter_mut()
                .skip(at)
                .zip(&bytes[..4])
                .for_each(|(x, v)| *x = *v),
            2 => b.iter_mut().skip(at).zip(&bytes).for_each(|(x, v)| *x = *v),
            // Big-endian fields too (NIfTI headers may be either).
            3 => b
                .iter_mut()
                .skip(at)
                .zip(value.to_be_bytes().iter().skip(4))
                .for_each(|(x, v)| *x = *v),
            4 => b.truncate(at),
            _ => b.extend_from_slice(&bytes),
        }
    }
    b
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        (
            any::<u8>(),
            any::<usize>(),
            prop_oneof![
                any::<u64>(),
                Just(u32::MAX as u64),
                Just(1 << 40),
                Just(0),
                0u64..300
            ],
        ),
        0..6,
    )
}

struct Seeds {
    dir: tempfile::TempDir,
    npy_u8: Vec<u8>,
    npy_f32: Vec<u8>,
    png: Vec<u8>,
    nii: Vec<u8>,
    pickle: Vec<u8>,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn seeds() -> Seeds {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    ndarray_npy::write_npy(p("a.npy"), &Array2::<u8>::from_elem((4, 5), 1)).unwrap();
    ndarray_npy::write_npy(p("b.npy"), &Array3::<f32>::from_elem((2, 3, 3), 0.5)).unwrap();
    let mut png = Vec::new();
    volume_io::encode_png_u8(&mut png, &[0, 1, 2, 3, 1, 1], 2, 3).unwrap();
    nifti::writer::WriterOptions::new(p("c.nii"))
        .write_nifti(&Array3::<u8>::from_elem((3, 4, 2), 1))
        .unwrap();
    let mut table = std::collections::BTreeMap::new();
    table.insert(
        "case_1".to_string(),
        vec![
            NumpyScalar::F64(0.9),
            NumpyScalar::F64(0.9),
            NumpyScalar::F32(3.0),
        ],
    );
    write_spacing_pickle(&p("d.pkl"), &table).unwrap();
    let read = |n: &str| std::fs::read(p(n)).unwrap();
    Seeds {
        npy_u8: read("a.npy"),
        npy_f32: read("b.npy"),
        png,
        nii: read("c.nii"),
        pickle: read("d.pkl"),
        dir,
    }
}

fn at(seeds: &Seeds, name: &str, bytes: &[u8]) -> PathBuf {
    let path = seeds.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Reading must not panic; any answer (Ok or an error naming the file) is fine.
fn survives<T>(path: &Path, read: impl Fn(&Path) -> Result<T, volume_io::FileError>) {
    if let Err(e) = read(path) {
        assert_eq!(e.path, path, "the error names the file");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn npy_readers(which in any::<bool>(), m in mutations(), random in prop::collection::vec(any::<u8>(), 0..64), use_random in prop::bool::weighted(0.1)) {
        let s = seeds_once();
        let seed = if which { &s.npy_u8 } else { &s.npy_f32 };
        let bytes = if use_random { [b"\x93NUMPY".as_slice(), &random].concat() } else { mutate(seed, &m) };
        let path = at(s, "x.npy", &bytes);
        survives(&path, read_label_map);
        survives(&path, read_npy_f32);
    }

    #[test]
    fn png_readers(m in mutations()) {
        let s = seeds_once();
        let path = at(s, "x.png", &mutate(&s.png, &m));
        survives(&path, read_label_map);
        survives(&path, read_png_levels);
    }

    #[test]
    fn nifti_readers(m in mutations(), gz in any::<bool>(), mutate_compressed in any::<bool>()) {
        let s = seeds_once();
        let (name, bytes) = if !gz {
            ("x.nii", mutate(&s.nii, &m))
        } else if mutate_compressed {
            ("x.nii.gz", mutate(&gzip(&s.nii), &m))
        } else {
            ("x.nii.gz", gzip(&mutate(&s.nii, &m)))
        };
        let path = at(s, name, &bytes);
        survives(&path, read_label_map);
        survives(&path, read_nifti_f32);
    }

    #[test]
    fn spacing_pickle_reader(m in mutations()) {
        let s = seeds_once();
        let path = at(s, "x.pkl", &mutate(&s.pickle, &m));
        survives(&path, read_spacing_pickle);
    }
}

/// The seeds, made once per test thread (each proptest test runs in one thread).
fn seeds_once() -> &'static Seeds {
    thread_local! {
        static SEEDS: &'static Seeds = Box::leak(Box::new(seeds()));
    }
    SEEDS.with(|s| *s)
}

#[test]
fn the_reported_hostile_npy_is_an_error() {
    // 200 bytes whose header claims 10^12 float64 elements.
    let s = seeds();
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(200, 0);
    let path = at(&s, "hostile.npy", &bytes);
    for e in [
        read_npy_f32(&path).unwrap_err(),
        read_label_map(&path).unwrap_err(),
    ] {
        assert!(e.reason.contains("declares"), "{e}");
    }
}

#[test]
fn a_nifti_header_promising_more_than_the_file_is_an_error() {
    let s = seeds();
    let mut bytes = s.nii.clone();
    // dim[1] (bytes 42..44, little-endian i16) to 32767: 32767 x 4 x 2 voxels, 106 bytes in file.
    bytes[42..44].copy_from_slice(&32767i16.to_le_bytes());
    let path = at(&s, "big.nii", &bytes);
    let e = read_label_map(&path).unwrap_err();
    assert!(e.reason.contains("cannot hold"), "{e}");
    let path = at(&s, "big.nii.gz", &gzip(&bytes));
    assert!(read_nifti_f32(&path).is_err());
}

#[test]
fn a_pickle_doubling_itself_through_the_memo_is_an_error() {
    // PROTO 4, EMPTY_LIST, MEMOIZE, then 40 x (GET 0, GET 0, TUPLE2, MEMOIZE as 0 via PUT 0).
    let mut bytes = vec![0x80, 4, b']', 0x94];
    for _ in 0..40 {
        bytes.extend_from_slice(&[b'h', 0, b'h', 0, 0x86, b'q', 0]);
    }
    bytes.push(b'.');
    let s = seeds();
    let path = at(&s, "bomb.pkl", &bytes);
    let e = read_spacing_pickle(&path).unwrap_err();
    assert!(e.reason.contains("expands"), "{e}");
}
