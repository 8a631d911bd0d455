#!/usr/bin/env python3
"""Reference values of batch normalisation as the original's networks compute it, by PyTorch's
own nn.BatchNorm2d and nn.BatchNorm3d (momentum 0.1, eps 1e-5, float32), for the Rust test in
../batch_norm_reference.rs.

    python3 -m venv venv && venv/bin/pip install torch numpy
    venv/bin/python make_batch_norm.py

It rewrites batch_norm.json next to this file. Per case: the layer's scale and shift, three
training steps (input, output, gradient of sum(output * upstream) with respect to the input, and
the running mean and variance after the step), then one evaluation-mode step (input and output)
that reads the running statistics. PyTorch keeps the running variance of the batch's unbiased
variance (divided by n - 1), which is what the cases with few values per channel (a 3-D patch
of 2x2x2 voxels, batch 1) make visible.
"""
import json
from pathlib import Path

import numpy as np
import torch


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def case(rng, shape, steps=3):
    channels = shape[1]
    layer = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm3d)(channels)
    gamma = rng.normal(1.0, 0.3, size=channels).astype(np.float32)
    beta = rng.normal(0.0, 0.5, size=channels).astype(np.float32)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
    out = {"shape": list(shape), "gamma": floats(gamma), "beta": floats(beta), "train": []}
    layer.train()
    for _ in range(steps):
        # Per-channel offsets and scales, so that the statistics differ between channels.
        x = (rng.normal(size=shape) * rng.uniform(0.5, 3.0, size=(1, channels) + (1,) * (len(shape) - 2))
             + rng.normal(0.0, 2.0, size=(1, channels) + (1,) * (len(shape) - 2))).astype(np.float32)
        upstream = rng.normal(size=shape).astype(np.float32)
        xt = torch.from_numpy(x).requires_grad_(True)
        y = layer(xt)
        (y * torch.from_numpy(upstream)).sum().backward()
        out["train"].append({
            "input": floats(x),
            "upstream": floats(upstream),
            "output": floats(y.detach()),
            "input_grad": floats(xt.grad),
            "running_mean": floats(layer.running_mean),
            "running_var": floats(layer.running_var),
        })
    layer.eval()
    x = (rng.normal(size=shape) * 2.0 + 1.0).astype(np.float32)
    with torch.no_grad():
        y = layer(torch.from_numpy(x))
    out["eval"] = {"input": floats(x), "output": floats(y)}
    return out


def main():
    rng = np.random.default_rng(20261204)
    cases = {
        "2d_slices": case(rng, (4, 3, 9, 11)),
        "2d_batch_of_one_small": case(rng, (1, 2, 3, 2)),
        "3d_patches": case(rng, (2, 2, 3, 4, 5)),
        "3d_deepest_patch": case(rng, (1, 4, 2, 2, 2)),
    }
    doc = {
        "generator": f"make_batch_norm.py, torch {torch.__version__}, numpy {np.__version__}",
        "cases": cases,
    }
    path = Path(__file__).with_name("batch_norm.json")
    path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
