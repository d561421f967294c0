"""Hand-made appearance baselines: the floor every learned embedder must beat."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..types import Detections
from .base import extract_crops, l2_normalize, require_detections, resize_batch

__all__ = ["ColorHistogramEmbedder"]


class ColorHistogramEmbedder:
    """HSV colour histograms of horizontal body stripes.

    Each crop is resized to ``size`` (H, W), cut into ``stripes`` horizontal bands (head/torso/legs for 3),
    and each band gives a joint hue x saturation histogram plus a value histogram. Histograms are L1-normalised
    per band, square-rooted (Hellinger mapping, so a dot product of the unit vectors is the Bhattacharyya
    coefficient up to the band weights) and the concatenation is L2-normalised.

    Args:
        stripes: number of horizontal bands; more bands keep more layout, fewer tolerate misalignment.
        hue_bins, sat_bins, val_bins: histogram resolution; finer bins separate similar colours but are more
            sensitive to lighting changes between cameras.
        size: (H, W) every crop is resized to before counting.
    """

    def __init__(
        self,
        *,
        stripes: int = 3,
        hue_bins: int = 8,
        sat_bins: int = 4,
        val_bins: int = 4,
        size: tuple[int, int] = (128, 64),
    ) -> None:
        for name, v in (("stripes", stripes), ("hue_bins", hue_bins), ("sat_bins", sat_bins), ("val_bins", val_bins)):
            if int(v) < 1:
                raise ValueError(f"{name}: must be >= 1, got {v}")
        if size[0] < stripes or size[1] < 1:
            raise ValueError(f"size: must be at least ({stripes}, 1) for {stripes} stripes, got {size}")
        self.stripes, self.hue_bins, self.sat_bins, self.val_bins = stripes, hue_bins, sat_bins, val_bins
        self.size = (int(size[0]), int(size[1]))
        self.name = "colorhist"
        self.dim = stripes * (hue_bins * sat_bins + val_bins)

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        require_detections(dets)
        if len(dets) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_crops(extract_crops(image, dets.xyxy))

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32)
        batch = resize_batch(crops, self.size)
        bounds = np.linspace(0, self.size[0], self.stripes + 1).round().astype(int)
        out = np.empty((len(batch), self.dim), np.float32)
        for i, crop in enumerate(batch):
            hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
            parts = []
            for top, bottom in zip(bounds[:-1], bounds[1:]):
                band = np.ascontiguousarray(hsv[top:bottom])
                hs = cv2.calcHist([band], [0, 1], None, [self.hue_bins, self.sat_bins], [0, 180, 0, 256]).ravel()
                v = cv2.calcHist([band], [2], None, [self.val_bins], [0, 256]).ravel()
                hist = np.concatenate([hs, v])
                parts.append(np.sqrt(hist / max(hist.sum(), 1.0)))
            out[i] = np.concatenate(parts)
        return l2_normalize(out)
