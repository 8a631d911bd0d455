#!/usr/bin/env python3
"""Training step (forward + backward + Adam) of the faithful UNet and ENet: PyTorch on the CPU
against ours (Burn 0.22.1, flex backend), same networks, same batch, same loss, same threads, in
the same run. Prints steps/s and the ratio.

Usage: python3 benches/compare_torch.py [--threads 2] [--steps 3] [--batch 8] [--side 256]
                                        [--device cpu|cuda:N|wgpu:N|vulkan:N]
--device is our side's backend; PyTorch runs on the CPU for `cpu` and on CUDA (eager, the same
GPU) for the others. A GPU device needs our bench built with that backend's feature: cargo does
it (`--features cuda`, ...) unless TRAIN_STEP_BIN names a binary built so (benches/gpu_check.sh).
It creates its own venv with torch and numpy from PyPI (about 2.8 GB, cached under
$XDG_CACHE_HOME/boundary-loss/torch-venv, outside the repository) and runs
`cargo bench --workspace --bench train_step` for our side (`-p boundary-loss --features BACKEND` for a GPU).

The PyTorch networks below are written from the layer-by-layer description of the original
(UNet: 18,704,855 parameters for 5 modalities and 2 classes; ENet: 463,475 for 1 and 4); the
script checks both counts before timing.
"""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

bench_venv.run_inside("torch-venv", ["torch", "numpy"], override="PYTHON_BENCH_VENV")


import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


# Our backend, and the device PyTorch runs on against it.
OURS_DEVICE = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"
TORCH_DEVICE = "cpu" if OURS_DEVICE == "cpu" else (
    OURS_DEVICE if OURS_DEVICE.startswith("cuda") else "cuda:0")


def synchronize():
    if TORCH_DEVICE != "cpu":
        torch.cuda.synchronize()


# ------------------------------------------------------------------ UNet (base 64)
# 2-D layers by default; dim=3 gives the original's UNet3D (benches/compare_torch_3d.py).
LAYERS = {2: (nn.Conv2d, nn.BatchNorm2d), 3: (nn.Conv3d, nn.BatchNorm3d)}


def conv_batch(nin, nout, stride=1, dim=2):
    conv, norm = LAYERS[dim]
    return nn.Sequential(conv(nin, nout, 3, stride, 1, bias=False), norm(nout), nn.PReLU())


