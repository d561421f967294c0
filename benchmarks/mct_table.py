"""Cross-camera results table: cross-camera IDF1 and mean per-camera IDF1 on the samples' scenes.

Rows: motion only (no appearance, no linking: every local track its own global id), each trained Re-ID embedder
whose checkpoint is given (``--weights-laga`` etc., else the bundled ``mctrack/weights/<arch>_samples.pt``, else
``runs/default_embedder/<arch>_samples.pt`` as written by ``benchmarks/train_default_embedder.py --arch <arch> --out
runs/default_embedder/<arch>_samples.pt``; they must be trained on identities disjoint from the evaluated scene,
e.g. other seeds' people, as these are), and the colour-histogram embedder. Every run is
``mctrack run --detector mot`` (the scene's noisy public detections) with the default tracker and linker
settings, so the table measures linking, not detection.

    # the checkpoints of the table (LAGA-Net is bundled; CAN, 70 MB, and global are made here, ~15 min each on CPU)
    python benchmarks/train_default_embedder.py --arch can --out runs/default_embedder/can_samples.pt
    python benchmarks/train_default_embedder.py --arch global --set backbone_lr_mult=1.0 \
        --out runs/default_embedder/global_samples.pt
    python benchmarks/mct_table.py                  # small (committed) and large (generated); ~1.5 h on 2 CPU cores
    python benchmarks/mct_table.py --scenes small --weights-laga ckpt.pt

``large`` is generated with seed 0 into ``--data`` when missing (several minutes). Feature caches live in each
run's output folder, so re-running the table only re-tracks and re-links.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.cli import main as mctrack  # noqa: E402

TRAINED = ("laga", "can", "global")
ORDINAL = {2: "2nd", 3: "3rd"}


def scene_path(name: str, data: Path, seed: int) -> Path:
    if name == "small" and seed == 0 and (ROOT / "samples" / "small" / "cams.yaml").is_file():
        return ROOT / "samples" / "small"
    out = data / f"{name}-seed{seed}"
    if not (out / "cams.yaml").is_file():
        from mctrack.synth import make_scene

        print(f"generating the {name} scene (seed {seed}) into {out} ...", flush=True)
        make_scene(name, out, seed=seed, progress=True, overwrite=True)  # one cut short before
    return out


def _git_commit() -> str | None:
    import subprocess

    try:
        return (
            subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.CalledProcessError):
        return None


#: the settings the README's table was measured with, kept fixed as mctrack's defaults move on: no offline box
#: smoothing, tracklet stitching, backfill or length judgement, every detection embedded (the defaults now do all
#: of these and embed what the association needs: the README's first command)
TABLE_SETTINGS = [
    "--stitch",
    "0",
    "--smooth",
    "0",
    "--embed",
    "all",
    "--no-backfill",
    "--min-length",
    "0",
    "--workers",
    "1",
]


def run_one(cams: Path, out: Path, reid: str, weights: str | None, extra: list[str]) -> dict:
    argv = [
        "run",
        "--cams",
        str(cams),
        "--detector",
        "mot",
        "--reid",
        reid,
        "--out",
        str(out),
        "--no-video",
        "--no-progress",
        *extra,
    ]
    if weights:
        argv += ["--weights", weights]
    t0 = time.perf_counter()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = mctrack(argv)
    if code != 0:
        raise SystemExit(f"mctrack {' '.join(argv)} failed with exit code {code}")
    ev = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {
        "cross_IDF1": ev["cross_camera"]["IDF1"],
        "cross_HOTA": ev["cross_camera"]["HOTA"],
        "mean_IDF1": ev["mean_per_camera"]["IDF1"],
        "global_ids": summary["counts"]["global_ids"],
        "multi_camera_ids": summary["counts"]["multi_camera_ids"],
        "gt_ids": ev["cross_camera"]["GT_IDs"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenes", nargs="+", default=["small", "large"], help="presets to evaluate (default: small large)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default: 0; small seed 0 is the committed one)")
    p.add_argument("--data", default="runs/mct_table/scenes", help="where generated scenes are kept")
    p.add_argument("--out", default="runs/mct_table", help="run outputs and results.json")
    for arch in TRAINED:
        p.add_argument(f"--weights-{arch}", help=f"trained {arch} checkpoint (row skipped without it)")
    p.add_argument("--device", help="cpu or cuda for the Re-ID networks")
    p.add_argument(
        "--embed-every",
        nargs="+",
        default=["1", "large=3"],
        metavar="[SCENE=]N",
        help="Re-ID networks: embed every N-th frame only, for all scenes or one (default: 1 large=3, "
        "i.e. every frame of small and every 3rd of large, which keeps large under an hour per "
        "network on a 2-core CPU)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=["motion", "laga", "can", "global", "colorhist"],
        help="rows to run (default: all): motion laga can global colorhist",
    )
    p.add_argument("--linker", default="offline", help="offline or online (default: offline)")
    args = p.parse_args(argv)
    every: dict[str | None, int] = {}
    for item in args.embed_every:
        scene, _, n = item.rpartition("=")
        if not n.isdigit() or int(n) < 1:
            p.error(f"--embed-every {item}: expected N or SCENE=N with N >= 1")
        every[scene or None] = int(n)
    out = Path(args.out)
    rows, notes = [], []
    methods: list[tuple[str, str, str | None]] = [("motion only", "none", None)] if "motion" in args.methods else []
    for arch in (a for a in TRAINED if a in args.methods):
        w = getattr(args, f"weights_{arch}")
        for found in (
            ROOT / "mctrack" / "weights" / f"{arch}_samples.pt",
            ROOT / "runs" / "default_embedder" / f"{arch}_samples.pt",
        ):
            if not w and found.is_file():
                w = str(found)  # trained on other seeds' people: disjoint from the evaluated scenes
        if w:
            methods.append((f"{arch} (trained)", arch, w))
        else:
            notes.append(
                f"{arch}: no trained checkpoint (--weights-{arch}, mctrack/weights/{arch}_samples.pt or "
                f"runs/default_embedder/{arch}_samples.pt); row skipped"
            )
    if "colorhist" in args.methods:
        methods.append(("colorhist", "colorhist", None))
    extra = ["--linker", args.linker] + (["--device", args.device] if args.device else [])
    extra += TABLE_SETTINGS
    for scene in args.scenes:
        cams = scene_path(scene, Path(args.data), args.seed) / "cams.yaml"
        for label, reid, weights in methods:
            print(f"{scene}: {label} ...", flush=True)
            more = extra if reid != "none" else TABLE_SETTINGS
            if reid in TRAINED:
                n = every.get(scene, every.get(None, 1))
                more = more + ["--embed-every", str(n)]
            r = run_one(cams, out / f"{scene}-seed{args.seed}" / reid, reid, weights, more)
            if reid in TRAINED and n > 1:
                label = f"{label}, every {ORDINAL.get(n, f'{n}th')} frame"
            rows.append({"scene": scene, "method": label, **r})
    lines = [
        "| scene | method | cross-camera IDF1 | mean per-camera IDF1 | cross-camera HOTA | global ids (GT) | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scene']} | {r['method']} | {100 * r['cross_IDF1']:.1f} | {100 * r['mean_IDF1']:.1f} | "
            f"{100 * r['cross_HOTA']:.1f} | {r['global_ids']} ({r['gt_ids']}) | {r['seconds']} |"
        )
    print("\n".join(lines))
    for n in notes:
        print(f"note: {n}")
    out.mkdir(parents=True, exist_ok=True)
    weights = {label: w for label, _, w in methods if w}
    (out / "results.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "notes": notes,
                "linker": args.linker,
                "seed": args.seed,
                "embed_every": args.embed_every,
                "weights": weights,
                "git_commit": _git_commit(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"results in {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
