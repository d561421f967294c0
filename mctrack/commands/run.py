"""``mctrack run``: the whole multi-camera pipeline on a camera set."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
from pathlib import Path

import numpy as np

from ..signals import interrupt_exit_code
from ..config import CameraConfig, is_live_source, load_cams
from ..detect import build_detector
from ..embed import embedder_link_thresh
from ..errors import InputError
from ..io.video import has_images
from ..outputs import check_output_folder
from ..eval.multicam import format_multicam
from ..cache import feature_cache_key, file_sha1
from ..parallel import auto_workers, keep_torch_single_threaded
from ..link import LinkConstraints, load_ground_homography
from ..pipeline import Pipeline, constraints_from_cams
from ..registry import DETECTORS, LINKERS
from ..track import DETECTOR_THRESHOLDS, CameraMotion, Tracker
from ..track.postprocess import StitchConfig
from reid_models.provenance import provenance
from ._common import (
    weights_record,
    warn_if_stitching_on_motion_alone,
    add_confirmation_args,
    check_confirmation_args,
    check_stream_args,
    warn_if_nothing_started,
    resolve_embed_policy,
    add_backfill_arg,
    add_cmc_arg,
    add_track_score_arg,
    add_kalman_adapt_args,
    add_embed_policy_args,
    TORCH_EMBEDDERS,
    defaults_text,
    add_appearance_args,
    add_embedder_args,
    link_thresh,
    add_yolo_args,
    appearance_from_args,
    embedder_from_args,
    features_record,
    yolo_from_args,
)

__all__ = ["register", "main"]

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="track people across all cameras of a cams.yaml",
        description="Detect, embed and track every camera of a cams.yaml, link the tracklets into "
        "global identities and write per-camera MOT files with global ids, "
        "identities.csv, annotated videos, gallery.jpg (each identity's clearest crop per camera), "
        "aicity.txt (all cameras in one file), summary.json and (with ground truth) eval.json.",
    )
    p.add_argument("--cams", required=True, help="camera-set file (cams.yaml)")
    p.add_argument(
        "--detector",
        default="yolo",
        help="yolo, or mot (each camera's 'detections' file from cams.yaml) (default: yolo)",
    )
    p.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="yolo: confidence threshold (default: 0.1); mot: ignore detections scoring below this (default: "
        "none; the tracker itself uses no row scoring below 0.1, or below --track-high where that is lower)",
    )
    add_yolo_args(p)
    add_embedder_args(p, default="laga")
    add_embed_policy_args(p)
    t = p.add_argument_group("tracker")
    t.add_argument(
        "--track-high",
        type=float,
        default=None,
        help="detections scoring at least this start tracks and enter the main association (default: a camera's "
        f"own track_high in cams.yaml, else {DETECTOR_THRESHOLDS['high_thresh']}, for a detector's scores)",
    )
    t.add_argument(
        "--track-new",
        type=float,
        default=None,
        help="score an unmatched detection needs to start a track, raised to --track-high when lower, and for "
        "recorded cameras the mean score a track needs to be kept (--track-score) (default: a camera's own "
        f"track_new in cams.yaml, else {DETECTOR_THRESHOLDS['new_track_thresh']})",
    )
    t.add_argument("--max-lost", type=float, default=None, help="seconds a lost track is kept (tracker default)")
    add_kalman_adapt_args(t)
    add_cmc_arg(t, "default: auto when the frames can be had: decoded anyway, or every camera has images; else off")
    t.add_argument(
        "--smooth",
        type=float,
        default=None,
        metavar="SIGMA",
        help="recorded cameras: smooth each camera's boxes over time once it finished (SIGMA frames; 0 = off; "
        "not with live cameras or --linker online) (default: 2)",
    )
    t.add_argument(
        "--stitch",
        type=float,
        default=None,
        metavar="SECONDS",
        help="recorded cameras: join each camera's tracklets up to SECONDS apart (motion, size and appearance "
        "within the embedder's own link threshold, not --link-thresh) before the cross-camera linking (rounded to "
        "whole frames at each camera's rate; 0 = off; "
        "not with live cameras or --linker online) (default: 4 with an embedder, off without)",
    )
    add_backfill_arg(t, "recorded cameras, not with live cameras or --linker online")
    add_track_score_arg(t)
    add_confirmation_args(
        t,
        "recorded cameras, not with live cameras or --linker online",
        "default: 2, so that a false positive seen once never becomes a track; mctrack track confirms at once on "
        "a detection file (--detector mot) without an embedder, which on the synthetic scenes with --track-new 0.6 "
        "costs 2.8 IDF1",
    )
    add_appearance_args(t)
    k = p.add_argument_group("linker")
    k.add_argument(
        "--linker",
        default="offline",
        help="offline (clustering after all cameras) or online (ids as tracklets mature) (default: offline)",
    )
    k.add_argument(
        "--link-thresh",
        type=float,
        default=None,
        help="largest cosine distance that still links (default: the checkpoint's extra.link_thresh "
        "when it has one (laga_market1501: 0.2, global_market1501: 0.3, can_market1501: 0.1), else per embedder: "
        + defaults_text(link_thresh)
        + ")",
    )
    k.add_argument(
        "--linkage",
        default="average",
        choices=("average", "complete"),
        help="cluster distance: average or complete (default: average)",
    )
    k.add_argument(
        "--min-len",
        type=int,
        default=None,
        help="online: frames before a tracklet gets its global id (default: 20); offline: shorter "
        "tracklets are not linked (default: 3)",
    )
    k.add_argument(
        "--max-ground-dist",
        type=float,
        default=None,
        help="metres: calibrated views seeing two tracklets at once farther apart than this never "
        f"link them (default: {LinkConstraints.max_ground_dist})",
    )
    k.add_argument(
        "--gallery-age",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="online: a finished tracklet stays comparable this long after it ended; a person away "
        "longer gets a new id (bounds a live run's memory; default 600)",
    )
    k.add_argument(
        "--no-calibration",
        action="store_true",
        help="ignore the cameras' calibration files (no ground-plane agreement, no world positions in aicity.txt)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop every camera after this many seconds of its stream (live streams run until Ctrl-C, "
        "the stream is lost, or this)",
    )
    p.add_argument(
        "--reconnect-for",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a live stream without frames is reconnected for this long before it counts as lost (default: until it "
        "returns, so a camera that reboots comes back; each outage is logged and summary.json counts reconnects and "
        "outage_s per camera; with --engine ray 10 s, as Ray streams the cameras' steps in turn and a camera without "
        "frames holds the others up)",
    )
    p.add_argument(
        "--record-segment",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="a live camera's recording (OUT/recordings/, from which its annotated video is made) starts a new file "
        "every MINUTES of capture time, named after its start (default: 60; 0 = one file per run)",
    )
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not record live cameras (no OUT/recordings/, so no annotated video of them either)",
    )
    p.add_argument(
        "--workers",
        type=_workers_arg,
        default="auto",
        metavar="N|auto",
        help="recorded cameras processed N at a time, each in its own process, or with --worker-threads (the "
        "default when the embedder is on a GPU) as threads of one process (same outputs as 1; live cameras and "
        "--linker online run in one process: see --engine ray). Default auto: one per CPU core, at most one per "
        "camera and 8",
    )
    p.add_argument(
        "--worker-threads",
        action="store_true",
        default=None,
        help="run the --workers cameras as threads of one process sharing one embedder, which embeds the crops "
        "of all cameras at the same time in one call (the default when the embedder is on a GPU, which forked "
        "processes cannot share; raise --batch-size to make that call one forward)",
    )
    e = p.add_argument_group("engine")
    e.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this machine (--workers processes); ray: one Ray task per camera on a Ray cluster "
        '(pip install -e ".[ray]"); with live cameras or --linker online their tracks stream back to the linker '
        "here as they run (default: local)",
    )
    e.add_argument(
        "--address",
        default=None,
        help="ray: cluster to use: auto (the one this machine is in) or ray://HOST:10001 (default: start a "
        "local Ray instance)",
    )
    e.add_argument("--ray-cpus", type=float, default=None, help="ray: CPUs per camera (default: 1)")
    e.add_argument(
        "--ray-local-cpus",
        type=int,
        default=None,
        metavar="N",
        help="ray without --address: CPUs of the local Ray instance started for the run (default: all)",
    )
    e.add_argument(
        "--ray-gpus", type=float, default=None, help="ray: GPUs per camera; fractions share a GPU (default: 0)"
    )
    p.add_argument("--out", default="runs/run", help="output folder (default: runs/run)")
    p.add_argument("--no-video", action="store_true", help="do not write annotated videos")
    p.add_argument(
        "--no-gallery",
        action="store_true",
        help="do not write gallery.jpg (each global identity's clearest crop per camera; offline linker)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def _detector_settings(args: argparse.Namespace, weights: str | None) -> dict:
    if args.detector == "mot":
        return {"name": "mot", "min_score": args.min_score}
    if args.detector == "yolo":  # weights: the file the detector resolved (a bare name is not a file here)
        w = Path(weights or args.yolo_weights)
        return {
            "name": "yolo",
            "weights": file_sha1(w) if w.is_file() else str(w),
            "conf": 0.1 if args.min_score is None else args.min_score,
            "iou": args.yolo_iou,
            "imgsz": args.yolo_imgsz,
            "half": args.yolo_half,
        }
    return {"name": args.detector}


def _timestamped_log_lines() -> None:
    """Log lines start with the local date and time (a live run's log is read afterwards: when did the camera drop,
    when did it come back); only the handlers the command line set up are changed."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    for handler in logging.getLogger().handlers:  # the console's (through tqdm while bars may show), not a file's
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (sys.stderr, sys.stdout):
            handler.setFormatter(formatter)


