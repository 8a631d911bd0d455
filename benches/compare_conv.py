#!/usr/bin/env python3
"""Convolution layers of the faithful UNet and ENet one at a time (the forward pass, and forward +
backward of sum(conv(x, w) * g) for the input and weight gradients): PyTorch on the CPU against ours (`cargo bench --bench conv_layers`), same
shapes, same threads, in the same run. Prints seconds per call and our speed relative to PyTorch.

Usage: python3 benches/compare_conv.py [--threads 2] [--reps 3] [--batch 8]
Uses the venv of compare_torch.py (or PYTHON_BENCH_VENV); CONV_LAYERS_BIN reuses a built bench.
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


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


# Kept in step with LAYERS in crates/boundary-loss/benches/conv_layers.rs.
LAYERS = [
    ("unet_64_64_256", 64, 64, 256, (3, 3), 1, (1, 1), 1),
    ("unet_128_128_128", 128, 128, 128, (3, 3), 1, (1, 1), 1),
    ("unet_256_256_64", 256, 256, 64, (3, 3), 1, (1, 1), 1),
    ("unet_64_128_s2", 64, 128, 256, (3, 3), 2, (1, 1), 1),
    ("enet_16_16_128", 16, 16, 128, (3, 3), 1, (1, 1), 1),
    ("enet_32_32_64_d2", 32, 32, 64, (3, 3), 1, (2, 2), 2),
    ("enet_32_32_64_1x5", 32, 32, 64, (1, 5), 1, (0, 2), 1),
    ("enet_128_32_64_1x1", 128, 32, 64, (1, 1), 1, (0, 0), 1),
]


def timed(reps, call):
    call()
    started = time.perf_counter()
    for _ in range(reps):
        call()
    return (time.perf_counter() - started) / reps


def torch_layers(reps, batch):
    rows = {}
    for name, cin, cout, side, kernel, stride, padding, dilation in LAYERS:
        x = torch.rand(batch, cin, side, side)
        w = torch.rand(cout, cin, *kernel)
        conv = lambda x, w: torch.nn.functional.conv2d(x, w, None, stride, padding, dilation)  # noqa: E731
        with torch.no_grad():
            g = torch.rand_like(conv(x, w))
            forward = timed(reps, lambda: conv(x, w))

        def step():
            xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
            (conv(xg, wg) * g).sum().backward()
            return xg.grad, wg.grad

        rows[name] = {"forward": forward, "forward_backward": timed(reps, step)}
    return rows


def ours(reps, batch, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    binary = os.environ.get("CONV_LAYERS_BIN")
    args = ["--reps", str(reps), "--batch", str(batch)]
    if binary:
        command = [binary, *args]
    else:
        command = ["cargo", "bench", "-q", "-p", "boundary-loss", "--bench", "conv_layers", "--", *args]
    out = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return {row["layer"]: row for row in map(json.loads, filter(None, out.splitlines()))}


def main():
    threads, reps, batch = option("--threads", 2), option("--reps", 3), option("--batch", 8)
    torch.set_num_threads(threads)
    theirs = torch_layers(reps, batch)
    mine = ours(reps, batch, threads)
    print(f"torch {torch.__version__}, {threads} threads, batch {batch}, {reps} reps; ratio = our speed / PyTorch's")
    print(f"{'layer':<22}" + "".join(f"{p:>34}" for p in ("forward", "forward_backward")))
    for name, *_ in LAYERS:
        cells = []
        for part in ("forward", "forward_backward"):
            t, o = theirs[name][part], mine[name][part]
            cells.append(f"{t * 1e3:9.1f} ms {o * 1e3:9.1f} ms {t / o:6.2f}x")
        print(f"{name:<22}" + "".join(f"{c:>34}" for c in cells))


if __name__ == "__main__":
    main()
