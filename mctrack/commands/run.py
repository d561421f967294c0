"""``mctrack run``: the whole multi-camera pipeline on a camera set."""

from __future__ import annotations

import argparse

from ..errors import NotImplementedYet

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="track people across all cameras of a cams.yaml (not built yet)",
                       description="Detect, embed, track per camera and link identities across cameras.")
    p.add_argument("--cams", required=True, help="camera-set file (cams.yaml)")
    p.add_argument("--reid", default="laga", help="embedder name, or 'none' for motion only (default: laga)")
    p.add_argument("--weights", help="Re-ID checkpoint for the embedder")
    p.add_argument("--detector", default="yolo", help="detector name: yolo or mot (default: yolo)")
    p.add_argument("--out", default="runs/run", help="output folder")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    raise NotImplementedYet("not implemented yet: cross-camera linking and the end-to-end run come with issue #6")
