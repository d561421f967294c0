"""Bundled Re-ID checkpoints: found by name, shipped inside the package (so a non-editable ``pip install .`` has
them too), and the default checkpoint per network.

Names (the file ``<name>.pt`` in this folder, with ``<name>.json`` telling how it was made):
- ``laga_market1501``: LAGA-Net trained on Market-1501 (real people, 751 identities) from random initialisation on
  a CPU (``configs/reid/laga_market1501_cpu.yaml``; ``benchmarks/ship_market_checkpoint.py``). Market-1501 is for
  research use only: so is this checkpoint.
- ``global_market1501``: the global-feature baseline (ResNet-18 + BNNeck) trained on Market-1501 the same way
  (``configs/reid/global_market1501_cpu.yaml``); research use only.
- ``can_market1501``: CAN with one shared layer4 trained on Market-1501 the same way
  (``configs/reid/can_market1501_cpu.yaml``); it also recommends the tracker's appearance settings; research use
  only.
- ``laga_samples``: LAGA-Net trained on synthetic people (``benchmarks/train_default_embedder.py``): for the
  synthetic scenes, poor on real footage.

``default_weights(arch)`` is the first bundled name of ``DEFAULTS[arch]`` that is present: real-trained first.
``resolve_weights(text)`` takes a path or a bundled name, as ``--weights`` does (its errors name ``option``:
``weights`` by default, ``--weights`` from the command line).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["DEFAULTS", "FOLDER", "WeightsError", "bundled", "default_weights", "describe", "resolve_weights"]

FOLDER = Path(__file__).resolve().parent

#: per network, the bundled checkpoints in order of preference (real-trained first)
DEFAULTS: dict[str, tuple[str, ...]] = {
    "laga": ("laga_market1501", "laga_samples"),
    "can": ("can_market1501", "can_samples"),
    "global": ("global_market1501", "global_samples"),
}


class WeightsError(ValueError):
    """A weights value (``--weights`` on the command line) that is neither a checkpoint file nor a bundled name."""


def bundled(folder: Path | None = None) -> dict[str, Path]:
    """Every bundled checkpoint, name -> path."""
    return {p.stem: p for p in sorted((folder or FOLDER).glob("*.pt"))}


def default_weights(arch: str, folder: Path | None = None) -> Path | None:
    """The preferred bundled checkpoint of network ``arch``, or None when none is bundled."""
    present = bundled(folder)
    for name in DEFAULTS.get(arch, ()):
        if name in present:
            return present[name]
    return None


def resolve_weights(text: str | Path, folder: Path | None = None, *, option: str = "weights") -> Path:
    """A checkpoint path from a path or a bundled name; neither raises WeightsError naming ``option`` (the
    keyword argument by default, ``--weights`` from a command line), the value and the valid names."""
    path = Path(text)
    if path.is_file():
        return path
    present = bundled(folder)
    if str(text) in present:
        return present[str(text)]
    if path.suffix == ".pt" and len(path.parts) == 1 and path.stem in present:  # the bundled file's own name
        return present[path.stem]
    if path.is_dir():
        hint = (
            f"; the training run's checkpoint is {path / 'model.pt'}"
            if (path / "model.pt").is_file()
            else " (a .pt file or a bundled name)"
        )
        raise WeightsError(f"{option} {text}: a folder, not a checkpoint file{hint}")
    names = ", ".join(present) or "none"
    raise WeightsError(f"{option} {text}: no such file, nor a bundled checkpoint name (bundled: {names})")


def describe(path: Path) -> str:
    """One line on a bundled checkpoint's training data, from its ``.json`` (empty for other files)."""
    info = path.with_suffix(".json")
    if not info.is_file():
        return ""
    try:
        data = json.loads(info.read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("summary", ""))
