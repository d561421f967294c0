"""Checked containers passed between pipeline stages.

Every container holds numpy arrays whose shapes and dtypes are checked on construction, so a stage that
produces a malformed batch fails where the mistake is made, not three stages later.

Box convention everywhere: ``xyxy`` = (x1, y1, x2, y2) in pixels of the frame the boxes belong to, float32,
x2 >= x1 and y2 >= y1 not enforced here (detectors and tests may produce degenerate boxes; the tracker drops
them with a warning). Embeddings are float32 rows of unit L2 norm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Frame", "Detections", "Tracks", "Tracklet", "Identities", "check_image", "score_cut", "MAX_FPS"]

#: the largest frame rate a camera, a sequence or the tracker accepts (frames per second)
MAX_FPS = 10_000.0


def score_cut(thresh: float) -> float:
    """The value a score is compared with for "at least ``thresh``", so that a score of exactly the threshold
    passes whether it is kept in float32 (as ``Detections`` keeps scores: 0.9 is 0.89999998, 0.6 is 0.60000002)
    or in float64 (read back from a result file): the lower of the threshold's two forms. No float32 lies between
    the threshold and its nearest float32, so nothing else changes."""
    return min(float(thresh), float(np.float32(thresh)))


def _as(name: str, value, dtype, ndim: int, cols: int | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim != ndim:
        if arr.size == 0:  # accept [] for any empty array
            arr = arr.reshape((0,) if ndim == 1 else (0, cols or 0))
        else:
            raise ValueError(f"{name}: expected {ndim}-D array, got shape {arr.shape}")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"{name}: expected shape (N, {cols}), got {arr.shape}")
    return arr


def _check_len(owner: str, n: int, ref: str = "xyxy", **arrays: np.ndarray | None) -> None:
    for name, arr in arrays.items():
        if arr is not None and len(arr) != n:
            raise ValueError(f"{owner}.{name}: expected {n} rows to match {ref}, got {len(arr)}")


def _as_ids(name: str, value) -> np.ndarray:
    """``(N,)`` int64 ids; whole numbers given as floats are accepted, fractions refused rather than truncated."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f" and arr.size and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise ValueError(f"{name}: expected whole numbers, got {arr.reshape(-1)[:5].tolist()}")
    return _as(name, arr, np.int64, 1)


def _check_embedding(owner: str, emb, n: int) -> np.ndarray | None:
    if emb is None:
        return None
    arr = np.asarray(emb, dtype=np.float32)
    if arr.ndim != 2:
        if arr.size == 0 and n == 0:
            return arr.reshape(0, 0)
        raise ValueError(f"{owner}.embedding: expected ({n}, D) array, got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{owner}.embedding: expected {n} rows to match xyxy, got {len(arr)}")
    return arr


@dataclass(frozen=True)
class Frame:
    """One image from one camera.

    Attributes:
        camera: camera id as given in ``cams.yaml``.
        index: 0-based frame index in the camera's stream.
        timestamp: seconds since the start of the (time-aligned) scene.
        image: ``(H, W, 3)`` uint8 BGR image, or ``None`` when only detections are replayed.
    """

    camera: str
    index: int
    timestamp: float
    image: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.image is not None:
            img = self.image
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                shape = getattr(img, "shape", None)
                dtype = getattr(img, "dtype", type(img).__name__)
                raise ValueError(f"Frame.image: expected (H, W, 3) uint8 BGR, got shape {shape} dtype {dtype}")
        if self.index < 0:
            raise ValueError(f"Frame.index: expected >= 0, got {self.index}")

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the image, or None without an image."""
        return None if self.image is None else (self.image.shape[1], self.image.shape[0])


@dataclass(frozen=True)
class Detections:
    """Detections of one frame.

    Attributes:
        xyxy: ``(N, 4)`` float32 boxes in pixels.
        score: ``(N,)`` float32 confidences, in [0, 1] for the tracker's score thresholds (not enforced: some
            public detection files give raw detector scores, which their reader warns about).
        class_id: ``(N,)`` int64 class indices (0 = person for COCO detectors).
        embedding: optional ``(N, D)`` float32 unit-length appearance features.
    """

    xyxy: np.ndarray
    score: np.ndarray
    class_id: np.ndarray = field(default=None)  # type: ignore[assignment]
    embedding: np.ndarray | None = None

    def __post_init__(self) -> None:
        xyxy = _as("Detections.xyxy", self.xyxy, np.float32, 2, 4)
        n = len(xyxy)
        score = _as("Detections.score", self.score, np.float32, 1)
        cls = np.zeros(n, np.int64) if self.class_id is None else _as_ids("Detections.class_id", self.class_id)
        _check_len("Detections", n, score=score, class_id=cls)
        emb = _check_embedding("Detections", self.embedding, n)
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "class_id", cls)
        object.__setattr__(self, "embedding", emb)

    @classmethod
    def empty(cls, dim: int | None = None) -> Detections:
        """No detections; with ``dim``, an empty ``(0, dim)`` embedding is attached."""
        emb = None if dim is None else np.zeros((0, dim), np.float32)
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), emb)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> Detections:
        """Boolean mask, integer array or slice: a new ``Detections`` with the selected rows."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        emb = None if self.embedding is None else self.embedding[index]
        return Detections(self.xyxy[index], self.score[index], self.class_id[index], emb)

    def with_embedding(self, embedding: np.ndarray) -> Detections:
        """A copy with ``embedding`` attached (inputs are never mutated)."""
        return Detections(self.xyxy, self.score, self.class_id, embedding)

    @property
    def tlwh(self) -> np.ndarray:
        """``(N, 4)`` boxes as (left, top, width, height), the MOTChallenge convention."""
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out


