#!/usr/bin/env bash
# Redraws docs/figures/viewer_synthetic.png: the synthetic study of docs/experiments.md at seed 0
# for the three methods the viewer guide shows (recipes/synthetic.toml with seeds = [0], each
# method by `experiment --only`), `view` of those runs, and a headless-Chromium screenshot of the
# page the guide names. Needs `chromium`; a few minutes of training on 2 cores.
#   scripts/viewer_figure_2d.sh [WORK_DIR]      (default: a temporary folder, removed after)
source "$(dirname "$0")/viewer_figure_common.sh"
viewer_figure_setup "${1:-}"
sed -e 's/^seeds = .*/seeds = [0]/' recipes/synthetic.toml > recipes/synthetic_seed0.toml
runs=()
for method in gdl gdl_boundary boundary; do
    "$bl" experiment recipes/synthetic_seed0.toml --only "$method" >/dev/null
    runs+=("results/synthetic_seed0/runs/$method/seed0")
done
"$bl" view "${runs[@]}" --zoom 3 --per-page 2 \
    --title "synthetic study: validation predictions at each run's best epoch" --out view
viewer_figure_shot "view/index.html#${VIEWER_PAGE:-patient=case_10_0&page=3}" 1000,770 \
    viewer_synthetic.png
