#!/usr/bin/env bash
# Redraws docs/figures/viewer_volumes.png: the synthetic 3-D data set of docs/3d-training.md, the
# two shipped 3-D recipes at seed 0, `view` of both runs, and a headless-Chromium screenshot of
# the page the guide names. Needs `chromium`; about a minute of training on 2 cores.
#   scripts/viewer_figure_3d.sh [WORK_DIR]      (default: a temporary folder, removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/boundary-loss/target}"
command -v chromium >/dev/null || { echo "chromium is required for the screenshot"; exit 1; }
cargo build -q --release --bin boundary-loss
bl="$CARGO_TARGET_DIR/release/boundary-loss"
work="${1:-}"
if [ -z "$work" ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work" && cd "$work"
# The recipes name their data set relative to themselves (../data/VOLUMES).
rm -rf recipes && cp -r "$root/recipes" recipes
"$bl" synth nifti --dest raw3d >/dev/null
"$bl" slice nifti --images raw3d/flair raw3d/t1 --labels raw3d/labels --dest data/VOLUMES \
    --retain 2 --volumes >/dev/null
for recipe in gdl gdl_surface; do
    "$bl" train "recipes/volumes_$recipe.toml" --out "runs/volumes/$recipe/seed0" --seed 0 >/dev/null
done
"$bl" view runs/volumes/{gdl,gdl_surface}/seed0 --zoom 3 --per-page 2 \
    --title "3-D runs: validation volumes, slice by slice" --out view3d
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=800,740 \
    --screenshot="$work/viewer_volumes.png" \
    "file://$work/view3d/index.html#patient=case_08&page=9" 2>/dev/null
tmp="$root/docs/figures/.viewer_volumes.png.tmp"
cp "$work/viewer_volumes.png" "$tmp" && mv "$tmp" "$root/docs/figures/viewer_volumes.png"
echo "wrote docs/figures/viewer_volumes.png"
