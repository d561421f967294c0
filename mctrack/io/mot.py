"""MOTChallenge files: ``det.txt``, ``gt.txt``, result files and ``seqinfo.ini``.

A MOT text row is ``frame, id, left, top, width, height, conf, x, y, z`` (comma separated, frames 1-based).
Public detections use id -1; ground truth uses ``conf`` as the "consider" flag and, in MOT16+, column 8 as the
class and column 9 as the visibility. Inside mctrack frame indices are 0-based: MOT frame = index + 1.
"""

from __future__ import annotations

import ast
import configparser
import io
import json
import logging
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, first_line, missing_file
from ..types import MAX_FPS, Detections

__all__ = [
    "load_mot_txt",
    "marked_to_count",
    "duplicate_id",
    "duplicate_id_problem",
    "save_mot_txt",
    "mot_rows",
    "MotWriter",
    "detections_by_frame",
    "SeqInfo",
    "read_seqinfo",
    "read_seq_length",
    "read_frame_size",
    "share_far_outside",
    "corner_rows_problem",
    "outside_frame_problem",
    "all_outside_problem",
    "write_seqinfo",
]

N_COLS = 10

log = logging.getLogger(__name__)


MAX_FRAME = 100_000_000  # ~46 days at 25 fps: a larger frame number is a broken file, not a long video
MAX_ID = 2**31 - 1  # ids are stored as int64 and written as integers; larger ones are a broken file
MAX_COORD = 1e5  # pixels: no camera has boxes this far out


