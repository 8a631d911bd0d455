#!/usr/bin/env bash
# The GPU measurements of issue #16 in one short run: one training step (forward, generalized
# Dice + 0.01 x boundary loss, backward, Adam) and inference of UNet(5, 2) and ENet(1, 4) at
# batch 8, 256x256, ours on `cuda:0` and `wgpu:0` against PyTorch CUDA eager on the same GPU, in
# the same run (`benches/compare_torch.py --device ...`). It records the card, the driver and
# the versions, and writes everything to OUT_DIR/gpu_check.md.
#
# Made for a machine with an NVIDIA GPU and PyTorch but no Rust toolchain (a lent device
# machine): the bench binary is built beforehand with the GPU backends and travels with the
# working tree, compressed (a build with both backends is larger than a plain one).
#
# Prepare, where cargo is (about 25 minutes cold on 2 cores; the GPU features build offline):
#   cargo bench -p boundary-loss --features cuda,wgpu --bench train_step --no-run
#   mkdir -p .gpu && echo /.gpu/ >> .git/info/exclude
#   xz -T0 -c "$(ls -t "$CARGO_TARGET_DIR"/release/deps/train_step-* | grep -v '\.d$' | head -1)" \
#     > .gpu/train_step.xz
# Run, on the GPU machine, from the repository root (carry .gpu; about 5 minutes):
#   bash benches/gpu_check.sh "$OUT"
# Optional: STEPS (default 10) steps per network; GPU_DEVICES (default "cuda:0 wgpu:0"); for
# wgpu through Vulkan the machine needs the Vulkan loader (libvulkan1).
set -uo pipefail
out=${1:-.}
steps=${STEPS:-10}
devices=${GPU_DEVICES:-cuda:0 wgpu:0}
python=${PYTHON_BENCH_VENV:-$(command -v python3)}
bin=${TRAIN_STEP_BIN:-}
if [ -z "$bin" ]; then
    if [ ! -f .gpu/train_step.xz ]; then
        echo "gpu_check.sh: no bench binary: set TRAIN_STEP_BIN or prepare .gpu/train_step.xz (see the header)" >&2
        exit 2
    fi
    bin=/tmp/boundary-loss-train_step
    xz -dc .gpu/train_step.xz > "$bin" && chmod +x "$bin" || exit 2
fi
mkdir -p "$out"
{
    echo "# GPU training step, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo '```'
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$python" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())'
    echo "ours: Burn 0.22.1, binary $(sha256sum "$bin" | cut -c1-16)"
    echo '```'
    for device in $devices; do
        echo
        echo "## ours on $device"
        echo
        # Each device alone, bounded: a backend that fails or stalls leaves the others measured.
        PYTHON_BENCH_VENV=$python TRAIN_STEP_BIN=$bin PYTHONUNBUFFERED=1 \
            timeout 300 "$python" benches/compare_torch.py --device "$device" --steps "$steps" \
            || echo "($device: exit status $?)"
    done
} 2>&1 | tee "$out/gpu_check.md"
