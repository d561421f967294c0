"""``mctrack samples``: synthetic multi-camera scenes with exact ground truth."""

from __future__ import annotations

import argparse

from ..errors import NotImplementedYet

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samples", help="make synthetic multi-camera scenes (not built yet)",
                       description="Generate synthetic multi-camera scenes with exact ground truth.")
    s = p.add_subparsers(dest="samples_command", metavar="ACTION", required=True)
    m = s.add_parser("make", help="generate a scene from a preset")
    m.add_argument("--preset", required=True, help="tiny, small or large")
    m.add_argument("--out", required=True, help="output folder")
    m.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    m.add_argument("--preview", action="store_true", help="also write a contact-sheet PNG")
    m.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    raise NotImplementedYet("not implemented yet: the synthetic scene generator comes with issue #3")
