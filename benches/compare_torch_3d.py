#!/usr/bin/env python3
"""3-D training step (forward + backward + Adam) of the faithful UNet3D (1 modality, 2 classes,
56,083,799 parameters at base 64): PyTorch on the CPU against ours (Burn 0.22.1, flex backend),
same network, batch, patch size, loss (generalized Dice + 0.01 x boundary loss over
(B, K, X, Y, Z)) and threads, in the same run. Prints steps/s and the ratio.

Usage: python3 benches/compare_torch_3d.py [--threads 2] [--steps 2] [--batch 2] [--side 64]
[--base 64]. Same venv as compare_torch.py (or the venv PYTHON_BENCH_VENV names); our side is
`cargo bench -p boundary-loss --bench train_step_3d` (or TRAIN_STEP_3D_BIN, a built binary).
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
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def conv_batch(nin, nout, stride=1):
    return nn.Sequential(nn.Conv3d(nin, nout, 3, stride, 1, bias=False), nn.BatchNorm3d(nout), nn.PReLU())


def pair(a, b, stride=1):
    return nn.Sequential(conv_batch(a, b, stride), conv_batch(b, b))


class UpSampleConv(nn.Module):
    def __init__(self, nin, nout):
        super().__init__()
        self.convs = pair(nin, nout)

    def forward(self, x):
        return self.convs(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResidualConv(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.convs = nn.Sequential(conv_batch(n, n), nn.Conv3d(n, n, 3, 1, 1), nn.BatchNorm3d(n))

    def forward(self, x):
        return F.leaky_relu(self.convs(x) + x, 0.2)


class UNet3D(nn.Module):
    """The original's UNet3D (models/unet_3d.py): UNet's topology with 3-D layers."""

    def __init__(self, nin, nout, g=64):
        super().__init__()
        self.conv0, self.conv1, self.conv2 = pair(nin, g), pair(g, 2 * g, 2), pair(2 * g, 4 * g, 2)
        self.bridge = nn.Sequential(conv_batch(4 * g, 8 * g, 2), ResidualConv(8 * g), conv_batch(8 * g, 8 * g))
        self.deconv1, self.conv5 = UpSampleConv(8 * g, 8 * g), pair(12 * g, 4 * g)
        self.deconv2, self.conv6 = UpSampleConv(4 * g, 4 * g), pair(6 * g, 2 * g)
        self.deconv3, self.conv7 = UpSampleConv(2 * g, 2 * g), pair(3 * g, g)
        self.final = nn.Conv3d(g, nout, 1)

    def forward(self, x):
        x0 = self.conv0(x)
        x1 = self.conv1(x0)
        x2 = self.conv2(x1)
        y0 = self.deconv1(self.bridge(x2))
        y1 = self.deconv2(self.conv5(torch.cat((y0, x2), 1)))
        y2 = self.deconv3(self.conv6(torch.cat((y1, x1), 1)))
        return self.final(self.conv7(torch.cat((y2, x0), 1)))


def loss_of(probs, target, maps):
    axes = (2, 3, 4)
    tc_mass = target.sum(dim=axes)
    w = 1 / ((tc_mass + 1e-10) ** 2)
    inter = w * (probs * target).sum(dim=axes)
    union = w * (probs.sum(dim=axes) + tc_mass)
    gdl = (1 - 2 * (inter.sum(1) + 1e-10) / (union.sum(1) + 1e-10)).mean()
    return gdl + 0.01 * (probs[:, 1:] * maps[:, 1:]).mean()


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
    net = UNet3D(1, 2, base)
    count = sum(p.numel() for p in net.parameters())
    if base == 64:
        assert count == 56_083_799, f"UNet3D(1, 2): {count} parameters, the original has 56,083,799"
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    binary = os.environ.get("TRAIN_STEP_3D_BIN")
    command = [binary] if binary else ["cargo", "bench", "-q", "-p", "boundary-loss", "--bench", "train_step_3d", "--"]
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
