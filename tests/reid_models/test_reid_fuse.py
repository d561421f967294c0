"""BatchNorm folding for inference: same features, fewer layers, never on a model being trained."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from reid_models import build_model, fold_batchnorm

SMALL = {"backbone": "resnet18", "pretrained": None, "input_size": (128, 64)}


def _randomise_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial running statistics and affine parameters (fresh BatchNorms are identities in eval)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            if m.affine:  # CAN has BatchNorms without affine parameters
                m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


@pytest.mark.parametrize(
    ("arch", "kwargs", "least"),
    [("laga", {}, 20), ("laga", {"share_layer4": False}, 30), ("can", {}, 20), ("global", {}, 20)],
)
def test_folded_network_gives_the_same_features(arch, kwargs, least):
    torch.manual_seed(0)
    model = build_model(arch, num_classes=0, **SMALL, **kwargs)
    _randomise_bn(model)
    model.eval()
    folded = copy.deepcopy(model)
    n = fold_batchnorm(folded)
    assert n >= least
    remaining = sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert remaining < sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) - least + 1
    x = torch.randn(3, 3, 128, 64)
    with torch.no_grad():
        ref, out = model(x).feature, folded(x).feature
    assert torch.allclose(out, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())
    # a module shared by several branches (LAGA's layer4) is folded once, not once per branch
    assert fold_batchnorm(folded) == 0


def test_folding_a_model_in_training_mode_is_refused():
    model = build_model("global", num_classes=4, **SMALL).train()
    with pytest.raises(ValueError, match="training mode"):
        fold_batchnorm(model)
