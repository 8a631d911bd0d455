#!/usr/bin/env python3
"""The Python package (python/) against the original's one_hot2dist (scipy) and the `edt` package,
timed in one process on the workloads of docs/benchmarks.md, next to the same maps timed inside
Rust (distmap::distance_maps, call by call alternating with the Python calls): the package's
cost over Rust is the array conversion and the checks. Then a PyTorch DataLoader with 2 workers computing the maps on
the fly for ISLES-like 256x256 slices, with the original's function and with ours, per item in
`__getitem__`, per batch in `collate_fn` (docs/python.md's batch recipe), and a batch at a time
by `__getitems__` straight into shared memory.

Usage: python3 benches/compare_python.py [--quick] [--markdown OUT.md]
It makes its own virtual environment (numpy, scipy, edt, torch from PyPI, and the package
installed from ./python) under ~/.cache/boundary-loss/python-bench-venv; set PYTHON_BENCH_VENV to
use another venv (the script installs what is missing into it).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["numpy", "scipy", "edt", "torch"]


def install_ours(python):
    """The peers' packages that are missing, and the package from ./python (rebuilt)."""
    missing = [p for p in PACKAGES
               if subprocess.run([str(python), "-c", f"import {p}"], capture_output=True).returncode]
    if missing:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *missing], check=True)
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(bench_venv.CACHE / "target-python"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps",
                    str(ROOT / "python")], check=True, env=env)


sys.path.insert(0, str(ROOT / "benches"))
import bench_venv  # noqa: E402

bench_venv.run_inside("python-bench-venv", PACKAGES, override="PYTHON_BENCH_VENV",
                      setup=install_ours)

import numpy as np  # noqa: E402

import compare_peers as peers  # noqa: E402  (the workloads, the original and the edt variants)

import boundary_loss as bl  # noqa: E402


def maps_table(budget):
    loads = peers.workloads()
    bl.set_num_threads(1)
    exact, scipy_ms, edt_ms = {}, {}, {}
    for name, labels, K, spacing in loads:
        seg = np.stack([(labels == k) for k in range(K)]).astype(np.uint8)
        reference = peers.one_hot2dist(seg, spacing, dtype=np.float64)
        mine = bl.one_hot2dist(seg, spacing, dtype=np.float64)
        exact[name] = bool(np.array_equal(mine.view(np.uint64), reference.view(np.uint64)))
        scipy_ms[name] = peers.median_ms(lambda: peers.one_hot2dist(seg, spacing, np.float64), budget)
        edt_ms[name] = min(peers.median_ms(lambda: fn(labels, K, spacing, 1), budget)
                           for fn in (peers.edt_per_class, peers.edt_multilabel))
    # This machine's speed drifts by tens of percent over minutes, so the Python calls and the
    # same maps timed inside Rust (`_time_label_maps`: distmap::distance_maps to float64 on the
    # package's pool, no conversion) alternate call by call, and each keeps its median.
    rust_ms, one_hot_ms, label_ms = {}, {}, {}
    for name, labels, K, spacing in loads:
        seg = np.stack([(labels == k) for k in range(K)]).astype(np.uint8)
        samples = ([], [], [])
        start = time.perf_counter()
        while len(samples[0]) < 5 or (time.perf_counter() - start < 3 * budget
                                       and len(samples[0]) < 200):
            t = time.perf_counter()
            bl.one_hot2dist(seg, spacing, dtype=np.float64)
            samples[0].append(time.perf_counter() - t)
            t = time.perf_counter()
            bl.label2dist(labels, K, spacing, dtype=np.float64)
            samples[1].append(time.perf_counter() - t)
            samples[2].append(bl._time_label_maps(labels, K, spacing)[0])
        one_hot_ms[name], label_ms[name], rust_ms[name] = (
            float(np.median(x[1:])) * 1e3 for x in samples)  # the first call warms up
    rows = []
    for name, *_ in loads:
        rows.append((name, scipy_ms[name], edt_ms[name], rust_ms[name], one_hot_ms[name],
                     label_ms[name], exact[name]))
        print(f"{name}: scipy {scipy_ms[name]:.2f} | edt {edt_ms[name]:.3f} | Rust {rust_ms[name]:.3f} | "
              f"one_hot2dist {one_hot_ms[name]:.3f} | label2dist {label_ms[name]:.3f} ms | "
              f"exact={exact[name]}", flush=True)
    lines = [
        "| workload | scipy one_hot2dist (ms) | best edt (ms) | Rust distance_maps (ms) "
        "| Python one_hot2dist (ms) | Python label2dist (ms) | Python vs scipy | Python vs edt "
        "| Rust vs edt | one_hot2dist / Rust time | label2dist / Rust time | == scipy |",
        "|" + "---|" * 12,
    ]
    for name, scipy_ms, edt_ms, rust_ms, one_hot_ms, label_ms, exact in rows:
        lines.append(
            f"| {name} | {scipy_ms:.2f} | {edt_ms:.3f} | {rust_ms:.3f} | {one_hot_ms:.3f} | "
            f"{label_ms:.3f} | {scipy_ms / one_hot_ms:.1f}x | {edt_ms / one_hot_ms:.2f}x | "
            f"{edt_ms / rust_ms:.2f}x | {one_hot_ms / rust_ms:.3f} | {label_ms / rust_ms:.3f} | "
            f"{'yes' if exact else 'no (1 ulp, see above)'} |")
    return "\n".join(lines)


