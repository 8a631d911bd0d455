"""Test vectors for the surface metrics: medpy and MONAI values on label-map pairs.

Run once (numpy, scipy, medpy, monai; torch for monai) from this folder:
    python make_surface_metrics.py
It writes <case>.pred.npy, <case>.gt.npy (uint8 label maps) and expected.json:
{case: {"spacing": [...], "classes": K, "expected": {k: {...}}}}. Values are medpy's
dc / hd / hd95 / assd (0.5: pooled), medpy 0.4's assd (mean of the directed means) and MONAI's hausdorff (95th percentile and max, directed=False) and
average surface distance (symmetric=True), per class 1..K-1; a metric that the library refuses
(an empty mask) is null.
"""
import json
import warnings

import numpy as np
from medpy.metric import binary
import monai
from monai.metrics import compute_hausdorff_distance, compute_average_surface_distance
import torch

warnings.simplefilter("ignore")
rng = np.random.default_rng(20261129)


def blobs(shape, centres, radii):
    grid = np.indices(shape).astype(float)
    out = np.zeros(shape, dtype=np.uint8)
    for k, (c, r) in enumerate(zip(centres, radii), start=1):
        d = sum(((g - ci) / ri) ** 2 for g, ci, ri in zip(grid, c, r))
        out[d <= 1.0] = k
    return out


def jitter(labels, flips):
    out = labels.copy()
    idx = tuple(rng.integers(0, n, flips) for n in labels.shape)
    out[idx] = rng.integers(0, labels.max() + 1, flips)
    return out


cases = {}
# 2-D, isotropic, two structures, noisy prediction.
gt = blobs((48, 40), [(20, 15), (30, 28)], [(9, 7), (5, 6)])
cases["2d_two_classes_iso"] = (jitter(np.roll(gt, 2, axis=0), 40), gt, [1.0, 1.0], 3)
# 2-D, anisotropic, touching the image edge.
gt = blobs((32, 64), [(0, 30)], [(10, 20)])
cases["2d_edge_aniso"] = (blobs((32, 64), [(3, 34)], [(9, 18)]), gt, [0.7, 1.9], 2)
# 3-D, anisotropic (slice thickness first), three classes.
gt = blobs((12, 40, 36), [(6, 18, 16), (5, 26, 22), (8, 10, 25)], [(4, 10, 8), (3, 5, 6), (2, 4, 4)])
pred = jitter(blobs((12, 40, 36), [(5, 19, 17), (6, 25, 21), (8, 11, 26)], [(4, 11, 7), (3, 4, 6), (3, 4, 5)]), 200)
cases["3d_three_classes_aniso"] = (pred, gt, [3.0, 0.94, 0.94], 4)
# 3-D, single voxels, far apart.
gt = np.zeros((5, 6, 7), np.uint8); gt[1, 1, 1] = 1
pred = np.zeros((5, 6, 7), np.uint8); pred[4, 5, 6] = 1; pred[2, 2, 2] = 1
cases["3d_points"] = (pred, gt, [2.5, 1.0, 0.5], 2)
# Empty prediction of class 2, empty truth of class 1.
gt = blobs((20, 20), [(50, 50), (10, 10)], [(1, 1), (4, 4)])
pred = blobs((20, 20), [(5, 5), (50, 50)], [(3, 3), (1, 1)])
cases["2d_empty_masks"] = (pred, gt, [1.0, 1.0], 3)


def medpy_or_none(f, *args, **kw):
    try:
        return float(f(*args, **kw))
    except RuntimeError:
        return None


def monai_value(f, p, g, spacing, **kw):
    if not p.any() or not g.any():
        return None
    t = lambda m: torch.from_numpy(m[None, None].astype(np.float32))
    return float(f(t(p), t(g), spacing=spacing, **kw).item())


out = {}
for name, (pred, gt, spacing, classes) in cases.items():
    assert pred.shape == gt.shape
    np.save(f"{name}.pred.npy", pred.astype(np.uint8))
    np.save(f"{name}.gt.npy", gt.astype(np.uint8))
    expected = {}
    for k in range(1, classes):
        p, g = pred == k, gt == k
        e = {"medpy_dc": float(binary.dc(p, g))}
        e["medpy_hd"] = medpy_or_none(binary.hd, p, g, voxelspacing=spacing)
        e["medpy_hd95"] = medpy_or_none(binary.hd95, p, g, voxelspacing=spacing)
        e["medpy_assd"] = medpy_or_none(binary.assd, p, g, voxelspacing=spacing)
        # medpy 0.4 (the original's era): the mean of the two directed means.
        asd = [medpy_or_none(binary.asd, a, b, voxelspacing=spacing) for a, b in ((p, g), (g, p))]
        e["medpy04_assd"] = None if None in asd else float(np.mean(asd))
        e["monai_hd"] = monai_value(compute_hausdorff_distance, p, g, spacing)
        e["monai_hd95"] = monai_value(compute_hausdorff_distance, p, g, spacing, percentile=95)
        e["monai_assd"] = monai_value(compute_average_surface_distance, p, g, spacing, symmetric=True)
        expected[str(k)] = e
    out[name] = {"spacing": spacing, "classes": classes, "shape": list(gt.shape), "expected": expected}

import medpy
out_meta = {"medpy": getattr(medpy, "__version__", "?"), "monai": monai.__version__, "numpy": np.__version__}
with open("expected.json", "w") as f:
    json.dump({"versions": out_meta, "cases": out}, f, indent=1, sort_keys=True)
print(json.dumps(out_meta))
