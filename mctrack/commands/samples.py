"""``mctrack samples``: synthetic multi-camera scenes with exact ground truth."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samples",
        help="make synthetic multi-camera scenes with exact ground truth",
        description="Generate synthetic multi-camera scenes with exact ground truth.",
    )
    s = p.add_subparsers(dest="samples_command", metavar="ACTION", required=True)
    m = s.add_parser(
        "make",
        help="generate a scene from a preset",
        description="Render videos, MOT ground truth, noisy public detections, calibrations, "
        "cams.yaml, manifest and Market-1501 style Re-ID crops.",
    )
    m.add_argument(
        "--preset",
        required=True,
        help="scene preset: tiny (seconds, for tests), small (the committed sample), large (4 cameras, minutes)",
    )
    m.add_argument("--out", required=True, help="output folder: new or empty (created), or one to --overwrite")
    m.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the scene that --out holds (everything in the folder is removed first, files of your own "
        "too; a folder that holds no scene is never emptied)",
    )
    m.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    m.add_argument("--preview", action="store_true", help="also write preview.png, a contact sheet with GT boxes")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..synth import make_scene

    out = make_scene(
        args.preset, args.out, seed=args.seed, preview=args.preview, progress=not args.quiet, overwrite=args.overwrite
    )
    counts = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]
    reid = counts["reid"]
    print(
        f"wrote {out}: {counts['identities_seen']} identities, {counts['gt_boxes']} gt boxes, "
        f"{counts['det_boxes']} detections, re-id {reid['train_images']} train / {reid['query_images']} query / "
        f"{reid['gallery_images']} gallery images; cameras: {out / 'cams.yaml'}"
    )
    return 0
