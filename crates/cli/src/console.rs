//! How a training run looks in a terminal: a progress bar per phase with running loss and
//! Dice, one line per epoch, and the per-class results at the best epoch at the end.

use boundary_loss::train::{EpochReport, Observer, Phase, RunSummary};
use indicatif::{ProgressBar, ProgressStyle};

/// Prints a run's progress to the terminal.
pub struct Console {
    bar: ProgressBar,
    show_bars: bool,
}

impl Console {
    /// `show_bars`: draw progress bars (they are hidden when the output is not a terminal).
    pub fn new(show_bars: bool) -> Self {
        Console {
            bar: ProgressBar::hidden(),
            show_bars,
        }
    }
}

fn format_classes(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Observer for Console {
    fn phase_started(&mut self, epoch: usize, phase: Phase, batches: usize) {
        self.bar = if self.show_bars {
            ProgressBar::new(batches as u64)
        } else {
            ProgressBar::hidden()
        };
        self.bar.set_style(
            ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg}")
                .expect("static template"),
        );
        let name = match phase {
            Phase::Train => "train",
            Phase::Validation => "val",
        };
        self.bar.set_prefix(format!("epoch {epoch:>3} {name:<5}"));
    }

    fn batch_done(&mut self, running_loss: f64, running_dice: f64) {
        self.bar
            .set_message(format!("loss {running_loss:.4} dice {running_dice:.3}"));
        self.bar.inc(1);
    }

    fn phase_done(&mut self) {
        self.bar.finish_and_clear();
    }

    fn epoch_done(&mut self, r: &EpochReport) {
        if !r.validated {
            println!(
                "epoch {:>3}: train loss {:.4} dice {:.3} ({:.1} s, {:.0} ms waiting for data) | not validated (val_every)",
                r.epoch,
                r.tra_loss,
                r.tra_dice,
                r.train_seconds,
                r.data_wait_seconds * 1e3,
            );
            return;
        }
        let empty = if r.hd95_empty_cases > 0 {
            format!(" ({} with an empty mask)", r.hd95_empty_cases)
        } else {
            String::new()
        };
        println!(
            "epoch {:>3}: train loss {:.4} dice {:.3} ({:.1} s, {:.0} ms waiting for data) | val loss {:.4} dice {:.3} 3-D dice {:.3} HD95 {:.2} mm{empty}{}",
            r.epoch,
            r.tra_loss,
            r.tra_dice,
            r.train_seconds,
            r.data_wait_seconds * 1e3,
            r.val_loss,
            r.val_dice,
            r.val_3d_dsc,
            r.val_3d_hd95,
            if r.improved { " (best)" } else { "" }
        );
    }

    fn learning_rate_changed(&mut self, epoch: usize, learning_rate: f64) {
        println!("after epoch {epoch}: learning rate {learning_rate:e}");
    }

    fn run_done(&mut self, s: &RunSummary) {
        println!(
            "best results at epoch {}: DSC {:.4} (mean of classes {:?})",
            s.best_epoch, s.best_val_dice, s.metric_classes
        );
        println!(
            "\tval_dice per class: [{}]",
            format_classes(&s.best_val_dice_per_class)
        );
        println!(
            "\tval_3d_dsc per class: [{}]",
            format_classes(&s.best_val_3d_dsc)
        );
        println!(
            "\tval_3d_hd95 per class (mm): [{}]",
            format_classes(&s.best_val_3d_hd95)
        );
    }
}
