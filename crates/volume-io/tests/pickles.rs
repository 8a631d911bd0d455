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
