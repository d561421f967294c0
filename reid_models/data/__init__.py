"""Re-ID datasets (layouts, hand protocol), the P x K sampler, transforms and torch Dataset wrappers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

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
    "DecodedImages",
    "HandSplit",
    "ImageDataset",
    "PKBatchSampler",
    "ReidDataset",
    "ReidTransform",
    "Sample",
    "check_images",
    "dataset_errors_unwrapped",
    "dataset_fingerprint",
    "evaluate_hand_protocol",
    "hand_splits",
    "load_11k",
    "load_dataset",
    "load_hd",
    "parse_market_folder",
]


def read_image(path: Path) -> np.ndarray:
    """A training image as BGR uint8; an unreadable file is a :class:`DatasetError` naming it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{path}: not a readable image")
    return image


def check_images(paths: Sequence[Path], *, what: str, threads: int = 4, progress: bool = False) -> None:
    """Decode every image once; one that cannot be read is a :class:`DatasetError` naming it (the first in
    ``paths`` order) and how many of ``what`` (e.g. "query and gallery images") are unreadable. Market-1501's
    23,100 query and gallery images take about 3 s on two cores; training runs check the 12,936 training images too."""

    def readable(path: Path) -> bool:
        return cv2.imread(str(path), cv2.IMREAD_COLOR) is not None

    with ThreadPoolExecutor(max(1, threads)) as pool:
        work = pool.map(readable, paths)
        ok = list(tqdm(work, total=len(paths), desc="checking", unit="img", disable=not progress, leave=False))
    bad = [p for p, good in zip(paths, ok) if not good]
    if bad:
        more = f" ({len(bad)} of the {len(paths)} {what} are unreadable)" if len(bad) > 1 else ""
        raise DatasetError(f"{bad[0]}: not a readable image{more}")


def dataset_errors_unwrapped(batches: Iterable) -> Iterator:
    """``batches`` (a DataLoader) as they come, except that a :class:`DatasetError` raised in a loader worker keeps
    its own one-line message: torch re-raises it as "Caught DatasetError in DataLoader worker process 0." followed
    by the worker's traceback, whose last line holds the file name."""
    try:
        yield from batches
    except DatasetError as err:
        text = str(err)
        if not text.startswith("Caught "):
            raise
        last = [line for line in text.splitlines() if line.strip()][-1]
        raise DatasetError(last.split("DatasetError: ", 1)[-1].strip()) from None


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
        return self.transform(read_image(self.paths[index]), seed), self.labels[index], index


class DecodedImages:
    """Every image decoded and resized once (``transform.resize``) into one uint8 ``(N, 3, H, W)`` RGB tensor on
    ``device``; :meth:`batch` gathers a P x K batch there and augments it there (``transform.batch``), so a GPU
    never waits for JPEG decoding or per-image augmentation. Equal to :class:`ImageDataset` + a DataLoader with the
    same transform, to float rounding. Memory: N x 3 x H x W bytes (Market-1501 at 256x128: 1.3 GB).

    Args:
        paths, labels: the images and their training labels.
        transform: the training transform (its size is the stored size).
        device: where the pixels live and the augmentation runs.
        threads: decoding threads (OpenCV releases the GIL).
        progress: a progress bar while decoding.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        labels: Sequence[int],
        transform: ReidTransform,
        *,
        device: torch.device | str = "cpu",
        threads: int = 4,
        progress: bool = False,
    ) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"labels: {len(labels)} labels for {len(paths)} paths")
        self.transform = transform
        pixels = np.empty((len(paths), 3, *transform.hw), np.uint8)  # written in place: no second host copy

        def load(i: int) -> None:
            pixels[i] = transform.resize(read_image(paths[i])).transpose(2, 0, 1)

        pool = ThreadPoolExecutor(max(1, threads))
        try:
            work = pool.map(load, range(len(paths)))
            for _ in tqdm(work, total=len(paths), desc="decoding", unit="img", disable=not progress, leave=False):
                pass
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # report a bad file now, not after decoding the rest
            raise
        pool.shutdown()
        self.images = torch.from_numpy(pixels).to(device)
        self.labels = torch.as_tensor(list(labels), dtype=torch.long, device=self.images.device)

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, items: Sequence[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)`` on the device for (index, seed) pairs, as :class:`PKBatchSampler` yields them."""
        index = torch.as_tensor([i for i, _ in items], dtype=torch.long, device=self.images.device)
        return self.transform.batch(self.images[index], [s for _, s in items]), self.labels[index]
