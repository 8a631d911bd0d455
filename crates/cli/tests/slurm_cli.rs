//! Experiments on a real Slurm cluster: a one-node cluster (Debian's slurmctld and slurmd
//! 22.05, `auth/none`, in a temporary folder on free ports) runs the synthetic recipe with
//! `--debug` through `--executor slurm`, and its results equal the local executor's bit for bit
//! (metrics.csv, every array, val_metrics.json, the report). A training job cancelled mid-run
//! (`scancel`) shows as failed in `--status`, and the next submission resumes it to the same
//! numbers as an uninterrupted local run. `--executor local --jobs 2` gives the files of
//! `--jobs 1`; `--dry-run` writes the scripts and submits nothing.
//!
//! Without Slurm installed the cluster tests are skipped with a warning, unless REQUIRE_SLURM=1
//! (CI installs the packages and sets it).

mod common;
use common::ok;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn recipes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes")
}

/// The synthetic recipe, and a fresh folder where it has run with `--debug` and the local,
/// sequential executor: the results every other executor must reproduce.
fn synthetic_debug_here() -> (String, tempfile::TempDir) {
    let recipe = recipes()
        .join("synthetic.toml")
        .to_str()
        .unwrap()
        .to_string();
    let local = tempfile::tempdir().unwrap();
    ok(&boundary_loss(
        local.path(),
        &["experiment", &recipe, "--debug"],
        None,
    ));
    (recipe, local)
}

/// `boundary-loss ARGS` in `cwd`, with the cluster's configuration when there is one.
fn boundary_loss(cwd: &Path, args: &[&str], slurm_conf: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_boundary-loss"));
    command.args(args).current_dir(cwd);
    if let Some(conf) = slurm_conf {
        command.env("SLURM_CONF", conf);
    }
    command.output().unwrap()
}

/// A one-node Slurm cluster, stopped when dropped. One at a time: two clusters on the same
/// cores would only slow each other down.
struct Cluster {
    dir: tempfile::TempDir,
    daemons: Vec<Child>,
    _turn: std::sync::MutexGuard<'static, ()>,
}

