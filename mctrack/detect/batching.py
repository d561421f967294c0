"""One detector shared by several camera threads, detecting the frames they submit at the same time in one call.

:class:`BatchingDetector` wraps a detector: camera threads call it as usual (``detector(frame)``); the frames of a
round (:class:`mctrack.rounds.Rounds`: one per active camera, gathered for at most ``max_wait_ms``) go to the
wrapped detector's ``detect_batch(frames)`` in one call (one forward of the batch on a GPU), or to the detector
frame by frame when it has none. Either way the wrapped detector is called from one thread at a time: an
ultralytics model is not safe to call from several threads at once.
"""

from __future__ import annotations

from ..rounds import SharedInRounds
from ..types import Detections, Frame

__all__ = ["BatchingDetector"]


class BatchingDetector(SharedInRounds):
    """Wraps ``detector`` (see the module docstring). ``calls``: rounds run; ``frames``: frames detected;
    ``largest``: the most frames in one round."""

    def __init__(self, detector, *, max_wait_ms: float = 5.0) -> None:
        super().__init__(detector, "detector", self._detect_round, max_wait_ms=max_wait_ms)

    @property
    def frames(self) -> int:
        return self._rounds.items

    def __call__(self, frame: Frame) -> Detections:
        return self._rounds.submit(frame)

    def _detect_round(self, frames: list[Frame]) -> list[Detections]:
        batch = getattr(self.detector, "detect_batch", None)
        if batch is not None and len(frames) > 1:
            return list(batch(frames))
        return [self.detector(f) for f in frames]
