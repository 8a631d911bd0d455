#!/usr/bin/env bash
# The Python package's tests: python/ installed with pip into a fresh virtual environment and
# tested with pytest. `cargo test --release --workspace` runs this (crates/distmap/tests/python_package.rs).
#
# Without python3 (3.9 or newer, with venv) it is skipped with a message, unless
# REQUIRE_PYTHON=1 (CI sets it), which makes that an error.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/boundary-loss/target}"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys, venv; assert sys.version_info >= (3, 9)' 2>/dev/null; then
    if [ "${REQUIRE_PYTHON:-0}" = 1 ]; then
        echo "error: $python (3.9 or newer, with venv) is needed for the Python package's tests" >&2
        exit 1
    fi
    echo "warning: no $python 3.9+ with venv: the Python package's tests did not run" >&2
    exit 0
fi
venv="$(mktemp -d "${TMPDIR:-/tmp}/boundary-loss-venv.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv"
# The extension's own target folder: a warm build, apart from the workspace's.
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/python-extension" \
    "$venv/bin/pip" install --quiet --disable-pip-version-check "./python[test]"
(cd python && "$venv/bin/python" -m pytest -q tests)
