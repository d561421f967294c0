"""One embedder shared by several camera threads, embedding the crops they submit at the same time in one call.

On a GPU a forward of 50 crops costs little more than one of 10, so the cameras of a run should not each call the
network with their own few crops. :class:`BatchingEmbedder` wraps any embedder: camera threads call it as usual
(``embedder(image, dets)``); the first caller of a round waits up to ``max_wait_ms`` for the other active cameras
to submit theirs, then runs the wrapped embedder once on all crops and hands every caller its rows. Cameras
register with :meth:`BatchingEmbedder.client` so that a round never waits for a camera that has finished.

The features are those of the wrapped embedder on the same crops (the batch composition can change float
rounding in the network, nothing else). When the wrapped embedder raises on a round of several cameras, their
requests are run again one by one, so only the camera whose crops fail (or that alone exceeds the memory) gets the
exception. The wrapped embedder still splits a round into forwards of its own ``batch_size``. An embedder with
``embed_boxes`` (:class:`~mctrack.embed.ReidEmbedder`, which cuts crops on the GPU) gets the round's frames and
boxes instead of crops, so every frame is uploaded once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..rounds import SharedInRounds
from ..types import Detections
from .base import extract_crops, require_detections

__all__ = ["BatchingEmbedder"]


class _Boxes:
    """A camera's request as a frame and its boxes (for an embedder that cuts the crops itself)."""

    def __init__(self, image: np.ndarray, xyxy: np.ndarray) -> None:
        self.image, self.xyxy = image, xyxy

    def __len__(self) -> int:
        return len(self.xyxy)


class BatchingEmbedder(SharedInRounds):
    """Wraps ``embedder`` (see the module docstring; the rounds are :class:`mctrack.rounds.Rounds`). ``calls``:
    wrapped-embedder calls so far; ``crops``: crops embedded; ``largest``: the largest number of requests (camera
    frames) served by one call."""

    def __init__(self, embedder, *, max_wait_ms: float = 5.0) -> None:
        super().__init__(embedder, "embedder", self._embed_round, max_wait_ms=max_wait_ms)
        self.dim = int(getattr(embedder, "dim", 0))
        self.crops = 0

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        require_detections(dets)
        if len(dets) == 0:
            return np.zeros((0, self.dim), np.float32)
        if hasattr(self.embedder, "embed_boxes"):  # e.g. crops cut on the GPU: the frames travel, not the crops
            return self._rounds.submit(_Boxes(image, np.asarray(dets.xyxy, np.float32)))
        return self.embed_crops(extract_crops(image, dets.xyxy))

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return self._rounds.submit(list(crops))

    def _embed_round(self, requests: list) -> list[np.ndarray]:
        sizes = [len(r) for r in requests]
        if all(isinstance(r, _Boxes) for r in requests):
            out = self.embedder.embed_boxes([(r.image, r.xyxy) for r in requests])
        else:
            crops = [c for r in requests for c in (extract_crops(r.image, r.xyxy) if isinstance(r, _Boxes) else r)]
            out = self.embedder.embed_crops(crops)
        out = np.asarray(out, np.float32)
        if out.shape[0] != sum(sizes):
            raise ValueError(f"{self.name}: the embedder gave {out.shape[0]} rows for {sum(sizes)} crops")
        self.crops += sum(sizes)
        bounds = np.cumsum([0, *sizes])
        return [out[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
