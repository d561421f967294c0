"""mctrack and BoxMOT's motion trackers on the five MOT15 sequences under conditions nobody tuned on.

Every default of mctrack (and every BoxMOT default) was chosen on clean versions of these sequences; a tracker
that only fits them loses its lead when the conditions change. This script makes shifted copies of the five
(MOTChallenge folders with ``det/``, ``gt/`` and ``seqinfo.ini``, no images: motion only) and prints the combined
HOTA / IDF1 / MOTA of mctrack (its defaults, as ``mctrack track``) and each BoxMOT motion tracker (its defaults,
the sequence's frame rate) on each, next to the original:

- ``strideK``: every K-th frame only (frame rate / K): a pipeline that skips frames to keep up, or a slower
  camera. Ground truth and detections keep the frames that remain, renumbered.
- ``missP``: P% of the detections removed at random (a weaker detector, or more occlusion). Ground truth unchanged.
- ``jitterP``: every detection's centre moved by Gaussian noise of P% of its height in x and y, and its width and
  height scaled by ``exp(N(0, P%))`` (a less precise detector). Ground truth unchanged.
- ``scoredownD``, ``scoreupD``: every detection's score moved by D/10 on the logit scale, down or up (a detector
  calibrated differently, or footage it is less or more sure of: ``scoredown10`` takes 0.9 to 0.77 and 0.99 to
  0.97). Boxes and ground truth unchanged; the order of the scores is kept. Scores must be confidences in [0, 1].
- ``scaleP``: every box of the detections and the ground truth, and the image size, scaled to P% (``scale50``: the
  same video at half the resolution; 10-400). A tracker without pixel constants scores the same.

The draws are seeded (``--seed``, default 0) per sequence and shift, so a run is repeatable; other seeds give
other draws of the same shift. Every tracker gets the same offline refinement (gap interpolation 10 frames,
smoothing sigma 2 frames), as ``benchmarks/peers_mot15.py``.

    python benchmarks/mot15_shift.py                                  # stride2, stride3, miss20, jitter5
    python benchmarks/mot15_shift.py --shifts stride2 --trackers ByteTrack BoostTrack
    python benchmarks/mot15.py --data runs/mot15_shift/sequences/stride2   # one shift, mctrack only
    python benchmarks/mot15_shift.py --online                         # live streams: nobody refined offline
    python benchmarks/mot15_shift.py --grid min_hits=1,2 --json runs/mot15_shift/summary.json
                                      # mctrack settings compared across the conditions, with their means

BoxMOT is an optional benchmark dependency (``pip install --no-deps boxmot==25.0.0 rich``); without it only
mctrack is run. ``--trackers`` is for BoxMOT's motion trackers: the shifted copies have no images, and its
appearance trackers need them (and weights).
"""

from __future__ import annotations

import argparse
import inspect
import io
import itertools
import json
import re
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mot15 import SEQUENCES, check_settings, parse_grid  # noqa: E402
from peers_mot15 import MOTION, ONLINE, compare, tracker_names  # noqa: E402

from mctrack.errors import InputError  # noqa: E402
from mctrack.io.mot import read_seqinfo, write_seqinfo  # noqa: E402
from mctrack.outputs import output_file, output_folder  # noqa: E402

SHIFTS = ("stride2", "stride3", "miss20", "jitter5")
#: ``--grid`` keys that cannot change a motion-only run on copies without images
NOT_HERE = frozenset(
    {
        "appearance_weight",
        "appearance_thresh",
        "appearance_centre",
        "ema_alpha",
        "motion_gate",
        "cmc",
        "stitch_appearance",
    }
)
_SHIFT = re.compile(r"^(stride|miss|jitter|scoredown|scoreup|scale)(\d+)$")


def parse_shift(text: str) -> tuple[str, int]:
    """``"stride2"`` -> ``("stride", 2)``; a :class:`ValueError` naming the problem otherwise (the number is read
    as a whole number: ``stride02`` is ``stride2``, see :func:`shift_name`)."""
    m = _SHIFT.match(text)
    if not m:
        raise ValueError(
            f"--shifts {text}: expected strideK, missP, jitterP, scoredownD, scoreupD or scaleP (e.g. stride2, "
            "miss20, jitter5, scoredown10, scale50)"
        )
    kind, n = m.group(1), int(m.group(2))
    if kind == "stride" and not 2 <= n <= 100:
        raise ValueError(f"--shifts {text}: the stride must be 2-100")
    if kind == "miss" and not 1 <= n <= 99:
        raise ValueError(f"--shifts {text}: the missed percentage must be 1-99")
    if kind == "jitter" and not 1 <= n <= 100:
        raise ValueError(f"--shifts {text}: the jitter must be 1-100 (% of the box height)")
    if kind == "scale" and not (10 <= n <= 400 and n != 100):
        raise ValueError(f"--shifts {text}: the scale must be 10-400 (% of the original size), not 100")
    if kind in ("scoredown", "scoreup") and not 1 <= n <= 100:
        raise ValueError(f"--shifts {text}: the score shift must be 1-100 (tenths of a logit unit)")
    return kind, n


