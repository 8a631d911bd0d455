//! A run folder's weights and checkpoint, which are Burn records (the rest of the folder's format
//! is [`runs::run_folder`], re-exported here).

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
pub use runs::run_folder::*;
use volume_io::{FileError, StagedDir};

use crate::nets::Network;

fn save_record(net: &Network, path: &Path) -> Result<(), FileError> {
    net.clone()
        .into_record()
        .save(path)
        .map_err(|e| FileError::new(path, format!("{e:?}")))
}

/// Saves `net`'s weights to `path` through a temporary name.
pub fn save_weights(net: &Network, path: &Path) -> Result<(), FileError> {
    let name = path
        .file_name()
        .map_or_else(|| "weights".into(), |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.tmp"));
    let saved = save_record(net, &temp)
        .and_then(|()| std::fs::rename(&temp, path).map_err(|e| FileError::new(path, e)));
    if saved.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    saved
}

/// Loads weights into `net`: a Burn record saved by [`save_weights`] (or any of the same
/// network), or a PyTorch state_dict with the original's names (safetensors or `torch.save`,
/// see [`crate::pytorch`]), told apart by their first bytes.
pub fn load_weights(net: Network, path: &Path) -> Result<Network, FileError> {
    if crate::pytorch::is_state_dict_file(path) {
        return crate::pytorch::load_state_dict(net, path);
    }
    let record = burn::store::ModuleRecord::load(path)
        .map_err(|e| FileError::new(path, format!("not a Burn record: {e:?}")))?;
    net.try_load_record(record)
        .map_err(|e| FileError::new(path, format!("does not fit the network: {e:?}")))
}

/// Writes `checkpoint.tmp/` (weights, optimiser state, then state.json last) and renames it to
/// `checkpoint/`; resuming accepts either, whichever holds a state.json.
pub fn save_checkpoint(
    run_dir: &Path,
    net: &Network,
    optimizer: &ModuleOptimizer,
    state: &Checkpoint,
) -> Result<(), FileError> {
    // Dropped on an error, the partial checkpoint.tmp goes; the previous checkpoint stays.
    let staged = StagedDir::create(&run_dir.join(CHECKPOINT_DIR), run_dir.join(CHECKPOINT_TEMP))?;
    let temp = staged.dir();
    save_record(net, &temp.join("model.bpk"))?;
    let optim = temp.join("optimizer.bpk");
    optimizer
        .to_record()
        .save(&optim)
        .map_err(|e| FileError::new(&optim, format!("{e:?}")))?;
    write_text(
        &temp.join("state.json"),
        &serde_json::to_string_pretty(state).expect("plain state"),
    )?;
    staged.finish(true)
}

/// The checkpoint in `dir` (see [`checkpoint_dir`]) of `run_dir`: its state, and the network
/// and optimiser loaded from it.
pub fn load_checkpoint(
    run_dir: &Path,
    dir: &Path,
    net: Network,
    optimizer: ModuleOptimizer,
) -> Result<(Checkpoint, Network, ModuleOptimizer), FileError> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| FileError::new(&state_path, e))?;
    let state: Checkpoint =
        serde_json::from_str(&text).map_err(|e| FileError::new(&state_path, e))?;
    let net = load_weights(net, &dir.join("model.bpk"))?;
    let optimizer_path = dir.join("optimizer.bpk");
    let record = burn::optim::OptimizerRecord::load(&optimizer_path)
        .map_err(|e| FileError::new(&optimizer_path, format!("{e:?}")))?;
    let optimizer = optimizer.load_record(record);
    // A kill between removing checkpoint/ and renaming checkpoint.tmp/ leaves only the latter.
    if dir.ends_with(CHECKPOINT_TEMP) {
        let done = run_dir.join(CHECKPOINT_DIR);
        std::fs::rename(dir, &done).map_err(|e| FileError::new(&done, e))?;
    }
    Ok((state, net, optimizer))
}