def load_mot_txt(
    path: str | Path,
    *,
    skip_bad_boxes: bool = False,
    check_sizes: bool = False,
    needs_score: bool = False,
    file_order: bool = False,
) -> np.ndarray:
    """Rows of a MOT text file as a ``(K, 10)`` float64 array sorted by frame then id (``file_order``: by frame
    only, in the file's order within a frame, as TrackEval reads them: the order decides its matching's ties).

    Accepts comma- or whitespace-separated rows of 6 to 10 columns (missing trailing columns become -1) and an
    empty file. A missing file, a malformed row, a frame that is not an integer in ``1..MAX_FRAME`` or a
    non-finite id is an :class:`InputError` naming the file and line. A row whose box or score is not finite is
    an error too, unless ``skip_bad_boxes`` (detection files): then such rows, and boxes of zero or negative
    size or beyond ``MAX_COORD`` pixels, are skipped with one warning naming the file, the count and the first line.
    ``check_sizes`` (ground truth and result files, which are scored row by row and must not lose rows): a box of
    negative width or height is an :class:`InputError` naming the file and line. A row of 6 values counts with score
    1.0; ``needs_score`` (detection files, whose scores the tracker's thresholds read) warns about such rows.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {missing_file(p)}")
    rows, skipped, first_skipped, scoreless, first_scoreless = [], 0, 0, 0, 0
    # utf-8-sig: a byte-order mark (as some Windows editors write) is not part of the first number
    with p.open("r", encoding="utf-8-sig", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # fields between commas, each also split at whitespace (a mixed "1,2,...,0.9 -1 -1 -1" row reads as
            # before); a blank field is kept as "" to be caught below
            parts = [tok for field in line.split(",") for tok in (field.split() or [""])]
            while parts and parts[-1] == "":  # trailing commas (blank trailing cells of a spreadsheet or pandas)
                parts.pop()
            if "" in parts:  # dropping it would shift every later column into the wrong one
                raise InputError(f"{p}: line {lineno}: empty field (column {parts.index('') + 1}) in {line[:60]!r}")
            if not 6 <= len(parts) <= N_COLS:
                raise InputError(f"{p}: line {lineno}: expected 6 to {N_COLS} values, got {len(parts)}")
            try:
                values = [float(v) for v in parts]
            except ValueError:
                raise InputError(f"{p}: line {lineno}: not a number in {line[:60]!r}") from None
            if len(values) < 7:
                values.append(1.0)  # no confidence column: count the row
                scoreless += 1
                first_scoreless = first_scoreless or lineno
            frame, ident = values[0], values[1]
            if not (np.isfinite(frame) and frame == round(frame) and 1 <= frame <= MAX_FRAME):
                raise InputError(
                    f"{p}: line {lineno}: frame must be an integer in 1..{MAX_FRAME:,} (MOT frames are "
                    f"1-based), got {parts[0][:20]}"
                )
            if not (np.isfinite(ident) and ident == round(ident) and abs(ident) <= MAX_ID):
                # a box's left edge where the id belongs: a row written without its id column (frame,x,y,w,h,score)
                shifted = len(parts) < N_COLS and np.isfinite(ident) and ident != round(ident)
                raise InputError(
                    f"{p}: line {lineno}: id must be an integer of at most {MAX_ID:,}, got {parts[1][:20]}"
                    + (
                        f" (a row of {len(parts)} values: written without its id column? MOT rows are frame, id, "
                        "left, top, width, height, score, ...; -1 as the id of a detection)"
                        if shifted
                        else ""
                    )
                )
            box = values[2:7]
            bad = not all(np.isfinite(v) for v in box)
            if skip_bad_boxes and not bad:
                x, y, w, h = box[:4]
                bad = not (w > 0 and h > 0 and max(abs(x), abs(y), abs(x + w), abs(y + h)) <= MAX_COORD)
            if bad:
                if not skip_bad_boxes:
                    raise InputError(f"{p}: line {lineno}: box and score must be finite numbers, got {line[:60]!r}")
                skipped += 1
                first_skipped = first_skipped or lineno
                continue
            if check_sizes and (box[2] < 0 or box[3] < 0):
                raise InputError(
                    f"{p}: line {lineno}: box width and height must be >= 0, got {parts[4][:20]} x {parts[5][:20]}"
                )
            rows.append(values + [-1.0] * (N_COLS - len(values)))
    if skipped:
        log.warning(
            "%s: %d row(s) skipped: box or score not finite, box of zero or negative size or beyond %g px "
            "(first: line %d)",
            p,
            skipped,
            MAX_COORD,
            first_skipped,
        )
    if needs_score and scoreless:
        log.warning(
            "%s: %d row(s) of 6 values have no score column (first: line %d): each counts as score 1.0, so every "
            "score threshold of the tracker keeps them",
            p,
            scoreless,
            first_scoreless,
        )
    if not rows:
        return np.zeros((0, N_COLS), np.float64)
    arr = np.asarray(rows, np.float64)
    order = np.argsort(arr[:, 0], kind="stable") if file_order else np.lexsort((arr[:, 1], arr[:, 0]))
    return arr[order]


def marked_to_count(conf: np.ndarray) -> np.ndarray:
    """Which rows of MOTChallenge ground truth are people to count, from its ``conf`` column (column 7): those not
    marked 0. MOTChallenge files hold 1 or 0 there. A fraction between 0 and 1 (a file that put a score or a
    visibility there) counts here; TrackEval reads the column as an integer and ignores such rows, so the
    evaluation warns about them (:func:`mctrack.eval.mot.warn_if_conf_fractions`)."""
    return np.asarray(conf, np.float64) != 0


def duplicate_id(rows: np.ndarray) -> tuple[int, int, int] | None:
    """``(frame, id, times)`` of the first id that appears more than once within one frame of MOT ``rows`` (ground
    truth and label files must not: which box is the person?), or None."""
    if not len(rows):
        return None
    key = np.stack([rows[:, 0], rows[:, 1]], axis=1)
    uniq, counts = np.unique(key, axis=0, return_counts=True)
    if (counts > 1).any():
        f, i = uniq[np.flatnonzero(counts > 1)[0]]
        return int(f), int(i), int(counts.max())
    return None


def duplicate_id_problem(rows: np.ndarray) -> str | None:
    """Where an id appears twice within one frame of MOT ``rows`` (:func:`duplicate_id`), or None."""
    if found := duplicate_id(rows):
        f, i, times = found
        return f"id {i} appears {times} times in frame {f}"
    return None


def share_far_outside(rows: np.ndarray, width: int, height: int, margin: float = 0.1) -> float:
    """The share of MOT ``rows`` whose box's right or bottom edge lies more than ``margin`` of the frame beyond a
    ``width`` x ``height`` frame: near 0 for real boxes (a person at the edge is cut by little), large for a file
    written as x1, y1, x2, y2 instead of MOTChallenge's left, top, width, height."""
    if not len(rows):
        return 0.0
    far = (rows[:, 2] + rows[:, 4] > (1 + margin) * width) | (rows[:, 3] + rows[:, 5] > (1 + margin) * height)
    return float(far.mean())


