"""supervision (Roboflow) interop: our tracker and embedders inside an ``sv`` loop, and conversions both ways.

    import supervision as sv
    from mctrack.integrations.supervision import MctrackTracker

    tracker = MctrackTracker(reid="laga", frame_rate=25)         # the bundled checkpoint; reid=None: motion only
    for frame in sv.get_video_frames_generator("video.mp4"):
        detections = sv.Detections.from_ultralytics(model(frame)[0])
        detections = tracker.update_with_detections(detections, frame)   # like sv.ByteTrack, plus the frame
        annotated = sv.BoxAnnotator().annotate(frame.copy(), detections)

``to_detections`` / ``from_detections`` convert ``sv.Detections`` <-> ``mctrack.types.Detections``;
``tracks_to_sv`` gives a frame's ``Tracks`` as ``sv.Detections`` with ``tracker_id``. Needs ``pip install
supervision`` (the ``supervision`` extra).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..embed import build_embedder, tracker_appearance
from ..errors import optional_import
from ..track import DETECTOR_THRESHOLDS, Tracker
from ..types import Detections, Tracks

sv = optional_import(
    "supervision",
    'mctrack.integrations.supervision needs supervision: pip install -e ".[supervision]" (or pip install '
    '"supervision>=0.25")',
)

__all__ = ["MctrackTracker", "from_detections", "to_detections", "tracks_to_sv"]


def to_detections(detections: sv.Detections) -> Detections:
    """``sv.Detections`` -> ours (missing confidences count as 1, missing classes as 0 = person; ``data["embedding"]``,
    when present, becomes the appearance features, as :func:`from_detections` writes them)."""
    n = len(detections)
    score = np.ones(n, np.float32) if detections.confidence is None else detections.confidence
    cls = np.zeros(n, np.int64) if detections.class_id is None else detections.class_id
    emb = (detections.data or {}).get("embedding")
    return Detections(
        np.asarray(detections.xyxy, np.float32).reshape(-1, 4),
        np.asarray(score, np.float32),
        np.asarray(cls, np.int64),
        embedding=None if emb is None else np.asarray(emb, np.float32),
    )


def from_detections(detections: Detections) -> sv.Detections:
    """Ours -> ``sv.Detections`` (embeddings, when present, go to ``data["embedding"]``)."""
    data = {} if detections.embedding is None else {"embedding": detections.embedding}
    return sv.Detections(
        xyxy=detections.xyxy.astype(np.float32),
        confidence=detections.score.copy(),
        class_id=detections.class_id.copy(),
        data=data,
    )


def tracks_to_sv(tracks: Tracks) -> sv.Detections:
    """A frame's tracks as ``sv.Detections`` with ``tracker_id`` (class 0, confidence = the matched score)."""
    return sv.Detections(
        xyxy=tracks.xyxy.astype(np.float32),
        confidence=tracks.score.copy(),
        class_id=np.zeros(len(tracks), np.int64),
        tracker_id=tracks.track_id.copy(),
    )


