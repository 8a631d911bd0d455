//! The viewer: a self-contained static web page (`index.html` and its PNGs, no server, no
//! network; it opens from the file system) that shows each validation slice's image with the
//! ground truth and several runs' predictions side by side, as coloured contours or filled
//! overlays, with each panel's slice name and per-slice Dice and Hausdorff distance; the
//! page's script adds keyboard navigation, a patient selector, an epoch slider over the saved
//! predictions, sorting by a metric (worst first) and a colour-blind-safe class legend.
//!
//! This crate knows slices, label maps and runs' prediction files, not run folders or training
//! (`experiment::views` finds those); it renders every image once (cropped, enlarged, as PNG)
//! into a staging folder that replaces the output folder only when complete.
//!
//! ```
//! use viewer::{write_view, EpochInput, RunInput, SliceInput, ViewInput};
//!
//! // One 16x16 slice: an image, its truth (a square) and one run's prediction (the square moved).
//! let dir = std::env::temp_dir().join(format!("viewer-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let square = |y0: usize| ndarray::Array2::<u8>::from_shape_fn((16, 16), |(y, x)| {
//!     u8::from((y0..y0 + 4).contains(&y) && (6..10).contains(&x))
//! });
//! let image = ndarray::Array2::<f32>::from_shape_fn((16, 16), |(y, x)| (x + y) as f32 / 30.0);
//! ndarray_npy::write_npy(dir.join("image.npy"), &image).unwrap();
//! ndarray_npy::write_npy(dir.join("truth.npy"), &square(6)).unwrap();
//! ndarray_npy::write_npy(dir.join("pred.npy"), &square(7)).unwrap();
//! let input = ViewInput {
//!     title: "one slice".into(),
//!     classes: 2,
//!     metric_classes: vec![1],
//!     units: "mm".into(),
//!     slices: vec![SliceInput {
//!         name: "case_0".into(),
//!         patient: "case".into(),
//!         image: dir.join("image.npy"),
//!         channel: 0,
//!         truth: dir.join("truth.npy"),
//!         spacing: [1.0, 1.0],
//!         slice: None,
//!     }],
//!     runs: vec![RunInput {
//!         name: "run".into(),
//!         epochs: vec![EpochInput { epoch: 0, predictions: vec![dir.join("pred.npy")] }],
//!         best_epoch: Some(0),
//!     }],
//!     crop: 0,
//!     zoom: Some(4),
//!     per_page: 3,
//! };
//! let summary = write_view(&input, &dir.join("view"), &|| {}).unwrap();
//! assert!(summary.index.is_file());
//! // The square moved by one row: Dice 2 x 12 / 32.
//! let page = std::fs::read_to_string(&summary.index).unwrap();
//! assert!(page.contains(r#""dice":0.75"#));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

// Nothing here needs unsafe code; the unsafe parts live in page-buffers, distmap, cpu-conv,
// cpu-norm and boundary-loss::memory, each with its SAFETY comments.
#![forbid(unsafe_code)]

pub mod page;
pub mod palette;
pub mod render;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayView, IxDyn};
use rayon::prelude::*;
use segmentation_metrics::{pair_metrics, EmptyMaskRule};
use volume_io::{FileError, StagedDir};

use page::{ClassRecord, PanelRecord, RunRecord, SliceRecord, ViewRecord};
use render::{gray_png, overlay, read_gray_at, read_labels_at, rgba_png, Grid, Overlay, Volumes};

/// The file that marks a folder as a view (so that `--out` never replaces anything else).
pub const MARKER: &str = ".boundary-loss-view";

/// Why a view could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0}")]
    Input(String),
}

/// One validation slice: its image, its truth and where it is in physical space.
#[derive(Debug, Clone)]
pub struct SliceInput {
    /// The slice's name (file stem), shown in each panel.
    pub name: String,
    /// The patient the slice belongs to (the selector and the patient keys).
    pub patient: String,
    /// A gray PNG or a float `.npy` ((H, W) or (C, H, W)).
    pub image: PathBuf,
    /// The channel of a `(C, H, W)` image to show.
    pub channel: usize,
    /// The true label map (npy, PNG or NIfTI, 2-D).
    pub truth: PathBuf,
    /// The size of a pixel along (rows, columns), for the Hausdorff distance.
    pub spacing: [f64; 2],
    /// When the image, truth and prediction files are volumes (a 3-D run's `.npy`): the index of
    /// this slice along their last axis.
    pub slice: Option<usize>,
}

