"""Compiled inner loops of a tracker's frame: the box filter's prediction (after a camera-motion warp) and
correction, and the box overlap matrix.

At a tracker's sizes (tens of tracks and detections per frame) these steps cost numpy's per-call overhead, not
arithmetic: each was a dozen or more small array operations of 1-5 us. Compiled with numba they are one call each
(``python benchmarks/tracker_bench.py``; docs/tracking.md, "Per-frame cost"). Every function takes float64
C-contiguous arrays (the callers in :mod:`mctrack.track.kalman` and :mod:`mctrack.track.matching` convert) and
returns new arrays; inputs are never changed.

numba compiles each function at its first call in an installation (a few seconds in all) and keeps the machine
code in ``__pycache__`` beside this file, or in numba's user cache folder where this folder is read-only; where
neither can be written, each process compiles again (about 6 s). Each combination of argument types is compiled
once: the callers pass one (float64 arrays that can be written, Python floats and bools).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["as_array", "warm", "iou", "propagate", "correct"]


def as_array(a) -> np.ndarray:
    """``a`` as the kernels take arrays: float64, C-contiguous and writeable (a read-only array is another argument
    type, which numba would compile again); no copy when it already is."""
    a = np.ascontiguousarray(a, np.float64)
    return a if a.flags.writeable else a.copy()


def _compiled(fn):
    """``fn`` compiled in nopython mode, its machine code cached between processes where a cache can be written;
    float division by zero gives inf or NaN, as in numpy (numba's default raises ZeroDivisionError)."""
    try:
        return numba.njit(cache=True, error_model="numpy")(fn)
    except RuntimeError:  # numba found no writable cache location: compiled once per process instead
        return numba.njit(error_model="numpy")(fn)


@_compiled
def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled (covered through iou_matrix)
    """``(A, B)`` intersection over union of xyxy boxes ``a`` ``(A, 4)`` and ``b`` ``(B, 4)``; 0 where the boxes do
    not overlap or the union is not positive (empty or inverted boxes, NaN coordinates)."""
    n_a, n_b = a.shape[0], b.shape[0]
    out = np.empty((n_a, n_b))
    for i in range(n_a):
        ax1, ay1, ax2, ay2 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
        area_a = (ax2 - ax1) * (ay2 - ay1)
        for j in range(n_b):
            w = min(ax2, b[j, 2]) - max(ax1, b[j, 0])
            h = min(ay2, b[j, 3]) - max(ay1, b[j, 1])
            out[i, j] = 0.0
            if w > 0.0 and h > 0.0:
                inter = w * h
                union = area_a + (b[j, 2] - b[j, 0]) * (b[j, 3] - b[j, 1]) - inter
                if union > 0.0:  # False for NaN: a pair with a NaN coordinate scores 0
                    out[i, j] = inter / union
    return out


@_compiled
def propagate(
    mean: np.ndarray,
    cov: np.ndarray,
    warp: np.ndarray,
    use_warp: bool,
    hold_size: np.ndarray,
    predict: bool,
    std_position: float,
    std_velocity: float,
    noise_scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled (covered through BoxKalman.predict)
    """Constant-velocity box states ``(T, 8)`` / ``(T, 8, 8)`` moved by the ``(2, 3)`` camera-motion ``warp`` (when
    ``use_warp``: centres by the affine map, centre velocities by its linear part, sizes and their velocities by
    its area scale), then, when ``predict``, one frame ahead: the size velocities of the rows ``hold_size`` (a
    boolean ``(T,)``, or empty for none) set to 0, ``x' = F x``, ``P' = F P F^T + Q`` with ``Q``'s variances
    (position ``std_position``, velocity ``std_velocity`` times the box's width or height, floored at 1 pixel)
    times ``noise_scale`` (one value, or one per row)."""
    n = mean.shape[0]
    new_mean = np.empty_like(mean)
    new_cov = np.empty_like(cov)
    # the warp as an 8x8 matrix with at most two entries per row: state i = w0[i] x[i0[i]] + w1[i] x[i1[i]]
    i0 = np.arange(8)
    i1 = np.arange(8)
    w0 = np.ones(8)
    w1 = np.zeros(8)
    tx = ty = 0.0
    if use_warp:
        scale = math.sqrt(abs(warp[0, 0] * warp[1, 1] - warp[0, 1] * warp[1, 0]))
        for i in range(8):
            block = i // 2  # (centre, size, centre velocity, size velocity)
            if block == 0 or block == 2:
                r = i % 2
                i0[i], i1[i] = 2 * block, 2 * block + 1
                w0[i], w1[i] = warp[r, 0], warp[r, 1]
            else:
                w0[i] = scale
        tx, ty = warp[0, 2], warp[1, 2]
    tmp = np.empty((8, 8))
    for t in range(n):
        x = new_mean[t]
        p = new_cov[t]
        if use_warp:
            for i in range(8):  # x <- M x + (t, 0), P <- M P M^T
                x[i] = w0[i] * mean[t, i0[i]] + w1[i] * mean[t, i1[i]]
                for j in range(8):
                    tmp[i, j] = w0[i] * cov[t, i0[i], j] + w1[i] * cov[t, i1[i], j]
            for i in range(8):
                for j in range(8):
                    p[i, j] = tmp[i, i0[j]] * w0[j] + tmp[i, i1[j]] * w1[j]
            x[0] += tx
            x[1] += ty
        else:
            x[:] = mean[t]
            p[:, :] = cov[t]
        if not predict:
            continue
        # F = [[I, I], [0, I]]: F P F^T adds the velocity rows to the position rows, then the velocity columns to
        # the position columns
        qw, qh = max(x[2], 1.0), max(x[3], 1.0)
        if hold_size.shape[0] and hold_size[t]:
            x[6] = 0.0
            x[7] = 0.0
        for k in range(4):
            x[k] += x[k + 4]
        for i in range(4):
            for j in range(8):
                p[i, j] += p[i + 4, j]
        for i in range(8):
            for j in range(4):
                p[i, j] += p[i, j + 4]
        s = noise_scale[t] if noise_scale.shape[0] > 1 else noise_scale[0]
        pw, ph = std_position * qw, std_position * qh
        vw, vh = std_velocity * qw, std_velocity * qh
        pw, ph, vw, vh = pw * pw * s, ph * ph * s, vw * vw * s, vh * vh * s
        p[0, 0] += pw
        p[1, 1] += ph
        p[2, 2] += pw
        p[3, 3] += ph
        p[4, 4] += vw
        p[5, 5] += vh
        p[6, 6] += vw
        p[7, 7] += vh
    return new_mean, new_cov


@_compiled
def correct(
    mean: np.ndarray,
    cov: np.ndarray,
    z: np.ndarray,
    score: np.ndarray,
    nsa: bool,
    std_measurement: float,
    centre_scale: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:  # pragma: no cover - compiled (BoxKalman.update)
    """Kalman correction of states ``(T, 8)`` / ``(T, 8, 8)`` with box measurements ``z`` ``(T, 4)`` (cx, cy, w, h).

    The measurement noise's variances are ``(std_measurement x width or height)^2`` (floored at 1 pixel), times
    ``max(1 - score, 0.1)^2`` with ``nsa``, the centre's also times ``centre_scale``. Returns the new mean and
    covariance, each measurement's normalised innovation squared ``(T,)``, the centre's standardised innovations
    ``(T, 2)``, and True; or False (and unfinished arrays) as soon as a covariance couples a box's centre with its
    size, whose innovation covariance is not the two 2x2 blocks inverted here (the caller then takes the general
    inverse)."""
    n = mean.shape[0]
    new_mean = np.empty_like(mean)
    new_cov = np.empty_like(cov)
    nis = np.empty(n)
    centre = np.empty((n, 2))
    s = np.empty((4, 4))
    s_inv = np.zeros((4, 4))
    gain_t = np.empty((4, 8))  # K^T = S^-1 H P (P and S are symmetric)
    innov = np.empty(4)
    for t in range(n):
        p = cov[t]
        for i in range(4):
            for j in range(4):
                s[i, j] = p[i, j]
        for i in range(2):
            for j in range(2, 4):
                if s[i, j] != 0.0 or s[j, i] != 0.0:
                    return new_mean, new_cov, nis, centre, False
        var_w = std_measurement * max(mean[t, 2], 1.0)
        var_h = std_measurement * max(mean[t, 3], 1.0)
        var_w *= var_w
        var_h *= var_h
        if nsa:
            f = max(1.0 - score[t], 0.1) ** 2
            var_w *= f
            var_h *= f
        s[0, 0] += centre_scale * var_w
        s[1, 1] += centre_scale * var_h
        s[2, 2] += var_w
        s[3, 3] += var_h
        for o in (0, 2):  # each 2x2 block [[a, b], [c, d]] inverted in closed form
            a, b, c, d = s[o, o], s[o, o + 1], s[o + 1, o], s[o + 1, o + 1]
            inv_det = 1.0 / (a * d - b * c)
            s_inv[o, o], s_inv[o, o + 1] = d * inv_det, -b * inv_det
            s_inv[o + 1, o], s_inv[o + 1, o + 1] = -c * inv_det, a * inv_det
        for i in range(4):
            innov[i] = z[t, i] - mean[t, i]
            for j in range(8):
                acc = 0.0
                for k in range(4):
                    acc += s_inv[i, k] * p[k, j]
                gain_t[i, j] = acc
        for j in range(8):  # x + K y, P - K H P
            acc = 0.0
            for i in range(4):
                acc += gain_t[i, j] * innov[i]
            new_mean[t, j] = mean[t, j] + acc
            for m in range(8):
                acc = 0.0
                for i in range(4):
                    acc += gain_t[i, j] * p[i, m]
                new_cov[t, j, m] = p[j, m] - acc
        quad = 0.0
        for i in range(4):
            acc = 0.0
            for k in range(4):
                acc += s_inv[i, k] * innov[k]
            quad += acc * innov[i]
        nis[t] = quad
        centre[t, 0] = innov[0] / math.sqrt(s[0, 0])
        centre[t, 1] = innov[1] / math.sqrt(s[1, 1])
    return new_mean, new_cov, nis, centre, True


_WARM = [False]


def warm() -> None:
    """Compile every kernel now (or load it from the cache), with the argument types its callers pass, once per
    process: a tracker calls this when it is made, so that the compilation (about 6 s the first time in an
    installation, 0.16 s from the cache) is not paid by its first frame: a live stream's first frame, and the
    per-frame times ``mctrack track`` reports."""
    if _WARM[0]:
        return
    mean, cov, box = np.zeros((1, 8)), np.zeros((1, 8, 8)), np.zeros((1, 4))
    iou(box, box)
    propagate(mean, cov, np.zeros((2, 3)), True, np.zeros(1, np.bool_), True, 0.05, 0.01, np.ones(1))
    correct(mean, cov + np.eye(8), box, np.zeros(0), False, 0.05, 1.0)
    _WARM[0] = True
