//! The `boundary-loss` command: parses arguments, calls the libraries, prints results.
//!
//! This crate owns the command-line contract (subcommands, flags, exit codes, messages) and
//! nothing else: distance maps live in `distmap`, file formats in `volume-io`, losses and
//! networks in `boundary-loss`. Every failure is
//! printed as one `error: <file>: <reason>` line and exits with status 1.

// Nothing here needs unsafe code; the unsafe parts live in page-buffers, distmap, cpu-conv,
// cpu-norm and boundary-loss::memory, each with its SAFETY comments. `deny`, not `forbid`:
// ndarray's `s!` macro expands to an `allow(unsafe_code)`, which `forbid` refuses.
#![deny(unsafe_code)]

mod commands;
mod console;

use commands::{
    demo, distmap as distmap_cmd, experiment as experiment_cmd, export, metrics,
    network as network_cmd, plot, predict, report, slice as slice_cmd, surface_metrics, synth,
    train as train_cmd, unpack, view,
};

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "boundary-loss",
    version,
    about = "Boundary loss for highly unbalanced segmentation: distance maps, losses, training"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Signed (boundary loss) or Hausdorff distance maps of label maps, as .npy (K, *spatial).
    Distmap(distmap_cmd::DistmapArgs),
    /// The built-in default: generate a synthetic, unbalanced data set, train GDL and GDL +
    /// boundary loss on it, and compare them.
    Demo(demo::DemoArgs),
    /// Train a network from a TOML run file (the original main.py).
    Train(train_cmd::TrainArgs),
    /// Slice NIfTI volumes (any folder, or ISLES / WMH / ACDC as the original) into the 2-D
    /// layout: images, labels, 3-D distance maps, spacings.
    #[command(subcommand)]
    Slice(slice_cmd::SliceCommand),
    /// Check the official archives of a data set (md5) and unpack them as the make files do.
    ///
    /// The archives (registration needed): ISLES: ISLES2018_Training.zip (and optionally
    /// ISLES2018_Testing.zip) from https://www.smir.ch/ISLES/Start2018; WMH: Amsterdam_GE3T.zip,
    /// Singapore.zip, Utrecht.zip from https://wmh.isi.uu.nl/data/; ACDC: acdc.zip (training
    /// data) from https://acdc.creatis.insa-lyon.fr. Nothing is downloaded by this tool.
    Unpack(unpack::UnpackArgs),
    /// Synthetic raw data in an official layout (ISLES, WMH, ACDC), for `slice` without the
    /// real archives.
    Synth(synth::SynthArgs),
    /// Validation metrics of every epoch of a run, from its saved predictions (the original's
    /// metrics_overtime.py): val_<metric>.npy (epochs, patients or slices, classes).
    Metrics(metrics::MetricsArgs),
    /// Dice, Hausdorff, HD95 (medpy and MONAI) and ASSD of one predicted / true pair, as JSON.
    SurfaceMetrics(surface_metrics::SurfaceMetricsArgs),
    /// A table of runs at their best epoch: mean and std of each metric (the original's
    /// report.py), as text, Markdown or JSON.
    Report(report::ReportArgs),
    /// Curves over epochs, box plots and histograms at the best epoch, and a GIF of one
    /// patient's predictions, for several runs (PNG, SVG, CSV).
    Plot(plot::PlotArgs),
    /// A static web page of the validation images with the ground truth and several runs'
    /// predictions side by side (contours or overlays, per-slice Dice and HD, keyboard).
    View(view::ViewArgs),
    /// A whole experiment from a recipe (the original's make files): data, every target over
    /// seeds, metrics, plots, report, archive; skips what is done.
    Experiment(experiment_cmd::ExperimentArgs),
    /// Segment new NIfTI volumes with a trained run, with its data set's preprocessing: label
    /// volumes in the input's space, and per-case metrics with --gt.
    Predict(predict::PredictArgs),
    /// Export a trained run's network to PyTorch: a state_dict with the original's module
    /// names (safetensors or torch.save) and a JSON description of the network and its data.
    Export(export::ExportArgs),
    /// Print the blocks and parameter count of one of the original's networks; with --input,
    /// its logits on an .npy batch (with --weights: a run's, or a PyTorch state_dict).
    Network(network_cmd::NetworkArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.runs_networks() {
        // Freed tensors stay in the heap for the next step (boundary_loss::memory says why);
        // parsing started no thread. The other commands keep the allocator's defaults, under
        // which a large buffer is a fresh mapping of zero pages that can be huge pages; with
        // freed memory kept it comes from the heap, where calloc clears it itself, 4 KB page by
        // page (a 3-D distance map from .npy to .npy took about 25 % longer).
        boundary_loss::memory::keep_freed_memory();
    }
    let result = match cli.command {
        Command::Distmap(args) => distmap_cmd::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Network(args) => network_cmd::run(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::SurfaceMetrics(args) => surface_metrics::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Plot(args) => plot::run(&args),
        Command::View(args) => view::run(&args),
        Command::Experiment(args) => experiment_cmd::run(&args),
        Command::Train(args) => train_cmd::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Slice(command) => slice_cmd::run(&command),
        Command::Synth(args) => synth::run(&args),
        Command::Unpack(args) => unpack::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

impl Command {
    /// Whether the command trains or runs a network (tensors allocated and freed step after step).
    fn runs_networks(&self) -> bool {
        matches!(
            self,
            Command::Demo(_) | Command::Train(_) | Command::Experiment(_) | Command::Predict(_)
        )
    }
}

/// Sizes the global rayon pool; `None` keeps rayon's default (all cores).
pub(crate) fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
    }
    Ok(())
}