/// One saved epoch of a run: the predicted label map of every slice, in the slices' order.
#[derive(Debug, Clone)]
pub struct EpochInput {
    pub epoch: usize,
    pub predictions: Vec<PathBuf>,
}

/// One column of the page.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// The column's display name.
    pub name: String,
    /// The epochs to show, in increasing order.
    pub epochs: Vec<EpochInput>,
    /// The run's best epoch (marked in the captions), when known.
    pub best_epoch: Option<usize>,
}

/// Everything a view shows.
#[derive(Debug, Clone)]
pub struct ViewInput {
    pub title: String,
    /// The number of classes (labels are below it).
    pub classes: usize,
    /// The classes whose Dice and Hausdorff distance the panels show and sort by (>= 1).
    pub metric_classes: Vec<usize>,
    /// Units of the slice spacings (`mm`, or `px` without spacing).
    pub units: String,
    pub slices: Vec<SliceInput>,
    pub runs: Vec<RunInput>,
    /// Pixels removed from each side of every slice before display (the original viewer's
    /// `--crop`).
    pub crop: usize,
    /// The enlargement (a whole factor); `None`: the smallest that shows the largest slice at
    /// 200 pixels or more (at most 8).
    pub zoom: Option<usize>,
    /// Slices (rows) per page.
    pub per_page: usize,
}

/// What [`write_view`] wrote.
#[derive(Debug, Clone)]
pub struct ViewSummary {
    pub index: PathBuf,
    pub slices: usize,
    pub runs: usize,
    pub images: usize,
}

/// Display size at which the automatic zoom aims, in pixels.
const TARGET_SIZE: usize = 200;

