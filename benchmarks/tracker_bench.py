"""Tracker-only speed: milliseconds per frame with N people in view (no detector, no embedder).

Synthetic scene: N walkers on straight lines with box jitter, 5% missed detections and a few false positives
per frame, all pre-generated so only ``Tracker.update`` is timed.

Usage: ``python benchmarks/tracker_bench.py [--tracks 50] [--frames 2000] [--dim 0] [--warp]`` (``--dim D`` adds
D-dimensional fake unit embeddings to time the appearance path as well; ``--warp`` gives the tracker a camera-motion
warp every frame, as camera-motion compensation does, to time moving its states; the warp's estimation from the
images is not included). After the tracker's time it prints that of the offline refinements of recorded
video (``mctrack track``'s defaults; see ``time_offline``), which run once when tracking has ended. Timings on a
shared machine vary by tens of percent from one minute to the next: ``--against COMMIT`` compares with the
tracker of an earlier commit of this repository in the same process, runs alternating, and prints both bests and
the median of the paired ratios, which stays put while the machine's speed drifts.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.io.mot import mot_rows  # noqa: E402
from mctrack.track import APPEARANCE_CENTRES, DETECTOR_THRESHOLDS, Tracker  # noqa: E402
from mctrack.track.postprocess import FeatureMeans, StitchConfig, refine  # noqa: E402
from mctrack.types import Detections  # noqa: E402


WARMUP = 50  # frames run before timing: tracks are born and confirmed
REFERENCE = "mctrack_reference"  # the package name an earlier commit's mctrack is imported under


def load_reference(commit: str, into: Path):
    """``(Tracker, Detections)`` of the mctrack package at ``commit`` of this repository, extracted under ``into``
    as the package ``mctrack_reference`` (the package imports itself relatively, so it runs beside this one)."""
    if commit.startswith("-"):
        raise SystemExit(f"error: --against {commit}: not a commit (a commit does not start with '-')")
    try:
        sha = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", sha, "mctrack"], check=True, capture_output=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        detail = (detail.decode() if isinstance(detail, bytes) else detail or "").strip()
        message = f"error: --against {commit}: not a commit of {ROOT}" + (f": {detail}" if detail else "")
        raise SystemExit(message) from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        try:
            tar.extractall(into, filter="data")
        except TypeError:  # a Python without extraction filters (before 3.10.12): our own archive, trusted
            tar.extractall(into)
    (into / "mctrack").rename(into / REFERENCE)
    sys.path.insert(0, str(into))
    for name in [m for m in sys.modules if m == REFERENCE or m.startswith(REFERENCE + ".")]:
        del sys.modules[name]  # an earlier call's commit
    try:
        track = importlib.import_module(f"{REFERENCE}.track")
        types = importlib.import_module(f"{REFERENCE}.types")
        return track.Tracker, types.Detections
    except (ImportError, AttributeError) as exc:  # a commit from before the tracker, or one that does not import
        raise SystemExit(f"error: --against {commit}: its mctrack has no usable tracker ({exc})") from None


def time_run(tracker_cls, scene, warp) -> tuple[float, float]:
    """Milliseconds per frame of one fresh tracker over ``scene`` after the warm-up frames, and the tracks it
    reported per frame."""
    tracker = tracker_cls(frame_rate=30)
    for dets, emb in scene[:WARMUP]:  # warm-up: tracks born and confirmed
        tracker.update(dets, emb)
    n_out = 0
    t0 = time.perf_counter()
    for dets, emb in scene[WARMUP:]:
        n_out += len(tracker.update(dets, emb, warp=warp))
    frames = len(scene) - WARMUP
    return (time.perf_counter() - t0) * 1e3 / frames, n_out / frames


def time_offline(scene, warp, repeats: int) -> tuple[float, int, int]:
    """Milliseconds of the offline refinements of recorded video over one tracked ``scene`` (best of ``repeats``),
    the frames they covered and the rows they gave. The settings are ``mctrack track``'s defaults: tracks reported
    from their first detection, judged by mean score (at a detector's new-track threshold, 0.6: the scene's scores
    are a detector's, 0.5-1.0) and by length (0.5 s), boxes smoothed (sigma 2 frames), no gap filling; with
    features (``--dim``) tracks stitched within 4 s on their mean features, as with an embedder; with ``warp`` the
    refinements run in stabilised coordinates, as after camera-motion compensation."""
    tracker = Tracker(frame_rate=30)
    rows, tentative, means, warps = [], [], FeatureMeans(), {}
    for i, (dets, emb) in enumerate(scene):
        w = None if i < WARMUP else warp
        if w is not None:
            warps[i] = w
        tracks = tracker.update(dets, emb, warp=w)
        rows.append(mot_rows(i, tracks.track_id, tracks.xyxy, tracks.score))
        t = tracker.tentative()
        tentative.append(mot_rows(i, t.track_id, t.xyxy, t.score))
        if emb is not None:
            means.add(tracks.track_id, emb[tracks.det_index])
    rows_all, tent_all, features = np.concatenate(rows), np.concatenate(tentative), means.means()
    best, out = np.inf, rows_all
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = refine(
            rows_all,
            30.0,
            stitch=StitchConfig.window(4.0, 30.0) if features else None,
            features=features or None,
            smooth=2.0,
            warps=warps or None,
            tentative=tent_all,
            min_track_score=DETECTOR_THRESHOLDS["new_track_thresh"],
            min_track_s=0.5,
        )
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best, len(scene), len(out)


def make_scene(n_tracks: int, n_frames: int, dim: int, seed: int = 0) -> list[tuple[Detections, np.ndarray | None]]:
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 0], [1800, 900], (n_tracks, 2))
    vel = rng.normal(0, 2.0, (n_tracks, 2))
    size = rng.uniform([30, 80], [80, 200], (n_tracks, 2))
    looks = rng.normal(size=(n_tracks, dim)) if dim else None
    frames = []
    for f in range(n_frames):
        xy = (start + f * vel) % [1800, 900]
        boxes = np.c_[xy, xy + size] + rng.normal(0, 1.5, (n_tracks, 4))
        seen = rng.random(n_tracks) > 0.05
        n_fp = rng.poisson(2)
        fp = rng.uniform(0, 1800, (n_fp, 2))
        boxes = np.r_[boxes[seen], np.c_[fp, fp + rng.uniform(30, 80, (n_fp, 2))]]
        scores = np.r_[rng.uniform(0.5, 1.0, seen.sum()), rng.uniform(0.1, 0.6, n_fp)]
        emb = None
        if dim:
            e = np.r_[looks[seen], rng.normal(size=(n_fp, dim))] + rng.normal(0, 0.3, (len(boxes), dim))
            emb = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)
        frames.append((Detections(boxes.astype(np.float32), scores.astype(np.float32)), emb))
    return frames


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Tracker-only milliseconds per frame.")
    ap.add_argument("--tracks", type=int, default=50, help="people in view (default: 50)")
    ap.add_argument(
        "--frames", type=int, default=2000, help=f"frames of the scene, the first {WARMUP} not timed (default: 2000)"
    )
    ap.add_argument("--dim", type=int, default=0, help="fake embedding dimension; 0 = motion-only (default)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs; the best is reported (default: 3)")
    ap.add_argument("--warp", action="store_true", help="pass a camera-motion warp (a small pan) every frame")
    ap.add_argument(
        "--centre",
        choices=APPEARANCE_CENTRES,
        default="none",
        help="with --dim: what the tracker centres the features on (scene: as for colour histograms; an --against "
        "commit's tracker too where it has the option, else it compares them as given, with a note)",
    )
    ap.add_argument(
        "--against",
        metavar="COMMIT",
        help="also time the tracker of this earlier commit, alternating runs in this process, and print the ratio",
    )
    args = ap.parse_args(argv)
    if args.frames <= WARMUP:
        ap.error(f"--frames: must be more than the {WARMUP} warm-up frames, got {args.frames}")
    for name in ("tracks", "dim"):
        if getattr(args, name) < 0:
            ap.error(f"--{name}: must be >= 0, got {getattr(args, name)}")
    if args.repeats < 1:
        ap.error(f"--repeats: must be >= 1, got {args.repeats}")
    if args.centre != "none" and not args.dim:
        ap.error("--centre: needs features (--dim D)")
    ours_cls = functools.partial(Tracker, appearance_centre=args.centre)
    scene = make_scene(args.tracks, args.frames, args.dim)
    # a slight pan and zoom, the size of a hand-held camera's frame-to-frame motion
    warp = np.array([[1.001, 0.0005, 0.8], [-0.0005, 1.001, -0.3]]) if args.warp else None
    label = f"{'motion-only' if not args.dim else f'{args.dim}-D appearance'}{', warped' if args.warp else ''}"
    label += ", centred on the scene" if args.centre == "scene" else ""
    if args.against:
        with tempfile.TemporaryDirectory() as tmp:
            ref_tracker, ref_dets = load_reference(args.against, Path(tmp))
            if args.centre != "none":
                if "appearance_centre" in inspect.signature(ref_tracker).parameters:
                    ref_tracker = functools.partial(ref_tracker, appearance_centre=args.centre)
                else:
                    print(
                        f"note: the tracker of {args.against} has no appearance_centre: it compares the features "
                        "as given",
                        file=sys.stderr,
                    )
            ref_scene = [(ref_dets(d.xyxy, d.score), e) for d, e in scene]
            ours, theirs = [], []
            for i in range(args.repeats):
                # each pair in turn starts with the other version, so that neither is always timed first
                if i % 2:
                    ours.append(time_run(ours_cls, scene, warp)[0])
                theirs.append(time_run(ref_tracker, ref_scene, warp)[0])
                if not i % 2:
                    ours.append(time_run(ours_cls, scene, warp)[0])
        ratio = float(np.median(np.array(ours) / np.array(theirs)))
        print(
            f"tracker-only, {args.tracks} tracks, {label}: this tree {min(ours):.3f} ms/frame, {args.against} "
            f"{min(theirs):.3f} ms/frame (bests of {args.repeats}); median paired ratio {ratio:.2f}"
        )
        return 0
    runs = [time_run(ours_cls, scene, warp) for _ in range(args.repeats)]
    best = min(ms for ms, _ in runs)
    print(
        f"tracker-only: {best:.3f} ms/frame with {args.tracks} tracks ({label}; "
        f"{runs[-1][1]:.1f} reported per frame; best of {args.repeats})"
    )
    offline_ms, n_frames, n_rows = time_offline(scene, warp, args.repeats)
    print(
        f"offline refinements of recorded video, once after tracking: {offline_ms:.1f} ms for the {n_frames} frames "
        f"({offline_ms / n_frames:.3f} ms/frame, {n_rows} rows; best of {args.repeats})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
