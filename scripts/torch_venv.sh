#!/usr/bin/env bash
# The Python environment the PyTorch interchange tests run in (crates/cli/tests/torch_export.rs):
# a virtual environment with torch, numpy, safetensors and nibabel from PyPI, kept outside the checkout
# beside the warm target folder, because torch is gigabytes and installing it into a fresh
# environment on every test run would dominate the suite. Created on first use; prints the path
# of its python on the last line of stdout.
#
# Without python3 (3.9 or newer, with venv) it exits with status 3, so that the test can tell
# "no Python here" (skipped with a warning, unless REQUIRE_TORCH=1) from a failed install.
set -euo pipefail

venv="${TORCH_VENV:-$HOME/.cache/boundary-loss/torch-venv}"
python="${PYTHON:-python3}"
check='import torch, numpy, safetensors.torch, nibabel'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    echo "$venv/bin/python"
    exit 0
fi
if ! "$python" -c 'import sys, venv; assert sys.version_info >= (3, 9)' 2>/dev/null; then
    echo "no $python 3.9+ with venv" >&2
    exit 3
fi
# Two test binaries may ask at once: one installs, the other waits for it.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; }; then
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "torch>=2.4" "numpy" "safetensors" "nibabel" >&2
fi
echo "$venv/bin/python"
