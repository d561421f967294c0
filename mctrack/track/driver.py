"""The one per-camera driver: frames -> detections and embeddings -> tracker, frame by frame.

``mctrack track`` and ``mctrack run`` (every camera of it, live or not) both drive their cameras with
:func:`drive`, so every per-camera feature exists in both: replayed features (the run's cache), ``embed_every``,
``max_seconds``, live capture time, camera-motion compensation, frames without images, detections beyond the end
of the video and a source that ends before its declared length. What the driver keeps does not grow with the
length of the stream: it yields one :class:`Step` per frame and keeps counters only.

Where detections and embeddings come from is a *feature source*: :class:`DetectAndEmbed` (a detector and an
optional embedder, optionally recording what they produce) or anything with the same ``__call__(frame) ->
(Detections, embeddings or None)``, e.g. the run's cache replay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..io.mot import MAX_COORD
from ..types import Detections, Frame, Tracks
from .cmc import CameraMotion

__all__ = [
    "drive",
    "Step",
    "DriverStats",
    "DetectAndEmbed",
    "Timer",
    "usable_boxes",
    "EMBED_POLICIES",
    "EMBED_REFRESH_S",
    "refresh_frames",
    "unused_detection_file",
]

#: which detections :class:`DetectAndEmbed` embeds: every one, or only those the tracker's association needs
EMBED_POLICIES = ("all", "needed")
#: with embed policy "needed", seconds between a track's embedded detections at least (``--embed-refresh``)
EMBED_REFRESH_S = 0.5


def refresh_frames(seconds: float, fps: float) -> int:
    """An embedding refresh interval in seconds as frames at ``fps`` (at least 1); ValueError unless
    ``0 < seconds <= 3600``."""
    if not (np.isfinite(seconds) and 0 < seconds <= 3600):
        raise ValueError(f"embed_refresh: must be in (0, 3600] seconds, got {seconds}")
    return max(1, int(round(seconds * fps)))


log = logging.getLogger(__name__)


class Timer:
    """Adds the seconds spent in each stage to ``timings[stage]``: ``timer("detect", fn, *args)``."""

    def __init__(self, timings: dict[str, float] | None = None) -> None:
        self.timings = timings if timings is not None else {}

    def __call__(self, stage: str, fn: Callable, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t0


@dataclass
class DriverStats:
    """What happened while driving one camera (filled in as it runs)."""

    frames: int = 0  # frames tracked to the end (one cut short by Ctrl-C or a failure is not counted)
    frames_without_image: int = 0
    detections: int = 0
    embedded: int = 0  # detections that got an embedding
    tracks: int = 0  # distinct local track ids
    stopped_early: bool = False  # max_seconds reached
    ended_early: str | None = None  # the source ended before its declared length (why, in words)
    timings: dict[str, float] = field(default_factory=dict)
    _last_id: int = 0

    def count_ids(self, ids: np.ndarray) -> None:
        # local ids are issued in increasing order, so a new id is one above every id seen before
        if len(ids) and int(ids.max()) > self._last_id:
            self.tracks += int((ids > self._last_id).sum())
            self._last_id = int(ids.max())


def unused_detection_file(detector, stats: DriverStats) -> str | None:
    """Why a detection file (:class:`mctrack.detect.MotFileDetector`) with rows gave the frames driven none of
    them (frame numbers beyond the source's, or none scoring its ``min_score``): a wrong file or filter, not an
    empty scene. None when it gave some, holds none (a scene without people is legal; loading it warned) or the
    detector reads no file. Of a source read only in part (``stats.stopped_early``, ``--duration``)
    only the filter is judged: its rows may all lie beyond the frames read."""
    if not getattr(detector, "rows_read", 0) or stats.detections or not stats.frames:
        return None
    if not detector.num_rows:
        return f"{detector.path}: none of its {detector.rows_read} detections scores at least {detector.min_score:g}"
    if stats.stopped_early:
        return None
    return (
        f"{detector.path}: none of its {detector.num_rows} detections lies in the {stats.frames} frame(s) read (its "
        f"frames run from {detector.first_frame + 1} to {detector.last_frame + 1}): is it this source's detection file?"
    )


@dataclass(frozen=True)
class Step:
    """One frame of one camera.

    ``time``: scene time in seconds (capture time for live streams, else index / fps, plus the camera's offset);
    ``embeddings``: ``(N, D)`` per detection or None (no appearance this frame); ``track_embeddings``: ``(M, D)``
    the embedding of the detection each track row was matched to, NaN rows where none (``(M, 0)`` without
    appearance); ``tentative``: with ``drive(..., tentative=True)``, the tracker's unconfirmed matches of the frame
    (its ``tentative()``, for :func:`mctrack.track.postprocess.backfill`), else None.
    """

    frame: Frame
    time: float
    detections: Detections
    embeddings: np.ndarray | None
    tracks: Tracks
    track_embeddings: np.ndarray
    tentative: Tracks | None = None


#: crops after which an embedder that gave no finite feature for any is taken as broken (an error, not a run
#: that says one warning and then tracks on motion alone under its name)
BROKEN_EMBEDDER_CROPS = 64


def usable_boxes(dets: Detections) -> tuple[Detections, int]:
    """``dets`` without boxes that are not finite, have no area or lie beyond ``MAX_COORD`` pixels, and how many
    were dropped."""
    xyxy = dets.xyxy
    ok = (
        np.isfinite(xyxy).all(axis=1)
        & np.isfinite(dets.score)
        & (xyxy[:, 2] > xyxy[:, 0])
        & (xyxy[:, 3] > xyxy[:, 1])
        & (np.abs(xyxy) <= MAX_COORD).all(axis=1)
    )
    if ok.all():
        return dets, 0
    return Detections(xyxy[ok], dets.score[ok], dets.class_id[ok]), int((~ok).sum())


class DetectAndEmbed:
    """Feature source: ``detector(frame)``, then ``embedder(image, detections)`` on frames that have an image.

    Args:
        detector: ``frame -> Detections``.
        embedder: appearance embedder (``dim`` attribute) or None.
        embed_every: embed only frames whose index is a multiple of this (others are tracked on motion alone).
        detector_needs_images: an image detector gives nothing on frames without an image; a file replay
            (``mot``) still gives its rows.
        timer: adds the seconds of ``detect`` and ``embed``.
        record: ``record(frame_index, detections, embeddings or None)`` after each frame (the run's cache).
        embed: ``"all"`` embeds every detection; ``"needed"`` embeds only the detections whose association the
            tracker cannot decide from the boxes alone (its ``appearance_needed``, see
            :meth:`mctrack.track.Tracker.appearance_needed`), the others get NaN rows: the embeddings are then
            handed out as a callable ``(tracker, warp) -> embeddings`` that :func:`drive` calls before the update.
        refresh: with ``embed="needed"``, every track's detection is embedded at least every ``refresh`` frames.
    """

    def __init__(
        self,
        detector: Callable[[Frame], Detections],
        embedder=None,
        *,
        embed_every: int = 1,
        detector_needs_images: bool = True,
        timer: Timer | None = None,
        record: Callable[[int, Detections, np.ndarray | None], None] | None = None,
        embed: str = "all",
        refresh: int = 10,
    ) -> None:
        if int(embed_every) != embed_every or embed_every < 1:
            raise ValueError(f"embed_every: must be an integer >= 1, got {embed_every}")
        if embed not in EMBED_POLICIES:
            raise ValueError(f"embed: must be one of {', '.join(EMBED_POLICIES)}, got {embed!r}")
        if int(refresh) != refresh or refresh < 1:
            raise ValueError(f"refresh: must be an integer >= 1, got {refresh}")
        self.embed, self.refresh = embed, int(refresh)
        self.broken = False  # the embedder gave non-finite features (warned once)
        self.crops_tried = self.crops_finite = 0  # crops given to the embedder, and those with a finite feature
        self.detector, self.embedder, self.embed_every = detector, embedder, int(embed_every)
        self.detector_needs_images = bool(detector_needs_images)
        self.timer = timer or Timer()
        self.record = record
        self.dim = int(getattr(embedder, "dim", 0)) if embedder is not None else 0
        self.dropped = 0

    @property
    def last_frame(self) -> int | None:
        """0-based index of the detector's last frame with detections, for file replays (else None)."""
        return getattr(self.detector, "last_frame", None)

    def __call__(self, frame: Frame) -> tuple[Detections, np.ndarray | None]:
        has_image = frame.image is not None
        if has_image or not self.detector_needs_images:
            dets = self.timer("detect", self.detector, frame)
        else:
            dets = Detections.empty()
        dets, dropped = usable_boxes(dets)
        if dropped and not self.dropped:
            log.warning(
                "%s: the detector gave %d box(es) that are not finite, have no area or lie beyond 1e5 px in "
                "frame %d; such boxes are dropped",
                frame.camera,
                dropped,
                frame.index + 1,
            )
        self.dropped += dropped
        if self.embedder is None or not has_image or frame.index % self.embed_every != 0:
            return self._done(frame, dets, None)
        if self.embed == "needed" and len(dets):
            return dets, lambda tracker, warp: self._embed_needed(frame, dets, tracker, warp)
        return self._done(frame, dets, self._embed(frame, dets))

    def _embed(self, frame: Frame, dets: Detections) -> np.ndarray:
        if not len(dets):
            return np.zeros((0, self.dim), np.float32)
        emb = self.timer("embed", self.embedder, frame.image, dets)
        finite = np.isfinite(emb).all(axis=1)
        if not self.crops_finite:  # until the first finite feature: then the embedder works
            self.crops_tried += len(emb)
            self.crops_finite += int(finite.sum())
            if self.crops_finite == 0 and self.crops_tried >= BROKEN_EMBEDDER_CROPS:  # not hours of motion only
                raise InputError(
                    f"{frame.camera}: the embedder gave no finite feature for any of the first {self.crops_tried} "
                    "crops (a broken model or export?); stopped rather than tracking on motion alone"
                )
        if not self.broken and not finite.all():
            self.broken = True
            log.warning(
                "%s: the embedder returned non-finite features in frame %d (%s); such detections are tracked "
                "on motion alone",
                frame.camera,
                frame.index + 1,
                "every crop" if not np.isfinite(emb).any() else "some crops",
            )
        return emb

    def _embed_needed(self, frame: Frame, dets: Detections, tracker, warp: np.ndarray | None) -> np.ndarray:
        needed = getattr(tracker, "appearance_needed", None)
        mask = np.ones(len(dets), bool) if needed is None else needed(dets, warp=warp, refresh=self.refresh)
        mask = np.asarray(mask)
        if mask.shape != (len(dets),) or mask.dtype != bool:
            raise ValueError(
                f"{type(tracker).__name__}.appearance_needed: expected a boolean mask of shape ({len(dets)},), "
                f"got {mask.dtype} {mask.shape}"
            )
        part = self._embed(frame, dets[mask])
        emb = np.full((len(dets), part.shape[1]), np.nan, np.float32)
        emb[mask] = part
        return self._done(frame, dets, emb)[1]

    def _done(self, frame: Frame, dets: Detections, emb: np.ndarray | None) -> tuple[Detections, np.ndarray | None]:
        if self.record is not None:
            self.record(frame.index, dets, emb)
        return dets, emb


def drive(
    frames: Iterable[Frame],
    features: Callable[[Frame], tuple[Detections, np.ndarray | None]],
    tracker,
    *,
    fps: float,
    live: bool = False,
    time_offset: float = 0.0,
    max_seconds: float | None = None,
    cmc: CameraMotion | None = None,
    replay_warp: Callable[[int], np.ndarray | None] | None = None,
    record_warp: Callable[[int, np.ndarray], None] | None = None,
    stats: DriverStats | None = None,
    source_name: str = "source",
    dim: int = 0,
    tentative: bool = False,
) -> Iterator[Step]:
    """Yield a :class:`Step` for every frame of ``frames`` (see the module docstring).

    Args:
        frames: the camera's frames (a :class:`~mctrack.io.video.FrameSource` or any iterable); a source with
            ``ended_early`` set after iterating is reported in ``stats.ended_early``.
        features: ``frame -> (detections, embeddings or None)``; the embeddings may be a callable
            ``(tracker, warp) -> embeddings``, called after the camera-motion estimate and before the update.
        tracker: ``update(detections, embeddings, frame=, warp=)``.
        fps: frames per second (scene time of a file frame is ``index / fps``).
        live: scene time is the frame's capture timestamp.
        time_offset: seconds added to every scene time (clock alignment between cameras).
        max_seconds: stop after this many seconds of the stream.
        cmc: camera-motion compensation (frames with an image only); ``record_warp(frame index, warp)`` is told
            every warp it gives (the run's cache), and ``replay_warp(frame index)`` gives the warp of a frame
            without an image (a cache replay).
        dim: embedding size, for the ``track_embeddings`` of frames without appearance.
        tentative: each step carries the tracker's unconfirmed matches (``tracker.tentative()``; a tracker
            without that method gives none) for the offline :func:`~mctrack.track.postprocess.backfill`.
    """
    stats = stats if stats is not None else DriverStats()
    timer = Timer(stats.timings)
    it = iter(frames)
    last = -1
    lost_s = getattr(tracker, "max_lost_s", None)
    # a live source says how long its stream gave no frame before each frame (not the gaps that frames dropped
    # while processing fell behind make: those must not end tracks)
    gap_before = getattr(frames, "gap_before", None) if live else None
    try:
        while True:
            frame = timer("decode", next, it, None)
            if frame is None:
                break
            t_stream = frame.timestamp if live else frame.index / fps
            if max_seconds is not None and t_stream >= max_seconds - 1e-9:
                stats.stopped_early = True
                break
            gap = gap_before(frame.index) if gap_before is not None else 0.0
            if lost_s is not None and gap > lost_s:
                # the stream stopped for longer than a lost track lives: its tracks end (the tracker counts lost
                # frames by update, and would resume them after any outage)
                ended = tracker.end_all() if hasattr(tracker, "end_all") else 0
                if ended:
                    log.info(
                        "%s: %d track(s) ended: no frame for %.1f s (longer than max_lost_s %g)",
                        source_name,
                        ended,
                        gap,
                        lost_s,
                    )
            last = frame.index
            dets, emb = features(frame)
            warp = None
            if cmc is not None and frame.image is not None:
                warp = timer("cmc", cmc, frame.image, dets.xyxy)
                if record_warp is not None:
                    record_warp(frame.index, warp)
            elif replay_warp is not None:
                warp = replay_warp(frame.index)
            if callable(emb):  # embeddings deferred until the tracker says which detections need one
                emb = emb(tracker, warp)
            tracks: Tracks = timer("track", tracker.update, dets, emb, frame=frame.index, warp=warp)
            if emb is not None and emb.ndim == 2:
                track_emb = tracks.matched_embeddings(emb)
            elif emb is not None:
                track_emb = np.full((len(tracks), dim), np.nan, np.float32)
            else:
                track_emb = np.full((len(tracks), 0), np.nan, np.float32)
            pending = None
            if tentative:
                get = getattr(tracker, "tentative", None)
                pending = get() if get is not None else Tracks.empty(tracks.camera, tracks.frame)
            # counted once the frame is tracked: a frame cut short by Ctrl-C or a failure is not one of the
            # frames the results cover, nor are its detections
            stats.frames += 1
            stats.frames_without_image += frame.image is None
            stats.detections += len(dets)
            if emb is not None and emb.size:
                stats.embedded += int(np.isfinite(emb).all(axis=1).sum())
            stats.count_ids(tracks.track_id)
            yield Step(frame, t_stream + time_offset, dets, emb, tracks, track_emb, pending)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()  # a live source's reader thread stops here
    if stats.stopped_early:
        return
    stats.ended_early = getattr(frames, "ended_early", None)
    det_last = getattr(features, "last_frame", None)
    det_file = getattr(getattr(features, "detector", None), "path", "the detection file")
    if det_last is not None and det_last > last:
        log.warning(
            "%s ends at frame %d but %s has detections up to frame %d; those %d frame(s) are ignored",
            source_name,
            last + 1,
            det_file,
            det_last + 1,
            det_last - last,
        )
    elif det_last is not None and det_last >= 0 and last - det_last >= max(0.25 * (last + 1), 2.0 * fps):
        # the other way round: a file of a shorter sequence leaves the rest of this one without a box, silently
        log.warning(
            "%s has detections up to frame %d only, and %s has %d frames: its last %d frame(s) have none (the "
            "detection file of a shorter sequence?)",
            det_file,
            det_last + 1,
            source_name,
            last + 1,
            last - det_last,
        )
