"""Numbers for the issue-4 note: trained global / LAGA-Net / CAN vs untrained LAGA-Net and the colour histogram,
on a Market-layout crop folder (the samples' export, or `--synthetic` to write a small stand-in first).

    python benchmarks/reid_samples.py --data samples/small/reid --out runs/reid_samples [--set epochs=8]
    python benchmarks/reid_samples.py --synthetic /tmp/reid_syn --out runs/reid_samples

Prints one table (rank-1 / mAP in %, training time) and writes results.json under --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from mctrack.embed import build_embedder  # noqa: E402
from reid_models.data import load_dataset  # noqa: E402
from reid_models.data.synthetic import write_synthetic_market  # noqa: E402
from reid_models.evaluation import cosine_distance, evaluate_rank  # noqa: E402
from reid_models.models import build_model  # noqa: E402
from reid_models.recipe import load_recipe  # noqa: E402
from reid_models.train import evaluate, train  # noqa: E402


def _rank(dataset, q: np.ndarray, g: np.ndarray) -> dict[str, float]:
    result = evaluate_rank(
        cosine_distance(q, g),
        np.array([s.pid for s in dataset.query]),
        np.array([s.pid for s in dataset.gallery]),
        np.array([s.camid for s in dataset.query]),
        np.array([s.camid for s in dataset.gallery]),
    )
    return {"rank1": result.rank(1), "mAP": result.mAP}


def _baselines(dataset, rows: dict[str, dict]) -> None:
    crops = [cv2.imread(str(s.path)) for s in (*dataset.query, *dataset.gallery)]
    hist = build_embedder("colorhist").embed_crops(crops)
    rows["colour histogram"] = _rank(dataset, hist[: len(dataset.query)], hist[len(dataset.query) :])
    untrained = build_model("laga", backbone="resnet18", pretrained=None, input_size=(128, 64))
    rows["LAGA-Net untrained (random init)"] = evaluate(untrained, dataset)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="Market-layout crop folder")
    parser.add_argument("--synthetic", help="write a small synthetic dataset here and use it")
    parser.add_argument("--out", default="runs/reid_samples")
    parser.add_argument("--archs", default="global,laga,can")
    parser.add_argument("--set", action="append", default=[], help="recipe override for every run")
    parser.add_argument("--no-baselines", action="store_true", help="skip the colour histogram and untrained rows")
    args = parser.parse_args()
    data = (
        Path(args.data)
        if args.data
        else write_synthetic_market(
            args.synthetic, train_ids=16, test_ids=12, cameras=3, per_camera=3, size=(128, 64), seed=1
        )
    )
    dataset = load_dataset("samples", data)
    rows: dict[str, dict] = {}
    if not args.no_baselines:
        _baselines(dataset, rows)
    for arch in filter(None, args.archs.split(",")):
        recipe = load_recipe(Path(__file__).parents[1] / "configs" / "reid" / f"{arch}_samples.yaml", args.set)
        started = time.perf_counter()
        run_dir = train(recipe, data=data, out=args.out, progress=False)
        result = json.loads((run_dir / "eval.json").read_text())
        rows[f"{arch} trained"] = {**result, "wall_s": round(time.perf_counter() - started, 1), "run_dir": str(run_dir)}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    name = f"results_{args.archs.replace(',', '_') or 'baselines'}.json"
    (Path(args.out) / name).write_text(json.dumps(rows, indent=1, default=str))
    print(f"\n{'embedder':<36}{'rank-1':>8}{'mAP':>8}{'train s':>9}")
    for name, r in rows.items():
        print(f"{name:<36}{100 * r['rank1']:>8.1f}{100 * r['mAP']:>8.1f}{r.get('wall_s', ''):>9}")


if __name__ == "__main__":
    main()
