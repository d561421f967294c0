"""The `global` baseline: ResNet (last stride 1) -> GAP -> BNNeck; LAGA-Net's "Global" row (Table III).

Training: `embeddings` = (pooled feature before the BN,) for the triplet loss; `logits` from the BN'd feature.
Eval `feature` = the BN'd feature (BNNeck convention; 2048-D on resnet50).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from reid_models.models._common import check_input_size, check_num_classes
from reid_models.models.backbones import Pretrained, build_resnet
from reid_models.models.heads import BNNeck
from reid_models.models.output import ReidOutput

__all__ = ["GlobalBaseline"]


class GlobalBaseline(nn.Module):
    """forward: (B, 3, H, W) float -> ReidOutput with feature (B, C4), C4 = 2048 on resnet50, 512 on resnet18/34.

    Args:
        num_classes: identities for the classifier; 0 builds a feature extractor without classifier.
        backbone: "resnet50", "resnet18" or "resnet34".
        pretrained: "imagenet" (default), a torchvision state_dict path, or None; see backbones.py.
        input_size: (H, W) the network is trained for (any size works at inference).
    """

    def __init__(
        self,
        *,
        num_classes: int = 0,
        backbone: str = "resnet50",
        pretrained: Pretrained = "imagenet",
        input_size: Sequence[int] = (384, 128),
    ) -> None:
        super().__init__()
        self.num_classes = check_num_classes(num_classes)
        self.input_size = check_input_size(input_size)
        self.config = {
            "arch": "global",
            "kwargs": {"num_classes": num_classes, "backbone": backbone, "input_size": list(self.input_size)},
        }
        resnet = build_resnet(backbone, pretrained=pretrained)
        self.trunk = resnet.trunk
        self.layer4 = resnet.layer4
        self.neck = BNNeck(in_features=resnet.out_channels, num_classes=num_classes)
        self.head_names = ("global",)
        self.feature_dim = resnet.out_channels

    def forward(self, x: Tensor) -> ReidOutput:
        pooled = self.layer4(self.trunk(x)).mean(dim=(2, 3))
        normed = self.neck(pooled)
        logits = (self.neck.classifier(normed),) if self.training and self.neck.classifier is not None else ()
        return ReidOutput(feature=normed, embeddings=(pooled,), logits=logits)
