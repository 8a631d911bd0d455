#!/usr/bin/env python3
"""NIfTI reading: ours against nibabel (what the original's preprocessing scripts use), and our
inflation (flate2's zlib-rs backend) against Python's zlib (C zlib), zlib-ng and Intel's ISA-L
(the `zlib-ng` and `isal` packages), timed in the same run on the same files, with ratios. Files are written by nibabel; medians of 9 reads from the page cache.

nibabel is timed twice: as it returns a volume (`np.asanyarray(img.dataobj)`, Fortran order, the
stored dtype) and converted to what our readers return (row-major float32 for images, uint32
class indices for labels), which is the like-for-like ratio.

Usage: python3 benches/compare_nifti.py [--threads 2] [--markdown OUT.md]
It creates its own venv (numpy, nibabel, zlib-ng, isal from PyPI) under $XDG_CACHE_HOME/boundary-loss/nifti-venv
and runs `cargo bench -p volume-io --bench nifti_read -- --json FILE...` for our side.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

bench_venv.run_inside("nifti-venv", ["numpy==2.4.*", "nibabel==5.*", "zlib-ng==0.5.*", "isal==1.*"])

import isal  # noqa: E402
import isal.isal_zlib  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import zlib_ng  # noqa: E402
import zlib_ng.zlib_ng  # noqa: E402

SHAPE = (512, 512, 61)


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def median_ms(run, repeats=9):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def volumes():
    """Lesion-like uint8 labels, CT-like int16 (soft tissue with noise in a body, air around),
    and the same CT as float32."""
    x, y, z = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in SHAPE), indexing="ij")
    ball = (x - 250) ** 2 + (y - 260) ** 2 + ((z - 30) * 4) ** 2 < 60**2
    stripes = (x % 97 < 3) & (y % 89 < 4)
    labels = ball.astype(np.uint8) + stripes.astype(np.uint8)
    rng = np.random.default_rng(0)
    body = (x - 256) ** 2 + (y - 256) ** 2 < 200**2
    ct = np.where(body, 40 + rng.integers(-32, 32, SHAPE), -1000 + rng.integers(-8, 8, SHAPE))
    ct = ct.astype(np.int16)
    return {"labels_u8": labels, "ct_i16": ct, "image_f32": ct.astype(np.float32) * 0.5}


def nibabel_read(path, like_ours):
    img = nib.load(path, mmap=False)
    data = np.asanyarray(img.dataobj)
    if like_ours:
        dtype = np.uint32 if "labels" in path.name else np.float32
        data = np.ascontiguousarray(data, dtype=dtype)
    return data


def main():
    threads = option("--threads", "2")
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, volume in volumes().items():
            for ext in ("nii", "nii.gz"):
                path = Path(tmp) / f"{name}.{ext}"
                img = nib.Nifti1Image(volume, np.diag([0.5, 0.5, 3.0, 1.0]))
                nib.save(img, path)
                files.append(path)
        env = dict(os.environ, RAYON_NUM_THREADS=threads)
        run = subprocess.run(["cargo", "bench", "-q", "-p", "volume-io", "--bench", "nifti_read",
                              "--", "--json", *map(str, files)],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        ours = {Path(r["file"]).name: r
                for r in map(json.loads, (l for l in run.stdout.splitlines() if l.startswith("{")))}
        rows = []
        for path in files:
            mine = ours[path.name]
            stored = median_ms(lambda: nibabel_read(path, False))
            like = median_ms(lambda: nibabel_read(path, True))
            inflate = None
            if path.suffix == ".gz":
                compressed = path.read_bytes()
                # wbits 31: a gzip member, as the readers see the file.
                inflate = [median_ms(lambda: module.decompressobj(31).decompress(compressed))
                           for module in (zlib, zlib_ng.zlib_ng, isal.isal_zlib)]
            rows.append((path, mine, stored, like, inflate))
    out = [f"NIfTI reading, {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]}, page cache warm, medians of 9; ours "
           f"with {threads} threads (RAYON_NUM_THREADS), nibabel {nib.__version__} with numpy "
           f"{np.__version__}; inflation: Python zlib {zlib.ZLIB_RUNTIME_VERSION}, zlib-ng "
           f"{zlib_ng.zlib_ng.ZLIBNG_VERSION} (python-zlib-ng {zlib_ng.__version__}), ISA-L "
           f"(python-isal {isal.__version__})",
           "",
           "| file | on disk (MB) | ours (ms) | ours, voxels (MB/s) | nibabel as stored (ms) | "
           "nibabel, same array as ours (ms) | ours / nibabel, same array | inflate: ours, zlib-rs "
           "(ms) | inflate: zlib (ms) | inflate: zlib-ng (ms) | inflate: ISA-L (ms) | "
           "inflate: ours / zlib, / zlib-ng, / ISA-L |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for path, mine, stored, like, inflate in rows:
        ms = mine["ms"]
        voxels = mine["voxel_bytes"] / ms / 1e3
        row = (f"| {path.name} | {mine['disk_bytes'] / 1e6:.1f} | {ms:.1f} | {voxels:,.0f} | "
               f"{stored:.1f} | {like:.1f} | {like / ms:.2f}x |")
        if inflate is None:
            row += " | | | | |"
        else:
            z = mine["inflate_zlib_rs_ms"]
            theirs = " | ".join(f"{t:.1f}" for t in inflate)
            ratios = ", ".join(f"{t / z:.2f}x" for t in inflate)
            row += f" {z:.1f} | {theirs} | {ratios} |"
        out.append(row)
    text = "\n".join(out)
    print(text)
    markdown = option("--markdown", None)
    if markdown:
        Path(markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
