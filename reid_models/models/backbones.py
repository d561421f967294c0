"""ResNet trunks from torchvision, split after layer3, with last stride 1.

Both papers use ResNet-50 (`resnet50`); `resnet18` and `resnet34` are there for CPU experiments and tests.
`build_resnet` returns the stem + layer1..layer3 (`trunk`) and a `layer4` whose first block has stride 1,
so layer4 keeps the layer3 resolution (384x128 input -> 24x8 maps after layer3 and after layer4).

Initial weights (`pretrained`):
- `"imagenet"` (the user-facing default of every model): torchvision's `DEFAULT` weights for that ResNet
  (IMAGENET1K_V2 for resnet50 as in the LAGA author's MBA-Net code, IMAGENET1K_V1 for resnet18/34), taken from
  the torch hub cache (`$TORCH_HOME/hub/checkpoints/`) or downloaded. If they cannot be obtained (offline
  machine), ONE `UserWarning` names the file and says the network starts from random weights; the build goes on.
- a path to a torchvision-format state_dict (`fc.*` keys may be absent): a missing file raises
  FileNotFoundError, a file whose keys or shapes do not fit raises ValueError; both name the file.
- a path to a reid_models checkpoint (any network on the same ResNet): its backbone (`trunk.*` and the
  `layer4` of its global branch, or its only one) is used, e.g. a network pretrained on synthetic people
  (`mctrack samples` scenes) before Market-1501 fine-tuning, the substitute for ImageNet weights offline.
- `None`: random initialisation (torchvision's).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision import models as tvm

log = logging.getLogger(__name__)

__all__ = ["BACKBONES", "Pretrained", "PretrainedUnavailable", "ResNetParts", "build_resnet", "feature_map_size"]


class PretrainedUnavailable(UserWarning):
    """ImageNet weights asked for could not be had: the backbone starts from random weights. ``reason`` says why,
    without the consequence (a training run records it in its manifest's ``backbone_init``)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


Pretrained = str | os.PathLike[str] | None


@dataclass(frozen=True)
class _Spec:
    factory: Callable[..., tvm.ResNet]
    weights: tvm.WeightsEnum
    mid_channels: int
    out_channels: int


_SPECS: dict[str, _Spec] = {
    "resnet18": _Spec(tvm.resnet18, tvm.ResNet18_Weights.DEFAULT, 256, 512),
    "resnet34": _Spec(tvm.resnet34, tvm.ResNet34_Weights.DEFAULT, 256, 512),
    "resnet50": _Spec(tvm.resnet50, tvm.ResNet50_Weights.DEFAULT, 1024, 2048),
}
BACKBONES: tuple[str, ...] = tuple(_SPECS)


@dataclass(frozen=True)
class ResNetParts:
    """trunk: (B, 3, H, W) -> (B, mid_channels, h, w), h, w = feature_map_size((H, W)).
    layer4: (B, mid_channels, h, w) -> (B, out_channels, h, w) (last stride 1)."""

    trunk: nn.Sequential
    layer4: nn.Sequential
    mid_channels: int
    out_channels: int


def feature_map_size(input_size: Sequence[int]) -> tuple[int, int]:
    """(H, W) of the layer3 (and, with last stride 1, layer4) maps for an input of `input_size` (H, W).

    Four stride-2 stages (conv1 7x7/p3, maxpool 3x3/p1, layer2, layer3: 3x3/p1 and 1x1/p0 convs) each map
    n -> (n - 1) // 2 + 1: 384x128 -> 24x8, 324x324 -> 21x21.
    """
    size = []
    for n in input_size:
        for _ in range(4):
            n = (n - 1) // 2 + 1
        size.append(n)
    return size[0], size[1]


def build_resnet(name: str, *, pretrained: Pretrained) -> ResNetParts:
    """Build torchvision ResNet `name`, load `pretrained` (see module docstring), split it after layer3."""
    if name not in _SPECS:
        raise ValueError(f"backbone: unknown {name!r}; valid: {', '.join(BACKBONES)}")
    spec = _SPECS[name]
    net = spec.factory(weights=None)
    if pretrained is not None:
        state = _imagenet_state(name, spec) if pretrained == "imagenet" else _file_state(Path(pretrained))
        if state is not None:
            _load_trunk_state(net, state, source=str(pretrained), name=name)
    # Last stride 1: the first block's strided conv (conv2 in Bottleneck, conv1 in BasicBlock) and its downsample.
    for module in net.layer4[0].modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (1, 1)
    trunk = nn.Sequential(
        OrderedDict(
            (key, getattr(net, key)) for key in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3")
        )
    )
    return ResNetParts(trunk, net.layer4, spec.mid_channels, spec.out_channels)


def _imagenet_state(name: str, spec: _Spec) -> dict[str, torch.Tensor] | None:
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(spec.weights.url).path).name
    try:
        if not cached.is_file():
            # fetched here, not by torch's loader, which writes 'Downloading: "<url>" to <file>' before it tries (also
            # offline, just ahead of the warning below); the progress bar shows once bytes come, and the file
            # appears only whole
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(spec.weights.url, str(cached), progress=True)
            log.info("ImageNet weights for %s downloaded to %s", name, cached)
        return torch.hub.load_state_dict_from_url(spec.weights.url, progress=False, map_location="cpu")
    except Exception as err:  # offline, proxy, corrupt cache: all end the same way
        reason = (
            f"ImageNet weights for {name} could not be obtained (cache file {cached}, "
            f"download {spec.weights.url}: {type(err).__name__})"
        )
        warnings.warn(
            PretrainedUnavailable(f"{reason}; the {name} backbone starts from random weights", reason), stacklevel=4
        )
        return None


