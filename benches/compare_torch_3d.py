#!/usr/bin/env python3
"""3-D training step (forward + backward + Adam) of the faithful UNet3D (1 modality, 2 classes,
56,083,799 parameters at base 64): PyTorch on the CPU against ours (Burn 0.22.1, flex backend),
same network, batch, patch size, loss (generalized Dice + 0.01 x boundary loss over
(B, K, X, Y, Z)) and threads, in the same run. Prints steps/s and the ratio.

Usage: python3 benches/compare_torch_3d.py [--threads 2] [--steps 2] [--batch 2] [--side 64]
[--base 64]. Same venv as compare_torch.py (or the venv PYTHON_BENCH_VENV names); our side is
`cargo bench --workspace --bench train_step_3d` (or TRAIN_STEP_3D_BIN, a built binary).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

bench_venv.run_inside("torch-venv", ["torch", "numpy"], override="PYTHON_BENCH_VENV")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from compare_torch import UNet, loss_of  # noqa: E402  (the same blocks with dim=3)


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def torch_step_seconds(net, batch, side, steps):
    torch.manual_seed(0)
    images = torch.rand(batch, 1, side, side, side)
    target = F.one_hot(torch.randint(0, 2, (batch, side, side, side)), 2).permute(0, 4, 1, 2, 3).float()
    maps = torch.randn(batch, 2, side, side, side) * 10
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.99))

    def step():
        optimizer.zero_grad()
        loss_of(F.softmax(net(images), 1), target, maps).backward()
        optimizer.step()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def main():
    threads, steps = option("--threads", 2), option("--steps", 2)
    batch, side, base = option("--batch", 2), option("--side", 64), option("--base", 64)
    torch.set_num_threads(threads)
    net = UNet(1, 2, base, dim=3)  # the original's UNet3D
    count = sum(p.numel() for p in net.parameters())
    if base == 64:
        assert count == 56_083_799, f"UNet3D(1, 2): {count} parameters, the original has 56,083,799"
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    binary = os.environ.get("TRAIN_STEP_3D_BIN")
    command = [binary] if binary else ["cargo", "bench", "-q", "--workspace", "--bench", "train_step_3d", "--"]
    args = ["--steps", str(steps), "--batch", str(batch), "--side", str(side), "--base", str(base)]
    # Ours first, then PyTorch, so that neither runs while the other builds or warms up.
    run = subprocess.run(command + args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    ours = next(json.loads(line) for line in run.stdout.splitlines() if line.startswith("{"))
    assert ours["parameters"] == count, f"ours {ours['parameters']} parameters, PyTorch {count}"
    theirs = torch_step_seconds(net, batch, side, steps)
    mine = ours["seconds_per_step"]
    print(f"UNet3D(1, 2) base {base}, batch {batch}, {side}^3, {threads} threads: PyTorch {torch.__version__} "
          f"{theirs:.2f} s/step, ours {mine:.2f} s/step, ours/PyTorch speed {theirs / mine:.2f}x")
    print(f"\n| network | batch | patch | threads | PyTorch {torch.__version__} CPU (s/step) | "
          f"ours, Burn 0.22.1 flex (s/step) | ours / PyTorch (speed) |\n|---|---|---|---|---|---|---|")
    print(f"| UNet3D(1, 2), base {base} | {batch} | {side}^3 | {threads} | {theirs:.2f} | {mine:.2f} | "
          f"{theirs / mine:.2f}x |")


if __name__ == "__main__":
    main()
