#!/usr/bin/env python3
"""Reference values for tests/optimizers.rs: three steps of the original's optimisers, computed
with PyTorch exactly as main.py builds them:

    torch.optim.Adam(params, lr, betas=(0.9, 0.99), amsgrad=False)        # eps: PyTorch's 1e-8
    torch.optim.SGD(params, lr, momentum=0.99, weight_decay=5e-4)           # dampening 0

on a fixed float32 parameter vector with a fixed gradient per step. Run once (needs torch):
    python3 make_optimizer_steps.py > optimizer_steps.json
"""
import json

import numpy as np
import torch

rng = np.random.default_rng(7)
initial = rng.normal(0.0, 1.0, 24).astype(np.float32)
# Gradients of several magnitudes, including tiny ones where epsilon matters.
gradients = [
    (rng.normal(0.0, 1.0, 24) * 10.0 ** rng.integers(-9, 1, 24)).astype(np.float32)
    for _ in range(3)
]


def run(make_optimizer):
    param = torch.nn.Parameter(torch.tensor(initial))
    optimizer = make_optimizer([param])
    after = []
    for g in gradients:
        optimizer.zero_grad()
        # loss = sum(param * g): its gradient is g.
        (param * torch.tensor(g)).sum().backward()
        optimizer.step()
        after.append(param.detach().numpy().astype(float).tolist())
    return after


out = {
    "torch": torch.__version__,
    "initial": initial.astype(float).tolist(),
    "gradients": [g.astype(float).tolist() for g in gradients],
    "adam": {
        "lr": 1e-3,
        "steps": run(lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.99), amsgrad=False)),
    },
    "sgd": {
        "lr": 1e-2,
        "steps": run(lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.99, weight_decay=5e-4)),
    },
}
print(json.dumps(out, indent=1))
