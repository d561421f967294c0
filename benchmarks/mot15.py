"""Reproduce the MOT15 results table: the project's tracker on the public detections of the five sequences in
``../shared/data/mot15``, evaluated with TrackEval's definitions (MOT15 protocol).

Usage (from the project root)::

    python benchmarks/mot15.py                          # motion-only, all five sequences
    python benchmarks/mot15.py --reid colorhist         # with appearance, on the sequences that have video
    python benchmarks/mot15.py --set max_lost_s=2 --interpolate 0 --smooth 0
    python benchmarks/mot15.py --cmc off                # without camera-motion compensation (default: auto
                                                        # for sequences with images, as mctrack track)
    python benchmarks/mot15.py --reid laga --grid appearance_weight=0.25,0.5 --grid appearance_thresh=0.5,0.7

A network (``--reid laga|can|global``) uses ``--weights`` (a file or a bundled name; default: the network's
bundled checkpoint, as ``mctrack track`` does) and the tracker's per-embedder appearance defaults of ``mctrack
track`` unless ``--set``/``--grid`` override them. With ``--grid`` every combination is run (features are
computed once per sequence and reused) and one line per setting is printed: per-sequence and mean IDF1/HOTA.

Offline refinements (:mod:`mctrack.track.postprocess`) apply as in ``mctrack track``: ``--smooth`` (Gaussian box
smoothing, default 2 frames), ``--stitch`` (tracklet stitching, default 4 s with an embedder, off without) and
``--interpolate`` (gap filling, default 10 frames here but off in ``mctrack track``, whose ``--interpolate 10``
gives the same result file); tracks seen for less than 0.5 s are dropped (``min_length_s=0.5``) and, motion only, the
tracker confirms a track at its first match (``min_hits=1``), as ``mctrack track`` on recorded video (``--set
min_hits=2 --set min_length_s=0`` is the online rule). ``--grid`` and ``--set`` also take ``min_length_s`` and
the keys ``smooth``, ``smooth_max`` and ``smooth_tol`` (per-track smoothing strength,
:func:`mctrack.track.postprocess.adaptive_smooth`), ``stitch_s``, ``stitch_motion``, ``stitch_size``,
``stitch_appearance`` and ``interpolate`` (a tracker setting is run once, its refinements reuse the tracks).

``--protocol loso`` (with ``--grid``): leave one sequence out. For each sequence, the setting with the best
IDF1 + HOTA on the OTHER sequences is chosen and scored on it; the held-out results are evaluated together
(TrackEval's combined HOTA/IDF1/MOTA) and printed next to the "tuned" row (the single setting best on all
sequences, i.e. chosen on the data it is scored on). The gap between the two is how much of a result is fit.
``--select mean`` (default) ranks settings by the mean of the sequences' IDF1 + HOTA (every sequence weighs the
same); ``--select pooled`` by the pooled (TrackEval combined) IDF1 + HOTA of those sequences, the figure the
results are reported in (long, crowded sequences weigh more).

    python benchmarks/mot15.py --protocol loso --grid max_lost_s=1,1.5,2 --grid high_thresh=0.4,0.5,0.6

Results go to ``--out`` (default ``runs/mot15/<reid>``) as ``<sequence>.txt`` plus ``metrics.json``.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import itertools
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.commands._common import TORCH_EMBEDDERS  # noqa: E402
from mctrack.detect import MotFileDetector  # noqa: E402
from mctrack.errors import InputError  # noqa: E402
from mctrack.embed import build_embedder, embed_policy, embedder_link_thresh, tracker_appearance  # noqa: E402
from mctrack.eval.mot import combine, evaluate_folder_sequences, evaluate_folders, format_table, write_json  # noqa: E402
from mctrack.io.mot import mot_rows, save_mot_txt  # noqa: E402
from mctrack.io.video import SequenceSource, has_images  # noqa: E402
from mctrack.outputs import output_file, output_folder  # noqa: E402
from mctrack.track import APPEARANCE_CENTRES, CameraMotion, Tracker  # noqa: E402
from mctrack.track.postprocess import (  # noqa: E402
    RECORDED_MIN_HITS,
    RECORDED_MIN_TRACK_S,
    TRACK_SCORES,
    FeatureMeans,
    StitchConfig,
    refine,
)
from mctrack.track.driver import EMBED_POLICIES, EMBED_REFRESH_S, DetectAndEmbed, drive, refresh_frames  # noqa: E402
from mctrack.weights import default_weights, resolve_weights  # noqa: E402

SEQUENCES = ("ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "PETS09-S2L1", "TUD-Stadtmitte")
WITH_VIDEO = ("PETS09-S2L1", "TUD-Stadtmitte")


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@functools.cache
def setting_types() -> dict[str, object]:
    """What ``--set``/``--grid`` take: each key with the type of its value (``bool``, ``int``, ``float``, ``str``)
    or its tuple of choices: the tracker's keyword arguments (but those the script sets per sequence), the
    offline refinements' keys and the per-sequence run's."""
    types: dict[str, object] = {}
    for name, param in inspect.signature(Tracker.__init__).parameters.items():
        if param.kind is param.KEYWORD_ONLY and name not in ("camera", "frame_rate", "kalman"):
            types[name] = type(param.default)
    types["output_box"] = ("detection", "filtered")
    types["appearance_centre"] = APPEARANCE_CENTRES
    types.update({k: float for k in POST_KEYS}, interpolate=int, backfill=bool)
    types.update(cmc=("off", "on", "auto"), embed=tuple(EMBED_POLICIES), embed_refresh=float, min_score=float)
    types["track_score"] = TRACK_SCORES
    return types


def parse_setting(option: str, key: str, text: str):
    """The typed value of ``option KEY=...``'s ``text``; one error line (SystemExit) for an unknown key or a
    value of the wrong kind (``off`` for a number, ``maybe`` for a switch) instead of running with it."""
    types = setting_types()
    if key not in types:
        raise SystemExit(f"{option} {key}: not a setting here; known: {', '.join(sorted(types))}")
    kind, low = types[key], text.strip().lower()
    if isinstance(kind, tuple):
        if low not in kind:
            raise SystemExit(f"{option} {key}={text}: expected one of {', '.join(kind)}")
        return low
    if kind is bool:
        if low not in _TRUE + _FALSE:
            raise SystemExit(f"{option} {key}={text}: expected true or false")
        return low in _TRUE
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"{option} {key}={text}: expected a number") from None
    if kind is int:
        if not np.isfinite(value) or value != int(value):
            raise SystemExit(f"{option} {key}={text}: expected a whole number")
        return int(value)
    return value


class CachedEmbedder:
    """Wraps an embedder; the features of a (frame, boxes) pair are computed once and reused by later runs."""

    def __init__(self, embedder) -> None:
        self.embedder, self.dim, self.name = embedder, embedder.dim, embedder.name
        self._cache: dict[tuple, np.ndarray] = {}
        self.key: str = ""

    def __call__(self, image: np.ndarray, dets) -> np.ndarray:
        key = (self.key, image[::8, ::8].tobytes(), dets.xyxy.tobytes())  # the frame (subsampled) and its boxes
        if key not in self._cache:
            self._cache[key] = self.embedder(image, dets)
        return self._cache[key]


def make_embedder(reid: str, weights: str | None = None):
    """The embedder of ``reid`` with its checkpoint (``weights`` or the bundled default), or None."""
    if reid not in TORCH_EMBEDDERS:
        return build_embedder(reid)
    path = resolve_weights(weights, option="--weights") if weights else default_weights(reid)
    if path is None:
        raise SystemExit(f"--reid {reid}: no checkpoint bundled; pass --weights")
    return build_embedder(reid, weights=path)


POST_KEYS = (
    "backfill",
    "track_score",
    "min_length_s",
    "interpolate",
    "smooth",
    "smooth_max",
    "smooth_tol",
    "stitch_s",
    "stitch_motion",
    "stitch_size",
    "stitch_appearance",
)


_SUB_FRAME_SAID: set[tuple[float, float]] = set()  # (stitch_s, fps) pairs already warned about


def post_settings(settings: dict, fps: float) -> dict:
    """``refine`` keyword arguments from the offline keys of ``settings`` (``stitch_s``: most seconds between two
    tracklets joined, 0 = off; ``min_length_s``: least seconds a track is seen, default 0.5 as ``mctrack track
    --min-length``), but ``backfill`` (default on, as ``mctrack track``), which says whether the tracker's
    unconfirmed rows go to ``refine``, and ``track_score`` (default ``mean``, as ``mctrack track --track-score``),
    whether the tracker's new-track threshold also judges each track's mean score: see :func:`refine_tracked`."""
    min_length = settings.get("min_length_s", RECORDED_MIN_TRACK_S)
    if not (np.isfinite(min_length) and 0 <= min_length <= 3600):
        raise ValueError(f"min_length_s: must be in [0, 3600] seconds, got {min_length}")
    for key, top in (("stitch_s", 3600), ("smooth", 1000), ("smooth_max", 1000), ("interpolate", 10**6)):
        value = settings.get(key, 0)
        if not (np.isfinite(value) and 0 <= value <= top):
            raise ValueError(f"{key}: must be from 0 (off) to {top}, got {value}")
    stitch = None
    if settings.get("stitch_s", 0):
        fields = {"max_motion": "stitch_motion", "max_size": "stitch_size", "max_appearance": "stitch_appearance"}
        kw = {f: settings[k] for f, k in fields.items() if k in settings}
        stitch = StitchConfig.window(settings["stitch_s"], fps, **kw)
        if not stitch.max_gap and (settings["stitch_s"], fps) not in _SUB_FRAME_SAID:
            _SUB_FRAME_SAID.add((settings["stitch_s"], fps))
            print(
                f"warning: stitch_s={settings['stitch_s']:g} is under half a frame at {fps:g} fps: "
                "no tracks are joined",
                file=sys.stderr,
            )
    return {
        "backfill": bool(settings.get("backfill", True)),
        "track_score": settings.get("track_score", "mean"),
        "min_track_s": min_length,
        "stitch": stitch,
        "interpolate": int(settings.get("interpolate", 0)),
        "smooth": settings.get("smooth", 0),
        **{k: settings[k] for k in ("smooth_max", "smooth_tol") if k in settings},
    }


def embedder_defaults(embedder, reid: str) -> tuple[dict, dict]:
    """``(tracker keyword arguments, refinement settings)`` that ``mctrack track`` uses with this embedder: its
    appearance weight and threshold (the checkpoint's own first), what it centres features on and, for stitching, the
    linker's threshold."""
    if embedder is None:
        return {}, {}
    return tracker_appearance(embedder, reid), {"stitch_appearance": embedder_link_thresh(embedder, reid)}


class Tracked(NamedTuple):
    """``track_sequence``'s result: what the offline refinements (``refine_tracked``) need."""

    rows: np.ndarray  # raw MOT rows
    features: dict[int, np.ndarray] | None  # {track id: mean feature}
    fps: float
    warps: dict[int, np.ndarray]  # the camera-motion warps the tracker was given
    tentative: np.ndarray  # the tracker's unconfirmed rows, for backfill
    new_track_thresh: float  # the tracker's; with track_score "mean" also the least mean score of a kept track


def track_sequence(
    seq_dir: Path,
    *,
    reid: str = "none",
    min_score: float = -np.inf,
    embedder=None,
    cmc: str | None = "off",
    replay_warps: dict[int, np.ndarray] | None = None,
    embed: str = "all",
    embed_refresh: float = EMBED_REFRESH_S,
    **tracker_kwargs,
) -> Tracked:
    """One sequence tracked on its public detections (``cmc``: camera-motion compensation ``off``, ``on`` or ``auto``,
    needs the sequence's images; None: ``mctrack track``'s default, ``auto`` when the sequence has images, else
    ``off``. The warps it gave the tracker, ``{frame index: (2, 3)}``, are returned for ``refine``;
    ``replay_warps``, such a result of an earlier run of the same sequence, is given to the tracker instead of
    estimating again. ``embed``, ``embed_refresh``: which detections are embedded, as ``mctrack track
    --embed/--embed-refresh``). Motion only, the tracker's ``min_hits`` defaults to ``RECORDED_MIN_HITS``, as
    ``mctrack track``'s on recorded video."""
    embedder = embedder if embedder is not None else build_embedder(reid)
    if embedder is None:  # as mctrack track on recorded video: confirmed at once, judged once tracking ended
        tracker_kwargs = with_recorded_min_hits(tracker_kwargs, "none")
    if isinstance(embedder, CachedEmbedder):
        embedder.key = str(seq_dir)
    if cmc is None:
        cmc = "auto" if has_images(seq_dir) else "off"
    if replay_warps is not None:
        cmc = "off"
    source = SequenceSource(seq_dir, need_images=embedder is not None or cmc != "off")
    detector = MotFileDetector(seq_dir / "det" / "det.txt", min_score=min_score)
    tracker = Tracker(camera=source.name, frame_rate=source.fps, **tracker_kwargs)
    rows, tentative, means = [], [], FeatureMeans()
    refresh = refresh_frames(embed_refresh, source.fps)
    features = DetectAndEmbed(detector, embedder, detector_needs_images=False, embed=embed, refresh=refresh)
    motion = None if cmc == "off" else CameraMotion(auto=cmc == "auto")
    warps: dict[int, np.ndarray] = {}
    steps = drive(
        source,
        features,
        tracker,
        fps=source.fps,
        source_name=str(seq_dir),
        dim=features.dim,
        cmc=motion,
        record_warp=warps.__setitem__,
        replay_warp=replay_warps.get if replay_warps is not None else None,
        tentative=True,
    )
    for step in steps:
        rows.append(mot_rows(step.frame.index, step.tracks.track_id, step.tracks.xyxy, step.tracks.score))
        pending = step.tentative
        tentative.append(mot_rows(step.frame.index, pending.track_id, pending.xyxy, pending.score))
        means.add(step.tracks.track_id, step.track_embeddings)
    out = np.concatenate(rows) if rows else np.zeros((0, 10))
    feats = means.means() if embedder is not None else None
    pending_rows = np.concatenate(tentative) if tentative else np.zeros((0, 10))
    warps = warps if replay_warps is None else replay_warps
    return Tracked(out, feats, source.fps, warps, pending_rows, tracker.new_track_thresh)


def refine_tracked(tracked: Tracked, post: dict) -> np.ndarray:
    """The refined MOT rows of ``track_sequence``'s result ``tracked`` with the offline settings ``post``
    (POST_KEYS)."""
    settings = post_settings(post, tracked.fps)
    tentative = tracked.tentative if settings.pop("backfill") else None
    return refine(
        tracked.rows,
        tracked.fps,
        features=tracked.features,
        warps=tracked.warps,
        tentative=tentative,
        min_track_score=tracked.new_track_thresh if settings.pop("track_score") == "mean" else 0.0,
        **settings,
    )


def run_sequence(seq_dir: Path, *, interpolate: int = 0, post: dict | None = None, **kwargs) -> np.ndarray:
    """MOT result rows of one sequence: tracked (``track_sequence``) then refined offline (``post``: POST_KEYS)."""
    return refine_tracked(track_sequence(seq_dir, **kwargs), {"interpolate": interpolate, **(post or {})})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"), help="MOT15 folder")
    ap.add_argument("--out", help="results folder (default: runs/mot15/<reid>)")
    ap.add_argument("--reid", default="none", help="embedder: none (motion-only) or colorhist, laga, ...")
    ap.add_argument("--sequences", nargs="+", help="default: all five (with --reid: the two with video)")
    ap.add_argument(
        "--interpolate",
        type=int,
        default=10,
        help="fill track gaps of up to N frames offline by linear interpolation (0 = off; default 10)",
    )
    ap.add_argument(
        "--smooth",
        type=float,
        default=2.0,
        help="offline Gaussian box smoothing, sigma in frames (0 = off; default 2, as mctrack track)",
    )
    ap.add_argument(
        "--stitch",
        type=float,
        default=None,
        help="offline tracklet stitching window in seconds (0 = off; default 4 with --reid, off without, as "
        "mctrack track)",
    )
    ap.add_argument(
        "--cmc",
        choices=("off", "on", "auto"),
        default=None,
        help="camera-motion compensation (needs the sequences' images). Default: as mctrack track, auto for a "
        "sequence with images (its video or img1/), off for one with only det.txt; on the five here it changes "
        "nothing (the two with images are fixed cameras; benchmarks/moving_camera.py measures moving ones)",
    )
    ap.add_argument(
        "--embed",
        choices=EMBED_POLICIES,
        default=None,
        help="which detections are embedded (as mctrack track --embed; default: the embedder's own, as there)",
    )
    ap.add_argument("--weights", help="checkpoint of a network: file or bundled name (default: the bundled one)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="tracker keyword argument")
    ap.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="tracker keyword argument to sweep (repeatable: every combination is run)",
    )
    ap.add_argument(
        "--protocol",
        choices=("tuned", "loso"),
        default="tuned",
        help="with --grid: loso = choose on the other sequences, score on the held-out one",
    )
    ap.add_argument(
        "--select",
        choices=("mean", "pooled"),
        default="mean",
        help="how --grid ranks settings: mean of the sequences' IDF1 + HOTA (default) or their pooled IDF1 + HOTA",
    )
    ap.add_argument("--keep-zero-marked", action="store_true", help="also count GT rows with conf 0")
    ap.add_argument("--json", help="also write the metrics here")
    args = ap.parse_args(argv)
    if not args.grid and (args.protocol != "tuned" or args.select != "mean"):
        ap.error("--protocol loso and --select choose among --grid settings: give at least one --grid KEY=V1,V2")
    if args.protocol == "loso" and args.sequences is not None and len(args.sequences) < 2:
        ap.error("--protocol loso needs at least two sequences: one held out, the others to choose on")
    data = Path(args.data)
    if not data.is_dir():
        print(f"{data}: MOT15 data not found", file=sys.stderr)
        return 1
    # a trailing slash, as shell completion adds it to a folder name, is not a path
    seqs = [s.rstrip("/") or s for s in args.sequences] if args.sequences else None
    seqs = seqs or list(SEQUENCES if args.reid == "none" else WITH_VIDEO)
    check_sequences(data, seqs)
    if args.weights and args.reid not in TORCH_EMBEDDERS:
        raise SystemExit(
            f"--weights {args.weights}: only the networks take weights ({', '.join(TORCH_EMBEDDERS)}), "
            f"not --reid {args.reid}"
        )
    kwargs = {}
    for item in args.set:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise SystemExit(f"--set {item}: expected KEY=VALUE")
        if key in OWN_OPTION:
            raise SystemExit(f"--set {item}: use {OWN_OPTION[key]}, its own option (both would leave one ignored)")
        kwargs[key] = parse_setting("--set", key, text)
    grid = parse_grid(args.grid)
    both = sorted(set(kwargs) & set(grid))
    if both:
        raise SystemExit(f"--set {both[0]} and --grid {both[0]}: give it once (the grid's values would replace it)")
    kwargs.setdefault("cmc", args.cmc)
    kwargs.setdefault("embed", args.embed or embed_policy(args.reid))
    out = output_folder("--out", args.out or ROOT / "runs" / "mot15" / args.reid)
    json_out = output_file("--json", args.json) if args.json else None
    post = {"smooth": args.smooth, "stitch_s": args.stitch if args.stitch is not None else 4.0 * (args.reid != "none")}
    post.update({k: kwargs.pop(k) for k in POST_KEYS if k in kwargs})
    if "interpolate" in post:
        raise SystemExit("--set interpolate=N: use --interpolate N")
    embedder = make_embedder(args.reid, args.weights)
    track_defaults, post_defaults = embedder_defaults(embedder, args.reid)
    kwargs, post = {**track_defaults, **kwargs}, {**post_defaults, **post}
    if args.grid:
        kwargs = {**kwargs, **post}
        cached = CachedEmbedder(embedder) if embedder is not None else None
        return _sweep(args, data, seqs, kwargs, cached, out, grid, json_out)
    check_settings({"interpolate": args.interpolate, **kwargs, **post}, args.reid)
    t0 = time.perf_counter()
    for seq in seqs:
        save_mot_txt(
            out / f"{seq}.txt",
            run_sequence(
                data / seq, reid=args.reid, interpolate=args.interpolate, post=post, embedder=embedder, **kwargs
            ),
        )
    elapsed = time.perf_counter() - t0
    metrics = evaluate_folders(data, out, sequences=seqs, keep_zero_marked=args.keep_zero_marked)
    shown, offline = shown_settings(kwargs, post, args.reid)
    print(
        f"tracker settings: {shown}; reid={args.reid}"
        + (f" ({Path(embedder.weights).name})" if getattr(embedder, "weights", None) else "")
        + f"; interpolate={args.interpolate}; offline {offline}; {elapsed:.1f} s"
    )
    print(format_table(metrics))
    write_json(json_out or out / "metrics.json", metrics)
    return 0


#: ``--set`` keys that have their own option here (given both ways, one would be silently ignored)
OWN_OPTION = {"smooth": "--smooth", "stitch_s": "--stitch", "cmc": "--cmc", "embed": "--embed"}


def check_sequences(data: Path, seqs: list[str]) -> None:
    """Refuses, before anything runs, sequence names that are paths, repeated or not folders of ``data``."""
    bad = [s for s in seqs if Path(s).name != s or s in (".", "..")]
    if bad:
        raise SystemExit(f"--sequences {' '.join(bad)}: give sequence names (folders of --data), not paths")
    if len(set(seqs)) < len(seqs):
        raise SystemExit(f"--sequences {' '.join(seqs)}: a sequence is given twice")
    missing = [s for s in seqs if not (data / s / "seqinfo.ini").is_file() or not (data / s / "det").is_dir()]
    if missing:
        raise SystemExit(f"--data {data}: no MOT15 sequence {', '.join(missing)} there (seqinfo.ini and det/)")


def parse_grid(items: list[str]) -> dict[str, list]:
    """``{key: [typed values]}`` of the ``--grid KEY=V1,V2`` options (one error line for a bad one)."""
    grid = {}
    for item in items:
        key, eq, values = item.partition("=")
        if not eq or not key or not [v for v in values.split(",") if v]:
            raise SystemExit(f"--grid {item}: expected KEY=V1,V2,... with at least one value")
        if key in ("min_score", "embed", "embed_refresh"):
            raise SystemExit(f"--grid {item}: only tracker keyword arguments and {', '.join(POST_KEYS)} can be swept")
        if key in grid:
            raise SystemExit(f"--grid {key}: given twice; put every value in one --grid {key}=V1,V2,...")
        grid[key] = [parse_setting("--grid", key, v) for v in values.split(",") if v]
        if len(set(grid[key])) < len(grid[key]):
            raise SystemExit(f"--grid {item}: a value is given twice")
    return grid


def with_recorded_min_hits(kwargs: dict, reid: str) -> dict:
    """``kwargs`` with ``mctrack track``'s ``min_hits`` for recorded video motion only (``RECORDED_MIN_HITS``)
    unless they set it; with an embedder, as they are."""
    return {"min_hits": RECORDED_MIN_HITS, **kwargs} if reid == "none" else dict(kwargs)


def check_settings(settings: dict, reid: str) -> None:
    """Refuses, before anything runs, a combination of tracker and offline settings that the tracker or a
    refinement would refuse later (ValueError naming the key)."""
    params = inspect.signature(Tracker.__init__).parameters
    tracker = with_recorded_min_hits(
        {k: v for k, v in settings.items() if k in params and k not in ("camera", "frame_rate")}, reid
    )
    Tracker(camera="check", frame_rate=25.0, **tracker)
    post_settings({k: settings[k] for k in POST_KEYS if k in settings}, 25.0)


def shown_settings(kwargs: dict, post: dict, reid: str) -> tuple[dict, dict]:
    """The tracker and offline settings a run uses, defaults included (as printed and recorded)."""
    tracker = with_recorded_min_hits({**kwargs, "cmc": kwargs.get("cmc") or "auto where there are images"}, reid)
    tracker.setdefault("min_hits", Tracker.__init__.__kwdefaults__["min_hits"])
    offline = {"backfill": True, "track_score": "mean", "min_length_s": RECORDED_MIN_TRACK_S, **post}
    return tracker, offline


def _sweep(
    args: argparse.Namespace,
    data: Path,
    seqs: list[str],
    base: dict,
    embedder,
    out: Path,
    grid: dict[str, list],
    json_out: Path | None = None,
) -> int:
    for combo in itertools.product(*grid.values()):  # every combination checked before the first one runs
        check_settings({"interpolate": args.interpolate, **base, **dict(zip(grid, combo, strict=True))}, args.reid)
    rows = []
    raw_of: list[dict] = []  # per row: {sequence: evaluate_sequence's result}, for pooling any subset
    tracked: dict[tuple, tuple] = {}  # (tracker settings, sequence) -> track_sequence's result, reused by refinements
    warps_of: dict[tuple, dict] = {}  # (sequence, cmc) -> the warps its first run gave the tracker
    for combo in itertools.product(*grid.values()):
        settings = dict(zip(grid, combo, strict=True))
        merged = {"interpolate": args.interpolate, **base, **settings}
        post = {k: merged.pop(k) for k in POST_KEYS if k in merged}
        run_out = _run_dir(out, settings)
        run_out.mkdir(parents=True, exist_ok=True)
        for seq in seqs:
            key = (tuple(sorted(merged.items())), seq)
            if key not in tracked:
                # a sequence's camera warps do not depend on the tracker's settings: estimated once, then replayed
                wkey = (seq, merged.get("cmc"))
                tracked[key] = track_sequence(
                    data / seq, reid=args.reid, embedder=embedder, **merged, replay_warps=warps_of.get(wkey)
                )
                warps_of[wkey] = tracked[key].warps
            save_mot_txt(run_out / f"{seq}.txt", refine_tracked(tracked[key], post))
        results = evaluate_folder_sequences(data, run_out, sequences=seqs, keep_zero_marked=args.keep_zero_marked)
        per_seq = {s: {k: round(100 * results[s]["summary"][k], 1) for k in ("IDF1", "HOTA", "MOTA")} for s in seqs}
        mean = {k: round(float(np.mean([per_seq[s][k] for s in seqs])), 1) for k in ("IDF1", "HOTA", "MOTA")}
        pooled = combine(list(results.values()))["summary"]
        rows.append(
            {
                "settings": settings,
                "sequences": per_seq,
                "mean": mean,
                "pooled": {k: round(100 * pooled[k], 1) for k in ("IDF1", "HOTA", "MOTA")},
            }
        )
        raw_of.append(results)
        print(
            "  ".join(f"{k}={v}" for k, v in settings.items())
            + " | "
            + "  ".join(f"{s}: IDF1 {m['IDF1']} HOTA {m['HOTA']}" for s, m in per_seq.items())
            + f" | mean IDF1 {mean['IDF1']} HOTA {mean['HOTA']}",
            flush=True,
        )
    key = args.select
    best = rows[_choose(args.select, raw_of, seqs)]
    print(f"best {key} IDF1+HOTA: {best['settings']} -> {best[key]}")
    tracker, offline = shown_settings({k: v for k, v in base.items() if k not in POST_KEYS}, {}, args.reid)
    offline.update({k: v for k, v in base.items() if k in POST_KEYS}, interpolate=args.interpolate)
    fixed = {k: v for k, v in {**tracker, **offline}.items() if k not in grid}  # what every row shares
    result = {"reid": args.reid, "weights": args.weights, "base": fixed, "rows": rows}
    if args.protocol == "loso":
        result["loso"] = _loso(args, data, seqs, rows, raw_of, out)
    text = json.dumps(result, indent=1, default=str)
    for path in (out / "sweep.json", *([json_out] if json_out else [])):
        path.write_text(text)
    return 0


def _score(select: str, results: dict, on: list[str]) -> float:
    """IDF1 + HOTA (unrounded, in percent) of one sweep row's per-sequence ``results`` over the sequences ``on``:
    of their pooled metrics (``select`` "pooled") or the mean of each sequence's ("mean")."""
    if select == "pooled":
        pooled = combine([results[s] for s in on])["summary"]
        return 100 * (pooled["IDF1"] + pooled["HOTA"])
    return float(np.mean([100 * (results[s]["summary"]["IDF1"] + results[s]["summary"]["HOTA"]) for s in on]))


def _choose(select: str, raw_of: list[dict], on: list[str]) -> int:
    """Index of the sweep row with the highest IDF1 + HOTA over the sequences ``on`` (:func:`_score`), ranked on
    the unrounded metrics: two settings 0.04 apart tie on the printed values; the first row wins a true tie."""
    return max(range(len(raw_of)), key=lambda i: _score(select, raw_of[i], on))


def _run_dir(out: Path, settings: dict) -> Path:
    return out / "_".join(f"{k}={v}" for k, v in settings.items())


def _loso(
    args: argparse.Namespace, data: Path, seqs: list[str], rows: list[dict], raw_of: list[dict], out: Path
) -> dict:
    """Leave-one-sequence-out selection over the sweep's rows (``raw_of[i]``: row i's per-sequence evaluation, for
    ``--select pooled``); writes out/loso and out/tuned and evaluates both."""
    import shutil

    if len(seqs) < 2:
        raise SystemExit("--protocol loso needs at least two sequences")

    chosen = {held: rows[_choose(args.select, raw_of, [s for s in seqs if s != held])]["settings"] for held in seqs}
    tuned = rows[_choose(args.select, raw_of, seqs)]["settings"]
    tables = {}
    for name, pick in (("loso", chosen), ("tuned", {s: tuned for s in seqs})):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for seq in seqs:
            shutil.copyfile(_run_dir(out, pick[seq]) / f"{seq}.txt", folder / f"{seq}.txt")
        metrics = evaluate_folders(data, folder, sequences=seqs, keep_zero_marked=args.keep_zero_marked)
        tables[name] = {
            s: {k: round(100 * metrics[s][k], 1) for k in ("HOTA", "IDF1", "MOTA")} for s in [*seqs, "COMBINED"]
        }
    print("leave-one-sequence-out (each sequence scored with the setting chosen on the others):")
    for seq in seqs:
        print(
            f"  {seq:<16} chosen {chosen[seq]}: HOTA {tables['loso'][seq]['HOTA']} IDF1 {tables['loso'][seq]['IDF1']}"
            f" (tuned on all: HOTA {tables['tuned'][seq]['HOTA']} IDF1 {tables['tuned'][seq]['IDF1']})"
        )
    for name in ("tuned", "loso"):
        c = tables[name]["COMBINED"]
        print(
            f"  {name:<6} combined: HOTA {c['HOTA']} / IDF1 {c['IDF1']} / MOTA {c['MOTA']}"
            + (f"  (one setting for all: {tuned})" if name == "tuned" else "")
        )
    return {"chosen": chosen, "tuned_setting": tuned, "metrics": tables}


if __name__ == "__main__":
    try:
        sys.exit(main())
    # a sequence that cannot be read, or a --set/--grid value the tracker or a refinement refuses: one line
    except (InputError, ValueError, OSError) as exc:  # OSError: --out or --json where no file can be written
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
