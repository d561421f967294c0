"""Learning-rate schedule (linear warm-up, then steps) and optimiser parameter groups."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["BACKBONE_PREFIXES", "build_optimizer", "lr_at", "param_groups", "set_lr"]

BACKBONE_PREFIXES = ("trunk.", "layer4.")


def lr_at(
    epoch: int,
    *,
    lr: float,
    warmup_epochs: int = 0,
    warmup_start_lr: float = 0.0,
    milestones: Sequence[int] = (),
    gammas: Sequence[float] = (),
) -> float:
    """Base lr for 0-based `epoch`: warm-up from warmup_start_lr reaching lr at epoch warmup_epochs
    (LAGA: 8e-6 at epoch 0 ... 8e-4 at 10), then lr * gammas[i] from epoch milestones[i] on."""
    if epoch < warmup_epochs:
        return warmup_start_lr + (lr - warmup_start_lr) * epoch / warmup_epochs
    factor = 1.0
    for milestone, gamma in zip(milestones, gammas, strict=True):
        if epoch >= milestone:
            factor = gamma
    return lr * factor


def param_groups(model: nn.Module, *, backbone_lr_mult: float, weight_decay: float) -> list[dict]:
    """Two groups: "backbone" (trunk + layer4: the ImageNet part) with lr_mult=backbone_lr_mult, and "head"
    (attention, reduction heads, classifiers) with lr_mult 1. `set_lr` applies base_lr * lr_mult."""
    backbone, head = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (backbone if name.startswith(BACKBONE_PREFIXES) else head).append(param)
    return [
        {"params": backbone, "name": "backbone", "lr_mult": backbone_lr_mult, "weight_decay": weight_decay},
        {"params": head, "name": "head", "lr_mult": 1.0, "weight_decay": weight_decay},
    ]


def build_optimizer(
    model: nn.Module, *, name: str, lr: float, weight_decay: float, backbone_lr_mult: float
) -> torch.optim.Optimizer:
    groups = param_groups(model, backbone_lr_mult=backbone_lr_mult, weight_decay=weight_decay)
    if name == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(groups, lr=lr)
    elif name == "sgd":
        optimizer = torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    else:
        raise ValueError(f"name: expected adam or sgd, got {name!r}")
    set_lr(optimizer, lr)
    return optimizer


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float) -> None:
    """Every group's lr = base_lr * its lr_mult (the multiplier really reaches the update)."""
    for group in optimizer.param_groups:
        group["lr"] = base_lr * group.get("lr_mult", 1.0)
