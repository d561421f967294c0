"""The LAGA paper's hand protocol (11k and HD, after Afifi 2019 and Baisa's MBA-Net): per random split, the test
identities are drawn at random, each contributes ONE random gallery image and all its other images are queries;
10 splits; report mean and std. The datasets are not available here; the parsers follow their documented layouts:

- 11k (Afifi): ``Hands/Hand_0000002.jpg`` ... and ``HandInfo.csv`` with columns including ``id``,
  ``aspectOfHand`` (``dorsal right``, ``dorsal left``, ``palmar right``, ``palmar left``) and ``imageName``.
  Each aspect is its own sub-dataset (D-r, D-l, P-r, P-l).
- HD (PolyU Hand Dorsal): ``Original Images/{id}_{n}.jpg``; identities 1..501 are the subjects, 502..712 are
  extra identities that only ever join the gallery as distractors (``extra_from``).

`hand_splits` draws the splits (seeded); `evaluate_hand_protocol` runs `evaluate_rank` per split and returns
mean/std of rank-1 and mAP. Queries and gallery get different "cameras" so no gallery item is dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reid_models.data.datasets import DatasetError, Sample
from reid_models.evaluation import evaluate_rank

__all__ = ["HandSplit", "evaluate_hand_protocol", "hand_splits", "load_11k", "load_hd"]

ASPECTS = ("dorsal right", "dorsal left", "palmar right", "palmar left")


@dataclass(frozen=True)
class HandSplit:
    """One random split: training images, and the test identities' queries and single gallery images."""

    train: tuple[Sample, ...]
    query: tuple[Sample, ...]
    gallery: tuple[Sample, ...]


def load_11k(root: str | Path, aspect: str) -> list[Sample]:
    """Images of one aspect of 11k (camera 0 for all)."""
    root = Path(root)
    if aspect not in ASPECTS:
        raise ValueError(f"aspect: expected one of {ASPECTS}, got {aspect!r}")
    info = root / "HandInfo.csv"
    if not info.is_file():
        raise DatasetError(f"{info}: not found (11k layout: HandInfo.csv and Hands/)")
    with info.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if missing := {"id", "aspectOfHand", "imageName"} - set(reader.fieldnames or ()):
            raise DatasetError(f"{info}: missing columns {sorted(missing)}")
        rows = [row for row in reader if row["aspectOfHand"].strip() == aspect]
    samples = [Sample(root / "Hands" / row["imageName"].strip(), int(row["id"]), 0) for row in rows]
    if not samples:
        raise DatasetError(f"{info}: no images of aspect {aspect!r}")
    return samples


def load_hd(root: str | Path) -> list[Sample]:
    """All HD images, ``{id}_{n}.jpg`` under ``Original Images/`` (or directly under root)."""
    root = Path(root)
    folder = root / "Original Images" if (root / "Original Images").is_dir() else root
    samples = []
    for path in sorted(folder.rglob("*")):
        stem = path.stem.split("_")
        if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp") and len(stem) == 2 and stem[0].isdigit():
            samples.append(Sample(path, int(stem[0]), 0))
    if not samples:
        raise DatasetError(f"{folder}: no images named ID_N.jpg (HD layout)")
    return samples


def hand_splits(
    samples: Sequence[Sample],
    *,
    num_test_ids: int | None = None,
    num_splits: int = 10,
    seed: int = 0,
    extra_from: int | None = None,
) -> list[HandSplit]:
    """`num_splits` random splits. num_test_ids: test identities per split (default: half, rounded down).
    extra_from: identities >= this value are gallery-only distractors (HD: 502), in every split's gallery.
    Identities with one image cannot be tested (no query) and always stay in training."""
    if num_splits < 1:
        raise ValueError(f"num_splits: must be >= 1, got {num_splits}")
    extra = [s for s in samples if extra_from is not None and s.pid >= extra_from]
    main = [s for s in samples if extra_from is None or s.pid < extra_from]
    by_id: dict[int, list[Sample]] = {}
    for s in main:
        by_id.setdefault(s.pid, []).append(s)
    testable = sorted(pid for pid, items in by_id.items() if len(items) >= 2)
    n_test = len(by_id) // 2 if num_test_ids is None else num_test_ids
    if not 1 <= n_test <= len(testable):
        raise ValueError(f"num_test_ids: need 1..{len(testable)} identities with >= 2 images, got {n_test}")
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(num_splits):
        test_ids = set(rng.choice(testable, size=n_test, replace=False).tolist())
        train, query, gallery = [], [], []
        for pid in sorted(by_id):
            items = by_id[pid]
            if pid not in test_ids:
                train += items
                continue
            pick = int(rng.integers(len(items)))
            gallery.append(Sample(items[pick].path, pid, 1))
            query += [Sample(s.path, pid, 0) for i, s in enumerate(items) if i != pick]
        gallery += [Sample(s.path, s.pid, 1) for s in extra]
        splits.append(HandSplit(tuple(train), tuple(query), tuple(gallery)))
    return splits


def evaluate_hand_protocol(
    splits: Sequence[HandSplit],
    embed: Callable[[Sequence[Path]], np.ndarray],
    *,
    distance: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """Mean and std over the splits of rank-1 and mAP (percent). `embed(paths) -> (N, D)` features;
    `distance` defaults to cosine. (Training per split, as the paper does, is the caller's loop.)"""
    from reid_models.evaluation import cosine_distance

    distance = distance or cosine_distance
    cache: dict[Path, np.ndarray] = {}
    r1, maps = [], []
    for split in splits:
        need = [s.path for s in (*split.query, *split.gallery) if s.path not in cache]
        if need:
            cache.update(zip(need, embed(need), strict=True))
        q = np.stack([cache[s.path] for s in split.query])
        g = np.stack([cache[s.path] for s in split.gallery])
        result = evaluate_rank(
            distance(q, g),
            np.array([s.pid for s in split.query]),
            np.array([s.pid for s in split.gallery]),
            np.array([s.camid for s in split.query]),
            np.array([s.camid for s in split.gallery]),
        )
        r1.append(100 * result.rank(1))
        maps.append(100 * result.mAP)
    return {
        "rank1_mean": float(np.mean(r1)),
        "rank1_std": float(np.std(r1)),
        "mAP_mean": float(np.mean(maps)),
        "mAP_std": float(np.std(maps)),
        "splits": len(splits),
    }
