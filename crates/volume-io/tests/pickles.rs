//! The original's spacing pickles (numpy scalars, protocol 5), read to the same floats Python
//! reads (expected values dumped with pickle + numpy next to them).

use std::collections::BTreeMap;
use std::path::Path;

use volume_io::read_spacing_pickle;

#[test]
fn spacing_pickles_of_the_original_read_exactly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for name in ["spacing_3d", "val_spacing"] {
        let got = read_spacing_pickle(&dir.join(format!("{name}.pkl"))).unwrap();
        let want: BTreeMap<String, Vec<f64>> = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_file_that_is_not_a_spacing_pickle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spacing.pkl");
    std::fs::write(&path, b"\x80\x05K\x01.").unwrap();
    let err = read_spacing_pickle(&path).unwrap_err().to_string();
    assert!(err.contains("spacing.pkl") && err.contains("dict"), "{err}");
    // A global other than numpy's scalar machinery is refused, never called.
    std::fs::write(&path, b"\x80\x05cos\nsystem\n\x8c\x02ls\x85R.").unwrap();
    let err = read_spacing_pickle(&path).unwrap_err().to_string();
    assert!(err.contains("unsupported callable os.system"), "{err}");
}

#[test]
fn written_spacing_pickles_read_back_to_the_same_values() {
    use volume_io::{write_spacing_pickle, NumpyScalar};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spacing.pkl");
    let long_name = "x".repeat(300);
    let entries: BTreeMap<String, Vec<NumpyScalar>> = [
        (
            "0_00_0000".to_string(),
            vec![NumpyScalar::F64(0.8999999798834324), NumpyScalar::F32(3.0)],
        ),
        (long_name.clone(), vec![NumpyScalar::F32(0.7)]),
    ]
    .into_iter()
    .collect();
    write_spacing_pickle(&path, &entries).unwrap();
    let got = read_spacing_pickle(&path).unwrap();
    assert_eq!(got["0_00_0000"], vec![0.8999999798834324, 3.0]);
    assert_eq!(got[&long_name], vec![0.7f32 as f64]);
    assert_eq!(got.len(), 2);
}
