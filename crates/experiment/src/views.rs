//! Run folders to a viewer page: which slices (the first run's validation split, its patients,
//! spacing and truth; a 3-D run's volumes cut along their last axis), which image, which epochs
//! of which run, and the columns' names. Used by the `view` command and by experiments
//! (`OUT/view/`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use datasets::data::slice_stem;
use runs::config::{anchored_regex, RunConfig};
use runs::inputs::{open_split, patients_of};
use runs::run_folder::{iteration_dir, saved_epochs, val_prediction, BEST_EPOCH_FILE, RUN_FILE};
use volume_io::FileError;

use crate::figures::run_refs;
pub use viewer::ViewSummary;
use viewer::{EpochInput, RunInput, SliceInput, ViewInput};

/// Which saved predictions each run shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochChoice {
    /// Each run's best epoch (`best_epoch.txt`).
    Best,
    /// This epoch of every run.
    Epoch(usize),
    /// Every saved epoch (the page's slider).
    All,
}

impl std::str::FromStr for EpochChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "best" => Ok(EpochChoice::Best),
            "all" => Ok(EpochChoice::All),
            n => n.parse().map(EpochChoice::Epoch).map_err(|_| {
                format!("'{n}': expected best, all or an epoch number (0 is the first)")
            }),
        }
    }
}

/// What the page shows, beyond the runs.
#[derive(Debug, Clone)]
pub struct ViewRequest {
    /// The images' folder (`<slice>.png` or `.npy`) [default: the first run's image stream].
    pub images: Option<PathBuf>,
    /// The channel of `(C, H, W)` images.
    pub channel: usize,
    pub epoch: EpochChoice,
    pub crop: usize,
    pub zoom: Option<usize>,
    /// One display name per run [default: `METHOD seedN` or the folder's name].
    pub names: Vec<String>,
    /// Only patients matching this (unanchored) regex.
    pub patients: Option<String>,
    pub per_page: usize,
    pub title: Option<String>,
}

impl Default for ViewRequest {
    fn default() -> Self {
        ViewRequest {
            images: None,
            channel: 0,
            epoch: EpochChoice::Best,
            crop: 0,
            zoom: None,
            names: Vec::new(),
            patients: None,
            per_page: 3,
            title: None,
        }
    }
}

fn run_config(run: &Path) -> anyhow::Result<RunConfig> {
    let file = run.join(RUN_FILE);
    if !file.is_file() {
        return Err(
            FileError::new(&file, "missing: not a run folder (train writes run.toml)").into(),
        );
    }
    Ok(RunConfig::from_file(&file)?)
}

/// The run's epochs that `choice` selects, each checked to exist.
fn chosen_epochs(run: &Path, choice: EpochChoice) -> anyhow::Result<(Vec<usize>, Option<usize>)> {
    let best_file = run.join(BEST_EPOCH_FILE);
    let best = runs::run_folder::best_epoch(run);
    let epochs = match choice {
        EpochChoice::Best => vec![best.ok_or_else(|| {
            FileError::new(
                &best_file,
                "missing or unreadable: the run has no best epoch yet (use --epoch N or all)",
            )
        })?],
        EpochChoice::Epoch(n) => vec![n],
        // Every validated epoch (`val_every` leaves the others without predictions).
        EpochChoice::All => saved_epochs(run)?
            .into_iter()
            .filter(|&e| iteration_dir(run, e).join("val").is_dir())
            .collect(),
    };
    if epochs.is_empty() {
        return Err(FileError::new(run, "holds no saved epoch (iterNNN/)").into());
    }
    for &e in &epochs {
        let dir = iteration_dir(run, e);
        if !dir.is_dir() {
            return Err(FileError::new(&dir, "missing: the run did not save this epoch").into());
        }
    }
    Ok((epochs, best))
}

