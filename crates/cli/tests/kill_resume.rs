//! A run killed with SIGKILL at random moments (during a step, during validation, while files
//! are written) and continued with `train --resume`, in new processes each time, ends with the
//! files of an uninterrupted run: arrays, CSV, predictions, best epoch, and the weights.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use boundary_loss::nets::{Architecture, BuildNetwork};
use boundary_loss::train::run_folder::load_weights;

mod common;

/// The shared run file with a small UNet: long enough to be killed in every phase.
fn run_file() -> String {
    common::RUN_FILE
        .replace(
            "network = \"Dimwit\"",
            "network = \"UNet\"\nnetwork_base = 4",
        )
        .replace("epochs = 5", "epochs = 4")
        .replace("batch_size = 4", "batch_size = 2")
        .replace("step = 0.01", "step = 0.2")
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boundary-loss"));
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// Every file below `dir` but the checkpoint: relative path -> bytes (weights: their values).
fn contents(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if name.starts_with("checkpoint") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".bpk") {
                out.insert(name, weight_bytes(&path));
            } else {
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn weight_bytes(path: &Path) -> Vec<u8> {
    let device = boundary_loss::device::parse("cpu").unwrap();
    let net = Architecture::UNet
        .build_with_base(2, 2, Some(4), &device)
        .unwrap();
    let net = load_weights(net, path).unwrap();
    net.parameter_values()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// A small deterministic generator for the kill moments.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs `command`, killing it with SIGKILL after `delay`: `None` when killed, its output when
/// it finished first.
fn killed_after(command: &mut Command, delay: Duration) -> Option<std::process::Output> {
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

#[test]
fn runs_killed_at_random_moments_resume_to_the_uninterrupted_files() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = common::prepared(dir.path(), &run_file(), 2, 1);
    let run_file = run_file.to_str().unwrap().to_string();
    let path = |name: &str| -> PathBuf { dir.path().join(name) };

    let started = Instant::now();
    let whole = command(&["train", &run_file, "--out", path("whole").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    let duration = started.elapsed();
    let expected = contents(&path("whole"));

    // KILL_SEED draws other moments (the script scripts/kill_and_resume.sh loops over seeds).
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut moments = Lcg(seed);
    for attempt in 0..3 {
        let out = path(&format!("killed{attempt}"));
        let out_str = out.to_str().unwrap().to_string();
        let mut kills = 0;
        // First process: a fresh run; later ones resume (or start again if the first was killed
        // before its run file existed).
        let mut next = command(&["train", &run_file, "--out", &out_str]);
        let last = loop {
            let delay = if kills < 3 {
                duration.mul_f64(0.05 + 0.9 * moments.next())
            } else {
                Duration::from_secs(3600)
            };
            if let Some(output) = killed_after(&mut next, delay) {
                break output;
            }
            kills += 1;
            next = if out.join("run.toml").exists() {
                command(&["train", "--resume", &out_str])
            } else {
                command(&["train", &run_file, "--out", &out_str])
            };
        };
        assert!(
            last.status.success(),
            "attempt {attempt}: {}",
            String::from_utf8_lossy(&last.stderr)
        );
        eprintln!("attempt {attempt}: {kills} kills in a {duration:?} run");
        let got = contents(&out);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "attempt {attempt} ({kills} kills)"
        );
        let differing: Vec<&String> = expected
            .iter()
            .filter(|(name, bytes)| got[*name] != **bytes)
            .map(|(n, _)| n)
            .collect();
        assert!(
            differing.is_empty(),
            "attempt {attempt} ({kills} kills): {differing:?} differ"
        );
    }
}
