//! What changes from epoch to epoch without looking at data: the loss weights (the original's
//! schedulers) and the learning-rate halving rule.

use serde::{Deserialize, Serialize};

/// How the loss weights change after each epoch (the original's schedulers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Fixed weights (DummyScheduler).
    None,
    /// AddWeightLoss: `to_add[i]` is added to the weight of term `i` after every epoch.
    Add { to_add: Vec<f64> },
    /// StealWeight: `[a, b] -> [max(0.1, a - step), b + step]` after every epoch.
    Steal { step: f64 },
    /// The paper's rebalancing: `alpha * first + (1 - alpha) * second`, alpha from 1 down by
    /// `step` per epoch to `step` (0.01 in the paper).
    Rebalance { step: f64 },
}

/// When the learning rate is halved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrHalving {
    Never,
    /// After `PLATEAU_EPOCHS` epochs without validation improvement (then again after as many
    /// more).
    Plateau,
    /// The original's rule, kept for compatibility: `epoch % (best_epoch + 20) == 0`, which also
    /// halves after epoch 0.
    Original,
}

/// Epochs without improvement before the plateau rule halves the learning rate (the original's
/// commented-out intent, `i > best_epoch + 20`).
pub const PLATEAU_EPOCHS: usize = 20;
/// What the learning rate is multiplied by when it is halved.
pub const LR_FACTOR: f64 = 0.5;
/// StealWeight never takes the first weight below this (the original's `max(0.1, a - s)`).
pub const STEAL_FLOOR: f64 = 0.1;

/// Loss weights of every term at `epoch` (0-based): the run file's weights after `epoch`
/// applications of the schedule (the original calls its scheduler after each epoch).
pub fn weights_at(schedule: &Schedule, initial: &[f64], epoch: usize) -> Vec<f64> {
    let mut weights = initial.to_vec();
    match schedule {
        Schedule::None => {}
        Schedule::Rebalance { step } => {
            let alpha = (1.0 - step * epoch as f64).max(*step);
            weights = vec![alpha, 1.0 - alpha];
        }
        Schedule::Add { to_add } => {
            for _ in 0..epoch {
                for (w, add) in weights.iter_mut().zip(to_add) {
                    *w += add;
                }
            }
        }
        Schedule::Steal { step } => {
            for _ in 0..epoch {
                weights = vec![(weights[0] - step).max(STEAL_FLOOR), weights[1] + step];
            }
        }
    }
    weights
}

/// Whether the learning rate is halved after `epoch`, given the best epoch so far and the epoch
/// of the last change.
pub fn halve_after(rule: LrHalving, epoch: usize, best_epoch: usize, last_change: usize) -> bool {
    match rule {
        LrHalving::Never => false,
        LrHalving::Plateau => epoch >= best_epoch.max(last_change) + PLATEAU_EPOCHS,
        LrHalving::Original => epoch.is_multiple_of(best_epoch + PLATEAU_EPOCHS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_adds_one_value_per_term_each_epoch() {
        let schedule = Schedule::Add {
            to_add: vec![0.5, 0.01],
        };
        let w = weights_at(&schedule, &[1.0, 0.1], 3);
        assert!(
            (w[0] - 2.5).abs() < 1e-12 && (w[1] - 0.13).abs() < 1e-12,
            "{w:?}"
        );
        assert_eq!(weights_at(&schedule, &[1.0, 0.1], 0), vec![1.0, 0.1]);
    }

    #[test]
    fn steal_floors_the_first_weight() {
        let w = weights_at(&Schedule::Steal { step: 0.4 }, &[1.0, 0.0], 5);
        assert_eq!(w[0], STEAL_FLOOR);
        assert!((w[1] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn the_original_rule_halves_after_epoch_zero() {
        assert!(halve_after(LrHalving::Original, 0, 0, 0));
        assert!(!halve_after(LrHalving::Plateau, 0, 0, 0));
        assert!(halve_after(LrHalving::Plateau, 20, 0, 0));
        assert!(halve_after(LrHalving::Original, 35, 15, 0));
    }
}