/// A slice's file in `dir`: `<stem>.npy` or `<stem>.png`.
fn slice_file(dir: &Path, stem: &str) -> anyhow::Result<PathBuf> {
    ["npy", "png"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            FileError::new(
                dir.join(format!("{stem}.npy")),
                "missing: no .npy or .png of this slice",
            )
            .into()
        })
}

/// The validation slices of a 2-D run's data set (grouped into patients by its
/// `patient_regex`), whether its slices carry a spacing.
fn slices_2d(
    config: &RunConfig,
    request: &ViewRequest,
    filter: Option<&regex::Regex>,
) -> anyhow::Result<(Vec<SliceInput>, usize, bool)> {
    let truth_folder = config.truth_folder()?;
    let val_set = open_split(config, "val", &truth_folder)?;
    let pattern = anchored_regex("patient_regex", &config.validation.patient_regex)?;
    let patients = patients_of(&val_set, &pattern)?;
    let split_dir = val_set.split_dir().to_path_buf();
    let image_dir = image_folder(request, &split_dir, config)?;
    // Distances in mm whenever the split has a spacing table, as `metrics` measures them.
    let spacings = val_set.slice_spacings()?;
    let mut slices = Vec::new();
    for (patient, indices) in &patients {
        if filter.is_some_and(|f| !f.is_match(patient)) {
            continue;
        }
        for &i in indices {
            let stem = slice_stem(&val_set.names()[i]).to_string();
            let spacing = spacings.as_ref().map_or([1.0, 1.0], |s| [s[i][0], s[i][1]]);
            slices.push(SliceInput {
                image: slice_file(&image_dir, &stem)?,
                truth: slice_file(&split_dir.join(&truth_folder), &stem)?,
                channel: request.channel,
                spacing,
                slice: None,
                patient: patient.clone(),
                name: stem,
            });
        }
    }
    Ok((slices, patients.len(), spacings.is_some()))
}

/// The validation volumes of a 3-D run's data set cut along their last axis: one patient per
/// volume, slices `<case>_<z>` with the volume's in-plane spacing.
fn slices_3d(
    config: &RunConfig,
    request: &ViewRequest,
    filter: Option<&regex::Regex>,
) -> anyhow::Result<(Vec<SliceInput>, usize, bool)> {
    let truth_dir = config.data.dataset.join("val").join(config.truth_folder()?);
    let image_dir = image_folder(request, &config.data.dataset.join("val"), config)?;
    let spacings = volume_io::read_spacing_json(&config.data.dataset.join("spacing_3d.json"))?;
    let cases = datasets::volumes::dataset::case_names(&truth_dir)?;
    let mut slices = Vec::new();
    for case in &cases {
        if filter.is_some_and(|f| !f.is_match(case)) {
            continue;
        }
        let truth = truth_dir.join(format!("{case}.npy"));
        // The header is enough for the depth: the viewer reads the volume itself.
        let shape = volume_io::guard::check_npy_file(&truth)?.shape;
        let [_, _, depth] = shape[..] else {
            return Err(FileError::new(&truth, format!("is {shape:?}: not a volume")).into());
        };
        let spacing = spacings
            .get(case)
            .filter(|s| s.len() == 3)
            .with_context(|| {
                format!(
                    "{}: no spacing of {case}",
                    config.data.dataset.join("spacing_3d.json").display()
                )
            })?;
        for z in 0..depth {
            slices.push(SliceInput {
                name: format!("{case}_{z:04}"),
                patient: case.clone(),
                image: image_dir.join(format!("{case}.npy")),
                channel: request.channel,
                truth: truth.clone(),
                spacing: [spacing[0], spacing[1]],
                slice: Some(z),
            });
        }
    }
    Ok((slices, cases.len(), true))
}

fn image_folder(
    request: &ViewRequest,
    split_dir: &Path,
    config: &RunConfig,
) -> anyhow::Result<PathBuf> {
    let image_dir = request
        .images
        .clone()
        .unwrap_or_else(|| split_dir.join(&config.data.streams[0].folder));
    if !image_dir.is_dir() {
        return Err(FileError::new(&image_dir, "missing: no such image folder").into());
    }
    Ok(image_dir)
}