def corner_rows_problem(path: str | Path, rows: np.ndarray) -> str | None:
    """A one-line problem when MOT ``rows`` (of the file ``path``) look written as x1,y1,x2,y2: with at least 20
    rows, more than 90% whose "width" exceeds their left edge and "height" their top edge, as a right edge always
    exceeds its left one (0-5% on the MOT15 ground truths and detections, whose boxes rarely start within their
    own width of the image's left edge and height of its top). No frame size is needed; None otherwise."""
    if len(rows) < 20:
        return None
    share = float(((rows[:, 4] > rows[:, 2]) & (rows[:, 5] > rows[:, 3])).mean())
    if share <= 0.9:
        return None
    return (
        f"{path}: {100 * share:.0f}% of the boxes are wider than their left edge and taller than their top edge, as "
        "x1,y1,x2,y2 rows are: is the file written as x1,y1,x2,y2? MOTChallenge files hold left,top,width,height"
    )


def outside_frame_problem(path: str | Path, rows: np.ndarray, width: int, height: int, frame_of: str) -> str | None:
    """A one-line problem when more than a fifth of MOT ``rows`` (of the file ``path``) reach more than 10% beyond
    the ``width`` x ``height`` frame (``frame_of``: where that size comes from), as a file written as x1,y1,x2,y2
    or for another frame size does; None otherwise."""
    far = share_far_outside(rows, width, height)
    if far <= 0.2:
        return None
    return (
        f"{path}: {100 * far:.0f}% of the boxes reach more than 10% beyond the {width}x{height} frame of "
        f"{frame_of}: is the file written as x1,y1,x2,y2, or for another frame size? MOTChallenge files hold "
        "left,top,width,height"
    )


def all_outside_problem(path: str | Path, rows: np.ndarray, width: int, height: int, frame_of: str) -> str | None:
    """A one-line problem when every one of MOT ``rows`` (at least one, of the file ``path``) lies entirely outside
    the ``width`` x ``height`` frame (``frame_of``: where that size comes from): a file of another camera or frame
    size, whose boxes no image pixel is in; None otherwise."""
    if not len(rows):
        return None
    left, top, right, bottom = rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]
    outside = (left >= width) | (top >= height) | (right <= 0) | (bottom <= 0)
    if not outside.all():
        return None
    return (
        f"{path}: all {len(rows)} boxes lie entirely outside the {width}x{height} frame of {frame_of}: the "
        "detections of another camera or frame size?"
    )


def _check_rows(rows: np.ndarray, path: Path) -> None:
    """A ``ValueError`` naming ``path`` for rows that :func:`load_mot_txt` would refuse to read back: a frame that is
    not a whole number in ``1..MAX_FRAME`` (a 0-based index written as frame 0), an id that is not a whole number,
    a box or score that is not finite."""
    if not len(rows):
        return
    frame, ident = rows[:, 0], rows[:, 1]
    checks = (
        (~(np.isfinite(frame) & (frame == np.round(frame)) & (frame >= 1) & (frame <= MAX_FRAME)), "frame", 0),
        (~(np.isfinite(ident) & (ident == np.round(ident)) & (np.abs(ident) <= MAX_ID)), "id", 1),
        (~np.isfinite(rows[:, 2:7]).all(axis=1), "box and score", None),
    )
    for bad, what, col in checks:
        if bad.any():
            i = int(bad.nonzero()[0][0])
            got = f"{float(rows[i, col]):g}" if col is not None else f"{rows[i, 2:7].tolist()}"
            rule = {
                "frame": f"a whole number in 1..{MAX_FRAME:,} (MOT frames count from 1)",
                "id": "a whole number",
                "box and score": "made of finite numbers",
            }[what]
            article = "an" if what == "id" else "a"
            raise ValueError(
                f"{path}: {int(bad.sum())} rows to write have {article} {what} that is not {rule} (first: {got})"
            )


