"""What a run writes when its cameras are done: MOT files with global ids, ``identities.csv``, annotated videos,
the identity gallery (``gallery.jpg``), the single-file multi-camera export (``aicity.txt``), ``summary.json`` and
``eval.json``; every file is written under a temporary name and renamed when complete, so a
full disk or a kill never leaves a truncated file where a complete one is expected.

``OUT/<camera>.txt`` is made from ``OUT/local/<camera>.txt`` (written frame by frame during the run) line by line,
so a long run does not need its rows in memory.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
from tqdm import tqdm

from .errors import InputError, error_line
from .io.mot import load_mot_txt
from .io.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, AnnotatedVideoWriter, FrameSource
from .online import TrackletSummary
from .types import Tracklet, Tracks

__all__ = [
    "output_file",
    "output_folder",
    "atomic_write_text",
    "write_json",
    "write_global_rows",
    "write_identities",
    "write_annotated_video",
    "RUN_FILES",
    "RUN_LOCK",
    "gallery_picks",
    "write_gallery",
    "aicity_camera_numbers",
    "write_aicity",
    "check_output_folder",
    "temporary_name",
    "earlier_outputs",
]

log = logging.getLogger(__name__)


def _check_writable(option: str, value: str | Path, folder: Path) -> None:
    """An :class:`InputError` naming ``option`` unless a file can be made in ``folder``: ``os.access`` says yes to
    root everywhere (/proc, some mounts), a file made and removed there says it."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".mctrack-write-check-"):
            pass
    except OSError as err:
        raise InputError(f"{option} {value}: not writable ({err.strerror or error_line(err)})") from None


def _check_links(option: str, value: str | Path, folder: Path) -> None:
    """An :class:`InputError` naming ``option`` (given as ``value``) when ``folder`` or a folder above it is a
    symbolic link to nothing (``exists()`` says False for it, and creating the folder fails with a bare "File
    exists")."""
    for p in (folder, *folder.parents):
        if p.is_symlink() and not p.exists():
            raise InputError(f"{option} {value}: {p} is a symbolic link to {os.readlink(p)}, which does not exist")
        if p.exists():
            return


def output_folder(option: str, value: str | Path) -> Path:
    """``value`` of ``option`` as a folder to write into, checked before any work: created when missing, not a file,
    writable; otherwise an :class:`InputError` naming the option."""
    folder = Path(value)
    _check_links(option, value, folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{option} {value}: a file is there, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{option} {value}: cannot create the folder ({err.strerror or error_line(err)})") from None
    _check_writable(option, value, folder)
    return folder


def check_output_folder(option: str, value: str | Path) -> None:
    """An :class:`InputError` naming ``option`` unless ``value`` can become a folder to write into, checked without
    creating anything: an existing folder must be writable; a missing one needs its nearest existing parent to be
    a writable folder. For a command that has more to check before it may leave a folder behind."""
    folder = Path(value)
    _check_links(option, value, folder)
    above = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if above is None:  # nothing on the way exists (a relative path's base always does)
        return
    if not above.is_dir():
        what = "a file is there, not a folder" if above == folder else f"{above} is a file, not a folder"
        raise InputError(f"{option} {value}: {what}")
    _check_writable(option, value, above)


def output_file(option: str, value: str | Path, suffixes: tuple[str, ...] = ()) -> Path:
    """``value`` of ``option`` as the path of a file to write, checked before any work: not a folder, one of
    ``suffixes`` (when given), in a writable folder (created when missing), itself writable when it exists;
    otherwise an :class:`InputError` naming the option."""
    out = Path(value)
    _check_links(option, value, out.parent)
    if out.is_dir():
        raise InputError(f"{option} {value}: is a folder, not a file")
    if suffixes and out.suffix.lower() not in suffixes:
        raise InputError(f"{option} {value}: must end in {' or '.join(suffixes)}")
    folder = out.parent
    for above in (folder, *folder.parents):  # the nearest existing folder on the way must be a folder
        if above.exists():
            if not above.is_dir():
                raise InputError(f"{option} {value}: {above} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(
            f"{option} {value}: cannot create its folder {folder} ({err.strerror or error_line(err)})"
        ) from None
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"{option} {value}: not writable")
    _check_writable(option, value, folder)
    return out


