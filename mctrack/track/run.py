"""Drive one camera: frames -> detector -> embedder -> tracker, frame by frame."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..types import Detections, Frame, Tracks
from .cmc import CameraMotion

__all__ = ["track_frames", "RunStats"]

log = logging.getLogger(__name__)


@dataclass
class RunStats:
    """What happened during :func:`track_frames` (filled in as it runs)."""

    frames: int = 0
    frames_without_image: int = 0
    detections: int = 0
    ids: set[int] = field(default_factory=set)


def track_frames(frames: Iterable[Frame], detector: Callable[[Frame], Detections], tracker,
                 *, embedder=None, cmc: CameraMotion | None = None, stats: RunStats | None = None,
                 source_name: str = "source") -> Iterator[tuple[Frame, Detections, Tracks]]:
    """Yield ``(frame, detections, tracks)`` for every frame.

    A frame without an image (unreadable, or a replay without images) is tracked without appearance and
    without camera-motion compensation; a detector that needs images gives no detections for it, so the tracker
    coasts. When the detector replays a file whose detections go beyond the last frame of the source (a video
    shorter than its ``det.txt``), a warning says how many frames of detections were ignored.
    """
    stats = stats if stats is not None else RunStats()
    last = -1
    for frame in frames:
        last = frame.index
        stats.frames += 1
        if frame.image is None:
            stats.frames_without_image += 1
            try:
                dets = detector(frame)
            except ValueError:  # an image detector on an image-less frame
                dets = Detections.empty()
        else:
            dets = detector(frame)
        stats.detections += len(dets)
        emb = None
        if embedder is not None and frame.image is not None and len(dets):
            emb = embedder(frame.image, dets)
        elif embedder is not None:
            emb = np.zeros((len(dets), embedder.dim), np.float32) if frame.image is not None else None
        warp = None
        if cmc is not None and frame.image is not None:
            warp = cmc(frame.image, dets.xyxy)
        tracks = tracker.update(dets, emb, frame=frame.index, warp=warp)
        stats.ids.update(int(t) for t in tracks.track_id)
        yield frame, dets, tracks
    det_last = getattr(detector, "last_frame", None)
    if det_last is not None and det_last > last:
        log.warning("%s ends at frame %d but %s has detections up to frame %d; those %d frame(s) are ignored",
                    source_name, last + 1, getattr(detector, "path", "the detection file"), det_last + 1,
                    det_last - last)
