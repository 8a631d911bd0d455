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
# The guide's PyTorch recipes (tests/test_readme.py) need torch: the environment of the PyTorch
# interchange tests (scripts/torch_venv.sh, gigabytes, kept warm) lends its packages through a
# .pth file, searched after this environment's own, so the package under test is the one above.
torch_python="$(scripts/torch_venv.sh | tail -n 1)" || torch_python=""
if [ -n "$torch_python" ]; then
    site() { "$1" -c 'import sys, sysconfig; print("%d.%d" % sys.version_info[:2], sysconfig.get_paths()["purelib"])'; }
    read -r torch_version torch_site < <(site "$torch_python")
    read -r own_version own_site < <(site "$venv/bin/python")
    if [ "$torch_version" = "$own_version" ]; then
        echo "$torch_site" > "$own_site/torch-venv.pth"
    else
        echo "warning: the torch environment is Python $torch_version, this one $own_version" >&2
    fi
fi
(cd python && "$venv/bin/python" -m pytest -q tests)