def _sequence_detections(cams):
    """``cams`` with ``detections`` filled in, for a camera without one whose source is a MOTChallenge sequence
    folder holding ``det/det.txt`` (said once per camera)."""
    cameras = []
    for cam in cams.cameras:
        found = Path(cam.source) / "det" / "det.txt" if not is_live_source(cam.source) else None
        if (
            not cam.detections
            and found is not None
            and (Path(cam.source) / "seqinfo.ini").is_file()
            and found.is_file()
        ):
            log.info("camera %s: detections from %s (the sequence's own)", cam.id, found)
            cam = dataclasses.replace(cam, detections=str(found))
        cameras.append(cam)
    return dataclasses.replace(cams, cameras=cameras)


def _detector_factory(args: argparse.Namespace):
    """Per-camera detectors and the shared one: ``mot`` replays each camera's file; an image detector is built
    once (here, so a missing weights file fails before any camera starts) and shared, as it keeps no per-camera
    state."""
    if args.detector == "mot":
        min_score = -np.inf if args.min_score is None else args.min_score
        read: dict[str, object] = {}  # a file is read (and its problems warned about) once; replaying keeps no state

        def build(cam: CameraConfig):
            if not cam.detections:
                raise InputError(
                    f"{args.cams}: camera {cam.id}: --detector mot needs its 'detections' file (a sequence folder's "
                    "det/det.txt is found by itself)"
                )
            if cam.id not in read:
                read[cam.id] = build_detector("mot", path=cam.detections, min_score=min_score)
            return read[cam.id]

        return build, None
    if args.detector == "yolo":
        shared = yolo_from_args(args)
    else:
        shared = build_detector(args.detector)
    return (lambda cam: shared), shared


