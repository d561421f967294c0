"""Colour-histogram Re-ID baseline on a generated scene's Market-1501 style export.

    python benchmarks/synth_reid_baseline.py samples/small

Embeds ``reid/query`` and ``reid/bounding_box_test`` with :class:`ColorHistogramEmbedder` and prints rank-1/5/10,
mAP and mINP under the Market-1501 protocol (same id + same camera removed from each query's ranking).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's mctrack, installed or not

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mctrack.embed.baselines import ColorHistogramEmbedder  # noqa: E402
from mctrack.synth.export import CROP_NAME  # noqa: E402
from reid_models.evaluation import cosine_distance, evaluate_rank  # noqa: E402


def load(folder: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    files = sorted(f for f in folder.glob("*.jpg") if CROP_NAME.match(f.name))
    if not files:
        raise SystemExit(f"{folder}: no crops named like 0001_c1s1_000123_00.jpg")
    groups = [CROP_NAME.match(f.name).groups() for f in files]
    return (
        [cv2.imread(str(f)) for f in files],
        np.array([int(g[0]) for g in groups]),
        np.array([int(g[1]) for g in groups]),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", type=Path, help="scene folder (holds reid/)")
    args = ap.parse_args()
    emb = ColorHistogramEmbedder()
    q, q_ids, q_cams = load(args.scene / "reid" / "query")
    g, g_ids, g_cams = load(args.scene / "reid" / "bounding_box_test")
    res = evaluate_rank(cosine_distance(emb.embed_crops(q), emb.embed_crops(g)), q_ids, g_ids, q_cams, g_cams)
    s = res.summary()
    print(f"{args.scene}: {len(q)} queries / {len(g)} gallery images, {len(set(q_ids.tolist()))} test identities")
    print(
        f"colorhist: rank-1 {s['rank1']:.1%}  rank-5 {s['rank5']:.1%}  rank-10 {s['rank10']:.1%}  "
        f"mAP {s['mAP']:.1%}  mINP {s['mINP']:.1%}  (queries {s['queries']}, skipped {s['skipped']})"
    )


if __name__ == "__main__":
    main()
