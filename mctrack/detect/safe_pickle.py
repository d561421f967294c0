"""Check a PyTorch pickle (an ultralytics ``.pt`` checkpoint) before anything unpickles it without restrictions.

Ultralytics loads ``.pt`` files with ``torch.load(weights_only=False)``: a crafted file runs its own code the moment
it is read. :func:`checked_weights_bytes` reads the file once, loads it with ``torch.load(weights_only=True)`` and an
allow-list of the classes a detection checkpoint legitimately holds, and returns the bytes only when that restricted
load succeeds; the caller hands exactly those bytes to ultralytics, so the file cannot change in between.

Allowed beyond torch's own safe set (the same policy as ultralytics' opt-in ``ULTRALYTICS_SAFE_LOAD``):
``torch.nn`` and ``ultralytics.nn`` layer and model classes (``torch.nn.Module`` subclasses defined in
``torch.nn.modules``, ``ultralytics.nn.modules`` or ``ultralytics.nn.tasks``), ultralytics' loss/assigner classes
(``ultralytics.utils.loss``, ``ultralytics.utils.tal``), plain namespaces and paths, and numpy's array/dtype
reconstruction. Everything else (``os.system``, ``builtins.eval``, ``subprocess``, any other callable) is refused.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path

__all__ = ["UnsafePickle", "checked_weights_bytes", "allowed_global"]

_LAYER_MODULES = ("torch.nn.modules", "ultralytics.nn.modules", "ultralytics.nn.tasks")
_CLASS_MODULES = ("ultralytics.utils.loss", "ultralytics.utils.tal")
_PLAIN = {
    "ultralytics.utils.IterableSimpleNamespace",
    "types.SimpleNamespace",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.Path",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
}


class UnsafePickle(ValueError):
    """The file needs something to be unpickled that could run code."""


def _in(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def allowed_global(name: str) -> object | None:
    """The object a checkpoint's global ``module.Name`` stands for when the policy allows it, else None."""
    module, _, attr = name.rpartition(".")
    if not module or not attr or attr.startswith("__"):
        return None
    layer, klass = _in(module, _LAYER_MODULES), module in _CLASS_MODULES
    numpy_dtype = module == "numpy.dtypes" and attr.endswith("DType")
    if not (layer or klass or numpy_dtype or name in _PLAIN):
        return None
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    if layer:
        import torch

        # defined there (not merely imported there) and a layer: constructing one builds modules, nothing else
        ok = isinstance(obj, type) and _in(obj.__module__, _LAYER_MODULES) and issubclass(obj, torch.nn.Module)
        return obj if ok else None
    if klass:
        return obj if isinstance(obj, type) and obj.__module__ == module else None
    return obj


def _guard(cls: type) -> type:
    """A stand-in for a layer class during the check: it can be rebuilt the way pickle rebuilds objects
    (``cls.__new__`` then its state), but calling it (constructing one with arguments, which a model class may turn
    into file reads or ``eval``) is refused."""

    def refuse(self, *args, **kwargs):
        raise UnsafePickle(f"it calls {cls.__module__}.{cls.__qualname__}(...), which a checkpoint never needs")

    return type(cls.__name__, (cls,), {"__init__": refuse, "__module__": cls.__module__})


def checked_weights_bytes(path: str | Path) -> bytes:
    """The bytes of the PyTorch checkpoint ``path`` once a restricted load proved that unpickling them runs nothing
    outside the allow-list; raises :class:`UnsafePickle` naming what was refused.

    Layer and model classes are allowed only to be *rebuilt* (as pickle rebuilds any object: a bare instance, then
    its saved attributes); a pickle that *calls* one (``DetectionModel(cfg)`` would parse a model description and
    evaluate parts of it) is refused, like any callable outside torch's own tensor-rebuilding set.
    """
    import pickle

    import torch

    if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
        raise UnsafePickle(f"this torch ({torch.__version__}) cannot check pickles; torch >= 2.6 can")
    data = Path(path).read_bytes()
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - not a zip checkpoint (legacy format): the restricted load decides
        needed = []
        if not isinstance(exc, (ValueError, RuntimeError, pickle.UnpicklingError)):
            raise
    allowed, refused = [], []
    for name in needed:
        obj = allowed_global(name)
        if obj is None:
            refused.append(name)
        elif isinstance(obj, type) and (issubclass(obj, torch.nn.Module) or obj.__module__ in _CLASS_MODULES):
            allowed.append((_guard(obj), name))
        else:
            allowed.append((obj, name))
    if refused:
        raise UnsafePickle(
            f"it needs {', '.join(sorted(refused)[:3])}"
            + (f" and {len(refused) - 3} more" if len(refused) > 3 else "")
            + ", which unpickling could use to run code"
        )
    if "numpy.dtype" in needed:
        import numpy as np

        allowed.append(type(np.dtype(np.float64)))  # built dynamically, absent from the scan
    try:
        with torch.serialization.safe_globals(allowed):
            torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except UnsafePickle:
        raise
    except pickle.UnpicklingError as exc:
        if isinstance(exc.__context__, UnsafePickle):
            raise exc.__context__ from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
        raise UnsafePickle(f"a restricted load refused it ({first[:200]})") from None
    return data
