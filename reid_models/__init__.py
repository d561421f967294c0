"""Person Re-ID networks (LAGA-Net, CAN, a global baseline), their losses and checkpoints.

Independent of `mctrack` (which imports this package, never the reverse).
"""

from __future__ import annotations

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
