"""``mctrack track``: single-camera tracking of one video or sequence (or of each sequence in a folder of them)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..signals import interrupt_exit_code
from ..config import is_live_source
from ..detect import build_detector
from ..embed import embedder_link_thresh
from ..errors import InputError, first_line
from ..io.paths import check_file_name, safe_file_name
from ..io.mot import MotWriter, load_mot_txt, mot_rows, save_mot_txt
from ..registry import DETECTORS
from ..io.video import (
    AnnotatedVideoWriter,
    LiveSource,
    PrefetchSource,
    SequenceSource,
    frames_read_again,
    has_images,
    laid_out_as_sequence,
    open_source,
    sequence_folders,
    warn_assumed_fps,
    warn_overridden_fps,
)
from ..io.mot import read_run_record, read_seqinfo
from ..outputs import (
    output_file,
    output_folder,
    temporary_name,
    write_annotated_video,
    write_run_record,
    written_over,
)
from reid_models.provenance import provenance
from ..signals import interrupts_deferred
from ..track import DETECTOR_THRESHOLDS, CameraMotion, Tracker
from ..track.postprocess import FeatureMeans, StitchConfig, judgement_warning, refine, stitch_frames
from ..track.driver import DetectAndEmbed, DriverStats, Timer, drive, unused_detection_file
from ._common import (
    check_embedder_args,
    weights_record,
    add_confirmation_args,
    check_confirmation_args,
    check_stream_args,
    new_track_score,
    warn_if_nothing_started,
    resolve_embed_policy,
    add_backfill_arg,
    add_cmc_arg,
    add_track_score_arg,
    add_kalman_adapt_args,
    add_embed_policy_args,
    embed_refresh_frames,
    add_appearance_args,
    add_embedder_args,
    add_yolo_args,
    appearance_from_args,
    embedder_from_args,
    features_record,
    yolo_from_args,
    warn_if_stitching_on_motion_alone,
)

__all__ = ["register", "main"]

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "track",
        help="track people in one video or MOTChallenge sequence (or each sequence of a folder)",
        description="Detect, embed and track one camera; write DIR/<sequence>.txt in MOTChallenge "
        "format, DIR/<sequence>.json with the settings that made it and whether it is complete (mctrack eval warns "
        "about an incomplete one), and, with --video, an annotated video.",
    )
    p.add_argument(
        "--source",
        required=True,
        help="video file, image folder, MOTChallenge sequence folder (with seqinfo.ini), a folder of such "
        "sequences (MOT17/train: each tracked in turn into DIR/<sequence>.txt), rtsp://... or "
        "http://... stream, or a webcam index (live: runs until Ctrl-C, the stream is lost or "
        "--duration)",
    )
    p.add_argument("--detector", default="yolo", help="yolo or mot (default: yolo)")
    p.add_argument("--dets", help="det.txt for --detector mot (default: SOURCE/det/det.txt for a sequence folder)")
    p.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="yolo: confidence threshold (default: 0.1); mot: ignore rows scoring below this (default: "
        "none; the tracker itself uses no row scoring below 0.1, or below --track-high where that is lower)",
    )
    add_yolo_args(p)
    add_embedder_args(p, default="none")
    add_embed_policy_args(p)
    p.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS", help="stop after this many seconds of the stream"
    )
    t = p.add_argument_group("tracker")
    t.add_argument(
        "--fps",
        type=float,
        help="frame rate (default: the source's; also stands in for a seqinfo.ini without frameRate)",
    )
    add_cmc_arg(t, "default: auto when the frames can be had: decoded anyway, or the source has images; else off")
    t.add_argument("--max-lost", type=float, default=None, help="seconds a lost track is kept (tracker default)")
    add_kalman_adapt_args(t)
    t.add_argument(
        "--track-high",
        type=float,
        default=None,
        help="detections scoring at least this enter the main association; the low-score stage takes the rest "
        f"above 0.1 (default: {DETECTOR_THRESHOLDS['high_thresh']} with --detector yolo, as `mctrack run`; "
        "0.7, the tracker's, with --detector mot: set for public detection files)",
    )
    t.add_argument(
        "--track-new",
        type=float,
        default=None,
        help="score an unmatched detection needs to start a track, raised to --track-high when lower, and for "
        "recorded video the mean score a track needs to be kept (--track-score) (default: "
        f"{DETECTOR_THRESHOLDS['new_track_thresh']} with --detector yolo, as `mctrack run`; 0.9, the "
        "tracker's, with --detector mot: set for public detection files)",
    )
    add_appearance_args(t)
    t.add_argument(
        "--interpolate",
        type=int,
        default=0,
        metavar="N",
        help="offline: fill gaps of up to N frames inside each track by linear interpolation (default: 0 = off)",
    )
    t.add_argument(
        "--smooth",
        type=float,
        default=None,
        metavar="SIGMA",
        help="offline: smooth each track's boxes over time (Gaussian local-linear fit, SIGMA frames; 0 = off; "
        "default: 2 for recorded video, off for live streams)",
    )
    t.add_argument(
        "--stitch",
        type=float,
        default=None,
        metavar="SECONDS",
        help="offline: join tracks that end and restart within this many seconds where motion and appearance "
        "agree (rounded to whole frames; 0 = off; default: 4 with an embedder, off without one: motion alone "
        "joins wrong people)",
    )
    add_backfill_arg(t, "offline")
    add_track_score_arg(t)
    add_confirmation_args(
        t,
        "offline",
        "default: 1 for a detection file (--detector mot) tracked on motion alone, whose tracks are judged once "
        "tracking ended by --track-score and --min-length; else 2, so that a false positive seen once never "
        "becomes a track",
    )
    p.add_argument("--out", default="runs/track", help="output folder (default: runs/track)")
    p.add_argument(
        "--name",
        help="sequence name: the result is DIR/NAME.txt (default: the source's name; NAME.txt also gives DIR/NAME.txt)",
    )
    p.add_argument(
        "--video",
        action="store_true",
        help="also write DIR/<sequence>.mp4 with the boxes and ids of the result file (recorded video: after the "
        "offline refinements)",
    )
    p.add_argument(
        "--skip-done",
        action="store_true",
        help="leave a result in DIR that is complete and was made with the same settings (its DIR/<sequence>.json "
        "says so) as it is: a rerun of a folder of sequences picks up where an interrupted one stopped",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    DETECTORS.get(args.detector)  # an unknown name fails here, listing the valid ones, before any work
    source = Path(str(args.source))
    if not is_live_source(str(args.source)) and source.is_dir():
        _warn_if_a_sequences_image_folder(source)
        if sequences := sequence_folders(source):
            return _track_folder(args, sequences)
    return _track_one(args)


def _done_before(result: Path, settings: dict) -> bool:
    """Whether ``result`` is the complete result of an earlier track run with ``settings`` (``--skip-done``): its
    record says complete, holds the same settings (as its JSON holds them; the annotated video's entry aside) and
    counts the rows the file holds (not written again since)."""
    old = read_run_record(result)
    if old is None or not old.get("complete") or not result.is_file():
        return False

    def plain(d: dict) -> dict:
        return json.loads(json.dumps({k: v for k, v in d.items() if k != "video"}))

    try:
        if plain(old["settings"]) != plain(settings):
            return False
        return old.get("rows") == len(load_mot_txt(result))
    except (InputError, TypeError, ValueError, AttributeError):  # a damaged record or result: track it again
        return False


def _result_stem(name: str) -> str:
    """The result file's name without ``.txt`` (``--name x.txt`` writes x.txt, not x.txt.txt)."""
    return name[:-4] if name.lower().endswith(".txt") and len(name) > 4 else name


def _warn_if_a_sequences_image_folder(folder: Path) -> None:
    """A sequence's image folder given as the source (``SEQ/img1``) is tracked as a bare image folder: at an assumed
    30 fps (or ``--fps``) instead of its ``seqinfo.ini``'s rate, and written as ``img1.txt`` (the next sequence's
    image folder writes over it): said, naming the folder to give."""
    here = Path(os.path.abspath(folder))  # as given (a link's name), as track names results
    sequence = here.parent
    info_file = sequence / "seqinfo.ini"
    if not info_file.is_file():
        return
    try:
        im_dir = read_seqinfo(info_file, fallback_fps=1.0).im_dir
    except (InputError, OSError, ValueError):
        im_dir = "img1"
    if Path(im_dir).name == here.name:
        log.warning(
            "%s: the image folder of the MOTChallenge sequence %s, tracked as a bare image folder (its rate not from "
            "the seqinfo.ini, its result named %s.txt): give --source %s to track it as that sequence",
            folder,
            sequence,
            here.name,
            sequence,
        )


def _track_folder(args: argparse.Namespace, sequences: list[Path]) -> int:
    """Every MOTChallenge sequence folder in ``--source`` (``MOT17/train``), one after another, each as ``mctrack
    track --source SEQ`` with the same options: ``OUT/<sequence>.txt`` and ``.json`` each, which ``mctrack eval --gt
    SOURCE --pred OUT`` scores. A sequence that fails (bad files, an empty result) is said and the others are
    tracked; the run then ends with an error listing the failed ones. Ctrl-C stops it (the sequences done stay
    written, the interrupted one as far as it got, its record saying so)."""
    folder = args.source
    check_embedder_args(args)  # an option error once, not once per sequence
    for flag, value in (("--dets", args.dets), ("--name", args.name)):
        if value:
            raise InputError(
                f"{flag}: one file or name for one sequence; {folder} holds {len(sequences)} sequences, each tracked "
                "with its own det/det.txt into OUT/<sequence>.txt"
            )
    by_result: dict[str, list[str]] = {}  # result names: two sequences must not write one file
    for seq in sequences:
        by_result.setdefault(_result_stem(safe_file_name(seq.name)), []).append(seq.name)
    clash = next((names for names in by_result.values() if len(names) > 1), None)
    if clash:
        raise InputError(
            f"{folder}: sequences {' and '.join(clash)} would both write OUT/{_result_stem(safe_file_name(clash[0]))}"
            ".txt (result names keep letters, digits, '.', '_' and '-'): rename one, or track them one at a time "
            "with --name"
        )
    lookalikes = [
        c.name for c in sorted(Path(folder).iterdir()) if c.is_dir() and c not in sequences and laid_out_as_sequence(c)
    ]
    if lookalikes:
        log.warning(
            "%s: %s laid out as sequence folder(s) but without a seqinfo.ini: not tracked",
            folder,
            ", ".join(lookalikes[:5]) + (" ..." if len(lookalikes) > 5 else ""),
        )
    log.info("%s: %d MOTChallenge sequences, tracked one after another into %s", folder, len(sequences), args.out)
    failed: list[str] = []
    for k, seq in enumerate(sequences, 1):
        log.info("sequence %d of %d: %s", k, len(sequences), seq.name)
        one = argparse.Namespace(**vars(args))
        one.source = str(seq)
        try:
            code = _track_one(one)
        except InputError as exc:  # said with its sequence; the others are still tracked
            log.error("sequence %s (%d of %d): %s", seq.name, k, len(sequences), first_line(exc))
            code = 1
        if code == 1:
            failed.append(seq.name)
        elif code:  # Ctrl-C
            log.warning(
                "stopped in sequence %s (%d of %d): the %d before it are written in %s, it as far as it got",
                seq.name,
                k,
                len(sequences),
                k - 1,
                args.out,
            )
            return code
    if failed:
        raise InputError(
            f"{folder}: {len(failed)} of {len(sequences)} sequences failed ({', '.join(failed[:5])}"
            f"{' ...' if len(failed) > 5 else ''}: see above); the others are written in {args.out}"
        )
    return 0


def _track_one(args: argparse.Namespace) -> int:
    check_stream_args(args)
    resolve_embed_policy(args)
    live = is_live_source(str(args.source))
    limits = (
        ("--interpolate", args.interpolate, 10**6),
        ("--smooth", args.smooth, 1000),
        ("--stitch", args.stitch, 3600),
    )
    for flag, value, most in limits:
        if value is not None and not (np.isfinite(value) and 0 <= value <= most):
            raise InputError(f"{flag}: must be >= 0 and at most {most}, got {value}")
        if value and live:
            raise InputError(f"{flag}: offline post-processing, not for a live stream (it keeps every row)")
    if args.backfill and live:
        raise InputError("--backfill: offline post-processing, not for a live stream (it keeps every row)")
    if args.track_score == "mean" and live:
        raise InputError("--track-score mean: offline post-processing, not for a live stream (it keeps every row)")
    if args.min_length and live:
        raise InputError("--min-length: offline post-processing, not for a live stream (it keeps every row)")
    # a detector's own output (YOLO) gets `mctrack run`'s thresholds and confirmation; the tracker's defaults and
    # confirming at once were chosen on public detection files (--detector mot)
    detector_output = args.detector != "mot"
    at_once = not live and args.reid == "none" and not detector_output
    min_hits, min_track_s = check_confirmation_args(args, recorded=not live, at_once=at_once)
    if args.fps is not None and not (np.isfinite(args.fps) and args.fps > 0):
        raise InputError(f"--fps: must be a finite number > 0, got {args.fps}")
    embedder = embedder_from_args(args)
    decoded = args.detector != "mot" or embedder is not None  # --video decodes too, but must not change the tracks
    # on by default wherever the frames can be had (decoded anyway, or a source with images: a sequence folder
    # with only det.txt has none); `auto` applies it only while the camera moves, so a fixed camera is unchanged
    cmc_mode = args.cmc or ("auto" if decoded or (not live and has_images(args.source)) else "off")
    need_images = decoded or args.video or cmc_mode != "off"
    smooth = args.smooth if args.smooth is not None else (0.0 if live else 2.0)
    stitch_s = args.stitch if args.stitch is not None else (4.0 if embedder is not None and not live else 0.0)
    warn_if_stitching_on_motion_alone(args)
    fill = not live if args.backfill is None else args.backfill
    mean_score = not live and args.track_score != "first"
    if live:
        if args.detector == "mot":
            raise InputError(f"{args.source}: a live stream has no detection file; use --detector yolo")
        source = LiveSource(str(args.source), fps=args.fps)
    else:
        needs = [f"--detector {args.detector}"] if args.detector != "mot" else []
        needs += [f"--reid {args.reid}"] if embedder is not None else []
        needs += ["--video"] if args.video else []
        needs += [f"--cmc {cmc_mode}"] if args.cmc in ("on", "auto") else []
        source = open_source(
            args.source,
            need_images=need_images,
            images_for=" and ".join(needs) or None,
            fallback_fps=args.fps,
            fps=args.fps,
        )
    detector = _build_detector(args, source)
    fps = args.fps or source.fps
    if args.fps and not live:
        own = "its seqinfo.ini" if isinstance(source, SequenceSource) else "its video header"
        warn_overridden_fps(source, args.fps, str(args.source), "--fps", own)
    if args.fps is None:
        warn_assumed_fps(source, str(args.source), "--fps")
    # where the rate came from: every time window of tracking counts with it, and the sources disagree at times
    # (PETS09-S2L1: seqinfo.ini 7 fps, its video's header 10)
    if args.fps:
        fps_from = "--fps"
    elif live:
        fps_from = "the stream (25 when it gives none)"
    elif isinstance(source, SequenceSource):
        fps_from = "seqinfo.ini"
    elif getattr(source, "native_fps", None) is None:
        fps_from = "assumed (no rate of its own)"
    else:
        fps_from = "the video header"
    kwargs = {} if args.max_lost is None else {"max_lost_s": args.max_lost}
    defaults = DETECTOR_THRESHOLDS if detector_output else Tracker.__init__.__kwdefaults__
    track_high = args.track_high if args.track_high is not None else defaults["high_thresh"]
    kwargs["high_thresh"] = track_high
    kwargs["low_thresh"] = min(0.1, track_high)
    if args.track_new is not None:
        kwargs["new_track_thresh"] = new_track_score(args.track_new, track_high)
    else:  # the default, raised to --track-high without a warning: only --track-high was asked for
        kwargs["new_track_thresh"] = max(defaults["new_track_thresh"], track_high)
    if args.noise_adapt is not None:
        kwargs["noise_adapt"] = args.noise_adapt
    if args.meas_adapt is not None:
        kwargs["meas_adapt"] = args.meas_adapt
    if min_hits is not None:
        kwargs["min_hits"] = min_hits
    kwargs.update(appearance_from_args(args, embedder))
    stats = DriverStats()
    timer = Timer(stats.timings)  # every stage's seconds: detect and embed, the tracking loop's, the work after it
    try:
        tracker = Tracker(camera=source.camera, frame_rate=fps, **kwargs)
        min_track_score = tracker.new_track_thresh if mean_score else 0.0
        features = DetectAndEmbed(
            detector,
            embedder,
            embed_every=args.embed_every,
            detector_needs_images=args.detector != "mot",
            embed=args.embed,
            refresh=embed_refresh_frames(args.embed_refresh, fps),
            timer=timer,
        )
    except ValueError as exc:
        raise InputError(f"tracker settings: {exc}") from None
    cmc = CameraMotion(auto=cmc_mode == "auto") if cmc_mode != "off" else None
    # a sequence folder's result is named after the folder, as MOTChallenge tools (and mctrack eval) look it up:
    # seqinfo's name= may differ in a renamed copy, whose results would then overwrite the original's
    # (abspath, not resolve: a linked folder's result is named after the link, as eval lists it)
    default_name = Path(os.path.abspath(source.folder)).name if isinstance(source, SequenceSource) else source.name
    name = _result_stem(check_file_name(args.name, "--name") if args.name else safe_file_name(default_name))
    out_dir = output_folder("--out", args.out)
    if stitch_s and not live and not stitch_frames(stitch_s, fps):
        log.warning("--stitch %g s is under half a frame at %g fps (%s): no tracks are joined", stitch_s, fps, name)
    result = out_dir / f"{name}.txt"
    record_file = out_dir / f"{name}.json"
    for path in (result, record_file):
        if path.is_dir():  # said before anything is written (it said "Is a directory" after writing the record)
            raise InputError(f"--out {out_dir}: {path.name} is a folder where track writes its result file")
    if record_file.exists() and read_run_record(result) is None:
        raise InputError(
            f"--out {out_dir}: holds {record_file.name}, which is not the record of an mctrack track run; track "
            f"writes its settings there beside {result.name}: choose another --out or --name"
        )
    video_file = out_dir / f"{name}.mp4"
    # (the video's name also without --video: a rerun removes the video an earlier run left there)
    _check_inputs_are_not_outputs(args, source, detector, [result, record_file, video_file])
    rows: list[np.ndarray] = []
    means = FeatureMeans()
    refined = bool(args.interpolate or smooth or stitch_s or fill or min_track_score or min_track_s)
    video = None
    video_cut = False  # Ctrl-C while the video of a complete result was drawn
    if args.video:
        if source.size is None:
            raise InputError(f"{args.source}: frame size unknown; cannot write --video")
        output_file("--video", out_dir / f"{name}.mp4")  # checked before the tracking, not after it
        if not refined:  # drawn as tracked; refined rows are drawn from the result file at the end
            video = AnnotatedVideoWriter(out_dir / f"{name}.mp4", fps, source.size)
    tentative: list[np.ndarray] = []  # the tracker's unconfirmed rows (backfill)
    warps: dict[int, np.ndarray] = {}  # the camera motion applied per frame: refinements run stabilised
    stitch_gate = None
    if stitch_s and not live:
        stitch_gate = embedder_link_thresh(embedder, args.reid) if embedder is not None else StitchConfig.max_appearance
    settings = {
        "source": str(args.source),
        "fps": fps,
        "fps_from": fps_from,
        "detector": _detector_record(args, detector),
        "reid": args.reid,
        **weights_record(args.weights if embedder is not None else None),
        # an untrained network: what its backbone started from, as loaded (ImageNet asked for offline: random)
        **({"network_init": embedder.backbone_init} if getattr(embedder, "backbone_init", None) else {}),
        "precision": getattr(embedder, "precision", None),
        "features": features_record(args) if embedder is not None else None,
        "embed": {"policy": args.embed, "refresh_s": args.embed_refresh, "every": args.embed_every}
        if embedder is not None
        else None,
        "tracker": tracker.settings(appearance=embedder is not None),
        "cmc": cmc_mode,
        "offline": {
            "backfill": fill,
            "stitch_s": stitch_s,
            "stitch_appearance": stitch_gate,
            "min_track_score": min_track_score,
            "min_length_s": min_track_s,
            "interpolate": args.interpolate,
            "smooth": smooth,
        },
    }

    if args.skip_done and _done_before(result, settings):
        print(
            f"{name}: {result} is complete and was made with these settings (its record, {record_file.name}): skipped"
        )
        return 0
    made_by = provenance(getattr(args, "command_line", None))  # the same for both records: asked once

    def record(frames: int, stopped: str | None, rows: int | None) -> None:
        counts = None
        if live:  # what the stream did: frames dropped while processing fell behind, reconnects, time without frames
            counts = {
                "dropped_frames": int(source.dropped),
                "reconnects": int(source.reconnects),
                "outage_s": round(float(source.outage_s), 2),
            }
        write_run_record(
            record_file,
            result,
            frames=frames,
            source_frames=source.length,
            stopped=stopped,
            rows=rows,
            settings=settings,
            provenance=made_by,
            live=counts,
        )

    # a video beside the new result must show it (one drawn as tracked is being written over already)
    if video is None and video_file.is_file() and not video_file.is_symlink():
        if read_run_record(result) is not None:  # an earlier track run's: its tracks, not this run's
            with contextlib.suppress(OSError):
                video_file.unlink()
                print(f"removed {video_file}: the annotated video of the run whose result this one replaces")
        elif not args.video:
            log.warning("%s: not written by this run (no --video); it does not show %s", video_file, result.name)
    # said until the run ends: a result left by a crash or a kill is known as unfinished
    record(0, "did not finish (killed, crashed or still running)", None)
    writer = MotWriter(result)  # raw rows as they come (kept on a crash); replaced by the refined ones at the end
    interrupted = False
    length = source.length
    if args.duration is not None and length is not None:
        length = min(length, int(np.ceil(args.duration * fps)))
    try:
        steps = drive(
            source if live or not need_images else PrefetchSource(source),  # decoding overlaps the work
            features,
            tracker,
            fps=fps,
            live=live,
            max_seconds=args.duration,
            cmc=cmc,
            record_warp=warps.__setitem__ if refined and cmc is not None else None,
            stats=stats,
            source_name=str(args.source),
            dim=features.dim,
            tentative=fill,
        )
        for step in tqdm(steps, total=length, desc=f"track {name}", unit="frame", disable=args.no_progress):
            frame, tracks = step.frame, step.tracks
            writer.write(frame.index, tracks.track_id, tracks.xyxy, tracks.score)
            if refined:
                rows.append(mot_rows(frame.index, tracks.track_id, tracks.xyxy, tracks.score))
                if stitch_s:
                    means.add(tracks.track_id, step.track_embeddings)
                if fill:
                    t = step.tentative
                    tentative.append(mot_rows(frame.index, t.track_id, t.xyxy, t.score))
            if video is not None:
                timer("video", video.write, frame, tracks)
    except KeyboardInterrupt:
        interrupted = True  # what was tracked so far is written below
    except Exception as exc:  # the record says why and how far (it said "did not finish (killed, crashed ...)")
        writer.close()
        record(stats.frames, f"failed: {first_line(exc)}", writer.rows)
        raise
    finally:
        writer.close()
        if video is not None:
            video.close()
    if refined:
        stitch = None
        if stitch_s:
            stitch = StitchConfig.window(stitch_s, fps, max_appearance=stitch_gate)
        all_rows = np.concatenate(rows) if rows else np.zeros((0, 10))
        counts: dict[str, int] = {}
        # the refined result is written whole: a Ctrl-C now is noted and acted on once it is on disk
        with interrupts_deferred(again=False) as held:
            refined_rows = timer(
                _REFINE,
                refine,
                all_rows,
                fps,
                stitch=stitch,
                features=means.means(),
                interpolate=args.interpolate,
                smooth=smooth,
                warps=warps,
                tentative=np.concatenate(tentative) if fill and tentative else None,
                min_track_score=min_track_score,
                min_track_s=min_track_s,
                counts=counts,
            )
            save_mot_txt(result, refined_rows)
        interrupted = interrupted or bool(held)
        done = [f"{counts['backfilled']} first frame(s) of confirmed tracks added"] if fill else []
        weak = f"{counts['weak']} track(s) with a mean score below {min_track_score:g} dropped"
        done += [weak] if min_track_score else []
        done += [f"{counts['short']} track(s) seen for less than {min_track_s:g} s dropped"] if min_track_s else []
        done += [f"smoothed (sigma {smooth:g} frames)"] if smooth else []
        done += [f"{counts['stitched']} track(s) stitched within {stitch_s:g} s"] if stitch_s else []
        done += [f"gaps up to {args.interpolate} frames filled"] if args.interpolate else []
        print(f"offline refinements: {', '.join(done)}")
        judged = counts["weak"] + counts["short"] + len(np.unique(refined_rows[:, 1]))
        warning = judgement_warning(counts["weak"], counts["short"], judged, min_track_score, min_track_s)
        if warning:
            log.warning("%s", warning)
        if args.video and not interrupted:  # the video shows what the result file holds: refined boxes, stitched
            try:  # ids, backfilled starts
                with frames_read_again():  # their problems were reported while tracking
                    timer(
                        _VIDEO_AFTER,
                        write_annotated_video,
                        out_dir / f"{name}.mp4",
                        open_source(args.source, fallback_fps=args.fps, fps=args.fps),
                        result,
                        source.camera,
                        stats.frames,
                        fps,
                        progress=not args.no_progress,
                    )
            except KeyboardInterrupt:  # the result file is complete; the summary must still be printed
                video_cut = True
                log.warning(
                    "interrupted while writing the annotated video: %s is not written; the result file is complete",
                    out_dir / f"{name}.mp4",
                )
    extra = (
        f", {stats.frames_without_image} without a readable image" if stats.frames_without_image and need_images else ""
    )
    n_tracks = len(np.unique(refined_rows[:, 1])) if refined else stats.tracks
    if cmc is not None:
        how = "auto: applied while the camera moved" if cmc.auto else "on"
        print(f"camera-motion compensation ({how}): {cmc.compensated} of {stats.frames} frames compensated")
    if embedder is not None:
        print(f"re-id: {stats.embedded} of {stats.detections} detections embedded (--embed {args.embed})")
    print(
        f"{name}: {stats.frames} frames at {fps:g} fps ({fps_from}){extra}, {stats.detections} detections, "
        f"{n_tracks} tracks -> {result}"
    )
    print(_time_line(stats))
    warn_if_nothing_started(name, stats.detections, stats.tracks, tracker.new_track_thresh)
    stopped = None
    if interrupted:
        stopped = "interrupted"
    elif stats.ended_early:
        stopped = "ended early"
    elif stats.stopped_early:
        stopped = "stopped by --duration"
    if args.video:
        # drawn after the refinements: not written when cut short; drawn as tracked: as far as the result goes
        written = video_file.is_file() and not video_cut and not (interrupted and refined)
        settings["video"] = str(video_file) if written else "not written: interrupted"
    record(stats.frames, stopped, len(refined_rows) if refined else writer.rows)
    if video_cut:
        print(f"interrupted (Ctrl-C or SIGTERM) while drawing {video_file.name}: {result} is complete", file=sys.stderr)
        return interrupt_exit_code()
    if interrupted:
        unwritten = "; the annotated video is not written" if args.video and refined else ""
        print(f"interrupted (Ctrl-C or SIGTERM): the result file holds every frame tracked{unwritten}", file=sys.stderr)
        return interrupt_exit_code()
    if stats.ended_early:
        print(
            f"mctrack track: error: {args.source}: {stats.ended_early}; the result holds the frames read",
            file=sys.stderr,
        )
        return 1
    unused = unused_detection_file(detector, stats)
    if unused:  # a detection file with rows of which none was used: the wrong file or filter, not an empty scene
        print(f"mctrack track: error: {unused}; {result} is empty", file=sys.stderr)
        return 1
    if refined and n_tracks == 0 and stats.tracks:  # an empty result that the judgement made: not a success
        print(
            f"mctrack track: error: {name}: all {stats.tracks} tracks were dropped once tracking ended, {result} is "
            "empty; see the warning above for the flag that keeps them",
            file=sys.stderr,
        )
        return 1
    return 0


def _detector_record(args: argparse.Namespace, detector) -> dict:
    """The detector's settings for the run record."""
    if args.detector == "mot":
        return {"name": "mot", "file": str(getattr(detector, "path", args.dets)), "min_score": args.min_score}
    return {  # the values the detector resolved (--min-score is YOLO's confidence threshold, 0.1 unless given)
        "name": args.detector,
        "weights": str(getattr(detector, "weights", args.yolo_weights)),
        "min_score": getattr(detector, "conf", args.min_score),
        "iou": getattr(detector, "iou", None),
        "imgsz": getattr(detector, "imgsz", None),
        "half": getattr(detector, "half", None),
    }


def _check_inputs_are_not_outputs(args: argparse.Namespace, source, detector, written: list[Path]) -> None:
    """An :class:`InputError` when an input file (the source video, a sequence folder's recording, the detection
    file, weights) is one of the files ``written`` (or their temporary names) in ``--out``: ``--source cam1.mp4 --out
    .`` would replace the recording with its annotated video (and a rerun remove it as an earlier run's video), a
    det.txt named as the result would be replaced by the tracks."""
    written = written + [temporary_name(p) for p in written]
    inputs = [
        ("--source", None if is_live_source(str(args.source)) else args.source),
        ("--dets", getattr(detector, "path", None) if args.detector == "mot" else None),
        ("--weights", args.weights),
        ("--yolo-weights", getattr(args, "yolo_weights", None)),
    ]
    if isinstance(source, SequenceSource):  # its recording, whether or not this run decodes it
        inputs += [(f"--source {args.source}: its video", video) for video in source.videos()]
    if hit := written_over([(what, v) for what, v in inputs if v and os.path.isfile(v)], written):
        what, value, path = hit
        raise InputError(f"{what} {value}: is a file this command writes ({path}); choose another --out or --name")


def _build_detector(args: argparse.Namespace, source):
    if args.detector == "mot":
        dets = args.dets
        if dets is None:
            if not isinstance(source, SequenceSource):
                raise InputError(f"{args.source}: --detector mot needs --dets det.txt (or a sequence folder)")
            dets = source.folder / "det" / "det.txt"
        min_score = -np.inf if args.min_score is None else args.min_score
        detector = build_detector("mot", path=dets, min_score=min_score)
        # the frame size: a sequence's seqinfo.ini, a video's header, an image folder's first image
        size = getattr(source, "size", None)
        if size and size[0] > 0 and size[1] > 0:
            frame_of = source.folder / "seqinfo.ini" if isinstance(source, SequenceSource) else args.source
            if problem := detector.all_outside_problem(*size, str(frame_of)):
                raise InputError(problem)
            problem = detector.outside_frame_problem(*size, str(frame_of))
            if problem:
                log.warning("%s", problem)
        return detector
    if args.dets:
        raise ValueError(f"--dets: only used with --detector mot, not {args.detector!r}")
    if args.detector == "yolo":
        detector = yolo_from_args(args)
        if hasattr(detector, "check_readable"):  # before the outputs it would replace are opened
            detector.check_readable()
        return detector
    return build_detector(args.detector)


# the stages run once, after tracking (timed in ms, not per frame): the offline refinements and the annotated
# video drawn from the refined result
_REFINE, _VIDEO_AFTER = "offline refinements", "video of the refined result"


def _time_line(stats: DriverStats) -> str:
    """Where the time went: each per-frame stage (decoding, detection, embedding, camera motion, tracking, a video
    drawn as tracked) in milliseconds per frame, then the work done once after tracking in milliseconds."""
    once = (_REFINE, _VIDEO_AFTER)
    n = max(stats.frames, 1)
    per_frame = [f"{k} {1e3 * v / n:.2f} ms" for k, v in stats.timings.items() if k not in once]
    line = "time per frame: " + ((", ".join(per_frame) or "none") if stats.frames else "no frame tracked")
    after = [f"{k} {1e3 * stats.timings[k]:.1f} ms" for k in once if k in stats.timings]
    return line + (f"; after tracking: {', '.join(after)}" if after else "")
