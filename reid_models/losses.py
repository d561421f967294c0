"""Re-ID losses and the per-architecture training criteria.

Building blocks:
- CrossEntropyLabelSmooth: cross-entropy against (1 - eps) one-hot + eps / K (Szegedy et al.).
- TripletLoss: batch-hard triplet (Hermans et al.) on Euclidean distances, hinge with a margin or soft margin.
- CenterLoss: squared distance of each vector to its class centre, averaged over the batch (no 1/2 factor: the
  convention of the CAN authors' code and of "Bag of Tricks"; Wen et al. write 1/2 of the sum). The centres
  are a Parameter so that a separate optimiser can own them (CAN authors: SGD, lr 0.5).

Criteria (take a ReidOutput and labels, return (total, {term: float})):
- LagaLoss: sum over heads of label-smoothed (0.1) CE + 0.1 x sum over heads of batch-hard triplet (margin 1.2)
  on the pooled vectors (`embeddings`), as in LAGA-Net; also used for the `global` baseline (LAGA's Global row).
- CanLoss: CE + triplet + 0.0005 x center loss as in the CAN authors' code: CE (no smoothing) averaged over
  the 16 classifiers; triplet (margin 1.2, their default) and center loss averaged over the 7 "global and local"
  features: the 4 branch-global vectors and, per part branch, the concatenation of its n-1 part vectors.
  (The authors' code re-draws its centres at every call, which makes that term noise; ours are learned.)
`build_criterion(model)` picks the criterion from `model.config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid_models.models.output import ReidOutput

__all__ = ["CanLoss", "CenterLoss", "CrossEntropyLabelSmooth", "LagaLoss", "TripletLoss", "build_criterion"]


class CrossEntropyLabelSmooth(nn.Module):
    """logits (B, num_classes), labels (B,) int64 -> scalar mean over the batch."""

    def __init__(self, num_classes: int, epsilon: float = 0.1) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes: must be >= 1, got {num_classes}")
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f"epsilon: must be in [0, 1), got {epsilon}")
        self.num_classes = num_classes
        self.epsilon = epsilon

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        if logits.shape[-1] != self.num_classes:
            raise ValueError(f"logits: expected {self.num_classes} classes, got shape {tuple(logits.shape)}")
        return F.cross_entropy(logits, labels, label_smoothing=self.epsilon)


class TripletLoss(nn.Module):
    """Batch-hard triplet loss. embeddings (B, D), labels (B,) -> scalar.

    For each anchor: hardest positive = farthest other sample with its label, hardest negative = nearest sample
    with another label (Euclidean). Loss per anchor: max(0, d_ap - d_an + margin), or log(1 + exp(d_ap - d_an))
    when margin is None (soft margin); mean over anchors that have both a positive and a negative. With no such
    anchor the loss is 0 (connected to the graph, so backward works).
    """

    def __init__(self, margin: float | None = 1.2) -> None:
        super().__init__()
        if margin is not None and not margin >= 0:  # NaN too
            raise ValueError(f"margin: must be >= 0 or None (soft margin), got {margin}")
        self.margin = margin

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        distances = (embeddings[:, None] - embeddings[None]).pow(2).sum(-1).clamp_min(1e-12).sqrt()
        same = labels[:, None] == labels[None]
        other = torch.eye(len(labels), dtype=torch.bool, device=labels.device).logical_not()
        positive, negative = same & other, ~same
        valid = positive.any(1) & negative.any(1)
        if not valid.any():
            return embeddings.sum() * 0.0
        hardest_positive = distances.masked_fill(~positive, float("-inf")).amax(1)[valid]
        hardest_negative = distances.masked_fill(~negative, float("inf")).amin(1)[valid]
        gap = hardest_positive - hardest_negative
        return (F.softplus(gap) if self.margin is None else F.relu(gap + self.margin)).mean()


class CenterLoss(nn.Module):
    """embeddings (B, feat_dim), labels (B,) -> mean over the batch of ||x_i - c_{y_i}||^2."""

    def __init__(self, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        if num_classes < 1 or feat_dim < 1:
            raise ValueError(f"num_classes, feat_dim: must be >= 1, got {num_classes}, {feat_dim}")
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        if len(labels) == 0:
            return embeddings.sum() * 0.0
        return (embeddings - self.centers[labels]).pow(2).sum(1).mean()


def _check_heads(output: ReidOutput, expected: int | None = None) -> None:
    if not output.logits:
        raise ValueError("output: no logits; run the model in train mode with num_classes > 0")
    if len(output.logits) != len(output.embeddings) or expected not in (None, len(output.logits)):
        raise ValueError(
            f"output: {len(output.logits)} logits and {len(output.embeddings)} embeddings"
            + ("" if expected is None else f", expected {expected} of each")
        )


class LagaLoss(nn.Module):
    """sum_h CE_ls(logits_h) + triplet_weight * sum_h triplet(embeddings_h); any number of heads."""

    def __init__(
        self, num_classes: int, *, epsilon: float = 0.1, margin: float | None = 1.2, triplet_weight: float = 0.1
    ) -> None:
        super().__init__()
        self.cross_entropy = CrossEntropyLabelSmooth(num_classes, epsilon)
        self.triplet = TripletLoss(margin)
        self.triplet_weight = triplet_weight

    def forward(self, output: ReidOutput, labels: Tensor) -> tuple[Tensor, dict[str, float]]:
        _check_heads(output)
        ce = sum(self.cross_entropy(logits, labels) for logits in output.logits)
        triplet = sum(self.triplet(vector, labels) for vector in output.embeddings)
        total = ce + self.triplet_weight * triplet
        return total, {"ce": ce.item(), "triplet": triplet.item(), "total": total.item()}


class CanLoss(nn.Module):
    """mean CE over all heads + mean triplet + center_weight * mean center loss over the global and local features.

    `parts` and `embedding_dim` must match the CanNet (build_criterion takes them from its config).
    The centres are parameters of this module: give `criterion.parameters()` to an optimiser.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        parts: Sequence[int] = (3, 5, 7),
        embedding_dim: int = 256,
        margin: float | None = 1.2,
        center_weight: float = 0.0005,
    ) -> None:
        super().__init__()
        self.parts = tuple(parts)
        # Head indices of each metric-loss feature, in CanNet's order: global, then per branch its global and
        # its n-1 parts.
        groups, start = [[0]], 1
        for n in self.parts:
            groups += [[start], list(range(start + 1, start + n))]
            start += n
        self.groups = groups
        self.num_heads = start
        self.cross_entropy = CrossEntropyLabelSmooth(num_classes, epsilon=0.0)
        self.triplet = TripletLoss(margin)
        self.centers = nn.ModuleList(CenterLoss(num_classes, embedding_dim * len(group)) for group in groups)
        self.center_weight = center_weight

    def forward(self, output: ReidOutput, labels: Tensor) -> tuple[Tensor, dict[str, float]]:
        _check_heads(output, self.num_heads)
        features = [torch.cat([output.embeddings[i] for i in group], dim=1) for group in self.groups]
        ce = sum(self.cross_entropy(logits, labels) for logits in output.logits) / len(output.logits)
        triplet = sum(self.triplet(f, labels) for f in features) / len(features)
        center = sum(loss(f, labels) for loss, f in zip(self.centers, features, strict=True)) / len(features)
        total = ce + triplet + self.center_weight * center
        return total, {"ce": ce.item(), "triplet": triplet.item(), "center": center.item(), "total": total.item()}


def build_criterion(model: nn.Module, **kwargs: Any) -> nn.Module:
    """The training criterion of `model`'s architecture (LagaLoss for laga and global, CanLoss for can)."""
    arch, config = model.config["arch"], model.config["kwargs"]
    if config["num_classes"] < 1:
        raise ValueError(f"model: built with num_classes={config['num_classes']}, nothing to train")
    if arch == "can":
        return CanLoss(config["num_classes"], parts=config["parts"], embedding_dim=config["embedding_dim"], **kwargs)
    if arch in ("laga", "global"):
        return LagaLoss(config["num_classes"], **kwargs)
    raise ValueError(f"model: no criterion for arch {arch!r}; valid: laga, global, can")
