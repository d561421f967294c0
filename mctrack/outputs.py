"""What a run writes when its cameras are done: MOT files with global ids, ``identities.csv``, annotated videos,
``summary.json`` and ``eval.json``; every file is written under a temporary name and renamed when complete, so a
full disk or a kill never leaves a truncated file where a complete one is expected.

``OUT/<camera>.txt`` is made from ``OUT/local/<camera>.txt`` (written frame by frame during the run) line by line,
so a long run does not need its rows in memory.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import numpy as np

from .io.mot import load_mot_txt
from .io.video import AnnotatedVideoWriter, FrameSource
from .online import TrackletSummary
from .types import Tracks

__all__ = [
    "atomic_write_text",
    "write_json",
    "write_global_rows",
    "write_identities",
    "write_annotated_video",
    "earlier_outputs",
]

log = logging.getLogger(__name__)


@contextmanager
def _replacing(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text file that replaces ``path`` (by a rename) only when the block completes."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline=newline) as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    with _replacing(path) as fh:
        fh.write(text)


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def write_global_rows(local: Path, path: Path, camera: str, lookup: dict[tuple[str, int], int]) -> int:
    """``path``: the rows of ``local`` (MOT, local ids) with global ids; rows of tracks without a global id are
    dropped. Returns the rows written."""
    n = 0
    with _replacing(path) as dst:
        if Path(local).is_file():
            with Path(local).open("r", encoding="utf-8") as src:
                for line in src:
                    frame, tid, rest = line.split(",", 2)
                    gid = lookup.get((camera, int(tid)))
                    if gid:
                        dst.write(f"{frame},{gid},{rest}")
                        n += 1
    return n


def write_identities(path: Path, summaries: Iterable[TrackletSummary], lookup: dict[tuple[str, int], int]) -> None:
    """``identities.csv``: one row per tracklet with a global id (camera, local id order)."""
    rows = sorted((s for s in summaries if (s.camera, s.track_id) in lookup), key=lambda s: (s.camera, s.track_id))
    header = ["camera", "local_id", "global_id", "first_time", "last_time", "first_frame", "last_frame", "frames"]
    with _replacing(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for s in rows:
            gid = lookup[(s.camera, s.track_id)]
            times = (f"{s.first_time:.3f}", f"{s.last_time:.3f}")
            w.writerow([s.camera, s.track_id, gid, *times, s.first_frame + 1, s.last_frame + 1, s.frames])


def write_annotated_video(path: Path, src: FrameSource, rows_file: Path, camera: str, frames: int, fps: float) -> None:
    """``path``: the first ``frames`` frames of ``src`` with the boxes and ids of the MOT file ``rows_file``."""
    rows = load_mot_txt(rows_file) if Path(rows_file).is_file() else np.zeros((0, 10))
    index = rows[:, 0].astype(np.int64) - 1 if len(rows) else np.zeros(0, np.int64)
    bounds = np.searchsorted(index, np.arange(frames + 1))
    with AnnotatedVideoWriter(path, fps, src.size) as writer:
        for frame in src:
            if frame.index >= frames:
                break
            sel = rows[bounds[frame.index] : bounds[frame.index + 1]]
            xyxy = np.concatenate([sel[:, 2:4], sel[:, 2:4] + sel[:, 4:6]], axis=1) if len(sel) else np.zeros((0, 4))
            writer.write(
                frame,
                Tracks(camera, frame.index, sel[:, 1].astype(np.int64), xyxy, sel[:, 6], np.zeros(len(sel), np.int64)),
            )


def earlier_outputs(out: Path, cameras: list[str], *, video: bool, evaluated: bool) -> list[str]:
    """Files in ``out`` that an earlier run (finished or not) wrote and this run will not replace (they would be
    mistaken for this run's): other cameras' results, videos, local rows and tracklets, an ``eval.json`` when this
    run has no ground truth."""
    out = Path(out)
    if not ((out / "summary.json").is_file() or (out / "local").is_dir()):
        return []
    ours = {f"{c}.txt" for c in cameras} | ({f"{c}.mp4" for c in cameras} if video else set())
    stale = [p.name for p in sorted(out.glob("*.txt")) + sorted(out.glob("*.mp4")) if p.name not in ours]
    stale += [f"local/{p.name}" for p in sorted((out / "local").glob("*.txt")) if p.stem not in cameras]
    stale += [
        f"tracklets/{p.name}"
        for p in sorted((out / "tracklets").glob("*.npz"))
        if p.stem.rsplit("-", 1)[0] not in cameras
    ]
    if not evaluated and (out / "eval.json").is_file():
        stale.append("eval.json")
    return stale
