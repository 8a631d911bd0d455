#!/usr/bin/env python3
"""The Python package (python/) against the original's one_hot2dist (scipy) and the `edt` package,
timed in one process on the workloads of docs/benchmarks.md, next to the same maps timed inside
Rust (distmap::distance_maps, call by call alternating with the Python calls): the package's
cost over Rust is the array conversion and the checks. Then a PyTorch DataLoader with 2 workers computing the maps on
the fly for ISLES-like 256x256 slices, with the original's function and with ours, per item in
`__getitem__`, per batch in `collate_fn` (docs/python.md's batch recipe), a batch at a time by
`__getitems__` straight into shared memory, and with no worker process: docs/python.md's
`with_distance_maps` (the guide's code itself), the maps of each batch computed on all cores in a
background thread while the loader builds the next batches; and that recipe under a consumer
that waits per batch, as a training loop waits for its GPU.

Usage: python3 benches/compare_python.py [--quick] [--markdown OUT.md]
It makes its own virtual environment (numpy, scipy, edt, torch from PyPI, and the package
installed from ./python) under ~/.cache/boundary-loss/python-bench-venv; set PYTHON_BENCH_VENV to
use another venv (the script installs what is missing into it).
"""
import os
import re
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


CODES = np.arange(2, dtype=np.uint8)


class CollateWith:
    """The batch recipe of docs/python.md: stack the batch, one one-hot, the maps in one call."""

    def __init__(self, batch_maps):
        self.batch_maps = batch_maps

    def __call__(self, batch):
        import torch

        images = torch.stack([torch.from_numpy(image) for image, _ in batch])
        labels = np.stack([labels for _, labels in batch])
        # uint8 codes: comparing with an int64 arange would cast the labels first (14x slower).
        one_hot = (labels[:, None] == CODES[:, None, None]).view(np.uint8)
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


def guide_recipe(batch_maps):
    """docs/python.md's code blocks run as written, with its `with_distance_maps` calling
    `batch_maps` (looked up at call time) in place of `one_hot2dist_batch`: the guide's recipe
    itself is what is measured."""
    guide = (ROOT / "docs" / "python.md").read_text().split("# Python package", 1)[1]
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", guide.split("\n## ", 1)[0], re.S):
        exec(compile(block, "docs/python.md", "exec"), namespace)
    namespace["one_hot2dist_batch"] = lambda one_hot, resolution, dtype: batch_maps(one_hot)
    return namespace


def one_thread_each(_worker):
    # Two worker processes on two cores: one thread each, no oversubscription.
    bl.set_num_threads(1)


def loader_throughput(shape, maps, n, epochs):
    """Slices per second through a DataLoader in one of four shapes, with 2 workers: "item"
    (`maps` of one slice's one-hot in `__getitem__`), "collate" (`maps` of the batch's one-hot in
    `collate_fn`), "shared" (`maps` of the batch's one-hot in `__getitems__`, in place); with
    none: "thread" (the guide's `with_distance_maps`, `maps` of the batch's one-hot in a
    background thread, the package on all cores)."""
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    if shape == "thread":
        guide = guide_recipe(maps)
        data = IslesLikeSlices(n, None)
        loader = DataLoader(guide["SliceDataset"](data.images, data.labels, maps=False),
                            batch_size=8, shuffle=True)
        bl.set_num_threads(0)
        batches = lambda: guide["with_distance_maps"](loader)  # noqa: E731
    else:
        dataset, collate = {
            "item": lambda: (IslesLikeSlices(n, maps), None),
            "collate": lambda: (IslesLikePairs(n, None), CollateWith(maps)),
            "shared": lambda: (IslesLikeSharedBatches(n, maps), keep_batch),
        }[shape]()
        loader = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=2, collate_fn=collate,
                            worker_init_fn=one_thread_each, persistent_workers=True)
        batches = lambda: loader  # noqa: E731
    try:
        for _ in batches():  # warm-up epoch (workers start)
            pass
        start = time.perf_counter()
        for _ in range(epochs):
            for _ in batches():
                pass
        return n * epochs / (time.perf_counter() - start)
    finally:
        bl.set_num_threads(1)


