"""The Python guide's examples (docs/python.md) run as written (when torch is installed; CI
requires it) and give the maps of `label2dist` and the original's SurfaceLoss value, through both
loader recipes: maps in worker processes, and maps in a background thread."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import boundary_loss as bl

README = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def python_blocks(markdown):
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def readme_blocks():
    return python_blocks(README.read_text().split("# Python package", 1)[1].split("\n## ", 1)[0])


def test_the_readme_has_the_three_examples():
    blocks = readme_blocks()
    assert len(blocks) == 3
    assert "class SliceDataset" in blocks[0] and "def surface_loss" in blocks[1]
    assert "def with_distance_maps" in blocks[2]
    assert all(len(b.strip().splitlines()) <= 20 for b in blocks)


def import_torch():
    """torch, or a skip; an error where CI requires the examples to run (REQUIRE_TORCH=1)."""
    if os.environ.get("REQUIRE_TORCH") == "1":
        import torch

        return torch
    return pytest.importorskip("torch")


def readme_namespace():
    namespace = {}
    for block in readme_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    return namespace


def synthetic_slices(n, dtype=np.int64):
    rng = np.random.default_rng(n)
    labels = np.zeros((n, 32, 40), dtype)
    for i in range(n):
        y, x = rng.integers(8, 24), rng.integers(8, 30)
        labels[i, y - 3 : y + 4, x - 5 : x + 2] = 1
    images = rng.standard_normal((n, 1, 32, 40)).astype(np.float32)
    return images, labels


def test_the_readme_examples_run():
    torch = import_torch()
    namespace = readme_namespace()
    images, labels = synthetic_slices(4)
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


@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
def test_the_background_thread_recipe_gives_every_batch_its_maps_in_order(dtype):
    torch = import_torch()
    namespace = readme_namespace()
    images, labels = synthetic_slices(11, dtype)
    labels[3] = 0  # an absent class: the diagonal, as the original
    dataset = namespace["SliceDataset"](images, labels, spacing=(0.8, 1.2), maps=False)
    image, one_hot = dataset[5]
    assert image.shape == (1, 32, 40) and one_hot.shape == (2, 32, 40)
    assert one_hot.dtype == torch.uint8
    loader = torch.utils.data.DataLoader(dataset, batch_size=3)  # 4 batches, the last of 2
    batches = list(namespace["with_distance_maps"](loader, (0.8, 1.2), ahead=2))
    assert [len(b[0]) for b in batches] == [3, 3, 3, 2]
    image, one_hot, dist = (torch.cat(parts) for parts in zip(*batches))
    np.testing.assert_array_equal(image.numpy(), images)
    for i in range(11):
        np.testing.assert_array_equal(one_hot[i].numpy(), np.stack([labels[i] == 0, labels[i] == 1]))
        np.testing.assert_array_equal(dist[i].numpy(), bl.label2dist(labels[i], 2, (0.8, 1.2)))


def test_the_background_thread_recipe_raises_a_bad_batch_where_it_is_read():
    torch = import_torch()
    namespace = readme_namespace()
    images, labels = synthetic_slices(6)
    labels[4, 0, 0] = 2  # not a class of a two-class one-hot: that element's one-hot is all zero
    loader = torch.utils.data.DataLoader(
        namespace["SliceDataset"](images, labels, maps=False), batch_size=2)
    batches = namespace["with_distance_maps"](loader)
    assert len(next(batches)[2]) == 2 and len(next(batches)[2]) == 2
    with pytest.raises(ValueError, match=r"seg\[0\]"):
        next(batches)


def test_the_project_readme_sketch_runs_with_the_guide_code():
    torch = import_torch()
    project_readme = README.parents[1] / "README.md"
    sketch = python_blocks(project_readme.read_text())
    assert len(sketch) == 1 and "with_distance_maps(loader)" in sketch[0]
    namespace = readme_namespace()
    images, labels = synthetic_slices(11)  # batches of 8 and 3
    namespace.update(
        DataLoader=torch.utils.data.DataLoader, images=images, labels=labels,
        net=torch.nn.Conv2d(1, 2, 1), alpha=0.5,
        generalized_dice=lambda probs, one_hot: (probs * one_hot).mean())
    exec(compile(sketch[0], str(project_readme), "exec"), namespace)
    assert namespace["dist"].shape == (3, 2, 32, 40)  # the last batch
    assert torch.isfinite(namespace["loss"])
