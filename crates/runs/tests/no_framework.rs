//! The crates that read, measure, report, draw and show runs build without the deep-learning
//! framework: no Burn package anywhere in their dependency trees (what `metrics`, `report`,
//! `plot` and `view` need, and what a tool reading run folders links).

use std::path::Path;
use std::process::Command;

/// `cargo tree -p package` of this workspace, one package per line (`name vX.Y.Z`).
fn dependency_tree(package: &str) -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args([
            "tree",
            "--offline",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}", "--manifest-path"])
        .arg(&workspace)
        .args(["--package", package])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo tree -p {package}: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn framework_packages(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter(|line| line.starts_with("burn") || line.starts_with("cubecl"))
        .collect()
}

#[test]
fn run_folder_crates_do_not_depend_on_burn() {
    for package in [
        "runs",
        "datasets",
        "segmentation-metrics",
        "distmap",
        "plots",
        "viewer",
    ] {
        let tree = dependency_tree(package);
        assert!(
            tree.lines().count() > 1,
            "cargo tree -p {package} listed nothing: {tree}"
        );
        let framework = framework_packages(&tree);
        assert!(framework.is_empty(), "{package} depends on {framework:?}");
    }
}

/// The check above would also pass on a tree that never names Burn: the training crate's does.
#[test]
fn the_training_crate_does_depend_on_burn() {
    let tree = dependency_tree("boundary-loss");
    assert!(!framework_packages(&tree).is_empty(), "{tree}");
}
