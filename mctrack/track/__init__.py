"""Per-camera trackers: ``update(dets, embeddings) -> Tracks``. Registered implementations are imported here."""

from __future__ import annotations

__all__: list[str] = []