def overlap_with_training(waits_ms, n, epochs):
    """Slices per second of the guide's `with_distance_maps` when the consumer waits `wait` ms per
    batch (`time.sleep`, as a training loop waits for a GPU step), against the same loader
    computing the maps in the loop itself: how much of the maps' time the background thread
    hides."""
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    bl.set_num_threads(0)
    guide = guide_recipe(ours_batch_maps)
    data = IslesLikeSlices(n, None)
    loader = DataLoader(guide["SliceDataset"](data.images, data.labels, maps=False),
                        batch_size=8, shuffle=True)

    def in_thread(wait):
        for _ in guide["with_distance_maps"](loader):
            time.sleep(wait)

    def in_loop(wait):
        for _, one_hot in loader:
            ours_batch_maps(one_hot.numpy())
            time.sleep(wait)

    def rate(consume, wait):
        start = time.perf_counter()
        for _ in range(epochs):
            consume(wait)
        return n * epochs / (time.perf_counter() - start)

    in_thread(0.0)  # warm-up
    lines = ["| consumer's wait per batch | `with_distance_maps` (slices/s) | maps computed in the "
             "loop (slices/s) |", "|---|---|---|"]
    try:
        for wait in waits_ms:
            lines.append(f"| {wait} ms | {rate(in_thread, wait / 1e3):.0f} | "
                         f"{rate(in_loop, wait / 1e3):.0f} |")
    finally:
        bl.set_num_threads(1)
    return "\n".join(lines)


def main():
    quick = "--quick" in sys.argv
    markdown = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    table = maps_table(0.5 if quick else 2.0)
    print()
    print(table)
    n = 128 if quick else 512
    epochs = 1 if quick else 3
    shapes = ["item", "collate", "shared", "thread"]
    rates = {
        (who, shape): loader_throughput(shape, maps, n, 1 if who == "scipy" else epochs)
        for shape in shapes
        for who, maps in [
            ("scipy", scipy_map if shape == "item" else scipy_batch_maps),
            ("ours", ours_map if shape == "item" else ours_batch_maps),
            ("none", no_map if shape == "item" else no_batch_maps),
        ]
    }
    best_scipy = max(rates["scipy", shape] for shape in shapes)
    best_ours = max(rates["ours", shape] for shape in shapes)
    calls = {"item": "`one_hot2dist`"}

    def row(who, label):
        cells = []
        for shape in shapes:
            rate = rates[who, shape]
            if who == "scipy":
                cells.append(f"{rate:.0f}" + ("" if shape == "item" else " (a loop over the batch)"))
            elif who == "ours":
                cells.append(f"{rate:.0f} ({calls.get(shape, '`one_hot2dist_batch`')}, "
                             f"{rate / rates['scipy', shape]:.1f}x scipy the same way, "
                             f"{rate / best_scipy:.1f}x scipy's best)")
            else:
                cells.append(f"{rate:.0f}")
        return f"| {label} | " + " | ".join(cells) + " |"

    loader = "\n".join([
        "| DataLoader, batch 8, 256x256 K=2 (slices/s) | 2 workers, maps per item in "
        "`__getitem__` | 2 workers, maps per batch in `collate_fn` | 2 workers, batch in shared "
        "memory by `__getitems__` | no worker: `with_distance_maps`, maps in a thread |",
        "|---|---|---|---|---|",
        row("scipy", "scipy one_hot2dist"),
        row("ours", "boundary_loss"),
        row("none", "no distance map (the loader's own cost)"),
        "",
        f"Best shape against best shape: boundary_loss {best_ours:.0f} slices/s, scipy "
        f"{best_scipy:.0f}: **{best_ours / best_scipy:.1f}x**.",
    ])
    overlap = overlap_with_training([0, 2, 3], n, epochs)
    print()
    print(loader)
    print()
    print(overlap)
    if markdown:
        Path(markdown).write_text(table + "\n\n" + loader + "\n\n" + overlap + "\n")


if __name__ == "__main__":
    main()
