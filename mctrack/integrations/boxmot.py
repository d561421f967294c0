"""BoxMOT interop: our Re-ID embedders inside BoxMOT's appearance trackers (BoT-SORT, StrongSORT, Deep OC-SORT...).

BoxMOT (>= 25) trackers take a ready Re-ID backend as ``reid_model``: any object with
``get_features(boxes, image) -> (N, D) features``. :class:`BoxmotReID` is one, around any mctrack embedder::

    from boxmot import BotSort
    from mctrack.integrations.boxmot import BoxmotReID

    tracker = BotSort(reid_model=BoxmotReID("laga"))        # the bundled LAGA-Net checkpoint (GPU when present)
    for frame in frames:                                      # BGR images
        dets = ...                                            # (N, 6): x1, y1, x2, y2, conf, cls
        tracks = tracker.update(dets, frame)                  # (M, 8): x1, y1, x2, y2, id, conf, cls, det index

Some BoxMOT trackers use appearance only when asked: BoostTrack needs ``use_embeddings=True`` (without it
``get_features`` is never called). Give ``BoxmotReID`` rather than an exported ``.onnx`` path to BoxMOT: BoxMOT
preprocesses files it loads itself for ImageNet-normalised models, which our exports are not.

BoxMOT is not a dependency of mctrack (``pip install boxmot``); this module imports nothing from it. The features
are our embedder's: unit, centred rows, so BoxMOT's cosine distances see what mctrack's tracker sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..embed import build_embedder
from ..types import Detections

__all__ = ["BoxmotReID"]


class BoxmotReID:
    """An mctrack embedder as a BoxMOT ``reid_model``.

    Args:
        embedder: an embedder object (``embedder(image, Detections) -> (N, D)``, with ``dim``), or a registered
            name (``laga``, ``can``, ``global``, ``colorhist``, ``onnx``) built with ``**kwargs`` (e.g.
            ``weights=``, ``device=``); a network without ``weights`` uses its bundled checkpoint.
    """

    def __init__(self, embedder: Any = "laga", **kwargs: Any) -> None:
        if isinstance(embedder, str):
            name, embedder = embedder, build_embedder(embedder, **kwargs)
            if embedder is None:
                raise ValueError(f"embedder {name!r}: gives no features; BoxMOT's reid_model needs a Re-ID embedder")
        elif kwargs:
            raise ValueError("kwargs: only used when embedder is a registered name")
        if not callable(embedder) or not hasattr(embedder, "dim"):
            raise TypeError(
                f"embedder: expected a registered name or an mctrack embedder (callable, with .dim), got "
                f"{type(embedder).__name__}"
            )
        self.embedder = embedder
        self.dim = int(embedder.dim)

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        """``(N, D)`` float32 features of the ``(N, 4+)`` xyxy ``boxes`` in the BGR ``image`` (BoxMOT passes its
        detections' rows, xyxy first; oriented boxes, ``is_obb=True``, are refused: they are not xyxy)."""
        if not len(boxes):
            return np.zeros((0, self.dim), np.float32)
        rows = np.asarray(boxes, np.float32)
        if rows.ndim != 2:  # one box as a flat (4,) row, say: reshaping it gave "(4, 1)" in the message below
            raise ValueError(f"boxes: expected (N, 4) or (N, 6) rows starting x1, y1, x2, y2, got shape {rows.shape}")
        if rows.shape[1] == 5:  # BoxMOT's oriented boxes: cx, cy, w, h, angle
            raise ValueError(
                "boxes: got 5 columns, BoxMOT's oriented boxes (is_obb=True: cx, cy, w, h, angle), which are not "
                "supported; expected (N, 4) or (N, 6) rows starting x1, y1, x2, y2"
            )
        xyxy = rows[:, :4]
        if image is None or np.ndim(image) != 3:
            raise ValueError("image: expected an (H, W, 3) BGR frame")
        dets = Detections(xyxy.astype(np.float32), np.ones(len(xyxy), np.float32))
        return np.asarray(self.embedder(image, dets), np.float32)
