#!/usr/bin/env python3
"""Surface metrics: ours against medpy (hd95) and MONAI (compute_hausdorff_distance, 95th
percentile) on 256x256x64 anisotropic mask pairs, timed in the same run, with ratios. Also checks
that the values agree.

Usage: python3 benches/compare_surface.py [--markdown OUT.md]
It creates its own virtual environment (numpy, scipy, medpy, monai and torch from PyPI, about
3 GB) under $XDG_CACHE_HOME/boundary-loss/surface-venv (default ~/.cache/...), outside the
repository, unless SURFACE_PYTHON names a Python that already has them; builds our side with
`cargo build --release -p segmentation-metrics --example surface_workloads`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["numpy==2.4.*", "scipy==1.17.*", "medpy==0.5.*", "monai==1.6.*", "torch"]


sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

bench_venv.run_inside("surface-venv", PACKAGES, override="SURFACE_PYTHON")


import numpy as np  # noqa: E402
import torch  # noqa: E402
from medpy.metric import binary  # noqa: E402
from monai.metrics import compute_hausdorff_distance  # noqa: E402

SHAPE = (256, 256, 64)
SPACING = [0.94, 0.94, 3.0]


def ellipsoid(centre, radii, wobble, seed):
    """An ellipsoid with a low-frequency radial wobble (not a perfect shape)."""
    rng = np.random.default_rng(seed)
    grid = np.indices(SHAPE, dtype=np.float32)
    d = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii))
    phase = rng.uniform(0, 2 * np.pi, 3)
    bumps = 1 + wobble * (np.sin(grid[0] / 9 + phase[0]) * np.cos(grid[1] / 11 + phase[1]) + np.sin(grid[2] / 5 + phase[2]))
    return d <= bumps


def workloads():
    lesion = ellipsoid((120, 130, 30), (22, 18, 6), 0.15, 1)
    lesion_pred = ellipsoid((123, 127, 31), (20, 20, 6), 0.2, 2)
    organ = ellipsoid((128, 128, 32), (90, 70, 22), 0.1, 3)
    organ_pred = ellipsoid((131, 126, 31), (86, 74, 21), 0.12, 4)
    return {
        "lesion (2% of the volume)": (lesion_pred, lesion),
        "organ (30% of the volume)": (organ_pred, organ),
    }


def median_ms(run, min_runs=3, budget_s=4.0):
    run()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget_s and len(times) < 50):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main():
    markdown = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "segmentation-metrics", "--example", "surface_workloads"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    ours_bin = target / "release" / "examples" / "surface_workloads"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = []
        cases = workloads()
        for i, (name, (p, g)) in enumerate(cases.items()):
            np.save(f"{tmp}/{i}.pred.npy", p.astype(np.uint8))
            np.save(f"{tmp}/{i}.gt.npy", g.astype(np.uint8))
            manifest.append({"name": name, "pred": f"{i}.pred.npy", "gt": f"{i}.gt.npy", "spacing": SPACING})
        Path(f"{tmp}/manifest.json").write_text(json.dumps(manifest))
        ours = {}
        for threads in (1, 2):
            out = subprocess.run([str(ours_bin), f"{tmp}/manifest.json", str(threads)], check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                r = json.loads(line)
                ours[(r["name"], threads)] = r
        torch.set_num_threads(1)
        for name, (p, g) in cases.items():
            medpy_value = binary.hd95(p, g, voxelspacing=SPACING)
            medpy_ms = median_ms(lambda: binary.hd95(p, g, voxelspacing=SPACING))
            tp, tg = (torch.from_numpy(m[None, None].astype(np.float32)) for m in (p, g))
            monai_value = float(compute_hausdorff_distance(tp, tg, percentile=95, spacing=SPACING).item())
            monai_ms = median_ms(lambda: compute_hausdorff_distance(tp, tg, percentile=95, spacing=SPACING))
            o1, o2 = ours[(name, 1)], ours[(name, 2)]
            assert o1["hd95_medpy"] == medpy_value, (o1["hd95_medpy"], medpy_value)
            assert abs(o1["hd95_monai"] - monai_value) <= 1e-6 * monai_value, (o1["hd95_monai"], monai_value)
            rows.append([name, f"{medpy_ms:.1f}", f"{monai_ms:.1f}", f"{o1['hd95_ms']:.2f}", f"{o2['hd95_ms']:.2f}",
                         f"{o2['all_ms']:.2f}", f"{medpy_ms / o1['hd95_ms']:.1f}x", f"{medpy_ms / o2['hd95_ms']:.1f}x",
                         f"{monai_ms / o2['hd95_ms']:.1f}x", "yes (bit for bit)"])
    header = ["pair, 256x256x64, spacing 0.94x0.94x3 mm", "medpy hd95 (ms)", "MONAI hd95 (ms)", "ours hd95, 1 thread (ms)",
              "ours hd95, 2 threads (ms)", "ours all 5 metrics, 2 threads (ms)", "ours 1 thr vs medpy", "ours 2 thr vs medpy",
              "ours 2 thr vs MONAI", "HD95 == medpy"]
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "".join("| " + " | ".join(r) + " |\n" for r in rows)
    print(table)
    if markdown:
        Path(markdown).write_text(table)


if __name__ == "__main__":
    main()