/// The page's input for `runs` (at least one): the first run's validation slices (a 3-D run's:
/// its volumes cut along their last axis), grouped into patients, every run's predictions of
/// them.
pub fn view_input(runs: &[PathBuf], request: &ViewRequest) -> anyhow::Result<ViewInput> {
    let Some(first) = runs.first() else {
        bail!("no run folder to view");
    };
    if !request.names.is_empty() && request.names.len() != runs.len() {
        bail!(
            "--names: {} names for {} runs",
            request.names.len(),
            runs.len()
        );
    }
    let config = run_config(first)?;
    let volumetric = config.data.patches.is_some();
    let filter = request
        .patients
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("--patients: not a regular expression")?;
    let (slices, patients, has_spacing) = if volumetric {
        slices_3d(&config, request, filter.as_ref())?
    } else {
        slices_2d(&config, request, filter.as_ref())?
    };
    if slices.is_empty() {
        bail!(
            "--patients {}: matches none of the {patients} validation patients",
            request.patients.as_deref().unwrap_or(""),
        );
    }
    let names: Vec<String> = if request.names.is_empty() {
        run_refs(runs).into_iter().map(|r| r.label).collect()
    } else {
        request.names.clone()
    };
    let mut columns = Vec::with_capacity(runs.len());
    for (run, name) in runs.iter().zip(names) {
        let run_config = run_config(run)?;
        if run_config.network.classes != config.network.classes
            || run_config.data.patches.is_some() != volumetric
        {
            bail!(
                "{}: {} classes ({}), {}: {} ({}): runs of one view share their classes and dimensions",
                run.join(RUN_FILE).display(),
                run_config.network.classes,
                if run_config.data.patches.is_some() { "3-D" } else { "2-D" },
                first.join(RUN_FILE).display(),
                config.network.classes,
                if volumetric { "3-D" } else { "2-D" },
            );
        }
        let (epochs, best_epoch) = chosen_epochs(run, request.epoch)?;
        let epochs = epochs
            .into_iter()
            .map(|epoch| {
                let predictions = slices
                    .iter()
                    .map(|s| {
                        let path = match s.slice {
                            // A 3-D run saves one volume per case.
                            Some(_) => iteration_dir(run, epoch)
                                .join("val")
                                .join(format!("{}.npy", s.patient)),
                            None => val_prediction(run, epoch, &s.name),
                        };
                        if path.is_file() {
                            Ok(path)
                        } else {
                            Err(FileError::new(
                                &path,
                                "missing: no prediction of this validation slice (a run of another data set?)",
                            ))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(EpochInput { epoch, predictions })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        columns.push(RunInput {
            name,
            epochs,
            best_epoch,
        });
    }
    let mut metric_classes: Vec<usize> = config
        .metric_classes()
        .into_iter()
        .filter(|&k| k > 0)
        .collect();
    if metric_classes.is_empty() {
        metric_classes = (1..config.network.classes).collect();
    }
    let dataset_name = config
        .data
        .dataset
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok(ViewInput {
        title: request
            .title
            .clone()
            .unwrap_or_else(|| format!("{dataset_name}: validation predictions")),
        classes: config.network.classes,
        metric_classes,
        units: if has_spacing { "mm" } else { "px" }.into(),
        slices,
        runs: columns,
        crop: request.crop,
        zoom: request.zoom,
        per_page: request.per_page,
    })
}

/// Writes the view of `runs` into `out`.
pub fn view_runs(
    runs: &[PathBuf],
    request: &ViewRequest,
    out: &Path,
    tick: &(dyn Fn() + Sync),
) -> anyhow::Result<ViewSummary> {
    let input = view_input(runs, request)?;
    Ok(viewer::write_view(&input, out, tick)?)
}
