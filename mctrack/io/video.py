"""Frame sources (video file, image folder, MOTChallenge sequence folder, live stream) and the annotated-video writer.

A source is iterable over :class:`~mctrack.types.Frame` objects with 0-based, gap-free indices and knows its
``name`` (used for result files), ``fps``, ``length`` (frames expected, or None when unknown) and ``size``.

Bad frames: a frame that cannot be decoded in the middle of a video, or an unreadable image in a folder, is
yielded with ``image=None`` and a warning naming the file and frame, so frame indices stay aligned with
detection files and the tracker simply coasts through it. After ``max_bad_frames`` unreadable frames in a row a
video is taken to have ended early (a warning says where).

Recorded sources are decoded ahead in a background thread by :class:`PrefetchSource` (a bounded queue of a few
frames; OpenCV releases the GIL while decoding), so decoding overlaps the detector and the embedder.

Live streams (:class:`LiveSource`: ``rtsp://``/``http://`` URLs, webcam indices) are read by a background thread
into a small buffer; when processing falls behind, the oldest buffered frames are dropped (counted in
``dropped``) so the tracker always sees recent frames. Frame timestamps are the capture times (seconds since the
stream was started). A stream that delivers no frame for ``reconnect_s`` seconds, reconnecting meanwhile, is
taken as lost: iteration raises :class:`~mctrack.errors.InputError` naming the stream. Outages it came back from
(reconnects, and freezes with the connection open) are told per frame (:meth:`LiveSource.gap_before`), so that the
tracker ends tracks lost for longer than its budget.
"""

from __future__ import annotations

import atexit
import bisect
import collections
import contextlib
import logging
import math
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, missing_file
from ..types import Frame, Tracks
from .mot import SeqInfo, read_seqinfo

__all__ = [
    "FrameSource",
    "VideoFileSource",
    "ImageFolderSource",
    "SequenceSource",
    "LiveSource",
    "PrefetchSource",
    "open_source",
    "sequence_folders",
    "laid_out_as_sequence",
    "has_images",
    "frames_read_again",
    "AnnotatedVideoWriter",
    "VIDEO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "note_replayed",
]

log = logging.getLogger(__name__)


@contextmanager
def _opencv_quiet() -> Iterator[None]:
    """OpenCV's own log lines silenced for the block, unless the user set ``OPENCV_LOG_LEVEL``: opening a webcam or
    stream that is not there makes each capture backend print its failure ("Camera index out of range", ...) before
    the one line that says which source could not be opened."""
    if "OPENCV_LOG_LEVEL" in os.environ:
        yield
        return
    before = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(before)


VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class FrameSource:
    """Base class: ``name``, ``fps``, ``length``, ``size`` and iteration over frames."""

    name: str
    fps: float
    length: int | None
    size: tuple[int, int] | None
    camera: str
    has_images: bool = True

    def __iter__(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError


class VideoFileSource(FrameSource):
    """Frames of a video file decoded with OpenCV.

    Args:
        path: the video file.
        camera: camera id stamped on frames (default: the file stem).
        fps: frame rate to use instead of the file's (e.g. a benchmark's official rate).
        max_bad_frames: unreadable frames in a row after which the video is taken to have ended.
    """

    def __init__(
        self, path: str | Path, *, camera: str | None = None, fps: float | None = None, max_bad_frames: int = 5
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: {missing_file(self.path, 'video file')}")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                if self.path.stat().st_size == 0:
                    raise InputError(f"{self.path}: empty file (0 bytes), not a video")
                raise InputError(f"{self.path}: cannot open video (unknown format or corrupt header)")
            file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            cap.release()
        if max_bad_frames < 1:
            raise ValueError(f"max_bad_frames: must be >= 1, got {max_bad_frames}")
        _check_fps(fps)
        self.name = self.path.stem
        self.camera = camera or self.path.stem
        #: the frame rate in the file's header (None when missing or implausible)
        self.native_fps = file_fps if 0 < file_fps < 1000 else None
        self.fps = float(fps) if fps is not None else (self.native_fps or ASSUMED_FPS)
        self.length = count if count > 0 else None
        self.size = (w, h) if w > 0 and h > 0 else None
        self.max_bad_frames = int(max_bad_frames)
        #: frames that could not be decoded during the last iteration (0-based indices)
        self.bad_frames: list[int] = []
        #: why the last iteration ended before the frame count of the header (a truncated or damaged file)
        self.ended_early: str | None = None

    def _open(self) -> cv2.VideoCapture:
        return cv2.VideoCapture(str(self.path))

    def __iter__(self) -> Iterator[Frame]:
        cap = self._open()
        self.bad_frames = []
        self.ended_early = None
        index, pending_bad = 0, []
        try:
            while True:
                ok, image = cap.read()
                good = ok and isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
                if not good:
                    if self.length is not None and index + len(pending_bad) >= self.length:
                        if pending_bad:
                            _frame_warning(
                                "%s: the last %d frame(s) cannot be decoded; the video ends at frame %d",
                                self.path,
                                len(pending_bad),
                                index,
                            )
                        break  # the normal end of the stream
                    pending_bad.append(index + len(pending_bad))
                    if len(pending_bad) >= self.max_bad_frames:
                        if self.length is None:  # a header without a frame count: nothing to fall short of,
                            break  # and a run of failed reads is the stream's end as far as anyone can tell
                        self.ended_early = (
                            f"the video ends after {index} of the {self.length} frames its header promises "
                            "(truncated or damaged file; frames lost inside a damaged file cannot be located, "
                            "so the frames after them may be numbered too early)"
                        )
                        _frame_warning(
                            "%s: video ends early: %d unreadable frames in a row from frame %d "
                            "(the header promised %d frames)",
                            self.path,
                            len(pending_bad),
                            pending_bad[0] + 1,  # counted from 1, as in the detection and result files
                            self.length,
                        )
                        break
                    continue
                for bad in pending_bad:  # a readable frame follows: the gaps were bad frames mid-video
                    # counted from 1, as in the detection and result files (and an image folder's warnings)
                    _frame_warning(
                        "%s: frame %d cannot be decoded; it is passed on without an image", self.path, bad + 1
                    )
                    self.bad_frames.append(bad)
                    yield Frame(self.camera, bad, bad / self.fps, None)
                index += len(pending_bad)
                pending_bad = []
                yield Frame(self.camera, index, index / self.fps, np.ascontiguousarray(image))
                index += 1
        finally:
            cap.release()


#: the frame rate of a source that has none of its own (an image folder, a video whose header lacks it)
ASSUMED_FPS = 30.0


def _check_fps(fps: float | None) -> None:
    """A frame rate given to a source: None (the source's own) or a positive finite number; 0, negative or NaN
    rates gave frames timed backwards or at NaN (an image folder refused them already)."""
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps: must be > 0, got {fps}")


def warn_assumed_fps(source: FrameSource, where: str, fix: str) -> None:
    """Warn that ``source`` (a file source opened without a rate) runs at the assumed 30 fps: every time window of
    tracking and linking (lost-track patience, minimum length, stitching, transit times, scene times) is counted
    at that rate. ``where`` names the camera or source; ``fix`` the option that sets the rate."""
    if getattr(source, "native_fps", 0) is None and not isinstance(source, LiveSource):
        log.warning(
            "%s: no frame rate of its own (an image folder, or a video header without one): assuming %g fps, "
            "which every time window counts with; set %s",
            where,
            source.fps,
            fix,
        )


FPS_TOLERANCE = 0.05  # a configured frame rate this far (relative) from the source's own is warned about


def warn_overridden_fps(source: FrameSource, fps: float, where: str, by: str, of: str) -> None:
    """Warn when the rate ``fps`` that ``by`` (an option, the camera set) sets for ``source`` differs from the
    source's own (``of``: its video header, its seqinfo.ini) by more than :data:`FPS_TOLERANCE`: every time window
    is counted at ``fps``. ``where`` names the camera or source."""
    native = getattr(source, "native_fps", None)  # image folders and streams have none
    if native and abs(native - fps) > FPS_TOLERANCE * native:
        log.warning(
            "%s: fps %g from %s overrides the %g fps of %s (time windows such as the tracker's max_lost_s and "
            "transit times are counted at %g)",
            where,
            fps,
            by,
            native,
            of,
            fps,
        )


_UNREADABLE_WARNED: set[str] = set()  # image files already said to be unreadable
_RESIZED_WARNED: set[str] = set()  # image folders already said to change their image size
_READ_AGAIN = 0  # > 0 inside frames_read_again(): frame problems were reported by the pass that tracked them


@contextmanager
def frames_read_again() -> Iterator[None]:
    """Within this block, frame sources do not warn about frames they cannot decode or find: the frames are read
    again (a run's gallery and annotated videos) after the pass that tracked them reported each problem, maybe in a
    worker process whose record of what it said this one does not share."""
    global _READ_AGAIN
    _READ_AGAIN += 1
    try:
        yield
    finally:
        _READ_AGAIN -= 1


def _frame_warning(message: str, *args) -> None:
    if not _READ_AGAIN:
        log.warning(message, *args)


_NAMING_WARNED: set[str] = set()  # what an image folder's names said, already warned in this process


def _naming_warning(message: str, *args) -> None:
    """A warning about how a folder's images are named: once per process (a run opens a folder again for its
    gallery and video, where a camera replayed from the cache said it twice more)."""
    text = message % args
    if text not in _NAMING_WARNED:
        _NAMING_WARNED.add(text)
        _frame_warning("%s", text)


UNREADABLE_FOLDER = 5  # an image folder whose first images all fail to decode is refused, not tracked as empty
#: (signature a file of this kind starts with, marker a whole one ends with): JPEG's start and end of image, PNG's
#: signature and IEND chunk type; told by the bytes, not the name (a JPEG saved as .png is a whole JPEG)
_END_MARKERS = ((b"\xff\xd8", b"\xff\xd9"), (b"\x89PNG\r\n\x1a\n", b"IEND"))


def _read_image(path: Path) -> tuple[np.ndarray | None, bool]:
    """``(image, cut_short)`` of one image file, read once: the decoded BGR image (None when it cannot be read or
    decoded) and whether a JPEG or PNG that decoded lacks its end marker, a file cut short (a copy or upload that
    stopped). ``cv2.imread`` decodes such a file without an error, the missing part grey, which trackers and the
    camera-motion estimate would take for a real frame; decoding the bytes read here refuses most of them, and
    the marker check catches the rest. The marker is looked for anywhere in the file (some writers append data
    after the image)."""
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        return None, False
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        return image, False
    raw = data.tobytes()
    marker = next((end for start, end in _END_MARKERS if raw.startswith(start)), None)
    return image, marker is not None and marker not in raw


def _natural_key(path: Path) -> tuple[list, str]:
    """Sort key of an image file: the numbers in its name compared as numbers, so that ``2.jpg`` comes before
    ``10.jpg`` as ``000002.jpg`` before ``000010.jpg`` (plain name order would put ``10.jpg`` first); a decimal
    fraction compares digit by digit (timestamps: ``1700000000.125`` before ``1700000000.5``)."""
    key: list = []
    for i, token in enumerate(_NUMBER.split(path.name)):
        if i % 2:  # a number: (whole part, fraction digits)
            whole, _, fraction = token.partition(".")
            key.append((int(whole), fraction))
        else:
            key.append(token)
    return key, path.name


_NUMBER = re.compile(r"([0-9]+(?:\.[0-9]+)?)")
#: a frame's file name (without suffix): any text, then the frame number (``000001``, ``frame_000001``)
_FRAME_NAME = re.compile(r"(.*?)([0-9]+)")
#: a text before the last number that makes it part of something else: a digit and a separator (a date or time
#: ``20231101_120000``, ``12-05-33``, a fraction ``1700000000.125``, a camera ``cam1_0001``)
_NOT_A_COUNTER = re.compile(r"[0-9][^0-9A-Za-z]+$")
#: a text before the last number that ends in a date (six or more digits and a separator, ``20231101_``)
_A_DATE = re.compile(r"[0-9]{6,}[^0-9A-Za-z]+$")


class ImageFolderSource(FrameSource):
    """Frames from the images of a folder (e.g. a MOTChallenge ``img1`` folder): by the frame number that ends
    their names (``000001.jpg``, ``frame_000001.jpg``; a missing image is a frame without one), else in name
    order with numbers compared as numbers (``2.jpg`` before ``10.jpg``).

    An image that cannot be read is yielded with ``image=None`` and a warning; when none of the first
    ``UNREADABLE_FOLDER`` images (all of them in a shorter folder) can be read, iteration raises
    :class:`InputError` instead.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        camera: str | None = None,
        fps: float | None = None,
        name: str | None = None,
        first_number: int | None = None,
    ) -> None:
        fps_given, fps = fps, ASSUMED_FPS if fps is None else fps
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: image folder not found")
        images = (p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        self.files = sorted(images, key=_natural_key)
        if not self.files:
            raise InputError(f"{self.folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
        _check_fps(fps)
        self.name = name or self.folder.name
        self.camera = camera or self.name
        self.fps = float(fps)
        #: image folders carry no frame rate of their own: ``fps`` is what the caller gave or 30 (see
        #: :func:`warn_assumed_fps`)
        self.native_fps = None if fps_given is None else float(fps_given)
        #: frame index -> image file; None: the files in name order, one frame each
        named = self._frame_numbers()
        if named is not None:  # the images named as frames; the others were said and are left out
            self.files = [f for _, f in named]
        else:
            self._warn_if_a_counter_has_gaps()
        self.numbered = None if named is None else self._by_number([n for n, _ in named], first_number)
        self.length = len(self.files) if self.numbered is None else max(self.numbered) + 1
        first = cv2.imread(str(self.files[0]), cv2.IMREAD_COLOR)
        self.size = None if first is None else (first.shape[1], first.shape[0])

    def _frame_numbers(self) -> list[tuple[int, Path]] | None:
        """``(number, file)`` of the images named as frames: one text followed by a number (``000001.jpg``,
        ``frame_000001.jpg``: 1), shared by more than half of the folder's images; the other images (``cover.jpg``,
        ``mask0001.png`` beside them) are left out with a warning naming one, as they are not frames of the
        sequence. None (name order) when no such naming holds most of the images, or when the number may be part
        of a time or a camera name: after a digit and a separator (``20231101_120000``, ``12-05-33``,
        ``cam1_0001``, ``1700000000.125``)."""
        groups = {k: v for k, v in self._named_groups().items() if not _NOT_A_COUNTER.search(k)}
        if not groups:
            return None
        prefix, named = max(groups.items(), key=lambda kv: len(kv[1]))
        kept = {f for _, f in named}
        others = [f for f in self.files if f not in kept]
        if 2 * len(named) <= len(self.files):
            if len(named) > 1 and others:  # said: frames and other images interleave
                _naming_warning(
                    "%s: %d of its %d images are named as numbered frames (%sNUMBER) and the others are not (e.g. "
                    "%s): every image is a frame, in name order; keep only the frames in the folder",
                    self.folder,
                    len(named),
                    len(self.files),
                    prefix,
                    others[0].name,
                )
            return None
        if others:
            _naming_warning(
                "%s: %d image(s) not named as the frames are (%sNUMBER), e.g. %s: not frames of the sequence, left out",
                self.folder,
                len(others),
                prefix,
                others[0].name,
            )
        return named

    def _named_groups(self) -> dict[str, list[tuple[int, Path]]]:
        """The images whose names are a text followed by a number, ``{text: [(number, file), ...]}`` in name
        order."""
        groups: dict[str, list[tuple[int, Path]]] = {}
        for f in self.files:
            m = _FRAME_NAME.fullmatch(f.stem)
            if m:
                groups.setdefault(m.group(1), []).append((int(m.group(2)), f))
        return groups

    def _warn_if_a_counter_has_gaps(self) -> None:
        """Images in name order whose last numbers look like a frame counter with a few numbers missing
        (``cam1_0001.jpg`` .. ``cam1_0020.jpg`` without ``cam1_0007.jpg``): said, as every frame after a gap is then
        one frame earlier than its number (detections or ground truth read from a file no longer match). Such a
        number after a digit and a separator is not taken as a frame number (:meth:`_frame_numbers`: it may be a
        time, where gaps are the rule: 40 numbers a minute for ``HHMMSS``), so only a few gaps are warned about: one, or
        at most 5% of the images."""
        groups = self._named_groups()
        if not groups:
            return
        prefix, named = max(groups.items(), key=lambda kv: len(kv[1]))
        numbers = [n for n, _ in named]
        if 2 * len(numbers) <= len(self.files) or len(set(numbers)) != len(numbers) or _A_DATE.search(prefix):
            return  # (after a date, 20231101_120000: a time of day, whose numbers are no frame counter)
        missing = max(numbers) - min(numbers) + 1 - len(numbers)
        if 0 < missing <= max(1.0, 0.05 * len(numbers)):
            have = set(numbers)
            gap = next(n for n in range(min(numbers), max(numbers)) if n not in have)
            _naming_warning(
                "%s: images named %sNUMBER with %d number(s) missing (e.g. %d) are taken in name order, one frame "
                "each, so every image after a gap is a frame earlier than its number; if the numbers count frames, "
                "rename the images to their numbers alone (%s): a missing image then leaves its frame empty",
                self.folder,
                prefix,
                missing,
                gap,
                f"{named[0][1].name} to {named[0][1].stem[len(prefix) :]}{named[0][1].suffix}",
            )

    def _by_number(self, numbers: list[int], first_number: int | None) -> dict[int, Path] | None:
        """Frames by ``numbers``, those ``self.files`` are named with (:meth:`_frame_numbers`; ``000001.jpg``: frame
        ``first_number``, default the smallest number), so that a missing image leaves a frame without an image
        instead of moving every later image one frame earlier (where detections and images would no longer
        match). None, and frames in name order, when the numbers repeat, start below ``first_number`` or leave
        more frames missing than there are images."""
        first = min(numbers) if first_number is None else int(first_number)
        span = max(numbers) - first + 1
        missing = span - len(numbers)
        if min(numbers) < first:
            _naming_warning("%s: images numbered below %d: frames are taken in name order", self.folder, first)
            return None
        if len(set(numbers)) != len(numbers) or missing > len(numbers):  # e.g. timestamps or every n-th frame
            _naming_warning(
                "%s: the image numbers (%d to %d, %d images) are not one per frame: the images are taken in name "
                "order as frames 1 to %d, whatever their numbers",
                self.folder,
                min(numbers),
                max(numbers),
                len(numbers),
                len(numbers),
            )
            return None
        if first_number is None and first > 1:
            _naming_warning(
                "%s: the first image is number %d: it is frame 1 (frames are counted from a folder's first image; "
                "detections read from a file must count the same way)",
                self.folder,
                first,
            )
        if missing:
            have = set(numbers)
            gaps = [n for n in range(first, first + span) if n not in have]
            _naming_warning(
                "%s: %d image(s) missing from the numbering (e.g. number %d): those frames come without an image, "
                "later images keep their frame numbers",
                self.folder,
                missing,
                gaps[0],
            )
        return {n - first: f for n, f in zip(numbers, self.files)}

    def __iter__(self) -> Iterator[Frame]:
        seen_good = False
        numbered = self.numbered
        frames = enumerate(self.files) if numbered is None else ((i, numbered.get(i)) for i in range(self.length))
        tried = 0  # images read so far
        for i, f in frames:
            if f is None:  # a gap in the numbering, warned about once
                yield Frame(self.camera, i, i / self.fps, None)
                continue
            image, cut_short = _read_image(f)
            tried += 1
            if cut_short:
                image = None
                if str(f) not in _UNREADABLE_WARNED:
                    _UNREADABLE_WARNED.add(str(f))
                    _frame_warning("%s: the file is cut short; frame %d is passed on without an image", f, i + 1)
            elif image is not None and self.size is not None and (image.shape[1], image.shape[0]) != self.size:
                if str(self.folder) not in _RESIZED_WARNED:
                    _RESIZED_WARNED.add(str(self.folder))
                    _frame_warning(
                        "%s is %dx%d, the folder's first image %dx%d: boxes and camera motion are no longer in the "
                        "same pixels (frame %d on; said once per folder)",
                        f,
                        image.shape[1],
                        image.shape[0],
                        *self.size,
                        i + 1,
                    )
            if image is None:
                if not seen_good and tried >= min(len(self.files), UNREADABLE_FOLDER):
                    raise InputError(
                        f"{self.folder}: "
                        + (f"none of the first {tried} images" if tried < len(self.files) else "no image")
                        + f" can be read (e.g. {f.name}): damaged files or not images"
                    )
                # frames counted from 1 here, as in the MOTChallenge files the results are written to; once per
                # file and process (a run reads a camera's frames again for its gallery and video)
                if str(f) not in _UNREADABLE_WARNED:
                    _UNREADABLE_WARNED.add(str(f))
                    _frame_warning("%s: cannot be read as an image; frame %d is passed on without an image", f, i + 1)
            seen_good = seen_good or image is not None
            yield Frame(self.camera, i, i / self.fps, image)


_BLOCKED_READERS: dict[threading.Thread, float] = {}  # live readers still in a read when their iteration ended
_BLOCKED_LOCK = threading.Lock()


def _outlive(reader: threading.Thread, bound_s: float) -> None:
    """Have the process wait at exit, up to ``bound_s`` seconds from now, for a live stream's ``reader`` thread
    that is still blocked in OpenCV's read: when such a read returns while the interpreter shuts down, the thread is
    ended inside OpenCV's C++ code and the process aborts ("FATAL: exception not rethrown", exit 134) after its work
    was done."""
    with _BLOCKED_LOCK:
        for done in [t for t in _BLOCKED_READERS if not t.is_alive()]:
            del _BLOCKED_READERS[done]
        _BLOCKED_READERS[reader] = time.monotonic() + bound_s


@atexit.register
def _wait_for_blocked_readers() -> None:
    with _BLOCKED_LOCK:
        waiting = {t: d for t, d in _BLOCKED_READERS.items() if t.is_alive()}
        _BLOCKED_READERS.clear()
    if not waiting:
        return
    longest = max(waiting.values()) - time.monotonic()
    if longest > 1:
        log.warning(
            "waiting up to %.0f s for %d live stream reader(s) blocked in a read (%s) to return before exiting",
            longest,
            len(waiting),
            ", ".join(t.name for t in waiting),
        )
    for thread, deadline in waiting.items():
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


_RATE_WARNED: set[str] = set()  # the warnings that a sequence's seqinfo and video rates disagree, said


def note_replayed(message: str) -> None:
    """``message``, a warning that opening a source said when a feature cache was made, was said again by its
    replay: not said a second time when the source is opened (for the annotated video, say)."""
    _RATE_WARNED.add(message)


def _warn_once(message: str) -> None:
    """A frame-rate warning, once per process (a benchmark or a run opens one source many times)."""
    if message not in _RATE_WARNED:
        _RATE_WARNED.add(message)
        log.warning("%s", message)


def _reads_time_out(source: str | int) -> bool:
    """Whether a live ``source`` is opened with OpenCV's FFmpeg timeouts (a URL), not a webcam index or a
    GStreamer pipeline, whose reads need not return at all."""
    return not isinstance(source, int) and not source.isdigit() and " ! " not in source


class SequenceSource(FrameSource):
    """A MOTChallenge sequence folder (``seqinfo.ini``): its video when present, else its image folder, else
    (``need_images=False``) ``seqLength`` frames without images, enough to replay ``det.txt`` motion-only.

    The frame rate is the ``seqinfo.ini`` one (the benchmark's). With ``need_images=False`` no image is decoded
    even when there is a video. ``images_for``: what needs the images (e.g. ``"--video"``), named in the error
    when the folder has none (default: "this detector or embedder"). ``fallback_fps``: the frame rate when
    ``seqinfo.ini`` has no ``frameRate``. ``fps``: the rate to use instead of the sequence's (a user's ``--fps``,
    a camera set's ``fps:``); :attr:`native_fps` stays the sequence's.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        need_images: bool = True,
        camera: str | None = None,
        images_for: str | None = None,
        fallback_fps: float | None = None,
        fps: float | None = None,
    ) -> None:
        _check_fps(fps)
        self.folder = Path(folder)
        self.info: SeqInfo = read_seqinfo(self.folder / "seqinfo.ini", fallback_fps=fallback_fps or fps)
        self.name = self.info.name or self.folder.name
        self.camera = camera or self.name
        self.native_fps = self.info.frame_rate
        self.fps = float(fps) if fps is not None else self.native_fps
        self.length = self.info.seq_length
        self.size = (self.info.im_width, self.info.im_height)
        self.inner: FrameSource | None = None
        if need_images:
            videos = self.videos()
            if self.info.video:  # the one seqinfo.ini names (mctrack samples make writes video=video.mp4): it was
                # ignored, and an annotated copy beside it (track --out SEQ --video) could be read in its place
                named_video = self.folder / self.info.video
                if not named_video.is_file():
                    raise InputError(f"{self.folder / 'seqinfo.ini'}: video={self.info.video}: no such file")
                videos = [named_video]
            img_dir = self.folder / self.info.im_dir
            if len(videos) > 1:  # the first by name was read, silently: an annotated copy beside it, say
                named = [v for v in videos if v.stem in (self.name, self.folder.name)]
                if len(named) != 1:
                    raise InputError(
                        f"{self.folder}: {len(videos)} videos ({', '.join(v.name for v in videos[:4])}"
                        f"{', ...' if len(videos) > 4 else ''}) and not one named after the sequence "
                        f"({self.name}.*); keep the sequence's own video there alone, or give it as the source"
                    )
                videos = named
            if videos:
                self.inner = VideoFileSource(videos[0], camera=self.camera, fps=self.fps)
                header = self.inner.native_fps
                if not fps and header is not None and abs(header - self.fps) > 0.01 * self.fps:
                    _warn_once(
                        f"{os.path.normpath(self.folder)}: seqinfo.ini says {self.fps:g} fps but the header of "
                        f"{videos[0].name} says {header:g}; the sequence's {self.fps:g} fps is used (every time "
                        "window of tracking counts with it; set frameRate in seqinfo.ini if it is wrong)"
                    )
            elif img_dir.is_dir():
                self.inner = ImageFolderSource(
                    img_dir, camera=self.camera, fps=self.fps, name=self.name, first_number=1
                )  # MOTChallenge images are numbered from frame 1
            else:
                raise InputError(
                    f"{self.folder}: no video and no {self.info.im_dir}/ image folder; images are needed for "
                    + (images_for or "this detector or embedder")
                )
            if self.inner.length is not None and self.inner.length != self.length:
                log.warning(
                    "%s: seqinfo.ini says %d frames but %s has %d%s",
                    self.folder,
                    self.length,
                    getattr(self.inner, "path", getattr(self.inner, "folder", "")),
                    self.inner.length,
                    f"; only the sequence's first {self.length} are read" if self.inner.length > self.length else "",
                )
        self.has_images = self.inner is not None
        #: why the last iteration ended before the sequence's seqLength frames (a short or damaged video or image
        #: folder), else None: the results would cover part of what its ground truth covers
        self.ended_early: str | None = None

    def videos(self) -> list[Path]:
        """The video files in the folder, by name (any may be the sequence's recording; not hidden files: a killed
        writer's temporary one), with the one seqinfo.ini names (``video=``) wherever it lies."""
        found = sorted(
            p
            for p in self.folder.iterdir()
            if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file() and not p.name.startswith(".")
        )
        named = self.folder / self.info.video if self.info.video else None
        return found + [named] if named is not None and named.is_file() and named not in found else found

    def __iter__(self) -> Iterator[Frame]:
        self.ended_early = None
        if self.inner is not None:
            # the sequence is seqLength frames (what its ground truth and any evaluation cover), however long the
            # video or image folder holding them
            read = 0
            for frame in self.inner:
                if frame.index >= self.length:
                    break
                read = frame.index + 1
                yield frame
            if read < self.length:
                video = isinstance(self.inner, VideoFileSource)
                holder = Path(self.inner.path if video else getattr(self.inner, "folder", self.info.im_dir)).name
                why = getattr(self.inner, "ended_early", None)  # a damaged video's own account
                # a video whose last few frames do not decode ends normally, as on its own (a warning said so)
                short = self.length - read
                if why or not video or short >= self.inner.max_bad_frames:
                    self.ended_early = (
                        f"its video {holder}: {why}"
                        if why
                        else f"its {'video' if video else 'image folder'} {holder} holds {read} of the "
                        f"{self.length} frames seqinfo.ini declares (seqLength)"
                    )
                else:
                    log.warning(
                        "%s: its video %s holds %d of the %d frames seqinfo.ini declares; the sequence ends at frame "
                        "%d",
                        self.folder,
                        holder,
                        read,
                        self.length,
                        read,
                    )
            return
        for i in range(self.length):
            yield Frame(self.camera, i, i / self.fps, None)


class _End:
    """The end of the frames a reader thread queues (a prefetched source's, a finite video read as a stream's)."""


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class PrefetchSource(FrameSource):
    """``source``'s frames, decoded by a background thread up to ``depth`` frames ahead.

    The frames, their order and the source's attributes (``name``, ``fps``, ``length``, ``size``, ``ended_early``,
    ...) are the wrapped source's; an exception the source raises is raised by the iteration at the frame where it
    happened. Stopping the iteration early (``close()`` on the iterator, or an exception in the consumer) stops
    the thread and closes the source's own iterator. For recorded sources only: a live source has its own reader.
    """

    def __init__(self, source: FrameSource, depth: int = 4) -> None:
        if int(depth) != depth or depth < 1:
            raise ValueError(f"depth: must be an integer >= 1, got {depth}")
        self.source, self.depth = source, int(depth)

    def __getattr__(self, name: str):
        if name in ("source", "depth"):  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.source, name)

    @property
    def has_images(self) -> bool:  # a class attribute of FrameSource: not reached through __getattr__
        return self.source.has_images

    def __iter__(self) -> Iterator[Frame]:
        q: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            it = None
            try:
                it = iter(self.source)
                for frame in it:
                    if not put(frame):
                        return
                put(_End())
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
                put(_Failed(exc))
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()

        thread = threading.Thread(target=produce, name=f"decode-{getattr(self.source, 'camera', '')}", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
        finally:
            stop.set()
            thread.join(timeout=10.0)


class _Lost:
    def __init__(self, message: str) -> None:
        self.message = message


#: URL schemes that can carry a finite video file as well as a live stream; a capture of one of these that reports
#: a frame count is a file (RTSP, RTMP, UDP and webcams are always live)
_FILE_SCHEMES = ("http://", "https://", "ftp://")
#: frames a video behind a URL may end short of its header's count and still count as whole (a video file's last
#: frames that cannot be decoded are tolerated alike, below ``VideoFileSource``'s ``max_bad_frames``)
_URL_SHORT_FRAMES = 5


class LiveSource(FrameSource):
    """A live stream: an ``rtsp://``/``http://`` URL (anything OpenCV's FFmpeg backend opens) or a webcam index.

    The stream is opened when the source is made (a stream that cannot be opened fails at once, naming it).
    Iterating starts a reader thread; see the module docstring for buffering, timestamps and lost streams.
    ``length`` is None: a live stream ends only when it is lost or the consumer stops iterating. Frame indices
    count the frames handed out; frames dropped while processing fell behind leave no gap in them, so the time
    between two frames is their timestamps' difference, not ``1 / fps``.

    A finite video behind an ``http(s)://`` or ``ftp://`` URL (the capture reports a frame count; ``frame_count``)
    is read as what it is: every frame, waiting for the consumer instead of dropping, timed by its own frame rate
    (``index / fps``), ending after its last frame; it is never reconnected, which would replay it from the start.
    When it ends before the frame count its header promises, ``ended_early`` says so (as for a truncated file).

    Args:
        source: URL, or a webcam index as a string of digits (``"0"``).
        camera: camera id stamped on frames.
        fps: nominal frame rate (default: the stream's own, else 25).
        buffer: frames held while processing catches up.
        drop: drop the oldest buffered frame when the buffer is full (live behaviour); ``False`` makes the reader
            wait instead, so no frame is lost (recorded streams, tests).
        reconnect_s: seconds without a frame, reconnecting, before the stream counts as lost (``math.inf``: it
            never does; the stream is reconnected until it returns or the consumer stops).
        record_to: also write every frame received to this video file (``.mkv`` keeps what was written when the
            process is killed; at the nominal fps, resized to the first frame's size), so a live run can be
            annotated and looked at afterwards; or a callable giving the next file's path, called when each file
            of the recording starts (with ``record_segment_s``).
        record_segment_s: start a new file of the recording every so many seconds of capture time (a run of days
            is not one file that grows without end); None: one file. :attr:`recorded` lists the files.
        capture_factory: ``source -> cv2.VideoCapture``-like object (tests).
        clock: seconds, monotonic (default :func:`time.monotonic`); read once per frame for its timestamp.
        epoch: clock reading that is time 0 (several cameras of one run share it, so their timestamps are
            comparable); default: when iteration starts.
    """

    _queue: queue.Queue | None = None  # the reader's frames while iterating
    _reader: threading.Thread | None = None
    dropped, reconnects, outage_s = 0, 0, 0.0  # the last iteration's counts (set per instance)
    #: seconds after reading starts at which iteration ends even without a frame (a run's --duration while the
    #: stream is down and reconnecting; frames themselves are stopped by their timestamps); None: no end
    until_s: float | None = None
    _deadline: float | None = None  # time.monotonic() of that end, while iterating
    _stop_reading: threading.Event | None = None  # set to stop the reader thread
    _carry_gap = 0.0  # the outage before a frame dropped from the buffer, said with the next one taken
    _disk_level = 0  # the free space on the recording's disk last seen: 0 enough, 1 under 1 GB, 2 under 64 MB
    _carry_lock = threading.Lock()
    #: guards outage_s and the reader's state that the end of an iteration reads (a run can stop while the reader
    #: thread still waits in a read): the start of an outage not yet counted, the last frame's time, the intervals
    _outage_lock = threading.Lock()
    _outage_since: float | None = None
    _last_frame_at: float | None = None
    _usual: collections.deque | None = None

    def __init__(
        self,
        source: str,
        *,
        camera: str | None = None,
        fps: float | None = None,
        buffer: int = 8,
        drop: bool = True,
        reconnect_s: float = 10.0,
        record_to: str | Path | Callable[[], Path] | None = None,
        record_segment_s: float | None = None,
        capture_factory: Callable[[str | int], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        epoch: float | None = None,
    ) -> None:
        if buffer < 1:
            raise ValueError(f"buffer: must be >= 1, got {buffer}")
        if not reconnect_s >= 0:  # math.inf: reconnect until the stream returns or the run ends
            raise ValueError(f"reconnect_s: must be >= 0, got {reconnect_s}")
        self.source = str(source)
        self._capture_factory = capture_factory or self._capture
        self.clock = clock
        self.epoch = epoch
        cap = self._open()
        if not cap.isOpened():
            cap.release()
            raise InputError(
                f"{self.source}: cannot open the live stream (unreachable URL, wrong credentials, or no such webcam)"
            )
        stream_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        self._cap = cap
        self.name = camera or self.source
        self.camera = camera or self.source
        self.fps = float(fps) if fps else (stream_fps if 0 < stream_fps < 1000 else 25.0)
        self.length = None
        self.size = (w, h) if w > 0 and h > 0 else None
        self.buffer, self.drop, self.reconnect_s = int(buffer), bool(drop), float(reconnect_s)
        count = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        finite = self.source.lower().startswith(_FILE_SCHEMES) and np.isfinite(count) and 0 < count < 1e9
        #: frames of a finite video behind the URL (its header's count), None for a live stream
        self.frame_count = int(count) if finite else None
        if finite:
            self.drop = False
            log.warning(
                "%s: a video file of %d frames, not a live stream: every frame is read at its own frame rate "
                "(%g fps), but it is tracked as a stream, without the offline refinements of recorded video "
                "(download it and give the file for those)",
                self.source,
                self.frame_count,
                self.fps,
            )
        #: why the last iteration of a finite video ended before its header's frame count, else None
        self.ended_early: str | None = None
        if record_segment_s is not None and not record_segment_s > 0:
            raise ValueError(f"record_segment_s: must be > 0 or None, got {record_segment_s}")
        if record_segment_s is not None and record_to is not None and not callable(record_to):
            raise ValueError("record_segment_s: needs record_to to be a callable giving each file's path")
        self.record_to = record_to if callable(record_to) else Path(record_to) if record_to else None
        self.record_segment_s = record_segment_s
        #: the recording's files of the last iteration, in order: ``[path, first frame index, frames written]``
        self.recorded: list[list] = []
        #: frames the reader dropped because processing fell behind (last iteration)
        self.dropped = 0
        #: reconnections made (last iteration)
        self.reconnects = 0
        #: seconds without frames, summed over the outages (last iteration)
        self.outage_s = 0.0

    def _open(self):
        with _opencv_quiet():
            return self._capture_factory(int(self.source) if self.source.isdigit() else self.source)

    @staticmethod
    def _capture(source: str | int):
        """OpenCV's capture of ``source``; a URL's connection and reads time out (10 s, 30 s: a snapshot camera may
        send a frame every few seconds), so that a stream that stops answering without closing (a TCP stall) is
        reconnected instead of hanging its reader for good. A GStreamer pipeline (``... ! ...``) goes to OpenCV as
        it is."""
        if not _reads_time_out(source):
            return cv2.VideoCapture(source)
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(LiveSource.OPEN_TIMEOUT_S * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(LiveSource.READ_TIMEOUT_S * 1000),
        ]
        return cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)

    def gap_before(self, index: int) -> float:
        """Seconds the stream delivered no frame before frame ``index`` after an outage (reads failed meanwhile: a
        reconnect) or a freeze (see ``FREEZE_MIN_S``), else 0; once. Frames dropped while processing fell behind do
        not count (the reader read them), nor a slow or bursty stream's usual interval between frames."""
        return getattr(self, "_gaps", {}).pop(index, 0.0)

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether the next frame (or the stream's end or loss) can be taken without waiting, waiting up to
        ``timeout`` seconds for it; True before reading starts. A run with several live cameras takes frames only
        from those that have one, so that a stalled or reconnecting stream never holds the others up."""
        deadline = time.monotonic() + timeout
        while True:
            q, reader = self._queue, self._reader
            if q is None or not q.empty() or reader is None or not reader.is_alive():
                return True
            if self._deadline is not None and time.monotonic() >= self._deadline:
                return True  # taking the next item ends the iteration
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.005))

    def close(self) -> None:
        """Release the stream if it was opened but never iterated (a reader started but never iterated stops and
        releases it)."""
        if self._stop_reading is not None:
            self._stop_reading.set()
            self._queue = self._reader = self._deadline = self._stop_reading = None
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def _put(self, q: queue.Queue, item, stop: threading.Event) -> bool:
        """Queue ``item``: dropping (and counting) the oldest frame when full (``drop``), else waiting; gives up
        (False) once ``stop`` is set, so the reader never blocks on a consumer that went away."""
        while not stop.is_set():
            try:
                if self.drop:
                    q.put_nowait(item)
                else:
                    q.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self.drop:
                    try:
                        old = q.get_nowait()
                        self.dropped += 1
                        if isinstance(old, tuple) and old[2]:  # an outage before it: said with the next frame
                            with self._carry_lock:
                                self._carry_gap = max(self._carry_gap, old[2])
                    except queue.Empty:
                        pass
        return False

    #: seconds of a connection's first frames left out of the rate check: FFmpeg reads frames while it opens a
    #: stream (an RTSP camera's first second or so) and hands them over at once, a burst that is not the rate
    RATE_SKIP_S = 2.0

    def _check_rate(self, window: list[float]) -> bool:
        """Warn (and True) when the ``window`` of capture times of consecutive frames (from a connection's first
        frame) shows the stream delivering far from the fps it is tracked and recorded at (FFmpeg says 25 for an
        MJPEG stream whatever it sends); measured over at least 50 frames and 2 s after the first ``RATE_SKIP_S``."""
        if window[-1] - window[0] < self.RATE_SKIP_S + 2.0:
            return False
        times = window[bisect.bisect_left(window, window[0] + self.RATE_SKIP_S) :]
        if len(times) < 50:
            return False
        measured = (len(times) - 1) / (times[-1] - times[0])
        if abs(measured - self.fps) <= 0.25 * self.fps:
            return True
        log.warning(
            "%s: frames arrive at about %.1f fps, not the %g fps the camera is tracked and recorded at (time "
            "windows such as the tracker's max_lost_s count frames at that rate, and the recording plays %.1fx too "
            "%s); set the camera's fps in the camera set",
            self.source,
            measured,
            self.fps,
            max(measured, self.fps) / min(measured, self.fps),
            "fast" if measured < self.fps else "slow",
        )
        return True

    #: an interval between two frames read without a failed read in between is a freeze (an outage that the
    #: connection survived: a camera that froze, a stalled network) when it is at least this many seconds, ...
    FREEZE_MIN_S = 1.0
    #: ... this many times the median of the stream's intervals of the last FREEZE_MEMORY_S (a snapshot camera's few
    #: seconds between frames are not one) and twice the longest of them, freezes included (a stream delivered in
    #: bursts, HLS: a segment's frames at once and then nothing for its length, or a lasting drop of the rate is
    #: said once at most, not at every segment or frame; a second freeze within that time is said only when it is
    #: twice as long as the first). Intervals are learnt after a connection's first RATE_SKIP_S (the burst of frames
    #: FFmpeg read while opening it) and judged once they cover FREEZE_LEARN_S (three at least): a freeze before is
    #: not seen (an HLS stream's opening burst may outlast RATE_SKIP_S; its first wait for a segment is then learnt)
    FREEZE_FACTOR = 10.0
    FREEZE_MEMORY_S = 60.0
    FREEZE_LEARN_S = 10.0
    #: seconds the end of an iteration waits for the reader thread (a read may wait up to the 30 s read timeout)
    READER_JOIN_S = 5.0
    #: a URL's connection and read timeouts (OpenCV's FFmpeg capture)
    OPEN_TIMEOUT_S = 10.0
    READ_TIMEOUT_S = 30.0

    def _freeze(self, interval: float, usual: collections.deque) -> bool:
        """Whether ``interval`` seconds between two frames of a live stream, its reads not failing meanwhile, is a
        freeze rather than the stream's rate (``usual``: the connection's recent ``(time, interval)`` pairs)."""
        if interval < self.FREEZE_MIN_S or len(usual) < 3:  # most frames: no need to look further
            return False
        if usual[-1][0] - usual[0][0] + usual[0][1] < self.FREEZE_LEARN_S:  # the time the learnt intervals cover
            return False
        recent = [d for _, d in usual]
        return interval >= max(self.FREEZE_FACTOR * float(np.median(recent)), 2 * max(recent))

    def _outage_ends(self, now: float) -> None:
        """Count the outage (failed reads) open since ``_outage_since`` as ending at ``now``; once."""
        with self._outage_lock:
            if self._outage_since is not None:
                self.outage_s += now - self._outage_since
                self._outage_since = None

    def _outage_at_end(self, now: float, lost: bool) -> None:
        """When iteration ends at ``now`` (the run's end, an interruption, the stream given up): count the time
        without frames it ended in, said once. An outage with failed reads counts from the last frame on, and so
        does a stream given up; a stream whose reads still waited counts when the wait is a freeze (``_freeze``)."""
        with self._outage_lock:
            since, last = self._outage_since, self._last_frame_at
            self._outage_since = None
            if since is not None:
                silent = now - since
            elif last is not None and (lost or self._freeze(now - last, self._usual)):
                silent = now - last
            else:
                return
            self.outage_s += silent
            self._last_frame_at = None  # a second end (the reader still running) counts nothing more
        if not lost:
            log.warning(
                "%s: the live stream had given no frame for %.1f s when the run stopped reading it", self.source, silent
            )

    def _read_loop(self, cap, q: queue.Queue, stop: threading.Event, t0: float) -> None:
        lost_since = last_read = silent_since = None  # silent_since: the last frame before an outage
        came_back = False
        n_read = 0
        window: list[float] | None = [] if self.frame_count is None else None  # the first frames' times
        usual = self._usual  # (time, interval) between frames, the last FREEZE_MEMORY_S (changed under _outage_lock)
        connected = None  # the time of the connection's first frame
        try:
            while not stop.is_set():
                ok, image = cap.read()
                now = self.clock() - t0 if self.frame_count is None else n_read / self.fps
                if self.frame_count is None and stop.is_set():  # the run ended during the read: its end counts
                    return  # (a frame now would be a freeze counted twice, a failed read an outage said after it)
                if ok and isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3:
                    came_back = came_back or lost_since is not None
                    if lost_since is not None:  # said, so that a log shows each outage's end as well as its start
                        # since the last frame: a stream that froze until its read timed out was silent that long
                        self._outage_ends(now)
                        log.warning(
                            "%s: the live stream is back after %.1f s without frames (%d reconnect(s) so far)",
                            self.source,
                            now - silent_since,
                            self.reconnects,
                        )
                    lost_since = None
                    n_read += 1
                    # after failed reads (an outage, a reconnect) or a freeze: the time since the frame read before
                    # it. Not the gap between frames processed (frames dropped while processing fell behind make
                    # one), nor a slow stream's usual interval (a snapshot camera's 2 s between frames is no outage)
                    gap = now - last_read if came_back and last_read is not None else 0.0
                    if connected is None or came_back:
                        connected = now
                        with self._outage_lock:
                            usual.clear()  # a new connection: its rate is learnt anew
                            self._last_frame_at = now
                    elif self.frame_count is None:
                        interval = now - last_read
                        if self._freeze(interval, usual):
                            gap = interval
                            with self._outage_lock:
                                if stop.is_set():  # the run ended meanwhile: the end of iteration counts it
                                    return
                                self.outage_s += interval
                                self._last_frame_at = now
                            log.warning(
                                "%s: the live stream gave no frame for %.1f s without closing (a camera that froze or "
                                "a stalled network)",
                                self.source,
                                interval,
                            )
                            if window is not None:
                                window.clear()  # the rate of consecutive frames, not across a freeze
                        with self._outage_lock:
                            self._last_frame_at = now
                            if now - connected >= self.RATE_SKIP_S:  # not the burst of frames read while opening
                                usual.append((now, interval))  # freezes too: a lasting new rate becomes the usual one
                                while usual and usual[0][0] < now - self.FREEZE_MEMORY_S:
                                    usual.popleft()
                    if window is not None:
                        window.append(now)
                        if self._check_rate(window):  # once a run
                            window = None
                    came_back, last_read = False, now
                    self._put(q, (now, np.ascontiguousarray(image), gap), stop)
                    continue
                if self.frame_count is not None:  # a finite video: its end (a reconnect would replay it)
                    short = self.frame_count - n_read
                    if short >= _URL_SHORT_FRAMES:
                        self.ended_early = (
                            f"the video ends after {n_read} of the {self.frame_count} frames its header promises "
                            "(truncated, damaged, or the connection broke)"
                        )
                    elif short > 0:  # as a video file whose last few frames cannot be decoded
                        log.warning(
                            "%s: the last %d frame(s) its header promises were not received; the video ends at "
                            "frame %d",
                            self.source,
                            short,
                            n_read,
                        )
                    self._put(q, _End(), stop)
                    return
                if lost_since is None:
                    lost_since, silent_since = now, now if last_read is None else last_read
                    with self._outage_lock:  # counted from the last frame on: the outage's, not a freeze's
                        self._outage_since, self._last_frame_at = silent_since, None
                    if window is not None:
                        window.clear()  # the rate of consecutive frames, not across an outage
                    log.warning(
                        "%s: no frame from the live stream; reconnecting %s",
                        self.source,
                        "until it returns" if math.isinf(self.reconnect_s) else f"for up to {self.reconnect_s:.0f} s",
                    )
                if now - lost_since >= self.reconnect_s:
                    self._outage_ends(now)  # a stream lost for good was without frames from its last one on
                    self._put(
                        q,
                        _Lost(
                            f"{self.source}: live stream lost: no frame for {self.reconnect_s:g} s "
                            f"after {self.reconnects} reconnect(s)"
                        ),
                        stop,
                    )
                    return
                cap.release()
                if stop.wait(min(0.5, self.reconnect_s / 4)):
                    return  # the end of iteration counts the outage
                cap = self._open()
                self.reconnects += 1
        except Exception as exc:  # noqa: BLE001 - reported to the consumer, never swallowed
            self._outage_ends(self.clock() - t0)
            self._put(q, _Lost(f"{self.source}: live stream failed: {type(exc).__name__}: {exc}"), stop)
        finally:
            cap.release()

    def start(self) -> None:
        """Start reading (the reader thread) before iteration does: frames buffer from now, and :meth:`ready` can
        tell whether one came, so that a run with several live cameras need not wait for any camera's first frame.
        Iteration starts it when it is not running."""
        if self._reader is not None or not hasattr(self, "_capture_factory"):  # running, or a stand-in (tests)
            return
        cap, self._cap = self._cap, None
        if cap is None:  # a second iteration reopens the stream
            cap = self._open()
        self.dropped = self.reconnects = 0
        self.outage_s = 0.0
        self.ended_early = None
        self._outage_lock = threading.Lock()
        self._outage_since = self._last_frame_at = None
        self._usual = collections.deque()
        self._carry_gap, self._carry_lock, self._gaps = 0.0, threading.Lock(), {}
        q: queue.Queue = queue.Queue(maxsize=self.buffer)
        stop = threading.Event()
        t0 = self.clock() if self.epoch is None else self.epoch
        self._t0 = t0
        reader = threading.Thread(
            target=self._read_loop, args=(cap, q, stop, t0), name=f"live-{self.camera}", daemon=True
        )
        reader.start()
        self._queue, self._reader, self._stop_reading = q, reader, stop
        self._deadline = None if self.until_s is None else time.monotonic() + self.until_s

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        q, reader, stop = self._queue, self._reader, self._stop_reading
        writer, size, segment_start = None, None, None
        self.recorded = []
        disk_checked, self._disk_level = 0.0, 0
        index = 0
        # the reader reports a lost stream after reconnect_s; a capture whose read() hangs gets a margin on top
        patience = self.reconnect_s + 30.0
        lost = False  # the stream was given up (the outage it ended in counts to the end)
        try:
            while True:
                waited = 0.0
                while True:
                    try:
                        item = q.get(timeout=0.5)
                        break
                    except queue.Empty:
                        waited += 0.5
                        if self._deadline is not None and time.monotonic() >= self._deadline:
                            return  # the run's time is up while the stream has no frame
                        if waited >= patience or not reader.is_alive() and q.empty():
                            lost = True
                            raise InputError(
                                f"{self.source}: live stream lost: no frame for {waited:g} s "
                                "(the capture stopped answering)"
                            ) from None
                if isinstance(item, _Lost):
                    lost = True
                    raise InputError(item.message)
                if isinstance(item, _End):
                    return
                now, image, gap = item
                with self._carry_lock:
                    gap, self._carry_gap = max(gap, self._carry_gap), 0.0
                if gap:
                    self._gaps[index] = gap
                if self.record_to is not None:
                    segment = self.record_segment_s
                    if segment_start is not None and segment and now - segment_start >= segment:
                        if writer is not None:
                            writer.release()
                            self._check_recorded()
                        writer, segment_start = None, None  # the next file starts with this frame
                    if segment_start is None:  # a file that cannot be written is not tried again before the next
                        segment_start = now
                        size = size or (image.shape[1], image.shape[0])  # every file at the first frame's size
                        writer = self._open_recording(size, index)
                    if writer is not None:
                        if (image.shape[1], image.shape[0]) != size:  # the stream came back at another size
                            image_rec = cv2.resize(image, size)
                        else:
                            image_rec = image
                        writer.write(image_rec)
                        self.recorded[-1][2] += 1
                        if now - disk_checked >= _DISK_CHECK_S:  # a disk filling up during a file: said, not silent
                            disk_checked = now
                            self._check_disk(self.recorded[-1][0])
                yield Frame(self.camera, index, now, image)
                index += 1
        finally:
            stop.set()
            ended = self.clock() - self._t0  # not after waiting for the reader: a frozen read waits seconds
            self._queue = self._reader = self._deadline = self._stop_reading = None
            if writer is not None:
                writer.release()
                self._check_recorded()
            reader.join(timeout=self.READER_JOIN_S)
            # blocked in a read: waited for at exit, not left to return into a dying process (a URL's reads time
            # out, so the wait is bounded; a webcam's or a GStreamer pipeline's need not return at all)
            if reader.is_alive() and _reads_time_out(self.source):
                _outlive(reader, self.OPEN_TIMEOUT_S + self.READ_TIMEOUT_S)
            if self.frame_count is None:
                self._outage_at_end(ended, lost)
            if self.dropped:
                log.warning(
                    "%s: %d frame(s) dropped because processing fell behind the live stream", self.source, self.dropped
                )

    def _open_recording(self, size: tuple[int, int], first_index: int):
        """The writer of the recording's next file (listed in :attr:`recorded` from ``first_index`` on), or None
        with a warning when it cannot be written (the run goes on without it)."""
        path = Path(self.record_to() if callable(self.record_to) else self.record_to)
        writer = None
        with contextlib.suppress(OSError):  # a file where its folder should be, no permission, a full disk
            path.parent.mkdir(parents=True, exist_ok=True)
            # MPEG-4 part 2 (mp4v: in every OpenCV build); in a .mkv a recording cut short stays readable
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
        if writer is None or not writer.isOpened():
            log.warning("%s: cannot write the recording %s; the live run goes on without it", self.source, path)
            return None
        self.size = size
        self.recorded.append([path, first_index, 0])
        self._check_disk(path)
        return writer

    def _check_disk(self, path: Path) -> None:
        """Warn when the free space on the recording's disk falls below 1 GB, and again below 64 MB (where frames
        are about to be lost: OpenCV's writer reports failed writes on its own log only); once per level, said
        again after the space came back."""
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            return
        level = 2 if free < _FULL_DISK_BYTES else 1 if free < _LOW_DISK_BYTES else 0
        if level > self._disk_level:
            log.warning(
                "%s: %.1f MB free on the disk of the recording %s; %s (--record-segment files can be moved away "
                "while the run goes on; --no-record records nothing)",
                self.source,
                free / 2**20,
                path,
                "the recording loses frames once it is full" if level == 2 else "when it is full the recording stops",
            )
        self._disk_level = level

    def _check_recorded(self) -> None:
        """After a file of the recording is closed: an empty file (a full disk: OpenCV's writer reports its failed
        writes on its own log only) is warned about, removed and taken off :attr:`recorded`, so that nothing counts
        it as a recording."""
        path = self.recorded[-1][0]
        try:
            empty = path.stat().st_size == 0
        except OSError:
            empty = True
        if empty:
            log.warning(
                "%s: the recording %s is empty (a full disk?); its %d frame(s) are not recorded",
                self.source,
                path,
                self.recorded[-1][2],
            )
            self.recorded.pop()
            with contextlib.suppress(OSError):
                path.unlink()


_LOW_DISK_BYTES = 1 << 30  # a recording's disk with less free space than this is warned about
_FULL_DISK_BYTES = 64 << 20  # ... and again with less than this: frames about to be lost
_DISK_CHECK_S = 5.0  # seconds of capture time between two checks of a recording's free disk space


class RecordingSource(FrameSource):
    """The frames of a live stream's recording, made of one or more files (:attr:`LiveSource.recorded`), with the
    frame indices of the run that recorded them; frames that were not recorded (a file that could not be written)
    are skipped. ``size`` is the first file's (a recording keeps its first frame's size throughout)."""

    def __init__(
        self, files: list[tuple[str | Path, int, int]] | list[list], *, camera: str, fps: float | None = None
    ) -> None:
        if not files:
            raise InputError(f"camera {camera}: no recording of the live stream")
        self.files = [(Path(f), int(first), int(n)) for f, first, n in files]
        opened = None
        for path, _, _ in self.files:  # the size and rate of the first file that can be opened
            with contextlib.suppress(InputError):
                opened = VideoFileSource(path, camera=camera, fps=fps)
                break
        if opened is None:
            raise InputError(f"camera {camera}: no file of its recording can be opened ({self.files[0][0]}, ...)")
        self.name, self.camera, self.fps, self.size = opened.name, camera, opened.fps, opened.size
        self.length = None

    def __iter__(self) -> Iterator[Frame]:
        for path, first, n in self.files:
            if not n or not path.is_file():
                continue
            try:
                source = VideoFileSource(path, camera=self.camera, fps=self.fps)
            except InputError as err:  # one damaged file (a full disk, a crash) costs its own frames only
                log.warning("%s; its frames %d-%d are left out", err, first, first + n - 1)
                continue
            for frame in source:
                if frame.index >= n:
                    break
                index = first + frame.index
                yield Frame(self.camera, index, index / self.fps, frame.image)


def has_images(path: str | Path) -> bool:
    """Whether ``open_source(path)`` can give images: a video file, an image folder, or a sequence folder with a
    video or its image folder (a sequence folder with only ``det.txt`` and ``gt.txt`` has none). False for a path
    that does not exist (opening it reports that)."""
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() in VIDEO_SUFFIXES
    if not p.is_dir():
        return False
    if not (p / "seqinfo.ini").is_file():
        return True
    if any(q.suffix.lower() in VIDEO_SUFFIXES and q.is_file() for q in p.iterdir()):
        return True
    try:
        return (p / read_seqinfo(p / "seqinfo.ini", fallback_fps=1.0).im_dir).is_dir()  # the rate is not asked
    except (InputError, ValueError, OSError):
        return False  # opening it reports what is wrong with its seqinfo.ini


def laid_out_as_sequence(folder: Path) -> bool:
    """Whether ``folder`` holds a MOTChallenge sequence's subfolders (``det``, ``gt`` or ``img1``), with or without
    the ``seqinfo.ini`` a sequence needs."""
    return any((folder / d).is_dir() for d in ("det", "gt", "img1"))


def sequence_folders(path: str | Path) -> list[Path]:
    """The MOTChallenge sequence folders (each with a ``seqinfo.ini``) directly inside the folder ``path``, by name
    (``MOT17/train`` holds such folders); empty when ``path`` is no folder, is a sequence itself, or holds images of
    its own (an image folder, whatever its subfolders). A subfolder that cannot be read is no sequence."""
    p = Path(path)
    if not p.is_dir() or (p / "seqinfo.ini").is_file():
        return []

    def is_sequence(c: Path) -> bool:
        try:
            return c.is_dir() and (c / "seqinfo.ini").is_file()
        except OSError:  # lost+found and other folders the user may not read
            return False

    children = list(p.iterdir())
    if any(c.suffix.lower() in IMAGE_SUFFIXES and c.is_file() for c in children):
        return []
    return sorted((c for c in children if is_sequence(c)), key=lambda c: c.name)


def open_source(
    path: str | Path,
    *,
    need_images: bool = True,
    camera: str | None = None,
    images_for: str | None = None,
    fallback_fps: float | None = None,
    fps: float | None = None,
) -> FrameSource:
    """The right source for ``path``: a video file, a MOTChallenge sequence folder or an image folder
    (``images_for``, ``fallback_fps``: a sequence's, see :class:`SequenceSource`; ``fps``: the rate to use instead
    of the source's own, or, for an image folder, of the assumed one)."""
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{p}: not a video file ({', '.join(VIDEO_SUFFIXES)})")
        source = VideoFileSource(p, camera=camera, fps=fps)
        if not fps:
            _warn_sequence_beside(source)
        return source
    if p.is_dir():
        if (p / "seqinfo.ini").is_file():
            return SequenceSource(
                p, need_images=need_images, camera=camera, images_for=images_for, fallback_fps=fallback_fps, fps=fps
            )
        images_here = any(f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir() if f.is_file())
        if laid_out_as_sequence(p) and not images_here:
            # laid out as a MOTChallenge sequence but without its description: say so, not "no images"
            raise InputError(f"{p}: seqinfo.ini not found (a MOTChallenge sequence folder needs one)")
        if inside := sequence_folders(p):  # MOT17/train: say so, not "no images"
            names = ", ".join(c.name for c in inside[:3]) + (", ..." if len(inside) > 3 else "")
            raise InputError(
                f"{p}: a folder of {len(inside)} MOTChallenge sequence(s) ({names}), not one source: give one of "
                "them (mctrack track also takes the whole folder)"
            )
        return ImageFolderSource(p, camera=camera, fps=fps)
    raise InputError(f"{p}: source not found (expected a video file, an image folder or a sequence folder)")


def _warn_sequence_beside(source: VideoFileSource) -> None:
    """A sequence's video given on its own runs at its header's rate; when the ``seqinfo.ini`` beside it gives
    another (PETS09-S2L1: 7 fps, its .avi header 10), the folder and the video track differently (other time
    windows, IDF1 62.3 against 59.1) without a word: said, once per video and process."""
    info_file = source.path.parent / "seqinfo.ini"
    if not info_file.is_file():
        return
    try:
        info = read_seqinfo(info_file)
    except (InputError, OSError, ValueError):
        return
    if source.native_fps is None or abs(info.frame_rate - source.fps) <= 0.01 * info.frame_rate:
        return  # no rate in the header: the assumed one is warned about by its caller
    _warn_once(
        f"{os.path.normpath(source.path)}: its header's {source.fps:g} fps is used, but the seqinfo.ini beside it "
        f"says {info.frame_rate:g}: give the folder to track it as that sequence, or set the rate (--fps, or fps: in "
        "a camera set)"
    )


def _colour(track_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(int(track_id) * 7919 + 1)
    return tuple(int(c) for c in rng.integers(60, 256, 3))


class _H264Writer:
    """H.264 (yuv420p, faststart) .mp4 through PyAV's libx264: plays in browsers, notebooks and editors, unlike
    OpenCV's ``mp4v``. Odd frame sizes lose their last row/column (4:2:0 needs even sizes)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import av  # raises ImportError when PyAV is absent: the caller falls back to OpenCV
        from fractions import Fraction

        self.size = (size[0] - size[0] % 2, size[1] - size[1] % 2)
        self._av = av
        self._container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            self._stream = self._container.add_stream("libx264", rate=Fraction(float(fps)).limit_denominator(1001))
        except Exception:
            self._container.close()
            raise
        self._stream.width, self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"preset": "veryfast", "crf": "23"}

    def write(self, image: np.ndarray) -> None:
        w, h = self.size
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def release(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


class AnnotatedVideoWriter:
    """Writes frames with each track's box and id drawn on them, and the 1-based frame number (as in MOT files).

    ``.mp4``: H.264 through PyAV (browser-playable), else OpenCV's ``mp4v`` with a warning; other suffixes:
    OpenCV ``MJPG``. Frames without an image are written black. Use as a context manager. ``shown_as``: the
    name messages give the file (the final name of a video written under a temporary one; default ``path``).
    """

    def __init__(
        self, path: str | Path, fps: float, size: tuple[int, int], *, shown_as: str | Path | None = None
    ) -> None:
        self.path = Path(path)
        shown = shown_as or self.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (int(size[0]), int(size[1]))
        self.codec = "mjpg"
        self._writer = None
        if self.path.suffix.lower() == ".mp4":
            try:
                self._writer = _H264Writer(self.path, fps, self.size)
                self.codec = "h264"
            except Exception as err:  # PyAV missing or without libx264
                log.warning(
                    "%s: H.264 unavailable (%s: %s); writing mp4v, which browsers do not play",
                    shown,
                    type(err).__name__,
                    err,
                )
                self.codec = "mp4v"
        if self._writer is None:
            fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.codec == "mp4v" else "MJPG"))
            self._writer = cv2.VideoWriter(str(self.path), fourcc, float(fps), self.size)
            if not self._writer.isOpened():
                raise InputError(f"{shown}: cannot open for writing a video")

    def write(self, frame: Frame, tracks: Tracks) -> None:
        w, h = self.size
        if frame.image is None:
            image = np.zeros((h, w, 3), np.uint8)
        else:
            image = frame.image.copy()
            if (image.shape[1], image.shape[0]) != self.size:
                image = cv2.resize(image, self.size)
        for tid, box in zip(tracks.track_id, tracks.xyxy):
            if not np.isfinite(box).all():
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            c = _colour(int(tid))
            cv2.rectangle(image, (x1, y1), (x2, y2), c, 2)
            # the id on a tag of the box's colour: drawn in that colour alone it vanished on a light background
            label = str(int(tid))
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 2)
            top = max(y1 - th - 8, 0)
            cv2.rectangle(image, (x1 - 1, top), (x1 + tw + 4, top + th + 8), c, -1)
            ink = (0, 0, 0) if 0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2] > 140 else (255, 255, 255)
            cv2.putText(image, label, (x1 + 2, top + th + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6, ink, 2)
        for ink, weight in (((0, 0, 0), 4), ((255, 255, 255), 2)):  # the frame number, outlined: any background
            cv2.putText(image, f"{frame.index + 1}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, ink, weight)
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
