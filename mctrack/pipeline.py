"""The multi-camera pipeline: sources -> detector -> embedder -> per-camera tracker -> tracklets -> linker -> writers.

Cameras are processed one after another (each with its own progress bar, tracker and id counter), or, with an
online linker, all together frame by frame in scene-time order (ties by camera id), as live streams would arrive.
For every camera, as the run goes:

- ``OUT/local/<camera>.txt``: MOT rows with the camera's *local* track ids, flushed after every frame, so an
  interrupted or failed run keeps every frame it finished;
- ``OUT/cache/<camera>-<embedder>-<key>/``: the camera's detections and embeddings (:mod:`mctrack.cache`),
  recorded as it runs and completed when it finished; a later run with the same key replays the cache instead of
  decoding, detecting and embedding again (tracking and linking experiments take seconds).

Each camera is driven by the one per-camera driver (:func:`mctrack.track.driver.drive`, also behind
``mctrack track``). What a camera keeps while it runs does not grow with the length of its stream: rows go to disk
as they are made, a track's record is handed over (summarised to a few embeddings) once the tracker can no longer
resume it, and the online linker's gallery is bounded (:class:`~mctrack.link.OnlineLinker`).

A camera whose stream fails mid-way (an exception from the source, detector or embedder) is reported in one
line naming the camera and the file; the other cameras finish and what the failed camera produced before the
failure is kept and linked. Ctrl-C stops the camera being processed, links and writes what was finished, then
re-raises.

When every camera is done, the offline linker joins the tracklets into global identities (or, without an embedder,
each tracklet keeps its own global id). An online linker instead gives each track its global id when it matures,
and ``OUT/<camera>.txt`` (MOT rows with global ids) is written as the run goes: a track's rows are held back until
it has its id, then flushed every frame. The run then writes ``OUT/<camera>.txt`` (frame order, global ids),
``OUT/identities.csv``, ``OUT/<camera>.mp4`` (annotated, optional), ``OUT/summary.json`` and, when the cameras
have ground truth, ``OUT/eval.json`` (:mod:`mctrack.outputs`). Ground-truth files are read and checked before any
camera starts; rows beyond the end of a camera's video are ignored with a warning. Scene time of a frame is
``index / fps + time_offset`` with the fps and offset of ``cams.yaml`` (the stream's own fps when not given).

Live cameras (``rtsp://``/``http://`` URLs, webcam indices; :class:`~mctrack.io.video.LiveSource`) make the run
interleave all cameras whatever the linker (a live stream never ends, so cameras cannot run one after another);
their scene time is the capture time, they are never cached (a URL says nothing about what it will show), and
what they showed is recorded to ``OUT/recordings/<camera>-<start>.mkv``, a file per ``record_segment_s`` (the
annotated video is made from them; ``record_live=False``: none). A
live run ends with Ctrl-C (what was finished is linked and written), with ``max_seconds``, or when every stream is
lost. With ``engine="ray"`` the interleaved cameras run as Ray generator tasks whose steps stream back to this
process, which merges them in the same order (same outputs; no recordings on the workers).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import nullcontext
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cache import CacheRecorder, cache_folder, feature_cache_key, file_sha1, load_cache
from .config import CameraConfig, CamsConfig, is_live_source
from .detect.batching import BatchingDetector
from .embed.batching import BatchingEmbedder
from .errors import InputError, error_line, first_line
from .eval.mot import read_ground_truth, scored_ground_truth
from .eval.multicam import evaluate_multicam
from .io.mot import MotWriter, load_mot_txt, save_mot_txt
from .io.paths import check_file_name
from .io.video import (
    FrameSource,
    LiveSource,
    PrefetchSource,
    RecordingSource,
    frames_read_again,
    has_images,
    note_replayed,
    open_source,
    warn_assumed_fps,
    warn_overridden_fps,
)
from .link.constraints import LinkConstraints, Transit, load_ground_homography
from .link.linkers import Linker, OnlineLinker, singleton_identities
from .link.store import TrackletStore
from .link.tracklets import TrackletBuilder, TrackRecord, merge_tracklets
from .online import OnlineStream, TrackletSummary
from .outputs import (
    RUN_FILES,
    RUN_LOCK,
    atomic_write_text,
    earlier_outputs,
    aicity_camera_numbers,
    gallery_picks,
    write_aicity,
    write_annotated_video,
    write_gallery,
    write_global_rows,
    write_identities,
    temporary_name,
    write_json,
    written_over,
)
from .signals import interrupts_deferred
from .track.cmc import IDENTITY_WARP
from .track.driver import (
    EMBED_POLICIES,
    EMBED_REFRESH_S,
    DetectAndEmbed,
    DriverStats,
    Timer,
    drive,
    refresh_frames,
    unused_detection_file,
)
from .track.postprocess import (
    MAX_SIGMA,
    StitchConfig,
    backfill,
    camera_frames,
    judge_tracks,
    judgement_warning,
    min_track_rows,
    from_reference,
    refine,
    stitch_frames,
    stitch_tracklets,
    to_reference,
)
from .types import Detections, Frame, Identities, Tracklet, Tracks

__all__ = [
    "Pipeline",
    "CameraResult",
    "RunResult",
    "constraints_from_cams",
    "file_sha1",
    "feature_cache_key",
    "default_source",
]

log = logging.getLogger(__name__)


def constraints_from_cams(cams: CamsConfig, *, use_calibration: bool = True, **kwargs) -> LinkConstraints:
    """Link constraints from ``cams.yaml``: transit windows and ground homographies of calibrated cameras."""
    homs = {c.id: load_ground_homography(c.calibration) for c in cams.cameras if c.calibration and use_calibration}
    transit = tuple(
        Transit(w.between[0], w.between[1], w.min_s, float("inf") if w.max_s is None else w.max_s) for w in cams.transit
    )
    fps = [c.fps for c in cams.cameras if c.fps]
    kwargs.setdefault("time_step", 1.0 / max(fps) if fps else 0.1)
    return LinkConstraints(transit=transit, homographies=homs, **kwargs)


#: ``CameraResult.error`` of a camera stopped by Ctrl-C or SIGTERM (what it finished is kept; not a failure)
INTERRUPTED = "interrupted"


@dataclass
class CameraResult:
    """What one camera produced. ``tracklets``: its finished tracklets (offline linking; empty with an online
    linker, which received them as they finished); ``summaries``: one compact row per tracklet."""

    camera: str
    source: str
    frames: int = 0
    frames_without_image: int = 0
    detections: int = 0
    embedded: int = 0  # detections with an embedding (all of them with embed="all" and no embed_every)
    fps: float = 0.0
    length: int | None = None
    cache: str = "off"  # off | hit | miss
    dropped: int = 0  # live streams: frames dropped because processing fell behind
    reconnects: int = 0  # live streams: reconnections made
    outage_s: float = 0.0  # live streams: seconds without frames, over all outages
    stitched: int = 0  # tracklets joined to an earlier one of the same person (offline stitching)
    weak_tracks: int = 0  # tracks dropped for a mean detection score below min_track_score
    short_tracks: int = 0  # tracks dropped for being seen for less than min_track_s seconds
    cmc_frames: int = 0  # frames whose camera-motion compensation moved anything
    # those frames' warps {frame index: (2, 3)}: the offline refinements (smoothing, stitching) run stabilised
    warps: dict[int, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    images_read: bool = False  # tracking decoded the camera's images (and so reported the frames it could not)
    # what opening the camera's source and detector warned about (in a worker: not said again by the parent)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    tracklets: list[Tracklet] = field(default_factory=list)
    summaries: list[TrackletSummary] = field(default_factory=list)


@dataclass
class RunResult:
    """What :meth:`Pipeline.run` produced."""

    out: Path
    cameras: dict[str, CameraResult]
    identities: Identities
    summary: dict
    evaluation: dict | None = None
    interrupted: bool = False
    evaluation_error: str | None = None

    @property
    def failed(self) -> list[str]:
        """Cameras that broke (``CameraResult.error``); a camera stopped by Ctrl-C is not one of them."""
        return [c for c, r in self.cameras.items() if r.error and r.error != INTERRUPTED]

    @property
    def interrupted_cameras(self) -> list[str]:
        """Cameras stopped part-way by Ctrl-C or SIGTERM (what they finished is in the outputs)."""
        return [c for c, r in self.cameras.items() if r.error == INTERRUPTED]


def _keeping(replay_warp, warps: dict[int, np.ndarray]):
    """``replay_warp`` that also keeps each moving warp it gives in ``warps``."""

    def warp(index: int) -> np.ndarray | None:
        w = replay_warp(index)
        if w is not None and not np.array_equal(w, IDENTITY_WARP):
            warps[int(index)] = w
        return w

    return warp


def _recording(recorder, warps: dict[int, np.ndarray]):
    """A ``record_warp`` that keeps each moving warp in ``warps`` and passes every warp to the cache recorder."""

    def record(index: int, w: np.ndarray) -> None:
        if not np.array_equal(w, IDENTITY_WARP):
            warps[int(index)] = np.asarray(w, np.float64)
        if recorder is not None:
            recorder.warp(index, w)

    return record


def _frames_of(rows: np.ndarray, r: CameraResult) -> int:
    """Frames of a camera's path: those it ran, or as far as its rows reach."""
    return max(int(r.frames), int(rows[:, 0].max()) if len(rows) else 0)


_FPS_WARNED: set[tuple] = set()


def _fps_warning_key(camera: CameraConfig) -> tuple:
    """What the frame-rate warnings of :func:`default_source` are said once for."""
    return (camera.id, camera.source, camera.fps)


def default_source(camera: CameraConfig, need_images: bool) -> FrameSource:
    """The frame source of a camera: a video file, image folder, MOTChallenge sequence folder or live stream."""
    if is_live_source(camera.source):
        return LiveSource(camera.source, camera=camera.id, fps=camera.fps)
    p = Path(camera.source)
    src = open_source(p, need_images=need_images, camera=camera.id, fps=camera.fps)  # runs at camera.fps when given
    key = _fps_warning_key(camera)
    if camera.fps:
        if key not in _FPS_WARNED:
            warn_overridden_fps(src, camera.fps, f"camera {camera.id}", "the camera set", str(p))
    elif key not in _FPS_WARNED:
        warn_assumed_fps(src, f"camera {camera.id} ({p})", "fps: in the camera set")
    _FPS_WARNED.add(key)  # once per process: a run opens a camera's source up to three times
    return src


