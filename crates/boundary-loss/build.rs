//! Records the code version (`git describe`) for the run folders' `version.txt`, when the
//! source is a git checkout; builds from a tarball say only the package version.

fn main() {
    let describe = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--tags"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(describe) = describe {
        println!("cargo:rustc-env=BOUNDARY_LOSS_GIT_DESCRIBE={describe}");
    }
    // Rebuild when the checked-out commit changes (not on every edit).
    for path in ["../../.git/HEAD", "../../.git/refs/heads"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