def check_image(image: np.ndarray, *, grey: bool = False) -> None:
    """``ValueError`` (``TypeError`` for what is not an array at all) unless ``image`` is an ``(H, W, 3)`` uint8
    BGR array, as OpenCV reads frames (or, with ``grey``, an ``(H, W)`` uint8 one), and not empty."""
    what = "(H, W, 3) uint8 BGR" + (" or (H, W) grey" if grey else "")
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image: expected a numpy array {what}, got {type(image).__name__}")
    colour = image.ndim == 3 and image.shape[2] == 3
    if not (colour or (grey and image.ndim == 2)) or image.dtype != np.uint8 or not image.size:
        raise ValueError(f"image: expected {what}, got shape {image.shape} dtype {image.dtype}")


@dataclass(frozen=True)
class Tracks:
    """The tracker's output for one camera and one frame.

    Attributes:
        camera: camera id.
        frame: 0-based frame index.
        track_id: ``(M,)`` int64 local track ids (unique within a camera run, assigned by the tracker instance).
        xyxy: ``(M, 4)`` float32 boxes (the tracker's: by default the Kalman filter's estimate after the matched
            detection's update, ``Tracker(output_box="detection")`` the detection's own box; the prediction for
            predicted-only rows).
        score: ``(M,)`` float32 score of the matched detection (0 for predicted-only rows).
        det_index: ``(M,)`` int64 index of the matched detection in this frame's ``Detections``, -1 = predicted only.
        embedding: optional ``(M, D)`` float32 smoothed unit appearance features.
    """

    camera: str
    frame: int
    track_id: np.ndarray
    xyxy: np.ndarray
    score: np.ndarray
    det_index: np.ndarray
    embedding: np.ndarray | None = None

    def __post_init__(self) -> None:
        xyxy = _as("Tracks.xyxy", self.xyxy, np.float32, 2, 4)
        n = len(xyxy)
        tid = _as("Tracks.track_id", self.track_id, np.int64, 1)
        score = _as("Tracks.score", self.score, np.float32, 1)
        det = _as("Tracks.det_index", self.det_index, np.int64, 1)
        _check_len("Tracks", n, track_id=tid, score=score, det_index=det)
        # ids from a tracker come in increasing order: checking that is cheaper than sorting them
        if n > 1 and not (tid[1:] > tid[:-1]).all() and len(np.unique(tid)) != n:
            raise ValueError(f"Tracks.track_id: ids must be unique within a frame, got {tid.tolist()}")
        emb = _check_embedding("Tracks", self.embedding, n)
        for name, arr in (("track_id", tid), ("xyxy", xyxy), ("score", score), ("det_index", det), ("embedding", emb)):
            object.__setattr__(self, name, arr)

    @classmethod
    def empty(cls, camera: str, frame: int) -> Tracks:
        z = np.zeros(0, np.int64)
        return cls(camera, frame, z, np.zeros((0, 4), np.float32), np.zeros(0, np.float32), z)

    def __len__(self) -> int:
        return len(self.track_id)

    def matched_embeddings(self, detection_embeddings: np.ndarray) -> np.ndarray:
        """``(M, D)`` float32: for each row, the feature of the detection it was matched to
        (``detection_embeddings[det_index]``: the frame's ``(N, D)`` features as given to the tracker), NaN rows
        where it was matched to none."""
        feats = np.asarray(detection_embeddings, np.float32)
        if feats.ndim != 2:
            raise ValueError(f"detection_embeddings: expected (N, D), got shape {feats.shape}")
        ok = self.det_index >= 0
        if ok.any() and int(self.det_index[ok].max()) >= len(feats):
            raise ValueError(
                f"detection_embeddings: {len(feats)} rows, but a track was matched to detection "
                f"{int(self.det_index[ok].max())}: give the features of the frame's detections, as given to the tracker"
            )
        out = np.full((len(self), feats.shape[1]), np.nan, np.float32)
        out[ok] = feats[self.det_index[ok]]
        return out


