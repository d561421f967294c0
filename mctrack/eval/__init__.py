"""Evaluation: MOT metrics, multi-camera IDF1, Re-ID CMC/mAP."""

from __future__ import annotations

__all__: list[str] = []
