"""The detector interface."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..types import Detections, Frame

__all__ = ["Detector"]


@runtime_checkable
class Detector(Protocol):
    """Person boxes of one frame: ``detector(frame) -> Detections`` (xyxy pixels, scores, class 0)."""

    name: str

    def __call__(self, frame: Frame) -> Detections: ...
