"""The structure of the LAGA paper's Table III: Global, +Local, +CAM, +SAM-RPE, each over several seeds,
printed as mean ± std of rank-1 and mAP (Market-1501 protocol).

    python benchmarks/laga_ablation.py --config configs/reid/laga_samples.yaml --data DIR \
        [--seeds 0 1 2] [--out runs/laga_ablation] [--set epochs=6 ...]

Each row is LagaNet with `model_kwargs.branches` = global | global,local | + channel | + spatial, trained with
the given recipe (everything else unchanged) once per seed. Results also go to OUT/ablation.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from reid_models.recipe import load_recipe  # noqa: E402
from reid_models.train import train  # noqa: E402

ROWS = {
    "Global": ["global"],
    "+Local": ["global", "local"],
    "+CAM": ["global", "local", "channel"],
    "+SAM-RPE": ["global", "local", "channel", "spatial"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/reid/laga_samples.yaml")
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/laga_ablation")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"subset of {', '.join(ROWS)}")
    parser.add_argument("--set", action="append", default=[], help="recipe override, e.g. epochs=6")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    for row in args.rows.split(","):
        for seed in args.seeds:
            recipe = load_recipe(
                args.config,
                [*args.set, "arch=laga", f"seed={seed}", f"model_kwargs={{branches: [{', '.join(ROWS[row])}]}}"],
            )
            started = time.perf_counter()
            run_dir = train(recipe, data=args.data, out=Path(args.out) / row.strip("+"), progress=False)
            result = json.loads((run_dir / "eval.json").read_text())
            results.setdefault(row, []).append({**result, "seed": seed, "wall_s": time.perf_counter() - started})
            print(f"{row} seed {seed}: rank-1 {100 * result['rank1']:.1f} mAP {100 * result['mAP']:.1f}", flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "ablation.json").write_text(json.dumps(results, indent=1))
    print(f"\n{'model':<10}{'rank-1 (%)':>16}{'mAP (%)':>16}   seeds")
    for row, runs in results.items():
        r1 = 100 * np.array([r["rank1"] for r in runs])
        ap = 100 * np.array([r["mAP"] for r in runs])
        print(f"{row:<10}{r1.mean():>9.1f} ± {r1.std():<4.1f}{ap.mean():>9.1f} ± {ap.std():<4.1f}   {len(runs)}")


if __name__ == "__main__":
    main()
