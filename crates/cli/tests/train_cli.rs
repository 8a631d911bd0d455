//! `boundary-loss train`: a run file in, a run folder out; flags override the run file; a bad
//! run file is a clear error; `--resume` continues a run folder.

mod common;
use common::{boundary_loss, prepared, RUN_FILE};

#[test]
fn train_and_resume_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path(), RUN_FILE, 1, 1);
    let out = dir.path().join("run");
    let run = boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "1",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        2,
        "--epochs 1 overrides the run file's 5"
    );
    let resolved = std::fs::read_to_string(out.join("run.toml")).unwrap();
    assert!(resolved.contains("epochs = 1"), "{resolved}");
    // Nothing left to do: resuming a finished run changes nothing and succeeds.
    let resumed = boundary_loss(&["train", "--resume", out.to_str().unwrap()]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.csv")).unwrap(),
        csv
    );
}

#[test]
fn a_bad_run_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = dir.path().join("bad.toml");
    std::fs::write(
        &run_file,
        RUN_FILE.replace("network = \"Dimwit\"", "network = 3"),
    )
    .unwrap();
    let out = boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        dir.path().join("run").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("bad.toml") && stderr.contains("network"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.toml");
    let out = boundary_loss(&["train", missing.to_str().unwrap(), "--out", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    let out = boundary_loss(&["train", "--resume", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
}

#[test]
fn an_existing_run_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path(), RUN_FILE, 2, 1);
    let out = dir.path().join("run");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            run_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "1",
        ];
        args.extend_from_slice(extra);
        boundary_loss(&args)
    };
    assert!(train(&[]).status.success());
    let again = train(&[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr.contains(out.to_str().unwrap()) && stderr.contains("--force"),
        "{stderr}"
    );
    let forced = train(&["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    // A folder of other files is never replaced.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let refused = boundary_loss(&[
        "train",
        run_file.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--force",
    ]);
    assert!(!refused.status.success());
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn the_same_seed_gives_the_same_run_in_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path(), RUN_FILE, 2, 1);
    let run = |name: &str, seed: &str| trained(&run_file, &dir.path().join(name), seed, None);
    let (a, b, c) = (run("a", "3"), run("b", "3"), run("c", "4"));
    assert_eq!(a, b, "same seed, same files");
    assert_ne!(a.1, c.1, "another seed, another run");
}

/// The thread count changes how work is split, never the numbers: ENet (batch norm, dropout,
/// PReLU broadcasts, dilated and asymmetric convolutions) trained in processes with 1 and 3
/// threads writes the same losses and metrics, bit for bit.
#[test]
fn the_thread_count_does_not_change_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(
        dir.path(),
        &RUN_FILE.replace("network = \"Dimwit\"", "network = \"ENet\""),
        2,
        1,
    );
    let run = |threads: &str| {
        let out = dir.path().join(format!("threads_{threads}"));
        trained(&run_file, &out, "5", Some(threads))
    };
    assert_eq!(run("1"), run("3"), "1 and 3 threads, same files");
}

/// `train RUN_FILE --out OUT --epochs 2 --seed SEED` in its own process (with
/// `RAYON_NUM_THREADS=threads` when given), which must succeed; its `metrics.csv` and
/// `tra_loss.npy`.
fn trained(
    run_file: &std::path::Path,
    out: &std::path::Path,
    seed: &str,
    threads: Option<&str>,
) -> (String, Vec<u8>) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_boundary-loss"));
    command
        .arg("train")
        .arg(run_file)
        .arg("--out")
        .arg(out)
        .args(["--epochs", "2", "--seed", seed]);
    if let Some(threads) = threads {
        command.env("RAYON_NUM_THREADS", threads);
    }
    let done = command.output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    (
        std::fs::read_to_string(out.join("metrics.csv")).unwrap(),
        std::fs::read(out.join("tra_loss.npy")).unwrap(),
    )
}

/// `recalibrate_batch_norm` changes what validation sees, never what training does.
#[test]
fn batch_norm_recalibration_leaves_training_alone() {
    let dir = tempfile::tempdir().unwrap();
    let plain = prepared(
        dir.path(),
        &RUN_FILE.replace(
            "network = \"Dimwit\"",
            "network = \"UNet\"\nnetwork_base = 2",
        ),
        1,
        1,
    );
    let recalibrated = dir.path().join("recalibrated.toml");
    std::fs::write(
        &recalibrated,
        format!(
            "recalibrate_batch_norm = true\n{}",
            std::fs::read_to_string(&plain).unwrap()
        ),
    )
    .unwrap();
    // The run files' seed (0), trained in processes of their own.
    let outputs = [dir.path().join("plain"), dir.path().join("recalibrated")];
    trained(&plain, &outputs[0], "0", None);
    trained(&recalibrated, &outputs[1], "0", None);
    let read = |dir: &std::path::Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(
        read(&outputs[0], "tra_loss.npy"),
        read(&outputs[1], "tra_loss.npy")
    );
    assert_ne!(
        read(&outputs[0], "val_loss.npy"),
        read(&outputs[1], "val_loss.npy")
    );
}

