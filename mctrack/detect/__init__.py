"""Detectors: ``Frame -> Detections``. Registered implementations are imported here."""

from __future__ import annotations

__all__: list[str] = []
