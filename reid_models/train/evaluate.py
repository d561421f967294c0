"""Market-1501-protocol evaluation of a model on a dataset's query/gallery split."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from reid_models.checkpoint import load_checkpoint, trained_with, update_extra
from reid_models.data import ImageDataset, ReidDataset, ReidTransform, dataset_errors_unwrapped, load_dataset
from reid_models.data.datasets import content_fingerprint, dataset_fingerprint
from reid_models.evaluation import cosine_distance, evaluate_rank
from reid_models.train.rerank import rerank_features

__all__ = ["evaluate", "evaluate_checkpoint", "evaluate_dataset", "extract_features"]


@torch.no_grad()
def extract_features(
    model: nn.Module,
    paths: Sequence[Path],
    *,
    input_size: Sequence[int],
    flip: bool = True,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
    progress: str | None = None,
) -> np.ndarray:
    """(N, D) float32 features. flip: average of the L2-normalised features of each image and its mirror.
    num_workers: image-decoding processes (0: in this process); progress: a tqdm bar with this label."""
    device = torch.device(device)
    loader = DataLoader(
        ImageDataset(paths, [0] * len(paths), ReidTransform(input_size)),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    was_training = model.training
    model.eval()
    out = []
    # closed (and cleared) on an error too, so that the error's line does not follow the bar's text
    with tqdm(total=len(paths), desc=progress, unit="img", disable=progress is None, leave=False) as bar:
        for images, _, _ in dataset_errors_unwrapped(loader):
            bar.update(len(images))
            images = images.to(device, non_blocking=True)
            feature = model(images).feature.float()
            if flip:
                feature = F.normalize(feature, dim=1) + F.normalize(model(images.flip(3)).feature.float(), dim=1)
            out.append(feature.cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, getattr(model, "feature_dim", 0)), np.float32)


def feature_mean(
    model: nn.Module,
    paths: Sequence[Path],
    *,
    input_size: Sequence[int],
    max_images: int = 1000,
    seed: int = 0,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> list[float]:
    """The mean unit feature of (a seeded sample of at most ``max_images`` of) ``paths``, for centring features at
    inference (``mctrack.embed.ReidEmbedder`` subtracts it when a checkpoint's ``extra.feature_mean`` holds it)."""
    paths = list(paths)
    if not paths:
        raise ValueError("paths: no images to average")
    if len(paths) > max_images:
        pick = np.random.default_rng(seed).choice(len(paths), max_images, replace=False)
        paths = [paths[i] for i in sorted(pick)]
    f = extract_features(model, paths, input_size=input_size, flip=False, batch_size=batch_size, device=device)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    return [float(v) for v in f.mean(axis=0)]


def store_feature_mean(
    weights: str | os.PathLike[str],
    paths: Sequence[Path],
    *,
    out: str | os.PathLike[str] | None = None,
    max_images: int = 1000,
    device: torch.device | str = "cpu",
) -> int:
    """Store :func:`feature_mean` of ``paths`` in the checkpoint ``weights`` (``extra.feature_mean``; written to
    ``out``, default in place) for checkpoints made without it; returns the number of images averaged. A mean that
    is not finite (a network with broken weights) is a ValueError and nothing is written: it would make every
    feature of the checkpoint NaN, and without ``out`` replace the only copy."""
    model, _ = load_checkpoint(weights, map_location=device)
    n = min(len(paths), int(max_images))
    mean = feature_mean(model, paths, input_size=model.input_size, max_images=max_images, device=device)
    if not np.isfinite(mean).all():
        raise ValueError(
            f"{weights}: the network gives non-finite features (NaN/inf) (broken weights?); no feature mean stored"
        )
    update_extra(weights, {"feature_mean": mean, "feature_mean_images": n}, out=out)
    return n


def evaluate(
    model: nn.Module,
    dataset: ReidDataset,
    *,
    flip: bool = True,
    rerank: bool = False,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    input_size: Sequence[int] | None = None,
    num_workers: int = 0,
    progress: bool = False,
) -> tuple[dict[str, Any], np.ndarray]:
    """Rank-1/5/10, mAP, mINP (fractions in [0, 1]) and the (Q, G) distance matrix; cosine distance, optionally
    k-reciprocal re-ranking (k1=20, k2=6, lambda=0.3; sparse, scales to Market-1501's 19,732 gallery images).
    progress: tqdm bars for feature extraction and a line per re-ranking stage."""
    size = input_size or model.input_size
    options = {"input_size": size, "flip": flip, "batch_size": batch_size, "device": device, "num_workers": num_workers}
    q = extract_features(model, [s.path for s in dataset.query], progress="query" if progress else None, **options)
    g = extract_features(model, [s.path for s in dataset.gallery], progress="gallery" if progress else None, **options)
    dist = cosine_distance(q, g)
    if rerank:
        dist = rerank_features(
            q, g, progress=(lambda stage: print(f"re-ranking: {stage}", flush=True)) if progress else None
        )
    result = evaluate_rank(
        dist,
        np.array([s.pid for s in dataset.query]),
        np.array([s.pid for s in dataset.gallery]),
        np.array([s.camid for s in dataset.query]),
        np.array([s.camid for s in dataset.gallery]),
    )
    summary = {**result.summary(), "flip": flip, "rerank": rerank}
    return summary, dist


def evaluate_dataset(
    model: nn.Module,
    data: str | os.PathLike[str],
    *,
    dataset_format: str = "market1501",
    input_size: Sequence[int] | None = None,
    **options: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """:func:`evaluate` of ``model`` on the query/gallery split of the dataset at ``data`` (its training split is
    not read; ``options`` as :func:`evaluate` takes them). Returns the summary and what was scored: the dataset's
    absolute path and the fingerprints of its query and gallery images, by name and size and by content."""
    dataset = load_dataset(dataset_format, data, train=False)  # scoring needs query and gallery only
    summary, _ = evaluate(model, dataset, input_size=input_size, **options)
    return summary, {
        "data": str(Path(data).resolve()),
        # of the images scored; a run manifest's "fingerprint" covers its training images too
        "query_gallery_fingerprint": dataset_fingerprint(dataset, ("query", "gallery")),
        # the same over the images' bytes (a file changed at the same size is seen too)
        "query_gallery_content_fingerprint": content_fingerprint(dataset, ("query", "gallery")),
    }


def evaluate_checkpoint(
    weights: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    dataset_format: str = "market1501",
    flip: bool = True,
    rerank: bool = False,
    device: str = "cpu",
    batch_size: int = 64,
    num_workers: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Load a reid_models checkpoint and evaluate it on the query/gallery split of the dataset at `data` (its
    training split is not needed). The result records which files made it: the checkpoint's absolute path and
    SHA-1, the dataset's absolute path and the fingerprint of its query and gallery images
    (:func:`~reid_models.data.datasets.dataset_fingerprint`)."""
    model, manifest = load_checkpoint(weights, map_location=device)
    summary, scored_on = evaluate_dataset(
        model,
        data,
        dataset_format=dataset_format,
        flip=flip,
        rerank=rerank,
        device=device,
        batch_size=batch_size,
        num_workers=num_workers,
        progress=progress,
    )
    return {
        **summary,
        "weights": str(Path(weights).resolve()),
        "weights_sha1": _sha1(weights),  # as mctrack track / run record a checkpoint
        **scored_on,
        "arch": manifest["arch"],
        "trained_with": trained_with(manifest),
    }


def _sha1(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
