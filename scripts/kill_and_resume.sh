#!/usr/bin/env bash
# Kills `boundary-loss train` with SIGKILL at random moments, resumes it with `--resume` in new
# processes, and checks that every run ends with the files of an uninterrupted one (weights
# compared by value). Each seed draws other moments: three runs, up to three kills each.
#   scripts/kill_and_resume.sh [SEEDS]      (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/boundary-loss/target}"
seeds="${1:-20}"
cargo test -q -p boundary-loss-cli --test kill_resume --no-run
for seed in $(seq 1 "$seeds"); do
    KILL_SEED=$seed cargo test -q -p boundary-loss-cli --test kill_resume -- --nocapture 2>&1 \
        | grep -E "attempt|panicked" | sed "s/^/seed $seed: /"
done
echo "all $seeds seeds: resumed runs equal the uninterrupted one"
