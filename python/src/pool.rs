//! The package's own thread pool: sized by `set_num_threads`, and rebuilt in a forked child.
//!
//! Why not rayon's global pool: PyTorch's `DataLoader` forks its workers on Linux, and a child
//! inherits the pool's bookkeeping but none of its threads, so the first parallel call would
//! wait forever. The pool remembers the process it was built in; a call from another process
//! builds a fresh one (the stale one is leaked, never dropped: its threads do not exist here).

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyResult;
use rayon::ThreadPool;

struct Pool {
    process: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

/// 0 means "as many as rayon would use" (`RAYON_NUM_THREADS` or the number of cores).
static POOL: Mutex<Option<Pool>> = Mutex::new(None);
static REQUESTED: Mutex<usize> = Mutex::new(0);

fn build(threads: usize) -> PyResult<Pool> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("boundary-loss-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start worker threads: {e}")))?;
    Ok(Pool {
        process: std::process::id(),
        threads: pool.current_num_threads(),
        pool: Arc::new(pool),
    })
}

/// The pool of this process, built on first use.
pub fn current() -> PyResult<Arc<ThreadPool>> {
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let stale = slot
        .as_ref()
        .is_some_and(|p| p.process != std::process::id());
    if stale {
        // Inherited through fork: its threads live in the parent only.
        std::mem::forget(slot.take());
    }
    if slot.is_none() {
        let requested = *REQUESTED.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(build(requested)?);
    }
    Ok(slot.as_ref().expect("just built").pool.clone())
}

/// Sets the number of worker threads of later calls (0: all cores).
pub fn set_threads(threads: usize) -> PyResult<()> {
    if threads > 4096 {
        return Err(PyValueError::new_err(format!(
            "set_num_threads: {threads} threads is not a sensible number"
        )));
    }
    *REQUESTED.lock().unwrap_or_else(|e| e.into_inner()) = threads;
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = slot.take() {
        if old.process != std::process::id() {
            std::mem::forget(old);
        }
    }
    *slot = Some(build(threads)?);
    Ok(())
}

/// The number of worker threads calls use now.
pub fn threads() -> PyResult<usize> {
    current()?;
    let slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    Ok(slot.as_ref().map_or(1, |p| p.threads))
}
