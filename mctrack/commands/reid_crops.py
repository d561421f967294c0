"""``mctrack reid crops``: a Market-1501 folder of person crops cut from labelled footage.

Labels are MOT rows with ids that name the same person in every camera: a camera set's ground truth
(``cams.yaml``'s ``ground_truth``), a finished ``mctrack run``'s ``OUT/<camera>.txt`` (global ids: crops of a scene
labelled by the tracker, for adapting an embedder to a site without annotation) or one sequence's ``gt/gt.txt``.
The folder is what ``mctrack reid train --data`` and ``mctrack reid eval --data`` read (format ``market1501``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
from typing import NamedTuple
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..config import is_live_source, load_cams
from ..errors import InputError, missing_file
from ..io.crops import CROP_NAME, MAX_PERSON_ID, CropCollector, crop_frames, label_rows
from ..io.mot import duplicate_id, load_mot_txt, outside_frame_problem
from ..io.video import FrameSource, open_source, warn_assumed_fps
from ..outputs import is_run_local_folder, output_folder

__all__ = ["add_crops_parser", "crops_main"]

log = logging.getLogger(__name__)

MANIFEST = "crops.json"
#: the export is built here, inside --out (same file system, so the final moves cannot fail across devices), and
#: moved into --out once complete; one left by a killed export is removed by the next
PARTIAL = ".reid-crops-partial"
SPLITS = ("bounding_box_train", "query", "bounding_box_test")


def add_crops_parser(s: argparse._SubParsersAction) -> None:
    k = s.add_parser(
        "crops",
        help="cut a Market-1501 folder of person crops from labelled footage",
        description="Cut person crops from a camera set's frames at its labelled boxes and write them as a "
        "Market-1501 folder (bounding_box_train, query, bounding_box_test; PPPP_cCs1_FFFFFF_00.jpg) that "
        "'mctrack reid train --data' and 'reid eval --data' read. Labels: each camera's ground_truth in "
        "cams.yaml, or a finished 'mctrack run --out' folder (its global ids: crops labelled by the tracker), "
        "or one --source with its --labels. Ids must name one person across cameras. People seen by two or more "
        "cameras are split between training and test (--test-fraction); the test people give one query per camera "
        "and the rest as gallery. A crops.json beside the splits records the sources, options and counts.",
    )
    k.add_argument("--cams", help="camera set (cams.yaml): each camera's frames and, by default, its ground_truth")
    k.add_argument(
        "--source",
        help="one camera instead of --cams: a video file, image folder or MOTChallenge sequence folder",
    )
    k.add_argument(
        "--labels",
        help="with --cams: a finished 'mctrack run --out' folder whose <camera>.txt replace the ground truth; with "
        "--source: its MOT label file (default for a sequence folder: SEQ/gt/gt.txt)",
    )
    k.add_argument(
        "--out",
        required=True,
        help="folder to write: new or empty, or an earlier export of this command with --overwrite",
    )
    k.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out (one with crops.json)")
    k.add_argument(
        "--every",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="least time between two crops of one person in one camera (default: 0.5)",
    )
    k.add_argument("--min-height", type=float, default=50.0, help="least box height in pixels for a crop (default: 50)")
    k.add_argument(
        "--min-visibility",
        type=float,
        default=0.6,
        help="least visible fraction of a box for a crop, in [0, 1] (default: 0.6): a MOT16/17 file's visibility "
        "column, else estimated from the boxes of people nearer the camera and the image edge",
    )
    k.add_argument(
        "--test-fraction",
        type=float,
        default=0.5,
        help="share of the people seen by two or more cameras held out as query and gallery, in (0, 1) (default: 0.5)",
    )
    k.add_argument("--seed", type=int, default=0, help="seed of the train/test split and the queries (default: 0)")
    k.add_argument(
        "--fps",
        type=float,
        help="with --source: its frame rate, where it has none of its own (an image folder; default: its own, else 30)",
    )
    k.add_argument("--no-progress", action="store_true", help="no progress bars")
    k.set_defaults(func=crops_main)


def _check_options(args: argparse.Namespace) -> None:
    if bool(args.cams) == bool(args.source):
        raise InputError("give either --cams (a camera set) or --source (one camera)")
    if not (math.isfinite(args.every) and 0 <= args.every <= 3600):
        raise InputError(f"--every {args.every}: must be a number of seconds in [0, 3600]")
    if not (math.isfinite(args.min_height) and args.min_height >= 0):
        raise InputError(f"--min-height {args.min_height}: must be a number of pixels >= 0")
    if not (math.isfinite(args.min_visibility) and 0 <= args.min_visibility <= 1):
        raise InputError(f"--min-visibility {args.min_visibility}: must be in [0, 1]")
    if not (math.isfinite(args.test_fraction) and 0 < args.test_fraction < 1):
        raise InputError(f"--test-fraction {args.test_fraction}: must be in (0, 1), e.g. 0.5")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: must be a whole number >= 0")
    if args.fps is not None and not (math.isfinite(args.fps) and 0 < args.fps <= 1000):
        raise InputError(f"--fps {args.fps}: must be a frame rate in (0, 1000]")
    if args.fps is not None and args.cams:
        raise InputError("--fps: with --cams, give each camera's rate as fps: in the camera set")


class _Camera(NamedTuple):
    id: str
    source: str
    labels: Path
    fps: float | None  # the camera set's (or --fps), else the source's own


def _cameras(args: argparse.Namespace) -> list[_Camera]:
    """The cameras to crop, in the camera set's order; their label files named, not yet read."""
    if args.source:
        src = Path(args.source)
        if src.is_file() and src.suffix.lower() in (".yaml", ".yml"):
            raise InputError(f"--source {src}: a camera set? give it as --cams")
        if not src.exists() and not args.labels and "://" not in str(args.source):  # helper-87: said --labels
            raise InputError(f"--source {src}: not found")
        if args.labels:
            labels = Path(args.labels)
        elif src.is_dir() and (src / "seqinfo.ini").is_file():
            labels = src / "gt" / "gt.txt"
        else:
            raise InputError(f"--source {src}: give its label file with --labels (a MOT file of person ids)")
        if labels.is_dir():
            raise InputError(f"--labels {labels}: a folder; with --source, give one MOT label file")
        name = src.stem if src.is_file() else src.resolve().name or "cam1"
        return [_Camera(name, str(src), labels, args.fps)]
    cams = load_cams(args.cams)
    run = Path(args.labels) if args.labels else None
    if run is None and cams.ground_truth_ids == "per_camera":
        raise InputError(
            f"{args.cams}: ground_truth_ids: per_camera: its cameras' ids name different people, which a Re-ID set "
            "cannot label as one; crop each camera on its own (--source with --labels), or a run's global ids "
            "(--labels RUN_DIR)"
        )
    if run is not None:
        if not run.is_dir():
            raise InputError(f"--labels {run}: with --cams, give a finished 'mctrack run --out' folder")
        if not (run / "summary.json").is_file():
            local = is_run_local_folder(run)
            raise InputError(
                f"--labels {run}: "
                + (
                    "a run's local/ files hold each camera's own track ids, not global ones; give the run folder"
                    if local
                    else "not a finished 'mctrack run --out' folder (no summary.json): its ids must be global"
                )
            )
    out = []
    for cam in cams.cameras:
        if is_live_source(cam.source):
            raise InputError(f"{args.cams}: camera {cam.id} is a live stream: only recorded frames can be cropped")
        if run is not None:
            labels = run / f"{cam.id}.txt"
        elif cam.ground_truth:
            labels = Path(cam.ground_truth)
        else:
            raise InputError(
                f"{args.cams}: camera {cam.id} has no ground_truth (or give a finished run's folder as --labels)"
            )
        out.append(_Camera(cam.id, cam.source, labels, cam.fps))
    return out


