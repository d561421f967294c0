"""Offline post-processing of finished tracks (applied to whole result files, never online).

``interpolate_gaps`` fills short gaps inside a track by linear interpolation of its box: a person missed by the
detector for a few frames (occlusion, motion blur) is then reported through the gap, as in ByteTrack's and
StrongSORT's offline "linear interpolation" step. It changes results only for recorded video, and is off unless
asked for (``mctrack track --interpolate N``).

With a moving camera every refinement works in *stabilised* coordinates (:func:`camera_frames`,
:func:`to_reference`): the camera-motion compensation's frame-to-frame warps are chained so that each frame's boxes
are mapped into the first frame's pixels, refined there, and mapped back. Smoothing a box over neighbouring frames
in image coordinates would otherwise average the camera's shake into the box (measured with a virtual shaking
camera on PETS09-S2L1, ``benchmarks/moving_camera.py``: HOTA 37.5 without smoothing, 30.3 with it in image
coordinates); a fixed camera's warps are identities and change nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..types import score_cut

MAX_SIGMA = 1000.0  # frames: far beyond any useful smoothing, and no overflow in the kernel's extent
#: how a track's detection scores are judged against the new-track threshold: by its ``first`` detection only
#: (online, the tracker's rule) or also by the ``mean`` of all its detections once tracking ended
#: (:func:`filter_tracks`)
TRACK_SCORES = ("first", "mean")
#: recorded video (whole files, the offline refinements on) tracked on motion alone: the tracker confirms a track
#: at its first match (``Tracker(min_hits=...)``), so that a young track competes for its person with the others
#: from the start, and the tracks are judged once tracking ended instead, by their mean score and by being seen
#: for at least ``RECORDED_MIN_TRACK_S`` seconds (:func:`refine`, all recorded video). ``mctrack track`` and the
#: benchmarks do so; with an embedder, on live streams and in ``mctrack run`` (detector output judged at a
#: new-track score of 0.6) the tracker keeps its online rule (``min_hits=2``): measured better there. Chosen
#: leave-one-sequence-out (docs/tracking.md, "Tracks confirmed at once, judged once tracking ended").
RECORDED_MIN_HITS = 1
RECORDED_MIN_TRACK_S = 0.5

__all__ = [
    "RECORDED_MIN_HITS",
    "RECORDED_MIN_TRACK_S",
    "TRACK_SCORES",
    "FeatureMeans",
    "StitchConfig",
    "backfill",
    "camera_frames",
    "filter_tracks",
    "judge_tracks",
    "judgement_warning",
    "from_reference",
    "gaussian_smooth",
    "adaptive_smooth",
    "interpolate_gaps",
    "min_track_rows",
    "refine",
    "stitch_frames",
    "stitch_tracklets",
    "to_reference",
]


def camera_frames(warps: dict[int, np.ndarray] | None, n_frames: int) -> np.ndarray | None:
    """``(n_frames, 3, 3)`` maps from each frame's pixels to the first frame's (0-based frame index), chained
    from ``warps`` (``{frame index: (2, 3) affine map from the previous frame's pixels to this one's}``, as camera-
    motion compensation gives them; a frame without one did not move). ``None`` when no warp moves anything (a
    fixed camera, or compensation off): the refinements then run on the boxes as they are."""
    if not warps:
        return None
    ident = np.eye(3)
    moving = {}
    for i, w in warps.items():
        m = np.vstack([np.asarray(w, np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
        if 0 < int(i) < n_frames and not np.allclose(m, ident, rtol=0, atol=1e-12):
            if not (np.isfinite(m).all() and abs(np.linalg.det(m[:2, :2])) > 1e-6):
                raise ValueError(f"camera-motion warp of frame {i} is not an invertible finite map: {w}")
            moving[int(i)] = m
    if not moving:
        return None
    g = np.empty((n_frames, 3, 3))
    g[0] = ident
    for i in range(1, n_frames):
        g[i] = g[i - 1] @ np.linalg.inv(moving[i]) if i in moving else g[i - 1]
    return g


def _map_boxes(rows: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """``rows`` with each box (columns 2-5, x y w h) taken through its frame's ``(3, 3)`` similarity map: the
    centre is mapped, width and height are scaled by the map's scale (a rotation is not applied to the box)."""
    out = rows.copy()
    if not len(rows):
        return out
    c = np.stack([rows[:, 2] + rows[:, 4] / 2, rows[:, 3] + rows[:, 5] / 2, np.ones(len(rows))], axis=1)
    mc = np.einsum("nij,nj->ni", maps, c)
    scale = np.sqrt(np.abs(np.linalg.det(maps[:, :2, :2])))
    w, h = rows[:, 4] * scale, rows[:, 5] * scale
    out[:, 2], out[:, 3], out[:, 4], out[:, 5] = mc[:, 0] - w / 2, mc[:, 1] - h / 2, w, h
    return out


