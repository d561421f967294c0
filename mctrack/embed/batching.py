"""One embedder shared by several camera threads, embedding the crops they submit at the same time in one call.

On a GPU a forward of 50 crops costs little more than one of 10, so the cameras of a run should not each call the
network with their own few crops. :class:`BatchingEmbedder` wraps any embedder: camera threads call it as usual
(``embedder(image, dets)``); the first caller of a round waits up to ``max_wait_ms`` for the other active cameras
to submit theirs, then runs the wrapped embedder once on all crops and hands every caller its rows. Cameras
register with :meth:`BatchingEmbedder.client` so that a round never waits for a camera that has finished.

The features are those of the wrapped embedder on the same crops (the batch composition can change float
rounding in the network, nothing else). When the wrapped embedder raises on a round of several cameras, their
requests are run again one by one, so only the camera whose crops fail (or that alone exceeds the memory) gets the
exception. The wrapped embedder still splits a round into forwards of its own ``batch_size``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ..types import Detections
from .base import extract_crops

__all__ = ["BatchingEmbedder"]


class _Request:
    def __init__(self, crops: Sequence[np.ndarray]) -> None:
        self.crops = crops
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingEmbedder:
    """Wraps ``embedder`` (see the module docstring). ``calls``: wrapped-embedder calls so far; ``crops``: crops
    embedded; ``largest``: the largest number of requests (camera frames) served by one call."""

    def __init__(self, embedder, *, max_wait_ms: float = 5.0) -> None:
        if not (np.isfinite(max_wait_ms) and max_wait_ms >= 0):
            raise ValueError(f"max_wait_ms: must be a finite number >= 0, got {max_wait_ms}")
        self.embedder = embedder
        self.name = getattr(embedder, "name", type(embedder).__name__)
        self.dim = int(getattr(embedder, "dim", 0))
        self.max_wait = float(max_wait_ms) / 1000.0
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._clients = 0
        self._leading = False
        self.calls = self.crops = self.largest = 0

    def __getattr__(self, name: str):  # device, precision, weights, recommended... of the wrapped embedder
        if name == "embedder":
            raise AttributeError(name)
        return getattr(self.embedder, name)

    @contextmanager
    def client(self) -> Iterator[None]:
        """A camera thread takes part in the rounds while inside this context."""
        with self._cond:
            self._clients += 1
        try:
            yield
        finally:
            with self._cond:
                self._clients -= 1
                self._cond.notify_all()  # a leader waiting for this camera stops waiting

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        if len(dets) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_crops(extract_crops(image, dets.xyxy))

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        req = _Request(list(crops))
        with self._cond:
            self._pending.append(req)
            self._cond.notify_all()
            while not req.done and self._leading:  # another thread is gathering or computing a round
                self._cond.wait()
            if req.done:
                return self._result(req)
            self._leading = True  # this thread runs the next round, which includes its own request
            batch: list[_Request] = []
            try:
                deadline = time.monotonic() + self.max_wait
                while len(self._pending) < max(self._clients, 1):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._pending = self._pending, []
            finally:
                if not batch:  # interrupted while gathering: the others' requests wait for the next leader
                    self._pending = [r for r in self._pending if r is not req]
                    self._leading = False
                    self._cond.notify_all()
        try:
            self._run(batch)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return self._result(req)

    def _run(self, batch: list[_Request]) -> None:
        sizes = [len(r.crops) for r in batch]
        try:
            out = np.asarray(self.embedder.embed_crops([c for r in batch for c in r.crops]), np.float32)
            if out.shape[0] != sum(sizes):
                raise ValueError(f"{self.name}: embed_crops gave {out.shape[0]} rows for {sum(sizes)} crops")
        except Exception as exc:  # noqa: BLE001 - handed to the callers
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            for r in batch:  # one camera's bad crops (or a batch too large) must not fail the others: one by one
                self._run([r])
            return
        except BaseException as exc:  # KeyboardInterrupt and the like: every caller of the round sees it
            for r in batch:
                r.error, r.done = exc, True
            return
        start = 0
        for r, n in zip(batch, sizes):
            r.result, r.done = out[start : start + n], True
            start += n
        self.calls += 1
        self.crops += sum(sizes)
        self.largest = max(self.largest, len(batch))

    @staticmethod
    def _result(req: _Request) -> np.ndarray:
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result
