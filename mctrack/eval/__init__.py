"""Evaluation: MOT metrics (HOTA/MOTA/IDF1 with TrackEval definitions; here), multi-camera IDF1
(:mod:`mctrack.eval.multicam`: ``evaluate_multicam``, ``format_multicam``), Re-ID CMC/mAP
(``reid_models.evaluation``)."""

from __future__ import annotations

from .mot import (
    combine,
    evaluate_folder_sequences,
    evaluate_folders,
    evaluate_sequence,
    format_table,
    identity_matches,
    sequence_data,
)

__all__ = [
    "evaluate_sequence",
    "evaluate_folders",
    "evaluate_folder_sequences",
    "combine",
    "format_table",
    "identity_matches",
    "sequence_data",
]
