//! Slices grouped into patients, and the overlap counts and means of a validation epoch: Dice
//! per image and class (the original's `meta_dice`) and per patient, means that skip NaN.

use std::collections::BTreeMap;

use regex::Regex;

use crate::pair::dice;

/// Per-class intersection and sizes of a predicted and a true class map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlap {
    pub intersection: Vec<u64>,
    pub predicted: Vec<u64>,
    pub truth: Vec<u64>,
}

impl Overlap {
    pub fn new(classes: usize) -> Self {
        Overlap {
            intersection: vec![0; classes],
            predicted: vec![0; classes],
            truth: vec![0; classes],
        }
    }

    /// The overlap of one predicted / true class map pair.
    pub fn of(predicted: &[u8], truth: &[u8], classes: usize) -> Self {
        let mut overlap = Overlap::new(classes);
        overlap.add(predicted, truth);
        overlap
    }

    /// Adds the pixels of one predicted / true class map pair.
    pub fn add(&mut self, predicted: &[u8], truth: &[u8]) {
        for (&p, &t) in predicted.iter().zip(truth) {
            self.predicted[p as usize] += 1;
            self.truth[t as usize] += 1;
            if p == t {
                self.intersection[p as usize] += 1;
            }
        }
    }

    /// Dice per class.
    pub fn dice(&self) -> Vec<f64> {
        (0..self.intersection.len())
            .map(|k| dice(self.intersection[k], self.predicted[k], self.truth[k]))
            .collect()
    }
}

/// A slice stem that the patient regex does not match.
#[derive(Debug, thiserror::Error)]
#[error("slice '{stem}' does not match {field} '{pattern}' (matched at the start of the name)")]
pub struct UnmatchedSlice {
    pub stem: String,
    pub field: &'static str,
    pub pattern: String,
}

/// The first capture group of `pattern` (anchored at the start, as Python's `re.match`) on
/// `stem`.
pub fn patient_of(
    stem: &str,
    pattern: &Regex,
    field: &'static str,
) -> Result<String, UnmatchedSlice> {
    pattern
        .captures(stem)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .ok_or_else(|| UnmatchedSlice {
            stem: stem.to_string(),
            field,
            pattern: pattern.as_str().to_string(),
        })
}

/// Slices grouped into patients by the first capture group of `pattern` (anchored) on the slice
/// stem, in order of first appearance; slices keep the order given (natural order from the data
/// set). A stem that does not match is an error.
pub fn group_patients(
    stems: &[String],
    pattern: &Regex,
) -> Result<Vec<(String, Vec<usize>)>, UnmatchedSlice> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut position: BTreeMap<String, usize> = BTreeMap::new();
    for (i, stem) in stems.iter().enumerate() {
        let patient = patient_of(stem, pattern, "patient_regex")?;
        let at = *position.entry(patient.clone()).or_insert_with(|| {
            groups.push((patient, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(i);
    }
    Ok(groups)
}

/// Mean of the values that are not NaN; NaN when there is none.
pub fn nan_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// Per class, the NaN-skipping mean over rows (patients or images) of `rows[r][k]`.
pub fn column_means(rows: &[Vec<f32>], classes: usize) -> Vec<f64> {
    (0..classes)
        .map(|k| nan_mean(rows.iter().map(|r| r[k] as f64)))
        .collect()
}

/// The NaN-skipping mean of `values[k]` over the classes `classes`.
pub fn mean_over(values: &[f64], classes: &[usize]) -> f64 {
    nan_mean(classes.iter().map(|&k| values[k]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patients_are_matched_at_the_start_of_the_stem() {
        let pattern = Regex::new(r"^(?:(case_\d+)_\d+)").unwrap();
        let stems = vec!["case_2_0".to_string(), "case_1_3".into(), "case_2_1".into()];
        let groups = group_patients(&stems, &pattern).unwrap();
        assert_eq!(
            groups,
            vec![
                ("case_2".to_string(), vec![0, 2]),
                ("case_1".into(), vec![1])
            ]
        );
        let e = group_patients(&["xcase_1_0".to_string()], &pattern).unwrap_err();
        assert!(e.to_string().contains("xcase_1_0"), "{e}");
    }

    #[test]
    fn means_skip_nan() {
        assert_eq!(nan_mean([1.0, f64::NAN, 3.0]), 2.0);
        assert!(nan_mean([f64::NAN]).is_nan());
        assert_eq!(mean_over(&[9.0, 1.0, f64::NAN, 3.0], &[1, 2, 3]), 2.0);
    }
}