def _frame_maps(rows: np.ndarray, frames: np.ndarray) -> np.ndarray:
    idx = rows[:, 0].astype(np.int64) - 1  # MOT rows are 1-based
    if len(idx) and idx.min() < 0:
        raise ValueError(f"rows of frame {idx.min() + 1}: MOT frames start at 1, the camera path's first frame")
    if len(idx) and idx.max() >= len(frames):
        raise ValueError(f"rows reach frame {idx.max() + 1}, beyond the {len(frames)} frames of the camera path")
    return frames[idx]


def to_reference(rows: np.ndarray, frames: np.ndarray | None) -> np.ndarray:
    """MOT rows (1-based frames) with their boxes in the first frame's pixels (``frames``: :func:`camera_frames`;
    ``None`` returns a copy)."""
    rows = np.asarray(rows, np.float64)
    return rows.copy() if frames is None else _map_boxes(rows, _frame_maps(rows, frames))


def from_reference(rows: np.ndarray, frames: np.ndarray | None) -> np.ndarray:
    """The inverse of :func:`to_reference`: boxes in the first frame's pixels back to their own frame's."""
    rows = np.asarray(rows, np.float64)
    return rows.copy() if frames is None else _map_boxes(rows, np.linalg.inv(_frame_maps(rows, frames)))


def backfill(rows: np.ndarray, tentative: np.ndarray | None) -> np.ndarray:
    """MOT rows ``rows`` with the rows of ``tentative`` (the tracker's unconfirmed matches, see
    :meth:`mctrack.track.Tracker.tentative`) of every track that ``rows`` has, sorted by frame then id.

    A track is reported only from its ``min_hits``-th match, so that a false positive seen once never becomes a
    track; afterwards its first frames are known to belong to a confirmed track and are added back. Tentative rows
    of tracks never confirmed (absent from ``rows``) are left out, as are any of a frame and id ``rows`` already
    has. The inputs are not modified."""
    rows = np.asarray(rows, np.float64)
    if tentative is None or not len(tentative):
        return rows
    tentative = np.asarray(tentative, np.float64)
    if tentative.ndim != 2 or tentative.shape[1] != rows.shape[1]:
        raise ValueError(f"tentative: expected ({rows.shape[1]}-column) MOT rows, got shape {tentative.shape}")
    extra = tentative[np.isin(tentative[:, 1], rows[:, 1])]
    if len(extra):  # never a second row for a frame and id
        key = lambda r: r[:, 0] * 2.0**32 + r[:, 1]  # noqa: E731 - frame and id as one number (both < 2^31)
        extra = extra[~np.isin(key(extra), key(rows))]
    out = np.concatenate([rows, extra])
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def filter_tracks(rows: np.ndarray, min_mean_score: float, min_rows: int = 0) -> np.ndarray:
    """MOT rows without the tracks whose mean detection score (column 7, over the track's rows) is below
    ``min_mean_score`` (0 keeps every track) or that have fewer than ``min_rows`` rows (0 or 1: no length limit).
    The input is not modified.

    A person tracked for a while is detected with a steadily high score; a false track rarely is, even when one of
    its boxes scored high enough to start it. Judging each track also by its mean score once tracking ended drops
    false tracks the tracker had to start online (measured in docs/tracking.md, "Judging a track by its mean
    score"). ``min_rows`` drops the few-frame tracks a tracker that confirms at the first match leaves behind
    (docs/tracking.md, "Tracks confirmed at once, judged once tracking ended")."""
    return judge_tracks(rows, min_mean_score, min_rows)[0]