/// The empty-slice switches from the command line: a run with all of them repeats bit for bit in
/// a second process, keeps them in its resolved run.toml, and trains on other batches (balanced)
/// and other losses than the original's run.
#[test]
fn the_empty_slice_switches_train_and_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let switched = RUN_FILE
        .replace(
            "stream = 1\n",
            "stream = 1\nbatch = true\nabsent_weight = \"largest\"\n",
        )
        .replace(
            "kind = \"distance_map\"\n",
            "kind = \"distance_map\"\nabsent_class = \"diagonal\"\n",
        );
    // A top-level key: before the first table.
    let switched = format!("balance_batches = true\n{switched}");
    let original = prepared(dir.path(), RUN_FILE, 2, 1);
    let file = dir.path().join("switched.toml");
    std::fs::write(&file, &switched).unwrap();
    let (first, second, plain) = (
        dir.path().join("first"),
        dir.path().join("second"),
        dir.path().join("plain"),
    );
    let switched_run = trained(&file, &first, "0", None);
    assert_eq!(switched_run, trained(&file, &second, "0", None));
    let read = |dir: &std::path::Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(
        read(&first, "val_3d_dsc.npy"),
        read(&second, "val_3d_dsc.npy")
    );
    assert_ne!(switched_run.1, trained(&original, &plain, "0", None).1);
    let resolved = std::fs::read_to_string(first.join("run.toml")).unwrap();
    for switch in [
        "balance_batches = true",
        "batch = true",
        "absent_weight = \"largest\"",
        "absent_class = \"diagonal\"",
    ] {
        assert!(resolved.contains(switch), "{switch}: {resolved}");
    }
}

/// `val_every = 2` on 5 epochs validates epochs 1, 3 and 4 (the last) only: training is the
/// every-epoch run's bit for bit, validated epochs measure the same values, the others are NaN
/// rows (arrays still `(epochs, ...)`), their `iterNNN/` stays without `val/`, the best epoch is
/// a validated one, and the `metrics` command leaves the skipped epochs NaN.
#[test]
fn val_every_validates_a_subsample_of_epochs_and_trains_the_same() {
    use ndarray::Array3;
    let dir = tempfile::tempdir().unwrap();
    let every = prepared(dir.path(), RUN_FILE, 2, 2);
    let sparse = dir.path().join("sparse.toml");
    std::fs::write(&sparse, format!("val_every = 2\n{RUN_FILE}")).unwrap();
    let runs = [dir.path().join("every"), dir.path().join("sparse")];
    let mut consoles = Vec::new();
    for (run_file, out) in [&every, &sparse].into_iter().zip(&runs) {
        let args = [
            "train",
            run_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        consoles.push(common::ok(&boundary_loss(&args)));
        common::ok(&boundary_loss(&[
            "metrics",
            out.to_str().unwrap(),
            "--metrics",
            "3d_dsc,hd",
        ]));
    }
    let read = |run: &std::path::Path, name: &str| -> Array3<f32> {
        ndarray_npy::read_npy(run.join(name)).unwrap()
    };
    assert_eq!(
        std::fs::read(runs[0].join("tra_loss.npy")).unwrap(),
        std::fs::read(runs[1].join("tra_loss.npy")).unwrap()
    );
    let validated = [false, true, false, true, true];
    for name in [
        "val_loss.npy",
        "val_dice.npy",
        "val_3d_dsc.npy",
        "val_3d_hd95.npy",
        "val_hd.npy",
    ] {
        let (all, some) = (read(&runs[0], name), read(&runs[1], name));
        assert_eq!(all.dim(), some.dim(), "{name}");
        assert_eq!(all.dim().0, 5, "{name}");
        for (epoch, &measured) in validated.iter().enumerate() {
            let (a, s) = (
                all.index_axis(ndarray::Axis(0), epoch),
                some.index_axis(ndarray::Axis(0), epoch),
            );
            if measured {
                let same = a.iter().zip(s).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{name}, epoch {epoch}: {a} != {s}");
            } else {
                assert!(s.iter().all(|v| v.is_nan()), "{name}, epoch {epoch}: {s}");
            }
        }
    }
    for (epoch, &measured) in validated.iter().enumerate() {
        let iter = runs[1].join(format!("iter{epoch:03}"));
        assert!(
            iter.is_dir() && iter.join("val").is_dir() == measured,
            "{}",
            iter.display()
        );
    }
    let best: usize = std::fs::read_to_string(runs[1].join("best_epoch.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(validated[best], "best epoch {best}");
    let csv = std::fs::read_to_string(runs[1].join("metrics.csv")).unwrap();
    let row = |epoch: usize| {
        csv.lines()
            .nth(epoch + 1)
            .unwrap()
            .split(',')
            .collect::<Vec<_>>()
    };
    assert_eq!(row(0)[2], "NaN", "{csv}");
    assert_ne!(row(1)[2], "NaN", "{csv}");
    assert!(
        consoles[1].contains("epoch   0:") && consoles[1].contains("not validated (val_every)")
    );
    assert!(!consoles[0].contains("not validated"));
    // The resolved run file keeps the setting; an every-epoch run file does not name it.
    let resolved = |run: &std::path::Path| std::fs::read_to_string(run.join("run.toml")).unwrap();
    assert!(resolved(&runs[1]).contains("val_every = 2"));
    assert!(!resolved(&runs[0]).contains("val_every"));
    // 0 is refused with the field's name.
    let zero = dir.path().join("zero.toml");
    std::fs::write(&zero, format!("val_every = 0\n{RUN_FILE}")).unwrap();
    let out = dir.path().join("zero");
    let error = common::failed(&boundary_loss(&[
        "train",
        zero.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        error.contains("val_every") && error.contains("zero.toml"),
        "{error}"
    );
}
