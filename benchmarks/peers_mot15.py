"""mctrack next to BoxMOT's trackers on the MOT15 sequences in ``../shared/data/mot15``: one table, same public
detections, same offline gap interpolation, same evaluation (TrackEval's definitions, MOT15 protocol).

    python benchmarks/peers_mot15.py                      # motion only, all five sequences
    python benchmarks/peers_mot15.py --reid laga          # appearance trackers on the two sequences with video;
                                                          # BoxMOT's get our embedder (mctrack.integrations.boxmot)

BoxMOT is an optional benchmark dependency, never a runtime one. Its full requirements would replace this
project's OpenCV, so install it without them: ``pip install --no-deps boxmot==25.0.0 rich``. Its motion trackers
run as constructed with their defaults (``frame_rate`` set to the sequence's); camera-motion compensation is off
for every tracker (three of the five sequences have no images here, and mctrack runs without it too) unless
``--cmc``: then every tracker that has it compensates (BoT-SORT and BoostTrack ``use_cmc``, Deep OC-SORT
``cmc_off=False``, their default methods; mctrack ``--cmc auto``, its refinements stabilised), e.g. on the
moving-camera sequences of ``benchmarks/moving_camera.py``:

    python benchmarks/peers_mot15.py --data runs/moving_camera/sequences --cmc \
        --sequences PETS09-S2L1-pan PETS09-S2L1-walk PETS09-S2L1-shake TUD-Stadtmitte-walk TUD-Stadtmitte-shake

BoT-SORT "motion only" is BoT-SORT with ``use_embeddings=False``.

``--online`` compares what a live stream gets: no offline refinement for anyone (no interpolation, no smoothing)
and mctrack with its online rules (``ONLINE``: confirmation at the second match, no backfill, no mean-score or
length judgement, as ``mctrack track`` on a live stream):

    python benchmarks/peers_mot15.py --online
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mot15 import POST_KEYS, SEQUENCES, WITH_VIDEO, make_embedder, post_settings, run_sequence  # noqa: E402

from mctrack.detect import MotFileDetector  # noqa: E402

#: mctrack's settings on a live stream, where nothing can be judged once tracking ended (``mctrack track`` on a
#: stream: min_hits 2, no backfill, the first detection's score only, no length judgement)
ONLINE = {"min_hits": 2, "backfill": False, "track_score": "first", "min_length_s": 0.0}
from mctrack.embed import embedder_link_thresh, tracker_appearance  # noqa: E402
from mctrack.errors import InputError  # noqa: E402
from mctrack.eval.mot import evaluate_folders  # noqa: E402
from mctrack.io.mot import mot_rows, save_mot_txt  # noqa: E402
from mctrack.io.video import SequenceSource  # noqa: E402
from mctrack.track.postprocess import refine  # noqa: E402

MOTION = ("ByteTrack", "OcSort", "BotSort", "BoostTrack", "HybridSort")
APPEARANCE = ("BotSort", "StrongSort", "DeepOcSort", "BoostTrack", "HybridSort")


def tracker_names(asked: list[str], available: list[str]) -> list[str]:
    """BoxMOT's class names for the ``--trackers`` names, matched without regard to case (``hybridsort`` ->
    ``HybridSort``); an unknown one is a :class:`ValueError` that lists the trackers there are."""
    by_lower = {n.lower(): n for n in available}
    unknown = [n for n in asked if n.lower() not in by_lower]
    if unknown:
        raise ValueError(f"--trackers {' '.join(unknown)}: not a BoxMOT tracker; choose from {', '.join(available)}")
    return list(dict.fromkeys(by_lower[n.lower()] for n in asked))  # each once, in the order asked


def boxmot_tracker(name: str, fps: float, reid=None, cmc: bool = False):
    """A BoxMOT tracker with its defaults, except: the sequence's frame rate, camera-motion compensation off
    (unless ``cmc``), appearance off (motion only) or our embedder as its Re-ID model."""
    import boxmot

    cls = getattr(boxmot, name)
    params = inspect.signature(cls.__init__).parameters
    wanted = {"frame_rate": int(round(fps)), "use_cmc": cmc, "cmc_off": not cmc}
    if reid is None:
        wanted.update({"use_embeddings": False, "with_reid": False})
    else:
        wanted.update({"reid_model": reid, "use_embeddings": True, "with_reid": True})
    # BoxMOT's own logger says an INFO banner per tracker made and, with camera-motion compensation, a warning
    # for every frame whose ECC did not converge: thousands of lines around the tables; errors stay
    quiet = logging.getLogger("boxmot")
    quiet.setLevel(logging.ERROR)
    tracker = cls(**{k: v for k, v in wanted.items() if k in params})
    quiet.setLevel(logging.ERROR)  # in case making the tracker set it up again
    return tracker


def run_boxmot(
    name: str, seq_dir: Path, *, reid=None, interpolate: int = 10, smooth: float = 0.0, cmc: bool = False
) -> np.ndarray:
    source = SequenceSource(seq_dir, need_images=reid is not None or cmc)
    det = MotFileDetector(seq_dir / "det" / "det.txt")
    tracker = boxmot_tracker(name, source.fps, reid, cmc)
    w, h = source.size or (1920, 1080)
    blank = np.zeros((h, w, 3), np.uint8)
    rows = []
    for frame in source:
        d = det.detections(frame.index)
        dets = np.concatenate([d.xyxy, d.score[:, None], np.zeros((len(d), 1))], axis=1).astype(np.float32)
        out = tracker.update(dets, frame.image if frame.image is not None else blank)
        out = np.asarray(out)
        if len(out):  # rows [x1, y1, x2, y2, id, score, ...]
            rows.append(mot_rows(frame.index, out[:, 4], out[:, :4], out[:, 5]))
    rows = np.concatenate(rows) if rows else np.zeros((0, 10))
    return refine(rows, source.fps, interpolate=interpolate, smooth=smooth)


class CachingEmbedder:
    """An embedder whose features are computed once per (frame, box) and shared by every tracker of the table (the
    frame is recognised by a fingerprint of its pixels; boxes to 0.01 px)."""

    def __init__(self, embedder) -> None:
        self.embedder, self.dim, self.name = embedder, embedder.dim, embedder.name
        self._cache: dict[tuple, np.ndarray] = {}

    def __call__(self, image, dets):
        import hashlib

        tag = hashlib.sha1(np.ascontiguousarray(image[::8, ::8]).tobytes()).hexdigest()
        keys = [(tag, *np.round(b, 2).tolist()) for b in np.asarray(dets.xyxy, np.float64)]
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            from mctrack.types import Detections

            sub = Detections(dets.xyxy[missing], dets.score[missing], dets.class_id[missing])
            for i, f in zip(missing, self.embedder(image, sub)):
                self._cache[keys[i]] = f
        return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)


def compare(
    data: Path,
    seqs: list[str],
    names: list[str],
    out: Path,
    *,
    embedder=None,
    reid=None,
    reid_name: str = "none",
    interpolate: int = 10,
    smooth: float = 2.0,
    stitch: float = 0.0,
    cmc: bool = False,
    settings: dict | None = None,
    label: str = "mctrack",
) -> tuple[list[tuple[str, dict, float]], list[str]]:
    """mctrack (its defaults, as ``mctrack track``, changed by ``settings``: tracker keyword arguments and
    ``mot15.POST_KEYS``) and the BoxMOT trackers ``names`` on sequences ``seqs`` of ``data``; results under
    ``out/<tracker>/`` (mctrack's under ``out/<label>/``, spaces as underscores). Returns ``([(tracker or label,
    TrackEval metrics by sequence and "COMBINED", seconds)], [trackers that failed])``; a tracker that fails is
    reported and left out."""
    table, failed = [], []
    settings = dict(settings or {})
    post_set = {k: settings.pop(k) for k in POST_KEYS if k in settings}
    for name in [label, *names]:
        folder = out / name.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        try:
            for seq in seqs:
                if name == label:
                    # every detection, as the peers embed (mctrack track: --embed needed)
                    kwargs = {"embed": "all", "cmc": "auto" if cmc else "off", **settings}
                    if embedder is not None:
                        kwargs.update(tracker_appearance(embedder.embedder, reid_name))
                    post = {"smooth": smooth, "stitch_s": stitch}
                    if embedder is not None:
                        post["stitch_appearance"] = embedder_link_thresh(embedder.embedder, reid_name)
                    post.update(post_set)
                    rows = run_sequence(data / seq, interpolate=interpolate, post=post, embedder=embedder, **kwargs)
                else:
                    rows = run_boxmot(name, data / seq, reid=reid, interpolate=interpolate, smooth=smooth, cmc=cmc)
                save_mot_txt(folder / f"{seq}.txt", rows)
        except Exception as exc:  # noqa: BLE001 - one peer failing must not hide the others
            print(f"{name}: failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            failed.append(name)
            continue
        m = evaluate_folders(data, folder, sequences=seqs)
        table.append((name, m, time.perf_counter() - t0))
    return table, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"))
    ap.add_argument("--reid", default="none", help="none (motion only) or an mctrack embedder for everyone")
    ap.add_argument("--trackers", nargs="+", help="BoxMOT trackers (default: its motion or appearance ones)")
    ap.add_argument("--interpolate", type=int, default=None, help="gap interpolation for every tracker (default 10)")
    ap.add_argument(
        "--smooth",
        type=float,
        default=None,
        help="Gaussian box smoothing (frames) for every tracker, as mctrack track does by default (0 = off; default 2)",
    )
    ap.add_argument(
        "--stitch",
        type=float,
        default=None,
        help="mctrack only (it needs mctrack's per-track features): stitching window in seconds (default: 4 with "
        "--reid, off without, as mctrack track)",
    )
    ap.add_argument("--sequences", nargs="*", help="default: all five (with --reid: the two with video)")
    ap.add_argument(
        "--cmc",
        action="store_true",
        help="camera-motion compensation for every tracker that has it (needs the sequences' images; default off)",
    )
    ap.add_argument(
        "--online",
        action="store_true",
        help="what a live stream gets: no interpolation or smoothing for anyone, mctrack with its online rules "
        "(confirmation at the second match, no backfill, no judgement once tracking ended); refused with "
        "--interpolate, --smooth or --stitch",
    )
    ap.add_argument("--out", default=str(ROOT / "runs" / "peers_mot15"))
    args = ap.parse_args(argv)
    if args.online:
        given = [f"--{k}" for k in ("interpolate", "smooth", "stitch") if getattr(args, k) is not None]
        if given:
            print(f"{given[0]}: an offline refinement, not for --online", file=sys.stderr)
            return 1
        args.interpolate, args.smooth, args.stitch = 0, 0.0, 0.0
    args.interpolate = 10 if args.interpolate is None else args.interpolate
    args.smooth = 2.0 if args.smooth is None else args.smooth
    try:
        import boxmot
    except ImportError:
        print("BoxMOT is not installed: pip install --no-deps boxmot==25.0.0 rich", file=sys.stderr)
        return 1
    stitch = args.stitch if args.stitch is not None else (4.0 if args.reid != "none" else 0.0)
    checks = (("--interpolate", "interpolate", args.interpolate), ("--smooth", "smooth", args.smooth))
    for flag, key, value in (*checks, ("--stitch", "stitch_s", stitch)):
        try:  # the numbers the refinements take, checked before anything runs
            post_settings({key: value}, 25.0)
        except ValueError as exc:
            print(f"{flag}: {str(exc).split(': ', 1)[1]}", file=sys.stderr)
            return 1
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"--out {args.out}: a file is there, not a folder", file=sys.stderr)
        return 1
    data = Path(args.data)
    seqs = args.sequences or list(SEQUENCES if args.reid == "none" else WITH_VIDEO)
    missing = [s for s in seqs if not (data / s / "seqinfo.ini").is_file()]
    if missing:
        print(f"{data}: no MOT15 sequence {', '.join(missing)} there (no seqinfo.ini)", file=sys.stderr)
        return 1
    available = sorted(n for n in dir(boxmot) if n[:1].isupper() and inspect.isclass(getattr(boxmot, n)))
    try:
        names = tracker_names(args.trackers or list(MOTION if args.reid == "none" else APPEARANCE), available)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    embedder = CachingEmbedder(make_embedder(args.reid)) if args.reid != "none" else None
    reid = None
    if embedder is not None:
        from mctrack.integrations.boxmot import BoxmotReID

        reid = BoxmotReID(embedder)
    table, failed = compare(
        data,
        seqs,
        names,
        Path(args.out) / (args.reid + ("_online" if args.online else "")),
        embedder=embedder,
        reid=reid,
        reid_name=args.reid,
        interpolate=args.interpolate,
        smooth=args.smooth,
        stitch=stitch,
        cmc=args.cmc,
        settings=ONLINE if args.online else None,
    )
    print(
        f"boxmot {boxmot.__version__}; reid {args.reid}; "
        + ("online: no refinement for anyone, mctrack's online rules; " if args.online else "")
        + f"interpolate {args.interpolate}; smooth {args.smooth} for all; "
        f"cmc {'on' if args.cmc else 'off'}; "
        f"sequences {', '.join(seqs)}"
    )
    short = {s: s.split("-")[0][:6] for s in seqs}
    head = f"{'tracker':<12}{'HOTA':>6}{'IDF1':>6}{'MOTA':>6}  " + "  ".join(f"{short[s]:>11}" for s in seqs)
    print(head + "   (per sequence: HOTA/IDF1)")
    for name, m, secs in table:
        c = m["COMBINED"]
        per = "  ".join(f"{100 * m[s]['HOTA']:5.1f}/{100 * m[s]['IDF1']:5.1f}" for s in seqs)
        print(f"{name:<12}{100 * c['HOTA']:6.1f}{100 * c['IDF1']:6.1f}{100 * c['MOTA']:6.1f}  {per}   {secs:.0f} s")
    if failed:
        print(f"not in the table (failed): {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (InputError, ValueError, OSError) as exc:  # e.g. an unknown --reid, an --out that cannot be made: one line
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
