//! From Python objects to the arrays `distmap` takes, and back: dtype dispatch, byte order,
//! spacing, and the errors a Python user expects (`TypeError` for a wrong kind of array,
//! `ValueError` for wrong values), never a panic.

use numpy::ndarray::ArrayViewD;
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use distmap::ClassLabel;
use rayon::prelude::*;

/// `numpy.asarray(obj)` in native byte order: lists, torch CPU tensors and big-endian arrays
/// are accepted; what numpy cannot turn into an array is a `TypeError`.
pub fn native_array<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = obj.py();
    let numpy = py.import("numpy")?;
    let array = match obj.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => numpy
            .call_method1("asarray", (obj,))
            .map_err(|e| PyTypeError::new_err(format!("{what}: not an array ({e})")))?
            .cast_into::<PyUntypedArray>()
            .map_err(|_| PyTypeError::new_err(format!("{what}: not an array")))?,
    };
    if array.dtype().is_native_byteorder() == Some(false) {
        // A big-endian array on a little-endian machine (or the reverse): one byte-swapping copy.
        let native = array.dtype().call_method1("newbyteorder", ("=",))?;
        return Ok(array
            .call_method1("astype", (native,))?
            .cast_into::<PyUntypedArray>()?);
    }
    Ok(array)
}

/// The element kinds a label or mask array may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelDtype {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

impl LabelDtype {
    /// The integer or bool dtype of `array`, or a `TypeError` naming what it is.
    pub fn of(array: &Bound<'_, PyUntypedArray>, what: &str) -> PyResult<Self> {
        let dtype = array.dtype();
        let size = dtype.itemsize();
        let kind = dtype.kind();
        Ok(match (kind, size) {
            (b'b', 1) => LabelDtype::Bool,
            (b'u', 1) => LabelDtype::U8,
            (b'u', 2) => LabelDtype::U16,
            (b'u', 4) => LabelDtype::U32,
            (b'u', 8) => LabelDtype::U64,
            (b'i', 1) => LabelDtype::I8,
            (b'i', 2) => LabelDtype::I16,
            (b'i', 4) => LabelDtype::I32,
            (b'i', 8) => LabelDtype::I64,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "{what}: must be an integer or bool array, got dtype {}{}",
                    dtype.str()?,
                    if kind == b'f' {
                        " (round and cast it first, e.g. .astype(numpy.int64))"
                    } else {
                        ""
                    }
                )))
            }
        })
    }
}

/// Runs `$body` with `$view` bound to an `ArrayViewD` of the array's own element type (bool
/// arrays are read as u8).
#[macro_export]
macro_rules! with_label_view {
    ($array:expr, $dtype:expr, |$view:ident| $body:expr) => {{
        #[allow(unused_imports)]
        use distmap::ClassLabel as _;
        use $crate::arrays::LabelDtype as D;
        let array = $array;
        match $dtype {
            D::Bool => {
                let a = numpy::PyArrayMethods::readonly(array.cast::<numpy::PyArrayDyn<bool>>()?);
                let bytes = a.as_array().mapv(u8::from);
                let $view = bytes.view();
                $body
            }
            D::U8 => $crate::arrays::with_typed::<u8, _, _>(array, |$view| $body),
            D::U16 => $crate::arrays::with_typed::<u16, _, _>(array, |$view| $body),
            D::U32 => $crate::arrays::with_typed::<u32, _, _>(array, |$view| $body),
            D::U64 => $crate::arrays::with_typed::<u64, _, _>(array, |$view| $body),
            D::I8 => $crate::arrays::with_typed::<i8, _, _>(array, |$view| $body),
            D::I16 => $crate::arrays::with_typed::<i16, _, _>(array, |$view| $body),
            D::I32 => $crate::arrays::with_typed::<i32, _, _>(array, |$view| $body),
            D::I64 => $crate::arrays::with_typed::<i64, _, _>(array, |$view| $body),
        }
    }};
}

