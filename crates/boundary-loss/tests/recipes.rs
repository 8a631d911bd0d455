//! Every shipped run file (recipes/, recipes/synthetic/) parses and passes the checks that need
//! no data. The experiment recipes next to them (`[[targets]]`) are tested by the command line's
//! experiment tests.

use std::path::{Path, PathBuf};

use boundary_loss::train::RunConfig;

/// The run files of `recipes/` (top level, sorted), and with `nested` those of its subfolders.
fn run_files(nested: bool) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
    let mut files = Vec::new();
    let mut folders = vec![dir];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if nested {
                    folders.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "toml")
                && !std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("[[targets]]")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_recipe_is_a_valid_run_file() {
    for path in run_files(true) {
        let config = RunConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        config
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let mut names: Vec<String> = run_files(false)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let targets = [
        "gdl",
        "gdl_3d_surface_steal",
        "gdl_hausdorff_w",
        "gdl_surface_steal",
        "gdl_surface_w",
        "surface",
    ];
    let mut expected: Vec<String> = ["isles", "wmh"]
        .iter()
        .flat_map(|d| targets.iter().map(move |t| format!("{d}_{t}")))
        .chain(["acdc_boundary", "acdc_ce", "acdc_diceloss"].map(String::from))
        // The 3-D recipes (slice nifti --volumes).
        .chain(
            [
                "volumes_gdl",
                "volumes_gdl_surface",
                "volumes_gdl_batch",
                "volumes_gdl_batch_surface",
            ]
            .map(String::from),
        )
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}

mod fuzz {
    //! Run files against hostile bytes: every shipped recipe with random mutations must parse
    //! or give an error naming the file, never panic. `FUZZ_CASES` sets the cases (default 300).
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn mutated_run_files_are_errors_or_run_files(
            which in 0usize..15,
            m in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8),
        ) {
            let recipes = run_files(true);
            let mut bytes = std::fs::read(&recipes[which % recipes.len()]).unwrap();
            for &(kind, pos, value) in &m {
                if bytes.is_empty() { break; }
                let at = pos % bytes.len();
                match kind % 3 {
                    0 => bytes[at] = value,
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, value),
                }
            }
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("run.toml");
            std::fs::write(&path, &bytes).unwrap();
            if let Err(e) = RunConfig::from_file(&path) {
                prop_assert!(e.to_string().contains("run.toml"), "{e}");
            }
        }
    }
}

/// The run file's typed fields: a wrong loss name, an option on the wrong loss, an unknown
/// network or device are errors naming the file; every recipe survives a write/read round trip.
#[test]
fn typed_fields_are_checked_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
    let recipe = std::fs::read_to_string(dir.join("wmh_gdl_surface_w.toml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let error = |text: String| -> String {
        let path = tmp.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        RunConfig::from_file(&path).unwrap_err().to_string()
    };
    let e = error(recipe.replace("\"BoundaryLoss\"", "\"BoundryLoss\""));
    assert!(
        e.contains("bad.toml")
            && e.contains("unknown loss 'BoundryLoss'")
            && e.contains("FocalLoss"),
        "{e}"
    );
    let e = error(recipe.replace(
        "name = \"GeneralizedDice\"",
        "name = \"GeneralizedDice\"\ngamma = 3.0",
    ));
    assert!(e.contains("only FocalLoss has a gamma"), "{e}");
    // FocalLoss's gamma has no default, as in the original.
    let e = error(recipe.replace("name = \"GeneralizedDice\"", "name = \"FocalLoss\""));
    assert!(
        e.contains("bad.toml") && e.contains("FocalLoss: gamma is required"),
        "{e}"
    );
    // The empty-slice switches: on the right loss or stream only, with known values.
    let e = error(recipe.replace(
        "name = \"GeneralizedDice\"",
        "name = \"GeneralizedDice\"\nabsent_weight = \"biggest\"",
    ));
    assert!(
        e.contains("absent_weight 'biggest'") && e.contains("largest"),
        "{e}"
    );
    let e = error(recipe.replace(
        "name = \"BoundaryLoss\"",
        "name = \"BoundaryLoss\"\nbatch = true",
    ));
    assert!(e.contains("only GeneralizedDice has batch"), "{e}");
    let e = error(recipe.replace(
        "kind = \"one_hot\"",
        "kind = \"one_hot\"\nabsent_class = \"diagonal\"",
    ));
    assert!(
        e.contains("absent_class") && e.contains("distance_map"),
        "{e}"
    );
    let e = error(recipe.replace(
        "kind = \"distance_map\"",
        "kind = \"distance_map\"\nabsent_class = \"far\"",
    ));
    assert!(e.contains("'far' is not one of zeros, diagonal"), "{e}");
    let e = error(recipe.replace("network = \"UNet\"", "network = \"UNet4\""));
    assert!(e.contains("unknown network 'UNet4'"), "{e}");
    let e = error(recipe.replace("network = \"UNet\"", "network = \"UNet3D\""));
    assert!(e.contains("network") && e.contains("3-D"), "{e}");
    let e = error(format!("device = \"tpu:0\"\n{recipe}"));
    assert!(e.contains("tpu"), "{e}");
    for path in run_files(true) {
        let config = RunConfig::from_file(&path).unwrap();
        let copy = tmp.path().join("copy.toml");
        std::fs::write(&copy, config.to_toml()).unwrap();
        assert_eq!(
            RunConfig::from_file(&copy).unwrap(),
            config,
            "{}",
            path.display()
        );
    }
}
