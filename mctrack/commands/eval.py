"""``mctrack eval``: MOT metrics of result files against ground truth."""

from __future__ import annotations

import argparse

from ..eval.mot import evaluate_folders, format_table, write_json
from ..outputs import output_file

__all__ = ["register", "main"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="HOTA/MOTA/IDF1 of tracking results (TrackEval definitions)",
        description="Evaluate MOTChallenge result files against ground truth with TrackEval's "
        "definitions (MOT15 protocol: IoU >= 0.5 for CLEAR/Identity, HOTA over IoU "
        "0.05-0.95, GT rows with conf 0 ignored as TrackEval does).",
    )
    p.add_argument("--gt", required=True, help="ground-truth folder: GT/<sequence>/gt/gt.txt and seqinfo.ini")
    p.add_argument("--pred", required=True, help="results folder: PRED/<sequence>.txt")
    p.add_argument("--sequences", nargs="+", help="only these sequences (default: every one in --gt)")
    p.add_argument("--missing-ok", action="store_true", help="score a missing result file as empty")
    p.add_argument("--keep-zero-marked", action="store_true", help="also count GT rows whose conf column is 0")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.json:  # checked before scoring
        output_file("--json", args.json)
    metrics = evaluate_folders(
        args.gt, args.pred, sequences=args.sequences, keep_zero_marked=args.keep_zero_marked, missing_ok=args.missing_ok
    )
    if args.json:  # before the table is printed: written whatever becomes of the output
        write_json(args.json, metrics)
    print(format_table(metrics))
    if args.json:
        print(f"metrics written to {args.json}")
    return 0
