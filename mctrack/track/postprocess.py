"""Offline post-processing of finished tracks (applied to whole result files, never online).

``interpolate_gaps`` fills short gaps inside a track by linear interpolation of its box: a person missed by the
detector for a few frames (occlusion, motion blur) is then reported through the gap, as in ByteTrack's and
StrongSORT's offline "linear interpolation" step. It changes results only for recorded video, and is off unless
asked for (``mctrack track --interpolate N``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["interpolate_gaps"]


def interpolate_gaps(rows: np.ndarray, max_gap: int) -> np.ndarray:
    """MOT rows ``(K, >=7)`` with gaps of at most ``max_gap`` missing frames inside each track filled.

    Interpolated rows get the smaller confidence of the two rows around the gap. Rows are returned sorted by
    frame then id; the input is not modified.
    """
    rows = np.asarray(rows, np.float64)
    if max_gap < 0:
        raise ValueError(f"max_gap: must be >= 0, got {max_gap}")
    if len(rows) == 0 or max_gap == 0:
        return rows[np.lexsort((rows[:, 1], rows[:, 0]))] if len(rows) else rows.copy()
    order = np.lexsort((rows[:, 0], rows[:, 1]))
    r = rows[order]
    same = r[1:, 1] == r[:-1, 1]
    gap = r[1:, 0] - r[:-1, 0] - 1
    fill = np.flatnonzero(same & (gap > 0) & (gap <= max_gap))
    new = [rows]
    for i in fill:
        a, b = r[i], r[i + 1]
        n = int(gap[i])
        t = (np.arange(1, n + 1) / (n + 1))[:, None]
        block = np.repeat(a[None, :], n, axis=0)
        block[:, 0] = a[0] + np.arange(1, n + 1)
        block[:, 2:6] = a[2:6] + t * (b[2:6] - a[2:6])
        block[:, 6] = min(a[6], b[6])
        new.append(block)
    out = np.concatenate(new)
    return out[np.lexsort((out[:, 1], out[:, 0]))]
