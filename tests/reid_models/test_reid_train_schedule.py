"""Warm-up + step schedule values and backbone parameter groups at 0.1x lr that really reach the update."""

from __future__ import annotations

import pytest
import torch

from reid_models import build_criterion, build_model
from reid_models.train import build_optimizer, lr_at, set_lr

LAGA = {"lr": 8e-4, "warmup_epochs": 10, "warmup_start_lr": 8e-6, "milestones": [40, 60], "gammas": [0.5, 0.25]}


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (0, 8e-6),
        (5, 8e-6 + (8e-4 - 8e-6) / 2),
        (9, 8e-6 + (8e-4 - 8e-6) * 0.9),
        (10, 8e-4),
        (39, 8e-4),
        (40, 4e-4),
        (59, 4e-4),
        (60, 2e-4),
        (69, 2e-4),
    ],
)
def test_laga_schedule(epoch: int, expected: float) -> None:
    assert lr_at(epoch, **LAGA) == pytest.approx(expected)


def test_can_schedule() -> None:
    can = {"lr": 3e-4, "milestones": [250, 350, 450], "gammas": [0.1, 0.01, 0.001]}
    assert [lr_at(e, **can) for e in (0, 249, 250, 350, 450, 599)] == pytest.approx(
        [3e-4, 3e-4, 3e-5, 3e-6, 3e-7, 3e-7]
    )


def test_backbone_group_really_moves_ten_times_slower() -> None:
    torch.manual_seed(0)
    model = build_model("global", num_classes=4, backbone="resnet18", pretrained=None, input_size=(64, 32))
    criterion = build_criterion(model)
    optimizer = build_optimizer(model, name="adam", lr=1.0, weight_decay=0.0, backbone_lr_mult=0.1)
    base = lr_at(12, **LAGA)
    set_lr(optimizer, base)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.1 * base, base])
    assert {g["name"] for g in optimizer.param_groups} == {"backbone", "head"}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    total, _ = criterion(model(torch.rand(8, 3, 64, 32)), torch.arange(4).repeat_interleave(2))
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    # Adam's first step moves every parameter with a non-zero gradient by ~lr (|m/sqrt(v)| = 1).
    step = {n: (p.detach() - before[n]).abs().max().item() for n, p in model.named_parameters()}
    assert step["trunk.conv1.weight"] == pytest.approx(0.1 * base, rel=1e-3)
    assert step["layer4.0.conv1.weight"] == pytest.approx(0.1 * base, rel=1e-3)
    assert step["neck.classifier.weight"] == pytest.approx(base, rel=1e-3)