class MctrackTracker:
    """mctrack's per-camera tracker with the ``update_with_detections`` interface of supervision's trackers (that of
    ``sv.ByteTrack``, which recent supervision releases no longer ship). Every class is tracked together: filter
    the detections to people first for a person Re-ID embedder.

    ``update_with_detections(detections, frame=None)`` returns the input detections that belong to a confirmed
    track, with ``tracker_id`` set (masks and ``data`` kept), in the input's order. With an embedder (``reid``)
    the ``frame`` (BGR image, as OpenCV and supervision's frame generator give) is required: the detections are
    embedded in it; without an embedder the tracker uses motion only and needs no frame. Features computed
    beforehand in ``detections.data["embedding"]`` ((N, D) rows, made unit length) are used instead of the
    embedder's; set ``appearance_weight``/``appearance_thresh`` for their distance scale, and
    ``appearance_centre`` (``"scene"`` for features that share a large common part, as colour histograms do, which
    ``reid="colorhist"`` sets; ``"none"`` for features centred already, as the networks' are).

    Args:
        reid: embedder name (``laga``, ``can``, ``global``, ``colorhist``, ``onnx``) or None for motion only.
        embedder_kwargs: passed to the embedder (e.g. ``weights=...``, ``device="cuda"``); a network without
            ``weights`` uses its bundled checkpoint.
        frame_rate: frames per second of the stream (the tracker's time constants are in seconds).
        tracker_kwargs: ``mctrack.track.Tracker`` keyword arguments (thresholds, appearance weight...). The score
            thresholds default to ``mctrack run``'s for detector output (``high_thresh`` 0.5, ``new_track_thresh``
            0.6), not the Tracker's MOT15-tuned 0.7/0.9, which drop many YOLO boxes.
    """

    def __init__(
        self,
        *,
        reid: str | None = None,
        embedder_kwargs: dict[str, Any] | None = None,
        frame_rate: float = 30.0,
        camera: str = "0",
        **tracker_kwargs: Any,
    ) -> None:
        if embedder_kwargs and not reid:
            raise ValueError("embedder_kwargs: given without reid=...; name the embedder they are for")
        self.embedder = build_embedder(reid, **(embedder_kwargs or {})) if reid else None
        self._reid = reid
        self._warned_scores = False
        self._warned_features = False
        self._frame_size: tuple[int, int] | None = None  # the first frame's (width, height): a change is said once
        self._warned_size = False
        if self.embedder is not None:
            tracker_kwargs = {**tracker_appearance(self.embedder, reid), **tracker_kwargs}
        self._options = {
            "camera": camera,
            "frame_rate": frame_rate,
            **DETECTOR_THRESHOLDS,
            **tracker_kwargs,
        }
        self.tracker = Tracker(**self._options)

    def reset(self) -> None:
        """Forget every track (a new video); ids start again from 1."""
        self.tracker = Tracker(**self._options)
        self._frame_size, self._warned_size = None, False

    def update_with_detections(self, detections: sv.Detections, frame: np.ndarray | None = None) -> sv.Detections:
        if not all(hasattr(detections, a) for a in ("xyxy", "confidence", "class_id")):
            raise TypeError(
                f"detections: expected supervision.Detections (e.g. sv.Detections.from_ultralytics(result)), got "
                f"{type(detections).__name__}"
            )
        ours = to_detections(detections)
        size = getattr(frame, "shape", (0, 0))[1::-1] if isinstance(frame, np.ndarray) and frame.ndim >= 2 else None
        if size is not None and self._frame_size is None:
            self._frame_size = size
        elif size is not None and size != self._frame_size and not self._warned_size:
            self._warned_size = True  # boxes of another scale than the tracks': every person gets a new id
            warnings.warn(
                f"frame: {size[0]}x{size[1]} pixels, the first was {self._frame_size[0]}x{self._frame_size[1]}; "
                "tracks are kept in the pixels of the frames before, so boxes of another scale start new tracks "
                "(resize frames to one size, or reset() for a new video; said once per tracker)",
                stacklevel=2,
            )
        scores = ours.score[np.isfinite(ours.score)]  # a NaN score is the tracker's to drop, with its own warning
        if not self._warned_scores and len(scores) and not (0.0 <= scores.min() and scores.max() <= 1.0):
            self._warned_scores = True
            warnings.warn(
                f"detections.confidence runs from {scores.min():.4g} to {scores.max():.4g}, not [0, 1] as "
                "the tracker's score thresholds (high_thresh, new_track_thresh) expect; rescale the scores",
                stacklevel=2,
            )
        embeddings = ours.embedding  # features computed beforehand (data["embedding"]) come first
        if embeddings is not None and not self._warned_features and len(embeddings):
            sq = np.einsum("ij,ij->i", embeddings, embeddings)
            unusable = int(np.count_nonzero(~(np.isfinite(sq) & (sq > 0))))
            if unusable:  # the tracker takes such rows as "not embedded" (matched on motion alone): say so once
                self._warned_features = True
                warnings.warn(
                    f"detections.data['embedding']: {unusable} of {len(embeddings)} row(s) are NaN, infinite or "
                    "zero; those detections are associated on motion alone (said once per tracker)",
                    stacklevel=2,
                )
        if embeddings is None and self.embedder is not None and len(ours):
            if frame is None:
                raise ValueError(
                    f"frame: reid={self._reid!r} embeds the detections in the frame; call "
                    "update_with_detections(detections, frame) (or put features in detections.data['embedding'])"
                )
            finite = np.isfinite(ours.xyxy).all(axis=1)  # a NaN box has no crop: the tracker drops it, warning
            if finite.all():
                embeddings = self.embedder(frame, ours)
            else:  # as without an embedder, not a ValueError only when reid is set
                embeddings = np.full((len(ours), self.embedder.dim), np.nan, np.float32)
                if finite.any():
                    embeddings[finite] = self.embedder(frame, ours[finite])
        tracks = self.tracker.update(ours, embeddings)
        matched = tracks.det_index >= 0
        order = np.argsort(tracks.det_index[matched], kind="stable")
        index = tracks.det_index[matched][order]
        out = detections[index]
        out.tracker_id = tracks.track_id[matched][order].astype(int)
        return out
