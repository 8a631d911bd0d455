//! `boundary-loss experiment` and `plot` as users run them: a whole (debug) experiment in one
//! call, a second call that redoes nothing, the dry run, resuming after a failed step, bad
//! recipes; the figures of trained runs.

mod common;
use common::{boundary_loss, failed, ok, prepared, RUN_FILE};

use std::path::Path;

/// A recipe of two targets over two seeds on a tiny synthetic data set, in `dir`.
fn recipe(dir: &Path, boundary_run_file: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("runs")).unwrap();
    std::fs::write(
        dir.join("runs/gdl.toml"),
        RUN_FILE.replace("[schedule]\nkind = \"rebalance\"\nstep = 0.01\n", ""),
    )
    .unwrap();
    std::fs::write(dir.join("runs/gdl_boundary.toml"), boundary_run_file).unwrap();
    let path = dir.join("tiny.toml");
    std::fs::write(
        &path,
        r#"
seeds = [0, 1]
out = "out"
metrics = ["3d_dsc", "3d_hd95", "3d_assd"]
report = ["val_dice", "val_3d_dsc", "val_3d_hd95", "val_3d_assd"]
last_epochs = 2

[data]
kind = "synthetic"
train_patients = 2
val_patients = 2
slices_per_patient = 4
side = 16
modalities = 2

[[targets]]
name = "gdl"
run_file = "runs/gdl.toml"

[[targets]]
name = "gdl_boundary"
run_file = "runs/gdl_boundary.toml"
"#,
    )
    .unwrap();
    path
}

