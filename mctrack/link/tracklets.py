"""From per-frame :class:`~mctrack.types.Tracks` to :class:`~mctrack.types.Tracklet` objects.

A tracklet's appearance summary is the renormalised mean of the unit embeddings of the detections matched to it
(frames without appearance are skipped) plus a few diverse samples picked by farthest-point sampling: the sample
nearest to the mean first, then repeatedly the one farthest (in cosine distance) from those already picked. The
mean is robust to a few occluded crops; the samples keep distinct looks (front/back, lit/shaded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..types import Tracklet, Tracks

__all__ = ["summarize_appearance", "TrackletBuilder", "TrackRecord"]


def summarize_appearance(embeddings: np.ndarray, n_samples: int = 4) -> tuple[np.ndarray | None, np.ndarray]:
    """``(mean (D,) or None, samples (K, D))`` of ``(T, D)`` unit embeddings; rows with NaN are ignored.

    ``mean`` is ``None`` when no row has appearance; ``K = min(n_samples, valid rows)``.
    """
    if n_samples < 0:
        raise ValueError(f"n_samples: must be >= 0, got {n_samples}")
    emb = np.asarray(embeddings, np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings: expected (T, D), got shape {emb.shape}")
    valid = emb[np.isfinite(emb).all(axis=1) & (np.abs(emb).sum(axis=1) > 0)] if len(emb) else emb
    if len(valid) == 0:
        return None, np.zeros((0, emb.shape[1]), np.float32)
    mean = valid.astype(np.float64).mean(axis=0)
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


@dataclass
class TrackRecord:
    """Everything seen of one local track so far (lists grow frame by frame)."""

    camera: str
    track_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    embeddings: list[np.ndarray | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    def tracklet(self, n_samples: int = 4, max_frames: int | None = None) -> Tracklet:
        """The track as a :class:`Tracklet`; with ``max_frames`` only its first frames (what an online linker
        knew when the track matured)."""
        n = len(self.frames) if max_frames is None else min(len(self.frames), int(max_frames))
        embs = [e for e in self.embeddings[:n] if e is not None]
        if embs:
            mean, samples = summarize_appearance(np.stack(embs), n_samples)
        else:
            mean, samples = None, None
        return Tracklet(self.camera, self.track_id, np.asarray(self.frames[:n], np.int64),
                        np.asarray(self.boxes[:n], np.float32).reshape(-1, 4), np.asarray(self.times[:n], np.float64),
                        embeddings=samples, mean_embedding=mean)


class TrackletBuilder:
    """Collects one camera's tracks frame by frame.

    ``add(tracks, time, embeddings)`` once per frame (``embeddings``: ``(M, D)`` raw unit features of the
    detections matched to each row, NaN rows = no appearance; default: ``tracks.embedding``);
    ``tracklets()`` gives every track seen, sorted by local id.

    Args:
        camera: the camera id; ``Tracks`` of another camera are an error.
        n_samples: diverse appearance samples kept per tracklet.
    """

    def __init__(self, camera: str, *, n_samples: int = 4) -> None:
        if n_samples < 0:
            raise ValueError(f"n_samples: must be >= 0, got {n_samples}")
        self.camera = str(camera)
        self.n_samples = int(n_samples)
        self._records: dict[int, TrackRecord] = {}

    def add(self, tracks: Tracks, time: float, embeddings: np.ndarray | None = None) -> None:
        if tracks.camera != self.camera:
            raise ValueError(f"tracks: camera {tracks.camera!r} given to the builder of camera {self.camera!r}")
        emb = tracks.embedding if embeddings is None else np.asarray(embeddings, np.float32)
        if emb is not None and len(emb) != len(tracks):
            raise ValueError(f"embeddings: expected {len(tracks)} rows, got {len(emb)}")
        for i, tid in enumerate(tracks.track_id.tolist()):
            rec = self._records.get(tid)
            if rec is None:
                rec = self._records[tid] = TrackRecord(self.camera, int(tid))
            elif rec.frames[-1] >= tracks.frame:
                raise ValueError(f"tracks: frame {tracks.frame} of track {tid} is not after frame {rec.frames[-1]}")
            rec.frames.append(int(tracks.frame))
            rec.boxes.append(tracks.xyxy[i].copy())
            rec.times.append(float(time))
            e = None if emb is None or emb.shape[1] == 0 else emb[i]
            rec.embeddings.append(e if e is not None and np.isfinite(e).all() else None)

    def records(self) -> list[TrackRecord]:
        """The raw records, sorted by local id."""
        return [self._records[k] for k in sorted(self._records)]

    def tracklets(self) -> list[Tracklet]:
        return [r.tracklet(self.n_samples) for r in self.records()]
