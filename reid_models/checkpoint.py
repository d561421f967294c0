"""Self-describing checkpoints: `{"manifest": {...}, "state_dict": {...}}` written with torch.save.

The manifest holds plain types only (it is read back with `torch.load(..., weights_only=True)`):
format, format_version, arch, config (the model's {"arch", "kwargs"}), num_classes, input_size [H, W],
feature_dim, torch_version, extra (caller's plain-typed dict, e.g. training hyperparameters).
`load_checkpoint` rebuilds the model from the manifest (no pretrained download) and loads the weights;
`load_weights_into` fills an existing model and says in one line why a file does not fit it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reid_models.models import MODELS, build_model

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "export_for_inference",
    "load_checkpoint",
    "load_weights_into",
    "save_checkpoint",
    "trained_with",
    "update_extra",
    "atomic_save",
]

FORMAT = "reid_models.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, not a reid_models checkpoint, or does not fit the model."""


def save_checkpoint(
    path: str | os.PathLike[str], model: nn.Module, *, extra: dict[str, Any] | None = None, half: bool = False
) -> None:
    """Write `model`'s weights and manifest to `path`; `half` stores floating-point tensors as float16."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": model.config["arch"],
        "config": model.config,
        "num_classes": model.num_classes,
        "input_size": list(model.input_size),
        "feature_dim": model.feature_dim,
        "torch_version": str(torch.__version__),
        "extra": dict(extra or {}),
    }
    try:
        json.dumps(manifest)
    except (TypeError, ValueError) as err:
        raise ValueError(f"extra: must hold plain JSON-like values only ({err})") from None
    state = {
        key: (value.half() if half and value.is_floating_point() else value).detach().cpu()
        for key, value in model.state_dict().items()
    }
    atomic_save({"manifest": manifest, "state_dict": state}, Path(path))


def update_extra(
    path: str | os.PathLike[str], extra: dict[str, Any], out: str | os.PathLike[str] | None = None
) -> None:
    """Merge ``extra`` into a checkpoint's manifest ``extra`` and write it to ``out`` (default: ``path``); the
    weights are copied as stored (no rebuild, no change of precision)."""
    path = Path(path)
    manifest, state = _read(path, "cpu")
    manifest = dict(manifest, extra=dict(manifest.get("extra") or {}, **extra))
    try:
        json.dumps(manifest)
    except (TypeError, ValueError) as err:
        raise ValueError(f"extra: must hold plain JSON-like values only ({err})") from None
    atomic_save({"manifest": manifest, "state_dict": state}, Path(out) if out is not None else path)


def trained_with(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """How the training run that made a checkpoint (its ``manifest``) evaluated, ``{"flip_eval", "rerank"}``: a
    later score must do the same to reproduce the run's eval.json. None when the checkpoint is not a training
    run's or does not record its recipe."""
    recipe = (manifest.get("extra") or {}).get("recipe")
    return {k: recipe.get(k) for k in ("flip_eval", "rerank")} if isinstance(recipe, dict) else None


