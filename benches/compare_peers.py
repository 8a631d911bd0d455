#!/usr/bin/env python3
"""Distance maps: ours against the original's one_hot2dist (scipy) and the `edt` package, timed in
the same run on the same inputs, with ratios. Also checks every output against scipy's.

Usage: python3 benches/compare_peers.py [--quick] [--markdown OUT.md]

A second table times whole commands on the 3-D workloads, the issue's measure: our
`boundary-loss distmap IN.npy OUT.npy --threads 1` as a process (start, read, compute, write f32;
built with `cargo build --release -p boundary-loss-cli`) against np.load + the same maps + np.save
of float32 in this Python process, for the best edt variant and scipy's one_hot2dist.
It creates its own virtual environment (numpy, scipy, edt from PyPI) under
$XDG_CACHE_HOME/boundary-loss/bench-venv (default ~/.cache/...), outside the repository, and
builds our side with `cargo build --release -p distmap --example bench_workloads`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["numpy==2.4.*", "scipy==1.17.*", "edt==3.1.*"]


sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

if __name__ == "__main__":  # imported by compare_python.py, which brings its own venv
    bench_venv.run_inside("bench-venv", PACKAGES)

import numpy as np  # noqa: E402
from scipy.ndimage import distance_transform_edt  # noqa: E402
import edt  # noqa: E402


# ---------------------------------------------------------------- the original (utils.py)
def one_hot2dist(seg, resolution=None, dtype=None):
    """LIVIAETS/boundary-loss utils.one_hot2dist, verbatim but for np.bool -> bool."""
    K = len(seg)
    res = np.zeros_like(seg, dtype=dtype)
    for k in range(K):
        posmask = seg[k].astype(bool)
        if posmask.any():
            negmask = ~posmask
            res[k] = distance_transform_edt(negmask, sampling=resolution) * negmask \
                - (distance_transform_edt(posmask, sampling=resolution) - 1) * posmask
    return res


# ---------------------------------------------------------------- edt variants, same semantics
def edt_per_class(labels, K, spacing, threads):
    """2K binary transforms, as one_hot2dist does with scipy."""
    res = np.zeros((K,) + labels.shape, dtype=np.float32)
    for k in range(K):
        pos = labels == k
        if pos.any():
            neg = ~pos
            res[k] = edt.edt(neg, anisotropy=spacing, parallel=threads) * neg \
                - (edt.edt(pos, anisotropy=spacing, parallel=threads) - 1) * pos
    return res


def edt_multilabel(labels, K, spacing, threads):
    """One multi-label transform of labels + 1 (edt treats 0 as background, so shift the classes)
    gives every class's inside distance; each class's outside needs one binary transform, except
    with K = 2 where class 1's outside is class 0's inside."""
    inside = edt.edt(labels + np.uint8(1), anisotropy=spacing, parallel=threads)
    res = np.zeros((K,) + labels.shape, dtype=np.float32)
    present = [k for k in range(K) if (labels == k).any()]
    for k in present:
        pos = labels == k
        if K == 2 and len(present) == 2:
            outside = inside  # outside class k = inside the other class
        else:
            outside = edt.edt(~pos, anisotropy=spacing, parallel=threads)
        res[k] = np.where(pos, 1 - inside, outside)
    return res


# ---------------------------------------------------------------- workloads
def disk_blob(side, fraction):
    yy, xx = np.mgrid[:side, :side]
    r = np.sqrt(fraction * side * side / np.pi)
    c = side * 0.43
    return (((yy - c) ** 2 + (xx - c * 1.2) ** 2) <= r * r).astype(np.uint8)


def rings(side, K):
    yy, xx = np.mgrid[:side, :side]
    d = np.sqrt((yy - side * 0.5) ** 2 + (xx - side * 0.47) ** 2)
    labels = np.zeros((side, side), np.uint8)
    for k, radius in zip(range(1, K), (0.3, 0.2, 0.1)):
        labels[d <= radius * side] = k
    return labels


def volume(shape, K, seed=0):
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    labels = np.zeros(shape, np.uint8)
    if K == 2:  # a few lesion-like ellipsoids, about 2% of the volume
        for _ in range(5):
            c = [rng.uniform(0.2, 0.8) * n for n in shape]
            r = [rng.uniform(12, 22), rng.uniform(12, 22), rng.uniform(3, 7)]
            labels[((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 <= 1] = 1
    else:  # nested ellipsoids
        for k, scale in zip(range(1, K), (0.35, 0.25, 0.12)):
            d = ((zz - shape[0] / 2) / shape[0]) ** 2 + ((yy - shape[1] / 2) / shape[1]) ** 2 \
                + ((xx - shape[2] / 2) / (shape[2] * 1.2)) ** 2
            labels[d <= scale ** 2] = k
    return labels


def workloads():
    aniso = [0.97, 0.97, 2.5]
    return [
        ("2-D 256x256 K=2, 2% blob", disk_blob(256, 0.02), 2, [1.0, 1.0]),
        ("2-D 256x256 K=4, nested rings", rings(256, 4), 4, [1.0, 1.0]),
        ("2-D 512x512 K=2, 2% blob", disk_blob(512, 0.02), 2, [1.0, 1.0]),
        ("3-D 256x256x64 K=2, aniso", volume((256, 256, 64), 2), 2, aniso),
        ("3-D 256x256x64 K=4, aniso", volume((256, 256, 64), 4), 4, aniso),
    ]


def median_ms(fn, budget_s=2.0, min_runs=3, max_runs=200):
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget_s and len(times) < max_runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def alternated_medians_ms(fns, rounds):
    """Medians of `rounds` runs of each function, run in turns (a, b, a, b, ...), so that this
    machine's drift over minutes falls on every side alike."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times):
            t = time.perf_counter()
            fn()
            spent.append((time.perf_counter() - t) * 1e3)
    return [float(np.median(spent)) for spent in times]


