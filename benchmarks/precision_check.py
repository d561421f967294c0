"""Is bf16 (or fp16 on CUDA) safe for a checkpoint? Market-1501 accuracy and speed of the mctrack embedder per
precision, on the same crops.

    python benchmarks/precision_check.py --data DATA/market1501                       # bundled real-trained ones
    python benchmarks/precision_check.py --data DATA/market1501 --weights laga_market1501 --precisions fp32 bf16

Every query and gallery image of Market-1501 goes through ``ReidEmbedder.embed_crops`` (the path tracking uses:
resize, normalisation, the network under autocast, L2 normalisation, the checkpoint's feature centring) at each
precision; the table gives rank-1 and mAP (single query, cosine, no flip, no re-ranking), crops per second, and the
per-crop cosine similarity between the features at that precision and at fp32 (minimum and mean). A precision is
safe for a checkpoint when rank-1 and mAP move by less than 0.3 points.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.embed import ReidEmbedder  # noqa: E402
from mctrack.weights import resolve_weights  # noqa: E402
from reid_models.data.datasets import load_dataset  # noqa: E402
from reid_models.evaluation import evaluate_rank  # noqa: E402


def embed_all(embedder: ReidEmbedder, paths: list[Path], chunk: int = 256) -> tuple[np.ndarray, float]:
    """Features of every image and the seconds spent in ``embed_crops`` (image reading excluded)."""
    out, spent = [], 0.0
    for start in range(0, len(paths), chunk):
        crops = [cv2.imread(str(p)) for p in paths[start : start + chunk]]
        t0 = time.perf_counter()
        out.append(embedder.embed_crops(crops))
        spent += time.perf_counter() - t0
    return np.concatenate(out), spent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="Market-1501 folder")
    ap.add_argument("--weights", nargs="+", default=["laga_market1501", "global_market1501"])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16", "fp16"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--limit", type=int, help="only the first N queries and the gallery images of their people")
    args = ap.parse_args(argv)
    dataset = load_dataset("market1501", args.data, verbose=False)
    query, gallery = list(dataset.query), list(dataset.gallery)
    if args.limit:
        query = query[: args.limit]
        pids = {s.pid for s in query}
        gallery = [s for s in gallery if s.pid in pids] + [s for s in gallery if s.pid not in pids][: 10 * args.limit]
    paths = [s.path for s in query] + [s.path for s in gallery]
    labels = [np.array([getattr(s, k) for s in part]) for part in (query, gallery) for k in ("pid", "camid")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(query)} queries, {len(gallery)} gallery")
    print(f"{'weights':<20}{'precision':>10}{'rank-1':>8}{'mAP':>7}{'crops/s':>9}{'cos min':>9}{'cos mean':>9}")
    for name in args.weights:
        weights = resolve_weights(name, option="--weights")
        arch = torch.load(weights, map_location="cpu", weights_only=True)["manifest"]["arch"]
        ref = None
        for precision in args.precisions:
            embedder = ReidEmbedder(
                arch, weights=weights, device=args.device, batch_size=args.batch_size, precision=precision
            )
            feats, secs = embed_all(embedder, paths)
            q, g = feats[: len(query)], feats[len(query) :]
            result = evaluate_rank(1.0 - q @ g.T, labels[0], labels[2], labels[1], labels[3]).summary()
            ref = feats if ref is None else ref
            cos = (feats * ref).sum(axis=1)
            print(
                f"{Path(weights).stem:<20}{precision:>10}{100 * result['rank1']:8.2f}{100 * result['mAP']:7.2f}"
                f"{len(paths) / secs:9.1f}{cos.min():9.4f}{cos.mean():9.5f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