def judge_tracks(
    rows: np.ndarray, min_mean_score: float, min_rows: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`filter_tracks` that also says what it dropped: ``(kept rows, ids of the weak tracks, ids of the
    short ones)``; a track that is both is counted weak."""
    rows = np.asarray(rows, np.float64)
    if not (np.isfinite(min_mean_score) and 0 <= min_mean_score <= 1e6):
        raise ValueError(f"min_mean_score: must be a number >= 0, got {min_mean_score}")
    if int(min_rows) != min_rows or min_rows < 0:
        raise ValueError(f"min_rows: must be an integer >= 0, got {min_rows}")
    ids, inverse = np.unique(rows[:, 1] if len(rows) else np.zeros(0), return_inverse=True)
    n = np.bincount(inverse, minlength=len(ids))
    weak = np.zeros(len(ids), bool)  # a track that is both weak and short is counted weak
    if min_mean_score:
        mean = np.bincount(inverse, rows[:, 6] if len(rows) else None, minlength=len(ids)) / n
        # a track scoring exactly the threshold throughout is kept (score_cut), with a margin for the float64
        # rounding of the mean
        weak = mean < score_cut(min_mean_score) * (1 - 1e-12)
    short = ~weak & (n < min_rows)
    if not (weak.any() or short.any()):  # nothing to drop (also: no limits, or no rows): the rows as they came
        return rows, ids[weak], ids[short]
    return rows[~(weak | short)[inverse]], ids[weak], ids[short]


def judgement_warning(weak: int, short: int, total: int, min_mean_score: float, min_track_s: float) -> str | None:
    """The warning ``mctrack track`` and ``mctrack run`` give when the offline judgement (:func:`judge_tracks`)
    dropped more than half of a camera's ``total`` tracks (``weak`` below ``min_mean_score``, ``short`` seen for
    less than ``min_track_s`` seconds), naming the flag that keeps them; None when it dropped fewer."""
    dropped = weak + short
    if dropped <= total / 2 or not dropped:
        return None
    why, fix = [], []
    if weak:
        why.append(f"{weak} with a mean detection score below {min_mean_score:g}")
        fix.append(
            "if the detector's people score lower than that, lower --track-new (with --track-high, which it "
            "cannot go below) or pass --track-score first"
        )
    if short:
        why.append(f"{short} seen for less than {min_track_s:g} s")
        fix.append("if people are seen that briefly here, lower --min-length (0 = off)")
    return f"{dropped} of {total} tracks were dropped once tracking ended ({', '.join(why)}); {'; '.join(fix)}"


def min_track_rows(seconds: float, fps: float) -> int:
    """Rows a track needs to be seen for ``seconds`` at ``fps`` (at least 1): ``ceil(seconds * fps)``, so that a
    7 fps and a 30 fps camera ask for the same time."""
    if not (np.isfinite(seconds) and 0 <= seconds <= 3600):
        raise ValueError(f"min_track_s: must be in [0, 3600] seconds, got {seconds}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps: must be a finite number > 0, got {fps}")
    return max(1, int(np.ceil(seconds * fps - 1e-9)))


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


def _by_track(rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``[(track id, indices of its rows in frame order)]`` from one sort of ``rows``."""
    order = np.lexsort((rows[:, 0], rows[:, 1]))
    ids = rows[order, 1]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return [(int(ids[a]), order[a:b]) for a, b in zip(starts, np.r_[starts[1:], len(order)], strict=True)]


