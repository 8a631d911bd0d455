//! A run's evaluation after training: its metric arrays over epochs ([`over_epochs`], the
//! original's `metrics_overtime.py`), what each array holds ([`records`]) and tables of runs at
//! their best epoch ([`report`], the original's `report.py`). The metric definitions themselves
//! are the `segmentation-metrics` crate's, re-exported here.

pub mod over_epochs;
pub mod records;
pub mod report;

pub use segmentation_metrics::*;
