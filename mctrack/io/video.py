"""Frame sources (video file, image folder, MOTChallenge sequence folder) and the annotated-video writer.

A source is iterable over :class:`~mctrack.types.Frame` objects with 0-based, gap-free indices and knows its
``name`` (used for result files), ``fps``, ``length`` (frames expected, or None when unknown) and ``size``.

Bad frames: a frame that cannot be decoded in the middle of a video, or an unreadable image in a folder, is
yielded with ``image=None`` and a warning naming the file and frame, so frame indices stay aligned with
detection files and the tracker simply coasts through it. After ``max_bad_frames`` unreadable frames in a row a
video is taken to have ended early (a warning says where).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..types import Frame, Tracks
from .mot import SeqInfo, read_seqinfo

__all__ = ["FrameSource", "VideoFileSource", "ImageFolderSource", "SequenceSource", "open_source",
           "AnnotatedVideoWriter", "VIDEO_SUFFIXES", "IMAGE_SUFFIXES"]

log = logging.getLogger(__name__)

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

    def __init__(self, path: str | Path, *, camera: str | None = None, fps: float | None = None,
                 max_bad_frames: int = 5) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: video file not found")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise InputError(f"{self.path}: cannot open video (unknown format or corrupt header)")
            file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        finally:
            cap.release()
        if max_bad_frames < 1:
            raise ValueError(f"max_bad_frames: must be >= 1, got {max_bad_frames}")
        self.name = self.path.stem
        self.camera = camera or self.path.stem
        self.fps = float(fps) if fps else (file_fps if 0 < file_fps < 1000 else 30.0)
        self.length = count if count > 0 else None
        self.size = (w, h) if w > 0 and h > 0 else None
        self.max_bad_frames = int(max_bad_frames)
        #: frames that could not be decoded during the last iteration (0-based indices)
        self.bad_frames: list[int] = []

    def _open(self) -> cv2.VideoCapture:
        return cv2.VideoCapture(str(self.path))

    def __iter__(self) -> Iterator[Frame]:
        cap = self._open()
        self.bad_frames = []
        index, pending_bad = 0, []
        try:
            while True:
                ok, image = cap.read()
                good = ok and isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
                if not good:
                    if self.length is not None and index + len(pending_bad) >= self.length:
                        if pending_bad:
                            log.warning("%s: the last %d frame(s) cannot be decoded; the video ends at frame %d",
                                        self.path, len(pending_bad), index)
                        break  # the normal end of the stream
                    pending_bad.append(index + len(pending_bad))
                    if len(pending_bad) >= self.max_bad_frames:
                        log.warning("%s: video ends early: %d unreadable frames in a row from frame %d "
                                    "(the header promised %s frames)", self.path, len(pending_bad), pending_bad[0],
                                    self.length if self.length is not None else "unknown")
                        break
                    continue
                for bad in pending_bad:  # a readable frame follows: the gaps were bad frames mid-video
                    log.warning("%s: frame %d cannot be decoded; it is passed on without an image", self.path, bad)
                    self.bad_frames.append(bad)
                    yield Frame(self.camera, bad, bad / self.fps, None)
                index += len(pending_bad)
                pending_bad = []
                yield Frame(self.camera, index, index / self.fps, np.ascontiguousarray(image))
                index += 1
        finally:
            cap.release()


class ImageFolderSource(FrameSource):
    """Frames from the images of a folder, in name order (e.g. a MOTChallenge ``img1`` folder).

    An image that cannot be read is yielded with ``image=None`` and a warning.
    """

    def __init__(self, folder: str | Path, *, camera: str | None = None, fps: float = 30.0,
                 name: str | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: image folder not found")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise InputError(f"{self.folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps: must be > 0, got {fps}")
        self.name = name or self.folder.name
        self.camera = camera or self.name
        self.fps = float(fps)
        self.length = len(self.files)
        first = cv2.imread(str(self.files[0]), cv2.IMREAD_COLOR)
        self.size = None if first is None else (first.shape[1], first.shape[0])

    def __iter__(self) -> Iterator[Frame]:
        for i, f in enumerate(self.files):
            image = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("%s: cannot be read as an image; frame %d is passed on without an image", f, i)
            yield Frame(self.camera, i, i / self.fps, image)


class SequenceSource(FrameSource):
    """A MOTChallenge sequence folder (``seqinfo.ini``): its video when present, else its image folder, else
    (``need_images=False``) ``seqLength`` frames without images, enough to replay ``det.txt`` motion-only.

    The frame rate is the ``seqinfo.ini`` one (the benchmark's). With ``need_images=False`` no image is decoded
    even when there is a video.
    """

    def __init__(self, folder: str | Path, *, need_images: bool = True, camera: str | None = None) -> None:
        self.folder = Path(folder)
        self.info: SeqInfo = read_seqinfo(self.folder / "seqinfo.ini")
        self.name = self.info.name or self.folder.name
        self.camera = camera or self.name
        self.fps = self.info.frame_rate
        self.length = self.info.seq_length
        self.size = (self.info.im_width, self.info.im_height)
        self.inner: FrameSource | None = None
        if need_images:
            videos = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
            img_dir = self.folder / self.info.im_dir
            if videos:
                self.inner = VideoFileSource(videos[0], camera=self.camera, fps=self.fps)
            elif img_dir.is_dir():
                self.inner = ImageFolderSource(img_dir, camera=self.camera, fps=self.fps, name=self.name)
            else:
                raise InputError(f"{self.folder}: no video and no {self.info.im_dir}/ image folder; images are "
                                 "needed for this detector or embedder")
            if self.inner.length is not None and self.inner.length != self.length:
                log.warning("%s: seqinfo.ini says %d frames but %s has %d", self.folder, self.length,
                            getattr(self.inner, "path", getattr(self.inner, "folder", "")), self.inner.length)
        self.has_images = self.inner is not None

    def __iter__(self) -> Iterator[Frame]:
        if self.inner is not None:
            yield from self.inner
            return
        for i in range(self.length):
            yield Frame(self.camera, i, i / self.fps, None)


def open_source(path: str | Path, *, need_images: bool = True, camera: str | None = None) -> FrameSource:
    """The right source for ``path``: a video file, a MOTChallenge sequence folder or an image folder."""
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{p}: not a video file ({', '.join(VIDEO_SUFFIXES)})")
        return VideoFileSource(p, camera=camera)
    if p.is_dir():
        if (p / "seqinfo.ini").is_file():
            return SequenceSource(p, need_images=need_images, camera=camera)
        return ImageFolderSource(p, camera=camera)
    raise InputError(f"{p}: source not found (expected a video file, an image folder or a sequence folder)")


def _colour(track_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(int(track_id) * 7919 + 1)
    return tuple(int(c) for c in rng.integers(60, 256, 3))


class AnnotatedVideoWriter:
    """Writes frames with each track's box and id drawn on them (``mp4v`` for .mp4, ``MJPG`` otherwise).

    Frames without an image are written black. Use as a context manager.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (int(size[0]), int(size[1]))
        fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.path.suffix.lower() == ".mp4" else "MJPG"))
        self._writer = cv2.VideoWriter(str(self.path), fourcc, float(fps), self.size)
        if not self._writer.isOpened():
            raise InputError(f"{self.path}: cannot open for writing a video")

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
            cv2.putText(image, str(int(tid)), (x1, max(y1 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, c, 2)
        cv2.putText(image, f"{frame.index}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
