"""Re-ID datasets (layouts, hand protocol), the P x K sampler, transforms and torch Dataset wrappers."""

from __future__ import annotations

import hashlib

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
    content_fingerprint,
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
    "content_fingerprint",
    "dataset_fingerprint",
    "evaluate_hand_protocol",
    "hand_splits",
    "load_11k",
    "load_dataset",
    "load_hd",
    "parse_market_folder",
]


#: (start, end) markers of a JPEG and a PNG file: a file that starts with one but lacks the other was cut short
_END_MARKERS = ((b"\xff\xd8", b"\xff\xd9"), (b"\x89PNG\r\n\x1a\n", b"IEND"))


def _decode(path: Path, digests: dict[Path, str] | None = None) -> tuple[np.ndarray | None, str | None]:
    """``(image, problem)``: the BGR image, or None and why it cannot be used. A JPEG or PNG without its end
    marker (a copy cut short) decodes without an error, the missing part grey, and would train or score as a real
    image; it is refused (the same check as ``mctrack.io.video``'s for image folders: this package does not import
    ``mctrack``). ``digests``, when given, gets the sha256 of the file's bytes under ``path``."""
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        return None, "not a readable image"
    raw = data.tobytes()
    if digests is not None:
        digests[path] = hashlib.sha256(raw).hexdigest()
    marker = next((end for start, end in _END_MARKERS if raw.startswith(start)), None)
    if marker is not None and marker not in raw:  # (cv2.imread decodes most of them; decoding the bytes, few)
        return None, "cut short (a JPEG or PNG without its end marker: a damaged copy)"
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image, None if image is not None else "not a readable image"


def read_image(path: Path) -> np.ndarray:
    """A training image as BGR uint8; an unreadable or cut-short file is a :class:`DatasetError` naming it."""
    image, problem = _decode(path)
    if image is None:
        raise DatasetError(f"{path}: {problem}")
    return image


def check_images(paths: Sequence[Path], *, what: str, threads: int = 4, progress: bool = False) -> dict[Path, str]:
    """Decode every image once; one that cannot be read or was cut short is a :class:`DatasetError` naming it (the
    first in ``paths`` order) and how many of ``what`` (e.g. "query and gallery images") are unusable. Market-1501's
    23,100 query and gallery images take about 3 s on two cores; training runs check the 12,936 training images too.
    Returns the sha256 of every file's bytes (for :func:`~reid_models.data.datasets.content_fingerprint`, which then
    reads none of them again)."""
    digests: dict[Path, str] = {}

    def problem(path: Path) -> str | None:
        return _decode(path, digests)[1]

    with ThreadPoolExecutor(max(1, threads)) as pool:
        work = pool.map(problem, paths)
        found = list(tqdm(work, total=len(paths), desc="checking", unit="img", disable=not progress, leave=False))
    bad = [(p, why) for p, why in zip(paths, found) if why]
    if bad:
        more = f" ({len(bad)} of the {len(paths)} {what} are unusable)" if len(bad) > 1 else ""
        raise DatasetError(f"{bad[0][0]}: {bad[0][1]}{more}")
    return digests


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