def gaussian_smooth(rows: np.ndarray, sigma: float) -> np.ndarray:
    """MOT rows with each track's box smoothed over time by a Gaussian kernel of ``sigma`` frames.

    The offline counterpart of StrongSORT's Gaussian-smoothed interpolation (GSI): every box is replaced by the
    kernel-weighted mean of its own track's boxes (centre and size separately), weights ``exp(-dt^2 / 2 sigma^2)``
    over the frames the track was reported in, so a gap is not smoothed across as if it were dense. Each box is
    the value at its frame of a kernel-weighted straight-line fit (local linear regression), so detector jitter
    (boxes that breathe from frame to frame) is averaged out while steady motion, also at a track's start and
    end, is not pulled back (a plain weighted mean lags there). ``sigma = 0`` returns the rows unchanged (sorted).
    """
    rows = np.asarray(rows, np.float64)
    if not (np.isfinite(sigma) and 0 <= sigma <= MAX_SIGMA):
        raise ValueError(f"sigma: must be in [0, {MAX_SIGMA:g}] frames, got {sigma}")
    if len(rows) == 0:
        return rows.copy()
    out = rows.copy()
    if sigma > 0:
        radius = max(1, int(np.ceil(3 * sigma)))
        for _, idx in _by_track(rows):
            t = rows[idx, 0]
            box = rows[idx, 2:6]
            z = np.stack([box[:, 0] + box[:, 2] / 2, box[:, 1] + box[:, 3] / 2, box[:, 2], box[:, 3]], axis=1)
            smooth = np.empty_like(z)
            for i0 in range(0, len(t), 512):  # blocks of rows against the frames within 3 sigma
                tb = t[i0 : i0 + 512]
                lo, hi = np.searchsorted(t, tb[0] - radius), np.searchsorted(t, tb[-1] + radius, "right")
                dt = t[None, lo:hi] - tb[:, None]
                w = np.exp(-0.5 * (dt / sigma) ** 2)
                # locally weighted linear fit at each frame: unbiased for constant velocity, also at the ends
                s0, s1, s2 = w.sum(1), (w * dt).sum(1), (w * dt**2).sum(1)
                m0, m1 = w @ z[lo:hi], (w * dt) @ z[lo:hi]
                det = s0 * s2 - s1**2
                ok = det > 1e-9 * np.maximum(s0 * s2, 1e-12)
                level = m0 / s0[:, None]
                level[ok] = (s2[ok, None] * m0[ok] - s1[ok, None] * m1[ok]) / det[ok, None]
                smooth[i0 : i0 + 512] = level
            # a fit never makes a box smaller than half its own detected size (a short, erratic track can
            # extrapolate a size to nothing)
            smooth[:, 2:4] = np.maximum(smooth[:, 2:4], 0.5 * z[:, 2:4])
            out[idx, 2] = smooth[:, 0] - smooth[:, 2] / 2
            out[idx, 3] = smooth[:, 1] - smooth[:, 3] / 2
            out[idx, 4:6] = smooth[:, 2:4]
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def adaptive_smooth(rows: np.ndarray, sigma: float, max_sigma: float, tolerance: float = 0.03) -> np.ndarray:
    """:func:`gaussian_smooth` with a strength per track: the largest sigma from ``max_sigma`` down to ``sigma`` (in
    steps of one frame) whose smoothed box centres stay within a median ``tolerance`` box heights of the track's
    own boxes, else ``sigma``.

    One sigma for every track is a compromise: long, smooth walks seen by a still camera gain from strong smoothing
    while tracks that turn or are shaken by a moving camera are bent away from where the person was. The residual
    of the smoothing itself tells the two apart without knowing the camera (measured in docs/tracking.md).
    """
    rows = np.asarray(rows, np.float64)
    if not (np.isfinite(max_sigma) and sigma <= max_sigma <= MAX_SIGMA):
        raise ValueError(f"max_sigma: must be in [sigma ({sigma:g}), {MAX_SIGMA:g}] frames, got {max_sigma}")
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance: must be a number >= 0 (box heights), got {tolerance}")
    if len(rows) == 0 or max_sigma == sigma:
        return gaussian_smooth(rows, sigma)
    candidates = np.arange(max_sigma, sigma, -1.0)
    out = []
    for _, idx in _by_track(rows):
        track = rows[idx]
        centre = track[:, 2:4] + track[:, 4:6] / 2
        height = np.maximum(track[:, 5], 1.0)
        chosen = None
        for sg in candidates:
            smoothed = gaussian_smooth(track, float(sg))  # one track: rows stay in frame order
            moved = np.linalg.norm(smoothed[:, 2:4] + smoothed[:, 4:6] / 2 - centre, axis=1) / height
            if np.median(moved) <= tolerance:
                chosen = smoothed
                break
        out.append(chosen if chosen is not None else gaussian_smooth(track, sigma))
    out_rows = np.concatenate(out)
    return out_rows[np.lexsort((out_rows[:, 1], out_rows[:, 0]))]


