"""One optimiser step with each architecture's criterion lowers its loss on a fixed P x K batch."""

from __future__ import annotations

import pytest
import torch

from reid_models import build_criterion, build_model

P, K = 4, 2


@pytest.mark.parametrize(
    ("arch", "kwargs"),
    [("laga", {}), ("laga", {"share_layer4": False, "relative_positions": False}), ("can", {}), ("global", {})],
    ids=["laga", "laga-unshared-no-rpe", "can", "global"],
)
def test_one_adam_step_lowers_the_loss(arch: str, kwargs: dict) -> None:
    torch.manual_seed(0)
    model = build_model(arch, num_classes=P, backbone="resnet18", pretrained=None, input_size=(128, 64), **kwargs)
    criterion = build_criterion(model)
    images = torch.rand(P * K, 3, 128, 64)
    labels = torch.arange(P).repeat_interleave(K)
    optimiser = torch.optim.Adam([*model.parameters(), *criterion.parameters()], lr=1e-4)
    model.train()

    def loss() -> torch.Tensor:
        torch.manual_seed(1)  # the same dropout masks for both evaluations
        total, terms = criterion(model(images), labels)
        assert terms["total"] == pytest.approx(total.item())
        return total

    before = loss()
    optimiser.zero_grad()
    before.backward()
    optimiser.step()
    with torch.no_grad():
        after = loss()
    assert after.item() < before.item()
