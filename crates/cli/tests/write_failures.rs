//! Runs that cannot write: a path that cannot be created, a full disk (a small tmpfs). The run
//! says so in one line naming the file, exits 1, leaves no partial file (temporary files, the
//! unfinished epoch's folder, a half-written checkpoint) and keeps what earlier epochs wrote;
//! `--resume` then continues it.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::boundary_loss;

fn prepared(dir: &Path) -> PathBuf {
    common::prepared(
        dir,
        &common::RUN_FILE.replace("epochs = 5", "epochs = 1"),
        2,
        1,
    )
}

/// Paths below `dir` that a failed write may have left behind.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") || name.ends_with(".tmp") || name.ends_with(".partial") {
                out.push(path.clone());
            }
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    out
}

fn set_epochs(run_dir: &Path, epochs: usize) {
    let path = run_dir.join("run.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("epochs =") {
                format!("epochs = {epochs}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_path_that_cannot_be_written_stops_the_run_and_keeps_finished_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path());
    let out = dir.path().join("run");
    let first = boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    // Continue to 3 epochs, but iter001 cannot be created (a file is in the way).
    set_epochs(&out, 3);
    std::fs::write(out.join("iter001"), b"in the way").unwrap();
    let blocked = boundary_loss(&["train", "--resume", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert_eq!(blocked.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("iter001") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.csv")).unwrap(),
        csv,
        "epoch 0 kept"
    );
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    std::fs::remove_file(out.join("iter001")).unwrap();
    let resumed = boundary_loss(&["train", "--resume", out.to_str().unwrap()]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

/// A tmpfs of `size` mounted at `at` (needs root), unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// `options`: e.g. `size=160k`, or `ro,size=1m` for a read-only one. `None` (the test is
    /// skipped) when mounting is not allowed, unless REQUIRE_TMPFS is set: CI runs as root and
    /// sets it, so that these tests never pass unexercised there.
    fn mount(at: &Path, options: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var("REQUIRE_TMPFS").is_err(),
                "cannot mount a tmpfs"
            );
            eprintln!("skipped: mounting a tmpfs needs root");
        }
        ok.then(|| SmallDisk(at.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

#[test]
fn a_full_disk_stops_the_run_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path());
    let Some(disk) = SmallDisk::mount(&dir.path().join("small"), "size=160k") else {
        return;
    };
    let out = disk.0.join("run");
    let full = boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "40",
    ]);
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains(disk.0.to_str().unwrap()),
        "names the file: {stderr}"
    );
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    // What finished epochs wrote is intact: the CSV has one row per checkpointed epoch.
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let state = std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap();
    let done: serde_json::Value = serde_json::from_str(&state).unwrap();
    let epochs_done = done["epochs_done"].as_u64().unwrap() as usize;
    assert!(
        epochs_done >= 1,
        "the disk filled after some epochs: {state}"
    );
    assert!(csv.lines().count() > epochs_done, "{csv}");
    assert!(!out
        .join(format!("iter{:03}", csv.lines().count() - 1))
        .exists());

    // Slicing onto the full disk: an error, and nothing at the destination.
    let raw = dir.path().join("raw");
    let synth = boundary_loss(&[
        "synth",
        "wmh",
        "--dest",
        raw.to_str().unwrap(),
        "--cases",
        "3",
        "--slices",
        "4",
    ]);
    assert!(synth.status.success());
    let sliced = disk.0.join("sliced");
    let slice = boundary_loss(&[
        "slice",
        "wmh",
        "--source",
        raw.to_str().unwrap(),
        "--dest",
        sliced.to_str().unwrap(),
        "--retain",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&slice.stderr);
    assert_eq!(slice.status.code(), Some(1), "{stderr}");
    assert!(!sliced.exists());
    assert!(leftovers(&disk.0).is_empty(), "{:?}", leftovers(&disk.0));
}

#[test]
fn a_read_only_folder_is_an_error_and_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path());
    let Some(disk) = SmallDisk::mount(&dir.path().join("ro"), "ro,size=1m") else {
        return;
    };
    let out = disk.0.join("run");
    let refused = boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Read-only file system") && stderr.contains("run"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&disk.0).unwrap().count(), 0);
}
