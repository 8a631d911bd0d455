#!/usr/bin/env python3
"""Reference values of the losses, with the original's formulas (LIVIAETS/boundary-loss
losses.py, torch einsums written with numpy), for the Rust tests in ../losses.rs.

Run from anywhere with numpy and scipy installed:  python3 make_loss_references.py
It rewrites losses.json next to this file (inputs and expected values; float64 arithmetic).
"""
import json
from pathlib import Path

import numpy as np
from scipy.ndimage import distance_transform_edt as eucl_distance

E = 1e-10


def one_hot2dist(seg, resolution=None):
    """utils.one_hot2dist (float64 output)."""
    res = np.zeros(seg.shape, dtype=np.float64)
    for k in range(len(seg)):
        pos = seg[k].astype(bool)
        if pos.any():
            neg = ~pos
            res[k] = eucl_distance(neg, sampling=resolution) * neg - (eucl_distance(pos, sampling=resolution) - 1) * pos
    return res


def one_hot2hd_dist(seg, resolution=None, dtype=None):
    """utils.one_hot2hd_dist; dtype=None keeps the input's dtype (int32 truncates)."""
    res = np.zeros_like(seg, dtype=dtype)
    for k in range(len(seg)):
        pos = seg[k].astype(bool)
        if pos.any():
            res[k] = eucl_distance(pos, sampling=resolution)
    return res


def boundary(probs, dist, idc):
    return float((probs[:, idc] * dist[:, idc]).mean())


def generalized_dice(probs, target, idc):
    pc, tc = probs[:, idc], target[:, idc]
    axes = tuple(range(2, pc.ndim))
    w = 1 / ((tc.sum(axis=axes) + E) ** 2)
    intersection = w * (pc * tc).sum(axis=axes)
    union = w * (pc.sum(axis=axes) + tc.sum(axis=axes))
    divided = 1 - 2 * (intersection.sum(axis=1) + E) / (union.sum(axis=1) + E)
    return float(divided.mean())


def dice(probs, target, idc):
    pc, tc = probs[:, idc], target[:, idc]
    axes = tuple(range(2, pc.ndim))
    intersection = (pc * tc).sum(axis=axes)
    union = pc.sum(axis=axes) + tc.sum(axis=axes)
    return float((1 - (2 * intersection + E) / (union + E)).mean())


def cross_entropy(probs, target, idc):
    log_p = np.log(probs[:, idc] + E)
    mask = target[:, idc]
    return float(-(mask * log_p).sum() / (mask.sum() + E))


def focal(probs, target, idc, gamma):
    p = probs[:, idc]
    w = (1 - p) ** gamma
    mask = target[:, idc]
    return float(-(w * mask * np.log(p + E)).sum() / (mask.sum() + E))


def hausdorff(probs, target, idc, truncate_prediction):
    pc, tc = probs[:, idc], target[:, idc]
    winners = probs.argmax(axis=1)
    pred = np.stack([(winners == k) for k in range(probs.shape[1])], axis=1).astype(np.int32)[:, idc]
    # The target map is computed on a float32 one-hot (rounded to float32); the prediction's on an
    # int32 one-hot (truncated) in the original; the exact variant keeps the float map.
    target_dm = np.stack([one_hot2hd_dist(t.astype(np.float32)) for t in tc]).astype(np.float64)
    if truncate_prediction:
        pred_dm = np.stack([one_hot2hd_dist(p) for p in pred]).astype(np.float64)
    else:
        pred_dm = np.stack([one_hot2hd_dist(p.astype(np.float32)) for p in pred]).astype(np.float64)
    return float(((pc - tc) ** 2 * (target_dm ** 2 + pred_dm ** 2)).mean())


def case(name, spatial, K, seed, empty_class=None):
    rng = np.random.default_rng(seed)
    B = 2
    logits = rng.normal(size=(B, K) + spatial) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = probs.astype(np.float32).astype(np.float64)  # what the Rust side receives
    labels = np.zeros((B,) + spatial, dtype=np.int64)
    grids = np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij")
    for b in range(B):
        for k in range(1, K):
            if empty_class is not None and (b, k) == empty_class:
                continue
            centre = [rng.uniform(0.25, 0.75) * n for n in spatial]
            radius = rng.uniform(0.15, 0.3) * min(spatial)
            inside = sum((g - c) ** 2 for g, c in zip(grids, centre)) <= radius ** 2
            labels[b][inside] = k
    target = np.stack([(labels == k) for k in range(K)], axis=1).astype(np.float64)
    dist = np.stack([one_hot2dist(t) for t in target])
    expected = {}
    for idc in ([*range(K)], [1], [1, K - 1] if K > 2 else [0, 1]):
        key = ",".join(map(str, idc))
        expected[key] = {
            "BoundaryLoss": boundary(probs, dist, idc),
            "GeneralizedDice": generalized_dice(probs, target, idc),
            "DiceLoss": dice(probs, target, idc),
            "CrossEntropy": cross_entropy(probs, target, idc),
            "FocalLoss(gamma=2)": focal(probs, target, idc, 2.0),
            "HausdorffLoss": hausdorff(probs, target, idc, False),
            "HausdorffLoss(truncated prediction map)": hausdorff(probs, target, idc, True),
        }
    return name, {
        "shape": [B, K, *spatial],
        "probs": probs.ravel().tolist(),
        "target": target.ravel().tolist(),
        "distance_maps": dist.ravel().tolist(),
        "expected": expected,
    }


def main():
    cases = dict([
        case("rank2_k3", (12, 10), 3, 0),
        case("rank2_k4_empty_class", (16, 16), 4, 1, empty_class=(1, 2)),
        case("rank3_k3", (8, 7, 6), 3, 2),
    ])
    out = Path(__file__).with_name("losses.json")
    out.write_text(json.dumps(cases))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
