"""The run's feature cache: one camera's detections and embeddings, recorded while it runs, replayed later.

``OUT/cache/<camera>-<embedder>-<digest>/`` holds ``meta.npz`` (the key, fps, frame count, per-detection frame,
box, score and class, which frames were embedded, and the CRC-32 of the embeddings) and ``embedding.f32`` (the
raw float32 ``(N, D)`` embeddings, memory-mapped on replay; checked against the CRC first, so a file changed or
damaged since is recomputed, not replayed). Embeddings go to disk as they are computed, so recording a long video keeps
only its small per-detection arrays in memory (40 bytes a detection), and a replay reads embeddings from the
page cache instead of loading them. The folder is written under a temporary name and renamed when complete: a
run killed while recording leaves no cache that a later run would trust. The digest hashes the key: what the
features depend on (the embedder and its settings, the weights file's content, the detector's settings, the
source's and detection file's size and modification time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import zlib
from pathlib import Path

import numpy as np

from .config import CameraConfig
from .errors import InputError
from .io.mot import read_seqinfo
from .io.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from .track.cmc import IDENTITY_WARP
from .types import Detections, Frame

__all__ = [
    "CACHE_VERSION",
    "file_sha1",
    "feature_cache_key",
    "cache_folder",
    "CacheRecorder",
    "CacheReplay",
    "load_cache",
]

log = logging.getLogger(__name__)

# 4: image folders numbered by the number ending each name (frame_000001.jpg), strays left out (2026-12-05)
CACHE_VERSION = 4
_READ_SUFFIXES = frozenset(IMAGE_SUFFIXES + VIDEO_SUFFIXES)  # what a folder source reads


def file_sha1(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-1 of a file's content (weights files: the cache key follows the weights, not their name)."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


#: bytes read at each of a video file's start, middle and end for its cache key (hashing a whole video would take
#: as long as decoding it)
_SAMPLE_BYTES = 1 << 20


def _file_stamp(path: str | None, *, whole: bool = False) -> str | None:
    """A file's path, size and modification time and a digest of its content: the whole file when ``whole`` (a
    detection file: small, and edited in place without changing its size, or copied keeping its time, as ``cp -p``
    and ``rsync -a`` do), else its first, middle and last MiB (a video). For a folder (images, a sequence) a digest of
    the names, sizes and times of the images, videos and ``seqinfo.ini`` in it and in its subfolders one level down
    (``img1/``), and of the video and image folder its ``seqinfo.ini`` names wherever they lie: overwriting an
    image does not change its folder's own time, and a cache keyed on that replayed the old image's detections.
    Other files (a run's outputs written beside them) leave the key alone."""
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        return str(p)
    if not p.is_dir():
        st = p.stat()
        if whole:
            with contextlib.suppress(OSError):  # unreadable: the detector reports it itself
                return f"{p.resolve()}:{st.st_size}:{int(st.st_mtime_ns)}:{file_sha1(p)}"
        h = hashlib.sha1()
        starts = sorted({0, max(0, st.st_size // 2 - _SAMPLE_BYTES // 2), max(0, st.st_size - _SAMPLE_BYTES)})
        with contextlib.suppress(OSError), open(p, "rb") as f:  # unreadable: the source reports it itself
            for at in starts:
                f.seek(at)
                h.update(f.read(_SAMPLE_BYTES))
        return f"{p.resolve()}:{st.st_size}:{int(st.st_mtime_ns)}:{h.hexdigest()}"
    # not the folder's own time, which changes with any file written into it: the files the source reads decide
    files = [*p.iterdir(), *(g for d in p.iterdir() if d.is_dir() for g in d.iterdir())]
    h = _files_digest(p, [f for f in files if f.suffix.lower() in _READ_SUFFIXES or f.name == "seqinfo.ini"])
    for read in _sequence_reads(p):  # what a seqinfo.ini names may lie outside the folder or deeper in it
        h.update(f"{read}\n".encode())
    return f"{p.resolve()}:{h.hexdigest()}"


def _files_digest(base: Path, files: list[Path]):
    """SHA-1 over the ``files``' paths relative to ``base``, sizes and modification times, in name order."""
    h = hashlib.sha1()
    for f in sorted(files):
        with contextlib.suppress(OSError):  # a file removed meanwhile: left out
            fs = f.stat()
            h.update(f"{f.relative_to(base)}:{fs.st_size}:{int(fs.st_mtime_ns)}\n".encode())
    return h


def _sequence_reads(folder: Path) -> list[str]:
    """Stamps of what a sequence folder's ``seqinfo.ini`` makes its source read: the video its ``video=`` names
    and the images of its ``imDir=``, wherever they are (``../videos/clip.avi``, ``frames/left/``). A folder
    without one, or one that cannot be read, gives none (the source reports a bad one itself)."""
    if not (folder / "seqinfo.ini").is_file():
        return []
    try:
        info = read_seqinfo(folder / "seqinfo.ini", fallback_fps=1.0)
    except InputError:
        return []
    reads = []
    if info.video:
        reads.append(f"video:{_file_stamp(str(folder / info.video))}")
    images = folder / info.im_dir
    with contextlib.suppress(OSError):  # no such folder, or removed meanwhile: left out
        listed = [f for f in images.iterdir() if f.suffix.lower() in _READ_SUFFIXES]
        reads.append(f"images:{images.resolve()}:{_files_digest(images, listed).hexdigest()}")
    return reads


def feature_cache_key(camera: CameraConfig, *, embedder: str | dict, weights_hash: str | None, detector: dict) -> dict:
    """What a camera's cached detections and embeddings depend on (``embedder``: its name, or a mapping of its
    name and every setting that changes its features, e.g. flip and precision)."""
    return {
        "version": CACHE_VERSION,
        "camera": camera.id,
        "source": _file_stamp(camera.source),
        "detections": _file_stamp(camera.detections, whole=True) if detector.get("name") == "mot" else None,
        "embedder": embedder,
        "weights": weights_hash,
        "detector": detector,
        # a replay uses the rate its cache recorded unless the camera set gives one: a rate given before and
        # removed since replayed the old one (time windows, timestamps), so the given rate is part of the key
        "fps": camera.fps,
    }


def cache_folder(out: Path, camera: str, embedder: str, key: dict) -> tuple[Path, str]:
    """The cache folder of a camera and the key as stored (JSON)."""
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return Path(out) / "cache" / f"{camera}-{embedder}-{digest}", text


class CacheReplay:
    """Feature source replaying a cache: ``(detections, embeddings or None)`` of a frame index."""

    def __init__(self, meta: dict, embedding: np.ndarray, dim: int) -> None:
        self.fps, self.frames, self.dim = float(meta["fps"]), int(meta["frames"]), int(dim)
        self.frames_without_image = int(meta["frames_without_image"])
        #: the detection file's last frame (0-based), as the detector that made the cache had it (None: not known)
        self.last_frame = int(meta["det_last_frame"]) if "det_last_frame" in meta else None
        #: the warnings said when the cache was made (:meth:`CacheRecorder.save`), to be said again on a replay
        self.notes = [str(n) for n in meta["notes"]] if "notes" in meta else []
        self._meta, self._embedding = meta, embedding
        self._bounds = np.searchsorted(meta["frame"], np.arange(self.frames + 1))

    def moved(self, frames: int) -> int:
        """Of the first ``frames`` frames, how many have a recorded warp other than the identity."""
        warps = self._meta.get("warp")
        if warps is None:
            return 0
        return int((warps[:frames] != IDENTITY_WARP).any(axis=(1, 2)).sum())

    def warp(self, index: int) -> np.ndarray | None:
        """The camera-motion warp recorded for frame ``index`` (None when the cache holds none)."""
        warps = self._meta.get("warp")
        return None if warps is None or index >= len(warps) else np.asarray(warps[index], np.float64)

    def __call__(self, frame: Frame) -> tuple[Detections, np.ndarray | None]:
        s, e = self._bounds[frame.index], self._bounds[frame.index + 1]
        m = self._meta
        dets = Detections(m["xyxy"][s:e], m["score"][s:e], m["class_id"][s:e])
        if not self.dim or not bool(m["embedded"][frame.index]):
            return dets, None
        return dets, np.asarray(self._embedding[s:e], np.float32)


def load_cache(folder: Path, key: str, dim: int, *, warps: bool = False) -> CacheReplay | None:
    """The replay of a complete cache whose key matches, else None (a damaged cache is recomputed, never
    trusted). ``warps``: the run compensates camera motion, so the cache must hold every frame's warp."""
    meta_path, emb_path = folder / "meta.npz", folder / "embedding.f32"
    if not meta_path.is_file():
        return None
    try:
        with np.load(meta_path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            meta = {k: z[k] for k in z.files}
        n = len(meta["frame"])
        if int(meta["dim"]) != dim:
            return None
        _check_meta(meta, n)
        if warps and "warp" not in meta and int(meta["frames"]):
            raise ValueError("the camera-motion warps are missing")
        size = emb_path.stat().st_size if emb_path.is_file() else -1
        if size != n * dim * 4:
            raise ValueError(f"embedding.f32 holds {size} bytes, expected {n * dim * 4}")
        if "embedding_crc32" in meta and _crc32(emb_path) != int(meta["embedding_crc32"]):  # older caches have none
            raise ValueError("embedding.f32 does not match its checksum (changed or damaged since it was written)")
        embedding = (
            np.memmap(emb_path, np.float32, mode="r", shape=(n, dim)) if n and dim else np.zeros((n, dim), np.float32)
        )
        return CacheReplay(meta, embedding, dim)
    except Exception as exc:  # noqa: BLE001 - a damaged cache is recomputed, never trusted
        log.warning("%s: unreadable cache (%s); features are recomputed", folder, exc)
        return None


def _crc32(path: Path, chunk: int = 1 << 22) -> int:
    """CRC-32 of a file (zlib's, about 1 GB/s), read in chunks."""
    crc = 0
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            crc = zlib.crc32(block, crc)
    return crc


def _check_meta(meta: dict, n: int) -> None:
    """A cache whose key matches but whose arrays disagree (edited, or written by a buggy version) is refused."""
    frames = int(meta["frames"])
    if not (0 <= frames <= 100_000_000 and np.isfinite(float(meta["fps"])) and float(meta["fps"]) > 0):
        raise ValueError(f"frames {frames} / fps {float(meta['fps'])} out of range")
    if meta["embedded"].shape != (frames,) or not 0 <= int(meta["frames_without_image"]) <= frames:
        raise ValueError("per-frame arrays do not match the frame count")
    if "warp" in meta:
        w = meta["warp"]
        if w.shape != (frames, 2, 3) or w.dtype.kind != "f":
            raise ValueError("camera-motion warps do not match the frame count")
        scale = np.abs(np.linalg.det(w[:, :, :2].astype(np.float64))) if len(w) else np.ones(0)
        if not (np.isfinite(w).all() and ((scale > 0.01) & (scale < 100)).all() and (np.abs(w) <= 1e5).all()):
            raise ValueError("camera-motion warps are not plausible frame-to-frame maps (scale or shift)")
    if any(len(meta[k]) != n for k in ("xyxy", "score", "class_id")) or meta["xyxy"].shape[1:] != (4,):
        raise ValueError("per-detection arrays differ in length")
    f = meta["frame"]
    if n and (f.min() < 0 or f.max() >= frames or (np.diff(f) < 0).any()):
        raise ValueError("detection frames out of order or range")


class CacheRecorder:
    """Records what a camera's feature source produced: ``recorder(frame_index, detections, embeddings or None)``
    per frame, then :meth:`save` when the camera finished (or :meth:`discard`)."""

    def __init__(self, folder: Path, key: str, dim: int) -> None:
        self.folder, self.key, self.dim = Path(folder), key, int(dim)
        self._tmp = self.folder.with_name(self.folder.name + ".partial")
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp.mkdir(parents=True)
        self._emb = (self._tmp / "embedding.f32").open("wb")
        self._crc = 0  # of the bytes written to embedding.f32, checked when the cache is replayed
        self._parts: dict[str, list[np.ndarray]] = {"frame": [], "xyxy": [], "score": [], "class_id": []}
        self._embedded: list[bool] = []
        self._warps: dict[int, np.ndarray] = {}

    def warp(self, index: int, warp: np.ndarray) -> None:
        """Record the camera-motion warp applied at frame ``index`` (replayed with the detections)."""
        self._warps[int(index)] = np.asarray(warp, np.float64).reshape(2, 3)

    def __call__(self, index: int, dets: Detections, emb: np.ndarray | None) -> None:
        while len(self._embedded) < index:  # frames the source skipped (none in practice): nothing recorded
            self._embedded.append(False)
        self._parts["frame"].append(np.full(len(dets), index, np.int64))
        self._parts["xyxy"].append(np.asarray(dets.xyxy, np.float32))
        self._parts["score"].append(np.asarray(dets.score, np.float32))
        self._parts["class_id"].append(np.asarray(dets.class_id, np.int64))
        self._embedded.append(emb is not None)
        if self.dim:
            block = emb if emb is not None else np.zeros((len(dets), self.dim), np.float32)
            data = np.ascontiguousarray(block, np.float32).tobytes()
            self._emb.write(data)
            self._crc = zlib.crc32(data, self._crc)

    def save(
        self,
        fps: float,
        frames: int,
        frames_without_image: int = 0,
        det_last_frame: int | None = None,
        notes: list[str] | None = None,
    ) -> None:
        """Complete the cache (it replaces an older one of the same key). ``det_last_frame``: the last frame (0-based)
        of the detection file the detections came from, so that a replay still says when it ends early or late.
        ``notes``: the warnings said while the camera's source and detector were opened (an assumed frame rate,
        boxes that look like x1,y1,x2,y2), which a replay, opening neither, says again."""
        self._emb.close()
        cat = {k: np.concatenate(v) if v else None for k, v in self._parts.items()}
        embedded = np.zeros(frames, bool)
        embedded[: min(frames, len(self._embedded))] = self._embedded[:frames]
        extra = {}
        if self._warps:  # frames without a recorded warp (none in practice) replay the identity
            warps = np.tile(IDENTITY_WARP, (frames, 1, 1))
            for i, w in self._warps.items():
                if i < frames:
                    warps[i] = w
            extra["warp"] = warps
        if det_last_frame is not None:
            extra["det_last_frame"] = np.array(int(det_last_frame))
        if notes:
            extra["notes"] = np.array([str(n) for n in notes])
        np.savez(
            self._tmp / "meta.npz",
            key=np.array(self.key),
            fps=np.array(fps),
            frames=np.array(frames),
            dim=np.array(self.dim),
            frames_without_image=np.array(int(frames_without_image)),
            frame=cat["frame"] if cat["frame"] is not None else np.zeros(0, np.int64),
            xyxy=cat["xyxy"] if cat["xyxy"] is not None else np.zeros((0, 4), np.float32),
            score=cat["score"] if cat["score"] is not None else np.zeros(0, np.float32),
            class_id=cat["class_id"] if cat["class_id"] is not None else np.zeros(0, np.int64),
            embedded=embedded,
            embedding_crc32=np.array(self._crc, np.uint32),
            **extra,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
        self._tmp.rename(self.folder)

    def discard(self) -> None:
        self._emb.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
