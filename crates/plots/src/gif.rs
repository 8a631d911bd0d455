//! The animated GIF of one patient's predictions over the epochs.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::RGBColor;

use crate::{register_font, temporary, PlotError, FONT};

/// One frame of a prediction GIF: slices side by side, each an image with the prediction and
/// the truth's outline over it.
pub struct Frame {
    pub caption: String,
    /// Per slice: gray image in [0, 1], truth and predicted class maps, row-major `height x width`.
    pub slices: Vec<(Vec<f32>, Vec<u8>, Vec<u8>)>,
}

/// An animated GIF of `frames` (one per epoch), each slice `height x width` drawn `scale` times
/// larger: the image in gray, predicted foreground in red, the truth's outline in green.
pub fn prediction_gif(
    frames: &[Frame],
    height: usize,
    width: usize,
    scale: u32,
    delay_ms: u32,
    out: &Path,
) -> Result<PathBuf, PlotError> {
    register_font();
    let tiles = frames.iter().map(|f| f.slices.len()).max().unwrap_or(0);
    if frames.is_empty() || tiles == 0 {
        return Err(PlotError::Empty(out.display().to_string()));
    }
    let gap = 4u32;
    let caption = 34u32;
    let size = (
        tiles as u32 * (width as u32 * scale + gap) + gap,
        height as u32 * scale + caption + gap,
    );
    let temp = temporary(out, "gif");
    let fail = |reason: String| PlotError::Draw {
        path: out.to_path_buf(),
        reason,
    };
    let drawn = (|| -> Result<(), String> {
        let root = BitMapBackend::gif(&temp, size, delay_ms)
            .map_err(|e| e.to_string())?
            .into_drawing_area();
        for frame in frames {
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            root.draw(&Text::new(
                frame.caption.clone(),
                (8, 6),
                (FONT, 20).into_font(),
            ))
            .map_err(|e| e.to_string())?;
            for (t, (image, truth, predicted)) in frame.slices.iter().enumerate() {
                let x0 = gap + t as u32 * (width as u32 * scale + gap);
                let y0 = caption;
                for r in 0..height {
                    for c in 0..width {
                        let i = r * width + c;
                        let g = (image[i].clamp(0.0, 1.0) * 255.0) as u8;
                        let outline = truth[i] > 0
                            && [(0i64, 1i64), (0, -1), (1, 0), (-1, 0)]
                                .iter()
                                .any(|(dr, dc)| {
                                    let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                                    rr < 0
                                        || cc < 0
                                        || rr >= height as i64
                                        || cc >= width as i64
                                        || truth[rr as usize * width + cc as usize] == 0
                                });
                        let pixel = if outline {
                            RGBColor(0, 220, 0)
                        } else if predicted[i] > 0 {
                            RGBColor(255, (g as u16 / 3) as u8, (g as u16 / 3) as u8)
                        } else {
                            RGBColor(g, g, g)
                        };
                        for dy in 0..scale {
                            for dx in 0..scale {
                                root.draw_pixel(
                                    (
                                        (x0 + c as u32 * scale + dx) as i32,
                                        (y0 + r as u32 * scale + dy) as i32,
                                    ),
                                    &pixel,
                                )
                                .map_err(|e| e.to_string())?;
                            }
                        }
                    }
                }
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(())
    })();
    if let Err(reason) = drawn {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(reason));
    }
    std::fs::rename(&temp, out).map_err(|e| volume_io::FileError::new(out, e))?;
    Ok(out.to_path_buf())
}
