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
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..config import load_cams
from ..errors import InputError, missing_file
from ..io.crops import MAX_PERSON_ID, CropCollector, crop_frames, label_rows
from ..io.mot import load_mot_txt
from ..io.video import open_source
from ..outputs import atomic_write_text, output_folder

__all__ = ["add_crops_parser", "crops_main"]

log = logging.getLogger(__name__)

MANIFEST = "crops.json"
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


def _cameras(args: argparse.Namespace) -> list[tuple[str, str, Path, float | None]]:
    """``(camera id, source, label file, fps from the camera set)`` per camera, in the camera set's order."""
    if args.source:
        src = Path(args.source)
        labels = Path(args.labels) if args.labels else src / "gt" / "gt.txt"
        if not args.labels and not (src.is_dir() and (src / "seqinfo.ini").is_file()):
            raise InputError(f"--source {src}: give its label file with --labels (a MOT file of person ids)")
        return [(src.stem if src.is_file() else src.name or "cam1", str(src), labels, None)]
    cams = load_cams(args.cams)
    out = []
    for cam in cams.cameras:
        if args.labels:
            labels = Path(args.labels) / f"{cam.id}.txt"
        elif cam.ground_truth:
            labels = Path(cam.ground_truth)
        else:
            raise InputError(
                f"{args.cams}: camera {cam.id} has no ground_truth (or give a finished run's folder as --labels)"
            )
        out.append((cam.id, cam.source, labels, cam.fps))
    return out


def _prepare_out(args: argparse.Namespace) -> Path:
    """``--out``, checked: new or empty, or an earlier export (its crops.json) that ``--overwrite`` empties."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not args.overwrite:
            raise InputError(f"--out {out}: not empty (pass --overwrite to replace an earlier export of reid crops)")
        if not (out / MANIFEST).is_file():
            # never empty a folder this command did not write: it may be a dataset (Market-1501's own names match)
            raise InputError(f"--out {out}: not an export of reid crops (no {MANIFEST}); give a new or empty folder")
        for child in out.iterdir():
            if child.is_dir() and child.name in SPLITS:
                shutil.rmtree(child)
            elif child.name == MANIFEST:
                child.unlink()
        if any(out.iterdir()):
            raise InputError(f"--out {out}: holds other files than an export of reid crops; give a new or empty folder")
    return output_folder("--out", out)


def _labels(path: Path, camera: str) -> tuple[np.ndarray, np.ndarray | None, int]:
    if not path.is_file():
        raise InputError(f"camera {camera}: labels {path}: {missing_file(path)}")
    rows, vis, dropped = label_rows(load_mot_txt(path))
    if len(rows):
        ids = rows[:, 1]
        bad = (ids < 1) | (ids > MAX_PERSON_ID) | (ids != np.round(ids))
        if bad.any():
            raise InputError(
                f"{path}: person id {ids[bad][0]:g} cannot be written in a Market-1501 name (whole numbers "
                f"1-{MAX_PERSON_ID})"
            )
        if rows[:, 0].max() > 999_999:
            raise InputError(f"{path}: frame {rows[:, 0].max():g} is beyond Market-1501's six-digit frame numbers")
    return rows, vis, dropped


def crops_main(args: argparse.Namespace) -> int:
    _check_options(args)
    cameras = _cameras(args)
    labelled = [(cam, src, path, fps, *_labels(path, cam)) for cam, src, path, fps in cameras]  # all checked first
    out = _prepare_out(args)
    collector = CropCollector(
        min_visibility=args.min_visibility,
        min_height=args.min_height,
        test_fraction=args.test_fraction,
    )
    per_camera = {}
    for index, (cam, src, path, fps, rows, vis, dropped) in enumerate(labelled, start=1):
        source = open_source(src, camera=cam)
        rate = fps or source.fps
        collector.every = max(1, int(round(args.every * rate)))  # frames, at this camera's rate
        before = sum(len(v) for v in collector.crops.values())
        total = int(rows[:, 0].max()) if len(rows) else 0
        bar = tqdm(total=total, desc=f"crops {cam}", unit="frame", disable=args.no_progress)
        with bar:
            for _ in crop_frames(source, rows, vis, index, collector):
                bar.update(1)
        taken = sum(len(v) for v in collector.crops.values()) - before
        per_camera[cam] = {"index": index, "labels": str(path), "label_rows": len(rows), "crops": taken}
        if dropped:
            per_camera[cam]["rows_ignored"] = dropped
        if not taken:
            log.warning("camera %s: no crop taken from %s (%d label rows)", cam, path, len(rows))
    counts = collector.write(out, np.random.default_rng(args.seed))
    if not counts["test_ids"]:
        log.warning(
            "%s: no test people (query and gallery are empty): only people seen by two or more cameras are held out",
            out,
        )
    manifest = {
        "cameras": per_camera,
        "options": {k: getattr(args, k) for k in ("every", "min_height", "min_visibility", "test_fraction", "seed")},
        "counts": counts,
    }
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    print(
        f"wrote {counts['train_images']} training crops of {counts['train_ids']} people, {counts['query_images']} "
        f"queries and {counts['gallery_images']} gallery crops of {counts['test_ids']} people to {out}"
    )
    return 0