def _format_rows(rows: np.ndarray) -> str:
    buf = io.StringIO()
    for r in rows:
        buf.write(
            f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.4g},"
            f"{r[7]:.4g},{r[8]:.4g},{r[9]:.4g}\n"
        )
    return buf.getvalue()


def save_mot_txt(path: str | Path, rows: np.ndarray) -> None:
    """Write ``(K, 6..10)`` rows as a MOT text file (missing columns become -1); the folder is created."""
    rows = np.asarray(rows, np.float64).reshape(-1, np.shape(rows)[-1] if np.size(rows) else N_COLS)
    if rows.shape[1] < 6 or rows.shape[1] > N_COLS:
        raise ValueError(f"rows: expected 6 to {N_COLS} columns, got {rows.shape[1]}")
    full = np.full((len(rows), N_COLS), -1.0)
    full[:, : rows.shape[1]] = rows
    p = Path(path)
    _check_rows(full, p)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".partial")  # replaced at once: a reader (or a crash) never sees half a file
    with _naming(p):
        try:
            tmp.write_text(_format_rows(full), encoding="utf-8")
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)  # after a failed write (a full disk): no half file left beside the result


def read_run_record(result: Path) -> dict | None:
    """The record ``mctrack track`` wrote beside its result file ``result`` (``<name>.json``,
    :func:`mctrack.outputs.write_run_record`); None when there is none, or the file of that name is no such record
    of ``result`` (a file of the user's that only shares its name)."""
    try:
        record = json.loads(Path(result).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    ours = isinstance(record, dict) and record.get("result") == Path(result).name and "settings" in record
    return record if ours else None


def incomplete_result(result: Path, rows: int | None = None) -> str | None:
    """Why the result file ``result`` is incomplete, from its run record (:func:`read_run_record`): ``"interrupted
    after frame 121 of 795"``; None when it holds no such record (a result of another tracker, or a complete run),
    or when the record counts other than ``rows`` rows (the file was written again since, by something else)."""
    record = read_run_record(result)
    if record is None or record.get("complete", True):
        return None
    if rows is not None and record.get("rows") is not None and record["rows"] != rows:
        return None
    of = f" of {record['source_frames']}" if record.get("source_frames") else ""
    return f"{record.get('stopped') or 'stopped'} after frame {record.get('frames')}{of}"


def mot_rows(frame_index: int, track_ids: np.ndarray, xyxy: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """``(K, 10)`` MOT rows for one frame: 0-based ``frame_index`` becomes the 1-based MOT frame, xyxy -> tlwh."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    ids = np.asarray(track_ids).reshape(-1)
    score = None if scores is None else np.asarray(scores).reshape(-1)
    if len(ids) != len(xyxy) or (score is not None and len(score) != len(xyxy)):
        counts = f"{len(ids)} ids, {len(xyxy)} boxes" + ("" if score is None else f", {len(score)} scores")
        raise ValueError(f"MOT rows of frame {frame_index}: one id, box and score per row, got {counts}")
    rows = np.full((len(xyxy), N_COLS), -1.0)
    rows[:, 0] = frame_index + 1
    rows[:, 1] = ids
    rows[:, 2:4] = xyxy[:, :2]
    rows[:, 4:6] = xyxy[:, 2:] - xyxy[:, :2]
    rows[:, 6] = 1.0 if score is None else score
    return rows


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """OSErrors raised inside name ``path`` when they name no file (a full disk says only "No space left on
    device"), so the message says which file could not be written."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise


class MotWriter:
    """Appends MOT rows frame by frame and flushes, so an interrupted run keeps every finished frame.

    Use as a context manager; ``write(frame_index, track_ids, xyxy, scores)`` takes 0-based frame indices and
    flushes; ``write_rows(rows)`` appends ready MOT rows (then ``flush()``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", encoding="utf-8")
        #: rows written so far
        self.rows = 0

    def write(
        self, frame_index: int, track_ids: np.ndarray, xyxy: np.ndarray, scores: np.ndarray | None = None
    ) -> None:
        rows = mot_rows(frame_index, track_ids, xyxy, scores)
        _check_rows(rows, self.path)
        if len(rows):
            self.rows += len(rows)
            with _naming(self.path):
                self._fh.write(_format_rows(rows))
                self._fh.flush()

    def write_rows(self, rows: np.ndarray) -> None:
        """Append ``(K, 6..10)`` MOT rows as they are (1-based frames); call :meth:`flush` to make them durable."""
        rows = np.asarray(rows, np.float64)
        if len(rows):
            if rows.ndim != 2 or not 6 <= rows.shape[1] <= N_COLS:
                raise ValueError(f"{self.path}: rows to write: expected (K, 6..{N_COLS}), got shape {rows.shape}")
            full = np.full((len(rows), N_COLS), -1.0)
            full[:, : rows.shape[1]] = rows
            _check_rows(full, self.path)
            self.rows += len(rows)
            with _naming(self.path):
                self._fh.write(_format_rows(full))

    def flush(self) -> None:
        with _naming(self.path):
            self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            with _naming(self.path):
                self._fh.close()

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def detections_by_frame(rows: np.ndarray, min_score: float = -np.inf) -> dict[int, Detections]:
    """Group MOT detection rows into ``{0-based frame index: Detections}`` (xyxy boxes), keeping score >= min_score.

    Frames without detections are absent from the dict; callers use ``Detections.empty()`` for them.
    """
    rows = np.asarray(rows, np.float64)
    rows = rows[rows[:, 6] >= min_score] if len(rows) else rows
    out: dict[int, Detections] = {}
    if not len(rows):
        return out
    frames = rows[:, 0].astype(np.int64)
    order = np.argsort(frames, kind="stable")
    rows, frames = rows[order], frames[order]
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    for s, e in zip(starts, ends):
        r = rows[s:e]
        xyxy = np.concatenate([r[:, 2:4], r[:, 2:4] + r[:, 4:6]], axis=1)
        out[int(frames[s]) - 1] = Detections(xyxy, r[:, 6])
    return out


@dataclass(frozen=True)
class SeqInfo:
    """The ``[Sequence]`` section of a MOTChallenge ``seqinfo.ini``.

    ``video`` (an mctrack extension, key ``video``) names a video file holding the frames, relative to the
    sequence folder, for sequences shipped as video instead of an ``im_dir`` of images.
    """

    name: str
    frame_rate: float
    seq_length: int
    im_width: int
    im_height: int
    im_dir: str = "img1"
    im_ext: str = ".jpg"
    video: str | None = None


def _ini_problem(exc: configparser.Error, path: Path | None = None) -> str:
    """What a configparser error says about the file, in one line with its line number (``path``: the file, to
    name a key given twice as it is written there; configparser lowers its case)."""
    if isinstance(exc, configparser.DuplicateOptionError):
        key = exc.option
        try:
            line = path.read_text(encoding="utf-8-sig").splitlines()[exc.lineno - 1] if path and exc.lineno else ""
            written = re.split(r"[=:]", line, maxsplit=1)[0].strip()
            key = written if written.lower() == exc.option else key
        except (OSError, UnicodeDecodeError, IndexError):
            pass
        return f"{key} is given twice in [{exc.section}] (line {exc.lineno})"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"section [{exc.section}] is given twice (line {exc.lineno})"
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section] header: {exc.line.strip()!r}"
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        lineno, line = exc.errors[0]
        if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"":  # some Pythons keep the line's repr()
            try:
                line = ast.literal_eval(line)
            except (ValueError, SyntaxError):
                pass
        return f"line {lineno} is not key=value: {str(line).strip()!r}"
    return first_line(exc)


def _sequence_section(p: Path) -> configparser.SectionProxy:
    """``seqinfo.ini``'s ``[Sequence]`` section; a missing file or section is an :class:`InputError`."""
    if not p.is_file():
        raise InputError(f"{p}: {missing_file(p)}")
    cp = configparser.ConfigParser(interpolation=None)  # a "%" in a value is text (MOTChallenge has no macros)
    try:
        cp.read(p, encoding="utf-8-sig")
        return cp["Sequence"]
    except KeyError:
        raise InputError(f"{p}: no [Sequence] section") from None
    except configparser.Error as exc:
        raise InputError(f"{p}: {_ini_problem(exc, p)}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot be read ({exc.strerror or exc})") from None


def _value(sec: configparser.SectionProxy, key: str, kind: type, p: Path):
    """``sec[key]`` as ``kind`` (a KeyError when missing); a value that is not one is an :class:`InputError` naming
    ``p`` and ``key``."""
    text = sec[key]
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"{p}: {key} must be {what}, got {text!r}") from None


def _seq_length(sec: configparser.SectionProxy, p: Path) -> int:
    """The section's ``seqLength``, a whole number >= 1; otherwise an :class:`InputError` naming ``p``."""
    try:
        length = int(sec["seqLength"])
    except KeyError:
        raise InputError(f"{p}: missing key seqLength") from None
    except ValueError:
        raise InputError(f"{p}: seqLength must be a whole number, got {sec['seqLength']!r}") from None
    if length < 1:
        raise InputError(f"{p}: seqLength must be >= 1, got {length}")
    return length


def read_seq_length(path: str | Path) -> int:
    """``seqLength`` of a ``seqinfo.ini``, the one key evaluation needs (as TrackEval: a ground-truth folder whose
    seqinfo has no frame rate or image size is still scored); errors as :func:`read_seqinfo`'s."""
    p = Path(path)
    return _seq_length(_sequence_section(p), p)


def read_frame_size(path: str | Path) -> tuple[int, int] | None:
    """``(imWidth, imHeight)`` of a ``seqinfo.ini``, or None when either is missing or not a whole number >= 1
    (evaluation does not need them); a missing or unreadable file is an :class:`InputError` as for
    :func:`read_seqinfo`."""
    sec = _sequence_section(Path(path))
    try:
        size = float(sec["imWidth"]), float(sec["imHeight"])  # "640.0" as written by some tools is 640
    except (KeyError, ValueError):
        return None
    if not all(math.isfinite(v) and v == round(v) and v >= 1 for v in size):
        return None
    return int(size[0]), int(size[1])


def read_seqinfo(path: str | Path, *, fallback_fps: float | None = None) -> SeqInfo:
    """Parse ``seqinfo.ini``; a missing file or key is an :class:`InputError` naming both (``fallback_fps``: the
    frame rate when the file has no ``frameRate``, e.g. the user's ``--fps``)."""
    p = Path(path)
    sec = _sequence_section(p)
    try:
        info = SeqInfo(
            name=sec.get("name", p.parent.name),
            frame_rate=_value(sec, "frameRate", float, p)
            if fallback_fps is None or "frameRate" in sec
            else fallback_fps,
            seq_length=_seq_length(sec, p),
            im_width=_value(sec, "imWidth", int, p),
            im_height=_value(sec, "imHeight", int, p),
            im_dir=sec.get("imDir", "img1"),
            im_ext=sec.get("imExt", ".jpg"),
            video=sec.get("video"),
        )
    except KeyError as exc:
        key = exc.args[0]
        hint = (
            " (add frameRate=... to its [Sequence] section; mctrack track also takes --fps)"
            if key == "frameRate"
            else ""
        )
        raise InputError(f"{p}: missing key {key}{hint}") from None
    if not (math.isfinite(info.frame_rate) and 0 < info.frame_rate <= MAX_FPS):
        raise InputError(f"{p}: frameRate must be a finite number > 0 and at most {MAX_FPS:g}, got {info.frame_rate:g}")
    return info


def write_seqinfo(path: str | Path, info: SeqInfo) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        "[Sequence]\n"
        f"name={info.name}\nimDir={info.im_dir}\nframeRate={info.frame_rate:g}\nseqLength={info.seq_length}\n"
        f"imWidth={info.im_width}\nimHeight={info.im_height}\nimExt={info.im_ext}\n"
        + (f"video={info.video}\n" if info.video else ""),
        encoding="utf-8",
    )
