//! `boundary_loss`, the Python package: the exact, parallel distance maps of the boundary loss
//! (scipy-identical `one_hot2dist` / `one_hot2hd_dist`) and the surface metrics (Dice,
//! Hausdorff, HD95, ASSD) of the `distmap` crate, for NumPy / PyTorch / MONAI data loaders.
//!
//! It owns the Python surface only: argument conversion ([`arrays`]), the thread pool
//! ([`pool`]) and the mapping of errors to `TypeError` / `ValueError`. Every computation is
//! `distmap`'s, run with the GIL released; option names are `distmap`'s own ([`NamedChoice`]).

mod arrays;
mod pool;

use std::panic::{catch_unwind, AssertUnwindSafe};

use distmap::{
    distance_maps_into, BorderOffset, ClassLabel, MapFloat, MapKind, MapOptions, NamedChoice,
    WholeImageClass,
};
use numpy::ndarray::{ArrayD, ArrayViewD, IxDyn};
use numpy::{IntoPyArray, PyArrayDescr, PyArrayDescrMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};
use rayon::prelude::*;
use segmentation_metrics::{pair_metrics, EmptyMaskRule, PairMetrics};

use crate::arrays::{native_array, one_hot_labels, spacing, LabelDtype};

/// Runs `work` without the GIL, on the package's pool; a Rust panic (a bug) becomes a
/// `RuntimeError` instead of a `PanicException`.
fn compute<R: Send>(py: Python<'_>, work: impl FnOnce() -> R + Send) -> PyResult<R> {
    let pool = pool::current()?;
    py.detach(|| catch_unwind(AssertUnwindSafe(|| pool.install(work))))
        .map_err(|panic| {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            PyRuntimeError::new_err(format!(
                "internal error in boundary_loss (please report it): {reason}"
            ))
        })
}

fn choice<T: NamedChoice>(value: &str, argument: &str) -> PyResult<T> {
    value
        .parse::<T>()
        .map_err(|e| PyValueError::new_err(format!("{argument}: {e}")))
}

fn distmap_error(what: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{what}: {e}"))
}

/// The element type the maps are delivered in.
enum OutputType<'py> {
    F32,
    F64,
    /// Computed in float64 and cast as numpy assigns (`zeros_like(seg, dtype)[k] = map`): the
    /// original's `dtype=None` on an integer one-hot truncates toward zero.
    Cast(Bound<'py, PyArrayDescr>),
}

impl<'py> OutputType<'py> {
    fn of(
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        default: Bound<'py, PyArrayDescr>,
    ) -> PyResult<Self> {
        let descr = match dtype {
            Some(d) if !d.is_none() => py
                .import("numpy")?
                .call_method1("dtype", (d,))
                .map_err(|e| PyTypeError::new_err(format!("dtype: {e}")))?
                .cast_into::<PyArrayDescr>()?,
            _ => default,
        };
        Ok(
            match (descr.kind(), descr.itemsize(), descr.is_native_byteorder()) {
                (b'f', 4, Some(true) | None) => OutputType::F32,
                (b'f', 8, Some(true) | None) => OutputType::F64,
                _ => OutputType::Cast(descr),
            },
        )
    }
}

/// Wraps an owned array for Python without copying, casting it if asked.
fn deliver<'py, O: MapFloat + numpy::Element>(
    py: Python<'py>,
    maps: ArrayD<O>,
    output: &OutputType<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let array = maps.into_pyarray(py).into_any();
    match output {
        OutputType::Cast(descr) => array.call_method1("astype", (descr,)),
        _ => Ok(array),
    }
}

fn map_options(
    kind: &str,
    border: &str,
    whole_image: &str,
    truncate: bool,
) -> PyResult<MapOptions> {
    Ok(MapOptions {
        kind: choice::<MapKind>(kind, "kind")?,
        border: choice::<BorderOffset>(border, "border")?,
        whole_image: choice::<WholeImageClass>(whole_image, "whole_image")?,
        truncate,
        ..MapOptions::default()
    })
}