def export_for_inference(
    weights: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    extra: dict[str, Any] | None = None,
    half: bool = True,
) -> dict[str, Any]:
    """Rewrite a training checkpoint as an inference one: the same network without its classifier heads
    (num_classes=0), float16 tensors when ``half``, the manifest's ``extra`` kept (feature mean...) and merged with
    ``extra`` (with ``trained_num_classes``). Returns the written manifest's extra."""
    model, manifest = load_checkpoint(weights)
    lean = _build(Path(weights), manifest["arch"], dict(manifest["config"]["kwargs"], num_classes=0, pretrained=None))
    state = {k: v for k, v in model.state_dict().items() if k in lean.state_dict()}
    missing = set(lean.state_dict()) - set(state)
    if missing:
        raise CheckpointError(f"{weights}: the inference network lacks weights for {sorted(missing)[:3]}")
    lean.load_state_dict(state)
    merged = dict(manifest.get("extra") or {}, trained_num_classes=manifest["num_classes"], **(extra or {}))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, lean, extra=merged, half=half)
    return merged


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint describes and load its weights (float16 back to float32).

    Returns (model in eval mode on the device `map_location`, manifest).
    """
    path = Path(path)
    manifest, state = _read(path, map_location)
    arch = manifest["arch"]
    if arch not in MODELS:
        raise CheckpointError(f"{path}: unknown arch {arch!r}; valid: {', '.join(MODELS)}")
    model = _build(path, arch, {**manifest["config"]["kwargs"], "pretrained": None})
    _fill(model, path, manifest, state)
    return model.to(torch.device(map_location)).eval(), manifest


def _build(path: Path, arch: str, kwargs: dict[str, Any]) -> nn.Module:
    """The network a manifest describes; a configuration it cannot be built from is a CheckpointError naming the
    file (a manifest written by another version, or edited by hand)."""
    try:
        return build_model(arch, **kwargs)
    except (TypeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path}: its manifest's {arch} configuration does not build a network ({first})"
        ) from None


def load_weights_into(model: nn.Module, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load the checkpoint at `path` into `model` (keeping its device and dtype); return the manifest.

    Raises FileNotFoundError (no file) or CheckpointError naming the file and the first mismatches.
    """
    path = Path(path)
    manifest, state = _read(path, "cpu")
    _fill(model, path, manifest, state)
    return manifest