@dataclass(frozen=True)
class Tracklet:
    """One local track's whole life in one camera.

    Attributes:
        camera: camera id.
        track_id: local track id in that camera.
        frames: ``(T,)`` int64 frame indices, strictly increasing.
        xyxy: ``(T, 4)`` float32 boxes, one per frame.
        times: ``(T,)`` float64 timestamps in seconds (scene time, after the camera's time offset).
        embeddings: ``(K, D)`` float32 unit appearance samples (e.g. a few diverse ones); may be ``(0, D)``.
        mean_embedding: ``(D,)`` float32 unit mean appearance, or ``None`` without appearance.
    """

    camera: str
    track_id: int
    frames: np.ndarray
    xyxy: np.ndarray
    times: np.ndarray
    embeddings: np.ndarray | None = None
    mean_embedding: np.ndarray | None = None

    def __post_init__(self) -> None:
        frames = _as("Tracklet.frames", self.frames, np.int64, 1)
        xyxy = _as("Tracklet.xyxy", self.xyxy, np.float32, 2, 4)
        times = _as("Tracklet.times", self.times, np.float64, 1)
        _check_len("Tracklet", len(xyxy), frames=frames, times=times)
        if len(frames) == 0:
            raise ValueError("Tracklet.frames: a tracklet needs at least one frame")
        if np.any(np.diff(frames) <= 0):
            raise ValueError("Tracklet.frames: must be strictly increasing")
        emb = None if self.embeddings is None else np.asarray(self.embeddings, np.float32)
        if emb is not None and emb.ndim != 2:
            raise ValueError(f"Tracklet.embeddings: expected (K, D), got shape {emb.shape}")
        mean = None if self.mean_embedding is None else np.asarray(self.mean_embedding, np.float32)
        if mean is not None and mean.ndim != 1:
            raise ValueError(f"Tracklet.mean_embedding: expected (D,), got shape {mean.shape}")
        if mean is not None and emb is not None and emb.shape[1] != mean.shape[0] and len(emb):
            raise ValueError(f"Tracklet: embeddings dim {emb.shape[1]} != mean_embedding dim {mean.shape[0]}")
        for name, arr in (
            ("frames", frames),
            ("xyxy", xyxy),
            ("times", times),
            ("embeddings", emb),
            ("mean_embedding", mean),
        ):
            object.__setattr__(self, name, arr)

    @property
    def first_time(self) -> float:
        return float(self.times[0])

    @property
    def last_time(self) -> float:
        return float(self.times[-1])

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Identities:
    """Global identities: rows (camera, local track id, global id). Written only by the linker.

    Attributes:
        camera: ``(R,)`` object array of camera ids.
        track_id: ``(R,)`` int64 local track ids.
        global_id: ``(R,)`` int64 global ids (>= 1).
    """

    camera: np.ndarray
    track_id: np.ndarray
    global_id: np.ndarray

    def __post_init__(self) -> None:
        cam = np.asarray(self.camera, dtype=object).reshape(-1)
        tid = _as("Identities.track_id", self.track_id, np.int64, 1)
        gid = _as("Identities.global_id", self.global_id, np.int64, 1)
        _check_len("Identities", len(cam), "camera", track_id=tid, global_id=gid)
        keys = list(zip(cam.tolist(), tid.tolist()))
        if len(set(keys)) != len(keys):
            raise ValueError("Identities: each (camera, track_id) may appear only once")
        if len(gid) and gid.min() < 1:
            raise ValueError("Identities.global_id: ids must be >= 1")
        for name, arr in (("camera", cam), ("track_id", tid), ("global_id", gid)):
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.global_id)

    def lookup(self) -> dict[tuple[str, int], int]:
        """``{(camera, track_id): global_id}``."""
        return {(c, int(t)): int(g) for c, t, g in zip(self.camera, self.track_id, self.global_id)}
