"""Public detections made from ground truth with the errors a real person detector makes.

Per ground-truth box: a miss with probability rising with occlusion and falling with size; otherwise a box
pulled toward the visible part of the person (occluded people get boxes around what can be seen), jittered
in proportion to its size, with a score that tracks how well it overlaps the true box. Some detections get
a duplicate (a second, looser box with a lower score), and every frame gets a few person-sized false
positives with low scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DetectionNoise", "box_iou"]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two ``(N, 4)`` xyxy arrays."""
    lt = np.maximum(a[:, :2], b[:, :2])
    rb = np.minimum(a[:, 2:], b[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=1)  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


@dataclass(frozen=True)
class DetectionNoise:
    """How detections deviate from the ground truth.

    Attributes:
        miss_base: miss probability of a fully visible, large person.
        miss_occluded: extra miss probability at visibility 0 (scaled by ``(1 - visibility) ** 2``).
        small_height: boxes shorter than this (pixels) are missed more, up to ``miss_small`` extra.
        miss_small: extra miss probability of a tiny box.
        jitter: standard deviation of box-edge noise as a fraction of box width/height.
        visible_pull: how far (0-1) boxes of occluded people shrink toward the visible part.
        dup_prob: probability that a detection is duplicated by a looser box.
        fp_rate: mean number of false positives per frame (Poisson).
    """

    miss_base: float = 0.03
    miss_occluded: float = 0.85
    small_height: float = 40.0
    miss_small: float = 0.25
    jitter: float = 0.05
    visible_pull: float = 0.7
    dup_prob: float = 0.03
    fp_rate: float = 0.3

    def __post_init__(self) -> None:
        for name in ("miss_base", "miss_occluded", "miss_small", "visible_pull", "dup_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: must be in [0, 1], got {getattr(self, name)}")
        for name in ("small_height", "jitter", "fp_rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")

    def miss_probability(self, visibility: np.ndarray, height: np.ndarray) -> np.ndarray:
        """Probability that a ground-truth box with this visibility and pixel height is not detected."""
        v = np.clip(np.asarray(visibility, np.float64), 0, 1)
        small = np.clip(1 - np.asarray(height, np.float64) / max(self.small_height, 1e-9), 0, 1)
        return np.clip(self.miss_base + self.miss_occluded * (1 - v) ** 2 + self.miss_small * small, 0, 1)

    def apply(
        self,
        gt_xyxy: np.ndarray,
        visibility: np.ndarray,
        rng: np.random.Generator,
        *,
        image_size: tuple[int, int],
        visible_xyxy: np.ndarray | None = None,
        fp_heights: tuple[float, float] = (30.0, 120.0),
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detections of one frame: ``(xyxy (K, 4), score (K,), source (K,))``.

        ``source`` is the index of the ground-truth row a detection came from, or -1 for a false positive.
        ``visible_xyxy`` (optional) are the boxes of the visible pixels; ``image_size`` is (width, height);
        false positives have heights drawn from ``fp_heights``. Boxes are clipped to the image.
        """
        gt = np.asarray(gt_xyxy, np.float64).reshape(-1, 4)
        vis = np.asarray(visibility, np.float64).reshape(-1)
        w_img, h_img = image_size
        wh = np.maximum(gt[:, 2:] - gt[:, :2], 1.0)
        keep = rng.random(len(gt)) >= self.miss_probability(vis, wh[:, 1])
        base = gt.copy()
        if visible_xyxy is not None and len(gt):
            pull = (self.visible_pull * (1 - vis) * rng.random(len(gt)))[:, None]
            base = (1 - pull) * gt + pull * np.asarray(visible_xyxy, np.float64).reshape(-1, 4)
        bwh = np.maximum(base[:, 2:] - base[:, :2], 1.0)
        noise = rng.normal(0, self.jitter, (len(gt), 4)) * np.tile(bwh, 2)
        det = base + noise
        iou = box_iou(det, gt)
        score = np.clip(0.25 + 0.7 * iou * np.sqrt(np.clip(vis, 0.05, 1)) + rng.normal(0, 0.05, len(gt)), 0.05, 0.99)
        src = np.arange(len(gt))
        det, score, src = det[keep], score[keep], src[keep]
        dup = rng.random(len(det)) < self.dup_prob
        if dup.any():
            dwh = np.tile(np.maximum(det[dup, 2:] - det[dup, :2], 1.0), 2)
            d2 = det[dup] + rng.normal(0, 2.5 * self.jitter, dwh.shape) * dwh + np.array([-1, -1, 1, 1]) * 0.08 * dwh
            det = np.concatenate([det, d2])
            score = np.concatenate([score, score[dup] * rng.uniform(0.4, 0.8, int(dup.sum()))])
            src = np.concatenate([src, src[dup]])
        n_fp = int(rng.poisson(self.fp_rate))
        if n_fp:
            hh = rng.uniform(*fp_heights, n_fp)
            ww = hh * rng.uniform(0.3, 0.5, n_fp)
            x = rng.uniform(0, max(w_img - ww.min(), 1), n_fp)
            y = rng.uniform(h_img * 0.3, h_img, n_fp) - hh
            det = np.concatenate([det, np.stack([x, y, x + ww, y + hh], 1)])
            score = np.concatenate([score, rng.uniform(0.1, 0.55, n_fp)])
            src = np.concatenate([src, np.full(n_fp, -1)])
        det[:, [0, 2]] = np.clip(det[:, [0, 2]], 0, w_img)
        det[:, [1, 3]] = np.clip(det[:, [1, 3]], 0, h_img)
        ok = (det[:, 2] - det[:, 0] >= 2) & (det[:, 3] - det[:, 1] >= 4)
        return det[ok], score[ok], src[ok]
