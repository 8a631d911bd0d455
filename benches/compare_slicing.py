#!/usr/bin/env python3
"""Slicing WMH: ours (`boundary-loss slice wmh`) against the original's pipeline in Python
(nibabel -> min-max -> scikit-image resize -> scipy one_hot2dist -> npy/PNG per slice), timed in the
same run on the same synthetic raw data (`boundary-loss synth wmh`), 1 and 2 workers, with
ratios. Also checks that both wrote the same arrays.

Usage: python3 benches/compare_slicing.py [--quick] [--markdown OUT.md]
It creates its own virtual environment (numpy, scipy, nibabel, scikit-image from PyPI) under
$XDG_CACHE_HOME/boundary-loss/slice-venv (default ~/.cache/...), outside the repository, and
builds our side with `cargo build --release -p boundary-loss-cli`.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["numpy==2.4.*", "scipy==1.17.*", "nibabel==5.*", "scikit-image==0.25.*", "imageio==2.*"]


sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

bench_venv.run_inside("slice-venv", PACKAGES)


import imageio.v3 as iio  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import distance_transform_edt  # noqa: E402
from skimage.transform import resize  # noqa: E402


def signed_maps(gt, spacing):
    """The original's one_hot2dist on one_hot(gt, K=2), float32."""
    out = np.zeros((2,) + gt.shape, dtype=np.float32)
    for k in range(2):
        pos = gt == k
        if pos.any():
            neg = ~pos
            out[k] = distance_transform_edt(neg, sampling=spacing) * neg \
                - (distance_transform_edt(pos, sampling=spacing) - 1) * pos
    return out


def min_max(x):
    x = x.astype(np.float32)
    x = x - x.min()
    return x / x.max()


def slice_case(args):
    """One WMH case, the original's steps (slice_wmh.py save_slices, without augmentation)."""
    case_dir, dest = args
    case = case_dir.name
    header = nib.load(str(case_dir / "pre/FLAIR.nii.gz")).header
    dx, dy, dz = header.get_zooms()
    flair = np.asarray(nib.load(str(case_dir / "pre/FLAIR.nii.gz")).dataobj)
    t1 = np.asarray(nib.load(str(case_dir / "pre/T1.nii.gz")).dataobj)
    gt = np.asarray(nib.load(str(case_dir / "wmh.nii.gz")).dataobj).astype(np.uint8)
    w, h, z = flair.shape
    opts = dict(mode="constant", preserve_range=True, anti_aliasing=False)
    flair = resize(min_max(flair), (256, 256, z), **opts).astype(np.float32)
    t1 = resize(min_max(t1), (256, 256, z), **opts).astype(np.float32)
    gt = resize(gt, (256, 256, z), order=0, **opts).astype(np.uint8)
    gt[gt == 2] = 0
    # float64 as numpy 1.x computed it (numpy 2 would keep float32 here).
    maps = signed_maps(gt, (float(dx) * w / 256, float(dy) * h / 256, dz))
    for j in range(z):
        name = f"{case}_00_{j:04d}"
        for folder, img in [("flair", flair), ("t1", t1)]:
            iio.imwrite(dest / folder / f"{name}.png", (img[:, :, j] * 255).astype(np.uint8))
        iio.imwrite(dest / "gt" / f"{name}.png", gt[:, :, j])
        np.save(dest / "in_npy" / f"{name}.npy", np.stack([flair[:, :, j], t1[:, :, j]]))
        np.save(dest / "gt_npy" / f"{name}.npy", gt[:, :, j])
        np.save(dest / "3d_distmap" / f"{name}.npy", maps[:, :, :, j])


def python_slicing(raw, dest, workers):
    for folder in ["flair", "t1", "gt", "in_npy", "gt_npy", "3d_distmap"]:
        (dest / folder).mkdir(parents=True)
    jobs = [(d, dest) for d in sorted(raw.iterdir())]
    start = time.perf_counter()
    if workers == 1:
        list(map(slice_case, jobs))
    else:
        with Pool(workers) as pool:
            pool.map(slice_case, jobs)
    return time.perf_counter() - start


def ours(binary, raw, dest, workers):
    start = time.perf_counter()
    subprocess.run([str(binary), "slice", "wmh", "--source", str(raw), "--dest", str(dest),
                    "--retain", "1", "--threads", str(workers)], check=True, capture_output=True)
    return time.perf_counter() - start


def check_same(py_dest, our_dest):
    """Every Python array equals ours (in whichever split ours landed)."""
    worst = 0.0
    for folder in ["in_npy", "gt_npy", "3d_distmap"]:
        for f in sorted((py_dest / folder).iterdir()):
            mine = next(p for p in [our_dest / s / folder / f.name for s in ["train", "val"]] if p.exists())
            a, b = np.load(f), np.load(mine)
            assert a.shape == b.shape, (f, a.shape, b.shape)
            worst = max(worst, float(np.abs(a.astype(np.float64) - b).max()))
    return worst


def main():
    quick = "--quick" in sys.argv
    markdown = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "boundary-loss-cli"], cwd=ROOT, check=True)
    binary = target / "release" / "boundary-loss"
    cases, slices = (3, 8) if quick else (6, 48)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / "raw"
        subprocess.run([str(binary), "synth", "wmh", "--dest", str(raw), "--cases", str(cases),
                        "--slices", str(slices)], check=True, capture_output=True)
        for workers in [1, 2]:
            py_dest, our_dest = tmp / f"py{workers}", tmp / f"ours{workers}"
            t_py = python_slicing(raw, py_dest, workers)
            t_ours = ours(binary, raw, our_dest, workers)
            worst = check_same(py_dest, our_dest)
            rows.append((workers, t_py, t_ours, worst))
            shutil.rmtree(py_dest)
            shutil.rmtree(our_dest)
    lines = [
        f"WMH-like synthetic raw data: {cases} cases x {slices} slices (240x240, 232x256, 132x256 "
        "in-plane), resized to 256x256, npy + PNG per slice.",
        "",
        "| workers | original pipeline (Python) s | ours s | speed-up | max abs difference |",
        "|---|---|---|---|---|",
    ]
    for workers, t_py, t_ours, worst in rows:
        lines.append(f"| {workers} | {t_py:.3f} | {t_ours:.3f} | {t_py / t_ours:.1f}x | {worst:.1e} |")
    text = "\n".join(lines)
    print(text)
    if markdown:
        Path(markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
