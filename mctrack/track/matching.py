"""Distances between tracks and detections, gating and the assignment.

All functions are stateless and batched; costs are ``(A, B)`` float64 matrices where larger means a worse match.
Infeasible pairs carry :data:`INFEASIBLE`, a cost above any assignment threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from . import kernels

__all__ = ["INFEASIBLE", "iou_matrix", "iou_distance", "cosine_distance", "fuse_costs", "linear_assignment"]

INFEASIBLE = 1e5


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(A, B)`` intersection over union of xyxy boxes; pairs with an empty union (or a NaN coordinate) get 0."""
    a = kernels.as_array(a).reshape(-1, 4)
    b = kernels.as_array(b).reshape(-1, 4)
    # compiled: at a frame's sizes a dozen numpy operations cost their per-call overhead, not arithmetic; this is
    # the tracker's most frequent call
    return kernels.iou(a, b)


def iou_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - IoU``: 0 for identical boxes, 1 for disjoint ones."""
    return 1.0 - iou_matrix(a, b)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(A, B)`` cosine distance ``1 - a.b`` of unit rows, clipped to [0, 1] (opposite features are as bad as
    unrelated ones for matching). Float32 features (as embedders give them) are multiplied in float32, about
    twice as fast as widening them first and within 1e-6 of it; the result is float64."""
    a = np.asarray(a)
    b = np.asarray(b)
    dtype = np.float32 if a.dtype == np.float32 and b.dtype == np.float32 else np.float64
    a = a.astype(dtype, copy=False)
    b = b.astype(dtype, copy=False)
    if a.ndim != 2 or b.ndim != 2 or len(a) == 0 or len(b) == 0:
        return np.ones((len(a), len(b)))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"cosine_distance: feature dims differ: {a.shape[1]} vs {b.shape[1]}")
    out = np.subtract(1.0, a @ b.T, dtype=np.float64)
    return np.clip(out, 0.0, 1.0, out=out)


def fuse_costs(
    iou_dist: np.ndarray,
    app_dist: np.ndarray | None,
    *,
    appearance_weight: float,
    max_iou_distance: float,
    appearance_thresh: float,
    motion_gate: np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Joint cost of IoU and appearance, with gating.

    ``cost = (1 - w) * iou_dist + w * app_dist``. A pair is infeasible when its appearance distance exceeds
    ``appearance_thresh`` (a different-looking person is never taken, however well the box fits). Pairs that do
    not overlap enough (``iou_dist > max_iou_distance``) are allowed only when their appearance is confidently
    similar (``app_dist <= appearance_thresh / 2``) and they pass the motion gate: this is how a track lost behind
    an occluder is recovered after its predicted box has drifted away, while the gate keeps appearance from
    pulling a track across the image.
    Without appearance (``app_dist is None``) the cost is the IoU distance and non-overlapping pairs are infeasible.

    Args:
        iou_dist: ``(T, N)`` ``1 - IoU`` between predicted track boxes and detections.
        app_dist: ``(T, N)`` cosine distances, or None for motion-only.
        appearance_weight: ``w`` in [0, 1], how much appearance counts against box overlap.
        max_iou_distance: largest ``1 - IoU`` accepted on box overlap alone.
        appearance_thresh: largest appearance distance ever accepted.
        motion_gate: optional ``(T, N)`` boolean, True where the motion model finds the pair plausible; it applies
            to the pairs matched on appearance without overlap (and to all pairs without appearance). Or a callable
            ``(rows, cols) -> (K,)`` boolean that computes the gate of the pairs ``(rows[k], cols[k])`` only: it is
            called once, with just the pairs the gate decides (none: not called), which spares a tracker the
            Mahalanobis distances of every other pair (with appearance they are a few per frame).
    """
    iou_dist = np.asarray(iou_dist, np.float64)
    bad = iou_dist > max_iou_distance
    if app_dist is not None:
        # in place on new arrays: a frame's matrices are small, so each temporary costs more than its arithmetic
        cost = np.multiply(iou_dist, 1.0 - appearance_weight)
        cost += appearance_weight * app_dist
        weak = app_dist > 0.5 * appearance_thresh
        if motion_gate is not None:
            weak |= ~_gate(motion_gate, bad & ~weak)
        bad &= weak
        bad |= app_dist > appearance_thresh
    else:
        cost = iou_dist.copy()
        if motion_gate is not None:
            bad |= ~_gate(motion_gate, ~bad)
    cost[bad] = INFEASIBLE
    return cost


def _gate(motion_gate: np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray], decides: np.ndarray) -> np.ndarray:
    """The ``(T, N)`` gate; a callable one is asked only for the pairs ``decides`` marks (True elsewhere)."""
    if not callable(motion_gate):
        return np.asarray(motion_gate, bool)
    gate = np.ones(decides.shape, bool)
    rows, cols = decides.nonzero()
    if len(rows):
        gate[rows, cols] = motion_gate(rows, cols)
    return gate


def linear_assignment(cost: np.ndarray, thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one assignment (scipy's Jonker-Volgenant variant) keeping only pairs with cost <=
    ``thresh``. Unlike ``lap.lapjv``, scipy's solver takes rectangular matrices as they are and has almost no
    per-call cost on the small matrices of a tracker's later association stages (1-2 us against 18 us here).

    Returns ``(matches, unmatched_a, unmatched_b)``: ``matches`` is ``(K, 2)`` int64 of (row, column) pairs sorted
    by row; the other two are int64 index arrays of rows and columns left without a partner. Works for empty and
    rectangular matrices. NaN costs are infeasible, ``-inf`` ones are taken first. Among exactly equal costs (e.g.
    the same box detected twice) the solver's choice is deterministic but arbitrary.
    """
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost: expected a 2-D matrix, got shape {cost.shape}")
    if not math.isfinite(thresh):
        raise ValueError(f"thresh: must be a finite number, got {thresh}")
    n_a, n_b = cost.shape
    if n_a == 0 or n_b == 0:
        return np.zeros((0, 2), np.int64), np.arange(n_a, dtype=np.int64), np.arange(n_b, dtype=np.int64)
    # Capping every cost just above the threshold is equivalent to a cost limit (a capped pair is worth no more
    # than leaving both ends unmatched); the test checks the result against lap's cost_limit.
    cap = thresh + 1e-6 + 1e-6 * abs(thresh)
    capped = np.minimum(cost, cap)
    # the solver takes finite costs: after the cap nothing is above it, so the smallest cost is NaN (infeasible;
    # the minimum propagates it) or -inf (as good as it gets) exactly when one is there
    if not capped.min() > -np.inf:
        nan = np.isnan(capped)
        cost = np.where(nan, INFEASIBLE, cost)
        capped[nan] = cap
        capped[np.isneginf(capped)] = -INFEASIBLE
    rows, cols = linear_sum_assignment(capped)
    keep = cost[rows, cols] <= thresh
    rows, cols = rows[keep], cols[keep]
    matches = np.empty((len(rows), 2), np.int64)
    matches[:, 0], matches[:, 1] = rows, cols
    free_a = np.ones(n_a, bool)
    free_a[rows] = False
    free_b = np.ones(n_b, bool)
    free_b[cols] = False
    return matches, free_a.nonzero()[0].astype(np.int64, copy=False), free_b.nonzero()[0].astype(np.int64, copy=False)