def ours(manifest, threads, out_dir=None):
    binary = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/examples/bench_workloads"
    cmd = [str(binary), str(manifest), str(threads)] + ([str(out_dir)] if out_dir else [])
    lines = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    return {r["name"]: r for r in map(json.loads, lines)}


def main():
    quick = "--quick" in sys.argv
    markdown = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "distmap", "--example", "bench_workloads"],
                   cwd=ROOT, check=True)
    budget = 0.5 if quick else 2.0
    # The inputs, maps and outputs take 0.3-0.5 GB: removed at the end, even on an error.
    with tempfile.TemporaryDirectory(prefix="distmap-bench-") as tmp:
        table = measure(Path(tmp), budget, quick)
    print()
    print(table)
    if markdown:
        Path(markdown).write_text(table + "\n")


def measure(tmp, budget, quick):
    """Both tables of the workloads, their files under `tmp`."""
    manifest, loads = [], workloads()
    for i, (name, labels, K, spacing) in enumerate(loads):
        np.save(tmp / f"w{i}.npy", labels)
        manifest.append({"name": name, "file": f"w{i}.npy", "classes": K, "spacing": spacing})
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    maps_dir = tmp / "maps"
    maps_dir.mkdir()
    ours1 = ours(tmp / "manifest.json", 1, maps_dir)
    ours2 = ours(tmp / "manifest.json", 2)

    rows = []
    for i, (name, labels, K, spacing) in enumerate(loads):
        seg = np.stack([(labels == k) for k in range(K)]).astype(np.uint8)
        reference = one_hot2dist(seg, spacing, dtype=np.float64)
        mine = np.load(maps_dir / f"{name}.npy")
        exact = bool(np.array_equal(mine.view(np.uint64), reference.view(np.uint64)))
        differ = int(np.count_nonzero(mine != reference))
        rel = float(np.max(np.abs(mine - reference) / np.maximum(1.0, np.abs(reference))))
        exact = "yes" if exact else f"{differ} of {mine.size} differ, max rel {rel:.1e}"
        scipy_ms = median_ms(lambda: one_hot2dist(seg, spacing, dtype=np.float64), budget, min_runs=3 if not quick else 1)
        variants = {}
        for label, fn in (("edt per class", edt_per_class), ("edt multi-label", edt_multilabel)):
            out = fn(labels, K, spacing, 1)
            err = float(np.max(np.abs(out - reference)))
            variants[label] = (median_ms(lambda: fn(labels, K, spacing, 1), budget),
                               median_ms(lambda: fn(labels, K, spacing, 2), budget), err)
        best = min(variants, key=lambda v: variants[v][0])
        best1, best2, best_err = variants[best]
        o1, o2 = ours1[name]["f64_ms"], ours2[name]["f64_ms"]
        rows.append((name, scipy_ms, best, best1, best2, best_err, o1, o2, ours1[name]["f32_ms"], exact))
        print(f"{name}: scipy {scipy_ms:.2f} ms | {best} {best1:.2f} ms (2 thr {best2:.2f}, max err {best_err:.1e}) "
              f"| ours {o1:.3f} ms (2 thr {o2:.3f}, f32 {ours1[name]['f32_ms']:.3f}) bit-exact={exact} "
              f"| vs scipy x{scipy_ms / o1:.1f}, vs edt x{best1 / o1:.2f}, 2 threads x{o1 / o2:.2f}", flush=True)

    header = ("| workload | scipy one_hot2dist (ms) | best edt variant, 1 thread (ms) | ours, 1 thread (ms) "
              "| ours, 2 threads (ms) | ours vs scipy | ours vs best edt | ours 2 vs 1 thread | best edt 2 threads (ms) "
              "| ours 2 thr vs edt 2 thr | ours == scipy (f64, bit for bit) |")
    lines = [header, "|" + "---|" * 11]
    for name, scipy_ms, best, best1, best2, best_err, o1, o2, o32, exact in rows:
        lines.append(f"| {name} | {scipy_ms:.2f} | {best1:.3f} ({best}) | {o1:.3f} | {o2:.3f} | "
                     f"{scipy_ms / o1:.1f}x | {best1 / o1:.2f}x | {o1 / o2:.2f}x | {best2:.3f} | {best2 / o2:.2f}x | "
                     f"{exact} |")
    return "\n".join(lines) + "\n\n" + whole_commands(tmp, loads, ours1, budget, quick)


