#!/usr/bin/env python3
"""Reference values of GeneralizedDice's switches, computed by MONAI's own GeneralizedDiceLoss,
for the Rust test in ../monai_generalized_dice.rs.

    python3 -m venv venv && venv/bin/pip install torch monai numpy
    venv/bin/python make_monai_gdl.py

It rewrites monai_gdl.json next to this file: inputs (probabilities and one-hot targets in
float32), and per case and per `batch` setting MONAI's loss value and its gradient with respect
to the probabilities (float64 arithmetic).

MONAI's rule for a class without target pixels is the switch `absent_weight = "largest"`: its
infinite weight becomes the largest finite weight (of the image; of the batch with batch=True).
Its smoothing constants are set to the original's: numerator 2 * 1e-10 and denominator 1e-10,
which is the original's `1 - 2 (sum w I + 1e-10) / (sum w U + 1e-10)`. The original's weight
1 / (T + 1e-10)^2 and MONAI's 1 / T^2 differ by 2e-10 relative on present classes.

The cases hold images without foreground (the empty slices that open the gradient hole), a class
absent from some images, and a batch where every supervised class is absent.
"""
import json
from pathlib import Path

import monai
import numpy as np
import torch
from monai.losses import GeneralizedDiceLoss

E = 1e-10


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def case(rng, shape, labels, idc):
    """Random softmax probabilities and the one-hot of `labels` (B, *spatial)."""
    probs = softmax(rng.normal(0.0, 1.5, size=shape)).astype(np.float32)
    k = shape[1]
    target = np.stack([(labels == c) for c in range(k)], axis=1).astype(np.float32)
    out = {
        "shape": list(shape),
        "idc": idc,
        "probs": probs.ravel().tolist(),
        "target": target.ravel().tolist(),
        "expected": {},
    }
    for batch in (False, True):
        loss_fn = GeneralizedDiceLoss(
            include_background=True, batch=batch, smooth_nr=2 * E, smooth_dr=E
        )
        p = torch.tensor(probs, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(target, dtype=torch.float64)
        loss = loss_fn(p[:, idc], t[:, idc])
        loss.backward()
        out["expected"][f"batch={str(batch).lower()}"] = {
            "loss": float(loss.detach()),
            "grad": p.grad.numpy().ravel().tolist(),
        }
    return out


def blob(shape, center, radius):
    grid = np.indices(shape)
    return sum((g - c) ** 2 for g, c in zip(grid, center)) <= radius**2


def main():
    rng = np.random.default_rng(27)
    cases = {}

    # 2-D, two classes: two slices with a lesion, one without (the hole), one with one pixel.
    labels = np.zeros((4, 16, 16), dtype=np.int64)
    labels[0][blob((16, 16), (5, 6), 3)] = 1
    labels[1][blob((16, 16), (10, 9), 2)] = 1
    labels[3, 8, 8] = 1
    cases["rank2_empty_slice"] = case(rng, (4, 2, 16, 16), labels, [0, 1])

    # 2-D, three classes: class 2 absent from image 0, class 1 from image 1, both from image 2.
    labels = np.zeros((3, 12, 10), dtype=np.int64)
    labels[0][blob((12, 10), (4, 4), 3)] = 1
    labels[1][blob((12, 10), (7, 5), 2)] = 2
    cases["rank2_k3_absent_classes"] = case(rng, (3, 3, 12, 10), labels, [0, 1, 2])

    # 3-D: one volume with an object, one without.
    labels = np.zeros((2, 6, 8, 5), dtype=np.int64)
    labels[0][blob((6, 8, 5), (3, 4, 2), 2)] = 1
    cases["rank3_empty_volume"] = case(rng, (2, 2, 6, 8, 5), labels, [0, 1])

    # Foreground only, no image holds it: every weight is 0.
    labels = np.zeros((2, 8, 8), dtype=np.int64)
    cases["rank2_all_absent_foreground_only"] = case(rng, (2, 2, 8, 8), labels, [1])

    meta = {"monai": monai.__version__, "torch": torch.__version__}
    out = Path(__file__).with_name("monai_gdl.json")
    out.write_text(json.dumps({"versions": meta, "cases": cases}))
    print(f"wrote {out} ({', '.join(cases)}; MONAI {meta['monai']}, torch {meta['torch']})")


if __name__ == "__main__":
    main()