@contextlib.contextmanager
def _warnings_said(notes: list[str]) -> Iterator[None]:
    """Appends to ``notes`` the warnings (and errors) that mctrack's loggers say in this thread during the block:
    what opening a camera's source and detector said, kept with its feature cache for a replay to say again."""
    ident = threading.get_ident()

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == ident:
                notes.append(record.getMessage())

    handler = _Keep(logging.WARNING)
    ours = logging.getLogger("mctrack")
    ours.addHandler(handler)
    try:
        yield
    finally:
        ours.removeHandler(handler)


def _imageless(camera: str, n: int, fps: float) -> Iterator[Frame]:
    """Frames without images (motion-only replay of a detection file, or of a cache)."""
    for i in range(int(n)):
        yield Frame(camera, i, i / fps, None)


def _tentative_file(out: Path, camera: str) -> Path:
    # a folder of its own: no camera id can name another camera's file (``x.tentative`` beside ``x``)
    return out / "local" / "tentative" / f"{camera}.txt"


def _apply_backfill(local: Path, tentative: Path) -> None:
    """Add to the camera's rows in ``local`` the rows of ``tentative`` of the tracks it has (the confirmed ones),
    then remove ``tentative``."""
    try:
        if local.is_file() and tentative.stat().st_size:
            save_mot_txt(local, backfill(load_mot_txt(local), load_mot_txt(tentative)))
    except (OSError, InputError) as exc:  # the camera's rows stay as tracked: the refinement is not applied
        log.warning("%s: the confirmed tracks' first frames were not added: %s", local, first_line(exc))
    finally:
        tentative.unlink(missing_ok=True)


def _as_written(local: Path, summaries: list[TrackletSummary], fps: float | None) -> list[TrackletSummary]:
    """``summaries`` with each track's first and last frame and its row count as the camera's final rows in
    ``local`` have them: the tracklets (and so the summaries) were made while tracking, before backfill added each
    confirmed track's first frames. The times move by the frames' difference at ``fps``."""
    if not summaries or not local.is_file() or not local.stat().st_size:
        return summaries
    rows = load_mot_txt(local)
    ids, inverse = np.unique(rows[:, 1].astype(np.int64), return_inverse=True)
    frames = rows[:, 0].astype(np.int64) - 1
    first = np.full(len(ids), np.iinfo(np.int64).max)
    last = np.full(len(ids), -1)
    np.minimum.at(first, inverse, frames)
    np.maximum.at(last, inverse, frames)
    count = np.bincount(inverse, minlength=len(ids))
    where = {int(t): i for i, t in enumerate(ids)}
    step = 1.0 / fps if fps else 0.0
    out = []
    for s in summaries:
        i = where.get(s.track_id)
        if i is None:
            out.append(s)
            continue
        lo, hi = int(first[i]), int(last[i])
        out.append(
            dataclasses.replace(
                s,
                first_frame=lo,
                last_frame=hi,
                frames=int(count[i]),
                first_time=s.first_time + (lo - s.first_frame) * step,
                last_time=s.last_time + (hi - s.last_frame) * step,
            )
        )
    return out


def _failed_camera(cam: CameraConfig, message: str) -> CameraResult:
    """The result of a camera whose worker failed or died (reported in one line)."""
    log.error("camera %s (%s): %s", cam.id, cam.source, message)
    return CameraResult(cam.id, cam.source, error=message)