/// Maps of a batch of one-hot arrays `(B, K, *spatial)` (`batched`) or of one `(K, *spatial)`.
fn one_hot_maps<'py>(
    seg: &Bound<'py, PyAny>,
    resolution: Option<&Bound<'py, PyAny>>,
    dtype: Option<&Bound<'py, PyAny>>,
    options: MapOptions,
    batched: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = seg.py();
    let what = "seg";
    let array = native_array(seg, what)?;
    let label_dtype = LabelDtype::of(&array, what)?;
    let leading = usize::from(batched);
    if array.ndim() < 2 + leading {
        return Err(PyValueError::new_err(format!(
            "{what}: expected shape {}(K, *spatial), got {:?}",
            if batched { "(B, " } else { "" },
            array.shape()
        )));
    }
    let shape = array.shape().to_vec();
    let spatial = shape[1 + leading..].to_vec();
    let spacing = spacing(resolution, spatial.len(), "resolution")?;
    let output = OutputType::of(py, dtype, array.dtype())?;
    with_label_view!(&array, label_dtype, |view| {
        let view = view.as_standard_layout();
        let flat = view.as_slice().expect("standard layout is contiguous");
        match output {
            OutputType::F32 => deliver(
                py,
                one_hot_batch_maps::<_, f32>(py, flat, &shape, leading, &spacing, &options)?,
                &output,
            ),
            _ => deliver(
                py,
                one_hot_batch_maps::<_, f64>(py, flat, &shape, leading, &spacing, &options)?,
                &output,
            ),
        }
    })
}

/// The maps of one checked one-hot item through its label map of type `L` (wide enough for
/// `channels` classes), into `out`.
fn one_hot_item_maps<T: ClassLabel, L: ClassLabel, O: MapFloat>(
    item: &[T],
    channels: usize,
    spatial: &[usize],
    spacing: &[f64],
    options: &MapOptions,
    out: &mut [O],
) -> Result<(), String> {
    let labels = one_hot_labels::<T, L>(item, channels, spatial)?;
    distance_maps_into(&labels, spatial, channels, spacing, options, out).map_err(|e| e.to_string())
}

/// `distmap::distance_maps_into` on a fresh map buffer: the maps `(classes, *shape)` of a
/// row-major label map.
fn maps_of_labels<T: ClassLabel, O: MapFloat>(
    flat: &[T],
    shape: &[usize],
    classes: usize,
    spacing: &[f64],
    options: &MapOptions,
) -> Result<Vec<O>, distmap::DistmapError> {
    let mut out = distmap::map_buffer::<O>(flat.len() * classes);
    distance_maps_into(flat, shape, classes, spacing, options, &mut out).map(|()| out)
}

/// The maps of `flat`, one-hot items `(K, *spatial)` after `leading` batch axes of `shape`:
/// each item becomes a label map (checked one-hot), whose maps are the label path's (one
/// transform for both classes when K = 2), in parallel over the batch.
fn one_hot_batch_maps<T: ClassLabel, O: MapFloat>(
    py: Python<'_>,
    flat: &[T],
    shape: &[usize],
    leading: usize,
    spacing: &[f64],
    options: &MapOptions,
) -> PyResult<ArrayD<O>> {
    let channels = shape[leading];
    let spatial = &shape[leading + 1..];
    let item_len = shape[leading..].iter().product::<usize>();
    let result = compute(py, || -> Result<Vec<O>, (usize, String)> {
        let mut out = distmap::map_buffer::<O>(flat.len());
        if item_len == 0 {
            return Ok(out);
        }
        let items: Vec<Result<(), (usize, String)>> = out
            .par_chunks_mut(item_len)
            .zip(flat.par_chunks(item_len))
            .enumerate()
            .map(|(b, (out, item))| {
                let labelled = if channels <= 256 {
                    one_hot_item_maps::<T, u8, O>(item, channels, spatial, spacing, options, out)
                } else {
                    one_hot_item_maps::<T, u32, O>(item, channels, spatial, spacing, options, out)
                };
                labelled.map_err(|reason| (b, reason))
            })
            .collect();
        items.into_iter().collect::<Result<(), _>>().map(|()| out)
    })?;
    let maps = result.map_err(|(b, reason)| {
        let item = if leading > 0 {
            format!("seg[{b}]")
        } else {
            "seg".to_string()
        };
        PyValueError::new_err(format!("{item}: {reason}"))
    })?;
    Ok(ArrayD::from_shape_vec(IxDyn(shape), maps).expect("one value per input element"))
}

