"""Distances between tracklets for cross-camera linking, with the constraints that make some pairs impossible.

:func:`cross_distances` gives an ``(A, B)`` float64 matrix: the cosine distance between the tracklets' mean
appearances (``1 - cos``, in [0, 2]), or ``inf`` for pairs that may never share a global id:

- **same camera, overlapping in time**: one camera cannot see one person twice at the same moment (cannot-link);
- **same camera again** (re-entry): the distance of two tracklets of one camera that do not overlap is multiplied
  by ``same_camera_factor``. The camera's tracker already bridged the gaps it could with motion and appearance,
  so a pair it left apart needs much stronger evidence than a pair of two cameras; without this, look-alikes
  of one camera merge (measured on the samples' ``large`` scene with colour histograms: cross-camera IDF1 38 with
  factor 1, 61 with factor 10, per-camera IDF1 43 -> 75).
- **transit windows** (optional, per camera pair): tracklets of the two cameras that do not overlap in time must
  be ``min_s`` to ``max_s`` seconds apart (from the end of the earlier one to the start of the later one);
- **ground plane** (optional, cameras with a ground homography): for tracklets of two cameras seen at the same
  times, the median distance ``g`` between their ground positions (bottom centre of the box mapped through the
  camera's image-to-ground homography) must be at most ``max_ground_dist`` metres; within it, agreement lowers
  the appearance distance: ``d_app * (1 - ground_weight * (1 - g / max_ground_dist))``. This keeps two similarly
  dressed people seen at once in two places apart, and lets two views of one place agree on who is who. The
  median tolerates the frames where a box is cut by an occluder or the image border (its foot point is wrong).
- **walking speed** (optional, calibrated cameras sharing one ground frame, any two tracklets that do not overlap in
  time, same camera included): the straight-line distance from where the earlier tracklet ends to where the later
  one starts (median foot position of their first/last ``ends`` frames) must be coverable at ``max_speed`` m/s in
  the time between them, with ``max_ground_dist`` metres of slack for box and calibration errors. Paths are never
  shorter than the straight line, so a true match is never forbidden when ``max_speed`` is above how fast people
  really move.

Tracklets without appearance get appearance distance 1 (no evidence either way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..types import Tracklet

__all__ = [
    "Transit",
    "LinkConstraints",
    "load_ground_homography",
    "foot_points_to_ground",
    "TrackletTable",
    "candidate_pairs",
    "cross_distances",
    "pairwise_distances",
]


@dataclass(frozen=True)
class Transit:
    """Allowed gap in seconds between tracklets of cameras ``a`` and ``b`` (either direction)."""

    a: str
    b: str
    min_s: float = 0.0
    max_s: float = float("inf")

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise ValueError(f"a, b: a transit window joins two different cameras, got {self.a!r} twice")
        if not (0 <= self.min_s <= self.max_s):
            raise ValueError(f"min_s, max_s: need 0 <= min_s <= max_s, got {self.min_s}, {self.max_s}")


@dataclass(frozen=True)
class LinkConstraints:
    """The constraints on linking (see the module docstring).

    Args:
        transit: transit windows between camera pairs.
        homographies: ``{camera: (3, 3) image-to-ground homography}`` for calibrated cameras.
        max_ground_dist: metres; a larger median distance between simultaneous ground positions forbids a link.
            Larger values tolerate calibration and box errors, smaller ones separate people walking close together.
        ground_weight: how much perfect ground agreement lowers the appearance distance (0 = ground is only a
            veto, 0.5 = up to halved).
        max_speed: metres per second for the walking-speed check; ``inf`` switches it off.
        same_camera_factor: multiplies the distance of non-overlapping tracklets of one camera (>= 1; 1 treats
            re-entry like a camera change, larger values make it rarer).
        time_step: seconds; timestamps are matched on this grid when comparing positions (one frame period).
        min_common: simultaneous samples needed before ground positions are compared.
    """

    transit: tuple[Transit, ...] = ()
    homographies: Mapping[str, np.ndarray] = field(default_factory=dict)
    max_ground_dist: float = 2.0
    ground_weight: float = 0.5
    max_speed: float = 4.0
    same_camera_factor: float = 10.0
    time_step: float = 0.1
    min_common: int = 3

    def __post_init__(self) -> None:
        if not self.max_ground_dist > 0:
            raise ValueError(f"max_ground_dist: must be > 0, got {self.max_ground_dist}")
        if not 0 <= self.ground_weight <= 1:
            raise ValueError(f"ground_weight: must be in [0, 1], got {self.ground_weight}")
        if not self.same_camera_factor >= 1:
            raise ValueError(f"same_camera_factor: must be >= 1, got {self.same_camera_factor}")
        if not self.max_speed > 0:
            raise ValueError(f"max_speed: must be > 0, got {self.max_speed}")
        if not self.time_step > 0:
            raise ValueError(f"time_step: must be > 0, got {self.time_step}")
        if self.min_common < 1:
            raise ValueError(f"min_common: must be >= 1, got {self.min_common}")
        homs = {}
        for cam, h in self.homographies.items():
            h = np.asarray(h, np.float64)
            if h.shape != (3, 3) or not np.isfinite(h).all():
                raise ValueError(f"homographies: camera {cam!r}: expected a finite (3, 3) matrix, got {h.shape}")
            homs[str(cam)] = h
        object.__setattr__(self, "homographies", homs)
        object.__setattr__(self, "transit", tuple(self.transit))


def load_ground_homography(path: str | Path) -> np.ndarray:
    """The ``(3, 3)`` image-to-ground homography of a ``calib.json`` (key ``H_image_to_ground``, or the inverse of
    ``H_ground_to_image``), as written by ``mctrack samples make``."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: calibration file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not a JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a JSON object")
    try:
        if "H_image_to_ground" in data:
            h = np.asarray(data["H_image_to_ground"], np.float64)
        elif "H_ground_to_image" in data:
            h = np.linalg.inv(np.asarray(data["H_ground_to_image"], np.float64))
        else:
            raise InputError(f"{p}: no H_image_to_ground (or H_ground_to_image) homography")
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        raise InputError(f"{p}: bad homography: {exc}") from None
    if h.shape != (3, 3):
        raise InputError(f"{p}: homography must be a 3x3 matrix, got shape {h.shape}")
    if not np.isfinite(h).all():
        raise InputError(f"{p}: homography has non-finite entries (NaN/inf)")
    if np.linalg.matrix_rank(h) < 3:  # all zeros, or a plane squashed to a line: no ground positions from it
        raise InputError(f"{p}: homography is singular (rank {np.linalg.matrix_rank(h)}), not a mapping to the ground")
    return h


