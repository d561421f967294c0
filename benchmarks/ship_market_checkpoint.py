"""Turn a finished Market-1501 training run into a bundled default checkpoint (``mctrack/weights/<name>.pt``).

    # 1. train (about 2 hours on 2 CPU cores; resumable: add --resume to the same command)
    mctrack reid train --config configs/reid/laga_market1501_cpu.yaml --data DATA/market1501 \
        --run-dir runs/market/laga_cpu
    # 2. evaluate, strip and bundle (a few minutes)
    python benchmarks/ship_market_checkpoint.py --run-dir runs/market/laga_cpu --data DATA/market1501 \
        --name laga_market1501

``--link-thresh`` / ``--track-appearance W T`` store the settings the features need (chosen afterwards, e.g. on
``configs/cams/mot15_shared.yaml`` and the MOT15 videos; see docs/reid_training.md), which ``mctrack`` then uses
by default. Step 2 writes the network without its classifier heads in float16 (the training crops' feature mean
kept) and checks that it fits the 25 MB budget; evaluates the written file on Market-1501 with the papers' protocol
(single query, no flip averaging), without and with k-reciprocal re-ranking; and records in the checkpoint's
manifest and in ``<name>.json``: the recipe, the run's git commit, the dataset fingerprint, the numbers and the
training data's licence (Market-1501: research use only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.embed import valid_track_appearance  # noqa: E402
from reid_models.checkpoint import export_for_inference, update_extra  # noqa: E402
from reid_models.train import evaluate_checkpoint  # noqa: E402

LICENCE = "Market-1501 (Zheng et al. 2015): research use only, no redistribution of the images, no commercial use"
MAX_MB = 25.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run-dir", required=True, help="finished run directory (model.pt, config.yaml, manifest.json)")
    ap.add_argument("--data", required=True, help="Market-1501 folder")
    ap.add_argument("--name", required=True, help="bundled name, e.g. laga_market1501")
    ap.add_argument("--out-dir", default=str(ROOT / "mctrack" / "weights"))
    ap.add_argument("--device", default=None, help="evaluation device (default: cuda when available)")
    ap.add_argument("--link-thresh", type=float, help="store the cross-camera link threshold its features need")
    ap.add_argument(
        "--track-appearance",
        type=float,
        nargs=2,
        metavar=("WEIGHT", "THRESH"),
        help="store the per-camera tracker's appearance weight and threshold for its features",
    )
    args = ap.parse_args(argv)
    if args.link_thresh is not None and not 0 < args.link_thresh <= 2:
        ap.error(f"--link-thresh: must be in (0, 2], got {args.link_thresh}")
    if args.track_appearance and not valid_track_appearance(args.track_appearance):
        ap.error(f"--track-appearance: weight in [0, 1] and threshold in (0, 2], got {args.track_appearance}")
    recommended = {
        k: v
        for k, v in (("link_thresh", args.link_thresh), ("track_appearance", args.track_appearance))
        if v is not None
    }
    run_dir = Path(args.run_dir)
    for needed in ("model.pt", "manifest.json", "metrics.json"):
        if not (run_dir / needed).is_file():
            print(f"error: {run_dir / needed} not found (is the run finished?)", file=sys.stderr)
            return 1
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    run_manifest = json.loads((run_dir / "manifest.json").read_text())
    history = json.loads((run_dir / "metrics.json").read_text())
    out = Path(args.out_dir) / f"{args.name}.pt"
    extra = export_for_inference(run_dir / "model.pt", out, extra={"training_data": LICENCE})
    size_mb = round(out.stat().st_size / 2**20, 2)
    if size_mb > MAX_MB:
        print(f"error: {out} is {size_mb} MB, over the {MAX_MB} MB budget", file=sys.stderr)
        return 1
    results = {}
    for rerank in (False, True):
        started = time.perf_counter()
        r = evaluate_checkpoint(
            out,
            args.data,
            dataset_format="market1501",
            flip=False,
            rerank=rerank,
            device=device,
            batch_size=128,
            progress=True,
        )
        results["rerank" if rerank else "plain"] = {
            **{k: round(100 * r[k], 2) for k in ("rank1", "rank5", "rank10", "mAP", "mINP")},
            "queries": r["queries"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(
            f"Market-1501 {'with' if rerank else 'without'} re-ranking: rank-1 {results[list(results)[-1]]['rank1']}"
            f", mAP {results[list(results)[-1]]['mAP']}"
        )
    recipe = extra.get("recipe", {})
    market = {
        "protocol": "single query, no flip averaging, cosine; rerank = k-reciprocal k1=20 k2=6 lambda=0.3",
        **results,
    }
    update_extra(
        out,
        {
            "market1501": market,
            "git_commit": run_manifest.get("git_commit"),
            "train_device": run_manifest.get("device"),
            "train_time_s": round(sum(row["time_s"] for row in history), 1),
            **recommended,
        },
    )
    plain = results["plain"]
    info = {
        "summary": (
            f"{recipe.get('arch')} {recipe.get('backbone')} {'x'.join(map(str, recipe.get('input_size', [])))}"
            f" trained on Market-1501 (751 people; research use only): rank-1 {plain['rank1']}, mAP "
            f"{plain['mAP']}"
        ),
        "training_data": LICENCE,
        "recipe": recipe,
        "dataset_fingerprint": extra.get("dataset_fingerprint"),
        "git_commit": run_manifest.get("git_commit"),
        "train_device": run_manifest.get("device"),
        "epochs": len(history),
        "train_time_s": round(sum(row["time_s"] for row in history), 1),
        "market1501": market,
        "size_mb": round(out.stat().st_size / 2**20, 2),
        "reproduce": [
            f"mctrack reid train --config configs/reid/{args.name}_cpu.yaml --data DATA/market1501 --run-dir RUN",
            f"python benchmarks/ship_market_checkpoint.py --run-dir RUN --data DATA/market1501 --name {args.name}"
            + (f" --link-thresh {args.link_thresh:g}" if args.link_thresh is not None else "")
            + (" --track-appearance {:g} {:g}".format(*args.track_appearance) if args.track_appearance else ""),
        ],
        **recommended,
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {out} ({info['size_mb']} MB) and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
