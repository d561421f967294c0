"""Re-ID networks by name: `build_model("laga" | "can" | "global", **kwargs)`.

Every model maps (B, 3, H, W) float images to a `ReidOutput` and carries `feature_dim`, `num_classes`,
`input_size` (H, W), `head_names` and `config` ({"arch": name, "kwargs": {...}}, JSON-serialisable;
`build_model(config["arch"], **config["kwargs"])` rebuilds the architecture; initial weights are not part of it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from reid_models.models.backbones import BACKBONES, build_resnet, feature_map_size
from reid_models.models.baseline import GlobalBaseline
from reid_models.models.can import CanNet
from reid_models.models.laga import BRANCHES, LagaNet
from reid_models.models.output import ReidOutput

__all__ = [
    "BACKBONES",
    "BRANCHES",
    "MODELS",
    "CanNet",
    "GlobalBaseline",
    "LagaNet",
    "ReidOutput",
    "build_model",
    "build_resnet",
    "feature_map_size",
]

MODELS: dict[str, Callable[..., nn.Module]] = {"laga": LagaNet, "can": CanNet, "global": GlobalBaseline}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the network registered as `name` with keyword arguments `kwargs` (see each class)."""
    if name not in MODELS:
        raise ValueError(f"model: unknown {name!r}; valid: {', '.join(MODELS)}")
    return MODELS[name](**kwargs)
