#!/usr/bin/env bash
# Redraws docs/figures/viewer_synthetic.png: the synthetic study of docs/experiments.md at seed 0
# for the three methods the viewer guide shows (recipes/synthetic.toml with seeds = [0] and
# without gdl_original), `view` of those runs, and a headless-Chromium screenshot of the page the
# guide names. Needs `chromium`; a few minutes of training on 2 cores.
#   scripts/viewer_figure_2d.sh [WORK_DIR]      (default: a temporary folder, removed after)
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
# The study's recipe, seed 0 only, without the fourth method: the same data and run files.
rm -rf recipes && cp -r "$root/recipes" recipes
sed -e 's/^seeds = .*/seeds = [0]/' recipes/synthetic.toml \
    | awk '/^\[\[targets\]\]/ { block = $0; next }
           block != "" { block = block "\n" $0; if ($0 ~ /^run_file/) { if (block !~ /gdl_original/) print block; block = "" }; next }
           { print }' > recipes/synthetic_seed0.toml
"$bl" experiment recipes/synthetic_seed0.toml >/dev/null
runs=results/synthetic_seed0/runs
"$bl" view "$runs"/{gdl,gdl_boundary,boundary}/seed0 --zoom 3 --per-page 2 \
    --title "synthetic study: validation predictions at each run's best epoch" --out view
page="${VIEWER_PAGE:-patient=case_10_0&page=3}"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,770 \
    --screenshot="$work/viewer_synthetic.png" "file://$work/view/index.html#$page" 2>/dev/null
tmp="$root/docs/figures/.viewer_synthetic.png.tmp"
cp "$work/viewer_synthetic.png" "$tmp" && mv "$tmp" "$root/docs/figures/viewer_synthetic.png"
echo "wrote docs/figures/viewer_synthetic.png (view/index.html#$page)"