/// The boundary loss's signed distance maps of a one-hot array `(K, *spatial)`, bit for bit those
/// of the original (scipy's `distance_transform_edt`): outside class k the distance to it, inside
/// `-(distance to the outside - 1)`, 0 for an absent class. `resolution`: spacing per spatial axis
/// (or one number). `dtype=None` keeps `seg`'s dtype as the original does, so an integer one-hot
/// gives maps truncated toward zero; pass `numpy.float32` for the exact maps.
#[pyfunction]
#[pyo3(signature = (seg, resolution=None, dtype=None))]
fn one_hot2dist<'py>(
    seg: &Bound<'py, PyAny>,
    resolution: Option<&Bound<'py, PyAny>>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    one_hot_maps(seg, resolution, dtype, MapOptions::default(), false)
}

/// The Hausdorff-DT loss's maps of a one-hot array `(K, *spatial)`: inside class k the distance to
/// the outside, 0 elsewhere; bit for bit the original's. Same arguments as `one_hot2dist`.
#[pyfunction]
#[pyo3(signature = (seg, resolution=None, dtype=None))]
fn one_hot2hd_dist<'py>(
    seg: &Bound<'py, PyAny>,
    resolution: Option<&Bound<'py, PyAny>>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = MapOptions {
        kind: MapKind::Hausdorff,
        ..MapOptions::default()
    };
    one_hot_maps(seg, resolution, dtype, options, false)
}

/// The maps of a batch of one-hot arrays `(B, K, *spatial)`, the batch computed in parallel;
/// `[one_hot2dist(s) for s in seg]` stacked, for `kind="signed"`.
#[pyfunction]
#[pyo3(signature = (seg, resolution=None, dtype=None, kind="signed", border="voxel", whole_image="scipy"))]
fn one_hot2dist_batch<'py>(
    seg: &Bound<'py, PyAny>,
    resolution: Option<&Bound<'py, PyAny>>,
    dtype: Option<&Bound<'py, PyAny>>,
    kind: &str,
    border: &str,
    whole_image: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let options = map_options(kind, border, whole_image, false)?;
    one_hot_maps(seg, resolution, dtype, options, true)
}

/// The per-class maps `(K, *labels.shape)` of an integer label map, without building the one-hot.
/// `dtype=None` means float32. `classes` defaults to the largest label + 1; `kind`: "signed"
/// (`one_hot2dist`) or "hd" (`one_hot2hd_dist`); `truncate`: toward zero, as the original's integer
/// data loader; `border`: "voxel" (the original: inside `-(d - 1 voxel)`) or "corrected" (the inner
/// border exactly 0 at any spacing); `whole_image`: a class covering the whole image gets "scipy"'s
/// artefact (as the original) or "zeros".
#[pyfunction]
#[pyo3(signature = (labels, classes=None, spacing=None, kind="signed", truncate=false, border="voxel", whole_image="scipy", dtype=None))]
#[allow(clippy::too_many_arguments)]
fn label2dist<'py>(
    labels: &Bound<'py, PyAny>,
    classes: Option<usize>,
    spacing: Option<&Bound<'py, PyAny>>,
    kind: &str,
    truncate: bool,
    border: &str,
    whole_image: &str,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = labels.py();
    let what = "labels";
    let options = map_options(kind, border, whole_image, truncate)?;
    let array = native_array(labels, what)?;
    let label_dtype = LabelDtype::of(&array, what)?;
    if array.ndim() == 0 {
        return Err(PyValueError::new_err(format!(
            "{what}: a label map needs at least one axis"
        )));
    }
    let spacing = arrays::spacing(spacing, array.ndim(), "spacing")?;
    let output = OutputType::of(py, dtype, numpy::dtype::<f32>(py))?;
    with_label_view!(&array, label_dtype, |view| {
        let k = match classes {
            Some(k) => k,
            None => largest_label(view.view())?.map_or(1, |l| l + 1),
        };
        match output {
            OutputType::F32 => deliver(
                py,
                label_maps::<_, f32>(py, view, k, &spacing, &options)?,
                &output,
            ),
            _ => deliver(
                py,
                label_maps::<_, f64>(py, view, k, &spacing, &options)?,
                &output,
            ),
        }
    })
}