def _thresholds(cam: CameraConfig, track_high: float | None, track_new: float | None) -> tuple[dict, str | None]:
    """One camera's score thresholds for its tracker, and a warning when its new-track score had to be raised:
    ``--track-high`` / ``--track-new`` when given (the command line wins), else the camera's own ``track_high`` /
    ``track_new`` from ``cams.yaml``, else run's defaults for a detector's scores (``DETECTOR_THRESHOLDS``)."""

    def pick(flag: float | None, key: str, default_key: str) -> tuple[float, str | None]:
        if flag is not None:
            return flag, f"--{key.replace('_', '-')}"
        own = getattr(cam, key)
        return (own, f"camera {cam.id}'s {key}") if own is not None else (DETECTOR_THRESHOLDS[default_key], None)

    high, high_from = pick(track_high, "track_high", "high_thresh")
    new, new_from = pick(track_new, "track_new", "new_track_thresh")
    warning = None
    if new < high and new_from is not None:  # a default below an asked-for track_high is raised without a word
        warning = (
            f"{new_from} {new:g} is below {high_from or 'the default --track-high'} {high:g}: a track starts only at "
            f"a detection scoring at least that, so {high:g} is used"
        )
    return {"high_thresh": high, "new_track_thresh": max(new, high), "low_thresh": min(0.1, high)}, warning