class IslesLikeSlices:
    """256x256 slices with one or two small lesions (about 1 % of the pixels), as `Dataset`
    returns them for the boundary loss: image, one-hot target, distance map."""

    def __init__(self, n, maps):
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[:256, :256]
        self.labels = np.zeros((n, 256, 256), np.uint8)
        for i in range(n):
            for _ in range(rng.integers(1, 3)):
                cy, cx, r = rng.uniform(60, 196), rng.uniform(60, 196), rng.uniform(5, 14)
                self.labels[i][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
        self.images = rng.standard_normal((n, 1, 256, 256)).astype(np.float32)
        self.maps = maps

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        import torch

        one_hot = np.stack([self.labels[i] == 0, self.labels[i] == 1]).astype(np.uint8)
        dist = self.maps(one_hot)
        return (torch.from_numpy(self.images[i]), torch.from_numpy(one_hot),
                torch.from_numpy(np.asarray(dist, dtype=np.float32)))


class IslesLikePairs(IslesLikeSlices):
    """The same slices as (image, labels) pairs: the maps come from the batch's `collate_fn`."""

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class CollateWith:
    """The batch recipe of docs/python.md: stack the batch, one one-hot, the maps in one call."""

    def __init__(self, batch_maps):
        self.batch_maps = batch_maps

    def __call__(self, batch):
        import torch

        images = torch.stack([torch.from_numpy(image) for image, _ in batch])
        labels = np.stack([labels for _, labels in batch])
        one_hot = (labels[:, None] == np.arange(2)[:, None, None]).astype(np.uint8)
        return images, torch.from_numpy(one_hot), torch.from_numpy(self.batch_maps(one_hot))


class IslesLikeSharedBatches(IslesLikeSlices):
    """The same slices fetched a batch at a time (`__getitems__`, which the loader calls instead
    of `__getitem__` when a dataset has it), written straight into tensors in shared memory, the
    storage the loader would otherwise copy every collated tensor into: no per-item tensors, no
    stacking, no copy on the way to the main process. `maps(one_hot)` gives the batch's maps."""

    def __getitems__(self, indices):
        import torch

        def shared(shape, dtype):
            # A storage in shared memory, allocated as PyTorch's `default_collate` allocates
            # its output in a worker; the batch is then written into it in place.
            nbytes = int(np.prod(shape)) * torch.empty((), dtype=dtype).element_size()
            storage = torch.UntypedStorage._new_shared(nbytes)
            return torch.empty(0, dtype=dtype).set_(storage, 0, shape)

        b = len(indices)
        images = shared((b, 1, 256, 256), torch.float32)
        one_hot = shared((b, 2, 256, 256), torch.uint8)
        dist = shared((b, 2, 256, 256), torch.float32)
        np.take(self.images, indices, axis=0, out=images.numpy())
        labels = self.labels[indices]
        np.equal(labels, 0, out=one_hot.numpy()[:, 0].view(bool))
        np.equal(labels, 1, out=one_hot.numpy()[:, 1].view(bool))
        dist.numpy()[...] = self.maps(one_hot.numpy())
        return images, one_hot, dist


def keep_batch(batch):
    """`collate_fn` of the shared-memory batches: already a batch."""
    return batch


def ours_batch_maps(one_hot):
    return bl.one_hot2dist_batch(one_hot, None, np.float32)


def scipy_batch_maps(one_hot):
    return np.stack([peers.one_hot2dist(item, None, np.float32) for item in one_hot])


def no_batch_maps(one_hot):
    return np.zeros(one_hot.shape, np.float32)


def ours_map(one_hot):
    return bl.one_hot2dist(one_hot, None, np.float32)


def scipy_map(one_hot):
    return peers.one_hot2dist(one_hot, None, np.float32)


def no_map(one_hot):
    return np.zeros(one_hot.shape, np.float32)


def one_thread_each(_worker):
    # Two worker processes on two cores: one thread each, no oversubscription.
    bl.set_num_threads(1)


def loader_throughput(shape, maps, n, epochs):
    """Slices per second through a 2-worker DataLoader in one of three shapes: "item" (`maps`
    of one slice's one-hot in `__getitem__`), "collate" (`maps` of the batch's one-hot in
    `collate_fn`) or "shared" (`maps` of the batch's one-hot in `__getitems__`, in place)."""
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    dataset, collate = {
        "item": lambda: (IslesLikeSlices(n, maps), None),
        "collate": lambda: (IslesLikePairs(n, None), CollateWith(maps)),
        "shared": lambda: (IslesLikeSharedBatches(n, maps), keep_batch),
    }[shape]()
    loader = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=2, collate_fn=collate,
                        worker_init_fn=one_thread_each, persistent_workers=True)
    for _ in loader:  # warm-up epoch (workers start)
        pass
    start = time.perf_counter()
    for _ in range(epochs):
        for _ in loader:
            pass
    return n * epochs / (time.perf_counter() - start)