impl ViewInput {
    fn check(&self) -> Result<(), ViewError> {
        let input = |reason: String| Err(ViewError::Input(reason));
        if self.slices.is_empty() {
            return input("no slice to show".into());
        }
        if self.per_page == 0 {
            return input("slices per page must be at least 1".into());
        }
        if self.zoom == Some(0) || self.zoom.is_some_and(|z| z > 64) {
            return input("the zoom must be between 1 and 64".into());
        }
        if let Some(&k) = self
            .metric_classes
            .iter()
            .find(|&&k| k == 0 || k >= self.classes)
        {
            return input(format!(
                "metric class {k} is not a foreground class of {} classes",
                self.classes
            ));
        }
        for run in &self.runs {
            if run.epochs.is_empty() {
                return input(format!("run '{}' has no epoch to show", run.name));
            }
            for epoch in &run.epochs {
                if epoch.predictions.len() != self.slices.len() {
                    return input(format!(
                        "run '{}' epoch {}: {} predictions for {} slices",
                        run.name,
                        epoch.epoch,
                        epoch.predictions.len(),
                        self.slices.len()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Relative file names of the page's images.
fn image_file(slice: usize) -> String {
    format!("img/s{slice:05}.png")
}

fn truth_file(slice: usize, style: &str) -> String {
    format!("truth/s{slice:05}_{style}.png")
}

fn run_file(run: usize, epoch: usize, slice: usize, style: &str) -> String {
    format!("run{run}/e{epoch:04}/s{slice:05}_{style}.png")
}

/// Writes `bytes` to `root/relative`, creating its folder.
fn put(root: &Path, relative: &str, bytes: &[u8]) -> Result<(), FileError> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| FileError::new(parent, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| FileError::new(&path, e))
}

/// Line widths at a zoom: contours stay thin next to the enlarged pixels.
fn line_width(zoom: usize) -> usize {
    if zoom >= 3 {
        2
    } else {
        1
    }
}

/// Writes the overlays of an (enlarged) label map; returns whether there were any.
fn put_overlays(
    root: &Path,
    labels: &Grid<u8>,
    zoom: usize,
    file: impl Fn(&str) -> String,
    outline: bool,
) -> Result<bool, FileError> {
    let width = line_width(zoom);
    let Some(fill) = overlay(labels, Overlay::Fill) else {
        return Ok(false);
    };
    put(root, &file("fill"), &rgba_png(&fill))?;
    let contour = overlay(labels, Overlay::Contour { width }).expect("non-empty");
    put(root, &file("line"), &rgba_png(&contour))?;
    if outline {
        let dash = (2 * zoom).max(3);
        // One pixel wide: the prediction's wider contour stays visible inside it where the two
        // agree.
        let dashed = overlay(labels, Overlay::DashedOutline { width: 1, dash }).expect("non-empty");
        put(root, &file("outline"), &rgba_png(&dashed))?;
    }
    Ok(true)
}

/// Dice and Hausdorff distance of each metric class, `None` where undefined.
fn panel_metrics(
    predicted: &Grid<u8>,
    truth: &Grid<u8>,
    input: &ViewInput,
    spacing: [f64; 2],
    path: &Path,
) -> Result<Vec<page::ClassMetric>, ViewError> {
    if (predicted.height, predicted.width) != (truth.height, truth.width) {
        return Err(FileError::new(
            path,
            format!(
                "is {}x{}, the truth {}x{}",
                predicted.height, predicted.width, truth.height, truth.width
            ),
        )
        .into());
    }
    let shape = IxDyn(&[truth.height, truth.width]);
    let predicted_view =
        ArrayView::from_shape(shape.clone(), &predicted.values[..]).expect("size checked above");
    let truth_view = ArrayView::from_shape(shape, &truth.values[..]).expect("size checked above");
    let all = pair_metrics(
        predicted_view,
        truth_view,
        &spacing,
        input.classes,
        EmptyMaskRule::Diagonal,
    )
    .map_err(|e| FileError::new(path, e.reason))?;
    Ok(input
        .metric_classes
        .iter()
        .map(|&k| {
            let m = &all[k - 1].1;
            page::ClassMetric {
                class: k,
                dice: m.dice,
                hd: m.hd,
                empty: m.empty,
            }
        })
        .collect())
}

/// Renders one slice (its image, truth and every run's predictions) into `root`.
fn render_slice(
    input: &ViewInput,
    index: usize,
    truth: &Grid<u8>,
    zoom: usize,
    root: &Path,
    volumes: &Volumes,
) -> Result<SliceRecord, ViewError> {
    let slice = &input.slices[index];
    let crop = input.crop;
    let gray = read_gray_at(&slice.image, slice.channel, slice.slice, volumes)?;
    if (gray.height, gray.width) != (truth.height, truth.width) {
        return Err(FileError::new(
            &slice.image,
            format!(
                "is {}x{}, its truth {}x{}",
                gray.height, gray.width, truth.height, truth.width
            ),
        )
        .into());
    }
    put(
        root,
        &image_file(index),
        &gray_png(&gray.cropped(crop).enlarged(zoom)),
    )?;
    let shown = |g: &Grid<u8>| g.cropped(crop).enlarged(zoom);
    let truth_overlays = put_overlays(
        root,
        &shown(truth),
        zoom,
        |style| truth_file(index, style),
        true,
    )?;
    let areas = input
        .metric_classes
        .iter()
        .map(|&k| truth.values.iter().filter(|&&l| l as usize == k).count())
        .collect();
    let mut runs = Vec::with_capacity(input.runs.len());
    for (r, run) in input.runs.iter().enumerate() {
        let mut panels = Vec::with_capacity(run.epochs.len());
        for epoch in &run.epochs {
            let path = &epoch.predictions[index];
            let predicted = read_labels_at(path, input.classes, slice.slice, volumes)?;
            let metrics = panel_metrics(&predicted, truth, input, slice.spacing, path)?;
            let overlays = put_overlays(
                root,
                &shown(&predicted),
                zoom,
                |style| run_file(r, epoch.epoch, index, style),
                false,
            )?;
            panels.push(PanelRecord {
                epoch: epoch.epoch,
                overlay: overlays.then(|| format!("run{r}/e{:04}/s{index:05}", epoch.epoch)),
                metrics,
            });
        }
        runs.push(panels);
    }
    Ok(SliceRecord {
        name: slice.name.clone(),
        patient: slice.patient.clone(),
        image: image_file(index),
        truth: truth_overlays.then(|| format!("truth/s{index:05}")),
        areas,
        width: (truth.width - 2 * crop) * zoom,
        height: (truth.height - 2 * crop) * zoom,
        runs,
    })
}

/// Writes the view of `input` to `out` (`out/index.html` and its images), calling `tick` after
/// each slice. `out` is replaced if it holds a view, refused if it holds anything else; it is
/// written under a temporary name and renamed when complete.
pub fn write_view(
    input: &ViewInput,
    out: &Path,
    tick: &(dyn Fn() + Sync),
) -> Result<ViewSummary, ViewError> {
    input.check()?;
    if out.exists() && !out.join(MARKER).is_file() {
        let empty = std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(FileError::new(
                out,
                format!("exists and is not a view (no {MARKER}): not replacing it"),
            )
            .into());
        }
    }
    // The truths first: their sizes decide the zoom, and every panel is measured against them.
    let volumes = Volumes::default();
    let truths: Vec<Grid<u8>> = input
        .slices
        .par_iter()
        .map(|s| read_labels_at(&s.truth, input.classes, s.slice, &volumes))
        .collect::<Result<_, _>>()?;
    for (slice, truth) in input.slices.iter().zip(&truths) {
        if 2 * input.crop >= truth.height.min(truth.width) {
            return Err(FileError::new(
                &slice.truth,
                format!(
                    "is {}x{}: cropping {} pixels from each side leaves nothing",
                    truth.height, truth.width, input.crop
                ),
            )
            .into());
        }
    }
    let largest = truths
        .iter()
        .map(|t| t.height.max(t.width) - 2 * input.crop)
        .max()
        .expect("at least one slice");
    let zoom = input
        .zoom
        .unwrap_or_else(|| TARGET_SIZE.div_ceil(largest).clamp(1, 8));
    let name = out
        .file_name()
        .map_or_else(|| "view".into(), |n| n.to_string_lossy().into_owned());
    let staged = StagedDir::create(out, out.with_file_name(format!(".{name}.partial")))?;
    let root = staged.dir().to_path_buf();
    let done = AtomicUsize::new(0);
    let slices: Vec<SliceRecord> = (0..input.slices.len())
        .into_par_iter()
        .map(|i| {
            let record = render_slice(input, i, &truths[i], zoom, &root, &volumes);
            done.fetch_add(1, Ordering::Relaxed);
            tick();
            record
        })
        .collect::<Result<_, _>>()?;
    let images = count_files(&root)?;
    let record = ViewRecord {
        title: input.title.clone(),
        units: input.units.clone(),
        zoom,
        per_page: input.per_page,
        classes: (1..input.classes)
            .map(|k| ClassRecord {
                index: k,
                colour: palette::hex(palette::class_colour(k)),
                metric: input.metric_classes.contains(&k),
            })
            .collect(),
        metric_classes: input.metric_classes.clone(),
        truth_outline: palette::hex(palette::TRUTH_OUTLINE),
        runs: input
            .runs
            .iter()
            .map(|r| RunRecord {
                name: r.name.clone(),
                epochs: r.epochs.iter().map(|e| e.epoch).collect(),
                best: r.best_epoch,
            })
            .collect(),
        slices,
    };
    let index = root.join("index.html");
    std::fs::write(&index, page::html(&record)).map_err(|e| FileError::new(&index, e))?;
    let marker = root.join(MARKER);
    std::fs::write(&marker, "written by boundary-loss view\n")
        .map_err(|e| FileError::new(&marker, e))?;
    staged.finish(true)?;
    Ok(ViewSummary {
        index: out.join("index.html"),
        slices: input.slices.len(),
        runs: input.runs.len(),
        images,
    })
}

fn count_files(dir: &Path) -> Result<usize, FileError> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| FileError::new(dir, e))? {
        let entry = entry.map_err(|e| FileError::new(dir, e))?;
        let path = entry.path();
        count += if path.is_dir() {
            count_files(&path)?
        } else {
            1
        };
    }
    Ok(count)
}
