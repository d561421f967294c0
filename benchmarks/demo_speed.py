"""The README demo side by side with an older commit's: wall time, where the time went, and the accuracy it got.

Issue 11's CPU target is "the README demo at least 2x faster than today on the same machine, measured side by side
in one run"; "today" is the commit the issue was filed against (a503f11). This script checks that commit out into a
temporary folder (``git archive``, nothing in the working tree changes), then runs each side's demo command
alternately in fresh processes (``--rounds`` times each, median reported), both with the same Python environment,
the same public detections and the same ``laga_samples`` checkpoint, without the feature cache:

    python benchmarks/demo_speed.py                              # a503f11's demo vs this tree's README demo
    python benchmarks/demo_speed.py --base a503f11 --rounds 3 --new-args "--embed all --workers 1"

It prints seconds per run, the speed-up (base / new), the run's own timings from ``summary.json`` when it writes
them, and the cross-camera and mean per-camera IDF1 from ``eval.json``. Run it on an idle machine (pause a
training run with ``kill -STOP PID`` and resume it with ``kill -CONT PID``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The README demo (its first command, after the install), without the feature cache so every run does the work.
DEMO = ["run", "--cams", "samples/small/cams.yaml", "--detector", "mot", "--reid", "laga", "--no-cache"]
NEW_WEIGHTS = ["--weights", "laga_samples"]  # the base commit's default checkpoint is the same laga_samples


def export_tree(commit: str, dest: Path) -> Path:
    """``git archive COMMIT`` unpacked under ``dest`` (the bundled weights come with it)."""
    archive = dest / "tree.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=fh, check=True)
    tree = dest / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree


def run_demo(tree: Path, extra: list[str], out: Path) -> dict:
    """One demo run of the code in ``tree``; its wall time, summary timings and evaluation."""
    env = dict(os.environ, PYTHONPATH=str(tree), YOLO_OFFLINE="1")
    code = "import sys; from mctrack.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, *DEMO, *extra, "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: demo failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    ev = json.loads((out / "eval.json").read_text())
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
    return {"seconds": secs, "eval": ev, "summary": summary}


def idf1s(ev: dict) -> tuple[float, float]:
    """(cross-camera IDF1, mean per-camera IDF1) in percent from an ``eval.json`` of any version."""
    cross = ev.get("cross_camera", ev.get("global", {}))
    per = ev.get("per_camera", {})
    mean = statistics.mean(v["IDF1"] for v in per.values()) if per else float("nan")
    return 100 * cross.get("IDF1", float("nan")), 100 * mean


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="a503f11", help="the older commit (default: a503f11, issue 11's 'today')")
    ap.add_argument("--rounds", type=int, default=1, help="runs per side, alternating (default 1)")
    ap.add_argument("--base-args", default="", help='more arguments for the base commit\'s run, e.g. "--no-video"')
    ap.add_argument("--new-args", default="", help='more arguments for this tree\'s run, e.g. "--embed all"')
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds: must be >= 1")
    with tempfile.TemporaryDirectory(prefix="demo_speed_") as tmp:
        tmp = Path(tmp)
        sides = {
            args.base: (export_tree(args.base, tmp), shlex.split(args.base_args)),
            "this tree": (ROOT, NEW_WEIGHTS + shlex.split(args.new_args)),
        }
        results: dict[str, list[dict]] = {name: [] for name in sides}
        for r in range(args.rounds):
            for name, (tree, extra) in sides.items():
                res = run_demo(tree, extra, tmp / f"out_{len(results[name])}_{name.replace(' ', '_')}")
                results[name].append(res)
                cross, mean = idf1s(res["eval"])
                print(f"round {r + 1} {name:>10}: {res['seconds']:7.1f} s  cross IDF1 {cross:.1f}  mean {mean:.1f}")
    med = {name: statistics.median(r["seconds"] for r in rs) for name, rs in results.items()}
    print(f"\nmedian seconds: {args.base} {med[args.base]:.1f}, this tree {med['this tree']:.1f}")
    print(f"speed-up (base / this tree): {med[args.base] / med['this tree']:.2f}x")
    for name, rs in results.items():
        timings = rs[-1]["summary"].get("timings_s")
        if timings:
            print(f"{name} timings (last run, s): {json.dumps(timings)}")
    if args.json:
        args.json.write_text(json.dumps({"median_seconds": med, "runs": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
