"""``mctrack eval``: MOT metrics of result files against ground truth."""

from __future__ import annotations

import argparse

from ..errors import NotImplementedYet

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="HOTA/MOTA/IDF1 of tracking results (not built yet)",
                       description="Evaluate MOTChallenge result files against ground truth (TrackEval definitions).")
    p.add_argument("--gt", required=True, help="ground-truth folder: GT/<sequence>/gt/gt.txt and seqinfo.ini")
    p.add_argument("--pred", required=True, help="results folder: PRED/<sequence>.txt")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    raise NotImplementedYet("not implemented yet: MOT evaluation comes with issue #5")
