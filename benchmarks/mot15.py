"""Reproduce the MOT15 results table: the project's tracker on the public detections of the five sequences in
``../shared/data/mot15``, evaluated with TrackEval's definitions (MOT15 protocol).

Usage (from the project root)::

    python benchmarks/mot15.py                          # motion-only, all five sequences
    python benchmarks/mot15.py --reid colorhist         # with appearance, on the sequences that have video
    python benchmarks/mot15.py --set max_lost_s=2 --interpolate 0

Results go to ``--out`` (default ``runs/mot15/<reid>``) as ``<sequence>.txt`` plus ``metrics.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.detect import MotFileDetector  # noqa: E402
from mctrack.embed import build_embedder  # noqa: E402
from mctrack.eval.mot import evaluate_folders, format_table, write_json  # noqa: E402
from mctrack.io.mot import mot_rows, save_mot_txt  # noqa: E402
from mctrack.io.video import SequenceSource  # noqa: E402
from mctrack.track import Tracker  # noqa: E402
from mctrack.track.postprocess import interpolate_gaps  # noqa: E402
from mctrack.track.run import track_frames  # noqa: E402

SEQUENCES = ("ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Stadtmitte")
WITH_VIDEO = ("PETS09-S2L1", "TUD-Stadtmitte")


def parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def run_sequence(seq_dir: Path, *, reid: str = "none", interpolate: int = 0, min_score: float = -np.inf,
                 **tracker_kwargs) -> np.ndarray:
    """MOT result rows of one sequence tracked on its public detections."""
    embedder = build_embedder(reid)
    source = SequenceSource(seq_dir, need_images=embedder is not None)
    detector = MotFileDetector(seq_dir / "det" / "det.txt", min_score=min_score)
    tracker = Tracker(camera=source.name, frame_rate=source.fps, **tracker_kwargs)
    rows = []
    for frame, _, tracks in track_frames(source, detector, tracker, embedder=embedder, source_name=str(seq_dir)):
        rows.append(mot_rows(frame.index, tracks.track_id, tracks.xyxy, tracks.score))
    out = np.concatenate(rows) if rows else np.zeros((0, 10))
    return interpolate_gaps(out, interpolate) if interpolate else out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"), help="MOT15 folder")
    ap.add_argument("--out", help="results folder (default: runs/mot15/<reid>)")
    ap.add_argument("--reid", default="none", help="embedder: none (motion-only) or colorhist, laga, ...")
    ap.add_argument("--sequences", nargs="*", help="default: all five (with --reid: the two with video)")
    ap.add_argument("--interpolate", type=int, default=10,
                    help="fill track gaps of up to N frames offline by linear interpolation (0 = off; default 10)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="tracker keyword argument")
    ap.add_argument("--keep-zero-marked", action="store_true", help="also count GT rows with conf 0")
    ap.add_argument("--json", help="also write the metrics here")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not data.is_dir():
        print(f"{data}: MOT15 data not found", file=sys.stderr)
        return 1
    seqs = args.sequences or list(SEQUENCES if args.reid == "none" else WITH_VIDEO)
    kwargs = dict(kv.split("=", 1) for kv in args.set)
    kwargs = {k: parse_value(v) for k, v in kwargs.items()}
    out = Path(args.out or ROOT / "runs" / "mot15" / args.reid)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for seq in seqs:
        save_mot_txt(out / f"{seq}.txt", run_sequence(data / seq, reid=args.reid, interpolate=args.interpolate,
                                                      **kwargs))
    elapsed = time.perf_counter() - t0
    metrics = evaluate_folders(data, out, sequences=seqs, keep_zero_marked=args.keep_zero_marked)
    print(f"tracker settings: {kwargs or 'defaults'}; reid={args.reid}; interpolate={args.interpolate}; "
          f"{elapsed:.1f} s")
    print(format_table(metrics))
    write_json(args.json or out / "metrics.json", metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
