"""Evaluation: MOT metrics (HOTA/MOTA/IDF1 with TrackEval definitions), multi-camera IDF1, Re-ID CMC/mAP."""

from __future__ import annotations

from .mot import combine, evaluate_folder_sequences, evaluate_folders, evaluate_sequence, format_table

__all__ = ["evaluate_sequence", "evaluate_folders", "evaluate_folder_sequences", "combine", "format_table"]
