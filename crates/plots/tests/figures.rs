//! The figures as a reader gets them: the numbers behind the curves (smoothing, best epoch, the
//! CSV), the files each figure writes (PNG of the stated size with the groups' colours, SVG,
//! GIF), and an empty figure refused without a file.

use std::path::Path;

use plots::{
    best, prediction_gif, smooth, BoxFigure, Curve, CurvesFigure, Frame, Panel, PlotError, Sample,
};

/// The centred moving average by its definition: the mean of the non-NaN values within
/// `window / 2` epochs on each side.
fn smooth_by_definition(values: &[f64], window: usize) -> Vec<f64> {
    let half = (window / 2) as isize;
    (0..values.len() as isize)
        .map(|i| {
            let near: Vec<f64> = (i - half..=i + half)
                .filter(|&j| j >= 0 && (j as usize) < values.len())
                .map(|j| values[j as usize])
                .filter(|v| !v.is_nan())
                .collect();
            if near.is_empty() {
                f64::NAN
            } else {
                near.iter().sum::<f64>() / near.len() as f64
            }
        })
        .collect()
}

#[test]
fn smoothing_and_the_best_epoch_follow_their_definitions() {
    let values = [
        0.1,
        0.5,
        f64::NAN,
        0.3,
        0.9,
        0.2,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        0.4,
    ];
    assert_eq!(format!("{:?}", smooth(&values, 1)), format!("{values:?}"));
    for window in [2, 3, 5, 20] {
        let got = smooth(&values, window);
        let want = smooth_by_definition(&values, window);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g == w || (g.is_nan() && w.is_nan()),
                "window {window}: {got:?} vs {want:?}"
            );
        }
    }
    // Highest for Dice, lowest for distances; NaN never wins; the first of equal values does.
    assert_eq!(best(&values, false), Some((4, 0.9)));
    assert_eq!(best(&values, true), Some((0, 0.1)));
    assert_eq!(best(&[0.2, 0.7, 0.7], false), Some((1, 0.7)));
    assert_eq!(best(&[f64::NAN, f64::NAN], false), None);
}

fn panel(metric: &str, lower_is_better: bool) -> Panel {
    let curve = |group: &str, seed: usize, offset: f64| Curve {
        group: group.into(),
        label: format!("{group}/seed{seed}"),
        values: (0..6)
            .map(|e| offset + 0.1 * e as f64 + 0.01 * seed as f64)
            .collect(),
    };
    Panel {
        metric: metric.into(),
        unit: if lower_is_better {
            "mm".into()
        } else {
            String::new()
        },
        lower_is_better,
        curves: vec![
            curve("gdl", 0, 0.0),
            curve("gdl", 1, 0.0),
            curve("boundary", 0, 0.2),
        ],
        ylim: None,
    }
}

fn png_size_and_pixels(path: &Path) -> ((u32, u32), Vec<[u8; 3]>) {
    let image = image::open(path).unwrap().to_rgb8();
    (image.dimensions(), image.pixels().map(|p| p.0).collect())
}

#[test]
fn the_curves_figure_writes_png_svg_and_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let figure = CurvesFigure {
        title: "test".into(),
        panels: vec![panel("val_dice", false), panel("val_3d_hd95", true)],
        smooth: 1,
    };
    let written = figure.save(&dir.path().join("curves")).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["curves.png", "curves.svg", "curves.csv"]);
    // Two panels of 330 pixels under a 60-pixel title, 1000 wide.
    let ((w, h), pixels) = png_size_and_pixels(&written[0]);
    assert_eq!((w, h), (1000, 60 + 2 * 330));
    // Each group's colour is drawn (tab10 blue, then orange).
    for colour in [[31, 119, 180], [255, 127, 14]] {
        assert!(pixels.contains(&colour), "colour {colour:?} missing");
    }
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("val_3d_hd95"));
    // The CSV holds the group means: gdl's seeds 0 and 1 differ by 0.01, so the mean at epoch 2
    // is 0.205 and the population std 0.005.
    let csv = std::fs::read_to_string(&written[2]).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(3).unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let value = |name: &str| row[column(name)].parse::<f64>().unwrap();
    assert!((value("val_dice:gdl:mean") - 0.205).abs() < 1e-12, "{csv}");
    assert!((value("val_dice:gdl:std") - 0.005).abs() < 1e-12, "{csv}");
    // Nothing is left under a temporary name.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_empty_figure_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let boxes = BoxFigure {
        title: "no numbers".into(),
        metric: "val_3d_hd95".into(),
        unit: "mm".into(),
        samples: vec![Sample {
            group: "gdl".into(),
            label: "gdl".into(),
            values: vec![f64::NAN, f64::NAN],
        }],
    };
    assert!(matches!(
        boxes.save(&dir.path().join("box")),
        Err(PlotError::Empty(_))
    ));
    let curves = CurvesFigure {
        title: "no curves".into(),
        panels: vec![],
        smooth: 1,
    };
    assert!(curves.save(&dir.path().join("curves")).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_box_figure_widens_with_its_samples() {
    let dir = tempfile::tempdir().unwrap();
    let sample = |group: &str, shift: f64| Sample {
        group: group.into(),
        label: group.into(),
        values: (0..12).map(|i| shift + i as f64).collect(),
    };
    let samples: Vec<Sample> = (0..4).map(|i| sample(&format!("m{i}"), i as f64)).collect();
    let written = BoxFigure {
        title: "boxes".into(),
        metric: "val_3d_hd95".into(),
        unit: "mm".into(),
        samples,
    }
    .save(&dir.path().join("box"))
    .unwrap();
    let ((w, h), _) = png_size_and_pixels(&written[0]);
    assert_eq!((w, h), (200 + 230 * 4, 600));
}

#[test]
fn the_prediction_gif_has_one_frame_per_epoch_at_the_stated_size() {
    let dir = tempfile::tempdir().unwrap();
    let (height, width, scale) = (6, 5, 3u32);
    let slice = || {
        let image = vec![0.5f32; height * width];
        let mut truth = vec![0u8; height * width];
        truth[7] = 1;
        (image, truth.clone(), truth)
    };
    let frames: Vec<Frame> = (0..3)
        .map(|e| Frame {
            caption: format!("epoch {e}"),
            slices: vec![slice(), slice()],
        })
        .collect();
    let out = dir.path().join("patient.gif");
    let path = prediction_gif(&frames, height, width, scale, 200, &out).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..6], b"GIF89a");
    // The logical screen: two tiles with 4-pixel gaps; the caption band above them.
    let screen = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as u32;
    let (gap, caption) = (4u32, 34u32);
    assert_eq!(screen(6), 2 * (width as u32 * scale + gap) + gap);
    assert_eq!(screen(8), height as u32 * scale + caption + gap);
    // An image descriptor (0x2C) opens each frame; counted after the graphic control
    // extensions (0x21 0xF9) that precede them.
    let frames_found = bytes
        .windows(3)
        .filter(|w| w[0] == 0x21 && w[1] == 0xF9 && w[2] == 0x04)
        .count();
    assert_eq!(frames_found, 3);
    assert!(matches!(
        prediction_gif(
            &[],
            height,
            width,
            scale,
            200,
            &dir.path().join("empty.gif")
        ),
        Err(PlotError::Empty(_))
    ));
}
