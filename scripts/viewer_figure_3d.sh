#!/usr/bin/env bash
# Redraws docs/figures/viewer_volumes.png: the synthetic 3-D data set of docs/3d-training.md, the
# two shipped 3-D recipes at seed 0, `view` of both runs, and a headless-Chromium screenshot of
# the page the guide names. Needs `chromium`; about a minute of training on 2 cores.
#   scripts/viewer_figure_3d.sh [WORK_DIR]      (default: a temporary folder, removed after)
source "$(dirname "$0")/viewer_figure_common.sh"
viewer_figure_setup "${1:-}"
# The recipes name their data set relative to themselves (../data/VOLUMES).
"$bl" synth nifti --dest raw3d >/dev/null
"$bl" slice nifti --images raw3d/flair raw3d/t1 --labels raw3d/labels --dest data/VOLUMES \
    --retain 2 --volumes >/dev/null
for recipe in gdl gdl_surface; do
    "$bl" train "recipes/volumes_$recipe.toml" --out "runs/volumes/$recipe/seed0" --seed 0 >/dev/null
done
"$bl" view runs/volumes/{gdl,gdl_surface}/seed0 --zoom 3 --per-page 2 \
    --title "3-D runs: validation volumes, slice by slice" --out view3d
viewer_figure_shot "view3d/index.html#patient=case_08&page=9" 800,740 viewer_volumes.png
