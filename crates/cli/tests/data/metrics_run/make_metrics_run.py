"""A tiny run folder with the metrics medpy, MONAI and scipy give on it.

Run once (numpy, scipy, pillow, medpy, monai + torch) from this folder:
    python make_metrics_run.py
It writes:
  data/      a validation split: gt/ (PNG class maps), img/ (npy images), spacing.json (per
             slice, axis 0 and axis 1 in mm) and spacing_3d.json ({patient: [dx, dy, dz]});
  run/       run.toml (without use_spacing: the metrics read the slice spacing whatever the
             run's maps used) and two epochs of predictions iter000/val/*.png, iter001/val/*.png;
  expected/  val_<metric>.npy (float32, (epochs, rows, classes)) computed independently:
             3d_dsc (the original's smoothed Dice), 3d_hd / 3d_hd95 / 3d_assd (medpy 0.5),
             3d_hd95_monai (MONAI, directed=False), 3d_assd_mean_of_directed (medpy 0.4's
             formula), hd (medpy per slice, slice spacing), boundary (the original
             metrics_overtime.py's: sum of the one-hot prediction times the original's signed
             map at unit spacing, computed on the int32 one-hot so truncated toward zero),
             boundary_mm (the same with the float map in mm, scipy EDT with sampling).
Empty masks: the run's default rule, always_diagonal: any empty mask (both included) gives the
volume's (or slice's) diagonal in mm, as the original's metrics_overtime.py for an empty
prediction.
"""
import json
import os
import shutil
import warnings

import numpy as np
from PIL import Image
from medpy.metric import binary
from monai.metrics import compute_hausdorff_distance
from scipy.ndimage import distance_transform_edt
import torch

warnings.simplefilter("ignore")
rng = np.random.default_rng(7)
K, H, W = 3, 12, 14
patients = {"case_1": [0.8, 0.9, 3.0], "case_2": [1.1, 0.7, 2.0]}
slices = 3

for d in ("data", "run", "expected"):
    shutil.rmtree(d, ignore_errors=True)
os.makedirs("data/val/gt"); os.makedirs("data/val/img")


def blob(cy, cx, ry, rx):
    y, x = np.indices((H, W))
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1


truth, names = {}, []
for p in patients:
    for s in range(slices):
        g = np.zeros((H, W), np.uint8)
        g[blob(5 + s, 6, 3, 4)] = 1
        if p == "case_1" and s > 0:  # class 2 only in case_1 (empty truth in case_2)
            g[blob(9, 10, 2, 2)] = 2
        name = f"{p}_{s}"
        truth[name] = g
        names.append(name)
        Image.fromarray(g).save(f"data/val/gt/{name}.png")
        np.save(f"data/val/img/{name}.npy", rng.random((1, H, W)).astype(np.float32))
spacing_2d = {n: patients[n.rsplit("_", 1)[0]][:2] for n in names}
json.dump(spacing_2d, open("data/val/spacing.json", "w"), indent=1)
json.dump(patients, open("data/spacing_3d.json", "w"), indent=1)

predictions = []
for e in range(2):
    os.makedirs(f"run/iter{e:03d}/val")
    epoch = {}
    for n in names:
        p = truth[n].copy()
        flips = rng.random((H, W)) < (0.15 if e == 0 else 0.05)
        p[flips] = rng.integers(0, K, flips.sum())
        if e == 1 and n == "case_2_1":
            p[p == 1] = 0  # an empty prediction of class 1 on one slice
        if e == 1 and n.startswith("case_2"):
            p[p == 2] = 0  # class 2 neither predicted nor true in case_2: both masks empty
        epoch[n] = p
        Image.fromarray(p).save(f"run/iter{e:03d}/val/{n}.png")
    predictions.append(epoch)

open("run/run.toml", "w").write('''dataset = "../data"
network = "Dimwit"
modalities = 1
classes = 3
epochs = 2
metric_classes = [1, 2]
patient_regex = '(case_\\d+)_\\d+'

[[streams]]
folder = "img"
kind = "image_npy"

[[streams]]
folder = "gt"
kind = "one_hot"

[[losses]]
name = "GeneralizedDice"
idc = [0, 1, 2]
weight = 1.0
stream = 1
''')


def surface(metric, p, t, spacing):
    diag = float(np.sqrt(sum((n * s) ** 2 for n, s in zip(p.shape, spacing))))
    if not p.any() or not t.any():
        return diag
    if metric == "monai_hd95":
        c = lambda m: torch.from_numpy(m[None, None].astype(np.float32))
        return float(compute_hausdorff_distance(c(p), c(t), spacing=list(spacing), percentile=95).item())
    if metric == "assd_mean_of_directed":
        return float(np.mean([binary.asd(p, t, spacing), binary.asd(t, p, spacing)]))
    return float({"hd": binary.hd, "hd95": binary.hd95, "assd": binary.assd}[metric](p, t, voxelspacing=spacing))


def signed_map(labels, spacing, dtype=np.float32):
    out = np.zeros((K, H, W))
    for k in range(K):
        pos = labels == k
        if pos.any():
            neg = ~pos
            out[k] = distance_transform_edt(neg, sampling=spacing) * neg - (distance_transform_edt(pos, sampling=spacing) - 1) * pos
    # The original's one_hot2dist writes into an array of the one-hot's dtype: int32 in
    # metrics_overtime.py, where numpy truncates toward zero.
    return np.trunc(out).astype(dtype) if np.issubdtype(dtype, np.integer) else out.astype(dtype)


per_patient = {n: [] for n in ["3d_dsc", "3d_hd", "3d_hd95", "3d_assd", "3d_hd95_monai", "3d_assd_mean_of_directed"]}
per_slice = {"hd": [], "boundary": [], "boundary_mm": []}
for epoch in predictions:
    rows = {n: [] for n in per_patient}
    for p, (dx, dy, dz) in patients.items():
        pn = [f"{p}_{s}" for s in range(slices)]
        pv = np.stack([epoch[n] for n in pn]); tv = np.stack([truth[n] for n in pn])
        sp = (dz, dx, dy)
        rows["3d_dsc"].append([(2 * ((pv == k) & (tv == k)).sum() + 1e-8) / ((pv == k).sum() + (tv == k).sum() + 1e-8) for k in range(K)])
        for m, key in [("hd", "3d_hd"), ("hd95", "3d_hd95"), ("assd", "3d_assd"), ("monai_hd95", "3d_hd95_monai"), ("assd_mean_of_directed", "3d_assd_mean_of_directed")]:
            rows[key].append([surface(m, pv == k, tv == k, sp) for k in range(K)])
    for n in per_patient:
        per_patient[n].append(rows[n])
    hd_rows, b_rows, bmm_rows = [], [], []
    for n in names:
        sp = spacing_2d[n]
        hd_rows.append([surface("hd", epoch[n] == k, truth[n] == k, sp) for k in range(K)])
        maps = signed_map(truth[n], (1.0, 1.0), np.int64)
        b_rows.append([float(maps[k][epoch[n] == k].sum()) for k in range(K)])
        maps = signed_map(truth[n], sp)
        bmm_rows.append([float(maps[k][epoch[n] == k].astype(np.float64).sum()) for k in range(K)])
    per_slice["hd"].append(hd_rows)
    per_slice["boundary"].append(b_rows)
    per_slice["boundary_mm"].append(bmm_rows)

os.makedirs("expected")
for n, v in {**per_patient, **per_slice}.items():
    np.save(f"expected/val_{n}.npy", np.array(v, dtype=np.float32))
print({n: np.array(v).shape for n, v in {**per_patient, **per_slice}.items()})
