"""One module per ``mctrack`` subcommand, each with ``register(subparsers)``."""

from __future__ import annotations

__all__: list[str] = []
