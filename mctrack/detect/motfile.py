"""Replay of MOTChallenge public detections (``det.txt``) as a detector."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.mot import all_outside_problem, detections_by_frame, load_mot_txt, outside_frame_problem, share_far_outside
from ..types import Detections, Frame

__all__ = ["MotFileDetector"]

log = logging.getLogger(__name__)


class MotFileDetector:
    """Returns, for ``Frame.index`` i, the rows of a ``det.txt`` with MOT frame i + 1.

    Rows may come in any order (they are sorted on load). Frames without rows give empty detections. Rows with a
    box that is not finite, of zero or negative size or implausibly far out are skipped on load with one warning.

    Args:
        path: the ``det.txt`` file.
        min_score: rows scoring below this are ignored (public detections include many low-score boxes; the
            tracker's own ``low_thresh`` applies on top).
    """

    def __init__(self, path: str | Path, *, min_score: float = -np.inf) -> None:
        if np.isnan(min_score):
            raise ValueError("min_score: must be a number, got nan")
        self.name = "mot"
        self.path = Path(path)
        self.min_score = float(min_score)
        rows = load_mot_txt(self.path, skip_bad_boxes=True, needs_score=True)
        if len(rows):
            # the same box twice in a frame (a file concatenated with itself, a detector run twice) would start
            # two tracks on every person: one copy is kept
            _, first = np.unique(rows[:, [0, 2, 3, 4, 5, 6]], axis=0, return_index=True)
            if len(first) < len(rows):
                log.warning(
                    "%s: %d exact duplicate row(s) (same frame, box and score) dropped; %d rows left",
                    self.path,
                    len(rows) - len(first),
                    len(first),
                )
                rows = rows[np.sort(first)]
        scores = rows[:, 6]
        if len(scores) and (scores.min() < 0.0 or scores.max() > 1.0):
            # older public detections (MOT15's ACF, MOT17's DPM) give raw detector scores: the tracker's thresholds
            # (high, new-track, low, the mean-score judgement) then cut them where they happen to fall: most raw
            # scores above 1 pass every one, and every negative one is dropped as below the low stage's 0.1
            log.warning(
                "%s: detection scores run from %.4g to %.4g, not confidences in [0, 1] as the tracker's score "
                "thresholds (--track-high, --track-new, the mean-score judgement, and 0.1 below which a row is not "
                "used at all) expect, and they take no raw scores: rescale the file's scores to [0, 1] first (e.g. "
                "a logistic of the raw score)",
                self.path,
                scores.min(),
                scores.max(),
            )
        self._rows = rows
        self._by_frame = detections_by_frame(rows, min_score=min_score)
        #: rows of the file kept (usable boxes, duplicates dropped), and of those scoring at least ``min_score``
        self.rows_read = len(rows)
        self.num_rows = int(sum(len(d) for d in self._by_frame.values()))
        #: 0-based index of the first frame that has detections (-1 for an empty file).
        self.first_frame = min(self._by_frame, default=-1)
        #: 0-based index of the last frame that has detections (-1 for an empty file).
        self.last_frame = max(self._by_frame, default=-1)
        if not self.num_rows:  # legal (a scene without people) but far more often the wrong file
            log.warning(
                "%s: no detections%s: every frame is tracked as empty",
                self.path,
                "" if not len(rows) else f" scoring >= {min_score:g} (of {len(rows)} rows)",
            )

    def share_far_outside(self, width: int, height: int, margin: float = 0.1) -> float:
        """The share of the file's boxes whose right or bottom edge lies more than ``margin`` of the frame beyond a
        ``width`` x ``height`` frame (:func:`mctrack.io.mot.share_far_outside`): large for a file written as x1,
        y1, x2, y2."""
        return share_far_outside(self._rows, width, height, margin)

    def outside_frame_problem(self, width: int, height: int, frame_of: str) -> str | None:
        """A one-line warning when more than a fifth of the file's boxes reach more than 10% beyond the ``width`` x
        ``height`` frame (:func:`mctrack.io.mot.outside_frame_problem`); None otherwise."""
        return outside_frame_problem(self.path, self._rows, width, height, frame_of)

    def all_outside_problem(self, width: int, height: int, frame_of: str) -> str | None:
        """A one-line error when every box of the file lies entirely outside the ``width`` x ``height`` frame
        (:func:`mctrack.io.mot.all_outside_problem`): nothing tracked from it could be right; None otherwise."""
        return all_outside_problem(self.path, self._rows, width, height, frame_of)

    def detections(self, index: int) -> Detections:
        """Detections of the 0-based frame ``index``."""
        if index < 0:
            raise InputError(f"{self.path}: frame index must be >= 0, got {index}")
        return self._by_frame.get(int(index), Detections.empty())

    def __call__(self, frame: Frame) -> Detections:
        return self.detections(frame.index)