static ONE_CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Cluster {
    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    fn command(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .env("SLURM_CONF", self.conf())
            .output()
            .unwrap();
        assert!(out.status.success(), "{program} {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the cluster, or returns `None` (skipped) where Slurm is not installed.
    fn start() -> Option<Cluster> {
        let installed = [
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "scancel",
            "scontrol",
        ]
        .iter()
        .all(|p| which(p).is_some());
        if !installed {
            assert!(
                std::env::var("REQUIRE_SLURM").map_or(true, |v| v != "1"),
                "REQUIRE_SLURM=1 but Slurm (slurmctld, slurmd, sbatch, squeue) is not installed"
            );
            eprintln!("warning: Slurm is not installed: the cluster tests are skipped");
            return None;
        }
        let turn = ONE_CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let root = root.as_path();
        for sub in ["state", "spool", "logs"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let conf = format!(
            "ClusterName=bltest\nSlurmctldHost={host}\nAuthType=auth/none\nCredType=cred/none\n\
             SlurmUser={user}\nSlurmdUser={user}\nSlurmctldPort={}\nSlurmdPort={}\n\
             StateSaveLocation={r}/state\nSlurmdSpoolDir={r}/spool\n\
             SlurmctldPidFile={r}/slurmctld.pid\nSlurmdPidFile={r}/slurmd.pid\n\
             SlurmctldLogFile={r}/logs/slurmctld.log\nSlurmdLogFile={r}/logs/slurmd.log\n\
             ProctrackType=proctrack/pgid\nTaskPlugin=task/none\nMpiDefault=none\n\
             JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\nSchedulerType=sched/backfill\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\nReturnToService=2\nMinJobAge=600\n\
             SchedulerParameters=sched_interval=1,bf_interval=1\n\
             NodeName={host} CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            free_port(),
            free_port(),
            r = root.display()
        );
        std::fs::write(root.join("slurm.conf"), conf).unwrap();
        let daemon = |program: &str| {
            Command::new(program)
                .args(["-D", "-f"])
                .arg(root.join("slurm.conf"))
                .env("SLURM_CONF", root.join("slurm.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut cluster = Cluster {
            daemons: vec![daemon("slurmctld")],
            dir,
            _turn: turn,
        };
        std::thread::sleep(Duration::from_millis(500));
        cluster.daemons.push(daemon("slurmd"));
        let start = Instant::now();
        loop {
            let out = Command::new("sinfo")
                .args(["-h", "-o", "%t"])
                .env("SLURM_CONF", cluster.conf())
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).trim() == "idle" {
                return Some(cluster);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the test cluster did not come up: {}",
                std::fs::read_to_string(cluster.dir.path().join("logs/slurmctld.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for daemon in &mut self.daemons {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `--status` until every step is done; panics on a failed step or after `limit`.
fn wait_until_done(cwd: &Path, recipe: &str, extra: &[&str], cluster: &Cluster, limit: Duration) {
    let start = Instant::now();
    let mut args = vec!["experiment", recipe, "--executor", "slurm", "--status"];
    args.extend_from_slice(extra);
    loop {
        let status = ok(&boundary_loss(cwd, &args, Some(&cluster.conf())));
        let last = status.lines().last().unwrap_or_default().to_string();
        let counts: Vec<usize> = last
            .split_whitespace()
            .take(3)
            .filter_map(|w| w.parse().ok())
            .collect();
        if counts.len() == 2 && counts[0] == counts[1] {
            return;
        }
        assert!(!status.contains("failed"), "{status}");
        assert!(
            start.elapsed() < limit,
            "not done after {limit:?}:\n{status}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Every run's results (metrics.csv, arrays, val_metrics.json) and the report, relative path
/// and bytes.
fn results(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![out.join("runs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".npy") || name == "metrics.csv" || name == "val_metrics.json"
            {
                files.push(path);
            }
        }
    }
    files.push(out.join("report.txt"));
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f.strip_prefix(out).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

fn assert_same_results(a: &Path, b: &Path) {
    let (a, b) = (results(a), results(b));
    assert!(a.len() > 5, "{} files", a.len());
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{} differs", name.display());
    }
}

#[test]
fn the_synthetic_recipe_runs_through_slurm_as_it_runs_here() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let (recipe, local) = synthetic_debug_here();
    let recipe = recipe.as_str();

    let work = tempfile::tempdir().unwrap();
    let dry = ok(&boundary_loss(
        work.path(),
        &[
            "experiment",
            recipe,
            "--debug",
            "--executor",
            "slurm",
            "--dry-run",
            "--partition",
            "test",
            "--time",
            "10:00",
            "--mem",
            "1G",
            "--gpus-per-job",
            "1",
            "--sbatch-arg=--qos=normal",
        ],
        Some(&cluster.conf()),
    ));
    assert!(dry.contains("nothing submitted"), "{dry}");
    for line in [
        "#SBATCH --partition=test",
        "#SBATCH --time=10:00",
        "#SBATCH --mem=1G",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --qos=normal",
        "--array=0-19",
    ] {
        assert!(dry.contains(line), "{line}: {dry}");
    }
    assert_eq!(
        dry.matches("#SBATCH --gres=gpu:1").count(),
        1,
        "only training jobs ask for GPUs"
    );
    assert!(
        cluster.command("squeue", &["-h"]).trim().is_empty(),
        "the dry run submitted a job"
    );

    let submitted = ok(&boundary_loss(
        work.path(),
        &[
            "experiment",
            recipe,
            "--debug",
            "--executor",
            "slurm",
            "--cpus-per-job",
            "1",
        ],
        Some(&cluster.conf()),
    ));
    assert_eq!(
        submitted.matches("sbatch --parsable").count(),
        3,
        "{submitted}"
    );
    // A second submission while the jobs are in the queue submits nothing.
    let again = ok(&boundary_loss(
        work.path(),
        &["experiment", recipe, "--debug", "--executor", "slurm"],
        Some(&cluster.conf()),
    ));
    assert!(!again.contains("sbatch --parsable"), "{again}");
    wait_until_done(
        work.path(),
        recipe,
        &["--debug"],
        &cluster,
        Duration::from_secs(600),
    );

    let debug_out = |root: &Path| root.join("results/synthetic-debug");
    assert_same_results(&debug_out(local.path()), &debug_out(work.path()));
    // Done is done: nothing is submitted again.
    let after = ok(&boundary_loss(
        work.path(),
        &["experiment", recipe, "--debug", "--executor", "slurm"],
        Some(&cluster.conf()),
    ));
    assert!(after.contains("45 steps done, 0 submitted jobs"), "{after}");
    assert!(debug_out(work.path()).join("slurm/runs.sbatch").is_file());
}

/// A small recipe with one long training (100 epochs of Dimwit), slow enough to cancel.
fn long_recipe(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("long.toml"),
        "dataset = \"data\"\nnetwork = \"Dimwit\"\nmodalities = 2\nclasses = 2\nepochs = 100\n\
         batch_size = 4\nmetric_classes = [1]\npatient_regex = '(case_\\d+_\\d+)_\\d+'\n\
         in_memory = true\n\n[[streams]]\nfolder = \"in_npy\"\nkind = \"image_npy\"\n\n\
         [[streams]]\nfolder = \"gt_npy\"\nkind = \"one_hot\"\n\n[[losses]]\n\
         name = \"GeneralizedDice\"\nidc = [0, 1]\nweight = 1.0\nstream = 1\n",
    )
    .unwrap();
    let recipe = dir.join("long_recipe.toml");
    std::fs::write(
        &recipe,
        "seeds = [0]\nmetrics = [\"3d_dsc\"]\nreport = [\"val_dice\", \"val_3d_dsc\"]\n\
         archive = false\n\n[data]\nkind = \"synthetic\"\ntrain_patients = 4\nval_patients = 1\n\
         slices_per_patient = 8\nside = 64\nmodalities = 2\nseed = 0\n\n[[targets]]\n\
         name = \"long\"\nrun_file = \"long.toml\"\n",
    )
    .unwrap();
    recipe
}

#[test]
fn a_cancelled_training_job_resumes_when_submitted_again() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let local = tempfile::tempdir().unwrap();
    let recipe = long_recipe(local.path());
    ok(&boundary_loss(
        local.path(),
        &["experiment", recipe.to_str().unwrap()],
        None,
    ));

    let work = tempfile::tempdir().unwrap();
    let recipe = long_recipe(work.path());
    let recipe = recipe.to_str().unwrap();
    ok(&boundary_loss(
        work.path(),
        &[
            "experiment",
            recipe,
            "--executor",
            "slurm",
            "--cpus-per-job",
            "1",
        ],
        Some(&cluster.conf()),
    ));
    // Cancel the training job once it has saved a few epochs.
    let run = work.path().join("results/long_recipe/runs/long/seed0");
    let start = Instant::now();
    while !run.join("iter003").is_dir() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the training did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let queue = cluster.command("squeue", &["-h", "-r", "-o", "%i %j"]);
    let job = queue
        .lines()
        .find(|l| l.contains("-runs"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no training job in the queue: {queue}"))
        .to_string();
    cluster.command("scancel", &[&job]);
    let start = Instant::now();
    loop {
        let status = ok(&boundary_loss(
            work.path(),
            &["experiment", recipe, "--executor", "slurm", "--status"],
            Some(&cluster.conf()),
        ));
        if status.contains("train long seed 0")
            && status.contains(&format!("failed (job {job}, CANCELLED"))
        {
            assert!(
                !run.join("iter099").is_dir(),
                "the training was not cut short"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{status}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let again = ok(&boundary_loss(
        work.path(),
        &["experiment", recipe, "--executor", "slurm"],
        Some(&cluster.conf()),
    ));
    assert!(again.contains("--array=0 "), "{again}");
    wait_until_done(work.path(), recipe, &[], &cluster, Duration::from_secs(600));
    let out = |root: &Path| root.join("results/long_recipe");
    assert_same_results(&out(local.path()), &out(work.path()));
    let log = std::fs::read_dir(out(work.path()).join("slurm/logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(log.contains("resumes"), "the second job resumed: {log}");
}

#[test]
fn local_jobs_give_the_files_of_one_job() {
    let (recipe, one) = synthetic_debug_here();
    let recipe = recipe.as_str();
    let two = tempfile::tempdir().unwrap();
    let out = ok(&boundary_loss(
        two.path(),
        &[
            "experiment",
            recipe,
            "--debug",
            "--jobs",
            "2",
            "--threads",
            "2",
        ],
        None,
    ));
    assert!(out.contains("(1 threads, log"), "{out}");
    let debug_out = |root: &Path| root.join("results/synthetic-debug");
    assert_same_results(&debug_out(one.path()), &debug_out(two.path()));
    assert!(debug_out(two.path())
        .join("logs/train_gdl_seed_0.log")
        .is_file());
    // A second call redoes nothing.
    let again = ok(&boundary_loss(
        two.path(),
        &["experiment", recipe, "--debug", "--jobs", "2"],
        None,
    ));
    assert!(again.contains("0 of 45 steps run"), "{again}");
    let status = ok(&boundary_loss(
        two.path(),
        &["experiment", recipe, "--debug", "--status"],
        None,
    ));
    assert!(status.contains("45 of 45 steps done"), "{status}");
}
