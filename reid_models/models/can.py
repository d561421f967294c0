"""CAN (Li et al., "Collaborative Attention Network for Person Re-identification", arXiv 1911.13008).

ResNet up to layer3 (shared), then four branches, each with its OWN deep copy of layer4 (last stride 1):
global, part-3, part-5, part-7 (`parts`). Each branch pools its (B, 2048, h, w) map with adaptive max and
adaptive average pooling, concatenated (max first): 2 x 2048 = 4096 channels.
- Every branch gives one global feature (pooling to 1 x 1).
- Part-n pools to n horizontal stripes (n x 1) and "collaborative attention" joins each pair of adjacent
  stripes: part feature k = elementwise max(stripe k, stripe k+1), k = 0..n-2, i.e. a 2x1 max-pool with stride
  1 over the stripe axis. The paper's text describes this as learning the combination of adjacent slices; the
  authors' public code (lwplw/reid_CAN, model/can.py) implements it as exactly this parameter-free max-pool of
  the pair, and so do we (no learned attention weights).
- All 1 + 3 + 5 + 7 = 16 features pass through ONE shared embedding (BN, 1x1 conv 4096 -> 256, BN, PReLU, as
  in the authors' code); each of the 16 embedded vectors has its own linear classifier.
Stripes use adaptive pooling, so heights not divisible by n work (24 rows / 5: bins of 5-6 rows that may
share a boundary row, exactly PyTorch's AdaptiveMax/AvgPool2d bins; the authors' code does the same).

Output order (`head_names`): global, p3_global, p3_part0, p3_part1, p5_global, p5_part0..3, p7_global,
p7_part0..5 (branch-major; CanLoss relies on it). `embeddings`: the 16 embedded 256-D vectors; eval `feature`:
the 16 vectors, each L2-normalised, concatenated (16 x 256 = 4096-D).

Choices: the shared embedding is applied to the 16 features of a batch in one call, so in training its BN
statistics are computed over all 16 features jointly; the authors call it 16 times (per-feature batch statistics
but one set of running statistics, the ones used at test time), so joint statistics are the consistent reading.
Classifiers: `classifier="cosine"` is the paper's (features and class weights L2-normalised, logits scaled by
`cosine_scale`, 14 in the authors' code; the paper recipes use it); `"linear"` (plain nn.Linear) is the default
that older checkpoints were trained with. The authors' IBN-b ResNet-50 is not reproduced: torchvision's ResNet.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid_models.models._common import check_input_size, check_num_classes
from reid_models.models.backbones import Pretrained, build_resnet
from reid_models.models.heads import CanEmbedding, CosineClassifier, init_classifier
from reid_models.models.output import ReidOutput

__all__ = ["CanNet"]


def _stripe_max(maps: Tensor, rows: int) -> Tensor:
    """``F.adaptive_max_pool2d(maps, (rows, 1))`` as a maximum over each stripe's rows, which ONNX can express (its
    exporter has no adaptive max pooling): stripe i covers rows floor(i h / rows) to ceil((i + 1) h / rows), as
    adaptive pooling's bins do. The feature map's height is fixed when a model is exported."""
    h = maps.shape[2]
    stripes = [
        maps[:, :, (i * h) // rows : -((-(i + 1) * h) // rows)].amax(dim=(2, 3), keepdim=True) for i in range(rows)
    ]
    return torch.cat(stripes, dim=2)


def _concat_pool(maps: Tensor, rows: int) -> Tensor:
    """(B, C, h, w) -> (B, 2C, rows, 1): adaptive max and adaptive avg pooling to (rows, 1), concatenated."""
    size = (rows, 1)
    top = _stripe_max(maps, rows) if torch.onnx.is_in_onnx_export() else F.adaptive_max_pool2d(maps, size)
    return torch.cat([top, F.adaptive_avg_pool2d(maps, size)], dim=1)


class CanNet(nn.Module):
    """CAN. forward: (B, 3, H, W) float -> ReidOutput with feature (B, (1 + sum(parts)) * embedding_dim).

    Args:
        num_classes: identities for the classifiers; 0 builds a feature extractor without classifiers.
        backbone: "resnet50" (the paper's), "resnet18" or "resnet34".
        pretrained: "imagenet" (default), a torchvision state_dict path, or None; see backbones.py.
        input_size: (H, W) the network is trained for (any size works at inference).
        parts: stripe counts of the part branches, each >= 2 (paper: 3, 5, 7).
        embedding_dim: width of the shared embedding (paper: 256).
        classifier: "linear" or "cosine" (the paper's scaled-cosine classifier, module doc).
        cosine_scale: logit scale of the cosine classifier.
        share_layer4: one layer4 for every branch (its maps computed once and pooled by each branch) instead of
            the paper's copy per branch: about a third of the parameters and of the layer4 time; off by default.
    """

    def __init__(
        self,
        *,
        num_classes: int = 0,
        backbone: str = "resnet50",
        pretrained: Pretrained = "imagenet",
        input_size: Sequence[int] = (384, 128),
        parts: Sequence[int] = (3, 5, 7),
        embedding_dim: int = 256,
        classifier: str = "linear",
        cosine_scale: float = 14.0,
        share_layer4: bool = False,
    ) -> None:
        super().__init__()
        if classifier not in ("linear", "cosine"):
            raise ValueError(f"classifier: expected 'linear' or 'cosine', got {classifier!r}")
        if not cosine_scale > 0:
            raise ValueError(f"cosine_scale: must be > 0, got {cosine_scale}")
        if not parts or any(isinstance(n, bool) or not isinstance(n, int) or n < 2 for n in parts):
            raise ValueError(f"parts: expected a non-empty sequence of ints >= 2, got {parts!r}")
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim: must be >= 1, got {embedding_dim}")
        self.num_classes = check_num_classes(num_classes)
        self.input_size = check_input_size(input_size)
        self.parts = tuple(parts)
        self.config = {
            "arch": "can",
            "kwargs": {
                "num_classes": num_classes,
                "backbone": backbone,
                "input_size": list(self.input_size),
                "parts": list(self.parts),
                "embedding_dim": embedding_dim,
                "classifier": classifier,
                "cosine_scale": cosine_scale,
                "share_layer4": bool(share_layer4),
            },
        }
        resnet = build_resnet(backbone, pretrained=pretrained)
        self.trunk = resnet.trunk
        self.share_layer4 = bool(share_layer4)
        copies = 1 if self.share_layer4 else 1 + len(self.parts)
        self.layer4 = nn.ModuleList(copy.deepcopy(resnet.layer4) for _ in range(copies))
        self.embedding = CanEmbedding(in_channels=2 * resnet.out_channels, out_channels=embedding_dim)
        self.head_names = ("global",) + tuple(
            name for n in self.parts for name in [f"p{n}_global", *(f"p{n}_part{k}" for k in range(n - 1))]
        )
        self.feature_dim = len(self.head_names) * embedding_dim
        make = (
            (lambda: CosineClassifier(embedding_dim, num_classes, scale=cosine_scale))
            if classifier == "cosine"
            else (lambda: init_classifier(nn.Linear(embedding_dim, num_classes)))
        )
        self.classifiers = nn.ModuleList([make() for _ in self.head_names] if num_classes else [])

    def forward(self, x: Tensor) -> ReidOutput:
        x3 = self.trunk(x)
        shared = self.layer4[0](x3)
        pooled = [_concat_pool(shared, 1)]
        for i, n in enumerate(self.parts, 1):
            maps = shared if self.share_layer4 else self.layer4[i](x3)
            stripes = _concat_pool(maps, n)
            pooled += [_concat_pool(maps, 1), torch.maximum(stripes[:, :, :-1], stripes[:, :, 1:])]
        embedded = self.embedding(torch.cat(pooled, dim=2)).flatten(2)  # (B, D, len(head_names))
        vectors = embedded.unbind(dim=2)
        # No classifiers (num_classes == 0) or eval mode: no logits.
        logits = tuple(classifier(v) for classifier, v in zip(self.classifiers, vectors)) if self.training else ()
        feature = F.normalize(embedded, dim=1).transpose(1, 2).flatten(1)
        return ReidOutput(feature=feature, embeddings=vectors, logits=logits)