def _fill(model: nn.Module, path: Path, manifest: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
    wanted = {"arch": model.config["arch"], "num_classes": model.num_classes, "input_size": list(model.input_size)}
    for key, value in wanted.items():
        if manifest[key] != value:
            raise CheckpointError(f"{path}: checkpoint has {key}={manifest[key]!r}, the model has {value!r}")
    own = model.state_dict()
    problems = []
    if missing := [key for key in own if key not in state]:
        problems.append(f"missing keys {missing[:3]}" + (f" (+{len(missing) - 3})" if len(missing) > 3 else ""))
    if unexpected := [key for key in state if key not in own]:
        problems.append(
            f"unexpected keys {unexpected[:3]}" + (f" (+{len(unexpected) - 3})" if len(unexpected) > 3 else "")
        )
    if shapes := [
        f"{key} {tuple(state[key].shape)} vs {tuple(own[key].shape)}"
        for key in own
        if key in state and state[key].shape != own[key].shape
    ]:
        problems.append(f"shape mismatches {shapes[:3]}" + (f" (+{len(shapes) - 3})" if len(shapes) > 3 else ""))
    if problems:
        raise CheckpointError(f"{path}: does not fit the {manifest['arch']} model: {'; '.join(problems)}")
    # weights that are not finite give NaN features for every crop: the tracker would run on motion alone
    if broken := [key for key, value in state.items() if value.is_floating_point() and not value.isfinite().all()]:
        raise CheckpointError(
            f"{path}: its weights are not finite (NaN or infinite values in {broken[0]}"
            + (f" and {len(broken) - 1} more tensors" if len(broken) > 1 else "")
            + "): a damaged file or a training run that diverged"
        )
    model.load_state_dict({key: value.to(own[key].dtype) for key, value in state.items()})


def unreadable_reason(path: Path, err: BaseException, *, onnx_hint: bool = False) -> str:
    """Why ``torch.load`` could not read ``path``, in words (torch says ``KeyError: 101`` for a text file);
    ``onnx_hint``: an ``.onnx`` file is pointed to ``--reid onnx`` (where an embedder's checkpoint was asked for)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    text = str(err)
    if not head:
        return "an empty file"
    if head.startswith(b"PK") and ("zip" in text or "central directory" in text):
        return "truncated or damaged: its zip archive is incomplete"
    if "Unsupported global" in text:
        return "it holds Python objects besides tensors, which are not loaded from an untrusted file"
    if "TorchScript archive" in text:
        return (
            "a TorchScript export, not a checkpoint: give the checkpoint it was exported from (reid eval scores an "
            f"export that has its contract, {path.name}.json, beside it)"
        )
    if needed := re.search(r"unsupported GLOBAL (\S+)", text):  # torch names the first callable it refused
        return f"it needs {needed.group(1)}, which unpickling could use to run code: not loaded"
    if isinstance(err, (KeyError, EOFError, IndexError)) or any(
        s in text for s in ("load key", "magic number", "Weights only load failed")
    ):
        onnx = onnx_hint and path.suffix.lower() == ".onnx"
        return "not a PyTorch file" + ("; an ONNX model runs in mctrack track and run with --reid onnx" if onnx else "")
    first = text.strip().splitlines()[0][:100] if text.strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def _read(path: Path, map_location: str | torch.device) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    if path.is_dir():  # helper-87: said "not found"
        raise CheckpointError(f"{path}: a folder, not a checkpoint file (a training run's is <run>/model.pt)")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with warnings.catch_warnings():  # torch's own line about a TorchScript file: the error below says it
            warnings.filterwarnings("ignore", message=".*looks like a TorchScript archive")
            data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({unreadable_reason(path, err, onnx_hint=True)})"
        ) from None
    if isinstance(data, dict) and "epoch" in data and "model" in data and "manifest" not in data:
        raise CheckpointError(
            f"{path}: a training run's state (for 'reid train --resume'), not a checkpoint: use the run's model.pt"
        )
    if not (isinstance(data, dict) and all(isinstance(data.get(key), dict) for key in ("manifest", "state_dict"))):
        raise CheckpointError(f"{path}: not a reid_models checkpoint (no manifest; a plain state_dict?)")
    manifest = data["manifest"]
    version = manifest.get("format_version")
    if manifest.get("format") != FORMAT or not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{path}: not a reid_models checkpoint (manifest format {manifest.get('format')!r})")
    if manifest["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {manifest['format_version']} is newer than supported ({FORMAT_VERSION})"
        )
    if absent := [key for key in ("arch", "config", "num_classes", "input_size") if key not in manifest]:
        raise CheckpointError(f"{path}: manifest lacks {absent}")
    from .models import MODELS

    size = manifest["input_size"]
    problems = [
        f"arch {str(manifest['arch'])[:40]!r} is not one of {', '.join(MODELS)}"
        if not isinstance(manifest["arch"], str) or manifest["arch"] not in MODELS
        else None,
        "config is not a mapping"
        if not isinstance(manifest["config"], dict)
        else ("config has no kwargs mapping" if not isinstance(manifest["config"].get("kwargs"), dict) else None),
        "num_classes is not an integer >= 0"
        if not (isinstance(manifest["num_classes"], int) and manifest["num_classes"] >= 0)
        else None,
        "input_size is not [height, width]"
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size))
        else None,
        "extra is not a mapping" if not isinstance(manifest.get("extra", {}) or {}, dict) else None,
    ]
    if problems := [p for p in problems if p]:
        raise CheckpointError(f"{path}: malformed manifest: {'; '.join(problems)}")
    if bad := [k for k, v in data["state_dict"].items() if not isinstance(v, torch.Tensor)][:1]:
        raise CheckpointError(f"{path}: state_dict entry {str(bad[0])[:60]!r} is not a tensor")
    return manifest, data["state_dict"]


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through a temporary file and a rename: a kill or a full disk during the save leaves the
    previous file intact, never a truncated one. Ctrl-C (or a SIGTERM that the program turns into one) during the
    save is held back until the file is in place, then raised as usual: torch's writer would report it as a
    RuntimeError otherwise."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if not path.parent.is_dir():  # helper-87: the error named the temporary file, not the one asked for
        raise FileNotFoundError(f"{path}: its folder {path.parent} does not exist")
    try:
        with _signals_deferred(), open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive during the block are handed to their Python handlers when it ends (main
    thread only, and only signals whose handler is a Python function; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = handler
            signal.signal(signum, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for signum in dict.fromkeys(caught):
        previous[signum](signum, None)