def temporary_name(path: Path) -> Path:
    """Where a file ``path`` is written before it is renamed into place: hidden, in the same folder; an image or
    video keeps its suffix (which chooses the writer's format), any other file ends in ``.tmp``, so that a
    temporary ``cam1.txt`` is never taken for a result by whatever lists a folder's ``*.txt``."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        return path.with_name(f".{path.stem}.tmp{path.suffix}")
    return path.with_name(f".{path.name}.tmp")


def written_over(inputs: Iterable[tuple[str, str | Path]], written: Iterable[Path]) -> tuple[str, str, Path] | None:
    """The first of ``inputs`` ((what it is, file)) that is one of the files ``written`` (what a command writes or
    replaces, temporary names included), by real path (a link or another spelling counts), as (what, file, the
    written path), or None: a command checks its inputs with this before it opens an output, so that it never
    replaces what it reads."""
    targets = {os.path.realpath(p): p for p in written}
    for what, value in inputs:
        hit = targets.get(os.path.realpath(value))
        if hit is not None:
            return what, str(value), hit
    return None


@contextmanager
def _replacing(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text file that replaces ``path`` (by a rename) only when the block completes."""
    path = Path(path)
    tmp = temporary_name(path)
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


def write_run_record(
    path: Path,
    result: Path,
    *,
    frames: int,
    source_frames: int | None,
    stopped: str | None,
    settings: dict,
    provenance: dict,
    rows: int | None = None,
    live: dict | None = None,
) -> None:
    """Write ``path``, the record of a ``mctrack track`` run beside its ``result`` file: what made it (settings,
    and ``provenance``: :func:`reid_models.provenance.provenance`'s git commit, command line and package versions)
    and how far it got
    (``frames`` tracked of ``source_frames``; ``stopped``: why it stopped before the source's end, such as
    ``"interrupted"``, None when it read the source to its end), so that the numbers can be repeated and an
    incomplete result is known as one (``mctrack eval`` reads it back: :func:`mctrack.io.mot.incomplete_result`).
    ``live``: a live stream's counts (``dropped_frames``, ``reconnects``, ``outage_s``, as ``mctrack run``'s
    summary.json has them per camera), recorded as ``live``."""
    record = {
        "result": result.name,
        "complete": stopped is None,
        "stopped": stopped,
        "frames": frames,
        "source_frames": source_frames,
        "rows": rows,
        "settings": settings,
        "provenance": provenance,
    }
    if live is not None:
        record["live"] = live
    write_json(path, record)


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


def write_annotated_video(
    path: Path, src: FrameSource, rows_file: Path, camera: str, frames: int, fps: float, *, progress: bool = False
) -> None:
    """``path``: the first ``frames`` frames of ``src`` with the boxes and ids of the MOT file ``rows_file``
    (``progress``: a progress bar on stderr). Written under a temporary name and renamed when complete, so an
    interrupted or failed video never passes for a whole one."""
    path = Path(path)
    rows = load_mot_txt(rows_file) if Path(rows_file).is_file() else np.zeros((0, 10))
    index = rows[:, 0].astype(np.int64) - 1 if len(rows) else np.zeros(0, np.int64)
    bounds = np.searchsorted(index, np.arange(frames + 1))
    bar = tqdm(total=frames, desc=f"video {camera}", unit="frame", disable=not progress)
    tmp = temporary_name(path)
    try:
        with AnnotatedVideoWriter(tmp, fps, src.size, shown_as=path) as writer, bar:
            for frame in src:
                if frame.index >= frames:
                    break
                sel = rows[bounds[frame.index] : bounds[frame.index + 1]]
                xyxy = (
                    np.concatenate([sel[:, 2:4], sel[:, 2:4] + sel[:, 4:6]], axis=1) if len(sel) else np.zeros((0, 4))
                )
                ids = sel[:, 1].astype(np.int64)
                writer.write(frame, Tracks(camera, frame.index, ids, xyxy, sel[:, 6], np.zeros(len(sel), np.int64)))
                bar.update()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def gallery_picks(
    tracklets: Iterable[Tracklet], lookup: dict[tuple[str, int], int], candidates: int = 5
) -> dict[str, dict[int, tuple[tuple[int, np.ndarray], ...]]]:
    """``{camera: {global id: ((frame index, xyxy), ...)}}``: per identity and camera, the ``candidates`` frames
    where its box is largest (the clearest views), largest first, over all of its tracklets in that camera. The
    gallery takes the first whose frame can be read (a frame that could not be decoded has rows from a detection
    file, but no image)."""
    best: dict[str, dict[int, list[tuple[float, int, np.ndarray]]]] = {}
    for t in tracklets:
        gid = lookup.get((t.camera, int(t.track_id)))
        if not gid or not len(t.frames):
            continue
        area = (t.xyxy[:, 2] - t.xyxy[:, 0]) * (t.xyxy[:, 3] - t.xyxy[:, 1])
        top = np.argsort(-area, kind="stable")[:candidates]
        mine = best.setdefault(t.camera, {}).setdefault(gid, [])
        mine.extend((float(area[i]), int(t.frames[i]), t.xyxy[i].astype(np.float64)) for i in top)
        mine.sort(key=lambda c: -c[0])  # stable: of equal areas the earlier tracklet's first
        del mine[candidates:]
    return {cam: {g: tuple((f, box) for _, f, box in c) for g, c in picks.items()} for cam, picks in best.items()}


