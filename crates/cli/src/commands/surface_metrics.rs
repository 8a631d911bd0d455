//! `boundary-loss surface-metrics`: Dice and every surface distance of one predicted / true pair
//! of label maps, as JSON.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use segmentation_metrics::{pair_metrics, EmptyMaskRule};
use volume_io::{read_label_map, FileError};

#[derive(Args, Debug, Clone)]
pub struct SurfaceMetricsArgs {
    /// Predicted label map (.npy, .png, .nii/.nii.gz).
    #[arg(long)]
    pub pred: PathBuf,
    /// Ground-truth label map of the same shape.
    #[arg(long)]
    pub gt: PathBuf,
    /// Spacing per axis in mm, e.g. 3,0.94,0.94 [default: the ground truth's NIfTI header, else
    /// the prediction's, else 1 per axis].
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub spacing: Option<Vec<f64>>,
    /// Number of classes K [default: the largest label of both + 1].
    #[arg(long)]
    pub classes: Option<usize>,
    /// Distances when a mask is empty: diagonal (both empty 0, one empty the volume's diagonal)
    /// or nan (null in the JSON).
    #[arg(long, default_value = "diagonal", value_parser = super::choice::<EmptyMaskRule>())]
    pub empty_mask: EmptyMaskRule,
}

pub fn run(args: &SurfaceMetricsArgs) -> anyhow::Result<()> {
    let pred = read_label_map(&args.pred)?;
    let gt = read_label_map(&args.gt)?;
    if pred.labels.shape() != gt.labels.shape() {
        bail!(
            "{}: shape {:?}, but {} has shape {:?}",
            args.pred.display(),
            pred.labels.shape(),
            args.gt.display(),
            gt.labels.shape()
        );
    }
    let rank = gt.labels.ndim();
    let (spacing, source) = match (&args.spacing, &gt.spacing, &pred.spacing) {
        (Some(s), _, _) => (s.clone(), &args.gt),
        (None, Some(s), _) => (s.clone(), &args.gt),
        (None, None, Some(s)) => (s.clone(), &args.pred),
        (None, None, None) => (vec![1.0; rank], &args.gt),
    };
    if spacing.len() != rank {
        return Err(FileError::new(
            source,
            format!(
                "{} spacing value(s) for a label map of shape {:?} ({rank} axes)",
                spacing.len(),
                gt.labels.shape()
            ),
        )
        .into());
    }
    if let Some(s) = spacing.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(FileError::new(source, format!("spacing {s} is not a positive number")).into());
    }
    let largest = |m: &volume_io::LabelMap| m.labels.iter().copied().max().unwrap_or(0) as usize;
    let classes = match args.classes {
        Some(k) => {
            for (path, map) in [(&args.pred, &pred), (&args.gt, &gt)] {
                if largest(map) >= k {
                    return Err(FileError::new(
                        path,
                        format!("label {} is not below --classes {k}", largest(map)),
                    )
                    .into());
                }
            }
            k
        }
        None => (largest(&pred).max(largest(&gt)) + 1).max(2),
    };
    let per_class = pair_metrics(
        pred.labels.view(),
        gt.labels.view(),
        &spacing,
        classes,
        args.empty_mask,
    )?;
    let classes_json: serde_json::Map<String, serde_json::Value> = per_class
        .into_iter()
        .map(|(k, m)| {
            (
                k.to_string(),
                serde_json::to_value(m).expect("serialisable"),
            )
        })
        .collect();
    let out = serde_json::json!({
        "classes": classes_json,
        "spacing": spacing,
        "empty_mask": args.empty_mask.to_string(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
