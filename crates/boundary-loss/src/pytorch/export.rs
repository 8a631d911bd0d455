//! Exporting a trained run: its network's state_dict (see the parent module) and, beside it, a
//! JSON description a PyTorch user needs to rebuild and use it: the original's class and
//! constructor arguments, the classes, the activation and temperature, and the data set's
//! preprocessing record, so that a new volume can be prepared as the training slices were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use preprocess::PreprocessRecord;
use serde::{Deserialize, Serialize};
use volume_io::FileError;

use super::{constructor, state_dict, write_state_dict, TorchFormat};
use crate::device::DeviceSpec;
use crate::infer::{Predictor, Weights};
use crate::nets::Architecture;
use crate::train::run_folder;
use crate::train::step::Activation;
use crate::train::TrainError;

/// The version of the description's layout.
pub const EXPORT_FORMAT: u32 = 1;

/// The JSON file written beside an exported state_dict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportInfo {
    pub format: u32,
    /// The tool and version that wrote it.
    pub exported_by: String,
    /// The state_dict's file name (in the same folder).
    pub weights_file: String,
    pub weights_format: TorchFormat,
    /// The class in the original's `networks.py`.
    pub architecture: Architecture,
    /// Its constructor's keyword arguments (`in_dim`/`out_dim`, `nin`/`nout` for UNet3D, `nG`).
    pub constructor: BTreeMap<String, usize>,
    /// 2 (input `(B, C, H, W)`) or 3 (`(B, C, D, H, W)`).
    pub spatial_rank: usize,
    /// What every spatial side of the input must be a multiple of.
    pub side_multiple: usize,
    /// Segmentation classes K (the network outputs K logits, or 1 with a sigmoid).
    pub classes: usize,
    /// `softmax`: `softmax(temperature * logits)` over the outputs; `sigmoid`: one output,
    /// `sigmoid(temperature * logit)` is class 1's probability.
    pub activation: Activation,
    pub temperature: f64,
    /// The run and the weights exported.
    pub source: ExportSource,
    /// How the data set was made from its volumes (`preprocess.json`), when it says.
    pub preprocess: Option<PreprocessRecord>,
}

/// Where the exported weights came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSource {
    pub run: PathBuf,
    /// `best`, `last`, or the file given.
    pub weights: String,
    /// The best epoch (0-based) when the best weights were exported.
    pub best_epoch: Option<usize>,
}

/// What [`export_run`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub weights: PathBuf,
    pub description: PathBuf,
    pub tensors: usize,
    pub info: ExportInfo,
}

/// The description's path: `out` with the extension `.json`.
pub fn description_path(out: &Path) -> PathBuf {
    out.with_extension("json")
}

/// Writes the state_dict of `run_dir`'s `weights` to `out` (as `format`, or as `out`'s
/// extension says) and its description beside it. Both are written to temporary names first:
/// on any error neither file appears.
pub fn export_run(
    run_dir: &Path,
    weights: &Weights,
    out: &Path,
    format: Option<TorchFormat>,
) -> Result<Exported, TrainError> {
    let description = description_path(out);
    if description == out {
        return Err(FileError::new(
            out,
            "the export's description is written beside it as .json: give the weights another extension (.safetensors or .pt)",
        )
        .into());
    }
    let format = format.unwrap_or_else(|| TorchFormat::of_path(out));
    let predictor = Predictor::open(run_dir, weights, Some(&DeviceSpec::Cpu))?;
    let config = &predictor.config;
    let net = predictor.network();
    let tensors = state_dict(net).map_err(|e| FileError::new(run_dir, e))?;
    let (_, arguments) = constructor(
        config.network.architecture,
        config.network.modalities,
        config.output_channels(),
        config.network.base,
    );
    let info = ExportInfo {
        format: EXPORT_FORMAT,
        exported_by: run_folder::version(),
        weights_file: out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        weights_format: format,
        architecture: config.network.architecture,
        constructor: arguments
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        spatial_rank: config.network.architecture.spatial_rank(),
        side_multiple: config.network.architecture.side_multiple(),
        classes: config.network.classes,
        activation: config.network.activation,
        temperature: config.network.temperature,
        source: ExportSource {
            run: std::fs::canonicalize(run_dir).unwrap_or_else(|_| run_dir.to_path_buf()),
            weights: match weights {
                Weights::Best => "best".into(),
                Weights::Last => "last".into(),
                Weights::File(path) => path.display().to_string(),
            },
            best_epoch: matches!(weights, Weights::Best)
                .then(|| run_folder::best_epoch(run_dir))
                .flatten(),
        },
        preprocess: PreprocessRecord::read(&config.data.dataset).ok(),
    };
    let json = serde_json::to_string_pretty(&info).expect("the description serialises");
    let metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        ("boundary_loss".to_string(), json.clone()),
    ]);
    // The weights under a temporary name, the description under its own, then both renamed.
    let staged = super::files::temporary_path(out);
    write_state_dict(&tensors, &staged, format, &metadata)?;
    let written = volume_io::write_text_atomically(&description, &format!("{json}\n"))
        .and_then(|()| std::fs::rename(&staged, out).map_err(|e| FileError::new(out, e)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&staged);
        let _ = std::fs::remove_file(&description);
        return Err(e.into());
    }
    Ok(Exported {
        weights: out.to_path_buf(),
        description,
        tensors: tensors.len(),
        info,
    })
}