def _labels(path: Path, camera: str) -> tuple[np.ndarray, np.ndarray | None, int]:
    """A camera's label rows (:func:`mctrack.io.crops.label_rows`), checked for what a Market-1501 name holds."""
    if not path.is_file():
        raise InputError(f"camera {camera}: labels {path}: {missing_file(path)}")
    # boxes of negative size are an error naming the line, as eval's reader says them (they were dropped unsaid)
    rows, vis, dropped = label_rows(load_mot_txt(path, check_sizes=True))
    if len(rows):
        if repeated := duplicate_id(rows):  # the first box in file order was cropped, the other ignored
            frame, pid, _ = repeated
            raise InputError(
                f"{path}: id {pid} repeated within frame {frame} (two boxes for one person; a label file names "
                "each person once per frame)"
            )
        ids = rows[:, 1]
        bad = (ids < 1) | (ids > MAX_PERSON_ID) | (ids != np.round(ids))
        if bad.any():
            hint = ": a detection file? (its ids are -1)" if (ids == -1).all() else ""
            raise InputError(
                f"{path}: person id {_number(ids[bad][0])} cannot be written in a Market-1501 name (whole numbers "
                f"1-{MAX_PERSON_ID}){hint}"
            )
        if rows[:, 0].max() > 999_999:
            last = _number(rows[:, 0].max())
            raise InputError(f"{path}: frame {last} is beyond Market-1501's six-digit frame numbers")
    return rows, vis, dropped


