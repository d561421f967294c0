"""The embedder interface and the crop handling every embedder shares."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from ..types import Detections, check_image

#: the network embedders' precisions and ``torch.compile`` modes (``reduce-overhead`` replays CUDA graphs on a GPU),
#: here rather than in ``reid`` so that the command line offers them without importing torch
PRECISIONS = ("fp32", "fp16", "bf16", "auto")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")

__all__ = [
    "COMPILE_MODES",
    "PRECISIONS",
    "CropBatchEmbedder",
    "Embedder",
    "check_image",
    "clip_boxes",
    "extract_crops",
    "l2_normalize",
    "require_detections",
    "resize_batch",
]


@runtime_checkable
class Embedder(Protocol):
    """Appearance features for person boxes.

    ``dim`` is the feature length D. Both methods return ``(N, D)`` float32 rows of unit L2 norm, compared by
    cosine similarity (a dot product). Empty input gives ``(0, D)``.
    """

    name: str
    dim: int

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        """Features of the boxes ``dets.xyxy`` in the ``(H, W, 3)`` uint8 BGR ``image``."""
        ...

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Features of already-cut ``(h, w, 3)`` uint8 BGR person crops (e.g. a Re-ID dataset folder)."""
        ...


def clip_boxes(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Integer pixel boxes clipped to the image, at least 1x1 pixel each.

    A box partly outside the image is cut to the visible part. A box entirely outside (or of zero size) becomes
    the 1-pixel-wide sliver of the image nearest to it, so every detection still gets a valid, if meaningless,
    feature; the tracker drops degenerate boxes before embedding them. A box that is not finite (NaN, inf) is a
    ValueError.
    """
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    bad = (~np.isfinite(xyxy).all(axis=1)).nonzero()[0]
    if len(bad):  # no crop to cut: the tracker and the pipeline drop such rows before embedding
        more = "..." if len(bad) > 5 else ""
        raise ValueError(f"boxes: {len(bad)} not finite (rows {bad[:5].tolist()}{more}); drop them before embedding")
    outside = (xyxy[:, 2] <= 0) | (xyxy[:, 3] <= 0) | (xyxy[:, 0] >= width) | (xyxy[:, 1] >= height)
    if outside.any():  # usually boxes and frame at different scales
        rows = outside.nonzero()[0]
        warnings.warn(
            f"{len(rows)} box(es) entirely outside the {width}x{height} image (rows {rows[:5].tolist()}"
            f"{'...' if len(rows) > 5 else ''}): their features are of a 1-pixel sliver; are the boxes in this "
            "image's pixels?",
            RuntimeWarning,
            stacklevel=2,
        )
    # usually boxes in another format, e.g. (x, y, w, h) given as xyxy; or a detector's empty box (BoxMOT passes
    # its detections as they come: a zero-size one was embedded as a sliver without a word)
    inverted = ((xyxy[:, 2] <= xyxy[:, 0]) | (xyxy[:, 3] <= xyxy[:, 1])) & ~outside
    if inverted.any():
        rows = inverted.nonzero()[0]
        warnings.warn(
            f"{len(rows)} box(es) with x2 <= x1 or y2 <= y1 (rows {rows[:5].tolist()}"
            f"{'...' if len(rows) > 5 else ''}): no area; their features are of a 1-pixel sliver; are the boxes (x1, "
            "y1, x2, y2)?",
            RuntimeWarning,
            stacklevel=2,
        )
    out = np.empty((len(xyxy), 4), np.int64)
    x1 = np.clip(np.floor(xyxy[:, 0]), 0, width - 1)
    y1 = np.clip(np.floor(xyxy[:, 1]), 0, height - 1)
    x2 = np.clip(np.ceil(xyxy[:, 2]), 0, width)
    y2 = np.clip(np.ceil(xyxy[:, 3]), 0, height)
    out[:, 0], out[:, 1] = x1, y1
    out[:, 2] = np.maximum(x2, x1 + 1)
    out[:, 3] = np.maximum(y2, y1 + 1)
    return out


def extract_crops(image: np.ndarray, xyxy: np.ndarray) -> list[np.ndarray]:
    """Views into ``image`` for each box (clipped with :func:`clip_boxes`)."""
    check_image(image)
    h, w = image.shape[:2]
    return [image[y1:y2, x1:x2] for x1, y1, x2, y2 in clip_boxes(xyxy, w, h)]


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm (an all-zero row stays zero)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)


def require_detections(dets) -> None:
    """TypeError naming what came instead of a ``Detections`` (an embedder's second argument)."""
    if not isinstance(dets, Detections):
        raise TypeError(f"dets: expected mctrack.types.Detections, got {type(dets).__name__}")


def resize_batch(crops: Sequence[np.ndarray], size_hw: tuple[int, int]) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 stack of the crops resized (bilinear) to ``size_hw`` = (H, W); a crop that is not
    an ``(h, w, 3)`` uint8 image of at least one pixel is a ValueError naming it."""
    h, w = size_hw
    out = np.empty((len(crops), h, w, 3), np.uint8)
    for i, crop in enumerate(crops):
        shape = getattr(crop, "shape", None)
        if getattr(crop, "dtype", None) != np.uint8 or len(shape) != 3 or shape[2] != 3 or min(shape[:2]) < 1:
            raise ValueError(
                f"crops[{i}]: expected an (h, w, 3) uint8 BGR image of at least 1x1 pixel, got shape {shape} "
                f"dtype {getattr(crop, 'dtype', type(crop).__name__)}"
            )
        out[i] = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


class CropBatchEmbedder:
    """Shared by the model-backed embedders: crops are resized to ``input_size`` (H, W) and run through
    ``_forward`` (``(B, H, W, 3)`` uint8 BGR -> ``(B, D)`` float) ``batch_size`` at a time; the rows are
    L2-normalised and, when ``feature_mean`` is set, centred by it and normalised again."""

    name: str
    dim: int
    input_size: tuple[int, int]
    batch_size: int
    feature_mean: np.ndarray | None = None

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        require_detections(dets)
        if len(dets) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_crops(extract_crops(image, dets.xyxy))

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(crops), self.dim), np.float32)
        for start in range(0, len(crops), self.batch_size):
            batch = resize_batch(crops[start : start + self.batch_size], self.input_size)
            out[start : start + len(batch)] = np.asarray(self._forward(batch)).reshape(len(batch), -1)
        out = l2_normalize(out)
        if self.feature_mean is not None and len(out):
            out = l2_normalize(out - self.feature_mean)
        return out
