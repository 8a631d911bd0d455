//! The validation split, drawn with CPython's `random` so that the official splits come out
//! as the original's.

use std::path::Path;

use super::*;

/// `random.sample(cases, retain)` of the original: the validation cases and the others, both in
/// the cases' order.
pub(crate) fn sample_split<T: Clone>(
    cases: &[T],
    retain: usize,
    seed: u64,
    source: &Path,
) -> Result<(Vec<T>, Vec<T>), PreprocessError> {
    check_retain(cases.len(), retain, source)?;
    let mut picked = PythonRandom::new(seed).sample_indices(cases.len(), retain);
    picked.sort_unstable();
    let train = (0..cases.len())
        .filter(|i| picked.binary_search(i).is_err())
        .map(|i| cases[i].clone())
        .collect();
    let val = picked.iter().map(|&i| cases[i].clone()).collect();
    Ok((train, val))
}

pub(crate) fn check_retain(
    cases: usize,
    retain: usize,
    source: &Path,
) -> Result<(), PreprocessError> {
    if retain >= cases {
        return Err(bad(
            source,
            format!("{cases} cases: cannot keep {retain} for validation and train on the rest"),
        ));
    }
    Ok(())
}
