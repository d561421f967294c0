"""Name -> builder registries, one per plugin kind.

Users type short names (``laga``, ``can``, ``yolo``, ``mot``); a registry maps them to builders. Unknown names
fail with the list of valid ones. Each kind's package ``__init__`` imports its own implementations, so looking a
name up through :func:`get` first imports that package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["Registry", "DETECTORS", "EMBEDDERS", "TRACKERS", "LINKERS", "UnknownNameError"]


class UnknownNameError(KeyError, ValueError):
    """A name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one clean line
        return str(self.args[0])


class Registry:
    """A mapping from short names to builders of one kind of component.

    Args:
        kind: what the registry holds, used in error messages (e.g. ``"embedder"``).
        package: the package whose import registers the built-in implementations.
    """

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self._package = package
        self._builders: dict[str, Callable[..., Any]] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register ``builder`` under ``name``; registering a taken name is an error."""

        def deco(builder: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._builders and self._builders[name] is not builder:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._builders[name] = builder
            self._help[name] = help or (builder.__doc__ or "").strip().split("\n")[0]
            return builder

        return deco

    def _load(self) -> None:
        importlib.import_module(self._package)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._builders)

    def describe(self) -> dict[str, str]:
        """``{name: one-line help}`` for ``--help`` texts."""
        self._load()
        return {n: self._help[n] for n in sorted(self._builders)}

    def get(self, name: str) -> Callable[..., Any]:
        self._load()
        try:
            return self._builders[name]
        except KeyError:
            valid = ", ".join(sorted(self._builders)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid names: {valid}") from None

    def build(self, name: str, **kwargs: Any) -> Any:
        return self.get(name)(**kwargs)

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._builders


DETECTORS = Registry("detector", "mctrack.detect")
EMBEDDERS = Registry("embedder", "mctrack.embed")
TRACKERS = Registry("tracker", "mctrack.track")
LINKERS = Registry("linker", "mctrack.link")