def shift_name(text: str) -> str:
    """The canonical name of a shift (``stride02`` -> ``stride2``): one folder, one column and one draw each."""
    kind, n = parse_shift(text)
    return f"{kind}{n}"


def shift_rows(det: np.ndarray, gt: np.ndarray, kind: str, n: int, rng: np.random.Generator):
    """``(det, gt)`` MOTChallenge rows (1-based frame, id, x, y, w, h, ...) under the shift ``kind`` / ``n``."""
    det, gt = det.copy(), gt.copy()
    if kind == "stride":

        def keep(rows: np.ndarray) -> np.ndarray:
            rows = rows[(rows[:, 0].astype(np.int64) - 1) % n == 0]
            rows[:, 0] = (rows[:, 0].astype(np.int64) - 1) // n + 1
            return rows

        return keep(det), keep(gt)
    if kind == "miss":
        return det[rng.random(len(det)) >= n / 100.0], gt
    if kind == "scale":
        det[:, 2:6] *= n / 100.0
        gt[:, 2:6] *= n / 100.0
        return det, gt
    if kind in ("scoredown", "scoreup"):
        if len(det) and not (det[:, 6].min() >= 0.0 and det[:, 6].max() <= 1.0):  # NaN fails too
            raise ValueError(
                f"scores run from {det[:, 6].min():.4g} to {det[:, 6].max():.4g}: a logit shift needs confidences "
                "in [0, 1] (raw detector scores, e.g. MOT17's DPM, would merge out of order)"
            )
        p = np.clip(det[:, 6], 1e-6, 1.0 - 1e-6)  # scores of exactly 0 or 1 have no logit: taken 1e-6 inside
        logit = np.log(p / (1.0 - p)) + (n / 10.0 if kind == "scoreup" else -n / 10.0)
        det[:, 6] = 1.0 / (1.0 + np.exp(-logit))
        return det, gt
    s = n / 100.0
    w, h = det[:, 4].copy(), det[:, 5].copy()
    cx = det[:, 2] + w / 2 + rng.normal(0.0, s, len(det)) * h
    cy = det[:, 3] + h / 2 + rng.normal(0.0, s, len(det)) * h
    w *= np.exp(rng.normal(0.0, s, len(det)))
    h *= np.exp(rng.normal(0.0, s, len(det)))
    det[:, 2], det[:, 3], det[:, 4], det[:, 5] = cx - w / 2, cy - h / 2, w, h
    return det, gt


def _rows(path: Path) -> np.ndarray:
    """A MOTChallenge file's rows as a ``(K, >=7)`` array (``(0, 10)`` for an empty file)."""
    text = path.read_text()
    if not text.strip():
        return np.zeros((0, 10))
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)