def main():
    quick = "--quick" in sys.argv
    markdown = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    table = maps_table(0.5 if quick else 2.0)
    print()
    print(table)
    n = 128 if quick else 512
    epochs = 1 if quick else 3
    scipy_rate = loader_throughput("item", scipy_map, n, 1)
    ours_rate = loader_throughput("item", ours_map, n, epochs)
    none_rate = loader_throughput("item", no_map, n, epochs)
    scipy_batch = loader_throughput("collate", scipy_batch_maps, n, 1)
    ours_batch = loader_throughput("collate", ours_batch_maps, n, epochs)
    none_batch = loader_throughput("collate", no_batch_maps, n, epochs)
    scipy_shared = loader_throughput("shared", scipy_batch_maps, n, 1)
    ours_shared = loader_throughput("shared", ours_batch_maps, n, epochs)
    none_shared = loader_throughput("shared", no_batch_maps, n, epochs)
    best_scipy = max(scipy_rate, scipy_batch, scipy_shared)
    loader = (
        "| DataLoader, 2 workers, batch 8, 256x256 K=2 | maps per item in `__getitem__` (slices/s) "
        "| maps per batch in `collate_fn` (slices/s) "
        "| batch in shared memory by `__getitems__` (slices/s) |\n|---|---|---|---|\n"
        f"| scipy one_hot2dist | {scipy_rate:.0f} | {scipy_batch:.0f} (a loop over the batch) "
        f"| {scipy_shared:.0f} (a loop over the batch) |\n"
        f"| boundary_loss | {ours_rate:.0f} (`one_hot2dist`, {ours_rate / scipy_rate:.1f}x scipy) "
        f"| {ours_batch:.0f} (`one_hot2dist_batch`, {ours_batch / scipy_rate:.1f}x scipy per item, "
        f"{ours_batch / scipy_batch:.1f}x scipy per batch) "
        f"| {ours_shared:.0f} (`one_hot2dist_batch`, {ours_shared / scipy_shared:.1f}x scipy "
        f"the same way, {ours_shared / best_scipy:.1f}x scipy's best) |\n"
        f"| no distance map (the loader's own cost) | {none_rate:.0f} | {none_batch:.0f} "
        f"| {none_shared:.0f} |\n\n"
        f"With a map that cost nothing, the fastest shape would reach "
        f"{max(none_rate, none_batch, none_shared) / best_scipy:.1f}x scipy's fastest shape."
    )
    print()
    print(loader)
    if markdown:
        Path(markdown).write_text(table + "\n\n" + loader + "\n")


if __name__ == "__main__":
    main()
