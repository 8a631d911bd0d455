//! `boundary-loss predict`: a trained run segments new NIfTI volumes, with the preprocessing its
//! data set was made with (`preprocess.json`), into label volumes in the input's space; with
//! `--gt`, per-case Dice and surface distances.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use boundary_loss::infer::{CaseSegmentation, Predictor, Weights};
use clap::Args;
use preprocess::PreprocessRecord;
use segmentation_metrics::{pair_metrics, EmptyMaskRule, PairMetrics};
use volume_io::{read_label_map, read_nifti_header, write_nifti_like, write_text_atomically};

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// The trained run (holds run.toml and best.bpk).
    pub run_dir: PathBuf,
    /// One NIfTI file per modality (one case), or one folder per modality (cases matched by
    /// file name), in the order the run was trained on.
    #[arg(long, num_args = 1.., required = true)]
    pub images: Vec<PathBuf>,
    /// Output folder: <case>.nii.gz labels (uint8) in the input's space.
    #[arg(long)]
    pub out: PathBuf,
    /// best (the best epoch's best.bpk), last (the last checkpoint) or a weights file.
    #[arg(long, default_value = "best")]
    pub weights: Weights,
    /// Override the run file's device (cpu, wgpu:N, vulkan:N, cuda:N).
    #[arg(long)]
    pub device: Option<boundary_loss::device::DeviceSpec>,
    /// Also write <case>_probabilities.nii.gz, float32 (x, y, z, K).
    #[arg(long)]
    pub probabilities: bool,
    /// Ground-truth labels (a file, or a folder of <case>.nii[.gz]): per-case metrics in mm,
    /// printed and written to OUT/metrics.csv and OUT/metrics.json.
    #[arg(long)]
    pub gt: Option<PathBuf>,
    /// Slices per network batch (a 3-D run: the run file's batch size of windows).
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The cases of `--images`: name and one path per modality.
fn cases(images: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<PathBuf>)>> {
    let name = |p: &Path| {
        preprocess::case_name(p)
            .with_context(|| format!("{}: not a .nii or .nii.gz file", p.display()))
    };
    if images.iter().all(|p| p.is_file()) {
        return Ok(vec![(name(&images[0])?, images.to_vec())]);
    }
    if let Some(p) = images.iter().find(|p| !p.is_dir()) {
        bail!("{}: give one file per modality or one folder per modality, not both (or it does not exist)", p.display());
    }
    let per_folder: Vec<BTreeMap<String, PathBuf>> = images
        .iter()
        .map(|d| preprocess::nifti_files(d))
        .collect::<Result<_, _>>()?;
    if per_folder[0].is_empty() {
        bail!("{}: holds no .nii or .nii.gz volume", images[0].display());
    }
    per_folder[0]
        .keys()
        .map(|case| {
            let paths = per_folder
                .iter()
                .zip(images)
                .map(|(files, dir)| {
                    files.get(case).cloned().with_context(|| {
                        format!(
                            "{}: missing (the case {case} has no volume in this folder)",
                            dir.join(format!("{case}.nii.gz")).display()
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok((case.clone(), paths))
        })
        .collect()
}

fn gt_path(gt: &Path, case: &str) -> anyhow::Result<PathBuf> {
    if gt.is_file() {
        return Ok(gt.to_path_buf());
    }
    ["nii.gz", "nii"]
        .iter()
        .map(|ext| gt.join(format!("{case}.{ext}")))
        .find(|p| p.is_file())
        .with_context(|| format!("{}: no {case}.nii.gz or {case}.nii here", gt.display()))
}

/// Segments one case and writes its outputs; the metrics against `gt` when given.
fn predict_case(
    predictor: &Predictor,
    record: &PreprocessRecord,
    args: &PredictArgs,
    case: &str,
    paths: &[PathBuf],
) -> anyhow::Result<Option<Vec<(usize, PairMetrics)>>> {
    let header = read_nifti_header(&paths[0])?;
    let CaseSegmentation {
        labels,
        probabilities,
    } = predictor.segment_case(record, paths, args.batch, args.probabilities)?;
    write_nifti_like(&args.out.join(format!("{case}.nii.gz")), &labels, &header)?;
    if let Some(volume) = &probabilities {
        write_nifti_like(
            &args.out.join(format!("{case}_probabilities.nii.gz")),
            volume,
            &header,
        )?;
    }
    let Some(gt) = &args.gt else { return Ok(None) };
    let gt = gt_path(gt, case)?;
    let truth = read_label_map(&gt)?;
    if truth.labels.shape() != labels.shape() {
        bail!(
            "{}: shape {:?}, the images' {:?}",
            gt.display(),
            truth.labels.shape(),
            labels.shape()
        );
    }
    let spacing = truth.spacing.clone().unwrap_or_else(|| vec![1.0; 3]);
    let predicted = labels.mapv(u32::from).into_dyn();
    let metrics = pair_metrics(
        predicted.view(),
        truth.labels.view(),
        &spacing,
        predictor.config.network.classes,
        EmptyMaskRule::Diagonal,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", gt.display()))?;
    Ok(Some(metrics))
}

pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    crate::set_threads(args.threads)?;
    let predictor = Predictor::open(&args.run_dir, &args.weights, args.device.as_ref())?;
    let record = PreprocessRecord::read(&predictor.config.data.dataset)?;
    if args.images.len() != record.modalities.len() {
        bail!(
            "{}: {} --images given, the run was trained on {} modalities ({})",
            args.images[0].display(),
            args.images.len(),
            record.modalities.len(),
            record.modalities.join(", ")
        );
    }
    let cases = cases(&args.images)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output folder", args.out.display()))?;
    let bar = super::progress_bar("cases");
    bar.set_length(cases.len() as u64);
    let started = Instant::now();
    let (mut failures, mut rows) = (0, Vec::new());
    for (case, paths) in &cases {
        match predict_case(&predictor, &record, args, case, paths) {
            Ok(Some(metrics)) => rows.push((case.clone(), metrics)),
            Ok(None) => {}
            Err(e) => {
                failures += 1;
                bar.suspend(|| eprintln!("error: {e:#}"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{} of {} case(s) segmented with {} into {} in {:.1} s",
        cases.len() - failures,
        cases.len(),
        predictor.weights.display(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    if !rows.is_empty() {
        write_metrics(&args.out, &rows)?;
    }
    if failures > 0 {
        bail!("{failures} case(s) failed (named above); nothing was written for them");
    }
    Ok(())
}

fn write_metrics(out: &Path, rows: &[(String, Vec<(usize, PairMetrics)>)]) -> anyhow::Result<()> {
    let mut csv = String::from("case,class,dice,hd_mm,hd95_mm,assd_mm,empty\n");
    println!(
        "{:<20} {:>5} {:>8} {:>9} {:>9} {:>9}",
        "case", "class", "dice", "hd mm", "hd95 mm", "assd mm"
    );
    let mut json = serde_json::Map::new();
    for (case, metrics) in rows {
        let mut per_class = serde_json::Map::new();
        for (k, m) in metrics {
            println!(
                "{case:<20} {k:>5} {:>8.4} {:>9.2} {:>9.2} {:>9.2}",
                m.dice, m.hd, m.hd95_medpy, m.assd_pooled
            );
            csv.push_str(&format!(
                "{case},{k},{},{},{},{},{}\n",
                m.dice,
                m.hd,
                m.hd95_medpy,
                m.assd_pooled,
                m.empty.unwrap_or("")
            ));
            per_class.insert(k.to_string(), serde_json::to_value(m)?);
        }
        json.insert(case.clone(), serde_json::Value::Object(per_class));
    }
    write_text_atomically(&out.join("metrics.csv"), &csv)?;
    write_text_atomically(
        &out.join("metrics.json"),
        &format!("{}\n", serde_json::to_string_pretty(&json)?),
    )?;
    Ok(())
}