/// `distmap::distance_maps` of a label view, `(classes, *shape)`.
fn label_maps<T: ClassLabel, O: MapFloat>(
    py: Python<'_>,
    labels: ArrayViewD<'_, T>,
    classes: usize,
    spacing: &[f64],
    options: &MapOptions,
) -> PyResult<ArrayD<O>> {
    let labels = labels.as_standard_layout();
    let flat = labels.as_slice().expect("standard layout is contiguous");
    let mut shape = vec![classes];
    shape.extend_from_slice(labels.shape());
    let maps = compute(py, || {
        maps_of_labels(flat, labels.shape(), classes, spacing, options)
    })?
    .map_err(|e| distmap_error("labels", e))?;
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), maps).expect("one value per class and element"))
}

/// The largest label, `None` for an empty map; a negative label is a `ValueError`.
fn largest_label<T: ClassLabel>(labels: ArrayViewD<'_, T>) -> PyResult<Option<usize>> {
    let mut largest = None;
    for &l in labels.iter() {
        match l.class_index() {
            Some(i) => largest = Some(largest.map_or(i, |m: usize| m.max(i))),
            None => {
                return Err(PyValueError::new_err(format!(
                    "labels: label {} is not a class index (negative)",
                    l.wide()
                )))
            }
        }
    }
    Ok(largest)
}

/// Per class `k >= 1`, a dict of `dice`, `hd`, `hd95_medpy` (medpy's pooled 95th percentile, the
/// original's), `hd95_monai` (the larger directed 95th percentile), `assd_pooled` (medpy 0.5,
/// MONAI), `assd_mean_of_directed` (medpy 0.4) in the units of `spacing`, and `empty` (None,
/// "prediction", "truth" or "both"); the values of the `boundary-loss surface-metrics` command.
/// `empty_mask`: "diagonal" (both empty 0, one empty the volume's diagonal), "always_diagonal"
/// (any empty mask, both included, the diagonal: training's default) or "nan".
#[pyfunction]
#[pyo3(signature = (pred, gt, spacing=None, classes=None, empty_mask="diagonal"))]
fn surface_metrics<'py>(
    pred: &Bound<'py, PyAny>,
    gt: &Bound<'py, PyAny>,
    spacing: Option<&Bound<'py, PyAny>>,
    classes: Option<usize>,
    empty_mask: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let py = pred.py();
    let rule = choice::<EmptyMaskRule>(empty_mask, "empty_mask")?;
    let wide = |obj: &Bound<'py, PyAny>, what: &str| -> PyResult<ArrayD<i64>> {
        let array = native_array(obj, what)?;
        let dtype = LabelDtype::of(&array, what)?;
        with_label_view!(&array, dtype, |view| {
            if let Some(bad) = view.iter().find(|v| v.class_index().is_none()) {
                return Err(PyValueError::new_err(format!(
                    "{what}: label {} is not a class index",
                    bad.wide()
                )));
            }
            // Row-major whatever the input's layout.
            Ok(ArrayD::from_shape_vec(
                view.raw_dim(),
                view.iter().map(|v| v.wide() as i64).collect(),
            )
            .expect("one value per element"))
        })
    };
    let p = wide(pred, "pred")?;
    let t = wide(gt, "gt")?;
    if p.shape() != t.shape() {
        return Err(PyValueError::new_err(format!(
            "pred has shape {:?}, gt {:?}",
            p.shape(),
            t.shape()
        )));
    }
    if t.ndim() == 0 {
        return Err(PyValueError::new_err(
            "gt: a label map needs at least one axis",
        ));
    }
    let spacing = arrays::spacing(spacing, t.ndim(), "spacing")?;
    let largest = p.iter().chain(t.iter()).copied().max().unwrap_or(0) as usize;
    let k = match classes {
        Some(k) if largest >= k => {
            return Err(PyValueError::new_err(format!(
                "label {largest} is not below classes={k}"
            )))
        }
        Some(k) => k,
        None => (largest + 1).max(2),
    };
    fn view(a: &ArrayD<i64>) -> distmap_ndarray::ArrayViewD<'_, i64> {
        distmap_ndarray::ArrayViewD::from_shape(
            distmap_ndarray::IxDyn(a.shape()),
            a.as_slice().expect("a fresh array is contiguous"),
        )
        .expect("shape and length of one array")
    }
    let per_class = compute(py, || pair_metrics(view(&p), view(&t), &spacing, k, rule))?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let out = PyDict::new(py);
    for (class, m) in per_class {
        out.set_item(class, metrics_dict(py, &m)?)?;
    }
    Ok(out)
}

