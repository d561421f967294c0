"""Training heads: LAGA's reduction + classifier, the BNNeck of the global baseline, CAN's shared embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BNNeck", "CanEmbedding", "CosineClassifier", "ReductionHead", "init_classifier"]


def init_classifier(layer: nn.Linear) -> nn.Linear:
    """Small-normal classifier init (std 0.001, zero bias) as in the papers' reference code."""
    nn.init.normal_(layer.weight, std=0.001)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


class ReductionHead(nn.Module):
    """LAGA head: Linear(in, 1024) -> BN1d -> LeakyReLU(0.1) -> Dropout(0.5) -> Linear(1024, num_classes).

    Shapes: (B, in_features) -> (B, num_classes). Only used for the classification loss; the test feature
    is the pooled vector before this head. Init as in the author's MBA-Net code (Kaiming fan-in for the
    reduction, BN weight N(1, 0.02)).
    """

    def __init__(self, *, in_features: int, num_classes: int, bottleneck: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes: must be >= 1 for a classifier head, got {num_classes}")
        self.reduction = nn.Sequential(
            nn.Linear(in_features, bottleneck),
            nn.BatchNorm1d(bottleneck),
            nn.LeakyReLU(0.1),
            nn.Dropout(dropout),
        )
        nn.init.kaiming_normal_(self.reduction[0].weight, a=0, mode="fan_in")
        nn.init.zeros_(self.reduction[0].bias)
        nn.init.normal_(self.reduction[1].weight, 1.0, 0.02)
        nn.init.zeros_(self.reduction[1].bias)
        self.classifier = init_classifier(nn.Linear(bottleneck, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.reduction(x))


class BNNeck(nn.Module):
    """BNNeck (Luo et al., "Bag of Tricks"): BatchNorm1d without bias after pooling; bias-free classifier.

    `forward`: (B, in_features) -> the normalised feature (B, in_features); `classifier` (present when
    num_classes > 0) maps it to (B, num_classes).
    """

    def __init__(self, *, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(in_features)
        self.bn.bias.requires_grad_(False)  # "without bias" as in Bag of Tricks: the shift stays 0
        self.classifier = init_classifier(nn.Linear(in_features, num_classes, bias=False)) if num_classes else None

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(x)


class CanEmbedding(nn.Module):
    """CAN's embedding shared by all pooled features: BN -> 1x1 conv (no bias) -> BN -> PReLU.

    Shapes: (B, in_channels, N, 1) -> (B, out_channels, N, 1); the N features of one image are embedded
    together (see can.py for what that means for the BN statistics). Follows the CAN authors' code: both BNs
    without affine parameters, PReLU activation.
    """

    def __init__(self, *, in_channels: int, out_channels: int = 256) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm2d(in_channels, affine=False),
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels, affine=False),
            nn.PReLU(out_channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class CosineClassifier(nn.Module):
    """Scaled-cosine classifier (CAN authors' code; also CosFace/ArcFace without margin): logits =
    scale * cos(x, w_c). Shapes: (B, in_features) -> (B, num_classes). Weights N(0, 0.001) like the linear heads
    (the norm does not matter, only the direction)."""

    def __init__(self, in_features: int, num_classes: int, *, scale: float = 14.0) -> None:
        super().__init__()
        if in_features < 1 or num_classes < 1:
            raise ValueError(f"in_features, num_classes: must be >= 1, got {in_features}, {num_classes}")
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.normal_(self.weight, std=0.001)
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).t()
