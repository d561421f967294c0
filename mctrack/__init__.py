"""mctrack: multi-camera person tracking with pluggable Re-ID embedders."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