def _file_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"pretrained backbone weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the reason in words, as for checkpoints (it said "(KeyError)", "(RuntimeError)")
        from reid_models.checkpoint import unreadable_reason

        raise ValueError(f"pretrained: {path} is not a readable state_dict ({unreadable_reason(path, err)})") from None
    if not isinstance(state, dict):
        raise ValueError(f"pretrained: {path} does not hold a state_dict (found {type(state).__name__})")
    if isinstance(state.get("manifest"), dict) and isinstance(state.get("state_dict"), dict):
        return _backbone_of_checkpoint(path, state["state_dict"])
    return state


def _backbone_of_checkpoint(path: Path, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision-named backbone weights from a reid_models checkpoint's state_dict: trunk.* -> *, and one
    layer4: the shared ``layer4.<block>.*``, else the global branch's copy (``layer4.global.<block>.*`` in
    LAGA-Net without sharing, ``layer4.0.<block>.*`` in CAN). Stored float16 tensors come back as float32."""

    def as_float(value: torch.Tensor) -> torch.Tensor:
        return value.float() if value.is_floating_point() else value

    state = {key.removeprefix("trunk."): as_float(v) for key, v in weights.items() if key.startswith("trunk.")}
    layer4 = {key: v for key, v in weights.items() if key.startswith("layer4.")}
    if not state or not layer4:
        raise ValueError(f"pretrained: {path} is a reid_models checkpoint without ResNet backbone weights")
    copies = sorted({key.split(".")[1] for key in layer4 if not key.split(".")[1].isdigit()})
    if copies:  # LAGA-Net without sharing: layer4.<branch>.<block>.*; the global branch's, else the first
        prefix = f"layer4.{'global' if 'global' in copies else copies[0]}."
    elif all(key.split(".")[2].isdigit() for key in layer4):  # a list of copies: layer4.<copy>.<block>.*
        prefix = "layer4.0."
    else:
        prefix = "layer4."
    state.update(
        {"layer4." + key.removeprefix(prefix): as_float(v) for key, v in layer4.items() if key.startswith(prefix)}
    )
    return state


def _resnet_depth(state: dict[str, torch.Tensor]) -> str | None:
    """Which torchvision ResNet a state_dict's keys are of (by its block type and layer3's block count), or None."""
    blocks = {int(k.split(".")[1]) for k in state if k.startswith("layer3.") and k.split(".")[1].isdigit()}
    bottleneck = any(".conv3." in k for k in state if k.startswith("layer"))
    depths = {
        (False, 2): "resnet18",
        (False, 6): "resnet34",
        (True, 6): "resnet50",
        (True, 23): "resnet101",
        (True, 36): "resnet152",
    }
    return depths.get((bottleneck, len(blocks)))


def _load_trunk_state(net: tvm.ResNet, state: dict[str, torch.Tensor], *, source: str, name: str = "") -> None:
    held = _resnet_depth(state)
    if name and held and held != name:  # helper-83: torch's "size mismatch for layer1.0.conv1.weight ..."
        fix = f"set backbone: {held}, or give {name} weights" if held in _SPECS else f"give {name} weights"
        raise ValueError(f"pretrained: {source} holds a {held} backbone, the recipe's is {name} ({fix})")
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches: keep the first one of torch's multi-line report
        lines = str(err).strip().splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0]
        raise ValueError(f"pretrained: {source} does not fit a torchvision {type(net).__name__}: {detail}") from None
    missing = [key for key in result.missing_keys if not key.startswith("fc.")]
    problems = [f"missing {missing[:3]}"] if missing else []
    if result.unexpected_keys:
        problems.append(f"unexpected {result.unexpected_keys[:3]}")
    if problems:
        raise ValueError(
            f"pretrained: {source} is not a torchvision {type(net).__name__} state_dict: {'; '.join(problems)}"
        )
