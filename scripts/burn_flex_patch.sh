#!/usr/bin/env bash
# patches/burn-flex is crates.io's burn-flex plus patches/burn-flex.diff (patches/PATCH.md). Cargo
# can only substitute a whole crate, so the whole crate is vendored; this script keeps the two
# in step.
#
#   scripts/burn_flex_patch.sh check            the vendored crate is exactly the published one
#                                               plus the diff (CI runs this)
#   scripts/burn_flex_patch.sh diff             rewrite burn-flex.diff from the vendored crate
#                                               (after editing patches/burn-flex)
#   scripts/burn_flex_patch.sh vendor VERSION   re-vendor: burn-flex VERSION from crates.io with
#                                               the diff applied (to move to a newer Burn; then
#                                               set Burn's version in crates/*/Cargo.toml)
#
# The published crate comes through cargo (`cargo fetch` of a throw-away manifest), from the
# registry cargo already uses; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

vendored=patches/burn-flex
diff_file=patches/burn-flex.diff
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

vendored_version() {
    sed -n 's/^version = "\(.*\)"$/\1/p' "$vendored/Cargo.toml" | head -n 1
}

# upstream VERSION DEST: the published crate's files in DEST.
upstream() {
    mkdir -p "$work/fetch/src"
    : > "$work/fetch/src/lib.rs"
    cat > "$work/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-burn-flex"
version = "0.0.0"
edition = "2021"

[dependencies]
burn-flex = "=$1"
TOML
    cargo fetch --quiet --manifest-path "$work/fetch/Cargo.toml"
    local src
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"burn-flex-$1" 2>/dev/null | head -n 1)
    if [ -z "$src" ]; then
        echo "error: burn-flex $1 was fetched but its source is not in the cargo registry" >&2
        exit 1
    fi
    mkdir -p "$2"
    cp -R "$src"/. "$2"/
    rm -f "$2/.cargo-ok" "$2/.cargo_vcs_info.json"
}

# The diff between the published crate and the vendored one, as committed.
make_diff() {
    upstream "$(vendored_version)" "$work/a"
    mkdir -p "$work/b"
    cp -R "$vendored"/. "$work/b"/
    (cd "$work" && diff -ruN -x .cargo-ok -x .cargo_vcs_info.json -x Cargo.lock -x target a b) |
        sed -e 's/^\(---\|+++\) \([^[:space:]]*\).*$/\1 \2/' || true
}

case "${1:-}" in
check)
    make_diff > "$work/current.diff"
    if ! cmp -s "$work/current.diff" "$diff_file"; then
        echo "error: $vendored is not burn-flex $(vendored_version) plus $diff_file:" >&2
        diff -u "$diff_file" "$work/current.diff" | head -n 40 >&2
        echo "(after editing $vendored, run: scripts/burn_flex_patch.sh diff)" >&2
        exit 1
    fi
    echo "$vendored = burn-flex $(vendored_version) + $diff_file ($(grep -c '^diff ' "$diff_file") files)"
    ;;
diff)
    make_diff > "$work/current.diff"
    mv "$work/current.diff" "$diff_file"
    echo "wrote $diff_file ($(grep -c '^diff ' "$diff_file") files)"
    ;;
vendor)
    version=${2:?usage: scripts/burn_flex_patch.sh vendor VERSION}
    upstream "$version" "$work/new"
    if ! (cd "$work/new" && patch -p1 --forward --quiet < "$OLDPWD/$diff_file"); then
        echo "error: $diff_file does not apply to burn-flex $version; see the .rej files in $work/new" >&2
        trap - EXIT
        exit 1
    fi
    rm -rf "$vendored"
    cp -R "$work/new" "$vendored"
    echo "re-vendored burn-flex $version with $diff_file into $vendored; now:"
    echo "  set Burn to =$version in crates/*/Cargo.toml, then scripts/burn_flex_patch.sh diff,"
    echo "  cargo test --release --workspace (tests/patched_backend.rs fails if the patch is not used)"
    ;;
*)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
