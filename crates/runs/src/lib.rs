//! A training run without the framework: the run file, the run folder's format, the metrics
//! over epochs and the reports.
//!
//! This crate owns everything about a run that needs no deep-learning framework, so that the
//! `metrics`, `report`, `plot` and `view` steps (and any tool reading run folders) build without
//! Burn: the run file ([`config`]: the run in sections, its checks, and the named choices of
//! [`network`], [`device`], [`loss_term`], [`schedule`] and [`choices`]; [`run_file`]: its flat
//! TOML form with every default), what a run reads
//! before its first step ([`inputs`]), the folder's files ([`run_folder`]), and the evaluation
//! of a finished run ([`eval`]). Training itself, networks, losses and the weights files are
//! `boundary-loss`'s; data sets are `datasets`'; metric definitions `segmentation-metrics`'.

// ndarray's `s!` macro expands to an `allow(unsafe_code)`, which `forbid` refuses.
#![deny(unsafe_code)]

pub mod choices;
pub mod config;
pub mod device;
pub mod eval;
pub mod inputs;
pub mod loss_term;
pub mod network;
pub mod run_file;
pub mod run_folder;
pub mod schedule;
