"""The package's distance maps against the scipy reference vectors (bit for bit) and against the
original's scipy code on generated inputs."""

import json
from pathlib import Path

import numpy as np
import pytest

import boundary_loss as bl

DATA = Path(__file__).resolve().parents[2] / "crates" / "distmap" / "tests" / "data" / "distmap"
INDEX = json.loads((DATA / "index.json").read_text())["cases"]
MAP_CASES = sorted(name for name, case in INDEX.items() if case["kind"] == "one_hot2dist")


def load(case, role):
    return np.load(DATA / INDEX[case]["files"][role])


def assert_identical(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    # Bit for bit: equal values and equal signs of zero.
    np.testing.assert_array_equal(
        np.ascontiguousarray(got).view(np.uint8), np.ascontiguousarray(want).view(np.uint8)
    )


def test_there_are_reference_cases():
    assert len(MAP_CASES) == 23


@pytest.mark.parametrize("case", MAP_CASES)
def test_every_reference_map_bit_for_bit(case):
    seg = load(case, "seg")
    resolution = INDEX[case]["resolution"]
    files = INDEX[case]["files"]
    assert_identical(bl.one_hot2dist(seg, resolution, dtype=np.float64), load(case, "dist"))
    if "hd_dist" in files:
        assert_identical(bl.one_hot2hd_dist(seg, resolution, np.float64), load(case, "hd_dist"))
    if "dist_f32" in files:
        assert_identical(bl.one_hot2dist(seg, resolution, dtype=np.float32), load(case, "dist_f32"))
    if "dist_trunc_int32" in files:
        # What the original's data loader computes: an int32 one-hot and dtype=None.
        got = bl.one_hot2dist(seg.astype(np.int32), resolution)
        assert_identical(got, load(case, "dist_trunc_int32"))


@pytest.mark.parametrize("case", MAP_CASES)
def test_labels_batches_and_one_hots_agree(case):
    seg = load(case, "seg")
    resolution = INDEX[case]["resolution"]
    labels = seg.argmax(0).astype(np.int16)
    expected = bl.one_hot2dist(seg, resolution, np.float32)
    got = bl.label2dist(labels, classes=len(seg), spacing=resolution)
    assert_identical(got, expected)
    hd = bl.label2dist(labels, len(seg), resolution, kind="hd", dtype=np.float64)
    assert_identical(hd, bl.one_hot2hd_dist(seg, resolution, np.float64))
    batch = np.stack([seg, seg[::-1].copy()])
    assert_identical(
        bl.one_hot2dist_batch(batch, resolution, np.float32),
        np.stack([expected, bl.one_hot2dist(seg[::-1].copy(), resolution, np.float32)]),
    )
    assert_identical(
        bl.one_hot2dist_batch(batch, resolution, np.float64, kind="hd"),
        np.stack([bl.one_hot2hd_dist(b, resolution, np.float64) for b in batch]),
    )


def original_one_hot2dist(seg, resolution=None, dtype=None):
    """The original's utils.one_hot2dist (LIVIAETS/boundary-loss), np.bool -> bool."""
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    res = np.zeros_like(seg, dtype=dtype)
    for k in range(len(seg)):
        posmask = seg[k].astype(bool)
        if posmask.any():
            negmask = ~posmask
            edt = scipy_ndimage.distance_transform_edt
            res[k] = edt(negmask, sampling=resolution) * negmask - (
                edt(posmask, sampling=resolution) - 1
            ) * posmask
    return res


def random_one_hot(rng, classes, shape):
    # Blobs, not noise: a smoothed random field cut into classes by rank.
    field = rng.random(shape)
    for axis in range(len(shape)):
        field = (field + np.roll(field, 1, axis) + np.roll(field, -1, axis)) / 3
    cuts = np.quantile(field, np.sort(rng.random(classes - 1)))
    labels = np.searchsorted(cuts, field)
    return np.eye(classes, dtype=np.uint8)[labels].transpose(len(shape), *range(len(shape)))


@pytest.mark.parametrize("seed", range(12))
def test_generated_inputs_match_the_original_code(seed):
    rng = np.random.default_rng(seed)
    rank = 1 + seed % 3
    shape = tuple(int(n) for n in rng.integers(3, 40 if rank < 3 else 14, size=rank))
    classes = int(rng.integers(2, 5))
    seg = random_one_hot(rng, classes, shape)
    resolution = None if seed % 4 == 0 else [float(s) for s in rng.uniform(0.3, 3.0, rank)]
    for dtype in (np.float64, np.float32):
        assert_identical(
            bl.one_hot2dist(seg, resolution, dtype), original_one_hot2dist(seg, resolution, dtype)
        )
    # dtype=None keeps the input's dtype, truncating as the original does.
    for as_type in (np.int64, np.int16, np.uint8, bool):
        one_hot = seg.astype(as_type)
        assert_identical(
            bl.one_hot2dist(one_hot, resolution), original_one_hot2dist(one_hot, resolution)
        )


def test_non_contiguous_big_endian_and_list_inputs_give_the_same_maps():
    rng = np.random.default_rng(7)
    seg = random_one_hot(rng, 3, (20, 30))
    expected = bl.one_hot2dist(seg, (0.7, 1.3), np.float32)
    strided = np.zeros((3, 40, 30), np.uint8)
    strided[:, ::2] = seg
    assert not strided[:, ::2].flags.c_contiguous
    assert_identical(bl.one_hot2dist(strided[:, ::2], (0.7, 1.3), np.float32), expected)
    fortran = np.asfortranarray(seg)
    assert_identical(bl.one_hot2dist(fortran, (0.7, 1.3), np.float32), expected)
    big_endian = seg.astype(">i4")
    assert_identical(bl.one_hot2dist(big_endian, (0.7, 1.3), np.float32), expected)
    assert_identical(bl.one_hot2dist(seg.tolist(), [0.7, 1.3], "float32"), expected)
    labels = seg.argmax(0)
    assert_identical(bl.label2dist(labels.T.copy().T, 3, (0.7, 1.3)), expected)
    assert_identical(bl.label2dist(labels.astype(">u2"), 3, (0.7, 1.3)), expected)


def test_scalar_spacing_applies_to_every_axis():
    seg = random_one_hot(np.random.default_rng(3), 2, (9, 11, 5))
    assert_identical(
        bl.one_hot2dist(seg, 0.8, np.float64), bl.one_hot2dist(seg, (0.8, 0.8, 0.8), np.float64)
    )


def test_label2dist_options():
    labels = np.zeros((16, 16), np.int32)
    labels[4:9, 5:12] = 1
    plain = bl.label2dist(labels, spacing=(0.5, 0.5), dtype=np.float64)
    truncated = bl.label2dist(labels, spacing=(0.5, 0.5), truncate=True, dtype=np.float64)
    np.testing.assert_array_equal(truncated, np.trunc(plain))
    corrected = bl.label2dist(labels, spacing=(0.5, 0.5), border="corrected", dtype=np.float64)
    inner_border = (labels == 1) & ~(
        np.roll(labels, 1, 0) & np.roll(labels, -1, 0) & np.roll(labels, 1, 1) & np.roll(labels, -1, 1)
    ).astype(bool)
    assert (corrected[1][inner_border] == 0).all()
    assert (plain[1][inner_border] == 0.5).all()  # the original's -(0.5 - 1 voxel)
    whole = np.ones((4, 5), np.uint8)
    assert (bl.label2dist(whole, classes=2, whole_image="zeros")[1] == 0).all()
    assert (bl.label2dist(whole, classes=2, whole_image="scipy")[1] != 0).any()
    assert bl.label2dist(labels).dtype == np.float32
    assert bl.label2dist(labels, dtype=np.float16).dtype == np.float16


def test_option_names_are_the_command_lines():
    assert bl.KINDS == ["signed", "hd"]
    assert bl.BORDERS == ["voxel", "corrected"]
    assert bl.WHOLE_IMAGE == ["scipy", "zeros"]
    assert bl.EMPTY_MASK == ["diagonal", "always_diagonal", "nan"]
