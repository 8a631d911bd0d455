"""The Python guide's examples (docs/python.md) run as written (when torch is installed) and
give the maps of `label2dist` and the original's SurfaceLoss value."""

import re
from pathlib import Path

import numpy as np
import pytest

import boundary_loss as bl

README = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def readme_blocks():
    section = README.read_text().split("# Python package", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_has_the_two_examples():
    blocks = readme_blocks()
    assert len(blocks) == 2
    assert "class SliceDataset" in blocks[0] and "def surface_loss" in blocks[1]
    assert all(len(b.strip().splitlines()) <= 14 for b in blocks)


def test_the_readme_examples_run():
    torch = pytest.importorskip("torch")
    namespace = {}
    for block in readme_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    rng = np.random.default_rng(0)
    labels = np.zeros((4, 32, 40), np.int64)
    for i in range(4):
        y, x = rng.integers(8, 24), rng.integers(8, 30)
        labels[i, y - 3 : y + 4, x - 5 : x + 2] = 1
    images = rng.standard_normal((4, 1, 32, 40)).astype(np.float32)
    dataset = namespace["SliceDataset"](images, labels, spacing=(0.8, 1.2))
    image, one_hot, dist = dataset[2]
    assert image.shape == (1, 32, 40) and one_hot.shape == dist.shape == (2, 32, 40)
    np.testing.assert_array_equal(dist.numpy(), bl.label2dist(labels[2], 2, (0.8, 1.2)))
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2,
                                         worker_init_fn=lambda _: bl.set_num_threads(1))
    batches = list(loader)
    assert len(batches) == 2
    _, one_hot, dist = batches[0]
    probs = torch.softmax(torch.randn(2, 2, 32, 40), 1)
    value = namespace["surface_loss"](probs, dist)
    expected = (probs[:, 1] * dist[:, 1]).mean()
    assert torch.isclose(value, expected)