class Pipeline:
    """Runs a camera set end to end (see the module docstring).

    Args:
        detector_factory: ``camera -> detector`` (``detector(frame) -> Detections``); a fresh one per camera.
        tracker_factory: ``(camera id, fps) -> tracker`` with ``update(dets, embeddings, frame=, warp=)``.
        embedder: appearance embedder, or ``None`` for motion only (then nothing is linked: every tracklet keeps
            its own global id).
        linker: joins tracklets into identities; ``None`` = no linking. With an :class:`OnlineLinker` the
            cameras run interleaved and the linker assigns ids live as tracks mature.
        cache_key: ``camera -> dict`` of what the camera's features depend on, or ``None`` for no cache.
        source_factory: ``(camera, need_images) -> FrameSource`` (tests inject failing sources).
        video: write annotated videos with global ids.
        gallery: write ``OUT/gallery.jpg``, each global identity's clearest crop per camera (offline linking of
            recorded cameras; the frames are read again up to the last one needed).
        calibration: use the cameras' calibration files for the world positions of ``OUT/aicity.txt``.
        detector_needs_images: whether the detector reads images (``mot`` does not).
        progress: show a progress bar per camera.
        n_samples: diverse appearance samples kept per tracklet.
        embed_every: embed the detections of every N-th frame only (others are tracked on motion alone): N times
            less Re-ID compute for CPU runs, at some cost in association through occlusions and in the number of
            appearance samples per tracklet.
        embed: ``"all"`` (every detection of an embedded frame) or ``"needed"``: only the detections whose
            association the tracker cannot decide from the boxes alone, plus each track's detection at least every
            ``embed_refresh`` seconds (:meth:`mctrack.track.Tracker.appearance_needed`); the embeddings then
            depend on the tracker's settings, which belong in ``cache_key``. ``mctrack run`` passes the embedder's
            registered default (:func:`mctrack.embed.embed_policy`: ``"needed"`` for the networks).
        embed_refresh: seconds, see ``embed``.
        max_seconds: stop every camera after this many seconds of its stream (live streams: of capture time);
            ``None`` = to the end (live: until Ctrl-C or the stream is lost).
        reconnect_s: a live stream without frames is reconnected for this many seconds before it counts as lost
            (``math.inf``: until it returns); ``None``: the source's own setting (:class:`LiveSource`: 10 s).
        cmc_factory: ``camera -> CameraMotion`` for camera-motion compensation (moving cameras), or None; the
            feature cache then also keeps each frame's warp (its settings are part of the cache key).
        workers: recorded cameras run in this many processes at once (:mod:`mctrack.parallel`); the outputs are
            the same as with one. Live cameras and the online linker run in this process (interleaved), or on Ray
            with ``engine="ray"`` (streamed back and merged here). ``mctrack run`` passes
            :func:`mctrack.parallel.auto_workers` by default (one per core, at most one per camera).
        worker_threads: run the ``workers`` cameras as threads of this process instead, sharing one
            :class:`~mctrack.embed.BatchingEmbedder` (crops of all cameras at the same time in one batch); ``None``
            = threads exactly when the embedder is on a CUDA device (which forked processes cannot share).
        shared_detector: the one detector that ``detector_factory`` returns for every camera (an image model such
            as YOLO), if so: with ``worker_threads`` it is wrapped in a :class:`~mctrack.detect.BatchingDetector`
            (the frames of all cameras at the same time in one call; never called from two threads at once).
        smooth: recorded cameras (offline linker or none): each camera's boxes are smoothed over time once it
            finished (:func:`mctrack.track.postprocess.gaussian_smooth`, sigma in frames; 0 = off) before the
            global rows are written; ``OUT/local/`` then holds the smoothed rows.
        stitch: recorded cameras (offline linker or none): each camera's tracklets up to this many seconds apart
            are joined once it finished (:func:`mctrack.track.postprocess.stitch_tracklets`: motion extrapolation,
            size and, with an embedder, appearance within ``stitch_appearance``) before the cross-camera linking;
            0 = off. ``OUT/local/`` then holds the stitched ids.
        backfill: recorded cameras (offline linker or none): once a camera finished, the frames in which each of
            its confirmed tracks was still tentative (before ``min_hits`` matches) are added to its rows
            (:func:`mctrack.track.postprocess.backfill`; kept meanwhile in ``OUT/local/tentative/<camera>.txt``).
        min_track_score: recorded cameras (offline linker or none): once all cameras finished, each camera's tracks
            whose mean detection score is below this are dropped (rows and tracklets, after stitching, before linking;
            :func:`mctrack.track.postprocess.judge_tracks`); 0 = off. A mapping gives each camera id its own (cameras
            not in it: 0), as ``mctrack run`` does for the cameras with their own ``track_new`` in ``cams.yaml``.
        min_track_s: recorded cameras (offline linker or none): likewise, the tracks seen in fewer frames than this
            many seconds hold at the camera's frame rate are dropped (after the weak ones); 0 = off.
        engine: ``local`` (this machine: ``workers`` processes) or ``ray`` (one Ray task per camera,
            :mod:`mctrack.ray_engine`; ``ray_options``: its ``address``, ``num_cpus``, ``num_gpus``,
            ``local_cpus``, ``retries``). On Ray the feature cache is not used (workers may be other machines);
            live cameras and the online linker stream their tracks back (one Ray generator task per camera).
    """

    def __init__(
        self,
        *,
        detector_factory: Callable[[CameraConfig], Callable[[Frame], Detections]],
        tracker_factory: Callable[[str, float], object],
        embedder=None,
        linker: Linker | None = None,
        cache_key: Callable[[CameraConfig], dict] | None = None,
        source_factory: Callable[[CameraConfig, bool], FrameSource] = default_source,
        video: bool = True,
        gallery: bool = True,
        calibration: bool = True,
        detector_needs_images: bool = True,
        progress: bool = True,
        n_samples: int = 4,
        embed_every: int = 1,
        embed: str = "all",
        embed_refresh: float = EMBED_REFRESH_S,
        max_seconds: float | None = None,
        reconnect_s: float | None = None,
        record_live: bool = True,
        record_segment_s: float | None = 3600.0,
        cmc_factory: Callable[[CameraConfig], object] | None = None,
        workers: int = 1,
        worker_threads: bool | None = None,
        shared_detector: object | None = None,
        smooth: float = 0.0,
        stitch: float = 0.0,
        stitch_appearance: float = StitchConfig.max_appearance,
        backfill: bool = False,
        min_track_score: float | Mapping[str, float] = 0.0,
        min_track_s: float = 0.0,
        engine: str = "local",
        ray_options: dict | None = None,
        record: dict | None = None,
    ) -> None:
        self.detector_factory = detector_factory
        self.record = dict(record or {})  # settings the caller resolved, written to summary.json as they are
        self.tracker_factory = tracker_factory
        self.embedder = embedder
        self.linker = linker
        self.cache_key = cache_key
        self.source_factory = source_factory
        self.video = bool(video)
        self.gallery = bool(gallery)
        self.calibration = bool(calibration)
        self.detector_needs_images = bool(detector_needs_images)
        self.progress = bool(progress)
        if n_samples < 0:
            raise ValueError(f"n_samples: must be >= 0, got {n_samples}")
        self.n_samples = int(n_samples)
        if int(embed_every) != embed_every or embed_every < 1:
            raise ValueError(f"embed_every: must be an integer >= 1, got {embed_every}")
        self.embed_every = int(embed_every)
        if embed not in EMBED_POLICIES:
            raise ValueError(f"embed: must be one of {', '.join(EMBED_POLICIES)}, got {embed!r}")
        refresh_frames(embed_refresh, 1.0)  # checked here, converted per camera
        self.embed, self.embed_refresh = embed, float(embed_refresh)
        if record_segment_s is not None and not record_segment_s > 0:
            raise ValueError(f"record_segment_s: must be > 0 or None, got {record_segment_s}")
        self.record_live, self.record_segment_s = bool(record_live), record_segment_s
        if max_seconds is not None and not (np.isfinite(max_seconds) and max_seconds > 0):
            raise ValueError(f"max_seconds: must be a finite number > 0, got {max_seconds}")
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        if reconnect_s is not None and not reconnect_s >= 0:
            raise ValueError(f"reconnect_s: must be >= 0 seconds (inf: never give up), got {reconnect_s}")
        self.reconnect_s = reconnect_s
        self.cmc_factory = cmc_factory
        if int(workers) != workers or workers < 1:
            raise ValueError(f"workers: must be an integer >= 1, got {workers}")
        self.workers = int(workers)
        self.worker_threads = worker_threads
        self.shared_detector = shared_detector
        self._stop: threading.Event | None = None  # set by Ctrl-C while cameras run in threads
        self._batching: dict | None = None  # counts of the shared batching embedder (cameras in threads)
        self._det_batching: dict | None = None  # and of the shared batching detector
        if not (np.isfinite(smooth) and 0 <= smooth <= MAX_SIGMA):
            raise ValueError(f"smooth: must be in [0, {MAX_SIGMA:g}] frames, got {smooth}")
        self.smooth = float(smooth)
        if not (np.isfinite(stitch) and 0 <= stitch <= 3600):
            raise ValueError(f"stitch: must be in [0, 3600] seconds, got {stitch}")
        if not (np.isfinite(stitch_appearance) and stitch_appearance >= 0):
            raise ValueError(f"stitch_appearance: must be >= 0, got {stitch_appearance}")
        self.stitch, self.stitch_appearance = float(stitch), float(stitch_appearance)
        self.backfill = bool(backfill)
        per_camera = dict(min_track_score) if isinstance(min_track_score, Mapping) else {}
        default = 0.0 if isinstance(min_track_score, Mapping) else min_track_score
        for score in (default, *per_camera.values()):
            if not (np.isfinite(score) and 0 <= score <= 1e6):
                raise ValueError(f"min_track_score: must be a number >= 0, got {score}")
        self._min_scores = {str(k): float(v) for k, v in per_camera.items()}
        self._min_score_default = float(default)
        min_track_rows(min_track_s, 1.0)  # checked here, converted per camera
        self.min_track_s = float(min_track_s)
        if engine not in ("local", "ray"):
            raise ValueError(f"engine: must be local or ray, got {engine!r}")
        self.engine, self.ray_options = engine, dict(ray_options or {})
        self._live_epoch: float | None = None
        self._live_sources: dict[str, LiveSource] = {}  # the run's live cameras' sources, by camera id
        self._live_wall: float | None = None  # on Ray: time 0 of the run as a wall-clock time (see _camera_steps)
        self._builders: dict[str, TrackletBuilder] = {}

    # -- one camera --------------------------------------------------------------------------------------------

    def _keep(self, res: CameraResult, records: list[TrackRecord]) -> None:
        """Finished tracks of a camera run without an online linker: summarised for the offline linker."""
        for rec in records:
            t = rec.tracklet(self.n_samples)
            res.tracklets.append(t)
            res.summaries.append(TrackletSummary.of(t))

    def _camera_steps(
        self, cam: CameraConfig, out: Path, position: int | None = None, sink: dict[str, CameraResult] | None = None
    ) -> Generator[tuple[float, Tracks, list[TrackRecord], np.ndarray], None, CameraResult]:
        """One camera frame by frame: yields ``(scene time, tracks, finished track records, the tracks' embeddings
        of this frame)`` after each frame (the embeddings as given to the builder: ``(M, D)``, NaN rows = none) and
        returns the :class:`CameraResult` (also when the stream failed); the records of tracks still running at
        the end are in ``self._builders[camera]`` until the caller takes them (``pop_all``). ``sink[camera]``
        holds the result from the start, so an interrupted camera's partial result is not lost."""
        res = CameraResult(cam.id, cam.source)
        if sink is not None:
            sink[cam.id] = res
        timer = Timer(res.timings)
        dim = int(getattr(self.embedder, "dim", 0)) if self.embedder is not None else 0
        name = getattr(self.embedder, "name", "none")
        folder = key = None
        cmc = self.cmc_factory(cam) if self.cmc_factory is not None else None
        if self.cache_key is not None and not is_live_source(cam.source):
            # the cache also keeps the camera-motion warps (a replay has no images to estimate them from)
            settings = None
            if cmc is not None:  # its class (a subclass may estimate differently) and its settings
                settings = {"class": f"{type(cmc).__module__}.{type(cmc).__qualname__}"}
                settings.update(cmc.settings() if hasattr(cmc, "settings") else {})
            folder, key = cache_folder(out, cam.id, name, {**self.cache_key(cam), "cmc": settings})
        replay = load_cache(folder, key, dim, warps=cmc is not None) if folder is not None else None
        res.cache = "off" if folder is None else ("hit" if replay is not None else "miss")
        builder = self._builders[cam.id] = TrackletBuilder(cam.id, n_samples=self.n_samples)

        def imageless(stats: DriverStats) -> int:  # a replay has no images, but its source had them
            return stats.frames_without_image if replay is None else min(replay.frames_without_image, stats.frames)

        stats = DriverStats(timings=res.timings)
        notes: list[str] = res.notes  # what opening the source and detector warned about, kept with the cache
        live = False
        src: FrameSource | None = None
        pending: MotWriter | None = None  # the tracker's unconfirmed rows, for backfill
        recorder: CacheRecorder | None = None
        try:
            if replay is not None:
                for note in replay.notes:  # what opening the source and detector said when the cache was made
                    log.warning("%s", note)
                    note_replayed(note)  # and not a second time when the source is opened for the video
                notes.extend(replay.notes)  # (in a worker: for the parent process, which opens it for the video)
                _FPS_WARNED.add(_fps_warning_key(cam))  # said: not again when the source is opened for the video
                fps = float(cam.fps or replay.fps)
                length: int | None = replay.frames
                frames = _imageless(cam.id, replay.frames, fps)
                features = replay
            else:
                need = self._needs_images
                src = self._live_sources.get(cam.id)  # opened and started by _run_interleaved
                if src is None:
                    with _warnings_said(notes):
                        src = timer("open", self.source_factory, cam, need)
                if isinstance(src, LiveSource):
                    live = True
                    self._setup_live(src, cam, out)
                fps = float(cam.fps or src.fps)
                length = src.length
                frames = src if need or not src.length else _imageless(cam.id, src.length, fps)
                res.images_read = frames is src
                if need and not live:  # decoded ahead in a thread: decoding overlaps detection and embedding
                    frames = PrefetchSource(src)
                with _warnings_said(notes):
                    detector = timer("open", self.detector_factory, cam)
                    outside = getattr(detector, "outside_frame_problem", None)  # a detection file's boxes vs frame
                    size = getattr(src, "size", None)
                    if outside is not None and size and size[0] > 0 and size[1] > 0:
                        every = getattr(detector, "all_outside_problem", None)
                        if every is not None and (problem := every(*size, str(cam.source))):
                            raise InputError(problem)  # the camera fails: no box of it is in the image
                        problem = outside(*size, str(cam.source))
                        if problem:
                            log.warning("camera %s: %s", cam.id, problem)
                if folder is not None:
                    recorder = CacheRecorder(folder, key, dim)
                features = DetectAndEmbed(
                    detector,
                    self.embedder,
                    embed_every=self.embed_every,
                    detector_needs_images=self.detector_needs_images,
                    timer=timer,
                    record=recorder,
                    embed=self.embed,
                    refresh=refresh_frames(self.embed_refresh, fps),
                )
            res.fps, res.length = fps, length
            shown = self._frames_to_run(length, fps)
            tracker = self.tracker_factory(cam.id, fps)
            # a track is handed over once the tracker can no longer resume it: its lost budget counts processed
            # frames (live frame indices count processed frames too), so the hand-over does as well
            max_age = getattr(tracker, "max_age", None)
            finish_after = int(max_age) + 1 if max_age is not None else int(np.ceil(2.0 * fps))
            bar = tqdm(total=shown, desc=cam.id, unit="frame", disable=not self.progress, leave=True, position=position)
            if self.backfill and not live and not isinstance(self.linker, OnlineLinker):
                pending = MotWriter(_tentative_file(out, cam.id))
            with MotWriter(out / "local" / f"{cam.id}.txt") as writer, bar, pending or nullcontext():
                for step in drive(
                    frames,
                    features,
                    tracker,
                    fps=fps,
                    live=live,
                    time_offset=cam.time_offset,
                    max_seconds=self.max_seconds,
                    cmc=cmc,
                    replay_warp=_keeping(replay.warp, res.warps) if replay is not None and cmc is not None else None,
                    record_warp=_recording(recorder, res.warps) if cmc is not None else None,
                    stats=stats,
                    source_name=cam.source,
                    dim=dim,
                    tentative=pending is not None,
                ):
                    res.frames, res.detections, res.embedded = stats.frames, stats.detections, stats.embedded
                    builder.add(step.tracks, step.time, step.track_embeddings)
                    writer.write(step.frame.index, step.tracks.track_id, step.tracks.xyxy, step.tracks.score)
                    if pending is not None:
                        t = step.tentative
                        pending.write(step.frame.index, t.track_id, t.xyxy, t.score)
                    bar.update(1)
                    # Ctrl-C with cameras in threads: checked once the frame's rows are written, so that the frames
                    # counted are the frames the results hold
                    if self._stop is not None and self._stop.is_set():
                        raise KeyboardInterrupt
                    finished = builder.pop_finished(step.frame.index, finish_after)
                    yield step.time, step.tracks, finished, step.track_embeddings
            if stats.ended_early:
                res.error = f"{cam.source}: {stats.ended_early}"
                log.error("camera %s: %s", cam.id, res.error)
            # (a camera replayed from the feature cache has no detector: a camera whose file was unused is never
            # cached, below, so that every run says so)
            file_detector = getattr(features, "detector", None)
            unused = unused_detection_file(file_detector, stats)
            if unused and not res.error:  # a wrong file is far likelier than no one: the camera failed (its rows,
                # none, were counted as an empty scene with exit 0, as `track` refuses them)
                res.error = unused
                log.error("camera %s: %s", cam.id, unused)
            # a camera stopped by max_seconds (or cut short) is not cached: a later full run must not replay it
            if recorder is not None:
                if stats.stopped_early or stats.ended_early or live or unused:
                    recorder.discard()
                else:
                    recorder.save(
                        fps,
                        stats.frames,
                        imageless(stats),
                        det_last_frame=getattr(features, "last_frame", None),
                        notes=notes,
                    )
                recorder = None
        except KeyboardInterrupt:
            res.error = INTERRUPTED
            raise
        except Exception as exc:  # noqa: BLE001 - one camera's failure must not stop the others
            res.error = error_line(exc)
            # a source, detection file or output refused before any frame is not a stream that failed
            when = f"stream failed after {stats.frames} frame(s)" if stats.frames else "failed before its first frame"
            log.error("camera %s (%s): %s: %s", cam.id, cam.source, when, first_line(exc))
        finally:  # the counts of what ran, also after a failure or an interruption
            if pending is not None:  # the frames tracked so far get their confirmed tracks' first frames
                pending.close()
                _apply_backfill(out / "local" / f"{cam.id}.txt", pending.path)
            res.frames, res.detections, res.embedded = stats.frames, stats.detections, stats.embedded
            if cmc is not None:  # a replay's warps were applied without the estimator
                res.cmc_frames = (
                    replay.moved(stats.frames) if replay is not None else int(getattr(cmc, "compensated", 0))
                )
            res.frames_without_image = imageless(stats)
            if recorder is not None:
                recorder.discard()
            if live:
                src.close()  # opened but never iterated (a later stage failed first)
                res.dropped = int(src.dropped)
                res.reconnects, res.outage_s = int(src.reconnects), round(float(src.outage_s), 2)
        return res

    def _run_camera(
        self, cam: CameraConfig, out: Path, sink: dict[str, CameraResult], position: int | None = None
    ) -> CameraResult:
        """Run one camera to its end (no online linker): its finished tracklets go to the result as they end."""
        steps = self._camera_steps(cam, out, position=position, sink=sink)
        try:
            while True:
                try:
                    finished = next(steps)[2]
                except StopIteration as stop:
                    return stop.value
                self._keep(sink[cam.id], finished)
        finally:  # the camera's last rows and tracklets are kept whole: a Ctrl-C now is acted on after them
            with interrupts_deferred():
                steps.close()
                self._keep(sink[cam.id], self._builders[cam.id].pop_all())

    # -- the whole run -----------------------------------------------------------------------------------------

    def _load_ground_truth(self, cams: CamsConfig) -> dict[str, np.ndarray]:
        """Every camera's ground truth, checked before any camera starts (a bad file is fatal at once)."""
        gt = {}
        for c in cams.cameras:
            if c.ground_truth:
                gt[c.id] = read_ground_truth(c.ground_truth, c.id)
        return gt

    def run(self, cams: CamsConfig, out: str | Path, *, raise_on_interrupt: bool = True) -> RunResult:
        """Run every camera, link, write the outputs and return them. After Ctrl-C, what was finished is linked and
        written, then ``KeyboardInterrupt`` is raised again (``raise_on_interrupt=False``: the result is returned
        with ``interrupted`` set, e.g. to print its summary)."""
        out = Path(out)
        for cam in cams.cameras:  # ids name files in OUT (a CamsConfig built in code skips load_cams' check)
            check_file_name(cam.id, "camera id")
        gt = self._load_ground_truth(cams)
        homographies = self._ground_homographies(cams)
        self._live_epoch, self._live_sources = None, {}
        self._started = time.strftime("%Y%m%d-%H%M%S")  # names this run's live recordings
        self._recordings: dict[str, list[Path]] = {}  # each live camera's recording files, in order
        self._builders = {}
        self._batching = self._det_batching = None
        self._workers_used = 1  # cameras run at once by this machine's processes or threads (the summary's)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: the output folder is a file")
        if out.is_symlink() and not out.exists():
            raise InputError(f"{out}: the output folder is a symbolic link to {os.readlink(out)}, which does not exist")
        _check_inputs_are_not_outputs(cams, out)
        _check_out_is_a_run_folder(cams, out)
        out.mkdir(parents=True, exist_ok=True)
        with _output_lock(out):
            return self._run_into(cams, out, gt, homographies, raise_on_interrupt)

    def _run_into(
        self,
        cams: CamsConfig,
        out: Path,
        gt: dict[str, np.ndarray],
        homographies: dict[str, np.ndarray],
        raise_on_interrupt: bool,
    ) -> RunResult:
        """:meth:`run` once its inputs are checked and ``out`` is this run's."""
        for cam in cams.cameras:  # this run's tracklet chunks replace an earlier run's
            for old in (out / "tracklets").glob(f"{cam.id}-[0-9][0-9][0-9][0-9][0-9][0-9].npz"):
                old.unlink()
            _tentative_file(out, cam.id).unlink(missing_ok=True)  # a killed worker's, of an earlier run
        stale = earlier_outputs(out, [c.id for c in cams.cameras])
        if stale:
            log.warning(
                "%s holds files of an earlier run that this run does not replace: %s%s",
                out,
                ", ".join(stale[:5]),
                f" and {len(stale) - 5} more" if len(stale) > 5 else "",
            )
        # an earlier run's results for these cameras go now, not when this run writes its own: a run that is
        # interrupted or killed before then (or writes no videos) must not leave them beside its own files
        replaced = [p.name for p in _run_outputs(out, cams) if p.exists()]
        if replaced:  # said: a restart into a fixed folder (a service manager's) replaces the earlier results
            log.info(
                "%s: replacing an earlier run's results (%s%s)%s",
                out,
                ", ".join(replaced[:5]),
                f" and {len(replaced) - 5} more" if len(replaced) > 5 else "",
                "; its live recordings are kept" if (out / "recordings").is_dir() else "",
            )
        for path in _run_outputs(out, cams):
            path.unlink(missing_ok=True)
        t_start = time.perf_counter()
        results: dict[str, CameraResult] = {}
        interrupted = False
        stream = (
            OnlineStream(self.linker, out, n_samples=self.n_samples, store=TrackletStore(out / "tracklets"))
            if isinstance(self.linker, OnlineLinker)
            else None
        )
        live = any(is_live_source(c.source) for c in cams.cameras)
        if self.engine == "ray" and (stream is not None or live):
            interrupted = self._run_streaming_on_ray(cams, out, stream, results)
        elif stream is not None or live:
            interrupted = self._run_interleaved(cams, out, stream, results)
        elif self.engine == "ray":
            interrupted = self._run_on_ray(cams, out, results)
        elif self.workers > 1 and len(cams.cameras) > 1:
            self._workers_used = min(self.workers, len(cams.cameras))
            interrupted = self._run_parallel(cams, out, results)
        else:
            partial: dict[str, CameraResult] = {}
            for cam in cams.cameras:
                try:
                    results[cam.id] = self._run_camera(cam, out, partial)
                except KeyboardInterrupt:
                    interrupted = True
                    results[cam.id] = partial[cam.id]
                    left = [c.id for c in cams.cameras if c.id not in results]
                    log.warning(
                        "interrupted during camera %s; linking and writing what was finished%s",
                        cam.id,
                        f" (not run: {', '.join(left)})" if left else "",
                    )
                    break
        # what the cameras finished is linked and written whole: a Ctrl-C now is noted, and acted on once the results
        # are on disk (it used to leave the run without its results, the earlier run's already removed)
        with interrupts_deferred(again=False) as held:
            timings: dict[str, float] = {}
            for r in results.values():
                for k, v in r.timings.items():
                    timings[k] = timings.get(k, 0.0) + v
            t0 = time.perf_counter()
            tracklets: list[Tracklet] = []
            if stream is not None:
                identities = stream.close()
                summaries = stream.summaries
            else:
                if self.stitch and not live:
                    for r in results.values():
                        self._stitch(out, r)
                    timings["stitch"] = time.perf_counter() - t0
                    t0 = time.perf_counter()
                for r in results.values():  # a worker that died mid-camera leaves its unconfirmed rows behind
                    _tentative_file(out, r.camera).unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # the folder goes once empty (another run's files keep it)
                    _tentative_file(out, "-").parent.rmdir()
                # after stitching: a chain is judged whole
                if (any(map(self._min_score, results)) or self.min_track_s) and not live:
                    for r in results.values():
                        self._drop_weak_tracks(out, r)
                    timings["filter"] = time.perf_counter() - t0
                    t0 = time.perf_counter()
                tracklets = [t for r in results.values() for t in r.tracklets]
                identities = singleton_identities(tracklets) if self.linker is None else self.linker.link(tracklets)
                summaries = [s for r in results.values() for s in r.summaries]
            timings["link"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            if self.smooth and stream is None and not live:
                for r in results.values():  # recorded video: each camera's boxes smoothed before the global rows
                    local = out / "local" / f"{r.camera}.txt"
                    if local.is_file() and local.stat().st_size:
                        rows = refine(load_mot_txt(local), r.fps, smooth=self.smooth, warps=r.warps, n_frames=r.frames)
                        save_mot_txt(local, rows)
                timings["smooth"] = time.perf_counter() - t0
                t0 = time.perf_counter()
            if stream is None and not live:  # identities.csv describes the rows as written (backfill added frames)
                for r in results.values():
                    r.summaries = _as_written(out / "local" / f"{r.camera}.txt", r.summaries, r.fps)
                summaries = [s for r in results.values() for s in r.summaries]
            lookup = identities.lookup()
            for r in results.values():
                write_global_rows(out / "local" / f"{r.camera}.txt", out / f"{r.camera}.txt", r.camera, lookup)
            write_identities(out / "identities.csv", summaries, lookup)
            aicity = aicity_camera_numbers([c.id for c in cams.cameras])  # from all cameras: stable if some failed
            write_aicity(out / "aicity.txt", {c: out / f"{c}.txt" for c in results}, homographies, aicity)
            timings["write"] = time.perf_counter() - t0
        if held:
            interrupted = True
            log.warning(
                "interrupted while linking and writing; the results are written, the rest of the run is skipped"
            )
        evaluation = evaluation_error = None
        # an interrupted run is scored on the frames each camera covered: one stopped before its first frame has none
        stopped_at_once = {
            c for c, r in results.items() if interrupted and r.error in (None, INTERRUPTED) and not r.frames
        }
        gt = {c: rows for c, rows in gt.items() if c in results and c not in stopped_at_once}
        if gt:
            t0 = time.perf_counter()
            try:
                evaluation = self._evaluate(cams, out, gt, results, interrupted)
                evaluation.update(_evaluation_scope(cams, gt, results, interrupted))
                write_json(out / "eval.json", evaluation)
            except KeyboardInterrupt:
                interrupted = True
                evaluation = None
                log.warning("interrupted during the evaluation; eval.json is not written")
            except Exception as exc:  # noqa: BLE001 - the summary of what ran must still be written
                evaluation_error = error_line(exc)
                log.error("evaluation failed: %s", evaluation_error)
            timings["eval"] = time.perf_counter() - t0
        gallery_ids, videos = 0, []  # the cameras whose annotated video was written
        videos_not_written: dict[str, str] = {}  # and why the others' were not

        def write_summary(finishing: list[str]) -> dict:
            total = time.perf_counter() - t_start
            summary = _summary(cams, results, identities, timings, total, self, interrupted, evaluation)
            summary["gallery_ids"] = gallery_ids
            summary["videos"] = videos
            if videos_not_written:
                summary["videos_not_written"] = videos_not_written
            summary["aicity_cameras"] = aicity
            if evaluation_error:
                summary["evaluation_error"] = evaluation_error
            if finishing:  # written before them: a run killed while it makes them (a long live run's videos take
                # minutes; a service manager kills after its grace period) keeps its summary
                summary["finishing"] = finishing
            write_json(out / "summary.json", summary)
            return summary

        gallery = bool(self.gallery and tracklets and self.linker is not None and not interrupted)
        if gallery or self.video:
            write_summary(["gallery"] * gallery + ["videos"] * bool(self.video))
        if gallery:
            t0 = time.perf_counter()
            try:
                # frame problems were reported while tracking, unless a camera was tracked without its images
                quiet = all(r.images_read for r in results.values())
                with frames_read_again() if quiet else contextlib.nullcontext():
                    gallery_ids = self._write_gallery(cams, out, tracklets, lookup, results)
            except KeyboardInterrupt:  # the results are written; the summary must be too
                interrupted = True
                log.warning("interrupted while drawing gallery.jpg; it is not written")
            timings["gallery"] = time.perf_counter() - t0
        if self.video:
            t0 = time.perf_counter()
            try:
                for cam in cams.cameras:
                    # a failed file was reported already and an interrupted run should end soon; live cameras
                    # (whose usual end is Ctrl-C or a lost stream) are annotated from their recordings in any case
                    r = results.get(cam.id)
                    if r is not None and (is_live_source(cam.source) or not (r.error or interrupted)):
                        with frames_read_again() if r.images_read else contextlib.nullcontext():
                            why = self._write_video(cam, out, r)
                        if why is None:
                            videos.append(cam.id)
                        else:
                            videos_not_written[cam.id] = why
            except KeyboardInterrupt:  # the results are written; the summary must be too
                interrupted = True
                log.warning("interrupted while writing the annotated videos; written: %s", ", ".join(videos) or "none")
            timings["video"] = time.perf_counter() - t0
        summary = write_summary([])
        result = RunResult(out, results, identities, summary, evaluation, interrupted, evaluation_error)
        if interrupted and raise_on_interrupt:
            raise KeyboardInterrupt
        return result

    def _ground_homographies(self, cams: CamsConfig) -> dict[str, np.ndarray]:
        """The image-to-ground homography of every calibrated camera, for ``aicity.txt``'s world positions (none
        with ``calibration=False``); a camera whose calibration cannot be read gets none, with a warning."""
        homographies = {}
        for c in cams.cameras if self.calibration else []:
            if c.calibration:
                try:
                    homographies[c.id] = load_ground_homography(c.calibration)
                except InputError as exc:
                    log.warning("camera %s: no world positions in aicity.txt: %s", c.id, exc)
        return homographies

    def _write_gallery(
        self,
        cams: CamsConfig,
        out: Path,
        tracklets: list[Tracklet],
        lookup: dict[tuple[str, int], int],
        results: dict[str, CameraResult],
    ) -> int:
        """``OUT/gallery.jpg`` from the cameras that ran without an error (:func:`mctrack.outputs.write_gallery`);
        returns the identities drawn. A failure is logged, never fatal: the run's results are written already."""
        sources = {}
        try:
            for cam in cams.cameras:
                r = results.get(cam.id)
                if r is None or r.error or is_live_source(cam.source) or _without_images(cam.source):
                    continue  # (a sequence folder without images: the other cameras' crops are still drawn)
                src = self.source_factory(cam, True)
                if src.has_images:
                    sources[cam.id] = src
            return write_gallery(out / "gallery.jpg", gallery_picks(tracklets, lookup), sources)
        except Exception as exc:  # noqa: BLE001 - an image for people to look at must not fail a finished run
            log.warning("gallery.jpg not written: %s", error_line(exc))
            return 0

    def _min_score(self, camera: str) -> float:
        """The mean detection score a track of ``camera`` needs to be kept (0: not judged by score)."""
        return self._min_scores.get(camera, self._min_score_default)

    def _drop_weak_tracks(self, out: Path, r: CameraResult) -> None:
        """Drop a finished camera's tracks whose mean detection score is below its ``min_track_score``, then those
        seen in fewer frames than ``self.min_track_s`` seconds hold: from its local rows, tracklets and summaries;
        ``r.weak_tracks`` and ``r.short_tracks`` count them."""
        local = out / "local" / f"{r.camera}.txt"
        if not local.is_file():
            return
        rows = load_mot_txt(local)
        min_rows = min_track_rows(self.min_track_s, r.fps) if self.min_track_s and r.fps else 0
        min_score = self._min_score(r.camera)
        kept, weak_ids, short_ids = judge_tracks(rows, min_score, min_rows)
        if len(kept) == len(rows):
            return
        ids = np.unique(rows[:, 1])
        weak, short = set(weak_ids.astype(int).tolist()), set(short_ids.astype(int).tolist())
        warning = judgement_warning(len(weak), len(short), len(ids), min_score, self.min_track_s)
        if warning:
            log.warning("camera %s: %s", r.camera, warning)
        save_mot_txt(local, kept)
        gone = weak | short
        r.tracklets = [t for t in r.tracklets if int(t.track_id) not in gone]
        r.summaries = [s for s in r.summaries if int(s.track_id) not in gone]
        r.weak_tracks, r.short_tracks = len(weak), len(short)

    def _stitch(self, out: Path, r: CameraResult) -> None:
        """Join a finished camera's fragmented tracklets (``self.stitch`` seconds): its local rows, tracklets and
        summaries take the stitched ids; ``r.stitched`` counts the tracklets joined to an earlier one."""
        local = out / "local" / f"{r.camera}.txt"
        if len(r.tracklets) < 2 or not r.fps or not local.is_file():
            return
        features = {t.track_id: t.mean_embedding for t in r.tracklets if t.mean_embedding is not None}
        if not stitch_frames(self.stitch, r.fps):
            log.warning(
                "camera %s: --stitch %g s is under half a frame at %g fps: no tracklets are joined",
                r.camera,
                self.stitch,
                r.fps,
            )
            return
        config = StitchConfig.window(self.stitch, r.fps, max_appearance=self.stitch_appearance)
        rows = load_mot_txt(local)
        frames = camera_frames(r.warps, _frames_of(rows, r))  # a moving camera's boxes are stitched stabilised
        rows, mapping = stitch_tracklets(to_reference(rows, frames), r.fps, config, features or None)
        rows = from_reference(rows, frames)
        joined = {old: new for old, new in mapping.items() if old != new}
        if not joined:
            return
        save_mot_txt(local, rows)
        groups: dict[int, list[Tracklet]] = {}
        for t in r.tracklets:
            groups.setdefault(joined.get(t.track_id, t.track_id), []).append(t)
        r.tracklets = [merge_tracklets(g, tid, self.n_samples) for tid, g in sorted(groups.items())]
        r.summaries = [TrackletSummary.of(t) for t in r.tracklets]
        r.stitched = len(joined)

    def _run_parallel(self, cams: CamsConfig, out: Path, results: dict[str, CameraResult]) -> bool:
        """Recorded cameras in worker processes (:func:`mctrack.parallel.run_cameras`) or, with ``worker_threads``
        (the default for a CUDA embedder), in threads sharing one batching embedder; True when interrupted."""
        from .parallel import run_cameras, run_cameras_in_threads

        cuda = getattr(getattr(self.embedder, "device", None), "type", None) == "cuda"
        threads = cuda if self.worker_threads is None else self.worker_threads
        if cuda and not threads:
            raise InputError("--workers > 1 with a CUDA embedder: a CUDA context does not survive a fork; use threads")
        position = {c.id: i % self.workers for i, c in enumerate(cams.cameras)}
        original, factory = self.embedder, self.detector_factory
        batcher = BatchingEmbedder(original) if threads and original is not None else None
        shared = self.shared_detector
        det_batcher = BatchingDetector(shared) if threads and shared is not None else None

        def job(cam: CameraConfig) -> CameraResult:
            sink: dict[str, CameraResult] = {}
            try:
                with (
                    batcher.client() if batcher is not None else nullcontext(),
                    det_batcher.client() if det_batcher is not None else nullcontext(),
                ):
                    return self._run_camera(cam, out, sink, position=position[cam.id])
            except KeyboardInterrupt:
                raise KeyboardInterrupt(sink.get(cam.id)) from None

        if threads:
            self._stop, self.embedder = threading.Event(), batcher or original
            if det_batcher is not None:

                def shared_factory(cam: CameraConfig):
                    det = factory(cam)  # the factory's own checks per camera; the shared model through the rounds
                    return det_batcher if det is shared else det

                self.detector_factory = shared_factory
            try:
                done, interrupted = run_cameras_in_threads(
                    job, cams.cameras, self.workers, failed=_failed_camera, stop=self._stop
                )
            finally:
                self._stop, self.embedder, self.detector_factory = None, original, factory
            if batcher is not None:
                self._batching = {"calls": batcher.calls, "crops": batcher.crops, "largest": batcher.largest}
            if det_batcher is not None:
                self._det_batching = {
                    "calls": det_batcher.calls,
                    "frames": det_batcher.frames,
                    "largest": det_batcher.largest,
                }
        else:
            done, interrupted = run_cameras(job, cams.cameras, self.workers, failed=_failed_camera)
            # the workers said their sources' frame-rate warnings: not again when this process opens the sources
            # for the gallery and the videos
            _FPS_WARNED.update(_fps_warning_key(cam) for cam in cams.cameras)
            for result in done.values():  # and what else they said on opening them (a seqinfo.ini's other rate)
                for note in result.notes:
                    note_replayed(note)
        for i, cam in enumerate(cams.cameras):  # camera order, whichever worker finished first
            if i in done:
                results[cam.id] = done[i]
        return interrupted

    def _run_on_ray(self, cams: CamsConfig, out: Path, results: dict[str, CameraResult]) -> bool:
        """Every camera as a Ray task (:func:`mctrack.ray_engine.run_cameras`); True when interrupted. A worker
        runs its camera into a folder of its own and sends back the result and the camera's MOT rows (local ids),
        which are written here: the machines need no shared folder."""
        from .ray_engine import run_cameras

        shipped = self._shipped_to_ray()

        def job(cam: CameraConfig) -> tuple[CameraResult, str]:
            import tempfile

            shipped._on_ray_worker()
            with tempfile.TemporaryDirectory(prefix="mctrack-ray-") as tmp:
                res = shipped._run_camera(cam, Path(tmp), {})
                local = Path(tmp) / "local" / f"{cam.id}.txt"
                return res, local.read_text(encoding="utf-8") if local.is_file() else ""

        def failed(cam: CameraConfig, message: str) -> tuple[CameraResult, str]:
            return _failed_camera(cam, message), ""

        try:
            done, interrupted = run_cameras(job, cams.cameras, failed=failed, **self.ray_options)
        except ValueError as exc:  # resources no node can give
            raise InputError(f"--engine ray: {exc}") from None
        (out / "local").mkdir(parents=True, exist_ok=True)
        for i, cam in enumerate(cams.cameras):  # camera order, whichever task finished first
            if i in done:
                res, rows = done[i]
                if rows or res.frames:  # a camera whose task never ran leaves no local file, as locally
                    atomic_write_text(out / "local" / f"{cam.id}.txt", rows)
                results[cam.id] = res
        return interrupted

    def _frames_to_run(self, length: int | None, fps: float) -> int | None:
        """How many frames of a stream of ``length`` frames (None: unknown) the run processes (``max_seconds``)."""
        if self.max_seconds is None or length is None or not fps:
            return length
        return min(length, int(np.ceil((self.max_seconds - 1e-9) * fps)))

    def _shipped_to_ray(self) -> Pipeline:
        """What travels to the Ray workers: a copy without cache (their disks), progress bars or linker; its
        embedder on the CPU (each task puts it on the GPU Ray gave it, if any: :meth:`_on_ray_worker`)."""
        import copy

        shipped = copy.copy(self)
        shipped.cache_key, shipped.progress, shipped.linker = None, False, None
        shipped._stop = shipped._batching = shipped._det_batching = None
        shipped._builders = {}
        if self._movable_embedder():
            self.embedder.to("cpu")
        return shipped

    def _movable_embedder(self) -> bool:
        return hasattr(self.embedder, "to") and hasattr(self.embedder, "device")

    def _on_ray_worker(self) -> None:
        if self._movable_embedder():
            import ray

            self.embedder.to("cuda" if ray.get_gpu_ids() else "cpu")

    def _run_streaming_on_ray(
        self, cams: CamsConfig, out: Path, stream: OnlineStream | None, results: dict[str, CameraResult]
    ) -> bool:
        """Live cameras or the online linker on Ray: every camera a Ray generator task whose steps stream back
        (:class:`mctrack.ray_engine.StreamSession`) and are merged here in scene-time order, exactly as the local
        interleaved run merges its cameras (same tracks, same global ids). True when interrupted."""
        from .ray_engine import StreamSession

        opts = {k: v for k, v in self.ray_options.items() if k in ("address", "num_cpus", "num_gpus", "local_cpus")}
        try:
            session = StreamSession(**opts, cameras=len(cams.cameras))
        except ValueError as exc:  # resources no node can give
            raise InputError(f"--engine ray: {exc}") from None
        shipped = self._shipped_to_ray()
        shipped._live_wall = time.time()
        (out / "local").mkdir(parents=True, exist_ok=True)
        handles: dict[str, list] = {}
        interrupted = False
        try:
            # every camera is submitted before any is waited for: they start together, not one after another
            for c in cams.cameras:
                handles[c.id] = [session.start(_ray_camera_stream, shipped, c, 0)]

            def steps(cam: CameraConfig, position: int, sink: dict[str, CameraResult]):
                return self._ray_camera_steps(session, shipped, cam, out, position, sink, handles[cam.id])

            interrupted = self._run_interleaved(cams, out, stream, results, steps=steps)
        except KeyboardInterrupt:  # before the merge took over (it handles Ctrl-C itself)
            interrupted = True
            for c in cams.cameras:
                results.setdefault(c.id, CameraResult(c.id, c.source, error=INTERRUPTED))
        finally:
            try:
                for h in handles.values():
                    if h and h[0] is not None:
                        session.cancel(h[0])
                session.close()
            except KeyboardInterrupt:  # Ctrl-C while Ray shuts down: what finished is still written
                interrupted = True
        return interrupted

    def _ray_camera_steps(
        self,
        session,
        shipped: Pipeline,
        cam: CameraConfig,
        out: Path,
        position: int,
        sink: dict[str, CameraResult],
        handle: list,
    ) -> Generator[tuple[float, Tracks, list[TrackRecord], np.ndarray], None, CameraResult]:
        """The contract of :meth:`_camera_steps` for a camera running on a Ray worker (its task already submitted:
        ``handle[0]``): its steps arrive in chunks (tracks and the embeddings the worker's tracklet builder took),
        a mirror builder here takes the same ones and hands over the tracks the worker's handed over, and
        ``OUT/local/<camera>.txt`` is written here. A file camera whose worker dies is run again once, from the
        start, the steps already received skipped (the same outputs as without the failure); a live camera cannot
        be replayed and is reported failed, as is a camera whose task raised. ``sink[camera]`` holds the result
        from the call on (before the first step), so an interrupted camera is never left out."""
        res = CameraResult(cam.id, cam.source)
        sink[cam.id] = res
        self._builders[cam.id] = TrackletBuilder(cam.id, n_samples=self.n_samples)
        return self._ray_camera_stream_steps(session, shipped, cam, out, position, res, handle)

    def _ray_camera_stream_steps(self, session, shipped, cam, out, position, res, handle):
        from .ray_engine import WorkerLost

        builder = self._builders[cam.id]
        live = is_live_source(cam.source)
        retries = 0 if live else int(self.ray_options.get("retries", 1))
        received, attempts = 0, 1
        bar = tqdm(desc=cam.id, unit="frame", disable=not self.progress, leave=True, position=position)

        def fail(message: str) -> None:
            res.error = message
            log.error("camera %s (%s): %s", cam.id, cam.source, message)

        try:
            with MotWriter(out / "local" / f"{cam.id}.txt") as writer, bar:
                while True:
                    if handle[0] is None:
                        handle[0] = session.start(_ray_camera_stream, shipped, cam, received)
                        attempts += 1
                    try:
                        item = session.next(handle[0])
                    except StopIteration:
                        handle[0] = None
                        fail("its Ray task ended without a result")
                        break
                    except WorkerLost as exc:
                        handle[0] = None
                        if attempts <= retries:
                            log.warning(
                                "camera %s: %s; running it again (the %d frame(s) received are skipped)",
                                cam.id,
                                exc,
                                received,
                            )
                            continue
                        fail(str(exc))
                        break
                    except Exception as exc:  # noqa: BLE001 - the camera's task raised: it fails, the others go on
                        handle[0] = None
                        fail(error_line(exc))
                        break
                    if item[0] == "end":
                        for f in dataclasses.fields(CameraResult):  # the worker's counts; tracklets are made here
                            if f.name not in ("camera", "source", "tracklets", "summaries"):
                                setattr(res, f.name, getattr(item[1], f.name))
                        handle[0] = None
                        break
                    _, chunk, shown, counts = item
                    if bar.total is None and shown:
                        bar.total = shown
                        bar.refresh()
                    for t, tracks, emb, handed_over in chunk:
                        received += 1
                        res.frames = received
                        builder.add(tracks, t, emb)
                        writer.write(tracks.frame, tracks.track_id, tracks.xyxy, tracks.score)
                        bar.update(1)
                        yield t, tracks, builder.pop(handed_over), emb
                    for k, v in counts.items():  # the worker's running counts (a camera cut short keeps them)
                        setattr(res, k, v)
        finally:
            if handle[0] is not None:  # interrupted, or the caller stopped early
                session.cancel(handle[0])
                handle[0] = None
        return res

    def _evaluate(
        self,
        cams: CamsConfig,
        out: Path,
        gt: dict[str, np.ndarray],
        results: dict[str, CameraResult],
        interrupted: bool,
    ) -> dict:
        # in the files' order within a frame, as mctrack eval --cams (and TrackEval) read them: it breaks ties
        pred = {c: load_mot_txt(out / f"{c}.txt", file_order=True) for c in gt}
        lengths = {}
        # a run shortened on purpose (max_seconds, Ctrl-C) is scored on the frames it covered; a camera that failed
        # is scored on all of its ground truth up to the end of its video (what it missed counts), or in a run of
        # max_seconds up to the end of that span
        partial = self.max_seconds is not None or interrupted
        for c, rows in gt.items():
            r = results[c]
            if partial and r.error in (None, INTERRUPTED):
                n = max(r.frames, 1)
            elif r.length is None and r.error:
                # a failed camera whose length is unknown (e.g. its video could not be opened): all of its ground
                # truth counts, as misses where nothing was tracked
                n = max(r.frames, int(rows[-1, 0]) if len(rows) else 0, 1)
            else:
                n = max(r.frames, r.length or 0, 1)
            if self.max_seconds is not None and r.error not in (None, INTERRUPTED):
                # a camera that failed in a run of max_seconds is scored on the span the others are, not on all of
                # its ground truth: what it missed inside that span counts
                fps = r.fps or next((x.fps for x in cams.cameras if x.id == c), None) or 0.0
                if fps > 0:
                    span = self._frames_to_run(n, fps)
                else:  # its frame rate is unknown (its video never opened): the span the others covered
                    span = max((x.frames for x in results.values() if x.error is None), default=n)
                n = min(n, max(r.frames, span, 1))
            gt_file = next(x.ground_truth for x in cams.cameras if x.id == c)
            if len(rows) and rows[-1, 0] > n and not partial and r.length is not None:
                log.warning(
                    "camera %s: %s has rows up to frame %d but the video has %d frames; those rows are ignored",
                    c,
                    gt_file,
                    int(rows[-1, 0]),
                    n,
                )
            gt[c] = rows[rows[:, 0] <= n] if len(rows) else rows
            lengths[c] = n
            if not scored_ground_truth(gt[c]).any():  # nothing to find: every box a false positive
                log.warning(
                    "camera %s: %s has no ground-truth row to score against (%s): its scores are meaningless, left "
                    "out of the per-camera mean; its boxes count as false positives in the cross-camera scores",
                    c,
                    gt_file,
                    "an empty file"
                    if not len(rows)
                    else f"none of its {len(rows)} rows is both in the first {n} frames and marked to count",
                )
        evaluation = evaluate_multicam(gt, pred, lengths, global_gt_ids=cams.ground_truth_ids == "global")
        evaluation["frames_evaluated"] = dict(lengths)
        return evaluation

    def _run_interleaved(
        self,
        cams: CamsConfig,
        out: Path,
        stream: OnlineStream | None,
        results: dict[str, CameraResult],
        steps: Callable | None = None,
    ) -> bool:
        """All cameras at once, frame by frame in scene-time order (ties by camera id), feeding the online linker
        (when there is one) as tracklets mature; returns True when interrupted. ``steps(camera, position, sink)``
        gives a camera's steps (default: :meth:`_camera_steps` in this process)."""
        order = sorted(cams.cameras, key=lambda c: c.id)
        partial: dict[str, CameraResult] = {}
        if steps is None:  # every live stream opened and read from the start: no camera waits for another's first
            # frame (a camera that is down at the start held the others up until it counted as lost)
            for c in order:
                if is_live_source(c.source):
                    try:
                        src = self.source_factory(c, self._needs_images)
                    except Exception:  # noqa: BLE001 - opened again by the camera's steps, which report it
                        continue
                    if isinstance(src, LiveSource):
                        self._setup_live(src, c, out)
                        src.start()

            def steps(c: CameraConfig, position: int, sink: dict[str, CameraResult]):
                return self._camera_steps(c, out, position=position, sink=sink)

        gens = {c.id: steps(c, i, partial) for i, c in enumerate(order)}
        # (scene time, 1 for a live camera being asked again, its turn among those, camera): the cameras waiting
        # for a frame are asked in turn (by the camera id alone, the first would be asked again and again)
        heap: list[tuple[float, int, int, str]] = []
        turn = itertools.count(1)
        pending: dict[str, tuple[float, Tracks, list[TrackRecord]]] = {}

        def finish(cam_id: str, finished: list[TrackRecord]) -> None:
            # consumed one by one, so that after an interruption what is left is handed over exactly once
            while finished:
                rec = finished[0]
                if stream is not None:
                    stream.on_finished(cam_id, [rec], self._builders)
                else:
                    self._keep(partial[cam_id], [rec])
                finished.pop(0)

        def advance(cam_id: str) -> None:
            live = self._live_sources.get(cam_id)
            if live is not None and not live.ready():
                # a stalled or reconnecting stream holds no one up: the camera is asked again at the live clock's
                # present, after the others' frames captured before it (a recorded camera of the same run, its
                # frames timed index / fps, does not run ahead meanwhile; a stand-in clock, in tests: the next frame's)
                if live.clock is time.monotonic and live.epoch is not None:
                    present = time.monotonic() - live.epoch
                else:
                    present = heap[0][0] if heap else 0.0
                heapq.heappush(heap, (present, 1, next(turn), cam_id))
                return
            try:
                step = next(gens[cam_id])
            except StopIteration as stop:
                results[cam_id] = stop.value
                finish(cam_id, self._builders[cam_id].pop_all())
                return
            pending[cam_id] = step
            heapq.heappush(heap, (step[0], 0, 0, cam_id))

        try:
            for c in order:
                advance(c.id)
            while heap:
                _, asked_again, _, cam_id = heapq.heappop(heap)
                if asked_again:
                    if all(entry[1] for entry in heap):  # nobody has a frame: wait a little for this one
                        self._live_sources[cam_id].ready(timeout=0.02)
                    advance(cam_id)
                    continue
                t, tracks, finished = pending[cam_id][:3]
                finish(cam_id, finished)
                if stream is not None:
                    stream.on_frame(cam_id, t, tracks, self._builders)
                del pending[cam_id]
                advance(cam_id)
        except KeyboardInterrupt:
            log.warning("interrupted; linking and writing what was finished")
            for cam_id, step in pending.items():  # tracks that finished in steps not yet taken
                finish(cam_id, step[2])
            for cam_id, gen in gens.items():
                if cam_id not in results and cam_id in partial:
                    gen.close()  # runs the camera's clean-up
                    res = results[cam_id] = partial[cam_id]
                    res.error = res.error or INTERRUPTED
                    if cam_id in self._builders:
                        finish(cam_id, self._builders[cam_id].pop_all())
            return True
        return False

    @property
    def _needs_images(self) -> bool:
        """Whether the cameras' frames must be decoded (a detector, embedder or motion compensation looks at them)."""
        return self.detector_needs_images or self.embedder is not None or self.cmc_factory is not None

    def _setup_live(self, src: LiveSource, cam: CameraConfig, out: Path) -> None:
        """Settings of a live camera's source for this run (once): registered for :meth:`_run_interleaved`'s
        questions, reconnect limit, end at the run's duration, recording, the run's shared time 0."""
        if self._live_sources.get(cam.id) is src and src.epoch is not None:
            return
        self._live_sources[cam.id] = src  # asked by _run_interleaved whether it has a frame
        if self.reconnect_s is not None:
            src.reconnect_s = self.reconnect_s
        if self.max_seconds is not None:  # ends a stream that is down when the run's time is up
            src.until_s = self.max_seconds + 1.0
        if self._live_wall is None and self.record_live:  # on a Ray worker the recording would stay on its disk
            src.record_to = functools.partial(self._new_recording, out, cam.id)
            src.record_segment_s = self.record_segment_s
        if self._live_epoch is None:  # one time 0 for all live cameras of the run
            self._live_epoch = src.clock()
            if self._live_wall is not None and src.clock is time.monotonic:
                # on Ray, cameras of one run open their streams on different machines: the run's
                # time 0 travels as a wall-clock time and becomes this machine's monotonic reading
                self._live_epoch -= time.time() - self._live_wall
        src.epoch = self._live_epoch

    def _new_recording(self, out: Path, camera: str) -> Path:
        """The next file of a live camera's recording: ``OUT/recordings/<camera>-<start, local time>.mkv`` (the
        run's start for the first file, the file's own start for the next ones, one per ``record_segment_s``), with
        ``-2``, ``-3``, ... when a file of that name exists: a restart into the folder (a service manager's) never
        replaces an earlier run's recording, which nothing else could bring back. Matroska: a recording cut short
        by a crash or SIGKILL stays readable up to its last written data, where an MP4 without its closing index
        cannot be opened at all."""
        files = self._recordings.setdefault(camera, [])
        stamp = self._started if not files else time.strftime("%Y%m%d-%H%M%S")
        base = out / "recordings" / f"{camera}-{stamp}"
        path = base.with_name(base.name + ".mkv")
        n = 1
        while path.exists() or path in files:
            n += 1
            path = base.with_name(f"{base.name}-{n}.mkv")
        files.append(path)
        return path

    def _write_video(self, cam: CameraConfig, out: Path, r: CameraResult) -> str | None:
        """Write ``OUT/<camera>.mp4``; None when written, else why not (said)."""
        try:
            if is_live_source(cam.source):  # annotate what the stream showed, as recorded during the run
                live = self._live_sources.get(cam.id)
                files = [f for f in getattr(live, "recorded", []) if f[2] and Path(f[0]).is_file()]
                if not files:
                    why = "not recorded (--no-record)" if not self.record_live else "no recording of the live stream"
                    log.warning("camera %s: %s; no video written", cam.id, why)
                    return why
                src = RecordingSource(files, camera=cam.id, fps=r.fps or None)
            elif not _without_images(cam.source):
                src = self.source_factory(cam, True)
            else:  # a sequence folder of det.txt and seqinfo.ini only: nothing went wrong, there is nothing to draw on
                src = None
            if src is None or not src.has_images or src.size is None:
                log.warning("camera %s: no images to annotate in %s; no video written", cam.id, cam.source)
                return "no images to annotate"
            write_annotated_video(out / f"{cam.id}.mp4", src, out / f"{cam.id}.txt", cam.id, r.frames, r.fps or src.fps)
            return None
        except Exception as exc:  # noqa: BLE001 - a video that cannot be written must not lose the results
            log.error("camera %s (%s): annotated video not written: %s", cam.id, cam.source, first_line(exc))
            return first_line(exc)


def _without_images(source: str) -> bool:
    """Whether ``source`` is there but holds no image (a MOTChallenge sequence folder of det.txt and seqinfo.ini
    only); a source that is gone is not (opening it says so)."""
    return Path(source).exists() and not has_images(source)


def _run_outputs(out: Path, cams: CamsConfig) -> list[Path]:
    """The files in ``out`` that a run of ``cams`` removes when it starts (an earlier run's) and writes again: the
    run-wide files and each camera's result and annotated video, and the temporary names they are written under
    (what a killed run was writing)."""
    files = [out / name for name in RUN_FILES]
    files += [out / f"{c.id}{ext}" for c in cams.cameras for ext in (".txt", ".mp4")]
    return files + [temporary_name(p) for p in files]


def _check_inputs_are_not_outputs(cams: CamsConfig, out: Path) -> None:
    """An :class:`InputError` when a camera's input file is one the run would remove or write in ``out`` (its
    source ``cam1.mp4`` beside cams.yaml with ``--out`` that folder): the run would destroy what it reads."""
    written = [*_run_outputs(out, cams)]
    written += [out / "local" / f"{c.id}.txt" for c in cams.cameras]
    # (not the recordings: a run records under a new name, never over a file there, so an earlier run's recording can
    # be a camera's source)
    inputs = [
        (f"camera {cam.id}: its {key}", value)
        for cam in cams.cameras
        for key in ("source", "detections", "ground_truth", "calibration")
        if (value := getattr(cam, key, None)) and not (key == "source" and is_live_source(str(value)))
    ]
    if hit := written_over(inputs, written):
        what, value, path = hit
        raise InputError(f"{what} {value} is a file this run writes ({path}); choose another --out")


def _is_run_folder(out: Path, cams: CamsConfig) -> bool:
    """Whether ``out`` is the output folder of an earlier run (finished or not): a run leaves its lock file there at
    its start, and a camera's ``local/<id>.txt`` rows and a summary.json of a run as it goes (a ``local/`` folder
    alone is no sign: it is a common name for a user's own folder)."""
    if (out / RUN_LOCK).is_file() or any((out / "local" / f"{c.id}.txt").is_file() for c in cams.cameras):
        return True
    try:
        summary = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and {"cams", "cameras", "counts"} <= summary.keys()


def _check_out_is_a_run_folder(cams: CamsConfig, out: Path) -> None:
    """An :class:`InputError` when ``out`` holds files that the run would replace (summary.json, a camera's
    ``<id>.txt``, ...) but is no earlier run's output folder: a user's folder with their own files of those names
    (they used to be replaced without a word). A new or empty folder, or one without such files, is fine."""
    if not out.is_dir() or _is_run_folder(out, cams):
        return
    taken = [p.name for p in _run_outputs(out, cams) if p.exists() or p.is_symlink()]
    if taken:
        raise InputError(
            f"{out}: the output folder holds {', '.join(taken[:4])}{' and more' if len(taken) > 4 else ''}, which "
            "this run would replace, and is not an earlier run's output folder: choose a new or empty folder"
        )


@contextlib.contextmanager
def _output_lock(out: Path) -> Iterator[None]:
    """Held while a run writes into ``out`` (an advisory lock on ``out/.mctrack-run.lock``, released when the run
    ends or its process dies): a second run into the same folder stops at once instead of mixing its files, cache
    entries and results with the first one's. Where the system has no such locks (Windows), nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    path = out / RUN_LOCK
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{out}: another mctrack run is writing into this folder (it holds {path.name}); wait for it to "
                "end or choose another --out"
            ) from None
        except OSError as exc:  # a file system without such locks (NFS without lockd, some FUSE mounts)
            log.warning("%s: cannot lock the output folder (%s); a second run into it would not be stopped", out, exc)
        yield


def _camera_set_record(cams: CamsConfig) -> dict:
    """What the run read from its camera set, for reproducing it: the cams.yaml file (absolute path, SHA-1), every
    camera's settings with absolute paths, the ground-truth id mode and transit windows, and the SHA-1 of each
    detection, ground-truth and calibration file (small; a video is named, not hashed)."""
    path = Path(cams.path).resolve() if cams.path else None
    files = [p for c in cams.cameras for p in (c.detections, c.ground_truth, c.calibration) if p]
    return {
        "file": str(path) if path else None,
        "file_sha1": file_sha1(path) if path and path.is_file() else None,
        **{k: v for k, v in dataclasses.asdict(cams).items() if k != "path"},
        "files_sha1": {p: file_sha1(p) for p in dict.fromkeys(files) if Path(p).is_file()},
    }


def _summary(
    cams: CamsConfig,
    results: dict[str, CameraResult],
    identities: Identities,
    timings: dict,
    total: float,
    pipe: Pipeline,
    interrupted: bool,
    evaluation: dict | None,
) -> dict:
    gid_cams: dict[int, set[str]] = {}
    for c, g in zip(identities.camera, identities.global_id):
        gid_cams.setdefault(int(g), set()).add(str(c))
    frames = sum(r.frames for r in results.values())
    out = {
        "cams": cams.path,
        "camera_set": _camera_set_record(cams),
        "embedder": getattr(pipe.embedder, "name", "none"),
        "linker": type(pipe.linker).__name__ if pipe.linker is not None else None,
        **({"settings": pipe.record} if pipe.record else {}),
        "engine": pipe.engine,
        # cameras run at once on this machine (1 for live cameras, --linker online and Ray, whatever was asked)
        "workers": pipe._workers_used,
        # which detections were embedded: every one ("all") or those the boxes cannot decide ("needed")
        "embed": {
            "policy": pipe.embed,
            "refresh_s": pipe.embed_refresh,
            "every": pipe.embed_every,
            "compile": getattr(pipe.embedder, "compile", None),
        }
        if pipe.embedder is not None
        else None,
        # cameras in threads: the shared embedder's calls, crops, and the most camera frames served by one call
        "batched_embedding": pipe._batching,
        "batched_detection": pipe._det_batching,
        "interrupted": interrupted,
        "duration_s": pipe.max_seconds,  # --duration: the cameras ran (and are scored) this far only
        # cameras that broke (their error); a camera stopped by Ctrl-C is not broken: "interrupted_cameras"
        "failed_cameras": {c: r.error for c, r in results.items() if r.error and r.error != INTERRUPTED},
        "interrupted_cameras": [c for c, r in results.items() if r.error == INTERRUPTED],
        # cameras of cams.yaml the run never started (Ctrl-C before their turn): no rows, no entry in "cameras"
        "cameras_not_run": [c.id for c in cams.cameras if c.id not in results],
        "cameras": {
            c: {
                "source": r.source,
                "frames": r.frames,
                "frames_without_image": r.frames_without_image,
                "detections": r.detections,
                "tracks": int(np.sum(identities.camera == c)),
                "fps": r.fps,
                "cache": r.cache,
                "dropped_frames": r.dropped,
                "reconnects": r.reconnects,
                "outage_s": r.outage_s,
                # a live camera's recording of this run, its files in order (earlier runs' stay beside them)
                "recordings": [str(f) for f in getattr(pipe, "_recordings", {}).get(c, []) if f.is_file()],
                "stitched_tracklets": r.stitched,
                "weak_tracks_dropped": r.weak_tracks,
                "short_tracks_dropped": r.short_tracks,
                "cmc_compensated_frames": r.cmc_frames,
                "embedded_detections": r.embedded,
                "error": r.error,
                "timings_s": {k: round(v, 4) for k, v in r.timings.items()},
                "frames_per_second": round(r.frames / max(sum(r.timings.values()), 1e-9), 2),
            }
            for c, r in results.items()
        },
        "counts": {
            "cameras": len(results),
            "frames": frames,
            "tracklets": len(identities),
            "global_ids": len(gid_cams),
            "multi_camera_ids": sum(len(v) > 1 for v in gid_cams.values()),
        },
        "timings_s": {k: round(v, 4) for k, v in timings.items()} | {"total": round(total, 4)},
        "frames_per_second": round(frames / max(total, 1e-9), 2),
    }
    if evaluation is not None:
        out["evaluation"] = {
            "cross_camera": {k: evaluation["cross_camera"][k] for k in ("IDF1", "HOTA", "MOTA")},
            "mean_per_camera": evaluation["mean_per_camera"],
            "cameras_without_ground_truth": evaluation["without_ground_truth"],
            "cameras_not_scored": evaluation.get("not_scored", {}),
        }
    return out


def _evaluation_scope(
    cams: CamsConfig, scored: Mapping[str, np.ndarray], results: Mapping[str, CameraResult], interrupted: bool
) -> dict:
    """What eval.json says beside its scores, so that it is not read as the whole run's: ``interrupted``, the
    cameras ``failed`` (their errors; scored, what they missed counted) and those ``not_scored`` with why (no
    ground_truth file, or an interruption before their first frame; the mean and cross-camera rows leave them
    out)."""
    not_scored = {}
    for cam in cams.cameras:
        if cam.id in scored:
            continue
        r = results.get(cam.id)
        if not cam.ground_truth:
            not_scored[cam.id] = "no ground_truth file in the camera set"
        elif r is None or not r.frames:
            not_scored[cam.id] = "interrupted before its first frame" if interrupted else "no frame tracked"
        else:
            not_scored[cam.id] = r.error or "not scored"
    failed = {c: r.error for c, r in results.items() if c in scored and r.error and r.error != INTERRUPTED}
    return {"interrupted": bool(interrupted), "failed": failed, "not_scored": not_scored}


def _ray_camera_stream(shipped: Pipeline, cam: CameraConfig, skip: int, chunk_frames: int = 25, chunk_s: float = 0.2):
    """On a Ray worker: one camera's :meth:`Pipeline._camera_steps`, sent back in chunks of at most
    ``chunk_frames`` frames or ``chunk_s`` seconds (``("steps", [(time, tracks without their memory features,
    the embeddings the builder took, ids of the tracks handed over)...], frames to expect or None, running
    counts)``), then ``("end", CameraResult)``. The first ``skip`` steps (received before a failed attempt) are
    run but not sent."""
    import tempfile

    shipped._on_ray_worker()
    sink: dict[str, CameraResult] = {}
    with tempfile.TemporaryDirectory(prefix="mctrack-ray-") as tmp:
        steps = shipped._camera_steps(cam, Path(tmp), sink=sink)

        def expected() -> int | None:
            return shipped._frames_to_run(sink[cam.id].length, sink[cam.id].fps)

        def counts() -> dict:
            r = sink[cam.id]
            return {"detections": r.detections, "embedded": r.embedded, "fps": r.fps, "length": r.length}

        chunk: list = []
        n, last = 0, time.monotonic()
        try:
            while True:
                try:
                    t, tracks, finished, emb = next(steps)
                except StopIteration as stop:
                    res = stop.value
                    break
                n += 1
                if n <= skip:
                    continue
                chunk.append((t, dataclasses.replace(tracks, embedding=None), emb, [r.track_id for r in finished]))
                if len(chunk) >= chunk_frames or time.monotonic() - last >= chunk_s:
                    yield "steps", chunk, expected(), counts()
                    chunk, last = [], time.monotonic()
        finally:
            steps.close()
        if chunk:
            yield "steps", chunk, expected(), counts()
        res.tracklets, res.summaries = [], []
        yield "end", res
