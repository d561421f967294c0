"""Name -> builder registries, one per plugin kind.

Users type short names (``laga``, ``can``, ``yolo``, ``mot``); a registry maps them to builders. Unknown names
fail with the list of valid ones. Each kind's package ``__init__`` imports its own implementations, so looking a
name up through :func:`get` first imports that package.

**Facts.** Each component carries its own facts, given at registration (``register(name, help, **facts)``) and
read with ``facts(name)``, so that the library, the CLI and plugins share one set of defaults. Embedders:
``takes_weights`` (a checkpoint/model file), ``track_appearance`` (the per-camera tracker's appearance weight and
cosine threshold for its features), ``track_centre`` (what the tracker centres those features on before
comparing them: ``"scene"`` or ``"none"``, the default), ``link_thresh`` (the cross-camera linker's cosine
threshold), ``embed`` (``"all"`` or ``"needed"``: which detections ``track`` and ``run`` embed by default).

**Plugins.** Other packages add components through Python entry points in the groups ``mctrack.embedders``,
``mctrack.detectors``, ``mctrack.trackers`` and ``mctrack.linkers``: the entry point's name is the component's
name and its object the builder (facts from the builder's optional ``mctrack_facts`` dict). In a
``pyproject.toml``::

    [project.entry-points."mctrack.embedders"]
    osnet = "my_package.reid:build_osnet"
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from importlib import metadata
from typing import Any

log = logging.getLogger(__name__)

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
        self._facts: dict[str, dict[str, Any]] = {}
        self._plugins_loaded = False

    def register(self, name: str, help: str = "", **facts: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register ``builder`` under ``name`` with its ``facts``; a taken name is an error."""

        def deco(builder: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._builders and self._builders[name] is not builder:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._builders[name] = builder
            self._help[name] = help or (builder.__doc__ or "").strip().split("\n")[0]
            self._facts[name] = {**getattr(builder, "mctrack_facts", {}), **facts}
            return builder

        return deco

    def facts(self, name: str) -> dict[str, Any]:
        """The facts registered with ``name`` (unknown names fail like ``get``)."""
        self.get(name)
        return dict(self._facts.get(name, {}))

    def _load(self) -> None:
        importlib.import_module(self._package)
        if not self._plugins_loaded:
            self._plugins_loaded = True
            for ep in metadata.entry_points(group=f"mctrack.{self.kind}s"):
                if ep.name in self._builders:
                    log.warning("%s plugin %r (%s) ignored: the name is taken", self.kind, ep.name, ep.value)
                    continue
                try:
                    builder = ep.load()
                except Exception as err:  # a broken plugin must not break the built-in components
                    log.warning("%s plugin %r (%s) could not be loaded: %s", self.kind, ep.name, ep.value, err)
                    continue
                self.register(ep.name)(builder)

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