GALLERY_CELL = (64, 128)  # width, height of one crop in the gallery


def _cell(image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """The box's crop, scaled to fit a gallery cell (aspect kept, grey padding)."""
    w, h = GALLERY_CELL
    cell = np.full((h, w, 3), 40, np.uint8)
    x1, y1, x2, y2 = np.round(xyxy).astype(int)
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = min(x2, image.shape[1]), min(y2, image.shape[0])
    if x2 <= x1 or y2 <= y1:
        return cell
    crop = image[y1:y2, x1:x2]
    scale = min(w / crop.shape[1], h / crop.shape[0])
    cw, ch = max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale))
    cell[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw] = cv2.resize(crop, (cw, ch))
    return cell


def write_gallery(
    path: Path,
    picks: dict[str, dict[int, tuple[tuple[int, np.ndarray], ...]]],
    sources: dict[str, FrameSource],
    *,
    max_ids: int = 200,
) -> int:
    """``path`` (JPEG): one row per global identity, one column per camera, each cell the identity's clearest crop
    in that camera (:func:`gallery_picks`: the largest box whose frame can be read; empty where it was not seen).
    Identities seen by the most cameras come first (ties by id); at most ``max_ids`` rows. ``sources``: each
    camera's frames, read up to the last frame needed. Returns the rows
    drawn (0: nothing written)."""
    cameras = [c for c in sources if picks.get(c)]
    ids = sorted({g for c in cameras for g in picks[c]}, key=lambda g: (-sum(g in picks[c] for c in cameras), g))
    if len(ids) > max_ids:
        log.warning("%s shows %d of %d identities (those seen by the most cameras first)", path, max_ids, len(ids))
    ids = ids[:max_ids]
    if not ids:
        return 0
    shown = set(ids)
    cameras = [c for c in cameras if shown & picks[c].keys()]  # a camera none of the shown identities was seen by
    crops: dict[tuple[str, int], np.ndarray] = {}
    for cam in cameras:
        wanted: dict[int, list[tuple[int, int]]] = {}  # frame -> (global id, candidate rank)
        for g in ids:
            for rank, (frame, _) in enumerate(picks[cam].get(g, ())):
                wanted.setdefault(frame, []).append((g, rank))
        if not wanted:
            continue
        found: dict[int, dict[int, np.ndarray]] = {}  # global id -> {rank: cell}
        pending = {g for g in ids if picks[cam].get(g)}  # without their largest view yet
        last = max(wanted)
        for frame in sources[cam]:
            if frame.index > last or not pending:  # all frames readable: read up to the last largest view only
                break
            if frame.image is not None and frame.index in wanted:
                for g, rank in wanted[frame.index]:
                    found.setdefault(g, {})[rank] = _cell(frame.image, picks[cam][g][rank][1])
                    if rank == 0:
                        pending.discard(g)
        for g, cells in found.items():
            crops[(cam, g)] = cells[min(cells)]  # the largest view whose frame has an image
    w, h = GALLERY_CELL
    label_w, header_h = 72, 24
    canvas = np.full((header_h + len(ids) * (h + 4), label_w + len(cameras) * (w + 4), 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for j, cam in enumerate(cameras):
        label = cam if len(cam) <= 10 else "~" + cam[-9:]  # the end tells cameras of one site apart (..._cam1)
        cv2.putText(canvas, label, (label_w + j * (w + 4), 16), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for i, g in enumerate(ids):
        y = header_h + i * (h + 4)
        cv2.putText(canvas, f"id {g}", (4, y + h // 2), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for j, cam in enumerate(cameras):
            cell = crops.get((cam, g))
            if cell is None:
                continue
            x = label_w + j * (w + 4)
            canvas[y : y + h, x : x + w] = cell
    path = Path(path)
    tmp = temporary_name(path)
    if not cv2.imwrite(str(tmp), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        tmp.unlink(missing_ok=True)
        raise OSError(f"{path}: could not write the gallery image")
    os.replace(tmp, path)
    return len(ids)


def aicity_camera_numbers(cameras: list[str]) -> dict[str, int]:
    """AI City's integer camera ids: the digits that end each camera id (``c041`` -> 41, ``cam2`` -> 2) when they
    are unique, else 1, 2, ... in the given order."""
    nums = {}
    for c in cameras:
        digits = c[len(c.rstrip("0123456789")) :]
        nums[c] = int(digits) if digits else None
    if None in nums.values() or len(set(nums.values())) != len(nums):
        return {c: i + 1 for i, c in enumerate(cameras)}
    return nums


def write_aicity(
    path: Path,
    rows_files: dict[str, Path],
    homographies: dict[str, np.ndarray],
    numbers: dict[str, int] | None = None,
) -> int:
    """``path``: every camera's global-id rows in one file, AI City Challenge multi-camera format, one line per box:
    ``camera obj_id frame x y w h xworld yworld`` (space separated, integer camera ids from
    :func:`aicity_camera_numbers`, frames 1-based; the world position is the box's foot point, bottom centre, on the
    ground plane of the camera's calibration, ``-1 -1`` without one; ``numbers``: the camera numbers, default
    from ``rows_files``' cameras). Returns the lines written."""
    numbers = numbers or aicity_camera_numbers(list(rows_files))
    n = 0
    with _replacing(path) as fh:
        for cam, rows_file in rows_files.items():
            rows = load_mot_txt(rows_file) if Path(rows_file).is_file() else np.zeros((0, 10))
            if not len(rows):
                continue
            world = np.full((len(rows), 2), -1.0)
            if cam in homographies:
                foot = np.c_[rows[:, 2] + rows[:, 4] / 2, rows[:, 3] + rows[:, 5], np.ones(len(rows))]
                g = foot @ homographies[cam].T
                ok = np.abs(g[:, 2]) > 1e-12
                world[ok] = g[ok, :2] / g[ok, 2:3]
            for r, (wx, wy) in zip(rows, world, strict=True):
                fh.write(
                    f"{numbers[cam]} {int(r[1])} {int(r[0])} {r[2]:.2f} {r[3]:.2f} {r[4]:.2f} {r[5]:.2f} "
                    f"{wx:.3f} {wy:.3f}\n"
                )
                n += 1
    return n


#: the files in a run's output folder that describe the whole run (a new run removes an earlier run's at its start)
RUN_FILES = ("summary.json", "eval.json", "identities.csv", "aicity.txt", "gallery.jpg")

#: the lock a run holds on its output folder while it writes there (left behind empty: it marks a run's folder)
RUN_LOCK = ".mctrack-run.lock"


def is_run_local_folder(path: Path) -> bool:
    """Whether ``path`` is a run's ``local/`` folder (each camera's rows with the camera's own track ids, not the
    global ones): named so, beside a run's summary.json or lock."""
    path = Path(path).resolve()  # (a link to a run's local/ folder is one too)
    return path.name == "local" and any((path.parent / name).is_file() for name in ("summary.json", RUN_LOCK))


def earlier_outputs(out: Path, cameras: list[str]) -> list[str]:
    """Files in ``out`` that an earlier run (finished or not) wrote and this run will not replace (they would be
    mistaken for this run's): other cameras' results, videos, local rows and tracklets. (The run's own files,
    :data:`RUN_FILES`, and its cameras' results are removed when a run starts.)"""
    out = Path(out)
    if not ((out / "summary.json").is_file() or (out / "local").is_dir()):
        return []
    # the cameras of earlier runs: each left its local rows, and a finished run its summary (a user's README.txt or
    # the input video of a sequence folder given as --out is no camera's and was named as an earlier run's)
    earlier = {p.stem for p in (out / "local").glob("*.txt")}
    try:
        earlier |= set(json.loads((out / "summary.json").read_text())["cameras"])
    except Exception:  # noqa: BLE001 - no readable summary: the local rows say it
        pass
    # hidden files are not results (the temporary video a killed run left is removed when a run starts)
    stale = [
        p.name
        for p in sorted(out.glob("*.txt")) + sorted(out.glob("*.mp4"))
        if p.stem in earlier and p.stem not in cameras and not p.name.startswith(".")
    ]
    stale += [f"local/{p.name}" for p in sorted((out / "local").glob("*.txt")) if p.stem not in cameras]
    stale += [
        f"tracklets/{p.name}"
        for p in sorted((out / "tracklets").glob("*.npz"))
        if p.stem.rsplit("-", 1)[0] not in cameras
    ]
    return stale
