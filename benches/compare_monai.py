#!/usr/bin/env python3
"""Sliding-window inference of a whole volume: ours (boundary-loss, Burn 0.22.1 flex) against
MONAI's `sliding_window_inference`, the tool our users know, in the same run: the same UNet3D
(2 modalities, 2 classes, base 8; our seeded network exported as a PyTorch state_dict and loaded
into the original's class), the same input volume, window 32x32x16, overlap 0.5, Gaussian
blending (sigma = window / 8 on both sides), the same batch of windows and threads, softmax
probabilities blended. Prints each side's seconds, the ratio, and how many voxels' labels agree.

Usage: python3 benches/compare_monai.py [--x 512] [--y 512] [--z 64] [--batch 8] [--threads 2]
Its own venv (torch, monai, safetensors; or the venv PYTHON_BENCH_VENV names); our side is
`cargo bench --workspace --bench sliding_window` (or SLIDING_WINDOW_BIN, a built binary).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_venv  # noqa: E402

bench_venv.run_inside("monai-venv", ["torch", "monai", "numpy", "safetensors"], override="PYTHON_BENCH_VENV")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from monai.inferers import sliding_window_inference  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

sys.path.insert(0, str(ROOT / "crates/boundary-loss/tests/reference/original_networks"))
import networks  # noqa: E402


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    x, y, z = option("--x", 512), option("--y", 512), option("--z", 64)
    batch, threads = option("--batch", 8), option("--threads", 2)
    torch.set_num_threads(threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as out:
        args = ["--x", str(x), "--y", str(y), "--z", str(z), "--batch", str(batch), "--out", out]
        binary = os.environ.get("SLIDING_WINDOW_BIN")
        command = [binary, *args] if binary else [
            "cargo", "bench", "-q", "--workspace", "--bench", "sliding_window", "--", *args]
        ours = json.loads(subprocess.run(command, cwd=ROOT, env=env, check=True,
                                         capture_output=True, text=True).stdout.strip().splitlines()[-1])
        image = torch.from_numpy(np.load(Path(out) / "image.npy"))[None]  # (1, 2, X, Y, Z)
        our_labels = np.load(Path(out) / "labels.npy")
        net = networks.UNet3D(nin=2, nout=2, nG=8)
        net.load_state_dict(load_file(str(Path(out) / "unet3d.safetensors")))
        net.eval()

        def predictor(windows):
            return torch.softmax(net(windows), 1)

        with torch.no_grad():
            started = time.perf_counter()
            probs = sliding_window_inference(image, (32, 32, 16), batch, predictor, overlap=0.5,
                                             mode="gaussian", sigma_scale=0.125)
            seconds = time.perf_counter() - started
        labels = probs[0].argmax(0).numpy().astype(np.uint8)
        agree = float((labels == our_labels).mean())
    print(json.dumps({"shape": [x, y, z], "windows": ours["windows"], "batch": batch,
                      "threads": threads, "ours_seconds": ours["seconds"], "monai_seconds": round(seconds, 3),
                      "speed_ratio_ours_over_monai": round(seconds / ours["seconds"], 3),
                      "labels_agree": agree, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
