"""LAGA-Net (Baisa, "Local-Aware Global Attention Network for Person Re-Identification Based on Body and Hand
Images", arXiv 2209.04821).

ResNet up to layer3 (shared), then four branches, each ending in layer4 (last stride 1):
- global:  layer4 -> GAP                                   -> 1 vector
- local:   layer4 -> 3 uniform horizontal stripes, avg-pooled -> 3 vectors
- channel: CAM (C3) -> layer4 -> CAM (C4) -> GAP            -> 1 vector
- spatial: SAM-RPE (S3) -> layer4 -> SAM-RPE (S4) -> GAP    -> 1 vector
Every vector (2048-D on resnet50) gets a ReductionHead (FC 1024, BN, LeakyReLU, dropout 0.5, classifier): six
heads with all branches. Output order (`head_names`): global, stripe0..2 (top to bottom), channel, spatial.
`embeddings` (one batch-hard triplet each in the loss) are, in training, the reduced 1024-D vectors of the heads
with `metric_features="reduced"` (the paper, eq. 8-11: "for both losses, we use the learned embeddings") or the
pooled vectors with `"pooled"` (the Bag-of-Tricks habit; the default, which older checkpoints were trained with);
the eval `feature` is the concatenation of the pooled vectors before the reduction layers (6 x 2048 = 12288-D on
resnet50) either way.

Ablations of the paper's Table III: `branches=("global",)`, `("global", "local")`, `+ "channel"`, `+ "spatial"`;
`relative_positions=False` drops the RPE terms from SAM-RPE. Heads, embeddings and feature_dim follow.

layer4 sharing (`share_layer4`): whether LAGA-Net's branches share layer4 is not established here (we could
not read the paper's full text; DESIGN.md calls both readings defensible). True (default) follows the author's
public MBA-Net code: ONE layer4 module applied to three different inputs (x3 for global and local, which reuse
that one output; CAM(x3); SAM-RPE(x3)). False follows the CAN authors: a deep copy of layer4 per branch (four
copies). Cost on resnet50, measured with num_classes=751: 47.3M parameters shared vs 92.2M not shared
(+3 x 15.0M for the extra layer4 copies; the six heads are 17.2M of either), so checkpoints and optimiser state
roughly double. The shared model runs layer4 three times per image, the unshared one four times (global and
local no longer share an output); measured eval time at 384x128, batch 8, 2 CPU threads: ~205 vs ~215 ms per
image (the `global` baseline: ~77 ms), i.e. the extra layer4 pass costs ~5%.

Stripes are taken with adaptive average pooling to (3, 1), which also covers heights not divisible by 3.
SAM-RPE tables are sized from `input_size` with the exact ResNet arithmetic (384x128 -> 24x8, 324x324 ->
21x21); with the spatial branch on, inputs of another size raise ValueError.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from reid_models.models._common import check_input_size, check_num_classes
from reid_models.models.attention import CAM, SAMRPE
from reid_models.models.backbones import Pretrained, build_resnet, feature_map_size
from reid_models.models.heads import ReductionHead
from reid_models.models.output import ReidOutput

__all__ = ["BRANCHES", "LagaNet"]

BRANCHES: tuple[str, ...] = ("global", "local", "channel", "spatial")
NUM_STRIPES = 3


class LagaNet(nn.Module):
    """LAGA-Net. forward: (B, 3, H, W) float -> ReidOutput with feature (B, len(head_names) * C4),
    C4 = 2048 on resnet50 (512 on resnet18/34).

    Args:
        num_classes: identities for the classifiers; 0 builds a feature extractor without heads.
        backbone: "resnet50" (the paper's), "resnet18" or "resnet34".
        pretrained: "imagenet" (default), a torchvision state_dict path, or None; see backbones.py.
        input_size: (H, W) the network is built for: (384, 128) bodies, (324, 324) hands.
        branches: any non-empty subset of BRANCHES (order does not matter).
        relative_positions: the RPE terms of SAM-RPE (spatial branch only).
        share_layer4: one shared layer4 (MBA-Net style) or one copy per branch (CAN style).
        metric_features: "pooled" or "reduced": which vectors training's metric loss sees (module doc).
    """

    def __init__(
        self,
        *,
        num_classes: int = 0,
        backbone: str = "resnet50",
        pretrained: Pretrained = "imagenet",
        input_size: Sequence[int] = (384, 128),
        branches: Sequence[str] = BRANCHES,
        relative_positions: bool = True,
        share_layer4: bool = True,
        metric_features: str = "pooled",
    ) -> None:
        super().__init__()
        if metric_features not in ("pooled", "reduced"):
            raise ValueError(f"metric_features: expected 'pooled' or 'reduced', got {metric_features!r}")
        self.metric_features = metric_features
        unknown = sorted(set(branches) - set(BRANCHES))
        if unknown or not branches:
            raise ValueError(f"branches: expected a non-empty subset of {BRANCHES}, got {tuple(branches)}")
        self.num_classes = check_num_classes(num_classes)
        self.input_size = check_input_size(input_size)
        self.branches = tuple(name for name in BRANCHES if name in branches)
        self.share_layer4 = share_layer4
        self.config = {
            "arch": "laga",
            "kwargs": {
                "num_classes": num_classes,
                "backbone": backbone,
                "input_size": list(self.input_size),
                "branches": list(self.branches),
                "relative_positions": relative_positions,
                "share_layer4": share_layer4,
                "metric_features": metric_features,
            },
        }
        parts = build_resnet(backbone, pretrained=pretrained)
        self.trunk = parts.trunk
        self.layer4 = (
            parts.layer4
            if share_layer4
            else nn.ModuleDict({name: copy.deepcopy(parts.layer4) for name in self.branches})
        )
        self._map_size = feature_map_size(self.input_size)
        if "channel" in self.branches:
            self.cam3, self.cam4 = CAM(), CAM()
        if "spatial" in self.branches:
            sam_options = {"map_size": self._map_size, "relative_positions": relative_positions}
            self.sam3 = SAMRPE(channels=parts.mid_channels, **sam_options)
            self.sam4 = SAMRPE(channels=parts.out_channels, **sam_options)
        self.head_names = tuple(
            name
            for branch in self.branches
            for name in ([f"stripe{i}" for i in range(NUM_STRIPES)] if branch == "local" else [branch])
        )
        self.feature_dim = len(self.head_names) * parts.out_channels
        self.heads = nn.ModuleList(
            [ReductionHead(in_features=parts.out_channels, num_classes=num_classes) for _ in self.head_names]
            if num_classes
            else []
        )
        self._stripes = nn.AdaptiveAvgPool2d((NUM_STRIPES, 1))

    def _layer4(self, branch: str) -> nn.Module:
        return self.layer4 if self.share_layer4 else self.layer4[branch]

    def forward(self, x: Tensor) -> ReidOutput:
        if "spatial" in self.branches and feature_map_size(x.shape[-2:]) != self._map_size:
            raise ValueError(
                f"LagaNet with the spatial branch was built for input_size {self.input_size} "
                f"({self._map_size[0]}x{self._map_size[1]} maps), got input {x.shape[-2]}x{x.shape[-1]}"
            )
        x3 = self.trunk(x)
        plain = self.layer4(x3) if self.share_layer4 and {"global", "local"} & set(self.branches) else None
        vectors: list[Tensor] = []
        for branch in self.branches:
            if branch == "channel":
                vectors.append(self.cam4(self._layer4(branch)(self.cam3(x3))).mean(dim=(2, 3)))
            elif branch == "spatial":
                vectors.append(self.sam4(self._layer4(branch)(self.sam3(x3))).mean(dim=(2, 3)))
            else:
                maps = plain if plain is not None else self._layer4(branch)(x3)
                if branch == "global":
                    vectors.append(maps.mean(dim=(2, 3)))
                else:
                    vectors.extend(self._stripes(maps).flatten(2).unbind(dim=2))
        feature = torch.cat(vectors, dim=1)
        # No heads (num_classes == 0) or eval mode: no logits.
        if not self.training or not self.heads:
            return ReidOutput(feature=feature, embeddings=tuple(vectors), logits=())
        reduced = [head.reduction(v) for head, v in zip(self.heads, vectors, strict=True)]
        logits = tuple(head.classifier(r) for head, r in zip(self.heads, reduced, strict=True))
        embeddings = tuple(reduced) if self.metric_features == "reduced" else tuple(vectors)
        return ReidOutput(feature=feature, embeddings=embeddings, logits=logits)
