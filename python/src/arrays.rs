//! From Python objects to the arrays `distmap` takes, and back: dtype dispatch, byte order,
//! spacing, and the errors a Python user expects (`TypeError` for a wrong kind of array,
//! `ValueError` for wrong values), never a panic.

use numpy::ndarray::{ArrayD, ArrayViewD};
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use distmap::ClassLabel;

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

/// A one-hot array `(K, *spatial)` of any integer or bool dtype as 0/1 bytes, checked as the
/// original asserts `one_hot(seg, axis=0)`: every element 0 or 1, each spatial element in exactly
/// one channel.
pub fn one_hot_bytes<T: ClassLabel>(
    one_hot: ArrayViewD<'_, T>,
    what: &str,
) -> PyResult<ArrayD<u8>> {
    if one_hot.ndim() < 2 {
        return Err(PyValueError::new_err(format!(
            "{what}: a one-hot array has shape (K, *spatial), got rank {}",
            one_hot.ndim()
        )));
    }
    if let Some(v) = one_hot
        .iter()
        .find(|v| !matches!(v.class_index(), Some(0 | 1)))
    {
        return Err(PyValueError::new_err(format!(
            "{what}: a one-hot array holds only 0 and 1, found {}",
            v.wide()
        )));
    }
    // Row-major whatever the input's layout (`mapv` would keep a Fortran order).
    let bytes = ArrayD::from_shape_vec(
        one_hot.raw_dim(),
        one_hot
            .iter()
            .map(|v| v.class_index().unwrap_or(0) as u8)
            .collect(),
    )
    .expect("one byte per element");
    let channels = bytes.shape()[0];
    let flat = bytes.as_slice().expect("a fresh array is contiguous");
    let per_channel = flat.len() / channels.max(1);
    let mut counts = vec![0u32; per_channel];
    for channel in flat.chunks(per_channel.max(1)) {
        for (c, &v) in counts.iter_mut().zip(channel) {
            *c += u32::from(v);
        }
    }
    if let Some((i, &c)) = counts.iter().enumerate().find(|(_, &c)| c != 1) {
        let mut index = Vec::new();
        let mut rest = i;
        for &n in bytes.shape()[1..].iter().rev() {
            index.push(rest % n);
            rest /= n;
        }
        index.reverse();
        return Err(PyValueError::new_err(format!(
            "{what}: not one-hot along axis 0: element {index:?} is in {c} channels"
        )));
    }
    Ok(bytes)
}
