#!/usr/bin/env python3
"""Measures the empty-slice gradient hole in PyTorch, on a data set in the original layout.

For every training slice (`DATASET/train/gt_npy/*.npy`), a prediction that is right on the
lesion (p = 0.9 inside, 0.05 outside) and, on slices without lesion, paints a false-positive disc
of about FP pixels at p = 0.9. The script reports, per loss, the loss on the slices without
lesion and the largest |d loss / d p_lesion| over their false-positive pixels:

* the original's GeneralizedDice (LIVIAETS/boundary-loss losses.py, per-image weights
  1 / (|g_k| + 1e-10)^2), on each slice alone and on batches of 8;
* MONAI's GeneralizedDiceLoss(batch=True) on the same batches (when monai is installed);
* the original's SurfaceLoss with the original's all-zero map of an absent class.

    python3 -m venv venv && venv/bin/pip install torch monai numpy
    venv/bin/python scripts/empty_slice_gradient.py boundary-loss-demo/results/demo/data
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import einsum


def original_generalized_dice(probs, target, idc):
    """losses.py GeneralizedDice.__call__, as published."""
    pc = probs[:, idc, ...].type(torch.float32)
    tc = target[:, idc, ...].type(torch.float32)
    w = 1 / ((einsum("bkwh->bk", tc).type(torch.float32) + 1e-10) ** 2)
    intersection = w * einsum("bkwh,bkwh->bk", pc, tc)
    union = w * (einsum("bkwh->bk", pc) + einsum("bkwh->bk", tc))
    divided = 1 - 2 * (einsum("bk->b", intersection) + 1e-10) / (einsum("bk->b", union) + 1e-10)
    return divided.mean()


def original_surface_loss(probs, dist_maps, idc):
    """losses.py SurfaceLoss.__call__."""
    pc = probs[:, idc, ...].type(torch.float32)
    dc = dist_maps[:, idc, ...].type(torch.float32)
    return einsum("bkwh,bkwh->bkwh", pc, dc).mean()


def prediction(labels, fp_pixels):
    """Lesion probability: 0.9 on the lesion, 0.05 elsewhere, a false-positive disc on empty
    slices."""
    p = np.where(labels > 0, 0.9, 0.05).astype(np.float32)
    if not (labels > 0).any():
        h, w = labels.shape
        yy, xx = np.mgrid[:h, :w]
        radius = np.sqrt(fp_pixels / np.pi)
        p[(yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= radius**2] = 0.9
    return p


def measure(loss_fn, labels_batch, fp_pixels):
    """Returns (loss, largest |grad| over the false-positive pixels of the empty slices, largest
    |grad| over the lesion pixels of the batch, for scale)."""
    p1 = torch.tensor(np.stack([prediction(l, fp_pixels) for l in labels_batch]))
    p1.requires_grad_(True)
    probs = torch.stack([1 - p1, p1], dim=1)
    target = torch.tensor(np.stack([np.stack([l == 0, l > 0]) for l in labels_batch])).float()
    loss = loss_fn(probs, target)
    loss.backward()
    empty = torch.tensor([not (l > 0).any() for l in labels_batch])
    fp = (p1.detach() > 0.5) & empty[:, None, None]
    grads = p1.grad.abs()[fp]
    lesion = p1.grad.abs()[torch.tensor(np.stack(labels_batch) > 0)]
    largest = lambda g: float(g.max()) if len(g) else float("nan")
    return float(loss.detach()), largest(grads), largest(lesion)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--fp-pixels", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    files = sorted((args.dataset / "train" / "gt_npy").glob("*.npy"))
    if not files:
        sys.exit(f"{args.dataset}/train/gt_npy: no .npy files")
    labels = [np.load(f) for f in files]
    empty = [l for l in labels if not (l > 0).any()]
    print(f"{len(files)} training slices, {len(empty)} without lesion; "
          f"false positives of ~{args.fp_pixels} pixels at p = 0.9 on those\n")

    gdl = lambda p, t: original_generalized_dice(p, t, [0, 1])
    rows = []
    alone = [measure(gdl, [l], args.fp_pixels) for l in empty]
    with_lesion = [measure(gdl, [l], args.fp_pixels) for l in labels if (l > 0).any()]
    rows.append(("original GDL, each slice alone", np.mean([o[0] for o in alone]),
                 np.max([o[1] for o in alone]), np.median([o[2] for o in with_lesion])))

    zero_maps = lambda p, t: original_surface_loss(p, torch.zeros_like(t), [1])
    loss, grad, _ = measure(zero_maps, empty[: args.batch], args.fp_pixels)
    rows.append(("original SurfaceLoss, absent class map = 0", loss, grad, float("nan")))

    batches = [labels[i: i + args.batch] for i in range(0, len(labels), args.batch)]
    mixed = [b for b in batches if any(not (l > 0).any() for l in b)]
    original = [measure(gdl, b, args.fp_pixels) for b in mixed]
    rows.append((f"original GDL, batches of {args.batch}", np.mean([o[0] for o in original]),
                 np.max([o[1] for o in original]), np.median([o[2] for o in original])))
    try:
        from monai.losses import GeneralizedDiceLoss

        per_image = GeneralizedDiceLoss(smooth_nr=2e-10, smooth_dr=1e-10)
        alone = [measure(lambda p, t: per_image(p, t), [l], args.fp_pixels) for l in empty]
        lesion = [measure(lambda p, t: per_image(p, t), [l], args.fp_pixels)
                  for l in labels if (l > 0).any()]
        rows.append(("MONAI GDL (per image: absent weight = largest), each slice alone",
                     np.mean([o[0] for o in alone]), np.max([o[1] for o in alone]),
                     np.median([o[2] for o in lesion])))
        monai_loss = GeneralizedDiceLoss(batch=True, smooth_nr=2e-10, smooth_dr=1e-10)
        batch = [measure(lambda p, t: monai_loss(p, t), b, args.fp_pixels) for b in mixed]
        rows.append((f"MONAI GDL batch=True, batches of {args.batch}", np.mean([o[0] for o in batch]),
                     np.median([o[1] for o in batch]), np.median([o[2] for o in batch])))
    except ImportError:
        print("(monai not installed: its row is left out)")

    print("| loss | loss (mean) | false-positive pixel: d loss / d p | lesion pixel: d loss / d p |")
    print("|---|---|---|---|")
    for name, loss, grad, lesion in rows:
        print(f"| {name} | {loss:.4f} | {grad:.1e} | {lesion:.1e} |")
    print("\nFalse-positive column: the largest |gradient| over those pixels (for MONAI's row, the "
          "median over its batches); lesion column: the median over slices or batches of the "
          "largest |gradient| on lesion pixels, for scale.")


if __name__ == "__main__":
    main()
