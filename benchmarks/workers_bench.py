"""Cameras in parallel: throughput of ``mctrack run --workers N`` and whether the outputs stay identical.

Runs ``mctrack run`` on a camera set (default ``samples/small``: 3 cameras, public detections, LAGA-Net features,
no cache, no video) once per setting, each in a fresh process, and prints frames per second, the speed-up over one
worker with one thread, and whether every output file (global and local MOT files, identities.csv, eval.json)
equals the one-worker run's byte for byte.

    python benchmarks/workers_bench.py                          # 1 worker x 1 thread, 2 x 1, 1 x 2 threads
    python benchmarks/workers_bench.py --settings 1x1 2x1 3x1 4x1 --reid colorhist

A setting ``WxT`` is W workers with ``OMP_NUM_THREADS=T``; ``rayWxT`` is ``--engine ray`` on a local Ray instance
of W x T CPUs, T per camera (W cameras at once; its time includes starting Ray). Run it on an idle machine.

    python benchmarks/workers_bench.py --settings 1x1 ray1x1 ray2x1 ray4x1     # Ray with 1, 2 and 4 camera workers
Target (issue 14): on 2 cores, 2x1 >= 1.6x the throughput of 1x1, and 2x1 not slower than 1x2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("identities.csv", "eval.json")


def run(cams: str, reid: str, setting: str, out: Path, extra: list[str]) -> float:
    ray = setting.startswith("ray")
    workers, threads = (int(x) for x in setting.removeprefix("ray").split("x"))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env.setdefault("YOLO_OFFLINE", "1")
    cmd = [sys.executable, "-m", "mctrack.cli", "run", "--cams", cams, "--detector", "mot", "--reid", reid]
    if ray:  # a local Ray instance with workers x threads CPUs, threads per camera task
        cmd += ["--engine", "ray", "--ray-local-cpus", str(workers * threads), "--ray-cpus", str(threads)]
    else:
        cmd += ["--workers", str(workers)]
    cmd += ["--out", str(out), "--no-cache", "--no-video", "--no-progress", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return secs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cams", default=str(ROOT / "samples" / "small" / "cams.yaml"))
    ap.add_argument("--reid", default="laga")
    ap.add_argument(
        "--settings", nargs="*", default=["1x1", "2x1", "1x2"], help="WORKERSxTHREADS (default 1x1 2x1 1x2)"
    )
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more mctrack run arguments")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = None
        for setting in args.settings:
            out = Path(tmp) / setting
            secs = run(args.cams, args.reid, setting, out, args.extra)
            summary = json.loads((out / "summary.json").read_text())
            frames = summary["counts"]["frames"]
            files = sorted(p.relative_to(out) for p in out.rglob("*.txt")) + [Path(n) for n in COMPARED]
            files = [f for f in files if (out / f).is_file()]
            same = None
            if base is None:
                base = out
            else:
                same = all((out / f).read_bytes() == (base / f).read_bytes() for f in files)
            rows.append((setting, frames, secs, same))
            print(f"{setting}: {frames} frames in {secs:.1f} s ({frames / secs:.1f} frames/s)", flush=True)
    ref = rows[0][1] / rows[0][2]
    print(f"\n{'setting':<8}{'frames/s':>10}{'speed-up':>10}  same outputs as {rows[0][0]}")
    for setting, frames, secs, same in rows:
        print(f"{setting:<8}{frames / secs:10.1f}{frames / secs / ref:9.2f}x  {'-' if same is None else same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