def whole_commands(tmp, loads, ours1, budget, quick):
    """Read, compute and write f32 maps of the 3-D workloads, one thread: our CLI as a process
    against the peers in this process (load + maps + save), ours and edt's in turns. `ours1` is
    the first table's run with one thread, whose f32 maps alone give the command's I/O share."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "boundary-loss-cli"], cwd=ROOT, check=True)
    cli = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/boundary-loss"
    lines = ["| workload (whole command, 1 thread, f32 maps written) | scipy one_hot2dist: load + maps + save (ms) "
             "| edt multi-label: load + maps + save (ms) | ours: `boundary-loss distmap` process (ms) "
             "| ours, maps alone in-process (ms) | ours vs edt | ours vs scipy |",
             "|" + "---|" * 7]
    for i, (name, labels, K, spacing) in enumerate(loads):
        if labels.ndim != 3:
            continue
        # Each side writes its own output, over the one its previous run left (a rerun's case).
        src = tmp / f"w{i}.npy"

        def peer(fn, out):
            def run():
                volume = np.load(src)
                np.save(out, fn(volume).astype(np.float32))
            return run

        scipy_ms = median_ms(peer(lambda v: one_hot2dist(np.stack([(v == k) for k in range(K)]).astype(np.uint8),
                                                          spacing, dtype=np.float64), tmp / f"scipy{i}.npy"),
                             budget, min_runs=1 if quick else 3)
        command = [str(cli), "distmap", str(src), str(tmp / f"ours{i}.npy"), "--classes", str(K),
                   "--spacing", ",".join(map(str, spacing)), "--threads", "1"]
        edt_ms, ours_ms = alternated_medians_ms(
            [peer(lambda v: edt_multilabel(v, K, spacing, 1), tmp / f"edt{i}.npy"),
             lambda: subprocess.run(command, check=True, capture_output=True)],
            7 if quick else 15)
        alone = ours1[name]["f32_ms"]
        lines.append(f"| {name} | {scipy_ms:.1f} | {edt_ms:.1f} | {ours_ms:.1f} | {alone:.1f} | "
                     f"{edt_ms / ours_ms:.2f}x | {scipy_ms / ours_ms:.1f}x |")
        print(f"{name}, whole command: scipy {scipy_ms:.1f} ms, edt {edt_ms:.1f} ms, ours {ours_ms:.1f} ms "
              f"(maps alone {alone:.1f} ms)", flush=True)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
