use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::ArrayD;

use super::names::{natural_cmp, stem};
use super::streams::{equalize_levels, Stream, StreamKind};

use distmap::{distance_maps_into, MapOptions};
use volume_io::{read_label_map, read_npy_f32, read_png_levels};

/// One slice as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Each stream's values, `(channels, H, W)` row-major, in the order of the streams.
    pub streams: Vec<Vec<f32>>,
    /// Channels of each stream.
    pub channels: Vec<usize>,
    /// (H, W).
    pub size: [usize; 2],
    /// The class map the metrics compare with (`Dataset::truth_folder`), `(H, W)`; empty when
    /// the data set has no truth folder.
    pub truth: Vec<u8>,
}

/// A problem with the data, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    File(#[from] volume_io::FileError),
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
}

fn bad(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Bad {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// How a split is opened: everything is decided here, nothing is changed afterwards.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Check that images lie in [0, 1].
    pub check_image_range: bool,
    /// How on-the-fly distance maps are computed (truncation, border, whole-image class).
    pub map_options: MapOptions,
    /// Use the slice spacing of `spacing.json`/`.pkl`; otherwise 1 per axis.
    pub use_spacing: bool,
    /// Folder of the class maps returned as [`Slice::truth`] (none: no truth is read).
    pub truth_folder: Option<String>,
    /// Only the first slices the file system lists (the original's `--debug`).
    pub limit: Option<usize>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            check_image_range: true,
            map_options: MapOptions::default(),
            use_spacing: true,
            truth_folder: None,
            limit: None,
        }
    }
}

/// The slices of one split, their streams and spacings.
#[derive(Debug, Clone)]
pub struct Dataset {
    split_dir: PathBuf,
    streams: Vec<Stream>,
    classes: usize,
    /// File names (with extension) of the first stream, in natural order.
    names: Vec<String>,
    /// Slice stem -> spacing per array axis, from `spacing.json` (ours) or the original's
    /// `spacing.pkl` ({slice: (dx, dy)}, the same order), holding every slice; empty without
    /// `use_spacing` (1, 1 for every slice).
    spacing: BTreeMap<String, Vec<f64>>,
    options: OpenOptions,
}

/// `{name}.json` (ours) or else `{name}.pkl` (the original's) in `dir`: name -> spacing per
/// array axis; empty when neither exists.
pub fn read_spacing(dir: &Path, name: &str) -> Result<BTreeMap<String, Vec<f64>>, DataError> {
    Ok(volume_io::read_spacing(dir, name)?.unwrap_or_default())
}

/// The slice spacing table of `split_dir` (`spacing.json`, else `spacing.pkl`), checked to hold
/// every slice of `names`; `None` when the split has neither file. A slice missing from the
/// table is an error naming the slice and the file (the original fails with a KeyError there):
/// giving it 1 x 1 would silently compute its distance maps in the wrong units.
fn read_slice_spacing(
    split_dir: &Path,
    names: &[String],
) -> Result<Option<BTreeMap<String, Vec<f64>>>, DataError> {
    let Some(file) = volume_io::spacing_file(split_dir, "spacing") else {
        return Ok(None);
    };
    let table = volume_io::read_spacing_file(&file)?;
    let missing: Vec<&str> = names
        .iter()
        .map(|n| stem(n))
        .filter(|s| !table.contains_key(*s))
        .collect();
    if let Some(first) = missing.first() {
        return Err(bad(
            &file,
            format!(
                "the spacing table has no entry for slice '{first}'{} ({} entries, {} slices in {})",
                match missing.len() {
                    1 => String::new(),
                    n => format!(" nor {} other slices", n - 1),
                },
                table.len(),
                names.len(),
                split_dir.display()
            ),
        ));
    }
    if let Some((slice, values)) = names
        .iter()
        .map(|n| (stem(n), &table[stem(n)]))
        .find(|(_, v)| v.len() != 2 || v.iter().any(|s| !(s.is_finite() && *s > 0.0)))
    {
        return Err(bad(
            &file,
            format!("slice '{slice}': spacing {values:?}, expected two positive numbers (mm per pixel along each axis)"),
        ));
    }
    Ok(Some(table))
}

