"""Video sources, MOTChallenge files and annotated-video writers."""

from __future__ import annotations

__all__: list[str] = []