fn metrics_dict<'py>(py: Python<'py>, m: &PairMetrics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("dice", m.dice)?;
    d.set_item("hd", m.hd)?;
    d.set_item("hd95_medpy", m.hd95_medpy)?;
    d.set_item("hd95_monai", m.hd95_monai)?;
    d.set_item("assd_pooled", m.assd_pooled)?;
    d.set_item("assd_mean_of_directed", m.assd_mean_of_directed)?;
    d.set_item("empty", m.empty)?;
    Ok(d)
}

/// Worker threads of later calls (0: all cores, the default). In a `DataLoader` with several
/// workers, 1 per worker avoids oversubscribing the cores.
#[pyfunction]
fn set_num_threads(n: usize) -> PyResult<()> {
    pool::set_threads(n)
}

/// The number of worker threads calls use.
#[pyfunction]
fn get_num_threads() -> PyResult<usize> {
    pool::threads()
}

/// For benchmarks: the seconds of each of `repeats` runs of `distmap::distance_maps` (float64)
/// on a uint8 label map, timed inside Rust on the package's pool, without the argument
/// conversion and checks a call from Python adds; interleaved with `label2dist` calls it
/// measures that overhead on a machine whose speed drifts.
#[pyfunction]
#[pyo3(signature = (labels, classes, spacing=None, repeats=1))]
fn _time_label_maps(
    labels: numpy::PyReadonlyArrayDyn<'_, u8>,
    classes: usize,
    spacing: Option<&Bound<'_, PyAny>>,
    repeats: usize,
) -> PyResult<Vec<f64>> {
    let py = labels.py();
    let view = labels.as_array();
    let spacing = arrays::spacing(spacing, view.ndim(), "spacing")?;
    let view = view.as_standard_layout();
    let flat = view.as_slice().expect("standard layout is contiguous");
    let options = MapOptions::default();
    compute(py, || {
        (0..repeats)
            .map(|_| {
                let start = std::time::Instant::now();
                let maps =
                    maps_of_labels::<u8, f64>(flat, view.shape(), classes, &spacing, &options)
                        .map_err(|e| distmap_error("labels", e))?;
                drop(std::hint::black_box(maps));
                Ok(start.elapsed().as_secs_f64())
            })
            .collect()
    })?
}

#[pymodule]
fn boundary_loss(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(one_hot2dist, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot2hd_dist, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot2dist_batch, m)?)?;
    m.add_function(wrap_pyfunction!(label2dist, m)?)?;
    m.add_function(wrap_pyfunction!(surface_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_time_label_maps, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("KINDS", MapKind::NAMES.to_vec())?;
    m.add("BORDERS", BorderOffset::NAMES.to_vec())?;
    m.add("WHOLE_IMAGE", WholeImageClass::NAMES.to_vec())?;
    m.add("EMPTY_MASK", EmptyMaskRule::NAMES.to_vec())?;
    Ok(())
}
