"""``mctrack reid``: Re-ID feature extraction, training and evaluation."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import InputError, NotImplementedYet
from ._common import add_embedder_args, embedder_from_args

__all__ = ["register", "list_images"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reid", help="extract, train and evaluate Re-ID features",
                       description="Re-ID feature extraction (embed), training and evaluation.")
    s = p.add_subparsers(dest="reid_command", metavar="ACTION", required=True)

    e = s.add_parser("embed", help="features of every image in a folder of person crops",
                     description="Embed every image of a folder (e.g. a Market-1501 split) and write an .npz "
                                 "with 'names' (paths relative to the folder) and 'features' (N, D) unit rows.")
    e.add_argument("--images", required=True, help="folder of person crops (searched recursively)")
    e.add_argument("--out", required=True, help="output .npz file")
    add_embedder_args(e)
    e.set_defaults(func=embed_main)

    t = s.add_parser("train", help="train a Re-ID model from a recipe (not built yet)")
    t.add_argument("--config", required=True, help="recipe YAML, e.g. configs/reid/laga_market1501.yaml")
    t.add_argument("--data", help="dataset folder")
    t.add_argument("--out", help="run folder")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value")
    t.set_defaults(func=_not_yet)

    v = s.add_parser("eval", help="evaluate a Re-ID checkpoint, Market-1501 protocol (not built yet)")
    v.add_argument("--weights", required=True, help="checkpoint")
    v.add_argument("--data", required=True, help="dataset folder")
    v.set_defaults(func=_not_yet)


def _not_yet(args: argparse.Namespace) -> int:
    raise NotImplementedYet(f"{args.reid_command}: not implemented yet: Re-ID training and evaluation come with issue #4")


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder``, sorted; a missing or empty folder is an InputError."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: folder not found")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def embed_main(args: argparse.Namespace) -> int:
    files = list_images(args.images)
    embedder = embedder_from_args(args)
    if embedder is None:
        raise ValueError("--reid: 'none' computes no features")
    chunk = max(getattr(embedder, "batch_size", 64), 1)
    feats = np.zeros((len(files), embedder.dim), np.float32)
    with tqdm(total=len(files), desc=f"embed ({embedder.name})", unit="crop") as bar:
        for start in range(0, len(files), chunk):
            crops = []
            for f in files[start:start + chunk]:
                img = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if img is None:
                    raise InputError(f"{f}: not a readable image")
                crops.append(img)
            feats[start:start + len(crops)] = embedder.embed_crops(crops)
            bar.update(len(crops))
    out = Path(args.out)
    out = out if out.suffix == ".npz" else out.with_name(out.name + ".npz")  # np.savez would add it silently
    out.parent.mkdir(parents=True, exist_ok=True)
    names = np.array([str(f.relative_to(args.images)) for f in files])
    np.savez(out, names=names, features=feats, embedder=embedder.name)
    print(f"wrote {len(files)} x {embedder.dim} features to {out}")
    return 0
