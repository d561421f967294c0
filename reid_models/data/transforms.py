"""Image transforms per recipe, driven by an explicit per-sample seed (no global random state).

Train: resize to (H, W) -> horizontal flip (p=0.5) -> zero-pad by `pad` and random crop back to (H, W) ->
colour jitter (brightness, contrast, saturation each scaled by a factor in [1-s, 1+s]) -> ImageNet
normalisation -> random erasing (Zhong et al.: area 2-40 %, aspect 0.3-3.3, filled with 0 = the mean colour).
Eval: resize -> normalisation. Images come in as BGR uint8 (cv2) and leave as RGB float (3, H, W) tensors, the
same normalisation as `mctrack.embed.ReidEmbedder`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ReidTransform"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclass(frozen=True)
class ReidTransform:
    """`transform(image_bgr, seed) -> (3, H, W) float32 tensor`. With train=False only resize + normalise.

    Args:
        size: (H, W) output.
        train: apply the augmentations below.
        pad: zero padding (pixels) before the random crop; 0 disables pad+crop.
        flip: random horizontal flip.
        color_jitter: strength s in [0, 1); 0 disables.
        random_erasing: probability in [0, 1].
    """

    size: Sequence[int]
    train: bool = False
    pad: int = 10
    flip: bool = True
    color_jitter: float = 0.0
    random_erasing: float = 0.5

    def __post_init__(self) -> None:
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size: expected (H, W) >= 1, got {self.size!r}")
        if self.pad < 0:
            raise ValueError(f"pad: must be >= 0, got {self.pad}")
        if not 0 <= self.color_jitter < 1:
            raise ValueError(f"color_jitter: must be in [0, 1), got {self.color_jitter}")
        if not 0 <= self.random_erasing <= 1:
            raise ValueError(f"random_erasing: must be in [0, 1], got {self.random_erasing}")

    def __call__(self, image: np.ndarray, seed: int = 0) -> torch.Tensor:
        h, w = int(self.size[0]), int(self.size[1])
        img = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].astype(np.float32) / 255.0
        if self.train:
            rng = np.random.default_rng(seed)
            if self.flip and rng.random() < 0.5:
                img = img[:, ::-1]
            if self.pad:
                padded = np.pad(img, ((self.pad, self.pad), (self.pad, self.pad), (0, 0)))
                y, x = rng.integers(0, 2 * self.pad + 1, size=2)
                img = padded[y : y + h, x : x + w]
            if self.color_jitter:
                s = self.color_jitter
                b, c, sat = rng.uniform(1 - s, 1 + s, size=3)
                img = img * b
                img = (img - img.mean()) * c + img.mean()
                gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
                img = np.clip((img - gray[..., None]) * sat + gray[..., None], 0, 1)
        img = (np.ascontiguousarray(img, dtype=np.float32) - IMAGENET_MEAN) / IMAGENET_STD
        tensor = torch.from_numpy(img.transpose(2, 0, 1).copy())
        if self.train and self.random_erasing and rng.random() < self.random_erasing:
            for _ in range(100):
                area = rng.uniform(0.02, 0.4) * h * w
                aspect = math.exp(rng.uniform(math.log(0.3), math.log(1 / 0.3)))
                eh, ew = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
                if 0 < eh < h and 0 < ew < w:
                    y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
                    tensor[:, y : y + eh, x : x + ew] = 0.0
                    break
        return tensor