def _number(value: float) -> str:
    """An id or frame number as written in a label file: a whole number in full (``:g`` wrote frame 1000000 as
    1e+06), anything else as it is."""
    return str(int(value)) if float(value).is_integer() else f"{value}"


def _open(cam: _Camera, rows: np.ndarray, fix: str) -> FrameSource:
    """The camera's frames, checked against its labels before anything is cropped: labels beyond the source's
    frames, or boxes far outside its frame size, are another source's."""
    source = open_source(cam.source, camera=cam.id, images_for="reid crops", fps=cam.fps)
    if not cam.fps:
        warn_assumed_fps(source, f"camera {cam.id} ({cam.source})", f"{fix} (crops are --every seconds apart)")
    if len(rows) and source.length and rows[:, 0].max() > source.length:
        raise InputError(
            f"{cam.labels}: labels reach frame {_number(rows[:, 0].max())}, but {cam.source} has {source.length} "
            "frames: the labels of another source?"
        )
    problem = outside_frame_problem(cam.labels, rows, *source.size, cam.source) if source.size else None
    if problem:  # the labels of another source, or boxes written as x1,y1,x2,y2
        raise InputError(problem)
    return source


def _old_export(args: argparse.Namespace) -> list[Path]:
    """``--out`` checked before any work: new or empty ([]), or, with ``--overwrite``, an earlier export of this
    command whose files (crops.json and the splits' crops, nothing else) are returned to be removed once the new
    export is complete. Anything else in it is refused, and nothing is removed. A partial export left by a killed
    run (:data:`PARTIAL`) counts as nothing."""
    out = Path(args.out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"--out {out}: " + ("a link" if out.is_symlink() else "a file") + ", not a folder")
    if not out.is_dir():
        return []
    children = sorted(c for c in out.iterdir() if c.name != PARTIAL)
    if not children:
        return []
    if not args.overwrite:
        raise InputError(f"--out {out}: not empty (pass --overwrite to replace an earlier export of reid crops)")
    if not (out / MANIFEST).is_file():
        # never empty a folder this command did not write: it may be a dataset (Market-1501's own names match)
        raise InputError(f"--out {out}: not an export of reid crops (no {MANIFEST}); give a new or empty folder")
    files = [out / MANIFEST]
    for child in children:
        if child.name == MANIFEST:
            continue
        if child.name not in SPLITS or child.is_symlink() or not child.is_dir():
            raise InputError(f"--out {out}: holds {child.name}, which reid crops did not write; nothing was removed")
        for f in sorted(child.iterdir()):
            if f.is_symlink() or not f.is_file() or not CROP_NAME.match(f.name):
                raise InputError(
                    f"--out {out}: holds {f.relative_to(out)}, which reid crops did not write; nothing was removed"
                )
            files.append(f)
    return files


def _no_test_warning(collector: CropCollector, counts: dict, test_fraction: float, out: Path) -> None:
    if counts["test_ids"]:
        return
    multi = collector.test_candidates()
    queried = collector.test_candidates(need_query=True)
    if len(multi) < 2:
        why = f"{len(multi)} people seen by two or more cameras (at least 2 are needed for a test split)"
    elif len(queried) < 2:
        why = (
            f"of {len(multi)} people seen by two or more cameras, {len(queried)} have two crops in one camera, "
            "which a query needs (a shorter --every gives more)"
        )
    else:
        why = f"--test-fraction {test_fraction:g} of {len(queried)} people rounds to none"
    log.warning(
        "%s: no test people, query and gallery are empty: %s; 'reid train' trains on it with --set evaluate=false "
        "(without rank-1 or mAP), 'reid eval' needs a test split",
        out,
        why,
    )