/// Calls `f` on a read-only view of `array` as elements of `T` (the caller checked the dtype).
pub fn with_typed<T: Element, R, F>(array: &Bound<'_, PyUntypedArray>, f: F) -> PyResult<R>
where
    F: FnOnce(ArrayViewD<'_, T>) -> PyResult<R>,
{
    let typed = array.cast::<PyArrayDyn<T>>()?.readonly();
    f(typed.as_array())
}

/// One spacing per spatial axis: `None` is 1 per axis, a number is the same for every axis, a
/// sequence has one finite positive value per axis.
pub fn spacing(obj: Option<&Bound<'_, PyAny>>, rank: usize, what: &str) -> PyResult<Vec<f64>> {
    let values: Vec<f64> = match obj {
        None => return Ok(vec![1.0; rank]),
        Some(o) if o.is_none() => return Ok(vec![1.0; rank]),
        Some(o) => match o.extract::<f64>() {
            Ok(v) => vec![v; rank],
            Err(_) => o.extract::<Vec<f64>>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{what}: a number or a sequence of numbers, one per spatial axis"
                ))
            })?,
        },
    };
    if values.len() != rank {
        return Err(PyValueError::new_err(format!(
            "{what}: {} value(s) for {rank} spatial axes",
            values.len()
        )));
    }
    if let Some(bad) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(PyValueError::new_err(format!(
            "{what}: every spacing must be finite and positive, got {bad}"
        )));
    }
    Ok(values)
}

/// Elements per parallel chunk of the one-hot check.
const CHUNK: usize = 1 << 16;

/// The label map of a one-hot buffer (`channels` row-major channels of `n` elements each),
/// checked as the original asserts `one_hot(seg, axis=0)`: every value 0 or 1, each element in
/// exactly one channel. The first problem in element order is reported, so a bad input gets the
/// same message every time.
pub fn one_hot_labels<T: ClassLabel, L: ClassLabel>(
    flat: &[T],
    channels: usize,
    spatial: &[usize],
) -> Result<Vec<L>, String> {
    let n: usize = spatial.iter().product();
    let zero = L::from_class_index(0);
    let mut labels = vec![zero; n];
    let mut counts = vec![0u8; n];
    let problems: Vec<Option<(usize, String)>> = labels
        .par_chunks_mut(CHUNK)
        .zip(counts.par_chunks_mut(CHUNK))
        .enumerate()
        .map(|(c, (labels, counts))| {
            let start = c * CHUNK;
            let (zero, one) = (T::from_class_index(0), T::from_class_index(1));
            let mut first_other: Option<(usize, String)> = None;
            for k in 0..channels {
                let label = L::from_class_index(k);
                let channel = &flat[k * n + start..k * n + start + labels.len()];
                // Branch-free, so that it vectorises; a value other than 0 and 1 is looked for
                // (and reported) only when the chunk has one.
                let mut other = false;
                for ((count, l), &v) in counts.iter_mut().zip(labels.iter_mut()).zip(channel) {
                    let is_one = v == one;
                    other |= !is_one & (v != zero);
                    *count = count.saturating_add(u8::from(is_one));
                    *l = if is_one { label } else { *l };
                }
                if other {
                    let j = channel
                        .iter()
                        .position(|&v| v != zero && v != one)
                        .expect("a value other than 0 and 1 was seen");
                    if first_other.as_ref().is_none_or(|(at, _)| start + j < *at) {
                        let found = channel[j].wide();
                        let reason = format!("a one-hot array holds only 0 and 1, found {found}");
                        first_other = Some((start + j, reason));
                    }
                }
            }
            if first_other.is_some() {
                return first_other;
            }
            let j = counts.iter().position(|&c| c != 1)?;
            let index = unravel(start + j, spatial);
            let reason = format!(
                "not one-hot along axis 0: element {index:?} is in {}{} channels",
                counts[j],
                if counts[j] == u8::MAX { " or more" } else { "" }
            );
            Some((start + j, reason))
        })
        .collect();
    match problems.into_iter().flatten().min_by_key(|(at, _)| *at) {
        Some((_, reason)) => Err(reason),
        None => Ok(labels),
    }
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &n) in shape.iter().enumerate().rev() {
        index[i] = flat % n.max(1);
        flat /= n.max(1);
    }
    index
}
