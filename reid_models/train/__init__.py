"""Training engine, schedule, evaluation (flip, k-reciprocal re-ranking) and run pictures."""

from __future__ import annotations

from reid_models.train.engine import train
from reid_models.train.evaluate import (
    evaluate,
    evaluate_checkpoint,
    evaluate_dataset,
    extract_features,
    feature_mean,
    store_feature_mean,
)
from reid_models.train.rerank import k_reciprocal_rerank, k_reciprocal_rerank_dense, rerank_features
from reid_models.train.schedule import build_optimizer, lr_at, param_groups, set_lr

__all__ = [
    "build_optimizer",
    "evaluate",
    "evaluate_checkpoint",
    "evaluate_dataset",
    "extract_features",
    "feature_mean",
    "k_reciprocal_rerank",
    "k_reciprocal_rerank_dense",
    "lr_at",
    "param_groups",
    "rerank_features",
    "set_lr",
    "store_feature_mean",
    "train",
]