def _one_or_per_camera(values: dict[str, float]) -> str:
    """``0.9``, or ``each camera's track_new (0.6-0.9)`` when the cameras' thresholds differ."""
    low, high = min(values.values()), max(values.values())
    return f"{low:g}" if low == high else f"each camera's track_new ({low:g}-{high:g})"


def _forks_camera_workers(args: argparse.Namespace, cameras: int, offline: bool) -> bool:
    """Whether the run will fork camera workers (:func:`mctrack.parallel.run_cameras`): several recorded cameras
    (no online linking) and ``--workers`` > 1 on the local engine, as processes (no ``--worker-threads``, and no
    embedder on a GPU, torch's or onnxruntime's, whose cameras run as threads)."""
    if args.engine != "local" or not offline or cameras < 2 or args.workers < 2 or args.worker_threads:
        return False
    device = args.device or ""
    if args.reid not in (*TORCH_EMBEDDERS, "onnx") or device.startswith("cpu"):
        return True
    if device.startswith("cuda"):  # on onnxruntime's CUDA provider too
        return False
    if args.reid == "onnx":  # onnxruntime's CPU provider unless --device cuda
        return True
    import torch

    return not torch.cuda.is_available()


def _workers_arg(value: str) -> int | str:
    """``--workers``: ``auto`` or an integer >= 1 (argparse turns the ValueError into a one-line usage error)."""
    if value.lower() == "auto":
        return "auto"
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or an integer >= 1, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def main(args: argparse.Namespace) -> int:
    DETECTORS.get(args.detector)  # unknown names fail here, listing the valid ones, before any work
    check_stream_args(args)
    resolve_embed_policy(args)
    if args.smooth is not None and not (np.isfinite(args.smooth) and 0 <= args.smooth <= 1000):
        raise InputError(f"--smooth: must be >= 0 and at most 1000 frames, got {args.smooth}")
    if args.stitch is not None and not (np.isfinite(args.stitch) and 0 <= args.stitch <= 3600):
        raise InputError(f"--stitch: must be >= 0 and at most 3600 seconds, got {args.stitch}")
    if args.reconnect_for is None:
        args.reconnect_for = 10.0 if args.engine == "ray" else math.inf
    if not args.reconnect_for >= 0:
        raise InputError(
            f"--reconnect-for: must be >= 0 seconds (inf: until the stream returns), got {args.reconnect_for}"
        )
    if not (np.isfinite(args.record_segment) and args.record_segment >= 0):
        raise InputError(f"--record-segment: must be >= 0 minutes (0: one file per run), got {args.record_segment}")
    ray_options = {
        "--address": args.address,
        "--ray-cpus": args.ray_cpus,
        "--ray-gpus": args.ray_gpus,
        "--ray-local-cpus": args.ray_local_cpus,
    }
    if args.engine != "ray" and (given := [option for option, value in ray_options.items() if value is not None]):
        raise InputError(f"{'/'.join(given)}: only with --engine ray")
    args.ray_cpus = 1.0 if args.ray_cpus is None else args.ray_cpus
    args.ray_gpus = 0.0 if args.ray_gpus is None else args.ray_gpus
    if args.engine == "ray":
        if not (np.isfinite(args.ray_cpus) and args.ray_cpus > 0 and np.isfinite(args.ray_gpus) and args.ray_gpus >= 0):
            raise InputError(
                f"--ray-cpus must be > 0 and --ray-gpus >= 0 (CPUs and GPUs per camera), got {args.ray_cpus}, "
                f"{args.ray_gpus}"
            )
        if args.ray_local_cpus is not None and (args.ray_local_cpus < 1 or args.address):
            raise InputError("--ray-local-cpus: a number >= 1, and only without --address")
        if args.workers not in (1, "auto") or args.worker_threads:
            raise InputError(
                "--workers/--worker-threads: for the local engine; on Ray every camera is a task (see --ray-cpus)"
            )
        from ..ray_engine import import_ray

        try:
            import_ray()
        except ImportError as exc:
            raise InputError(str(exc)) from None
    if not (np.isfinite(args.gallery_age) and args.gallery_age > 0):
        raise InputError(f"--gallery-age: must be a finite number of seconds > 0, got {args.gallery_age}")
    if args.max_ground_dist is not None and not (np.isfinite(args.max_ground_dist) and args.max_ground_dist > 0):
        raise InputError(f"--max-ground-dist: must be a finite number of metres > 0, got {args.max_ground_dist}")
    LINKERS.get(args.linker)  # a misspelt name is refused also where no linker runs (--reid none)
    if args.reid == "none":
        ignored = [
            flag
            for flag, given in (
                ("--linker", args.linker != "offline"),
                ("--link-thresh", args.link_thresh is not None),
                ("--linkage", args.linkage != "average"),
                ("--min-len", args.min_len is not None),
                ("--max-ground-dist", args.max_ground_dist is not None),
            )
            if given
        ]
        if ignored:
            log.warning(
                "%s: not applied with --reid none (cameras are linked by appearance; without an embedder every "
                "camera's tracks keep their own ids)",
                ", ".join(ignored),
            )
    cams = load_cams(args.cams)
    if any(is_live_source(c.source) for c in cams.cameras):  # a run of hours or days: when each line was said
        _timestamped_log_lines()
    if args.detector == "mot":  # as track does: a sequence folder's own det/det.txt (in the cache key and summary)
        cams = _sequence_detections(cams)
        live = [c.id for c in cams.cameras if is_live_source(c.source)]
        if live:  # a test set-up at best: nothing ties a file's frame numbers to what a stream delivers
            log.warning(
                "camera(s) %s: live streams with --detector mot: the file's rows are matched to frames by the count "
                "of frames processed, which frames dropped while processing fell behind or lost while reconnecting "
                "shift; use an image detector (yolo) for live cameras",
                ", ".join(live),
            )
    check_output_folder("--out", args.out)  # an unwritable folder was blamed on each camera's stream
    if args.max_ground_dist is not None and args.reid != "none":
        if args.no_calibration:
            log.warning("--max-ground-dist: no effect with --no-calibration (no camera's ground positions are used)")
        elif not any(c.calibration for c in cams.cameras):
            log.warning("--max-ground-dist: no effect: no camera in %s has a calibration file", args.cams)
    if not args.no_calibration:  # every calibration file read now, with or without an embedder: a bad one is fatal
        for cam in cams.cameras:
            if cam.calibration:
                load_ground_homography(cam.calibration)
    no_gt = [c.id for c in cams.cameras if not c.ground_truth]
    if len(no_gt) < len(cams.cameras) and no_gt:
        log.warning(
            "camera(s) %s: no ground_truth in %s; the evaluation, its cross-camera row included, covers only the "
            "other cameras",
            ", ".join(no_gt),
            args.cams,
        )
    if args.workers == "auto":  # one per core and camera (on Ray every camera is a task anyway)
        args.workers = 1 if args.engine == "ray" else auto_workers(len(cams.cameras))
    offline = not any(is_live_source(c.source) for c in cams.cameras) and not (
        args.reid != "none" and args.linker == "online"
    )
    warn_if_stitching_on_motion_alone(args)
    mean_score = offline and args.track_score != "first"
    if args.track_score == "mean" and not offline:
        log.warning("--track-score mean: not with live cameras or --linker online (tracks are judged as they come)")
    min_hits, min_track_s = check_confirmation_args(args, recorded=offline, at_once=False)
    for flag, value in (
        ("--smooth", args.smooth),
        ("--stitch", args.stitch),
        ("--backfill", args.backfill),
        ("--min-length", args.min_length),
    ):
        if value and not offline:
            log.warning("%s: not applied with live cameras or --linker online (rows are written as they come)", flag)
    smooth = (2.0 if args.smooth is None else args.smooth) if offline else 0.0
    stitch = (4.0 * (args.reid != "none") if args.stitch is None else args.stitch) if offline else 0.0
    # on by default wherever the frames can be had: decoded anyway for a detector or an embedder, or (motion only
    # on detection files) when every camera has images; `auto` applies it only while a camera moves
    decoded = args.detector != "mot" or args.reid != "none"
    cmc_mode = args.cmc or ("auto" if decoded or all(has_images(c.source) for c in cams.cameras) else "off")
    if args.reid != "none" and args.linker == "offline" and any(is_live_source(c.source) for c in cams.cameras):
        log.warning(
            "live cameras with the offline linker: every tracklet is kept until the run ends (memory grows "
            "with its length); --linker online keeps it bounded and gives ids as the run goes"
        )
    if _forks_camera_workers(args, len(cams.cameras), offline):
        keep_torch_single_threaded()  # before any torch work: the forked workers can then use their share of cores
    embedder = embedder_from_args(args)  # also resolves args.weights (bundled default, names) for the cache key
    detector_factory, shared_detector = _detector_factory(args)
    if args.detector == "mot":  # every camera's detection file read once now: a bad one fails before any camera runs
        for cam in cams.cameras:
            detector_factory(cam)
    linker = None
    if embedder is not None:
        # --link-thresh, else the checkpoint's own recommendation, else the embedder's registered fact
        thresh = args.link_thresh if args.link_thresh is not None else embedder_link_thresh(embedder, args.reid)
        online = args.linker == "online"
        min_len = args.min_len if args.min_len is not None else (20 if online else 3)
        ground = {} if args.max_ground_dist is None else {"max_ground_dist": args.max_ground_dist}
        constraints = constraints_from_cams(cams, use_calibration=not args.no_calibration, **ground)
        extra = {"gallery_age_s": args.gallery_age} if online else {}
        try:
            linker = LINKERS.build(
                args.linker, thresh=thresh, linkage=args.linkage, constraints=constraints, min_len=min_len, **extra
            )
        except ValueError as exc:
            raise InputError(f"linker settings: {exc}") from None
    weights_hash = file_sha1(args.weights) if args.weights else None
    # every setting that changes the features is in the cache key
    emb_key = {
        "name": args.reid,
        **features_record(args),
        "precision": getattr(embedder, "precision", args.precision),  # what "auto" resolved to
        "untrained": None
        if args.reid not in TORCH_EMBEDDERS or args.weights
        else f"{args.backbone or 'resnet50'}:{args.pretrained or 'imagenet'}",
    }
    det_settings = _detector_settings(args, getattr(shared_detector, "weights", None))
    tracker_kwargs = {}
    if args.max_lost is not None:
        tracker_kwargs["max_lost_s"] = args.max_lost
    if min_hits is not None:
        tracker_kwargs["min_hits"] = min_hits
    # always explicit: with --embed needed the tracker settings key the feature cache, and a cache made under
    # another default (before the noise adaptations) must not be replayed
    defaults = Tracker.__init__.__kwdefaults__
    tracker_kwargs["noise_adapt"] = defaults["noise_adapt"] if args.noise_adapt is None else args.noise_adapt
    tracker_kwargs["meas_adapt"] = defaults["meas_adapt"] if args.meas_adapt is None else args.meas_adapt
    tracker_kwargs.update(appearance_from_args(args, embedder))
    # each camera's tracker: the run's settings with its score thresholds (flags, else its own from cams.yaml)
    camera_kwargs = {}
    said: set[str] = set()
    for cam in cams.cameras:
        thresholds, warning = _thresholds(cam, args.track_high, args.track_new)
        camera_kwargs[cam.id] = tracker_kwargs | thresholds
        if warning and warning not in said:  # flags' once, not once per camera
            said.add(warning)
            log.warning("%s", warning)
        try:  # bad tracker settings fail here in one line, before any camera runs
            checked = Tracker(camera="check", frame_rate=10.0, **camera_kwargs[cam.id])
        except ValueError as exc:
            raise InputError(f"tracker settings: {exc}") from None
    new_thresh = {cam_id: k["new_track_thresh"] for cam_id, k in camera_kwargs.items()}

    # with --embed needed, which detections are embedded follows the tracker's state: its settings are in the key
    # (and the camera's frame rate, which turns the refresh and the tracker's lost budget into frames)
    def embed_key(cam) -> dict:
        if args.embed != "needed" or embedder is None:
            return {}
        return {
            "embed": {
                "policy": "needed",
                "refresh_s": args.embed_refresh,
                "tracker": camera_kwargs[cam.id],
                "fps": cam.fps,
            }
        }

    pipe = Pipeline(
        detector_factory=detector_factory,
        tracker_factory=lambda cam, fps: Tracker(camera=cam, frame_rate=fps, **camera_kwargs[cam]),
        embedder=embedder,
        linker=linker,
        cache_key=None
        if args.no_cache
        else (
            lambda cam: (
                feature_cache_key(cam, embedder=emb_key, weights_hash=weights_hash, detector=det_settings)
                | {"embed_every": args.embed_every}
                | embed_key(cam)
            )
        ),
        embed_every=args.embed_every,
        embed=args.embed,
        embed_refresh=args.embed_refresh,
        video=not args.no_video,
        gallery=not args.no_gallery,
        calibration=not args.no_calibration,
        detector_needs_images=args.detector != "mot",
        progress=not args.no_progress,
        max_seconds=args.duration,
        reconnect_s=args.reconnect_for,
        record_live=not args.no_record,
        record_segment_s=args.record_segment * 60.0 if args.record_segment else None,
        cmc_factory=(lambda cam: CameraMotion(auto=cmc_mode == "auto")) if cmc_mode != "off" else None,
        workers=args.workers,
        worker_threads=args.worker_threads,
        shared_detector=shared_detector,
        smooth=smooth,
        stitch=stitch,
        backfill=offline and args.backfill is not False,
        min_track_score=new_thresh if mean_score else 0.0,
        min_track_s=min_track_s,
        stitch_appearance=embedder_link_thresh(embedder, args.reid)
        if embedder is not None
        else StitchConfig.max_appearance,
        engine=args.engine,
        ray_options={
            "address": args.address,
            "num_cpus": args.ray_cpus,
            "num_gpus": args.ray_gpus,
            "local_cpus": args.ray_local_cpus,
        },
        record={
            **weights_record(args.weights, weights_hash),
            "precision": getattr(embedder, "precision", None),
            "appearance_weight": tracker_kwargs["appearance_weight"] if embedder is not None else None,
            "appearance_thresh": tracker_kwargs["appearance_thresh"] if embedder is not None else None,
            "appearance_centre": tracker_kwargs["appearance_centre"] if embedder is not None else None,
            "link_thresh": thresh if linker is not None else None,
            "track_score": "mean" if mean_score else "first",
            "min_hits": tracker_kwargs.get("min_hits", Tracker.__init__.__kwdefaults__["min_hits"]),
            "track_thresholds": {
                cam_id: {"high": k["high_thresh"], "new": k["new_track_thresh"], "low": k["low_thresh"]}
                for cam_id, k in camera_kwargs.items()
            },
            "min_length_s": min_track_s,
            # the rest of what decides the numbers, so that a run can be repeated from its summary alone
            "detector": det_settings  # (its cache key: a YOLO weights file by content, and by name here)
            | (
                {"weights_file": str(getattr(shared_detector, "weights", args.yolo_weights))}
                if args.detector == "yolo"
                else {}
            ),
            "embedder": emb_key if embedder is not None else None,
            # every tracker setting, defaults included (a camera's score thresholds: track_thresholds)
            "tracker": {
                k: v
                for k, v in checked.settings(appearance=embedder is not None).items()
                if k not in ("frame_rate", "high_thresh", "new_track_thresh", "low_thresh")
            },
            "cmc": cmc_mode,
            "offline": {
                "smooth": smooth,
                "stitch_s": stitch,
                "backfill": offline and args.backfill is not False,
            },
            "linker": {"name": args.linker, "linkage": args.linkage, "min_len": min_len, **extra} if linker else None,
            "provenance": provenance(getattr(args, "command_line", None)),
        },
    )
    result = pipe.run(cams, args.out, raise_on_interrupt=False)
    out = Path(args.out)
    s = result.summary
    stitched = sum(r.stitched for r in result.cameras.values())
    weak = sum(r.weak_tracks for r in result.cameras.values())
    short = sum(r.short_tracks for r in result.cameras.values())
    before = s["counts"]["tracklets"] + weak + short + stitched  # stitching ran first, then the judgement
    dropped = [f"{weak} with a mean score below {_one_or_per_camera(new_thresh)}"] if weak else []
    dropped += [f"{short} seen for less than {min_track_s:g} s"] if short else []
    print(
        f"{s['counts']['cameras']} camera(s), {s['counts']['frames']} frames, {before} tracklets "
        + (f"({before - stitched} after joining {stitched} within cameras) " if stitched else "")
        + (f"({' and '.join(dropped)} dropped) " if dropped else "")
        + f"-> {s['counts']['global_ids']} global ids ({s['counts']['multi_camera_ids']} seen by more than "
        f"one camera) in {s['timings_s']['total']:.1f} s ({s['frames_per_second']:.1f} frames/s)"
    )
    for cam, c in s["cameras"].items():
        if not c.get("error"):
            started = c["tracks"] + c["weak_tracks_dropped"] + c["short_tracks_dropped"]
            warn_if_nothing_started(f"camera {cam}", c["detections"], started, new_thresh[cam])
    if result.evaluation is not None:
        print(format_multicam(result.evaluation, failed=list(s["failed_cameras"])))
    for cam in s["interrupted_cameras"]:  # stopped, not broken: what it finished is in the outputs
        if args.engine == "ray" and not s["cameras"][cam]["frames"]:  # a Ray task returns a whole camera or nothing
            print(f"camera {cam} interrupted on Ray: what it had tracked is not kept (its task returns whole cameras)")
        else:
            print(f"camera {cam} interrupted after {s['cameras'][cam]['frames']} frame(s)")
    for cam, err in s["failed_cameras"].items():
        print(f"camera {cam} failed: {err}")
    if result.evaluation_error:
        print(f"evaluation failed: {result.evaluation_error}")
    for cam, c in s["cameras"].items():
        if c.get("dropped_frames"):
            print(
                f"camera {cam}: {c['dropped_frames']} live frame(s) dropped because processing fell behind "
                "(use --embed-every, a GPU or a lighter embedder)"
            )
    if args.cmc in ("on", "auto") or any(c["cmc_compensated_frames"] for c in s["cameras"].values()):
        moved = ", ".join(f"{cam} {c['cmc_compensated_frames']} of {c['frames']}" for cam, c in s["cameras"].items())
        print(f"camera-motion compensation ({cmc_mode}): frames compensated per camera: {moved}")
    if embedder is not None:
        done = sum(c["embedded_detections"] for c in s["cameras"].values())
        dets = sum(c["detections"] for c in s["cameras"].values())
        print(f"re-id: {done} of {dets} detections embedded (--embed {args.embed})")
    written = ["<camera>.txt (global ids)", "identities.csv", "aicity.txt (all cameras)", "summary.json"]
    if s["videos"]:  # only what was written: an interrupted or failed camera gets no video
        some = len(s["videos"]) < len(s["cameras"])
        written.append("<camera>.mp4" + (f" ({', '.join(s['videos'])} only)" if some else ""))
    if s.get("gallery_ids"):
        without = ", from the cameras that did not fail" if s["failed_cameras"] else ""
        written.append(f"gallery.jpg ({s['gallery_ids']} identities{without})")
    written += ["eval.json"] if result.evaluation else []
    written += ["cache/"] if not args.no_cache and args.engine == "local" and (out / "cache").is_dir() else []
    written += ["recordings/ (live cameras)"] if (out / "recordings").is_dir() else []
    print(f"outputs in {out}: {', '.join(written + ['local/ (per-camera local ids)'])}")
    if result.interrupted:
        print(
            "interrupted (Ctrl-C or SIGTERM): the outputs hold what was finished"
            + ("; evaluated on the frames each camera covered" if result.evaluation else "")
            + (f"; not started: {', '.join(s['cameras_not_run'])}" if s["cameras_not_run"] else "")
        )
        return interrupt_exit_code()
    if not result.failed and s["counts"]["tracklets"] == 0 and weak + short:
        # an empty result that the judgement made: not a success (as mctrack track)
        print(
            f"mctrack run: error: all {weak + short} tracks were dropped once tracking ended, the outputs in {out} "
            "hold no track; see the warning above for the setting that keeps them",
            file=sys.stderr,
        )
        return 1
    return 1 if result.failed or result.evaluation_error else 0
