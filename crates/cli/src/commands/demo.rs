//! `boundary-loss demo`: the built-in default, the quick version of `recipes/synthetic.toml`. It
//! writes a recipe and its run files into its folder and runs that experiment: a small, highly
//! unbalanced synthetic data set, the generalized Dice loss alone and GDL + boundary loss (the
//! paper's rebalancing) with the switches that close the empty-slice gradient hole (GDL summed
//! over the batch, MONAI's `batch=True`; the boundary map of an absent class set to the slice's
//! diagonal), and GDL as the original computes it, each over several seeds; then metrics, plots
//! and a report (mean ± std over seeds, paired differences and their plain reading). A second
//! call redoes nothing.

use std::path::{Path, PathBuf};

use boundary_loss::data::synthetic::{self, PATIENT_REGEX};
use boundary_loss::data::MapNormalization;
use boundary_loss::losses::AbsentClassWeight;
use boundary_loss::nets::Architecture;
use boundary_loss::train::{LossKind, LossTerm, RunConfig, Schedule};
use clap::Args;
use distmap::AbsentClass;
use experiment::recipe::{DataSource, Target};
use experiment::{Experiment, ExperimentOptions, LoadedRecipe, Recipe};
use volume_io::write_text_atomically;

use super::experiment::Terminal;

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Folder for the recipe, its run files, the data set, the runs and the results.
    #[arg(long, default_value = "boundary-loss-demo")]
    pub out: PathBuf,
    /// Epochs of each run (25 at learning rate 7e-4: on every seed and data set tried, no jump
    /// above 0.3 in 3-D Dice between epochs after the first third; see docs/empty-slice-gradient.md).
    #[arg(long, default_value_t = 25)]
    pub epochs: usize,
    /// UNet base width (the original uses 64; 8 keeps the demo to minutes on 2 CPU cores).
    #[arg(long, default_value_t = 8)]
    pub base: usize,
    /// Seeds per method (0, 1, ...).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Seed of the synthetic data set.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,
    /// Redo everything (otherwise what is done is kept).
    #[arg(long)]
    pub force: bool,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The demo's run file, with the given loss terms and schedule; `closed`: the boundary map of a
/// class absent from a slice is the slice's diagonal instead of the original's zeros, and maps
/// are scaled to [-1, 1] per slice (with raw maps in mm, GDL + boundary did not learn beside the
/// batch GDL: docs/empty-slice-gradient.md).
fn run_config(
    args: &DemoArgs,
    losses: Vec<LossTerm>,
    schedule: Schedule,
    closed: bool,
) -> RunConfig {
    let mut streams = synthetic::streams();
    if closed {
        streams[2].absent_class = AbsentClass::Diagonal;
        streams[2].normalize = MapNormalization::MaxAbs;
    }
    let mut config = RunConfig::default();
    let network = &mut config.network;
    network.architecture = Architecture::UNet;
    network.base = Some(args.base);
    (network.modalities, network.classes) = (2, 2);
    let data = &mut config.data;
    // Replaced by the experiment's data set.
    data.dataset = PathBuf::from("data");
    data.streams = streams;
    data.batch_size = 8;
    data.in_memory = true;
    // Distance maps in mm (the synthetic slices are anisotropic).
    data.use_spacing = true;
    config.losses.terms = losses;
    config.schedule.loss_weights = schedule;
    config.schedule.epochs = args.epochs;
    config.optimiser.learning_rate = 7e-4;
    config.validation.metric_classes = vec![1];
    config.validation.patient_regex = PATIENT_REGEX.into();
    config
}