@dataclass(frozen=True)
class StitchConfig:
    """Limits of within-camera tracklet stitching (see :func:`stitch_tracklets`).

    ``max_gap``: most frames between one tracklet's last row and the next one's first (0: none joined);
    ``max_motion``: gate on the motion error, in box heights, of a predicted position (grows with the square root of
    the gap in seconds, see ``stitch_tracklets``); ``max_size``: gate on ``|log(h_b / h_a)|``; ``max_appearance``:
    gate on the cosine distance of the two tracklets' mean features (when given); ``appearance_weight``: weight of
    that distance in the cost next to the motion error; ``fit_frames``: rows at each end used to fit a constant
    velocity; ``negative_quantile``: the appearance gate is lowered to this quantile of the distances between tracks
    seen at the same time (certainly different people), so an embedder that cannot tell this video's people apart
    joins little (``None``: the fixed gate only).
    """

    max_gap: int = 60
    max_motion: float = 1.0
    max_size: float = 0.4
    max_appearance: float = 0.4
    appearance_weight: float = 1.0
    fit_frames: int = 15
    negative_quantile: float | None = 0.05

    @classmethod
    def window(cls, seconds: float, fps: float, **kwargs) -> StitchConfig:
        """The limits for joining tracks up to ``seconds`` apart in a stream of ``fps`` frames per second
        (:func:`stitch_frames`: a window under half a frame joins nothing)."""
        return cls(max_gap=stitch_frames(seconds, fps), **kwargs)

    def __post_init__(self) -> None:
        if not 0 <= int(self.max_gap) <= 10**7:
            raise ValueError(f"max_gap: must be >= 0 (0 joins nothing), got {self.max_gap}")
        if not 1 <= int(self.fit_frames) <= 10**7:
            raise ValueError(f"fit_frames: must be >= 1, got {self.fit_frames}")
        if self.negative_quantile is not None and not 0 <= self.negative_quantile <= 1:
            raise ValueError(f"negative_quantile: must be in [0, 1] or None, got {self.negative_quantile}")
        for name in ("max_motion", "max_size", "max_appearance", "appearance_weight"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: must be >= 0, got {value}")


def stitch_frames(seconds: float, fps: float) -> int:
    """Frames in a stitching window of ``seconds`` at ``fps``, rounded to the nearest whole frame, halves up (a
    track's next frame is ``1 / fps`` seconds after its last one, so 0, for a window under half a frame, joins
    nothing; callers say so, naming their camera and option)."""
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"stitching window: fps must be a finite number > 0, got {fps}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"stitching window: seconds must be a finite number >= 0, got {seconds}")
    return int(math.floor(seconds * fps + 0.5))  # half a frame up (Python's round takes 0.5 to 0)


def _end_state(t: np.ndarray, z: np.ndarray, n: int, at_end: bool) -> tuple[float, np.ndarray, np.ndarray]:
    """(frame, centre+height, velocity per frame) at one end of a tracklet, from a line fitted to ``n`` rows."""
    sel = slice(-n, None) if at_end else slice(0, n)
    tt, zz = t[sel], z[sel]
    t0 = tt[-1] if at_end else tt[0]
    if len(tt) < 2 or tt[-1] == tt[0]:
        return float(t0), zz[-1 if at_end else 0], np.zeros(3)
    dt = tt - tt.mean()
    slope = (dt[:, None] * (zz - zz.mean(0))).sum(0) / (dt**2).sum()
    return float(t0), zz.mean(0) + slope * (t0 - tt.mean()), slope


def _negative_gate(span: dict[int, tuple[float, float]], features: dict[int, np.ndarray], q: float) -> float:
    """The ``q`` quantile of cosine distances between the mean features of tracks that overlap in time (two
    people seen at once; ``span``: first and last frame per track); ``inf`` with fewer than 10 such pairs."""
    ids = [t for t in span if t in features]
    if len(ids) < 2:
        return float("inf")
    first = np.array([span[t][0] for t in ids])
    last = np.array([span[t][1] for t in ids])
    overlap = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    iu = np.triu_indices(len(ids), 1)
    pairs = overlap[iu]
    if pairs.sum() < 10:
        return float("inf")
    m = np.stack([features[t] for t in ids])
    d = 1.0 - (m @ m.T)[iu][pairs]
    return float(np.quantile(d, q))


def stitch_tracklets(
    rows: np.ndarray,
    fps: float,
    config: StitchConfig = StitchConfig(),
    features: dict[int, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[int, int]]:
    """Join a camera's fragmented tracks offline: ``(rows with merged ids, {old id: new id})``.

    A track that ends and another that starts up to ``max_gap`` frames later are the same person when the first
    one's constant-velocity extrapolation lands near the second one's start and the second's backward
    extrapolation near the first one's end (error in box heights, averaged over both directions, gated at
    ``max_motion * sqrt(1 + gap / fps)``), their heights agree, and, with ``features`` (``{track id: unit
    mean feature}``, centred as the tracker's), their cosine distance is within ``max_appearance`` and within
    the ``negative_quantile`` of the distances between tracks seen at the same time. Ends and
    starts are matched one to one by the Hungarian algorithm on ``motion error + appearance_weight * cosine
    distance``; matched pairs are chained (a -> b -> c) and every chain takes its first track's id. Tracks that
    overlap in time are never joined. This is the cross-camera linker's idea (time window, motion, appearance)
    applied within one camera, after the online tracker gave up on a person (occlusion longer than
    ``max_lost_s``).
    """
    from scipy.optimize import linear_sum_assignment

    rows = np.asarray(rows, np.float64)
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps: must be > 0, got {fps}")
    if len(rows) == 0:
        return rows.copy(), {}
    tracks = _by_track(rows)
    ids = np.array([tid for tid, _ in tracks])
    ends = []  # per track: (state at its end, state at its start), each (frame, centre + height, velocity)
    for _, idx in tracks:
        r = rows[idx]
        z = np.stack([r[:, 2] + r[:, 4] / 2, r[:, 3] + r[:, 5] / 2, r[:, 5]], axis=1)
        n = min(config.fit_frames, len(r))
        ends.append((_end_state(r[:, 0], z, n, True), _end_state(r[:, 0], z, n, False)))
    gate = config.max_appearance
    if features is not None and config.negative_quantile is not None:
        span = {tid: (rows[idx[0], 0], rows[idx[-1], 0]) for tid, idx in tracks}
        gate = min(gate, _negative_gate(span, features, config.negative_quantile))
    big = 1e6
    cost = np.full((len(ids), len(ids)), big)
    last = np.array([e[0][0] for e in ends])
    first = np.array([e[1][0] for e in ends])
    gaps = first[None, :] - last[:, None]  # frames from the end of i to the start of j
    for i, j in zip(*np.nonzero((gaps >= 1) & (gaps <= config.max_gap)), strict=True):
        (_, za, va), _ = ends[i]
        _, (_, zb, vb) = ends[j]
        gap = gaps[i, j]
        h = 0.5 * (za[2] + zb[2])
        if h <= 0 or abs(np.log(max(zb[2], 1e-6) / max(za[2], 1e-6))) > config.max_size:
            continue
        fwd = np.hypot(*(za[:2] + va[:2] * gap - zb[:2])) / h
        bwd = np.hypot(*(zb[:2] - vb[:2] * gap - za[:2])) / h
        motion = 0.5 * (fwd + bwd)
        if motion > config.max_motion * np.sqrt(1 + gap / fps):
            continue
        c = motion
        a, b = int(ids[i]), int(ids[j])
        if features is not None and a in features and b in features:
            d = 1.0 - float(np.dot(features[a], features[b]))
            if d > gate:
                continue
            c += config.appearance_weight * d
        cost[i, j] = c
    r_idx, c_idx = linear_sum_assignment(cost)
    nxt = {int(ids[i]): int(ids[j]) for i, j in zip(r_idx, c_idx, strict=True) if cost[i, j] < big}
    mapping: dict[int, int] = {}
    heads = set(nxt) - set(nxt.values())
    for head in heads:
        cur = head
        while cur in nxt:
            cur = nxt[cur]
            mapping[cur] = head
    out = rows.copy()
    if mapping:
        out[:, 1] = [mapping.get(int(t), int(t)) for t in rows[:, 1]]
    return out[np.lexsort((out[:, 1], out[:, 0]))], mapping


class FeatureMeans:
    """Running per-track mean of unit features (the appearance summary :func:`stitch_tracklets` takes)."""

    def __init__(self) -> None:
        self._sum: dict[int, np.ndarray] = {}

    def add(self, track_ids: np.ndarray, embeddings: np.ndarray) -> None:
        """Adds one frame's rows; NaN rows (tracks not matched to a detection) and empty features are skipped."""
        if embeddings.ndim != 2 or embeddings.shape[1] == 0:
            return
        for tid, e in zip(track_ids, embeddings, strict=True):
            if np.isfinite(e).all():
                key = int(tid)
                self._sum[key] = self._sum[key] + e if key in self._sum else e.astype(np.float64)

    def means(self) -> dict[int, np.ndarray]:
        """``{track id: unit mean feature}``."""
        return {k: v / max(float(np.linalg.norm(v)), 1e-12) for k, v in self._sum.items()}


def _n_tracks(rows: np.ndarray) -> int:
    return len(np.unique(rows[:, 1])) if len(rows) else 0


def refine(
    rows: np.ndarray,
    fps: float,
    *,
    stitch: StitchConfig | None = None,
    features: dict[int, np.ndarray] | None = None,
    interpolate: int = 0,
    smooth: float = 0.0,
    warps: dict[int, np.ndarray] | None = None,
    n_frames: int | None = None,
    smooth_max: float = 0.0,
    smooth_tol: float = 0.03,
    tentative: np.ndarray | None = None,
    min_track_score: float = 0.0,
    min_track_s: float = 0.0,
    counts: dict[str, int] | None = None,
) -> np.ndarray:
    """The offline refinements in their order: add the confirmed tracks' first frames (``tentative``: the
    tracker's unconfirmed rows, :func:`backfill`), stitch tracklets, drop the tracks whose mean detection score is
    below ``min_track_score`` or that were seen in fewer frames than ``min_track_s`` seconds hold
    (:func:`filter_tracks`, :func:`min_track_rows`; a stitched chain is judged whole, so that a weak or short
    fragment between two parts of a person is kept), fill gaps, smooth boxes (each off by default).

    ``smooth_max`` (at least ``smooth``): each track's smoothing strength is chosen between the two by
    :func:`adaptive_smooth` (``smooth_tol`` box heights); 0 = one strength, ``smooth``, for every track.

    ``warps``: the camera-motion compensation's ``{0-based frame index: (2, 3) warp}`` of a moving camera; the
    refinements then run in stabilised coordinates (module docstring). ``n_frames``: frames of the camera (default:
    the last row's frame or the last warp's, whichever is later). ``counts``, when given, is told how many rows were
    ``backfilled`` (of the tracks kept in the end), tracks ``stitched`` into an earlier one, ``weak`` tracks
    dropped (mean score) and ``short`` tracks dropped (of those left)."""
    counts = {} if counts is None else counts
    before = np.unique(np.asarray(rows)[:, 1], return_counts=True)[1] if len(rows) else np.zeros(0, np.int64)
    rows = backfill(rows, tentative)
    ids, after = np.unique(rows[:, 1], return_counts=True) if len(rows) else (np.zeros(0), np.zeros(0, np.int64))
    added = dict(zip(ids.astype(np.int64).tolist(), (after - before).tolist()))  # backfill adds rows, not ids

    def count_backfilled(kept: np.ndarray, mapping: dict[int, int]) -> int:  # of the tracks that are kept
        alive = set(np.unique(kept[:, 1]).astype(np.int64).tolist()) if len(kept) else set()
        return sum(n for tid, n in added.items() if mapping.get(tid, tid) in alive)

    min_rows = min_track_rows(min_track_s, fps) if min_track_s else 0

    def judge(rows: np.ndarray) -> np.ndarray:  # weak tracks, then short ones, counted apart
        kept, weak, short = judge_tracks(rows, min_track_score, min_rows)
        counts["weak"], counts["short"] = len(weak), len(short)
        return kept

    n_ids = _n_tracks(rows)
    counts["stitched"] = counts["weak"] = counts["short"] = 0
    if not (stitch is not None or interpolate or smooth or smooth_max):
        kept = judge(rows)
        counts["backfilled"] = count_backfilled(kept, {})
        return kept
    last = max(int(rows[:, 0].max()) if len(rows) else 0, max(warps, default=-1) + 1 if warps else 0)
    frames = camera_frames(warps, max(n_frames or 0, last))
    rows = to_reference(rows, frames)
    mapping: dict[int, int] = {}
    if stitch is not None:
        rows, mapping = stitch_tracklets(rows, fps, stitch, features)
    counts["stitched"] = n_ids - _n_tracks(rows)
    rows = judge(rows)  # a stitched chain is judged whole
    counts["backfilled"] = count_backfilled(rows, mapping)
    if interpolate:
        rows = interpolate_gaps(rows, interpolate)
    if smooth_max:
        rows = adaptive_smooth(rows, smooth, smooth_max, smooth_tol)
    elif smooth:
        rows = gaussian_smooth(rows, smooth)
    return from_reference(rows, frames)
