"""Sweep linker settings of ``mctrack run`` on a scene with ground truth; prints cross-camera and per-camera IDF1.

The first run of each embedder computes the features (cached in ``--out``); every further setting only re-tracks
and re-links. Choose defaults on scenes OTHER than the ones you report (e.g. ``mctrack samples make --preset small
--seed 4``), whose people the embedder was not trained on either.

    python benchmarks/link_sweep.py --cams runs/tune/small-seed4/cams.yaml --reid laga \\
        --grid link-thresh=0.2,0.3,0.4 --grid linkage=average,complete
    python benchmarks/link_sweep.py --cams ... --reid colorhist --grid link-thresh=0.05,0.1,0.15

Each ``--grid NAME=V1,V2`` is a ``mctrack run`` option (without ``--``) and its values; all combinations run.
A value ``on`` passes the option as a bare flag and ``off`` leaves it out. Results go to ``OUT/sweep.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mct_table import run_one  # noqa: E402  (one way to run mctrack and read its results)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cams", required=True, help="cams.yaml of a scene with ground truth")
    p.add_argument("--reid", default="laga", help="embedder (default: laga)")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="a mctrack run option and the values to try (repeatable)",
    )
    p.add_argument(
        "--fixed",
        action="append",
        default=[],
        metavar="OPTION",
        help="extra mctrack run arguments for every run, e.g. --fixed=--weights=ckpt.pt",
    )
    p.add_argument("--out", default="runs/link_sweep", help="run folder (its cache is reused)")
    args = p.parse_args(argv)
    names, values = [], []
    for g in args.grid:
        if "=" not in g:
            p.error(f"--grid {g}: expected NAME=V1,V2,...")
        name, vals = g.split("=", 1)
        names.append(name.lstrip("-"))
        values.append([v for v in vals.split(",") if v])
    fixed = [a for f in args.fixed for a in f.split("=", 1)]
    out = Path(args.out)
    rows = []
    print(
        "| " + " | ".join(names) + " | cross-camera IDF1 | mean per-camera IDF1 | cross HOTA | ids (GT) | "
        "ids in >1 camera |"
    )
    print("|" + "---|" * (len(names) + 5))
    for combo in itertools.product(*values) if names else [()]:
        opts = list(fixed)
        for n, v in zip(names, combo):
            if v == "on":
                opts.append(f"--{n}")
            elif v != "off":
                opts += [f"--{n}", v]
        r = run_one(Path(args.cams), out, args.reid, None, opts)
        rows.append({"settings": dict(zip(names, combo)), **r})
        print(
            "| " + " | ".join(combo) + f" | {100 * r['cross_IDF1']:.1f} | {100 * r['mean_IDF1']:.1f} | "
            f"{100 * r['cross_HOTA']:.1f} | {r['global_ids']} ({r['gt_ids']}) | {r['multi_camera_ids']} |",
            flush=True,
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(
        json.dumps({"cams": args.cams, "reid": args.reid, "fixed": fixed, "rows": rows}, indent=2) + "\n",
        encoding="utf-8",
    )
    best = max(rows, key=lambda r: r["cross_IDF1"])
    print(f"best cross-camera IDF1 {100 * best['cross_IDF1']:.1f} with {best['settings']}; all in {out / 'sweep.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
