"""Constant-velocity Kalman filter for boxes, stateless and batched.

State ``x = (cx, cy, w, h, vcx, vcy, vw, vh)``: box centre, width and height in pixels and their velocities in
pixels per frame. Measurement ``z = (cx, cy, w, h)``. Every function takes and returns whole batches: ``mean``
is ``(T, 8)`` float64, ``cov`` is ``(T, 8, 8)`` float64; inputs are never mutated.

Noise is proportional to the box size (as in DeepSORT / BoT-SORT): a tall near person moves more pixels per
frame than a small far one, so its position is allowed more uncertainty. Horizontal terms scale with the width,
vertical terms with the height.

The prediction and the correction run as compiled loops (:mod:`mctrack.track.kernels`): at a tracker's batch
sizes numpy's per-call overhead, not the arithmetic, was their cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels

__all__ = ["BoxKalman", "warp_states", "check_warp", "xyxy_to_cxcywh", "cxcywh_to_xyxy", "CHI2_95", "CHI2_MEDIAN_4"]

#: 95% quantile of the chi-square distribution by degrees of freedom (DeepSORT's gating thresholds).
CHI2_95 = {1: 3.8415, 2: 5.9915, 3: 7.8147, 4: 9.4877}
#: Median of the chi-square distribution with 4 degrees of freedom: the median normalised innovation squared of
#: box measurements (cx, cy, w, h) when the filter's noise model is right.
CHI2_MEDIAN_4 = 3.3567

_OFF_BLOCKS4 = np.array([2, 3, 6, 7, 8, 9, 12, 13])  # a 4x4 matrix's entries outside its two 2x2 diagonal blocks
# the same entries of an 8x8 covariance's top-left 4x4 (H P H^T): rows 0-1 against columns 2-3 and back
_OFF_BLOCKS8 = np.array([2, 3, 10, 11, 16, 17, 24, 25])
# the compiled kernels' "none" arguments (they take arrays of one type each)
_ONE, _NO_ROWS, _NO_WARP, _NO_SCORES = np.ones(1), np.zeros(0, np.bool_), np.zeros((2, 3)), np.zeros(0)


def _per_track(a: np.ndarray, n: int, what: str) -> np.ndarray:
    """``a`` (rows) for ``n`` tracks: as it is with ``n`` rows, repeated when it has one, else a ``ValueError``."""
    if len(a) == n:
        return a
    if len(a) == 1:
        return np.repeat(a, n, axis=0)
    raise ValueError(f"update: {n} tracks but {len(a)} {what}")


def _states(mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mean`` ``(T, 8)`` and ``cov`` ``(T, 8, 8)`` as float64 C-contiguous arrays (no copy when they already are),
    else a ``ValueError``: the compiled kernels read them without bounds checks."""
    mean = kernels.as_array(mean)
    cov = kernels.as_array(cov)
    if mean.ndim != 2 or mean.shape[1] != 8 or cov.shape != (len(mean), 8, 8):
        raise ValueError(f"Kalman states: expected mean (T, 8) and cov (T, 8, 8), got {mean.shape} and {cov.shape}")
    return mean, cov


