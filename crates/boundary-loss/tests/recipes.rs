//! Every shipped run file (recipes/) parses and passes the checks that need no data.

use std::path::Path;

use boundary_loss::nets::Architecture;
use boundary_loss::train::RunConfig;

#[test]
fn every_recipe_is_a_valid_run_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = RunConfig::from_file(&path).unwrap();
            config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Architecture::parse(&config.network).unwrap();
            names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
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
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}