impl Dataset {
    /// [`Dataset::open_with`] the default options.
    pub fn open(
        root: &Path,
        split: &str,
        streams: Vec<Stream>,
        classes: usize,
    ) -> Result<Self, DataError> {
        Self::open_with(root, split, streams, classes, OpenOptions::default())
    }

    /// Lists the slices of `root/split` from its first stream's folder; every other stream (and
    /// the truth folder) must hold a file of the same stem.
    pub fn open_with(
        root: &Path,
        split: &str,
        streams: Vec<Stream>,
        classes: usize,
        options: OpenOptions,
    ) -> Result<Self, DataError> {
        let split_dir = root.join(split);
        if options.truth_folder.is_some() && classes > 256 {
            return Err(bad(
                &split_dir,
                format!("{classes} classes: truth class maps hold at most 256"),
            ));
        }
        let first = streams
            .first()
            .ok_or_else(|| bad(&split_dir, "no stream is configured"))?;
        let first_dir = split_dir.join(&first.folder);
        let mut names: Vec<String> = std::fs::read_dir(&first_dir)
            .map_err(|e| bad(&first_dir, format!("cannot list the folder: {e}")))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".npy") || n.ends_with(".png"))
            .collect();
        if names.is_empty() {
            return Err(bad(&first_dir, "holds no .npy or .png slice"));
        }
        // `--debug` keeps the first slices in the order the file system lists them, as the
        // original's unsorted glob does; the rest of the code sees them in natural order.
        if let Some(limit) = options.limit {
            names.truncate(limit);
        }
        names.sort_by(|a, b| natural_cmp(a, b));
        let spacing = if options.use_spacing {
            read_slice_spacing(&split_dir, &names)?.unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        let dataset = Dataset {
            split_dir,
            streams,
            classes,
            names,
            spacing,
            options,
        };
        let folders = dataset.streams[1..]
            .iter()
            .map(|s| s.folder.as_str())
            .chain(dataset.options.truth_folder.as_deref());
        for folder in folders {
            let dir = dataset.split_dir.join(folder);
            for name in &dataset.names {
                dataset.file_of(&dir, name)?;
            }
        }
        Ok(dataset)
    }

    /// The split's folder.
    pub fn split_dir(&self) -> &Path {
        &self.split_dir
    }

    /// File names of the slices (with extension), in natural order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How on-the-fly distance maps of this split are computed.
    pub fn map_options(&self) -> &MapOptions {
        &self.options.map_options
    }

    /// Whether the split has per-slice spacings (and uses them).
    pub fn has_spacing(&self) -> bool {
        !self.spacing.is_empty()
    }

    /// The file of slice `name` in `dir`, whatever its extension (.npy or .png).
    fn file_of(&self, dir: &Path, name: &str) -> Result<PathBuf, DataError> {
        let s = stem(name);
        for ext in ["npy", "png"] {
            let path = dir.join(format!("{s}.{ext}"));
            if path.exists() {
                return Ok(path);
            }
        }
        Err(bad(
            &dir.join(name),
            format!("missing: slice '{s}' has no file in this stream"),
        ))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every slice's spacing in mm from the split's table (`spacing.json` or `.pkl`), whether
    /// or not the split was opened with `use_spacing`; `None` when the split has no table.
    pub fn slice_spacings(&self) -> Result<Option<Vec<Vec<f64>>>, DataError> {
        let read;
        let table = if self.has_spacing() {
            &self.spacing
        } else {
            match read_slice_spacing(&self.split_dir, &self.names)? {
                Some(table) => {
                    read = table;
                    &read
                }
                None => return Ok(None),
            }
        };
        Ok(Some(
            self.names.iter().map(|n| table[stem(n)].clone()).collect(),
        ))
    }

    /// Spacing of a slice, one value per array axis (1 per axis without `use_spacing` or a
    /// table).
    pub fn spacing_of(&self, index: usize) -> Vec<f64> {
        self.spacing
            .get(stem(&self.names[index]))
            .cloned()
            .unwrap_or_else(|| vec![1.0, 1.0])
    }

    /// The class map of slice `name` in `folder`, read once per slice and shared by the streams
    /// (and the truth) that use it.
    fn labels_of(
        &self,
        folder: &str,
        name: &str,
        read: &mut Vec<(String, Arc<ArrayD<u32>>)>,
    ) -> Result<(Arc<ArrayD<u32>>, PathBuf), DataError> {
        let path = self.file_of(&self.split_dir.join(folder), name)?;
        if let Some((_, labels)) = read.iter().find(|(f, _)| f == folder) {
            return Ok((labels.clone(), path));
        }
        let labels = Arc::new(read_label_map(&path)?.labels);
        read.push((folder.to_string(), labels.clone()));
        Ok((labels, path))
    }

    /// Reads slice `index`: every stream as `(channels, H, W)` row-major floats, (H, W), and the
    /// truth class map.
    pub fn read(&self, index: usize) -> Result<Slice, DataError> {
        let name = &self.names[index];
        let mut out = Vec::with_capacity(self.streams.len());
        let mut channels = Vec::with_capacity(self.streams.len());
        let mut size: Option<([usize; 2], PathBuf)> = None;
        let mut labels_read: Vec<(String, Arc<ArrayD<u32>>)> = Vec::new();
        let mut check_size = |hw: [usize; 2], path: &Path| -> Result<(), DataError> {
            match &size {
                Some((expected, first)) if *expected != hw => Err(bad(
                    path,
                    format!(
                        "is {}x{} but {} is {}x{}",
                        hw[0],
                        hw[1],
                        first.display(),
                        expected[0],
                        expected[1]
                    ),
                )),
                None => {
                    size = Some((hw, path.to_path_buf()));
                    Ok(())
                }
                _ => Ok(()),
            }
        };
        for stream in &self.streams {
            let (labels, path) = if matches!(
                stream.kind,
                StreamKind::OneHot | StreamKind::DummyOneHot | StreamKind::DistanceMap
            ) {
                let (labels, path) = self.labels_of(&stream.folder, name, &mut labels_read)?;
                (Some(labels), path)
            } else {
                (
                    None,
                    self.file_of(&self.split_dir.join(&stream.folder), name)?,
                )
            };
            let (mut values, c, hw) = self.read_stream(stream, &path, index, labels.as_deref())?;
            if matches!(
                stream.kind,
                StreamKind::DistanceMap | StreamKind::Precomputed
            ) {
                stream.normalize.apply(&mut values, c);
            }
            check_size(hw, &path)?;
            out.push(values);
            channels.push(c);
        }
        let truth = match &self.options.truth_folder {
            Some(folder) => {
                let (labels, path) = self.labels_of(folder, name, &mut labels_read)?;
                check_size(self.checked_class_map(&path, &labels)?, &path)?;
                // Labels are below `classes` <= 256 (checked at opening): each fits a byte.
                labels.iter().map(|&l| l as u8).collect()
            }
            None => Vec::new(),
        };
        Ok(Slice {
            streams: out,
            channels,
            size: size.expect("at least one stream").0,
            truth,
        })
    }

    /// The class map of slice `index` in `folder` of the split, row-major, and its (H, W):
    /// checked to be 2-D with labels below the classes.
    pub fn class_map(
        &self,
        folder: &str,
        index: usize,
    ) -> Result<(Vec<u8>, [usize; 2]), DataError> {
        let path = self.file_of(&self.split_dir.join(folder), &self.names[index])?;
        let labels = read_label_map(&path)?.labels;
        let hw = self.checked_class_map(&path, &labels)?;
        // Labels are below `classes` <= 256 (checked at opening): each fits a byte.
        Ok((labels.iter().map(|&l| l as u8).collect(), hw))
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// (H, W) of a class map read from `path`, checked to be 2-D with labels below `classes`.
    fn checked_class_map(
        &self,
        path: &Path,
        labels: &ArrayD<u32>,
    ) -> Result<[usize; 2], DataError> {
        let hw = match labels.shape() {
            [h, w] => [*h, *w],
            other => {
                return Err(bad(
                    path,
                    format!("a class map must be (H, W), got shape {other:?}"),
                ))
            }
        };
        if let Some(&l) = labels.iter().find(|&&l| l as usize >= self.classes) {
            return Err(bad(
                path,
                format!("label {l} is not below the {} classes", self.classes),
            ));
        }
        Ok(hw)
    }

    fn read_stream(
        &self,
        stream: &Stream,
        path: &Path,
        index: usize,
        labels: Option<&ArrayD<u32>>,
    ) -> Result<(Vec<f32>, usize, [usize; 2]), DataError> {
        let kind = stream.kind;
        let (values, c, hw) = match kind {
            StreamKind::ImageNpy | StreamKind::Precomputed => {
                let a = read_npy_f32(path)?;
                let (c, hw) = match a.shape() {
                    [h, w] => (1, [*h, *w]),
                    [c, h, w] => (*c, [*h, *w]),
                    other => {
                        return Err(bad(
                            path,
                            format!("expected (C, H, W) or (H, W), got shape {other:?}"),
                        ))
                    }
                };
                if kind == StreamKind::Precomputed && c != self.classes {
                    return Err(bad(
                        path,
                        format!("holds {c} maps for {} classes", self.classes),
                    ));
                }
                (a.into_raw_vec_and_offset().0, c, hw)
            }
            StreamKind::ImagePng => {
                let levels = read_png_levels(path)?;
                let hw = [levels.shape()[0], levels.shape()[1]];
                (levels.iter().map(|&l| l as f32 / 255.0).collect(), 1, hw)
            }
            StreamKind::ImagePngEqualized => {
                let levels = read_png_levels(path)?;
                let hw = [levels.shape()[0], levels.shape()[1]];
                // Pillow's convert('L') clips 16-bit levels to 255 before equalizing.
                let mut gray: Vec<u8> = levels.iter().map(|&l| l.min(255) as u8).collect();
                equalize_levels(&mut gray);
                (gray.iter().map(|&l| l as f32 / 255.0).collect(), 1, hw)
            }
            StreamKind::DummyOneHot => {
                let labels = labels.expect("class maps are read by the caller");
                let hw = self.checked_class_map(path, labels)?;
                let pixels = hw[0] * hw[1];
                let mut values = vec![0.0f32; self.classes * pixels];
                values[..pixels].fill(1.0);
                (values, self.classes, hw)
            }
            StreamKind::OneHot | StreamKind::DistanceMap => {
                let labels = labels.expect("class maps are read by the caller");
                let hw = self.checked_class_map(path, labels)?;
                let flat = labels.as_slice().expect("standard layout");
                let pixels = hw[0] * hw[1];
                let mut values = vec![0.0f32; self.classes * pixels];
                if kind == StreamKind::OneHot {
                    for (i, &l) in flat.iter().enumerate() {
                        values[l as usize * pixels + i] = 1.0;
                    }
                } else {
                    distance_maps_into(
                        flat,
                        &hw,
                        self.classes,
                        &self.spacing_of(index),
                        &MapOptions {
                            absent: stream.absent_class,
                            ..self.options.map_options
                        },
                        &mut values,
                    )
                    .map_err(|e| bad(path, e.to_string()))?;
                }
                (values, self.classes, hw)
            }
        };
        // One-hot and distance maps are computed here from integer labels: nothing to check.
        // Images: one pass for [0, 1], which NaN fails too; then tell which it was.
        let is_image = matches!(
            kind,
            StreamKind::ImageNpy | StreamKind::ImagePng | StreamKind::ImagePngEqualized
        );
        let suspicious = if is_image && self.options.check_image_range {
            // Branch-free per chunk, so the comparison vectorises.
            values.chunks(4096).any(|chunk| {
                chunk
                    .iter()
                    .fold(false, |out, &v| out | !(0.0..=1.0).contains(&v))
            })
        } else {
            matches!(kind, StreamKind::ImageNpy | StreamKind::Precomputed)
        };
        if suspicious {
            if values.iter().any(|v| v.is_nan()) {
                return Err(bad(path, "holds NaN"));
            }
            if is_image && self.options.check_image_range {
                return Err(bad(
                    path,
                    "image values outside [0, 1] (normalise, or turn the range check off)",
                ));
            }
        }
        Ok((values, c, hw))
    }
}