def foot_points_to_ground(xyxy: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """``(T, 2)`` ground positions of the boxes' bottom centres; NaN where the point maps to infinity (on the
    horizon line). Points above the horizon map to meaningless far positions; the median of the ground check
    ignores a few of them."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    pts = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3], np.ones(len(xyxy))], axis=1)
    g = pts @ np.asarray(homography, np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        out = g[:, :2] / g[:, 2:3]
    out[~(np.abs(g[:, 2]) > 1e-12)] = np.nan
    return out


@dataclass
class TrackletTable:
    """The per-tracklet facts :func:`cross_distances` reads, as arrays: ``mean (N, D)`` float32 unit appearances
    (zero rows where ``has`` is False), ``camera`` (object), ``first``/``last`` times. Built once for a set that
    is compared many times (an online linker's gallery) instead of re-stacking its tracklets on every call."""

    mean: np.ndarray
    has: np.ndarray
    camera: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @classmethod
    def of(cls, ts: Sequence[Tracklet], dim: int | None = None) -> TrackletTable:
        dims = {t.mean_embedding.shape[0] for t in ts if t.mean_embedding is not None}
        if len(dims) > 1:
            raise ValueError(f"tracklets: appearance dimensions differ: {sorted(dims)}")
        d = dims.pop() if dims else (dim or 1)
        m = np.zeros((len(ts), d), np.float32)
        has = np.zeros(len(ts), bool)
        for i, t in enumerate(ts):
            if t.mean_embedding is not None:
                m[i], has[i] = t.mean_embedding, True
        return cls(
            m,
            has,
            np.array([t.camera for t in ts], dtype=object),
            np.array([t.first_time for t in ts], np.float64),
            np.array([t.last_time for t in ts], np.float64),
        )

    def __len__(self) -> int:
        return len(self.has)


def _appearance(a: TrackletTable, b: TrackletTable, exact: bool = True) -> np.ndarray:
    if a.has.any() and b.has.any() and a.mean.shape[1] != b.mean.shape[1]:
        raise ValueError(f"tracklets: appearance dimensions differ: {a.mean.shape[1]} and {b.mean.shape[1]}")
    if a.mean.shape[1] != b.mean.shape[1]:
        return np.ones((len(a), len(b)))
    if exact:  # float64, as the offline linker has always computed it
        d = np.clip(1.0 - a.mean.astype(np.float64) @ b.mean.astype(np.float64).T, 0.0, 2.0)
    else:  # float32 products (an online gallery: no float64 copy of it per call)
        d = np.clip(1.0 - a.mean @ b.mean.T, 0.0, 2.0).astype(np.float64)
    d[~a.has, :] = 1.0
    d[:, ~b.has] = 1.0
    return d


def _ground_tracks(ts: Sequence[Tracklet], c: LinkConstraints) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per tracklet: (time-grid keys, ground positions), or None without a homography."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for t in ts:
        h = c.homographies.get(t.camera)
        if h is None:
            out.append(None)
            continue
        g = foot_points_to_ground(t.xyxy, h)
        keys = np.round(t.times / c.time_step).astype(np.int64)
        ok = np.isfinite(g).all(axis=1)
        keys, g = keys[ok], g[ok]
        keys, first = np.unique(keys, return_index=True)
        out.append((keys, g[first]))
    return out


def _end_positions(ts: Sequence[Tracklet], c: LinkConstraints, ends: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 2)`` start and end ground positions (median of the first/last ``ends`` valid foot points; NaN when
    uncalibrated or none is valid)."""
    start = np.full((len(ts), 2), np.nan)
    end = np.full((len(ts), 2), np.nan)
    for i, t in enumerate(ts):
        h = c.homographies.get(t.camera)
        if h is None:
            continue
        # the first and last valid ones: a track entering with its feet above the horizon (or cut by the frame's
        # edge) starts where its feet first reach the ground, not nowhere (its speed check was skipped)
        g = foot_points_to_ground(t.xyxy, h)
        g = g[np.isfinite(g).all(axis=1)]
        if len(g):
            start[i] = np.median(g[:ends], axis=0)
            end[i] = np.median(g[-ends:], axis=0)
    return start, end


def _ground_distance(
    ga: tuple[np.ndarray, np.ndarray], gb: tuple[np.ndarray, np.ndarray], c: LinkConstraints
) -> float | None:
    common, ia, ib = np.intersect1d(ga[0], gb[0], assume_unique=True, return_indices=True)
    if len(common) < c.min_common:
        return None
    return float(np.median(np.linalg.norm(ga[1][ia] - gb[1][ib], axis=1)))


def cross_distances(
    a: Sequence[Tracklet],
    b: Sequence[Tracklet],
    constraints: LinkConstraints | None = None,
    *,
    b_alive: np.ndarray | None = None,
    now: float | None = None,
    b_table: TrackletTable | None = None,
) -> np.ndarray:
    """``(len(a), len(b))`` linking distances with ``inf`` for forbidden pairs (see the module docstring).

    ``b_alive`` (with ``now``) marks tracklets of ``b`` that are still running at time ``now`` (an online linker's
    view): their end is taken to be ``now`` or later, so any tracklet of ``a`` that started by then overlaps them.
    ``b_table``: ``b``'s :class:`TrackletTable`, kept by a caller that compares one set many times (appearance is
    then computed in float32); ``b`` itself is then read only for calibrated cameras (positions).
    """
    c = constraints or LinkConstraints()
    n_b = len(b_table) if b_table is not None else len(b)
    if not len(a) or not n_b:
        return np.zeros((len(a), n_b))
    ta = TrackletTable.of(a)
    tb = b_table if b_table is not None else TrackletTable.of(b)
    d = _appearance(ta, tb, exact=b_table is None)
    cam_a, cam_b = ta.camera, tb.camera
    fa, la, fb, lb = ta.first, ta.last, tb.first, tb.last
    if b_alive is not None:
        if now is None:
            raise ValueError("now: needed with b_alive")
        lb = np.where(np.asarray(b_alive, bool), np.inf, lb)
    eps = 1e-9
    overlap = (fa[:, None] <= lb[None, :] + eps) & (fb[None, :] <= la[:, None] + eps)
    same = cam_a[:, None] == cam_b[None, :]
    d[same & ~overlap] *= c.same_camera_factor
    d[same & overlap] = np.inf
    if c.transit:
        gap = np.maximum(fb[None, :] - la[:, None], fa[:, None] - lb[None, :])  # > 0 when disjoint in time
        for w in c.transit:
            pair = ((cam_a[:, None] == w.a) & (cam_b[None, :] == w.b)) | (
                (cam_a[:, None] == w.b) & (cam_b[None, :] == w.a)
            )
            bad = pair & ~overlap & ((gap < w.min_s - eps) | (gap > w.max_s + eps))
            d[bad] = np.inf
    if c.homographies and np.isfinite(c.max_speed):
        sa, ea = _end_positions(a, c)
        sb, eb = _end_positions(b, c)
        a_first = fb[None, :] >= la[:, None]  # a ends before b starts (when they do not overlap)
        gap = np.where(a_first, fb[None, :] - la[:, None], fa[:, None] - lb[None, :])
        with np.errstate(invalid="ignore"):
            dist = np.where(
                a_first,
                np.linalg.norm(ea[:, None] - sb[None, :], axis=2),
                np.linalg.norm(eb[None, :] - sa[:, None], axis=2),
            )
            too_far = dist > c.max_speed * np.maximum(gap, 0) + c.max_ground_dist
        d[~overlap & too_far] = np.inf  # NaN distances (uncalibrated) compare False: not forbidden
    if c.homographies:
        calibrated_a = np.array([t.camera in c.homographies for t in a])
        calibrated_b = np.array([t.camera in c.homographies for t in b])
        check = overlap & ~same & calibrated_a[:, None] & calibrated_b[None, :] & np.isfinite(d)
        if check.any():
            rows, cols = np.nonzero(check)
            ua, ub = np.unique(rows), np.unique(cols)
            ga = dict(zip(ua.tolist(), _ground_tracks([a[i] for i in ua], c)))
            gb = dict(zip(ub.tolist(), _ground_tracks([b[j] for j in ub], c)))
            for i, j in zip(rows.tolist(), cols.tolist()):
                g = _ground_distance(ga[i], gb[j], c)  # type: ignore[arg-type]
                if g is None:
                    continue
                if g > c.max_ground_dist:
                    d[i, j] = np.inf
                else:
                    d[i, j] *= 1 - c.ground_weight * (1 - g / c.max_ground_dist)
    return d


def pairwise_distances(tracklets: Sequence[Tracklet], constraints: LinkConstraints | None = None) -> np.ndarray:
    """Symmetric ``(N, N)`` :func:`cross_distances` of the tracklets with themselves; the diagonal is 0."""
    d = cross_distances(tracklets, tracklets, constraints)
    d = np.minimum(d, d.T)  # exact symmetry (the ground check runs on both triangles)
    np.fill_diagonal(d, 0.0)
    return d


def candidate_pairs(
    tracklets: Sequence[Tracklet], thresh: float, constraints: LinkConstraints | None = None, *, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, whose :func:`cross_distances` may be at most ``thresh``; all others exceed it.

    Computed block by block from the mean appearances alone (float32, never an ``(N, N)`` matrix): the constraints
    only forbid pairs or make them farther, except ground agreement, which lowers a distance by at most the factor
    ``1 - ground_weight``, so a pair whose appearance distance exceeds ``thresh / (1 - ground_weight)`` (or
    ``thresh`` without calibration) can never be within ``thresh``. Tracklets without appearance count as distance
    1, as in :func:`cross_distances`.
    """
    c = constraints or LinkConstraints()
    n = len(tracklets)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    floor = 1.0 - c.ground_weight if c.homographies else 1.0
    bound = np.inf if floor <= 0 else thresh / floor + 1e-4  # slack for float32 rounding: only adds candidates
    table = TrackletTable.of(tracklets)
    m, has = table.mean, table.has
    rows, cols = [], []
    for a in range(0, n, block):
        d = 1.0 - m[a : a + block] @ m[a:].T  # this block against itself and every later tracklet
        d[~has[a : a + block], :] = 1.0
        d[:, ~has[a:]] = 1.0
        i, j = np.nonzero(d <= bound)
        keep = j > i  # upper triangle (j counts from a)
        rows.append(i[keep] + a)
        cols.append(j[keep] + a)
    return np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64)
