# Sourced by scripts/viewer_figure_{2d,3d}.sh: what redrawing a viewer figure shares.
#   viewer_figure_setup [WORK_DIR]   builds the CLI ($bl), enters WORK_DIR (default: a temporary
#                                    folder, removed on exit) with a copy of recipes/ ($root: the
#                                    checkout)
#   viewer_figure_shot PAGE_URL WIDTH,HEIGHT NAME
#                                    a headless-Chromium screenshot of PAGE_URL (a file in the
#                                    work folder, with its #fragment) into docs/figures/NAME,
#                                    written under a temporary name, then renamed
set -euo pipefail

viewer_figure_setup() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
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
    # The recipes name their data and run files relative to themselves.
    rm -rf recipes && cp -r "$root/recipes" recipes
}

viewer_figure_shot() {
    local page="$1" size="$2" name="$3"
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$size" \
        --screenshot="$work/$name" "file://$work/$page" 2>/dev/null
    local tmp="$root/docs/figures/.$name.tmp"
    cp "$work/$name" "$tmp" && mv "$tmp" "$root/docs/figures/$name"
    echo "wrote docs/figures/$name ($page)"
}