def make_shifted(src: Path, shift: str, dest: Path, seed: int = 0) -> Path:
    """Write sequence ``src`` under ``shift`` as the MOTChallenge folder ``dest`` (rewritten every time: it is
    cheap, and a changed seed must not reuse an old draw)."""
    kind, n = parse_shift(shift)
    if dest.resolve() == src.resolve():
        raise ValueError(f"{dest}: the shifted copy would overwrite its source")
    info = read_seqinfo(src / "seqinfo.ini")
    det, gt = (_rows(src / part) for part in ("det/det.txt", "gt/gt.txt"))
    rng = np.random.default_rng([seed, zlib.crc32(f"{src.name}/{shift}".encode())])
    try:
        det, gt = shift_rows(det, gt, kind, n, rng)
    except ValueError as exc:
        raise ValueError(f"{src / 'det' / 'det.txt'}: {shift}: {exc}") from None
    fps, length = info.frame_rate, info.seq_length
    if kind == "stride":
        fps, length = fps / n, (length + n - 1) // n
    if kind == "scale":
        info = replace(info, im_width=round(info.im_width * n / 100), im_height=round(info.im_height * n / 100))
    (dest / "det").mkdir(parents=True, exist_ok=True)
    (dest / "gt").mkdir(exist_ok=True)
    np.savetxt(dest / "det" / "det.txt", det, delimiter=",", fmt="%.6g")
    np.savetxt(dest / "gt" / "gt.txt", gt, delimiter=",", fmt="%.6g")
    # no images and no video: the shifted copies are for motion-only tracking
    write_seqinfo(dest / "seqinfo.ini", replace(info, name=dest.name, frame_rate=fps, seq_length=length, video=None))
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"), help="MOT15 folder")
    ap.add_argument("--work", default=str(ROOT / "runs" / "mot15_shift"), help="shifted sequences and results")
    ap.add_argument(
        "--shifts",
        nargs="+",
        default=list(SHIFTS),
        help="strideK (every K-th frame, K 2-100), missP (P%% of the detections removed, 1-99), jitterP (boxes moved "
        "by P%% of their height, 1-100), scoredownD / scoreupD (scores moved by D/10 on the logit scale, 1-100), "
        "scaleP (boxes and image at P%% of their size, 10-400); "
        f"default: {' '.join(SHIFTS)}",
    )
    ap.add_argument("--sequences", nargs="+", default=list(SEQUENCES), help="default: all five")
    ap.add_argument("--trackers", nargs="+", help=f"BoxMOT trackers (default: {' '.join(MOTION)})")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random shifts, >= 0 (default 0)")
    ap.add_argument("--no-original", action="store_true", help="skip the unshifted sequences")
    ap.add_argument(
        "--online",
        action="store_true",
        help="what a live stream gets: no interpolation or smoothing for anyone, mctrack with its online rules "
        "(peers_mot15.ONLINE; --grid settings go on top)",
    )
    ap.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="mctrack setting to compare across the conditions (repeatable: every combination is run; tracker keyword "
        "arguments and benchmarks/mot15.py's offline keys); BoxMOT runs only with an explicit --trackers",
    )
    ap.add_argument("--json", help="also write every tracker's combined metrics per condition here (unrounded)")
    args = ap.parse_args(argv)
    grid = parse_grid(args.grid)
    combos = [dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())] or [{}]
    pointless = sorted(set(grid) & NOT_HERE)
    if pointless:
        print(
            f"--grid {pointless[0]}: the shifted copies are tracked motion only, without images: "
            "appearance and camera-motion settings change nothing here",
            file=sys.stderr,
        )
        return 1
    for combo in combos:  # every setting checked before anything runs
        check_settings({"interpolate": 10, "smooth": 2.0, **combo}, "none")
    try:
        shifts = list(dict.fromkeys(shift_name(s) for s in args.shifts))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.seed < 0:
        print(f"--seed {args.seed}: must be >= 0", file=sys.stderr)
        return 1
    data, work = Path(args.data), Path(args.work)
    if not data.is_dir():
        print(f"--data {data}: no such folder", file=sys.stderr)
        return 1
    bad = [s for s in args.sequences if Path(s).name != s or s in (".", "..")]
    if bad:
        print(f"--sequences {' '.join(bad)}: give sequence names (folders of --data), not paths", file=sys.stderr)
        return 1
    seqs = list(dict.fromkeys(args.sequences))
    missing = [
        s for s in seqs if not all((data / s / f).is_file() for f in ("seqinfo.ini", "det/det.txt", "gt/gt.txt"))
    ]
    if missing:
        print(
            f"{data}: no MOT15 sequence {', '.join(missing)} there (seqinfo.ini, det/det.txt and gt/gt.txt)",
            file=sys.stderr,
        )
        return 1
    if work.exists() and not work.is_dir():
        print(f"--work {work}: a file is there, not a folder", file=sys.stderr)
        return 1
    clash = [s for s in shifts if (work / "sequences" / s).resolve() == data.resolve()]
    if clash:
        print(
            f"--data {data}: is where the {clash[0]} copies are written (--work {work}); use the originals",
            file=sys.stderr,
        )
        return 1
    try:  # writable, before the first condition is tracked
        output_folder("--work", work)
        json_out = output_file("--json", args.json) if args.json else None
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 1
    names: list[str] = []
    if args.trackers or not grid:  # with --grid the settings are the comparison: peers only when asked for
        try:
            import boxmot

            available = sorted(n for n in dir(boxmot) if n[:1].isupper() and inspect.isclass(getattr(boxmot, n)))
            names = tracker_names(args.trackers or list(MOTION), available)
        except ImportError:
            if args.trackers:
                print(
                    "--trackers: BoxMOT is not installed (pip install --no-deps boxmot==25.0.0 rich)", file=sys.stderr
                )
                return 1
            print("BoxMOT is not installed (pip install --no-deps boxmot==25.0.0 rich): mctrack only", file=sys.stderr)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1

    conditions = ([] if args.no_original else ["original"]) + shifts
    labels = [" ".join(["mctrack", *(f"{k}={v}" for k, v in combo.items())]) for combo in combos]
    # tracker -> condition -> COMBINED metrics; mctrack's settings first, the peers after them
    results: dict[str, dict[str, dict]] = {label: {} for label in labels}
    failed_any = False
    for cond in conditions:
        if cond == "original":
            folder = data
        else:
            folder = work / "sequences" / cond
            for seq in seqs:
                make_shifted(data / seq, cond, folder / seq, args.seed)
        print(f"{cond}: tracking ...", flush=True)
        for i, (combo, label) in enumerate(zip(combos, labels, strict=True)):
            peers = names if i == 0 else []  # the peers once per condition
            # online: nobody refined, mctrack with its live rules (the grid's settings on top)
            run = {"settings": combo}
            if args.online:
                run = {"interpolate": 0, "smooth": 0.0, "settings": {**ONLINE, **combo}}
            results_dir = work / ("results_online" if args.online else "results") / cond
            table, failed = compare(folder, seqs, peers, results_dir, label=label, **run)
            failed_any |= bool(failed)
            for name, m, _ in table:
                results.setdefault(name, {})[cond] = m["COMBINED"]

    keys = ("HOTA", "IDF1", "MOTA")
    means = {
        name: {k: float(np.mean([by_cond[c][k] for c in conditions])) for k in keys}
        for name, by_cond in results.items()
        if all(c in by_cond for c in conditions)
    }
    width = max(12, *(len(n) + 2 for n in results))
    print(
        f"\nseed {args.seed}; sequences {', '.join(seqs)}; "
        + (
            "online: no interpolation or smoothing for anyone, mctrack with its online rules"
            if args.online
            else "interpolation 10, smoothing 2 for every tracker"
        )
        + (" (mctrack's unless the grid sets them)" if {"interpolate", "smooth"} & set(grid) else "")
    )
    print(
        "combined HOTA / IDF1 / MOTA per condition"
        + (", and their mean over the conditions" if len(conditions) > 1 else "")
    )
    extra = ["mean"] if len(conditions) > 1 else []
    print(f"{'tracker':<{width}}" + "".join(f"{c:>22}" for c in conditions + extra))

    def cell(m: dict | None) -> str:
        return " / ".join(f"{100 * m[k]:.1f}" for k in keys) if m else "failed"

    for name, by_cond in results.items():
        cells = [cell(by_cond.get(c)) for c in conditions] + ([cell(means.get(name))] if extra else [])
        print(f"{name:<{width}}" + "".join(f"{x:>22}" for x in cells))
    if grid:
        ranked = [n for n in labels if n in means]
        if ranked:
            ranked.sort(key=lambda n: -means[n]["HOTA"])
            best = ranked[0]
            line = f"highest mean HOTA over the conditions: {best} ({100 * means[best]['HOTA']:.2f}"
            if len(ranked) > 1:
                gap = 100 * (means[best]["HOTA"] - means[ranked[1]]["HOTA"])
                line += f", {gap:.2f} ahead of {ranked[1]}"
            print(line + ")")
    elif "mctrack" in results and len(results) > 1:
        print("mctrack minus the best peer in each metric:")
        cells = []
        for c in conditions:
            peers = [r[c] for n, r in results.items() if n != "mctrack" and c in r]
            mine = results["mctrack"].get(c)
            if not peers or mine is None:
                cells.append("-")
                continue
            d = [100 * (mine[k] - max(p[k] for p in peers)) for k in keys]
            cells.append(" / ".join(f"{x:+.1f}" for x in d))
        print(f"{'':<{width}}" + "".join(f"{x:>22}" for x in cells))
    if args.json:
        summary = {
            "seed": args.seed,
            "sequences": seqs,
            "conditions": conditions,
            "combined": {n: {c: {k: float(m[k]) for k in keys} for c, m in r.items()} for n, r in results.items()},
            "mean": means,
        }
        json_out.write_text(json.dumps(summary, indent=1))
    return 1 if failed_any else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (InputError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
