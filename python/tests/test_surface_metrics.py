"""surface_metrics against medpy 0.5 / medpy 0.4 / MONAI values stored beside the Rust tests
(crates/segmentation-metrics/tests/data/surface/make_surface_metrics.py made them) and
against medpy's hd and hd95 on the metric cases of the scipy reference data."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import boundary_loss as bl

CRATES = Path(__file__).resolve().parents[2] / "crates"
SURFACE_DATA = CRATES / "segmentation-metrics" / "tests" / "data" / "surface"
REFERENCE_DATA = CRATES / "distmap" / "tests" / "data" / "distmap"
SURFACE = json.loads((SURFACE_DATA / "expected.json").read_text())["cases"]
REFERENCE = json.loads((REFERENCE_DATA / "index.json").read_text())["cases"]
METRIC_CASES = sorted(n for n, c in REFERENCE.items() if c["kind"] == "metrics")


@pytest.mark.parametrize("case", sorted(SURFACE))
def test_every_metric_matches_medpy_and_monai(case):
    spec = SURFACE[case]
    pred = np.load(SURFACE_DATA / f"{case}.pred.npy")
    gt = np.load(SURFACE_DATA / f"{case}.gt.npy")
    got = bl.surface_metrics(pred, gt, spacing=spec["spacing"], classes=spec["classes"],
                             empty_mask="nan")
    assert sorted(got) == sorted(int(k) for k in spec["expected"])
    for k, want in spec["expected"].items():
        ours = got[int(k)]
        if want["medpy_hd"] is None:  # medpy raises on an empty mask
            assert ours["empty"] is not None
            assert all(math.isnan(ours[m]) for m in ("hd", "hd95_medpy", "assd_pooled"))
            continue
        assert ours["empty"] is None
        assert ours["hd"] == want["medpy_hd"]
        assert ours["hd95_medpy"] == want["medpy_hd95"]
        assert ours["assd_pooled"] == pytest.approx(want["medpy_assd"], rel=1e-14)
        assert ours["assd_mean_of_directed"] == pytest.approx(want["medpy04_assd"], rel=1e-14)
        # MONAI computes in float32.
        assert ours["hd95_monai"] == pytest.approx(want["monai_hd95"], rel=1e-6)
        assert ours["assd_pooled"] == pytest.approx(want["monai_assd"], rel=1e-6)
        assert ours["dice"] == pytest.approx(want["medpy_dc"], abs=1e-8)


@pytest.mark.parametrize("case", METRIC_CASES)
def test_reference_metric_cases(case):
    spec = REFERENCE[case]
    pred = np.load(REFERENCE_DATA / spec["files"]["pred"])
    gt = np.load(REFERENCE_DATA / spec["files"]["gt"])
    got = bl.surface_metrics(pred, gt, spacing=spec["voxelspacing"])[1]
    want = spec["expected"]
    if want["medpy_hd"] is not None:
        assert got["hd"] == want["medpy_hd"]
        assert got["hd95_medpy"] == want["medpy_hd95"]
    # The original's utils.hausdorff, empty masks included (the volume's diagonal).
    assert got["hd"] == pytest.approx(want["repo_hausdorff"], rel=1e-12)
    assert got["dice"] == pytest.approx(want["repo_meta_dice_f32"], rel=1e-6, abs=1e-9)


def test_empty_mask_rules():
    gt = np.zeros((10, 20), np.uint8)
    gt[2:4, 3:9] = 1
    empty = np.zeros_like(gt)
    diagonal = math.hypot(10 * 0.5, 20 * 2.0)
    one = bl.surface_metrics(empty, gt, spacing=(0.5, 2.0))[1]
    assert one["empty"] == "prediction" and one["hd"] == diagonal and one["dice"] < 1e-8
    both = bl.surface_metrics(empty, empty, spacing=(0.5, 2.0), classes=2)[1]
    assert both["empty"] == "both" and both["hd95_medpy"] == 0.0 and both["dice"] == 1.0
    always = bl.surface_metrics(empty, empty, spacing=(0.5, 2.0), classes=2, empty_mask="always_diagonal")[1]
    assert always["empty"] == "both" and always["hd"] == diagonal and always["hd95_medpy"] == diagonal
    nan = bl.surface_metrics(gt, empty, empty_mask="nan")[1]
    assert nan["empty"] == "truth" and math.isnan(nan["assd_pooled"])


def test_any_integer_or_bool_labels():
    gt = np.zeros((6, 7, 8), np.int64)
    gt[1:4, 2:5, 3:6] = 2
    pred = np.roll(gt, 1, axis=2)
    want = bl.surface_metrics(pred, gt, (1.0, 0.9, 2.5))
    for dtype in (np.uint8, np.int16, np.uint32, ">i8"):
        assert bl.surface_metrics(pred.astype(dtype), gt.astype(dtype), (1.0, 0.9, 2.5)) == want
    binary = bl.surface_metrics(pred > 0, gt > 0, (1.0, 0.9, 2.5))[1]
    assert binary == want[2]
