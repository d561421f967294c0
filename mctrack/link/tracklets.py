"""From per-frame :class:`~mctrack.types.Tracks` to :class:`~mctrack.types.Tracklet` objects.

A tracklet's appearance summary is the renormalised mean of the unit embeddings of the detections matched to it
(frames without appearance are skipped) plus a few diverse samples picked by farthest-point sampling: the sample
nearest to the mean first, then repeatedly the one farthest (in cosine distance) from those already picked. The
mean is robust to a few occluded crops; the samples keep distinct looks (front/back, lit/shaded).
"""

from __future__ import annotations

import logging
from array import array

import numpy as np

from ..types import Tracklet, Tracks

__all__ = ["summarize_appearance", "merge_tracklets", "TrackletBuilder", "TrackRecord"]

log = logging.getLogger(__name__)


def summarize_appearance(
    embeddings: np.ndarray, n_samples: int = 4, *, mean: np.ndarray | None = None
) -> tuple[np.ndarray | None, np.ndarray]:
    """``(mean (D,) or None, samples (K, D))`` of ``(T, D)`` unit embeddings; rows with NaN are ignored.

    ``mean`` is ``None`` when no row has appearance; ``K = min(n_samples, valid rows)``. A given ``mean`` (the
    mean of more embeddings than the rows given, e.g. a running mean) is used instead of the rows' mean.
    """
    if n_samples < 0:
        raise ValueError(f"n_samples: must be >= 0, got {n_samples}")
    emb = np.asarray(embeddings, np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings: expected (T, D), got shape {emb.shape}")
    valid = emb[np.isfinite(emb).all(axis=1) & (np.abs(emb).sum(axis=1) > 0)] if len(emb) else emb
    if len(valid) == 0:
        return None, np.zeros((0, emb.shape[1]), np.float32)
    mean = valid.astype(np.float64).mean(axis=0) if mean is None else np.asarray(mean, np.float64)
    norm = np.linalg.norm(mean)
    mean = (mean / norm if norm > 0 else mean).astype(np.float32)
    k = min(int(n_samples), len(valid))
    if k == 0:
        return mean, np.zeros((0, emb.shape[1]), np.float32)
    picked = [int(np.argmax(valid @ mean))]
    dist = 1.0 - valid @ valid[picked[0]]
    while len(picked) < k:
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0 and len(picked) >= 1:
            break  # the rest are duplicates of picked samples
        picked.append(nxt)
        dist = np.minimum(dist, 1.0 - valid @ valid[nxt])
    return mean, valid[picked].copy()


def merge_tracklets(parts: list[Tracklet], track_id: int, n_samples: int = 4) -> Tracklet:
    """One tracklet from pieces of one person's track in one camera that do not overlap in time (e.g. joined by
    :func:`mctrack.track.postprocess.stitch_tracklets`), under ``track_id``. The mean appearance is the pieces'
    means weighted by their frame counts; the diverse samples are picked again from all the pieces' samples."""
    if not parts:
        raise ValueError("merge_tracklets: no tracklets given")
    if len({t.camera for t in parts}) > 1:
        raise ValueError("merge_tracklets: the tracklets come from different cameras")
    parts = sorted(parts, key=lambda t: int(t.frames[0]))
    frames = np.concatenate([t.frames for t in parts])
    if np.any(np.diff(frames) <= 0):
        raise ValueError("merge_tracklets: the tracklets overlap in time")
    means = [(t.mean_embedding.astype(np.float64) * len(t)) for t in parts if t.mean_embedding is not None]
    mean = samples = None
    if means:
        pool = [t.embeddings for t in parts if t.embeddings is not None and len(t.embeddings)]
        pool = (
            np.concatenate(pool)
            if pool
            else np.stack([t.mean_embedding for t in parts if t.mean_embedding is not None])
        )
        mean, samples = summarize_appearance(pool, n_samples, mean=np.sum(means, axis=0))
    return Tracklet(
        parts[0].camera,
        int(track_id),
        frames,
        np.concatenate([t.xyxy for t in parts]),
        np.concatenate([t.times for t in parts]),
        embeddings=samples,
        mean_embedding=mean,
    )


class TrackRecord:
    """What is kept of one local track while it runs, in bounded memory per frame.

    Frames, boxes and times are kept in full (compact arrays, 28 bytes a frame); appearance is kept as a running
    sum (for the exact mean) and at most ``max_samples`` embeddings, evenly spread over the track (when the buffer
    is full every second one is dropped and only every second later one is kept), which the diverse samples are
    picked from. A track as long as ``max_samples`` embedded frames is summarised exactly as from all its frames.
    """

    def __init__(self, camera: str, track_id: int, *, max_samples: int = 32) -> None:
        if max_samples < 1:
            raise ValueError(f"max_samples: must be >= 1, got {max_samples}")
        self.camera, self.track_id, self.max_samples = str(camera), int(track_id), int(max_samples)
        self._frames, self._boxes, self._times = array("q"), array("f"), array("d")
        self._sum: np.ndarray | None = None  # float64 sum of the unit embeddings
        self._n_emb = 0  # embedded frames so far
        self._stride = 1
        self._kept: list[tuple[int, np.ndarray]] = []  # (position in the track, embedding)

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def last_frame(self) -> int:
        return int(self._frames[-1])

    @property
    def last_time(self) -> float:
        return float(self._times[-1])

    @property
    def embedded(self) -> int:
        """Frames that had an embedding."""
        return self._n_emb

    def add(self, frame: int, box: np.ndarray, time: float, embedding: np.ndarray | None) -> None:
        pos = len(self._frames)
        self._frames.append(int(frame))
        self._boxes.extend(np.asarray(box, np.float32).reshape(4).tolist())
        self._times.append(float(time))
        if embedding is None:
            return
        e = np.asarray(embedding, np.float32)
        self._sum = e.astype(np.float64) if self._sum is None else self._sum + e
        if self._n_emb % self._stride == 0:
            self._kept.append((pos, e.copy()))
            if len(self._kept) > self.max_samples:  # full: keep every second one from now on
                self._stride *= 2
                self._kept = self._kept[::2]
        self._n_emb += 1

    def tracklet(self, n_samples: int = 4, max_frames: int | None = None, *, appearance: bool = True) -> Tracklet:
        """The track as a :class:`Tracklet`; with ``max_frames`` only its first frames (what an online linker
        knew when the track matured); ``appearance=False``: positions only (cheap)."""
        n = len(self) if max_frames is None else min(len(self), int(max_frames))
        mean = samples = None
        if not appearance:
            pass
        elif n == len(self) and self._sum is not None:
            kept = np.stack([e for _, e in self._kept])
            mean, samples = summarize_appearance(kept, n_samples, mean=self._sum / self._n_emb)
        elif self._kept:
            prefix = [e for p, e in self._kept if p < n]
            if prefix:
                mean, samples = summarize_appearance(np.stack(prefix), n_samples)
        frames = np.frombuffer(self._frames, np.int64, count=n).copy()
        boxes = np.frombuffer(self._boxes, np.float32, count=4 * n).reshape(n, 4).copy()
        times = np.frombuffer(self._times, np.float64, count=n).copy()
        return Tracklet(self.camera, self.track_id, frames, boxes, times, embeddings=samples, mean_embedding=mean)


class TrackletBuilder:
    """Collects one camera's tracks frame by frame.

    ``add(tracks, time, embeddings)`` once per frame (``embeddings``: ``(M, D)`` raw unit features of the
    detections matched to each row, NaN rows = no appearance; or ``detection_embeddings``: the frame's ``(N, D)``
    features of every detection, as given to the tracker, from which each row's is taken by ``tracks.det_index``;
    default: ``tracks.embedding``, the tracker's appearance memory); ``tracklets()``
    gives every track held, sorted by local id; ``pop_finished(frame, after_frames)`` hands over (and forgets) the
    tracks not seen for more than ``after_frames`` frames, so that a live camera's builder holds only its running
    tracks. Rows of a track that was handed over are not collected again (a tracker that resumes a track after the
    builder was told it could not is warned about once; its rows still reach the outputs through the caller).

    Args:
        camera: the camera id; ``Tracks`` of another camera are an error.
        n_samples: diverse appearance samples kept per tracklet.
        max_samples: embeddings kept per running track to pick them from (see :class:`TrackRecord`).
    """

    def __init__(self, camera: str, *, n_samples: int = 4, max_samples: int = 32) -> None:
        if n_samples < 0:
            raise ValueError(f"n_samples: must be >= 0, got {n_samples}")
        self.camera = str(camera)
        self.n_samples = int(n_samples)
        self.max_samples = int(max_samples)
        self._records: dict[int, TrackRecord] = {}
        self._handed_over: set[int] = set()
        self.late_rows = 0  # rows of tracks already handed over (not collected)

    def add(
        self,
        tracks: Tracks,
        time: float,
        embeddings: np.ndarray | None = None,
        *,
        detection_embeddings: np.ndarray | None = None,
    ) -> None:
        if tracks.camera != self.camera:
            raise ValueError(f"tracks: camera {tracks.camera!r} given to the builder of camera {self.camera!r}")
        if detection_embeddings is not None:
            if embeddings is not None:
                raise ValueError("give embeddings (per track row) or detection_embeddings (per detection), not both")
            embeddings = tracks.matched_embeddings(detection_embeddings)
        emb = tracks.embedding if embeddings is None else np.asarray(embeddings, np.float32)
        if emb is not None and len(emb) != len(tracks):
            raise ValueError(f"embeddings: expected {len(tracks)} rows, got {len(emb)}")
        for i, tid in enumerate(tracks.track_id.tolist()):
            rec = self._records.get(tid)
            if rec is None and tid in self._handed_over:
                if not self.late_rows:
                    log.warning(
                        "camera %s: track %d was resumed after it had been handed over as finished; its "
                        "later rows keep its global id but are not part of its appearance summary",
                        self.camera,
                        tid,
                    )
                self.late_rows += 1
                continue
            if rec is None:
                rec = self._records[tid] = TrackRecord(self.camera, int(tid), max_samples=self.max_samples)
            elif rec.last_frame >= tracks.frame:
                raise ValueError(f"tracks: frame {tracks.frame} of track {tid} is not after frame {rec.last_frame}")
            e = None if emb is None or emb.shape[1] == 0 else emb[i]
            rec.add(int(tracks.frame), tracks.xyxy[i], time, e if e is not None and np.isfinite(e).all() else None)

    def __contains__(self, track_id: int) -> bool:
        return int(track_id) in self._records

    def record(self, track_id: int) -> TrackRecord:
        """The record of a track held (``KeyError`` for one never seen or already handed over)."""
        return self._records[int(track_id)]

    def records(self) -> list[TrackRecord]:
        """The records held, sorted by local id."""
        return [self._records[k] for k in sorted(self._records)]

    def tracklets(self) -> list[Tracklet]:
        return [r.tracklet(self.n_samples) for r in self.records()]

    def pop_finished(self, frame: int, after_frames: int) -> list[TrackRecord]:
        """The records of tracks last seen more than ``after_frames`` frames before ``frame`` (sorted by local id),
        removed from the builder."""
        done = sorted(k for k, r in self._records.items() if r.last_frame < frame - after_frames)
        self._handed_over.update(done)
        return [self._records.pop(k) for k in done]

    def pop(self, track_ids) -> list[TrackRecord]:
        """The records of the tracks ``track_ids`` held (in that order; ids not held are skipped), removed from the
        builder as by :meth:`pop_finished` (a mirror of another process's builder takes what that one handed over)."""
        done = [int(t) for t in track_ids if int(t) in self._records]
        self._handed_over.update(done)
        return [self._records.pop(k) for k in done]

    def pop_all(self) -> list[TrackRecord]:
        """Every record held (sorted by local id), removed from the builder."""
        done = self.records()
        self._handed_over.update(self._records)
        self._records.clear()
        return done