def crops_main(args: argparse.Namespace) -> int:
    _check_options(args)
    cameras = _cameras(args)
    labelled = [(cam, *_labels(cam.labels, cam.id)) for cam in cameras]  # every file read and checked first
    if len(cameras) > 9:  # Market-1501 has 6: torchreid and fast-reid read one digit (_c(\d)), c10 as camera 1
        log.warning(
            "%d cameras: cameras 10 and above are named c10, c11, ...; mctrack reads them, but tools that read "
            "Market-1501's camera as one digit (torchreid, fast-reid) take c10 for camera 1",
            len(cameras),
        )
    fix = "--fps" if args.source else "fps: in the camera set"
    sources = [_open(cam, rows, fix) for cam, rows, _, _ in labelled]
    old = _old_export(args)
    made = not Path(args.out).exists()
    out = output_folder("--out", args.out)
    tmp = out / PARTIAL
    try:
        try:
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp)  # a killed export's
            tmp.mkdir()
        except OSError as exc:
            raise InputError(f"--out {args.out}: cannot write in it ({exc.strerror or exc})") from None
        collector, counts, per_camera = _crop(args, labelled, sources, tmp)
        _no_test_warning(collector, counts, args.test_fraction, out)
        options = ("every", "min_height", "min_visibility", "test_fraction", "seed")
        manifest = {
            "cameras_yaml": str(Path(args.cams).resolve()) if args.cams else None,
            "cameras": per_camera,
            "options": {k: getattr(args, k) for k in options},
            "counts": counts,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _move_in(tmp, out, old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a failed or interrupted export into a new folder leaves none
    print(
        f"wrote {counts['train_images']} training crops of {counts['train_ids']} people, {counts['query_images']} "
        f"queries and {counts['gallery_images']} gallery crops of {counts['test_ids']} people to {out}"
    )
    return 0


def _move_in(tmp: Path, out: Path, old: list[Path]) -> None:
    """The complete export in ``tmp`` (inside ``out``) replaces the earlier one (``old``: checked to be all its
    files); ``crops.json`` moves last, as it marks an export complete."""
    try:
        for f in old:
            f.unlink()
        for split in SPLITS:
            if (out / split).is_dir():
                (out / split).rmdir()
        for child in sorted(tmp.iterdir(), key=lambda c: c.name == MANIFEST):
            os.replace(child, out / child.name)
    except OSError as exc:
        raise InputError(f"--out {out}: could not move the export in ({exc.strerror or exc})") from None


def _crop(
    args: argparse.Namespace, labelled: list, sources: list[FrameSource], folder: Path
) -> tuple[CropCollector, dict, dict]:
    """Every camera's crops, written as a Market-1501 split under ``folder``: (collector, counts, per camera)."""
    collector = CropCollector(
        min_visibility=args.min_visibility, min_height=args.min_height, test_fraction=args.test_fraction
    )
    per_camera = {}
    for index, ((cam, rows, vis, dropped), source) in enumerate(zip(labelled, sources, strict=True), start=1):
        collector.every = max(1, int(round(args.every * source.fps)))  # frames, at this camera's rate
        before = sum(len(v) for v in collector.crops.values())
        total = int(rows[:, 0].max()) if len(rows) else 0
        with tqdm(total=total, desc=f"crops {cam.id}", unit="frame", disable=args.no_progress) as bar:
            for _ in crop_frames(source, rows, vis, index, collector):
                bar.update(1)
        taken = sum(len(v) for v in collector.crops.values()) - before
        per_camera[cam.id] = {
            "index": index,
            "source": str(Path(cam.source).resolve()),
            "labels": str(cam.labels.resolve()),
            "fps": source.fps,
            "every_frames": collector.every,
            "label_rows": len(rows),
            "rows_ignored": dropped,
            "crops": taken,
        }
        if not taken:
            why = (
                "the file has no rows"
                if not dropped and not len(rows)
                else f"all {dropped} rows are marked to ignore (conf 0) or not pedestrians"
                if dropped and not len(rows)
                else f"none of its {len(rows)} label rows gave a box at least --min-height {args.min_height:g} px "
                f"tall and --min-visibility {args.min_visibility:g} visible in a frame that could be read"
            )
            log.warning("camera %s: no crop taken from %s: %s", cam.id, cam.labels, why)
    if not collector.crops:
        raise InputError("no crop taken from any camera (see the warnings): nothing was written")
    counts = collector.write(folder, np.random.default_rng(args.seed), need_query=True)
    return collector, counts, per_camera
