#!/usr/bin/env python3
"""Reference outputs of Pillow's ImageOps.equalize, which the original's `equalized_png` stream
applies before dividing by 255, for the Rust test in ../equalized_png.rs.

    python3 -m venv venv && venv/bin/pip install pillow numpy
    venv/bin/python make_equalize.py

It rewrites equalize.json next to this file: 8-bit gray images and their equalized levels. The
cases cover a smooth image, few distinct levels (Pillow then keeps the image), one level, levels
clustered low (Pillow's table then exceeds 255 and is clipped) and a large random image.
"""
import json
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps


def case(levels):
    levels = np.asarray(levels, dtype=np.uint8)
    out = np.array(ImageOps.equalize(Image.fromarray(levels)))
    return {"shape": list(levels.shape), "levels": levels.ravel().tolist(), "equalized": out.ravel().tolist()}


def main():
    rng = np.random.default_rng(4)
    y, x = np.indices((24, 31))
    cases = {
        "gradient": case((y * 3 + x * 2) % 256),
        "few_levels": case([[0, 10, 10, 20], [20, 20, 30, 30]]),
        "one_level": case(np.full((5, 6), 77)),
        "clustered_low": case(np.where(y[:20, :20] < 10, 0, 1) + (x[:20, :20] == 0) * (y[:20, :20] == 0) * 2),
        "random_brain_like": case(np.clip(rng.normal(60, 25, size=(64, 48)) * (rng.random((64, 48)) < 0.7), 0, 255)),
        "uniform_random": case(rng.integers(0, 256, size=(33, 17))),
    }
    doc = {"generator": f"make_equalize.py, Pillow {PIL.__version__}, numpy {np.__version__}", "cases": cases}
    path = Path(__file__).with_name("equalize.json")
    path.write_text(json.dumps(doc) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