def warp_states(mean: np.ndarray, cov: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box states ``(T, 8)`` / ``(T, 8, 8)`` moved into the coordinates of a ``(2, 3)`` affine camera-motion
    ``warp`` (float64, finite): centres by the full affine map, centre velocities by its linear part, sizes and
    their velocities by its area scale (the square root of the absolute determinant). Returns new arrays."""
    mean, cov = _states(mean, cov)
    return kernels.propagate(mean, cov, check_warp(warp), True, _NO_ROWS, False, 0.0, 0.0, _ONE)


def check_warp(warp) -> np.ndarray:
    """``warp`` as a float64 C-contiguous ``(2, 3)`` affine matrix of finite numbers, else a ``ValueError`` saying what
    it is."""
    try:
        w = kernels.as_array(warp)
    except (TypeError, ValueError):
        raise ValueError(
            f"warp: expected a finite (2, 3) affine matrix, got {type(warp).__name__} {warp!r:.40}"
        ) from None
    if w.shape != (2, 3):
        raise ValueError(f"warp: expected a finite (2, 3) affine matrix, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"warp: expected a finite (2, 3) affine matrix, got one holding NaN or inf: {w.tolist()}")
    return w


def _inverse4(s: np.ndarray) -> np.ndarray:
    """Inverses of a ``(T, 4, 4)`` batch of innovation covariances.

    This filter never couples a box's centre with its size (noise, measurements and camera-motion warps treat
    them separately), so its innovation covariances are block-diagonal with two 2x2 blocks, inverted here in
    closed form on strided views: a few batched operations, against LAPACK's per-matrix calls that cost several
    times more at a tracker's batch sizes. Small batches too (the motion gate's few pairs): in isolation LAPACK
    is a little faster below about 24 matrices, but inside a tracker's frame its call costs 15-20 us against the
    closed form's 9 us. Any other matrix takes the general inverse.
    """
    n = len(s)
    flat = s.reshape(n, 16)
    if flat.take(_OFF_BLOCKS4, 1).any():
        return np.linalg.inv(s)
    # each block [[a, b], [c, d]]; the views hold the two blocks' entries side by side (entries 0 and 10, ...)
    a, b, c, d = flat[:, 0::10], flat[:, 1::10], flat[:, 4::10], flat[:, 5::10]
    inv_det = 1.0 / (a * d - b * c)
    out = np.zeros((n, 16))
    out[:, 0::10] = d * inv_det
    out[:, 1::10] = -b * inv_det
    out[:, 4::10] = -c * inv_det
    out[:, 5::10] = a * inv_det
    return out.reshape(n, 4, 4)


def xyxy_to_cxcywh(xyxy: np.ndarray) -> np.ndarray:
    """``(N, 4)`` (x1, y1, x2, y2) -> ``(N, 4)`` float64 (cx, cy, w, h)."""
    b = np.asarray(xyxy, np.float64).reshape(-1, 4)
    out = np.empty_like(b)
    out[:, 2:] = b[:, 2:] - b[:, :2]
    out[:, :2] = b[:, :2] + 0.5 * out[:, 2:]
    return out


def cxcywh_to_xyxy(cxcywh: np.ndarray) -> np.ndarray:
    """``(N, 4)`` (cx, cy, w, h) -> ``(N, 4)`` float64 (x1, y1, x2, y2)."""
    b = np.asarray(cxcywh, np.float64).reshape(-1, 4)
    half = 0.5 * b[:, 2:]
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)


@dataclass(frozen=True)
class BoxKalman:
    """Noise model of the constant-velocity box filter; the methods are pure functions of (mean, cov) batches.

    Args:
        std_position: process noise of position and size per frame, as a fraction of the box size. Larger values
            let a track follow sudden moves but make its prediction vaguer (wider gates, more id swaps).
        std_velocity: process noise of the velocities per frame, as a fraction of the box size. Larger values let
            a track change speed quickly; smaller values give straighter predictions through occlusions.
        std_measurement: detection noise, as a fraction of the box size. Larger values smooth the track more and
            trust each detection less.
        nsa: noise-scale-adaptive measurement noise (StrongSORT): the measurement noise of a detection with score
            ``s`` is scaled by ``1 - s`` (floored at 0.1), so confident detections pull the track harder.
    """

    std_position: float = 1.0 / 20.0
    std_velocity: float = 1.0 / 160.0
    std_measurement: float = 1.0 / 20.0
    nsa: bool = False

    def __post_init__(self) -> None:
        for name in ("std_position", "std_velocity", "std_measurement"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name}: must be a positive number, got {v}")

    @staticmethod
    def _scale(wh: np.ndarray) -> np.ndarray:
        """``(T, 4)`` per-dimension scale (w, h, w, h) of each box, floored at 1 pixel."""
        wh = np.maximum(wh, 1.0)
        return np.concatenate([wh, wh], axis=1)

    def initiate(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks from ``(T, 4)`` measurements (cx, cy, w, h): zero velocity, wide velocity uncertainty."""
        z = np.asarray(z, np.float64).reshape(-1, 4)
        mean = np.zeros((len(z), 8))
        mean[:, :4] = z
        s = self._scale(z[:, 2:])
        std = np.concatenate([2.0 * self.std_position * s, 10.0 * self.std_velocity * s], axis=1)
        cov = np.zeros((len(z), 8, 8))
        idx = np.arange(8)
        cov[:, idx, idx] = std**2
        return mean, cov

    def predict(
        self,
        mean: np.ndarray,
        cov: np.ndarray,
        noise_scale: float | np.ndarray | None = None,
        *,
        warp: np.ndarray | None = None,
        hold_size: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One frame ahead: ``x' = F x``, ``P' = F P F^T + Q``; ``noise_scale`` (a number or one per track)
        multiplies the process noise's variances ``Q``.

        ``warp``: a ``(2, 3)`` affine camera-motion map applied to the states first (:func:`warp_states`), so that
        the prediction lands in the current frame's coordinates. ``hold_size``: a boolean ``(T,)`` of the tracks
        whose size velocities are set to 0 first (a track coasting without detections keeps its size, as in
        ByteTrack)."""
        mean, cov = _states(mean, cov)
        n = len(mean)
        if noise_scale is None:
            scale = _ONE
        else:
            scale = kernels.as_array(noise_scale).reshape(-1)
            if len(scale) != 1 and len(scale) != n:
                raise ValueError(f"noise_scale: expected one value or {n}, got {len(scale)}")
        hold = _NO_ROWS if hold_size is None else np.array(hold_size, np.bool_).reshape(-1)
        if len(hold) not in (0, n):
            raise ValueError(f"hold_size: expected {n} flags, got {len(hold)}")
        w = _NO_WARP if warp is None else check_warp(warp)
        return kernels.propagate(
            mean, cov, w, warp is not None, hold, True, float(self.std_position), float(self.std_velocity), scale
        )

    def _add_measurement_var(
        self, s_cov: np.ndarray, mean: np.ndarray, score: np.ndarray | None, centre_scale: float = 1.0
    ) -> None:
        """Add the measurement noise ``R`` to the diagonal of the ``(T, 4, 4)`` ``s_cov`` in place; the centre's
        variances are multiplied by ``centre_scale``."""
        var = self.std_measurement * np.maximum(mean[:, 2:4], 1.0)  # (w, h) per track
        var *= var
        if self.nsa and score is not None:
            var *= np.maximum(1.0 - np.asarray(score, np.float64).reshape(-1, 1), 0.1) ** 2
        diag = s_cov.reshape(len(s_cov), 16)[:, ::5]  # a view of the diagonals: (cx, cy, w, h)
        diag[:, :2] += var if centre_scale == 1.0 else centre_scale * var
        diag[:, 2:] += var

    def project(
        self, mean: np.ndarray, cov: np.ndarray, score: np.ndarray | None = None, *, centre_scale: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted measurement ``(T, 4)`` and innovation covariance ``S = H P H^T + R`` ``(T, 4, 4)``;
        ``centre_scale`` multiplies the measurement noise variances of the box centre."""
        s_cov = cov[:, :4, :4].copy()
        self._add_measurement_var(s_cov, mean, score, centre_scale)
        return mean[:, :4].copy(), s_cov

    def update(
        self,
        mean: np.ndarray,
        cov: np.ndarray,
        z: np.ndarray,
        score: np.ndarray | None = None,
        *,
        return_nis: bool = False,
        return_centre: bool = False,
        centre_scale: float = 1.0,
    ) -> tuple[np.ndarray, ...]:
        """Correct track ``i`` with measurement ``z[i]`` ((cx, cy, w, h)); ``score`` is used only with ``nsa``;
        ``centre_scale`` multiplies the measurement noise variances of the box centre.

        Returns ``(mean, cov)``, followed with ``return_nis`` by each measurement's normalised innovation squared
        ``(z - Hx)^T S^-1 (z - Hx)`` ``(T,)`` (chi-square distributed with 4 degrees of freedom when the noise
        model is right) and with ``return_centre`` by the centre's standardised innovations ``(T, 2)``: each
        coordinate's innovation divided by its predicted standard deviation (white, unit-variance noise when the
        model is right).
        """
        mean, cov = _states(mean, cov)
        n = len(mean)
        if n == 0:
            return (
                (mean.copy(), cov.copy())
                + ((np.zeros(0),) if return_nis else ())
                + ((np.zeros((0, 2)),) if return_centre else ())
            )
        # one measurement (or score) for every track broadcasts, as numpy would
        z = _per_track(kernels.as_array(z).reshape(-1, 4), n, "measurements")
        nsa = bool(self.nsa) and score is not None
        s = _per_track(kernels.as_array(score).reshape(-1), n, "scores") if nsa else _NO_SCORES
        new_mean, new_cov, nis, centre, done = kernels.correct(
            mean, cov, z, s, nsa, float(self.std_measurement), float(centre_scale)
        )
        if done:
            out: tuple[np.ndarray, ...] = (new_mean, new_cov)
            return out + ((nis,) if return_nis else ()) + ((centre,) if return_centre else ())
        # a covariance that couples a box's centre with its size (not one this filter makes): the general inverse
        hp = cov[:, :4, :]  # H P
        s_cov = hp[:, :, :4].copy()  # S = H P H^T + R
        self._add_measurement_var(s_cov, mean, score, centre_scale)
        # K = P H^T S^-1, and since P and S are symmetric K^T = S^-1 (H P).
        s_inv = _inverse4(s_cov)
        k = (s_inv @ hp).transpose(0, 2, 1)
        innov = z - mean[:, :4]
        new_mean = mean + np.matmul(k, innov[:, :, None])[:, :, 0]
        new_cov = cov - k @ hp
        out = (new_mean, new_cov)
        if return_nis:
            out += ((np.matmul(s_inv, innov[:, :, None])[:, :, 0] * innov).sum(axis=1),)
        if return_centre:
            out += (innov[:, :2] / np.sqrt(s_cov.reshape(len(s_cov), 16)[:, 0:6:5]),)
        return out

    def pair_distance(self, mean: np.ndarray, cov: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``(K,)`` squared Mahalanobis distance between track ``i``'s predicted box and its own measurement
        ``z[i]``: the pairs' entries of :meth:`gating_distance` (compare with :data:`CHI2_95` ``[4]``), computed for
        those pairs alone. A tracker gates the few pairs that only the motion model can decide this way, instead of
        their tracks' whole rows."""
        z = np.asarray(z, np.float64).reshape(-1, 4)
        if len(mean) != len(z):
            raise ValueError(f"pair_distance: {len(mean)} tracks but {len(z)} measurements")
        if len(z) == 0:
            return np.zeros(0)
        n = len(z)
        flat = np.asarray(cov, np.float64).reshape(n, 64)
        diff = z - mean[:, :4]
        if flat.take(_OFF_BLOCKS8, 1).any():  # centre and size coupled: the general inverse
            proj, s_cov = self.project(mean, cov)
            diff = z - proj
            return (np.matmul(np.linalg.inv(s_cov), diff[:, :, None])[:, :, 0] * diff).sum(axis=1)
        # S = H P H^T + R is block-diagonal (centre, size): d^T S^-1 d per 2x2 block [[a, b], [c, d]] in closed
        # form, read from P's entries (0,0)/(2,2), (0,1)/(2,3), (1,0)/(3,2), (1,1)/(3,3) plus R's variances; a few
        # operations on (K, 2) arrays, against a copy, an inverse and a product for the few pairs of a frame
        var = self.std_measurement * np.maximum(mean[:, 2:4], 1.0)
        var *= var  # (w, h): R adds the width's variance to x and w, the height's to y and h
        a = flat[:, 0:19:18] + var[:, :1]
        d = flat[:, 9:28:18] + var[:, 1:]
        b, c = flat[:, 1:20:18], flat[:, 8:27:18]
        x, y = diff[:, 0::2], diff[:, 1::2]
        quad = (d * x * x - (b + c) * x * y + a * y * y) / (a * d - b * c)
        return quad[:, 0] + quad[:, 1]

    def gating_distance(
        self, mean: np.ndarray, cov: np.ndarray, z: np.ndarray, only_position: bool = False
    ) -> np.ndarray:
        """``(T, N)`` squared Mahalanobis distances between each track's predicted box and each measurement.

        Compare with :data:`CHI2_95` (4 dof, or 2 with ``only_position``) to gate implausible pairs.
        """
        z = np.asarray(z, np.float64).reshape(-1, 4)
        if len(mean) == 0 or len(z) == 0:
            return np.zeros((len(mean), len(z)))
        proj, s_cov = self.project(mean, cov)
        dims = 2 if only_position else 4
        s_inv = np.linalg.inv(s_cov[:, :dims, :dims]) if only_position else _inverse4(s_cov)
        diff = z[None, :, :dims] - proj[:, None, :dims]  # (T, N, d)
        # d^T S^-1 d as one batched product and a row sum (a three-operand einsum is several times slower)
        return (np.matmul(diff, s_inv) * diff).sum(axis=2)
