"""``mctrack track``: single-camera tracking of one video or sequence."""

from __future__ import annotations

import argparse

from ..errors import NotImplementedYet

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="track people in one video or MOTChallenge sequence (not built yet)",
                       description="Detect, embed and track one camera; write MOTChallenge result files.")
    p.add_argument("--source", required=True, help="video file, image folder or MOTChallenge sequence folder")
    p.add_argument("--detector", default="yolo", help="yolo or mot (default: yolo)")
    p.add_argument("--dets", help="MOTChallenge det.txt for --detector mot")
    p.add_argument("--reid", default="none", help="embedder name or 'none' (default: none)")
    p.add_argument("--out", default="runs/track", help="output folder")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    raise NotImplementedYet("not implemented yet: the per-camera tracker comes with issue #5")
