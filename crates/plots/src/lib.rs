//! Figures of runs and experiments, as PNG and SVG (and the numbers behind them as CSV): metric
//! curves over epochs (the original's `plot.py`), box plots and histograms at the best epoch
//! (`moustache.py`, `hist.py`), and an animated GIF of one patient's predictions over the
//! epochs (the README's `convert iter*/val/...` trick).
//!
//! This crate only draws: callers pass numbers (no file formats of the run folder here). Text
//! uses the bundled DejaVu Sans (assets/, its licence next to it), so figures look the same on
//! every machine and no system font library is needed. Every file is written to a temporary
//! name and renamed.
//!
//! ```
//! use plots::{Curve, CurvesFigure, Panel};
//!
//! let seed = |label: &str, values: Vec<f64>| Curve {
//!     group: "gdl".into(),
//!     label: label.into(),
//!     values,
//! };
//! let dice = Panel {
//!     metric: "val_dice".into(),
//!     unit: String::new(),
//!     lower_is_better: false,
//!     curves: vec![seed("seed 0", vec![0.2, 0.5, 0.7]), seed("seed 1", vec![0.3, 0.6, 0.65])],
//!     ylim: None,
//! };
//! let figure = CurvesFigure { title: "Validation Dice".into(), panels: vec![dice], smooth: 1 };
//! let dir = std::env::temp_dir().join(format!("plots-doc-{}", std::process::id()));
//! let written = figure.save(&dir.join("dice")).unwrap();
//! assert_eq!(written.len(), 3); // dice.png, dice.svg and the numbers in dice.csv
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

// Nothing here needs unsafe code; the unsafe parts live in page-buffers, distmap, cpu-conv,
// cpu-norm and boundary-loss::memory, each with its SAFETY comments.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor};

mod curves;
mod distributions;
mod gif;

pub use curves::{best, smooth, Curve, CurvesFigure, Panel};
pub use distributions::{BoxFigure, HistogramFigure, Sample};
pub use gif::{prediction_gif, Frame};

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{path}: {reason}")]
    Draw { path: PathBuf, reason: String },
    #[error(transparent)]
    File(#[from] volume_io::FileError),
    #[error("nothing to plot: {0}")]
    Empty(String),
}

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped with the crate.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

/// Colours of groups (the tab10 palette), in group order.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// One figure, drawn by a function generic over the backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Where `path` is drawn before it is renamed: a hidden name in the same folder, ending in `ext`
/// (the backends choose the image format by the extension).
fn temporary(path: &Path, ext: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp.{ext}"))
}

/// Writes `figure` as `base.png` and `base.svg`.
fn save(figure: &impl Figure, base: &Path, size: (u32, u32)) -> Result<Vec<PathBuf>, PlotError> {
    register_font();
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let path = base.with_extension(ext);
        let temp = temporary(&path, ext);
        let fail = |reason: String| PlotError::Draw {
            path: path.clone(),
            reason,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| volume_io::FileError::new(parent, e))?;
        }
        let drawn = if ext == "png" {
            let root = BitMapBackend::new(&temp, size).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        } else {
            let root = SVGBackend::new(&temp, size).into_drawing_area();
            figure
                .draw(&root)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        if let Err(reason) = drawn {
            let _ = std::fs::remove_file(&temp);
            return Err(fail(reason));
        }
        std::fs::rename(&temp, &path).map_err(|e| volume_io::FileError::new(&path, e))?;
        written.push(path);
    }
    Ok(written)
}