#[test]
fn an_experiment_runs_in_one_call_and_a_second_call_redoes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = recipe(dir.path(), RUN_FILE);
    let r = recipe.to_str().unwrap();

    let dry = ok(&boundary_loss(&["experiment", r, "--debug", "--dry-run"]));
    assert!(
        dry.contains("run  train gdl_boundary seed 1: not done yet"),
        "{dry}"
    );
    assert!(
        !dir.path().join("out-debug").exists(),
        "a dry run writes nothing"
    );

    let first = ok(&boundary_loss(&["experiment", r, "--debug"]));
    assert!(first.contains("13 of 13 steps run"), "{first}");
    let out = dir.path().join("out-debug");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| gdl_boundary | 2 | "), "{report}");
    assert!(report.contains(" ± "), "{report}");
    assert!(report.contains("better in"), "{report}");
    for file in [
        "plots/curves.png",
        "plots/curves.svg",
        "plots/curves.csv",
        "plots/box_val_3d_dsc.png",
        "report.txt",
        "report.json",
        "tiny.tar.gz",
        "view/index.html",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // The view shows each method's first seed (the two methods' seed 0).
    let page = std::fs::read_to_string(out.join("view/index.html")).unwrap();
    assert!(
        page.contains(r#""name":"gdl seed0""#) && page.contains(r#""name":"gdl_boundary seed0""#),
        "{page}"
    );
    assert!(!page.contains(r#""name":"gdl seed1""#));
    let gif = std::fs::read_dir(out.join("plots"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".gif"));
    assert!(gif, "a prediction GIF");
    // The curves' numbers: one mean column per method and metric, one row per epoch (5).
    let csv = std::fs::read_to_string(out.join("plots/curves.csv")).unwrap();
    assert!(
        csv.starts_with("epoch,val_dice [1]:gdl:mean,val_dice [1]:gdl:std,val_dice [1]:gdl seed0,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 6, "{csv}");
    // The archive holds the report and the runs' results, not checkpoints.
    let listing = std::process::Command::new("tar")
        .arg("tzf")
        .arg(out.join("tiny.tar.gz"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("tiny/report.md"), "{listing}");
    assert!(
        listing.contains("tiny/runs/gdl/seed1/val_3d_assd.npy"),
        "{listing}"
    );
    assert!(!listing.contains("checkpoint"), "{listing}");

    let report_before = std::fs::read(out.join("report.md")).unwrap();
    let second = ok(&boundary_loss(&["experiment", r, "--debug"]));
    assert!(second.contains("0 of 13 steps run"), "{second}");
    assert_eq!(std::fs::read(out.join("report.md")).unwrap(), report_before);

    // A step done again makes what reads it run again, and nothing else.
    std::fs::remove_file(out.join(".steps/metrics_gdl_seed_1.done")).unwrap();
    let dry = ok(&boundary_loss(&["experiment", r, "--debug", "--dry-run"]));
    assert!(dry.contains("skip train gdl seed 1"), "{dry}");
    assert!(
        dry.contains("run  metrics gdl seed 1: not done yet"),
        "{dry}"
    );
    assert!(
        dry.contains("run  plots: its input 'metrics gdl seed 1'"),
        "{dry}"
    );
    assert!(dry.contains("skip metrics gdl_boundary seed 0"), "{dry}");
}

#[test]
fn a_failed_step_is_named_and_the_next_call_resumes_there() {
    let dir = tempfile::tempdir().unwrap();
    // The second target cannot run: its patient regex matches no slice.
    let broken = RUN_FILE.replace(
        r"patient_regex = '(case_\d+_\d+)_\d+'",
        "patient_regex = '(nope)'",
    );
    let recipe = recipe(dir.path(), &broken);
    let r = recipe.to_str().unwrap();
    let e = failed(&boundary_loss(&["experiment", r, "--debug"]));
    assert!(
        e.contains("step 'train gdl_boundary seed 0'") && e.contains("tiny.toml"),
        "{e}"
    );
    // Fixed: what was finished is skipped, the failed step runs.
    std::fs::write(dir.path().join("runs/gdl_boundary.toml"), RUN_FILE).unwrap();
    let dry = ok(&boundary_loss(&["experiment", r, "--debug", "--dry-run"]));
    assert!(dry.contains("skip data"), "{dry}");
    assert!(dry.contains("skip train gdl seed 1"), "{dry}");
    assert!(dry.contains("run  train gdl_boundary seed 0"), "{dry}");
    let done = ok(&boundary_loss(&["experiment", r, "--debug"]));
    assert!(done.contains("skip train gdl seed 0"), "{done}");
}

#[test]
fn bad_recipes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = recipe(dir.path(), RUN_FILE);
    let text = std::fs::read_to_string(&recipe).unwrap();

    std::fs::write(
        &recipe,
        text.replace("last_epochs = 2", "last_epochs = 2\nlast_epoch = 3"),
    )
    .unwrap();
    let e = failed(&boundary_loss(&["experiment", recipe.to_str().unwrap()]));
    assert!(
        e.contains("tiny.toml: line 7") && e.contains("last_epoch"),
        "{e}"
    );

    std::fs::write(&recipe, text.replace("runs/gdl.toml", "runs/missing.toml")).unwrap();
    let e = failed(&boundary_loss(&["experiment", recipe.to_str().unwrap()]));
    assert!(e.contains("missing.toml") && e.contains("'gdl'"), "{e}");

    std::fs::write(&recipe, text.replace("side = 16", "side = 16\nsides = 3")).unwrap();
    let e = failed(&boundary_loss(&["experiment", recipe.to_str().unwrap()]));
    assert!(e.contains("sides"), "{e}");

    std::fs::write(&recipe, &text).unwrap();
    let e = failed(&boundary_loss(&[
        "experiment",
        recipe.to_str().unwrap(),
        "--only",
        "nope",
    ]));
    assert!(
        e.contains("--only nope") && e.contains("gdl, gdl_boundary"),
        "{e}"
    );
}

#[test]
fn plot_draws_the_figures_of_trained_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = prepared(dir.path(), RUN_FILE, 1, 2);
    let mut runs = Vec::new();
    for seed in ["0", "1"] {
        let out = dir.path().join("gdl").join(format!("seed{seed}"));
        ok(&boundary_loss(&[
            "train",
            run_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "3",
            "--seed",
            seed,
        ]));
        runs.push(out);
    }
    let plots = dir.path().join("plots");
    let listed = ok(&boundary_loss(&[
        "plot",
        runs[0].to_str().unwrap(),
        runs[1].to_str().unwrap(),
        "--out",
        plots.to_str().unwrap(),
        "--metrics",
        "3d_dsc,3d_hd95",
        "--gif",
        "",
    ]));
    assert!(
        listed.contains("curves.png") && listed.contains("prediction_case_"),
        "{listed}"
    );
    let curves = image::open(plots.join("curves.png")).unwrap();
    assert_eq!((curves.width(), curves.height()), (1000, 60 + 2 * 330));
    let csv = std::fs::read_to_string(plots.join("curves.csv")).unwrap();
    // Seeds of one method are grouped: a mean, a std and both seeds.
    assert!(csv.starts_with("epoch,val_3d_dsc [1]:gdl:mean,val_3d_dsc [1]:gdl:std,val_3d_dsc [1]:gdl seed0,val_3d_dsc [1]:gdl seed1,"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
    let svg = std::fs::read_to_string(plots.join("box_val_3d_hd95.svg")).unwrap();
    assert!(svg.contains("val_3d_hd95 (mm)"), "the axis names its unit");

    let e = failed(&boundary_loss(&[
        "plot",
        runs[0].to_str().unwrap(),
        "--out",
        plots.to_str().unwrap(),
        "--metrics",
        "3d_assd",
    ]));
    assert!(
        e.contains("val_3d_assd.npy") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn the_demo_is_an_experiment_over_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let args = [
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "2",
        "--base",
        "2",
        "--seeds",
        "2",
    ];
    let first = ok(&boundary_loss(&args));
    // Data, 3 targets x 2 seeds x (train, metrics), plots, report, view, archive.
    assert!(first.contains("17 of 17 steps run"), "{first}");
    let report = std::fs::read_to_string(out.join("results/report.md")).unwrap();
    assert!(
        report.contains("| gdl | 2 | ")
            && report.contains("| gdl_boundary | 2 | ")
            && report.contains("| gdl_original | 2 | "),
        "{report}"
    );
    // The switches are named, and the table ends with its plain reading.
    assert!(
        first.contains("`batch = true`") && first.contains("absent_class"),
        "{first}"
    );
    assert!(
        report.contains("Reading (over the last 5 epochs"),
        "{report}"
    );
    assert!(
        report.contains("* gdl_boundary on val_3d_dsc: "),
        "{report}"
    );
    let run_file = std::fs::read_to_string(out.join("run_files/gdl_boundary.toml")).unwrap();
    assert!(
        run_file.contains("batch = true") && run_file.contains("absent_class = \"diagonal\""),
        "{run_file}"
    );
    let original = std::fs::read_to_string(out.join("run_files/gdl_original.toml")).unwrap();
    assert!(
        !original.contains("batch = true") && !original.contains("absent"),
        "{original}"
    );
    assert!(out.join("results/plots/curves.png").is_file());
    assert!(out.join("results/view/index.html").is_file());
    // Again: nothing to do, and the table of the finished demo is shown.
    let second = ok(&boundary_loss(&args));
    assert!(second.contains("0 of 17 steps run"), "{second}");
    assert!(second.contains("| gdl_boundary | 2 | "), "{second}");
}

/// The shipped ISLES, WMH and ACDC recipes, end to end (debug) on synthetic raw data in the
/// official layouts: slicing as the original, every make-file target, metrics, plots, report.
#[test]
fn the_official_recipes_run_on_synthetic_raw_data() {
    let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
    for (dataset, targets) in [("isles", 6), ("wmh", 6), ("acdc", 3)] {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        ok(&boundary_loss(&[
            "synth",
            dataset,
            "--dest",
            raw.to_str().unwrap(),
        ]));
        let text = std::fs::read_to_string(recipes.join(format!("{dataset}.toml"))).unwrap();
        let archives = format!("archives = \"../downloads/{dataset}\"");
        assert!(text.contains(&archives), "{dataset}: {text}");
        let text = text
            .replace(
                &archives,
                &format!("raw = {:?}\nretain = 2", raw.to_str().unwrap()),
            )
            .replace(
                &format!("run_file = \"{dataset}_"),
                &format!("run_file = \"{}/{dataset}_", recipes.display()),
            );
        let recipe = dir.path().join(format!("{dataset}.toml"));
        // Results next to the recipe (by default they go to results/ in the current folder).
        std::fs::write(&recipe, format!("out = \"out\"\n{text}")).unwrap();
        let out = ok(&boundary_loss(&[
            "experiment",
            recipe.to_str().unwrap(),
            "--debug",
        ]));
        // data, train + metrics per target, plots, report, view, archive.
        let steps = 1 + 2 * targets + 4;
        assert!(
            out.contains(&format!("{steps} of {steps} steps run")),
            "{dataset}: {out}"
        );
        let report = std::fs::read_to_string(dir.path().join("out-debug/report.md")).unwrap();
        assert!(
            report.contains(&format!(
                "| {} | 1 | ",
                if dataset == "acdc" { "ce" } else { "gdl" }
            )),
            "{report}"
        );
        // Its view: one column per target (seed 0), the data set's validation slices.
        let page = std::fs::read_to_string(dir.path().join("out-debug/view/index.html")).unwrap();
        assert_eq!(
            page.matches(" seed0\",\"epochs\":[").count(),
            targets,
            "{dataset}"
        );
    }
}
