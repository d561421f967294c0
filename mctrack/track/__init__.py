"""Per-camera trackers: ``update(dets, embeddings) -> Tracks``. Registered implementations are imported here.

Registered names (``mctrack.registry.TRACKERS``):

- ``mctrack``: the project's tracker (:class:`~mctrack.track.tracker.Tracker`): constant-velocity Kalman filter,
  two-stage high/low-score association, fused IoU + appearance costs, optional camera-motion compensation.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..types import Detections, Tracks
from .cmc import IDENTITY_WARP, CameraMotion
from .kalman import BoxKalman
from .matching import cosine_distance, iou_distance, iou_matrix, linear_assignment
from .tracker import APPEARANCE_CENTRES, DETECTOR_THRESHOLDS, Tracker, TrackState, build_tracker

__all__ = [
    "TrackerProtocol",
    "Tracker",
    "TrackState",
    "DETECTOR_THRESHOLDS",
    "APPEARANCE_CENTRES",
    "BoxKalman",
    "CameraMotion",
    "IDENTITY_WARP",
    "build_tracker",
    "iou_matrix",
    "iou_distance",
    "cosine_distance",
    "linear_assignment",
]


@runtime_checkable
class TrackerProtocol(Protocol):
    """What the pipeline needs from a per-camera tracker."""

    def update(self, dets: Detections, embeddings: np.ndarray | None = None) -> Tracks:
        """Advance one frame; returns the tracks reported for it."""
        ...

    def reset(self) -> None:
        """Forget all tracks; ids restart."""
        ...
