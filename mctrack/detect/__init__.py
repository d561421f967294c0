"""Detectors: ``Frame -> Detections``. Registered implementations are imported here.

Registered names (``mctrack.registry.DETECTORS``):

- ``yolo``: ultralytics YOLO, person class only (ultralytics is imported when one is built).
- ``mot``: replays a MOTChallenge ``det.txt`` (public detections).
"""

from __future__ import annotations

from ..registry import DETECTORS
from .base import Detector
from .batching import BatchingDetector
from .motfile import MotFileDetector
from .yolo import YoloDetector

__all__ = ["BatchingDetector", "Detector", "MotFileDetector", "YoloDetector", "build_detector"]

DETECTORS.register("yolo", "ultralytics YOLO, person class only (weights path or model name)")(YoloDetector)
DETECTORS.register("mot", "replay of a MOTChallenge det.txt (public detections), with a score threshold")(
    MotFileDetector
)


def build_detector(name: str, **kwargs) -> Detector:
    """The detector registered as ``name`` built with ``kwargs``; unknown names list the valid ones."""
    return DETECTORS.build(name, **kwargs)
