//! Pixels of the page: a slice's image as 8-bit gray, its label maps as transparent overlays
//! (filled, contoured, or the truth's dashed outline), cropped once and enlarged by a whole
//! factor with nearest neighbours so that every pixel stays a visible square.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use image::{ImageEncoder, RgbaImage};
use ndarray::ArrayD;
use volume_io::{read_label_map, read_npy_f32, read_png_levels, FileError};

use crate::palette::{class_colour, TRUTH_OUTLINE, TRUTH_OUTLINE_GAP};

/// Opacity of a filled class: the image stays visible under it.
const FILL_ALPHA: u8 = 115;

/// A row-major 2-D grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid<T> {
    pub values: Vec<T>,
    pub height: usize,
    pub width: usize,
}

impl<T: Copy> Grid<T> {
    fn at(&self, y: usize, x: usize) -> T {
        self.values[y * self.width + x]
    }

    /// The grid without `margin` rows and columns on each side.
    pub fn cropped(&self, margin: usize) -> Grid<T> {
        let (height, width) = (self.height - 2 * margin, self.width - 2 * margin);
        let values = (0..height)
            .flat_map(|y| (0..width).map(move |x| (y, x)))
            .map(|(y, x)| self.at(y + margin, x + margin))
            .collect();
        Grid {
            values,
            height,
            width,
        }
    }

    /// Each element repeated `zoom` x `zoom` times.
    pub fn enlarged(&self, zoom: usize) -> Grid<T> {
        let (height, width) = (self.height * zoom, self.width * zoom);
        let values = (0..height)
            .flat_map(|y| (0..width).map(move |x| (y, x)))
            .map(|(y, x)| self.at(y / zoom, x / zoom))
            .collect();
        Grid {
            values,
            height,
            width,
        }
    }
}

/// A slice's image as 8-bit gray: a gray PNG (8-bit levels as they are; 16-bit levels scaled
/// by their maximum), or a float `.npy` of shape `(H, W)` or `(C, H, W)` (channel `channel`;
/// values within [0, 1], the data sets' normalised images, map to 0..255 so that slices of a
/// patient share one window; other ranges are stretched per slice).
pub fn read_gray(path: &Path, channel: usize) -> Result<Grid<u8>, FileError> {
    let name = path.to_string_lossy().to_lowercase();
    if name.ends_with(".png") {
        let levels = read_png_levels(path)?;
        let (height, width) = (levels.shape()[0], levels.shape()[1]);
        let top = levels.iter().copied().max().unwrap_or(0);
        let scale = if top <= 255 {
            1.0
        } else {
            255.0 / f64::from(top)
        };
        let values = levels
            .iter()
            .map(|&v| (f64::from(v) * scale).round() as u8)
            .collect();
        return Ok(Grid {
            values,
            height,
            width,
        });
    }
    if !name.ends_with(".npy") {
        return Err(FileError::new(
            path,
            "unsupported image: expected a gray .png or a float .npy",
        ));
    }
    let array = read_npy_f32(path)?;
    let shape = array.shape().to_vec();
    let (channels, height, width) = match shape[..] {
        [h, w] => (1, h, w),
        [c, h, w] => (c, h, w),
        _ => {
            return Err(FileError::new(
                path,
                format!("is {shape:?}: an image must be (H, W) or (C, H, W)"),
            ))
        }
    };
    if channel >= channels {
        return Err(FileError::new(
            path,
            format!("has {channels} channel(s): there is no channel {channel}"),
        ));
    }
    let plane = &array.as_slice().expect("standard layout")
        [channel * height * width..(channel + 1) * height * width];
    Ok(gray_of_floats(plane, height, width))
}

