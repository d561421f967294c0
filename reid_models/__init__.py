"""Person Re-ID networks (LAGA-Net, CAN, a global baseline), their losses and checkpoints.

Independent of `mctrack` (which imports this package, never the reverse).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

#: where each public name lives; imported on first use (PEP 562), so that ``reid_models.yaml_safe`` or
#: ``reid_models.provenance`` (which mctrack's command line needs to start) do not import torch and torchvision
#: (about 2.5 s on a 2-core machine, paid by every ``mctrack --help``)
_WHERE = {
    "CheckpointError": "checkpoint",
    "export_for_inference": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_weights_into": "checkpoint",
    "save_checkpoint": "checkpoint",
    "CanLoss": "losses",
    "CenterLoss": "losses",
    "CrossEntropyLabelSmooth": "losses",
    "LagaLoss": "losses",
    "TripletLoss": "losses",
    "build_criterion": "losses",
    "MODELS": "models",
    "CanNet": "models",
    "GlobalBaseline": "models",
    "LagaNet": "models",
    "ReidOutput": "models",
    "build_model": "models",
    "fold_batchnorm": "models.fuse",
}

if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from reid_models.checkpoint import (
        CheckpointError,
        export_for_inference,
        load_checkpoint,
        load_weights_into,
        save_checkpoint,
    )
    from reid_models.losses import (
        CanLoss,
        CenterLoss,
        CrossEntropyLabelSmooth,
        LagaLoss,
        TripletLoss,
        build_criterion,
    )
    from reid_models.models import MODELS, CanNet, GlobalBaseline, LagaNet, ReidOutput, build_model
    from reid_models.models.fuse import fold_batchnorm


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"reid_models.{_WHERE[name]}"), name)
        globals()[name] = value  # later lookups do not come here
        return value
    # a submodule used as an attribute (reid_models.models.LagaNet after import reid_models), as when they were all
    # imported with the package
    if name.isidentifier() and not name.startswith("__") and importlib.util.find_spec(f"reid_models.{name}"):
        return importlib.import_module(f"reid_models.{name}")
    raise AttributeError(f"module 'reid_models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "MODELS",
    "CanLoss",
    "CanNet",
    "CenterLoss",
    "CheckpointError",
    "CrossEntropyLabelSmooth",
    "GlobalBaseline",
    "LagaLoss",
    "LagaNet",
    "ReidOutput",
    "TripletLoss",
    "build_criterion",
    "build_model",
    "export_for_inference",
    "fold_batchnorm",
    "load_checkpoint",
    "load_weights_into",
    "save_checkpoint",
]
