"""Image transforms per recipe, driven by an explicit per-sample seed (no global random state).

Train: resize to (H, W) -> horizontal flip (p=0.5) -> zero-pad by `pad` and random crop back to (H, W) ->
colour jitter (brightness, contrast, saturation each scaled by a factor in [1-s, 1+s]) -> ImageNet
normalisation -> random erasing (Zhong et al.: area 2-40 %, aspect 0.3-3.3, filled with 0 = the mean colour).
Eval: resize -> normalisation. Images come in as BGR uint8 (cv2) and leave as RGB float (3, H, W) tensors, the
same normalisation as `mctrack.embed.ReidEmbedder`.

Two equal implementations: `ReidTransform(image, seed)` on one decoded image (numpy, in data-loader workers) and
`ReidTransform.batch(images, seeds)` on a batch of images decoded and resized once (torch, on the training device:
the GPU data path). Both take their random parameters from `ReidTransform.draw(seed)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import torch

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Augment", "ReidTransform"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
_GRAY = np.array([0.299, 0.587, 0.114], np.float32)


class Augment(NamedTuple):
    """One training sample's random augmentation: flip, crop offset into the padded image, (brightness,
    contrast, saturation) factors, and the erased rectangle (y, x, height, width) or None."""

    flip: bool
    dy: int
    dx: int
    jitter: tuple[float, float, float]
    erase: tuple[int, int, int, int] | None


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

    @property
    def hw(self) -> tuple[int, int]:
        """The output (H, W)."""
        return int(self.size[0]), int(self.size[1])

    def resize(self, image: np.ndarray) -> np.ndarray:
        """The first step of both paths: a BGR uint8 image resized to (H, W), as RGB uint8 ``(H, W, 3)``."""
        h, w = self.hw
        return np.ascontiguousarray(cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)[:, :, ::-1])

    def draw(self, seed: int) -> Augment:
        """The random augmentation parameters of one sample, a pure function of ``seed`` (both paths use them)."""
        h, w = self.hw
        rng = np.random.default_rng(seed)
        flip = bool(self.flip and rng.random() < 0.5)
        dy = dx = self.pad
        if self.pad:
            dy, dx = (int(v) for v in rng.integers(0, 2 * self.pad + 1, size=2))
        jitter = (1.0, 1.0, 1.0)
        if self.color_jitter:
            s = self.color_jitter
            jitter = tuple(float(v) for v in rng.uniform(1 - s, 1 + s, size=3))
        erase = None
        if self.random_erasing and rng.random() < self.random_erasing:
            for _ in range(100):
                area = rng.uniform(0.02, 0.4) * h * w
                aspect = math.exp(rng.uniform(math.log(0.3), math.log(1 / 0.3)))
                eh, ew = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
                if 0 < eh < h and 0 < ew < w:
                    erase = (int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1)), eh, ew)
                    break
        return Augment(flip, dy, dx, jitter, erase)

    def __call__(self, image: np.ndarray, seed: int = 0) -> torch.Tensor:
        h, w = self.hw
        img = self.resize(image).astype(np.float32) / 255.0
        aug = self.draw(seed) if self.train else None
        if aug is not None:
            if aug.flip:
                img = img[:, ::-1]
            if self.pad:
                padded = np.pad(img, ((self.pad, self.pad), (self.pad, self.pad), (0, 0)))
                img = padded[aug.dy : aug.dy + h, aug.dx : aug.dx + w]
            if self.color_jitter:
                b, c, sat = (np.float64(v) for v in aug.jitter)  # float64 factors, as before the batch path
                img = img * b
                img = (img - img.mean()) * c + img.mean()
                gray = img @ _GRAY
                img = np.clip((img - gray[..., None]) * sat + gray[..., None], 0, 1)
        img = (np.ascontiguousarray(img, dtype=np.float32) - IMAGENET_MEAN) / IMAGENET_STD
        tensor = torch.from_numpy(img.transpose(2, 0, 1).copy())
        if aug is not None and aug.erase is not None:
            y, x, eh, ew = aug.erase
            tensor[:, y : y + eh, x : x + ew] = 0.0
        return tensor

    def batch(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """The same transform on a batch already resized by :meth:`resize`: ``(B, 3, H, W)`` uint8 RGB on any
        device -> float32 on that device, equal to stacking ``self(image, seed)`` (to float rounding). The random
        parameters are drawn on the CPU (:meth:`draw`), the pixels never leave the device."""
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images: expected a (B, 3, H, W) uint8 tensor, got {images.dtype} {tuple(images.shape)}")
        if len(seeds) != len(images):
            raise ValueError(f"seeds: {len(seeds)} seeds for {len(images)} images")
        b, _, h, w = images.shape
        if (h, w) != self.hw:
            raise ValueError(f"images: {h}x{w}, expected the transform's size {tuple(self.size)}")
        dev = images.device
        x = images.float().div_(255.0)
        if self.train and b:
            augs = [self.draw(int(s)) for s in seeds]
            if self.flip:
                flip = torch.tensor([a.flip for a in augs], device=dev)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            if self.pad:
                padded = torch.nn.functional.pad(x, (self.pad,) * 4)
                rows = torch.tensor([a.dy for a in augs], device=dev)[:, None] + torch.arange(h, device=dev)
                cols = torch.tensor([a.dx for a in augs], device=dev)[:, None] + torch.arange(w, device=dev)
                index = torch.arange(b, device=dev)[:, None, None]
                x = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
            if self.color_jitter:
                bri, con, sat = torch.tensor([a.jitter for a in augs], device=dev).T[:, :, None, None, None]
                x = x * bri
                mean = x.mean(dim=(1, 2, 3), keepdim=True)
                x = (x - mean) * con + mean
                gray = (x * _tensor(_GRAY, dev)).sum(1, keepdim=True)
                x = ((x - gray) * sat + gray).clamp_(0, 1)
        x = (x - _tensor(IMAGENET_MEAN, dev)) / _tensor(IMAGENET_STD, dev)
        if self.train and b and self.random_erasing:
            boxes = [(i, a.erase) for i, a in enumerate(augs) if a.erase is not None]
            if boxes:
                y0, x0, eh, ew = (torch.tensor(v, device=dev) for v in zip(*(e for _, e in boxes), strict=True))
                r, c = torch.arange(h, device=dev), torch.arange(w, device=dev)
                inside_r = (r[None] >= y0[:, None]) & (r[None] < (y0 + eh)[:, None])
                inside_c = (c[None] >= x0[:, None]) & (c[None] < (x0 + ew)[:, None])
                mask = torch.zeros(b, h, w, dtype=torch.bool, device=dev)
                mask[[i for i, _ in boxes]] = inside_r[:, :, None] & inside_c[:, None, :]
                x = x.masked_fill(mask[:, None], 0.0)
        return x.contiguous()


def _tensor(values: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(values).to(device)[None, :, None, None]
