//! `boundary-loss export`: a trained run's network as a PyTorch state_dict with the original's
//! module names (safetensors or a `torch.save` file), and a JSON description beside it.

use std::path::PathBuf;

use boundary_loss::infer::Weights;
use boundary_loss::pytorch::export::export_run;
use boundary_loss::pytorch::TorchFormat;
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The run folder (as written by `train`).
    pub run_dir: PathBuf,
    /// The state_dict file to write; its description goes beside it with the extension .json.
    #[arg(long)]
    pub out: PathBuf,
    /// best (the best epoch's best.bpk), last (the last checkpoint) or a weights file.
    #[arg(long, default_value = "best")]
    pub weights: Weights,
    /// safetensors or pt (torch.save) [default: pt for a .pt or .pth --out, else safetensors].
    #[arg(long)]
    pub format: Option<TorchFormat>,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let exported = export_run(&args.run_dir, &args.weights, &args.out, args.format)?;
    let info = &exported.info;
    let arguments: Vec<String> = info
        .constructor
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "{}: {} tensors ({:?}) of {}({}), {} weights of {}",
        exported.weights.display(),
        exported.tensors,
        info.weights_format,
        info.architecture,
        arguments.join(", "),
        info.source.weights,
        args.run_dir.display(),
    );
    println!(
        "{}: the description (activation {:?}, temperature {}, {})",
        exported.description.display(),
        info.activation,
        info.temperature,
        if info.preprocess.is_some() {
            "the data set's preprocessing record"
        } else {
            "no preprocessing record: the data set has no preprocess.json"
        }
    );
    if info.architecture == boundary_loss::nets::Architecture::ENet
        && info.constructor.get("in_dim").is_some_and(|&m| m != 1)
    {
        println!(
            "note: the original's ENet runs on one modality only; this {}-modality ENet loads into ours, not into networks.py's (docs/pytorch.md)",
            info.constructor["in_dim"]
        );
    }
    Ok(())
}