/// 8-bit gray of float values: within [0, 1] (the data sets' normalised images) on that fixed
/// window, so that slices of a patient share it; other ranges stretched to their own min-max.
fn gray_of_floats(plane: &[f32], height: usize, width: usize) -> Grid<u8> {
    let finite = plane.iter().copied().filter(|v| v.is_finite());
    let (low, high) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (low, high) = if low >= 0.0 && high <= 1.0 {
        (0.0, 1.0)
    } else {
        (low, high)
    };
    let span = if high > low { high - low } else { 1.0 };
    let values = plane
        .iter()
        .map(|&v| {
            let v = if v.is_finite() { v } else { low };
            ((v - low) / span * 255.0).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    Grid {
        values,
        height,
        width,
    }
}

/// Volumes read once for a whole view: the slices of a 3-D run come from them.
#[derive(Default)]
pub struct Volumes {
    images: Mutex<HashMap<PathBuf, Arc<ArrayD<f32>>>>,
    labels: Mutex<HashMap<PathBuf, Arc<ArrayD<u32>>>>,
}

impl Volumes {
    fn image(&self, path: &Path) -> Result<Arc<ArrayD<f32>>, FileError> {
        let mut cache = self.images.lock().expect("cache lock");
        if let Some(v) = cache.get(path) {
            return Ok(v.clone());
        }
        let volume = Arc::new(read_npy_f32(path)?);
        cache.insert(path.to_path_buf(), volume.clone());
        Ok(volume)
    }

    fn labels(&self, path: &Path) -> Result<Arc<ArrayD<u32>>, FileError> {
        let mut cache = self.labels.lock().expect("cache lock");
        if let Some(v) = cache.get(path) {
            return Ok(v.clone());
        }
        let volume = Arc::new(read_label_map(path)?.labels);
        cache.insert(path.to_path_buf(), volume.clone());
        Ok(volume)
    }
}

/// Slice `z` (the last axis) of a row-major volume of shape `(X, Y, Z)` starting at element
/// `offset` of `values` (a channel of a `(C, X, Y, Z)` volume), row-major `(X, Y)`: read in
/// place, without copying the volume.
fn plane_at<T: Copy>(
    values: &[T],
    [x, y, depth]: [usize; 3],
    offset: usize,
    z: usize,
    path: &Path,
) -> Result<(Vec<T>, usize, usize), FileError> {
    if z >= depth {
        return Err(FileError::new(
            path,
            format!("has {depth} slices: there is no slice {z}"),
        ));
    }
    Ok((
        (0..x * y).map(|i| values[offset + i * depth + z]).collect(),
        x,
        y,
    ))
}

/// [`read_gray`] of slice `slice` (the last axis) of a volume `(C, X, Y, Z)` or `(X, Y, Z)` when
/// given.
pub fn read_gray_at(
    path: &Path,
    channel: usize,
    slice: Option<usize>,
    volumes: &Volumes,
) -> Result<Grid<u8>, FileError> {
    let Some(z) = slice else {
        return read_gray(path, channel);
    };
    let volume = volumes.image(path)?;
    let shape = volume.shape().to_vec();
    let (grid, channels) = match shape[..] {
        [x, y, depth] => ([x, y, depth], 1),
        [c, x, y, depth] => ([x, y, depth], c),
        _ => {
            return Err(FileError::new(
                path,
                format!("is {shape:?}: an image volume must be (C, X, Y, Z) or (X, Y, Z)"),
            ))
        }
    };
    if channel >= channels {
        return Err(FileError::new(
            path,
            format!("has {channels} channel(s): there is no channel {channel}"),
        ));
    }
    let values = volume.as_slice().expect("standard layout");
    let offset = channel * grid.iter().product::<usize>();
    let (plane, height, width) = plane_at(values, grid, offset, z, path)?;
    Ok(gray_of_floats(&plane, height, width))
}

/// [`read_labels`] of slice `slice` (the last axis) of a label volume when given.
pub fn read_labels_at(
    path: &Path,
    classes: usize,
    slice: Option<usize>,
    volumes: &Volumes,
) -> Result<Grid<u8>, FileError> {
    let Some(z) = slice else {
        return read_labels(path, classes);
    };
    let volume = volumes.labels(path)?;
    let [x, y, depth] = volume.shape()[..] else {
        return Err(FileError::new(
            path,
            format!("is {:?}: a label volume must be 3-D", volume.shape()),
        ));
    };
    let values = volume.as_slice().expect("standard layout");
    let (plane, height, width) = plane_at(values, [x, y, depth], 0, z, path)?;
    if let Some(&bad) = plane.iter().find(|&&l| l as usize >= classes) {
        return Err(FileError::new(
            path,
            format!("holds label {bad}, but there are {classes} classes"),
        ));
    }
    Ok(Grid {
        values: plane.iter().map(|&l| l as u8).collect(),
        height,
        width,
    })
}

/// A 2-D label map with every label below `classes`.
pub fn read_labels(path: &Path, classes: usize) -> Result<Grid<u8>, FileError> {
    let labels = read_label_map(path)?.labels;
    let shape = labels.shape().to_vec();
    let [height, width] = shape[..] else {
        return Err(FileError::new(
            path,
            format!("is {shape:?}: a slice's label map must be 2-D"),
        ));
    };
    if let Some(&bad) = labels.iter().find(|&&l| l as usize >= classes) {
        return Err(FileError::new(
            path,
            format!("holds label {bad}, but there are {classes} classes"),
        ));
    }
    Ok(Grid {
        values: labels.iter().map(|&l| l as u8).collect(),
        height,
        width,
    })
}

/// How a label map is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// Every class pixel, translucent.
    Fill,
    /// The inner border of each class, opaque, `width` pixels wide.
    Contour { width: usize },
    /// The inner border of the foreground as white and black dashes (the truth over a
    /// prediction).
    DashedOutline { width: usize, dash: usize },
}

/// Whether pixel (y, x) lies within `width` pixels (4-connected steps along an axis) of a pixel
/// of another label or of the image's edge.
fn on_border(grid: &Grid<u8>, y: usize, x: usize, width: usize) -> bool {
    let label = grid.at(y, x);
    (1..=width).any(|d| {
        y < d
            || x < d
            || y + d >= grid.height
            || x + d >= grid.width
            || grid.at(y - d, x) != label
            || grid.at(y + d, x) != label
            || grid.at(y, x - d) != label
            || grid.at(y, x + d) != label
    })
}

/// The overlay of an (already enlarged) label map: transparent outside the classes; `None` when
/// the map holds no class but the background (nothing to draw, no file to write).
pub fn overlay(labels: &Grid<u8>, style: Overlay) -> Option<RgbaImage> {
    if labels.values.iter().all(|&l| l == 0) {
        return None;
    }
    let mut image = RgbaImage::new(labels.width as u32, labels.height as u32);
    for y in 0..labels.height {
        for x in 0..labels.width {
            let k = labels.at(y, x) as usize;
            if k == 0 {
                continue;
            }
            let [r, g, b] = class_colour(k);
            let pixel = match style {
                Overlay::Fill => Some([r, g, b, FILL_ALPHA]),
                Overlay::Contour { width } => {
                    on_border(labels, y, x, width).then_some([r, g, b, 255])
                }
                Overlay::DashedOutline { width, dash } => {
                    on_border(labels, y, x, width).then(|| {
                        let on = ((x + y) / dash) % 2 == 0;
                        let [r, g, b] = if on { TRUTH_OUTLINE } else { TRUTH_OUTLINE_GAP };
                        [r, g, b, 255]
                    })
                }
            };
            if let Some(p) = pixel {
                image.put_pixel(x as u32, y as u32, image::Rgba(p));
            }
        }
    }
    Some(image)
}

/// PNG bytes of an RGBA image.
pub fn rgba_png(image: &RgbaImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(Cursor::new(&mut bytes))
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .expect("encoding a PNG in memory cannot fail");
    bytes
}

/// PNG bytes of a gray grid.
pub fn gray_png(grid: &Grid<u8>) -> Vec<u8> {
    let mut bytes = Vec::new();
    volume_io::encode_png_u8(&mut bytes, &grid.values, grid.height, grid.width)
        .expect("encoding a PNG in memory cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[u8]]) -> Grid<u8> {
        Grid {
            values: rows.iter().flat_map(|r| r.iter().copied()).collect(),
            height: rows.len(),
            width: rows[0].len(),
        }
    }

    #[test]
    fn crop_and_enlarge_keep_pixels_square() {
        let g = grid(&[&[1, 2, 3], &[4, 5, 6], &[7, 8, 9]]);
        assert_eq!(g.cropped(1), grid(&[&[5]]));
        assert_eq!(
            grid(&[&[1, 2]]).enlarged(2),
            grid(&[&[1, 1, 2, 2], &[1, 1, 2, 2]])
        );
    }

    #[test]
    fn fill_colours_every_class_pixel_and_nothing_else() {
        let labels = grid(&[&[0, 1, 0], &[2, 2, 0]]);
        let image = overlay(&labels, Overlay::Fill).unwrap();
        for (y, row) in [[0, 1, 0], [2, 2, 0]].iter().enumerate() {
            for (x, &k) in row.iter().enumerate() {
                let p = image.get_pixel(x as u32, y as u32).0;
                if k == 0 {
                    assert_eq!(p[3], 0);
                } else {
                    assert_eq!(
                        p,
                        [
                            class_colour(k)[0],
                            class_colour(k)[1],
                            class_colour(k)[2],
                            FILL_ALPHA
                        ]
                    );
                }
            }
        }
        assert!(overlay(&grid(&[&[0, 0]]), Overlay::Fill).is_none());
    }

    /// Brute force: a pixel is on the contour iff a pixel of another label (or the outside)
    /// lies at city-block distance <= width along one axis.
    #[test]
    fn contour_is_the_inner_border_of_each_class() {
        let mut values = vec![0u8; 12 * 12];
        for y in 2..9 {
            for x in 3..10 {
                values[y * 12 + x] = if y < 5 { 1 } else { 2 };
            }
        }
        let labels = Grid {
            values,
            height: 12,
            width: 12,
        };
        for width in [1, 2] {
            let image = overlay(&labels, Overlay::Contour { width }).unwrap();
            for y in 0..12usize {
                for x in 0..12usize {
                    let k = labels.at(y, x);
                    let differs = |yy: isize, xx: isize| {
                        yy < 0
                            || xx < 0
                            || yy >= 12
                            || xx >= 12
                            || labels.at(yy as usize, xx as usize) != k
                    };
                    let (yi, xi) = (y as isize, x as isize);
                    let border = (1..=width as isize).any(|d| {
                        differs(yi - d, xi)
                            || differs(yi + d, xi)
                            || differs(yi, xi - d)
                            || differs(yi, xi + d)
                    });
                    let drawn = image.get_pixel(x as u32, y as u32).0[3] == 255;
                    assert_eq!(drawn, k != 0 && border, "({y}, {x}) width {width}");
                }
            }
        }
    }

    #[test]
    fn the_truth_outline_alternates_white_and_black_dashes_on_the_border() {
        let labels = grid(&[
            &[0; 8],
            &[0, 1, 1, 1, 1, 1, 1, 0],
            &[0, 1, 1, 1, 1, 1, 1, 0],
            &[0; 8],
        ]);
        let dashed = overlay(&labels, Overlay::DashedOutline { width: 1, dash: 2 }).unwrap();
        let contour = overlay(&labels, Overlay::Contour { width: 1 }).unwrap();
        let mut seen = Vec::new();
        for (x, y, p) in dashed.enumerate_pixels() {
            // Drawn exactly where the contour is.
            assert_eq!(p.0[3], contour.get_pixel(x, y).0[3], "({y}, {x})");
            if p.0[3] == 255 {
                let on = ((x + y) / 2) % 2 == 0;
                let want = if on { TRUTH_OUTLINE } else { TRUTH_OUTLINE_GAP };
                assert_eq!(&p.0[..3], &want, "({y}, {x})");
                seen.push(on);
            }
        }
        assert!(seen.contains(&true) && seen.contains(&false));
    }

    /// Slices of volumes: channel `c`, slice `z` of an image `(C, X, Y, Z)` and of a label volume,
    /// against direct indexing; a slice or channel that does not exist is an error.
    #[test]
    fn slices_of_volumes_are_the_volume_at_that_index() {
        let dir = tempfile::tempdir().unwrap();
        let image = ndarray::Array4::<f32>::from_shape_fn((2, 3, 4, 5), |(c, x, y, z)| {
            (c * 60 + x * 20 + y * 5 + z) as f32 / 200.0
        });
        let labels =
            ndarray::Array3::<u8>::from_shape_fn((3, 4, 5), |(x, y, z)| ((x + y + z) % 3) as u8);
        let (image_path, label_path) = (dir.path().join("i.npy"), dir.path().join("l.npy"));
        ndarray_npy::write_npy(&image_path, &image).unwrap();
        ndarray_npy::write_npy(&label_path, &labels).unwrap();
        let volumes = Volumes::default();
        for z in 0..5 {
            let gray = read_gray_at(&image_path, 1, Some(z), &volumes).unwrap();
            assert_eq!((gray.height, gray.width), (3, 4));
            for x in 0..3 {
                for y in 0..4 {
                    let want = (image[[1, x, y, z]] * 255.0).round() as u8;
                    assert_eq!(gray.at(x, y), want);
                }
            }
            let grid = read_labels_at(&label_path, 3, Some(z), &volumes).unwrap();
            for x in 0..3 {
                for y in 0..4 {
                    assert_eq!(grid.at(x, y), labels[[x, y, z]]);
                }
            }
        }
        let error = read_labels_at(&label_path, 3, Some(5), &volumes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no slice 5"), "{error}");
        let error = read_gray_at(&image_path, 2, Some(0), &volumes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no channel 2"), "{error}");
        let error = read_labels_at(&label_path, 2, Some(0), &volumes)
            .unwrap_err()
            .to_string();
        assert!(error.contains("label 2"), "{error}");
    }

    #[test]
    fn float_images_in_the_unit_range_share_one_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let image = ndarray::Array3::<f32>::from_shape_fn((2, 2, 2), |(c, y, x)| {
            (c * 4 + y * 2 + x) as f32 / 10.0
        });
        ndarray_npy::write_npy(&path, &image).unwrap();
        let gray = read_gray(&path, 1).unwrap();
        assert_eq!(gray.values, vec![102, 128, 153, 179]);
        let stretched = dir.path().join("b.npy");
        ndarray_npy::write_npy(&stretched, &ndarray::arr2(&[[-1.0f32, 1.0]])).unwrap();
        assert_eq!(read_gray(&stretched, 0).unwrap().values, vec![0, 255]);
        let error = read_gray(&path, 2).unwrap_err().to_string();
        assert!(error.contains("no channel 2"), "{error}");
    }
}
