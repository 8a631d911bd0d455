"""Exact, parallel distance maps of the boundary loss and surface metrics (Rust, GIL released).

Bit-identical to the original's scipy-based ``one_hot2dist`` / ``one_hot2hd_dist``; option
names are those of the ``boundary-loss`` command line.
"""

from typing import Dict, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str
KINDS: list[str]
BORDERS: list[str]
WHOLE_IMAGE: list[str]
EMPTY_MASK: list[str]

Spacing = Union[None, float, Sequence[float]]
DTypeLike = npt.DTypeLike
Kind = Literal["signed", "hd"]
Border = Literal["voxel", "corrected"]
WholeImage = Literal["scipy", "zeros"]
EmptyMask = Literal["diagonal", "always_diagonal", "nan"]

def one_hot2dist(
    seg: npt.ArrayLike, resolution: Spacing = None, dtype: DTypeLike = None
) -> np.ndarray:
    """Signed distance maps ``(K, *spatial)`` of a one-hot array ``(K, *spatial)``.

    Outside class k: the distance to it; inside: ``-(distance to the outside - 1)``; an absent
    class: 0. ``resolution``: spacing per spatial axis (or one number). ``dtype=None`` keeps
    ``seg``'s dtype, as the original (an integer one-hot truncates toward zero); pass
    ``numpy.float32`` for the exact maps. Raises ``TypeError`` for non-integer input and
    ``ValueError`` for a non-one-hot array or a bad spacing.
    """

def one_hot2hd_dist(
    seg: npt.ArrayLike, resolution: Spacing = None, dtype: DTypeLike = None
) -> np.ndarray:
    """Hausdorff-DT maps: inside class k the distance to the outside, 0 elsewhere."""

def one_hot2dist_batch(
    seg: npt.ArrayLike,
    resolution: Spacing = None,
    dtype: DTypeLike = None,
    kind: Kind = "signed",
    border: Border = "voxel",
    whole_image: WholeImage = "scipy",
) -> np.ndarray:
    """Maps of a batch ``(B, K, *spatial)``, computed in parallel over the batch."""

def label2dist(
    labels: npt.ArrayLike,
    classes: Optional[int] = None,
    spacing: Spacing = None,
    kind: Kind = "signed",
    truncate: bool = False,
    border: Border = "voxel",
    whole_image: WholeImage = "scipy",
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Per-class maps ``(K, *labels.shape)`` of an integer label map (no one-hot needed).

    ``classes`` defaults to the largest label + 1; ``dtype=None`` means float32.
    """

def surface_metrics(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    spacing: Spacing = None,
    classes: Optional[int] = None,
    empty_mask: EmptyMask = "diagonal",
) -> Dict[int, Dict[str, Union[float, Optional[str]]]]:
    """Per class k >= 1: dice, hd, hd95_medpy, hd95_monai, assd_pooled, assd_mean_of_directed
    (in the units of ``spacing``) and ``empty`` (None, "prediction", "truth" or "both")."""

def set_num_threads(n: int) -> None:
    """Worker threads of later calls (0: all cores). Use 1 per DataLoader worker."""

def get_num_threads() -> int:
    """The number of worker threads calls use."""

def _time_label_maps(
    labels: np.ndarray, classes: int, spacing: Spacing = None, repeats: int = 1
) -> list[float]:
    """Benchmark hook: seconds of each run of the Rust maps (float64) of a uint8 label map,
    timed inside Rust without the conversion a Python call adds."""