class UpSampleConv(nn.Module):
    def __init__(self, nin, nout, dim=2):
        super().__init__()
        self.convs = nn.Sequential(conv_batch(nin, nout, dim=dim), conv_batch(nout, nout, dim=dim))

    def forward(self, x):
        return self.convs(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResidualConv(nn.Module):
    def __init__(self, n, dim=2):
        super().__init__()
        conv, norm = LAYERS[dim]
        self.convs = nn.Sequential(conv_batch(n, n, dim=dim), conv(n, n, 3, 1, 1), norm(n))

    def forward(self, x):
        return F.leaky_relu(self.convs(x) + x, 0.2)


class UNet(nn.Module):
    def __init__(self, nin, nout, g=64, dim=2):
        super().__init__()
        pair = lambda a, b, s=1: nn.Sequential(conv_batch(a, b, s, dim), conv_batch(b, b, dim=dim))  # noqa: E731
        self.conv0, self.conv1, self.conv2 = pair(nin, g), pair(g, 2 * g, 2), pair(2 * g, 4 * g, 2)
        self.bridge = nn.Sequential(conv_batch(4 * g, 8 * g, 2, dim), ResidualConv(8 * g, dim),
                                    conv_batch(8 * g, 8 * g, dim=dim))
        self.deconv1, self.conv5 = UpSampleConv(8 * g, 8 * g, dim), pair(12 * g, 4 * g)
        self.deconv2, self.conv6 = UpSampleConv(4 * g, 4 * g, dim), pair(6 * g, 2 * g)
        self.deconv3, self.conv7 = UpSampleConv(2 * g, 2 * g, dim), pair(3 * g, g)
        self.final = LAYERS[dim][0](g, nout, 1)

    def forward(self, x):
        x0 = self.conv0(x)
        x1 = self.conv1(x0)
        x2 = self.conv2(x1)
        y0 = self.deconv1(self.bridge(x2))
        y1 = self.deconv2(self.conv5(torch.cat((y0, x2), 1)))
        y2 = self.deconv3(self.conv6(torch.cat((y1, x1), 1)))
        return self.final(self.conv7(torch.cat((y2, x0), 1)))


# ------------------------------------------------------------------ ENet
def cbp(nin, nout, k=1):
    return nn.Sequential(nn.Conv2d(nin, nout, k, padding=k // 2), nn.BatchNorm2d(nout), nn.PReLU())


def middle(p, kind, d=1):
    if kind == "regular":
        return cbp(p, p, 3)
    if kind == "dilated":
        return nn.Sequential(nn.Conv2d(p, p, 3, padding=d, dilation=d), nn.BatchNorm2d(p), nn.PReLU())
    return nn.Sequential(nn.Conv2d(p, p, (5, 1), padding=(2, 0)), nn.Conv2d(p, p, (1, 5), padding=(0, 2)),
                         nn.BatchNorm2d(p), nn.PReLU())


class Bottleneck(nn.Module):
    def __init__(self, nin, nout, kind="regular", d=1, skip="identity", rate=0.01):
        super().__init__()
        p = nin // 4
        self.side = nn.Sequential(cbp(nin, p), middle(p, kind, d), cbp(p, nout), nn.Dropout(rate))
        self.skip = {"identity": nn.Identity(), "block": cbp(nin, nout),
                     "conv": nn.Conv2d(nin, nout, 3, padding=1)}[skip]
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(self.skip(x) + self.side(x))


class Down(nn.Module):
    def __init__(self, nin, nout):
        super().__init__()
        p = nin // 4
        reduce = nn.Sequential(nn.Conv2d(nin, p, 2, stride=2), nn.BatchNorm2d(p), nn.PReLU())
        self.side = nn.Sequential(reduce, cbp(p, p, 3), cbp(p, nout), nn.Dropout(0.01))
        self.act, self.nout = nn.PReLU(), nout

    def forward(self, x):
        pooled, indices = F.max_pool2d(x, 2, return_indices=True)
        b, c, h, w = pooled.shape
        main = torch.cat((pooled, pooled.new_zeros(b, self.nout - c, h, w)), 1)
        return self.act(main + self.side(x)), indices


class Up(nn.Module):
    def __init__(self, nin, nout):
        super().__init__()
        p = nin // 4
        self.side = nn.Sequential(cbp(nin, p, 3), cbp(p, p, 3), cbp(p, nout), nn.Dropout(0.01))
        self.unused = nn.PReLU()

    def forward(self, x):
        return self.side(x)


class ENet(nn.Module):
    def __init__(self, nin, nout):
        super().__init__()
        self.conv0 = nn.Conv2d(nin, 16 - nin, 3, stride=2, padding=1)
        self.bn1_0 = Down(16, 64)
        self.bn1 = nn.Sequential(*[Bottleneck(64, 64) for _ in range(4)])
        self.bn2_0 = Down(64, 128)
        stage = lambda: [Bottleneck(128, 128, rate=0.1), Bottleneck(128, 128, "dilated", 2),  # noqa: E731
                         Bottleneck(128, 128, "asym", rate=0.1), Bottleneck(128, 128, "dilated", 4),
                         Bottleneck(128, 128, rate=0.1), Bottleneck(128, 128, "dilated", 8),
                         Bottleneck(128, 128, "asym", rate=0.1)]
        self.bn23 = nn.Sequential(*stage(), Bottleneck(128, 128, "dilated", 16), *stage(),
                                  Bottleneck(128, 64, "dilated", 16, skip="conv"))
        self.bn4_0, self.prelu_up_1 = Up(128, 64), nn.PReLU()
        self.bn4 = nn.Sequential(Bottleneck(64, 64, rate=0.1), Bottleneck(64, 16, skip="block", rate=0.1))
        self.bn5_0, self.bn5_1, self.prelu_up_2 = Up(32, 16), Bottleneck(16, 16, rate=0.1), nn.PReLU()
        self.deconv3 = UpSampleConv(16, 16)
        self.final = nn.Conv2d(16, nout, 1)
        self.out_025, self.out_05 = nn.Conv2d(128, nout, 3, padding=1), nn.Conv2d(16, nout, 3, padding=1)

    def forward(self, x):
        initial = torch.cat((self.conv0(x), F.max_pool2d(x, 2)), 1)
        y, idx1 = self.bn1_0(initial)
        stage1 = self.bn1(y)
        y, idx2 = self.bn2_0(stage1)
        u0 = F.max_unpool2d(self.bn23(y), idx2, 2)
        up1 = self.prelu_up_1(u0 + self.bn4_0(torch.cat((u0, stage1), 1)))
        u1 = F.max_unpool2d(self.bn4(up1), idx1, 2)
        up2 = self.prelu_up_2(u1 + self.bn5_1(self.bn5_0(torch.cat((u1, initial), 1))))
        return self.final(self.deconv3(up2))


def loss_of(probs, target, maps):
    """Generalized Dice over all classes + 0.01 * boundary loss over the foreground classes, for
    (B, K, *spatial) of any rank."""
    axes = tuple(range(2, probs.dim()))
    tc_mass = target.sum(dim=axes)
    w = 1 / ((tc_mass + 1e-10) ** 2)
    inter = w * (probs * target).sum(dim=axes)
    union = w * (probs.sum(dim=axes) + tc_mass)
    gdl = (1 - 2 * (inter.sum(1) + 1e-10) / (union.sum(1) + 1e-10)).mean()
    return gdl + 0.01 * (probs[:, 1:] * maps[:, 1:]).mean()


def torch_steps_per_second(net, modalities, classes, batch, side, steps):
    torch.manual_seed(0)
    net = net.to(TORCH_DEVICE)
    images = torch.rand(batch, modalities, side, side, device=TORCH_DEVICE)
    labels = torch.randint(0, classes, (batch, side, side), device=TORCH_DEVICE)
    target = F.one_hot(labels, classes).permute(0, 3, 1, 2).float()
    maps = torch.randn(batch, classes, side, side, device=TORCH_DEVICE) * 10
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.99))

    def step():
        optimizer.zero_grad()
        loss = loss_of(F.softmax(net(images), 1), target, maps)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize()
    per_second = steps / (time.perf_counter() - started)

    # Inference alone: a fresh network in eval mode (running statistics, no dropout), no autograd.
    fresh = type(net)(modalities, classes).to(TORCH_DEVICE).eval()
    with torch.no_grad():
        fresh(images)  # warm-up
        synchronize()
        started = time.perf_counter()
        for _ in range(steps):
            fresh(images)
        synchronize()
    return per_second, (time.perf_counter() - started) / steps


def main():
    threads, steps = option("--threads", 2), option("--steps", 3)
    batch, side = option("--batch", 8), option("--side", 256)
    torch.set_num_threads(threads)
    cases = [("UNet", UNet(5, 2), 5, 2, 18_704_855), ("ENet", ENet(1, 4), 1, 4, 463_475)]
    for name, net, _, _, count in cases:
        got = sum(p.numel() for p in net.parameters())
        assert got == count, f"{name}: {got} parameters, the original has {count}"
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    # TRAIN_STEP_BIN: an already built `train_step` bench binary (else cargo builds and runs it).
    binary = os.environ.get("TRAIN_STEP_BIN")
    backend = OURS_DEVICE.split(":")[0]
    # `--workspace` resolves features as the demo's build does, so the CPU bench reuses its
    # build of Burn; a GPU backend is a feature of this package alone.
    packages = ["--workspace"] if backend == "cpu" else ["-p", "boundary-loss", "--features", backend]
    command = [binary] if binary else ["cargo", "bench", "-q", *packages, "--bench", "train_step", "--"]
    run = subprocess.run(command + ["--steps", str(steps), "--batch", str(batch), "--side", str(side),
                                    "--device", OURS_DEVICE],
                         cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    ours = {r["network"]: r for r in map(json.loads, (l for l in run.stdout.splitlines() if l.startswith("{")))}
    rows = []
    for name, net, modalities, classes, _ in cases:
        theirs, theirs_inference = torch_steps_per_second(net, modalities, classes, batch, side, steps)
        mine, mine_inference = ours[name]["steps_per_second"], ours[name]["inference_seconds"]
        rows.append((name, modalities, classes, theirs, mine, theirs_inference, mine_inference))
        print(f"{name}: PyTorch {torch.__version__} ({TORCH_DEVICE}) {theirs:.4f} steps/s, "
              f"ours ({OURS_DEVICE}) {mine:.4f} steps/s, "
              f"ours/PyTorch {mine / theirs:.2f}x; inference {theirs_inference:.3f} s against "
              f"{mine_inference:.3f} s per batch, {theirs_inference / mine_inference:.2f}x", flush=True)
    # Peak resident memory of each process (both networks, training and inference, in each).
    ours_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    theirs_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if TORCH_DEVICE != "cpu":
        print(f"GPU: {torch.cuda.get_device_name(TORCH_DEVICE)}, CUDA {torch.version.cuda}")
    print(f"\n| network | batch | input | threads | PyTorch {torch.__version__} {TORCH_DEVICE} (steps/s) | "
          f"ours, Burn 0.22.1 {OURS_DEVICE} (steps/s) | ours / PyTorch | inference, PyTorch (s/batch) | "
          f"inference, ours (s/batch) | ours / PyTorch |\n|---|---|---|---|---|---|---|---|---|---|")
    for name, modalities, classes, theirs, mine, theirs_inference, mine_inference in rows:
        print(f"| {name}({modalities}, {classes}) | {batch} | {modalities}x{side}x{side} | {threads} | "
              f"{theirs:.4f} | {mine:.4f} | {mine / theirs:.2f}x | {theirs_inference:.3f} | "
              f"{mine_inference:.3f} | {theirs_inference / mine_inference:.2f}x |")
    print(f"\nPeak RSS: PyTorch process {theirs_rss:.2f} GiB, ours {ours_rss:.2f} GiB "
          f"(each ran both networks, training then inference).")


if __name__ == "__main__":
    main()