/// Writes the demo's recipe and run files into `out`; returns the recipe's path.
fn write_recipe(args: &DemoArgs, out: &Path) -> anyhow::Result<PathBuf> {
    let gdl_of = |batch| {
        LossTerm::new(
            LossKind::GeneralizedDice {
                batch,
                absent_weight: AbsentClassWeight::Original,
            },
            vec![0, 1],
            1.0,
            1,
        )
    };
    let boundary = LossTerm::new(LossKind::Boundary, vec![1], 0.0, 2);
    // The paper lowers alpha by 0.01 over 200+ epochs; a short run needs a faster pace (0.016
    // over 25 epochs: alpha ends at 0.6).
    let step = (0.4 / args.epochs as f64).clamp(0.01, 0.1);
    // The first target is the reference of the paired comparisons.
    let targets = [
        (
            "gdl",
            run_config(args, vec![gdl_of(true)], Schedule::None, false),
        ),
        (
            "gdl_boundary",
            run_config(
                args,
                vec![gdl_of(true), boundary],
                Schedule::Rebalance { step },
                true,
            ),
        ),
        (
            "gdl_original",
            run_config(args, vec![gdl_of(false)], Schedule::None, false),
        ),
    ];
    let run_files = out.join("run_files");
    std::fs::create_dir_all(&run_files).map_err(|e| volume_io::FileError::new(&run_files, e))?;
    let mut target_files = Vec::new();
    for (name, config) in &targets {
        let file = run_files.join(format!("{name}.toml"));
        write_text_atomically(&file, &config.to_toml())?;
        target_files.push(Target {
            name: name.to_string(),
            run_file: PathBuf::from("run_files").join(format!("{name}.toml")),
        });
    }
    let data = DataSource::synthetic(6, args.data_seed);
    let recipe = Recipe {
        name: Some("demo".into()),
        out: Some(PathBuf::from("results")),
        seeds: (0..args.seeds.max(1)).collect(),
        metrics: ["3d_dsc", "3d_hd95", "3d_assd"].map(String::from).to_vec(),
        report: ["val_dice", "val_3d_dsc", "val_3d_hd95", "val_3d_assd"]
            .map(String::from)
            .to_vec(),
        last_epochs: 5,
        ..Recipe::new(data, target_files)
    };
    let text = format!(
        "# Written by `boundary-loss demo` (the quick version of recipes/synthetic.toml).\n{}",
        recipe.to_toml()
    );
    let path = out.join("demo.toml");
    write_text_atomically(&path, &text)?;
    Ok(path)
}

/// What the demo's targets are, printed above its report.
const DEMO_TARGETS: &str = "The demo's targets:
* gdl: generalized Dice summed over the batch (`batch = true`, MONAI's GeneralizedDiceLoss(batch=True)).
* gdl_boundary: the same GDL + the boundary loss with the paper's rebalancing; the boundary map of a
  class absent from a slice is the slice's diagonal (`absent_class = \"diagonal\"`), so a false
  positive on a slice without lesion costs something, and the maps are scaled to [-1, 1]
  (`normalize = \"max_abs\"`).
* gdl_original: GDL as the original computes it (per-image weights): on the slices without lesion the
  lesion class weighs 1e20, the loss sits at 1.0000 and its gradient vanishes (~1e-31), so false
  positives there are never penalised. It is kept to show that hole side by side.";

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    anyhow::ensure!(
        args.epochs > 0 && args.base > 0,
        "--epochs and --base must be at least 1"
    );
    let recipe_path = write_recipe(args, &args.out)?;
    let recipe = LoadedRecipe::from_file(&recipe_path)?;
    let experiment = Experiment::new(
        recipe,
        ExperimentOptions {
            force: args.force,
            ..ExperimentOptions::default()
        },
    )?;
    println!(
        "demo: {} (the recipe; `boundary-loss experiment {}` runs it again)",
        recipe_path.display(),
        recipe_path.display()
    );
    let plan = experiment.run(&mut Terminal::new())?;
    let ran = plan.iter().filter(|s| s.runs).count();
    let out = experiment.out();
    println!(
        "\n{ran} of {} steps run. Report: {}; plots: {} (curves.png, box_*.png, prediction_*.gif); predictions: {} (open it in a browser); runs: {}",
        plan.len(),
        out.join("report.md").display(),
        out.join("plots").display(),
        out.join("view/index.html").display(),
        out.join("runs").display()
    );
    println!("\n{DEMO_TARGETS}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap_or_default();
    println!("\n{report}");
    Ok(())
}
