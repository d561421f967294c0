"""Re-ID datasets (layouts, hand protocol), the P x K sampler, transforms and torch Dataset wrappers."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence

import cv2
import torch
from torch.utils.data import Dataset

from reid_models.data.datasets import (
    DatasetError,
    ReidDataset,
    Sample,
    dataset_fingerprint,
    load_dataset,
    parse_market_folder,
)
from reid_models.data.hands import HandSplit, evaluate_hand_protocol, hand_splits, load_11k, load_hd
from reid_models.data.sampler import PKBatchSampler
from reid_models.data.transforms import ReidTransform

__all__ = [
    "DatasetError",
    "HandSplit",
    "ImageDataset",
    "PKBatchSampler",
    "ReidDataset",
    "ReidTransform",
    "Sample",
    "dataset_fingerprint",
    "evaluate_hand_protocol",
    "hand_splits",
    "load_11k",
    "load_dataset",
    "load_hd",
    "parse_market_folder",
]


class ImageDataset(Dataset):
    """Map-style dataset over image paths. Index with an int or an (index, seed) pair (from PKBatchSampler);
    returns (image tensor, label, index)."""

    def __init__(self, paths: Sequence[Path], labels: Sequence[int], transform: ReidTransform) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"labels: {len(labels)} labels for {len(paths)} paths")
        self.paths, self.labels, self.transform = list(paths), list(labels), transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int, int]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        image = cv2.imread(str(self.paths[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"{self.paths[index]}: not a readable image")
        return self.transform(image, seed), self.labels[index], index
