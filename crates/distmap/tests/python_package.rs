//! The Python package (`python/`, the bindings of this crate) built with pip into a fresh
//! virtual environment and tested with pytest, by `python/test.sh`: part of
//! `cargo test --release --workspace`, so the one test command covers it. Without python3 and venv the
//! script says so and succeeds, unless `REQUIRE_PYTHON=1` (CI), which makes that a failure.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_python_package_passes_its_tests() {
    // At run time, not `env!`: a test binary reused from another checkout keeps that path.
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let script = crate_dir.join("../../python/test.sh");
    let out = Command::new("bash").arg(&script).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{}\n{stdout}\n{stderr}",
        script.display()
    );
    // What pytest concluded (or why it did not run), in the test's output.
    println!("{}", stdout.lines().last().unwrap_or_default());
    eprintln!("{}", stderr.lines().last().unwrap_or_default());
}
