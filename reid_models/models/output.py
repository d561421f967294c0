"""The single forward contract shared by every Re-ID network, in training and in evaluation."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["ReidOutput"]


@dataclass(frozen=True)
class ReidOutput:
    """What `model(x)` returns for a batch `x` of shape (B, 3, H, W).

    feature: (B, D) retrieval feature, D == model.feature_dim; the architecture's test feature
        (a concatenation of per-head vectors), NOT L2-normalised as a whole: compare by cosine.
    embeddings: per-head vectors, each (B, D_i), that the metric losses (triplet, center) use.
    logits: per-head classifier logits, each (B, num_classes); the empty tuple in eval mode or
        when the model was built with num_classes == 0.
    """

    feature: Tensor
    embeddings: tuple[Tensor, ...]
    logits: tuple[Tensor, ...]
