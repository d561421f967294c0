"""Finished tracklets on disk: a live run hands its finished tracklets here instead of keeping them in memory.

``TrackletStore(folder)`` appends summaries (positions of every frame, the mean and the diverse appearance samples,
the global id when one was given) and writes them in chunks, ``<folder>/<camera>-<NNNNNN>.npz``, each complete
when it appears (written under a temporary name, then renamed); :func:`load_tracklets` reads a folder back into
:class:`~mctrack.types.Tracklet` objects, e.g. to re-link a live run offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..types import Tracklet

__all__ = ["TrackletStore", "load_tracklets"]


class TrackletStore:
    """Buffers finished tracklets per camera and writes every ``chunk`` of them (and the rest on :meth:`flush`)."""

    def __init__(self, folder: str | Path, chunk: int = 256) -> None:
        if chunk < 1:
            raise ValueError(f"chunk: must be >= 1, got {chunk}")
        self.folder, self.chunk = Path(folder), int(chunk)
        self._buffer: dict[str, list[tuple[Tracklet, int]]] = {}
        self._count: dict[str, int] = {}

    def add(self, tracklet: Tracklet, global_id: int = 0) -> None:
        buf = self._buffer.setdefault(tracklet.camera, [])
        buf.append((tracklet, int(global_id)))
        if len(buf) >= self.chunk:
            self._write(tracklet.camera)

    def flush(self) -> None:
        for cam in list(self._buffer):
            if self._buffer[cam]:
                self._write(cam)

    def _write(self, cam: str) -> None:
        items, self._buffer[cam] = self._buffer[cam], []
        n = self._count.get(cam, 0)
        self._count[cam] = n + 1
        dim = next((t.mean_embedding.shape[0] for t, _ in items if t.mean_embedding is not None), 0)
        k = max((len(t.embeddings) for t, _ in items if t.embeddings is not None), default=0)
        mean = np.zeros((len(items), dim), np.float16)
        samples = np.zeros((len(items), k, dim), np.float16)
        n_samples = np.zeros(len(items), np.int64)
        for i, (t, _) in enumerate(items):
            if t.mean_embedding is not None:
                mean[i] = t.mean_embedding
            if t.embeddings is not None and len(t.embeddings):
                samples[i, : len(t.embeddings)] = t.embeddings
                n_samples[i] = len(t.embeddings)
        lengths = np.array([len(t) for t, _ in items], np.int64)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{cam}-{n:06d}.npz"
        tmp = self.folder / f".{cam}-{n:06d}.tmp.npz"
        np.savez(
            tmp,
            camera=np.array(cam),
            track_id=np.array([t.track_id for t, _ in items], np.int64),
            global_id=np.array([g for _, g in items], np.int64),
            length=lengths,
            has_mean=np.array([t.mean_embedding is not None for t, _ in items]),
            frames=np.concatenate([t.frames for t, _ in items]),
            xyxy=np.concatenate([t.xyxy for t, _ in items]).astype(np.float32),
            times=np.concatenate([t.times for t, _ in items]),
            mean=mean,
            samples=samples,
            n_samples=n_samples,
        )
        os.replace(tmp, path)


def load_tracklets(folder: str | Path) -> list[tuple[Tracklet, int]]:
    """Every ``(tracklet, global id)`` stored in ``folder`` (appearance in float16 precision, as stored)."""
    out = []
    for path in sorted(Path(folder).glob("*-[0-9][0-9][0-9][0-9][0-9][0-9].npz")):
        with np.load(path, allow_pickle=False) as z:
            cam = str(z["camera"])
            ends = np.cumsum(z["length"])
            starts = ends - z["length"]
            for i, (s, e) in enumerate(zip(starts, ends)):
                k = int(z["n_samples"][i])
                mean = z["mean"][i].astype(np.float32) if z["has_mean"][i] else None
                emb = z["samples"][i, :k].astype(np.float32) if mean is not None else None
                out.append(
                    (
                        Tracklet(
                            cam,
                            int(z["track_id"][i]),
                            z["frames"][s:e],
                            z["xyxy"][s:e],
                            z["times"][s:e],
                            embeddings=emb,
                            mean_embedding=mean,
                        ),
                        int(z["global_id"][i]),
                    )
                )
    return out
