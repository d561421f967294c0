"""The project's per-camera tracker: Kalman prediction, two-stage association, appearance memory.

Association per frame (ByteTrack-style, with BoT-SORT-style appearance fusion):

1. Every track is predicted one frame ahead (after camera-motion compensation when a warp is given).
2. Confirmed and lost tracks are matched to the **high-score** detections on a fused IoU + appearance cost.
3. Confirmed tracks still unmatched are matched to the **low-score** detections on IoU alone (a low score is
   usually an occluded person; its appearance is unreliable, its position is not).
4. Tentative tracks are matched to the high-score detections that are left.
5. High-score detections still left, above ``new_track_thresh``, start tentative tracks.

Track life cycle: tentative -> confirmed after ``min_hits`` consecutive matches (a tentative track missed once
is dropped); confirmed -> lost when missed; lost -> confirmed when matched again; lost -> removed after
``max_lost_s`` seconds without a match. Only confirmed tracks matched in the current frame are reported
(:meth:`Tracker.tentative` gives the unconfirmed matches, which recorded video adds back offline for the tracks
confirmed in the end: :func:`mctrack.track.postprocess.backfill`).

State is kept as arrays (one row per live track), so a frame costs a fixed number of batched numpy operations
however many tracks there are.
"""

from __future__ import annotations

import math
from types import MappingProxyType
import warnings
from enum import IntEnum

import numpy as np

from ..registry import TRACKERS
from ..types import Detections, Tracks, score_cut
from . import kernels
from .kalman import CHI2_95, CHI2_MEDIAN_4, BoxKalman, check_warp, cxcywh_to_xyxy, warp_states, xyxy_to_cxcywh
from .matching import cosine_distance, fuse_costs, iou_matrix, linear_assignment

__all__ = ["DETECTOR_THRESHOLDS", "Tracker", "TrackState", "apply_warp"]

_EMPTY = np.zeros(0, np.int64)
#: Score thresholds for a detector's own output (YOLO, the synthetic samples' detector), used by ``mctrack run``,
#: ``mctrack track --detector yolo`` and the supervision adapter. The tracker's defaults, 0.7 / 0.9, are set for
#: the MOT15 public detections (Faster R-CNN), whose people mostly score above 0.9; a detector's people often
#: score 0.5-0.9, and with 0.9 most of their tracks would never start or would be dropped by the mean-score
#: judgement (docs/run.md, docs/tracking.md "Detector calibration: scores shifted").
DETECTOR_THRESHOLDS = MappingProxyType({"high_thresh": 0.5, "new_track_thresh": 0.6})
_NOISE_SCALE_RANGE = (1.0 / 16.0, 16.0)  # the adapted process noise stays within these factors of the model's
# lag-1 correlation of the tracks' standardised centre innovations below which the boxes are taken to be noisier
# than the model says (``meas_adapt``): pooled over a sequence, the five MOT15 sequences' public detections give
# -0.12 to +0.48, the same detections with 5% box jitter -0.25 to -0.38 (one moving camera +0.14)
_RHO_TARGET = -0.15
_MEAS_SCALE_MAX = 16.0  # the adapted centre measurement variance stays within 1 to 16 times the model's
#: what a tracker's ``appearance_centre`` may be: features compared as given, or centred on the people beside each track
APPEARANCE_CENTRES = ("none", "scene")
# mean squared standardised innovation (1 when the model is right) below which a frame's pairs are not used
_MIN_INNOV_POWER = 1e-4


_NORMALISED_FRAMES = 3  # frames in a row with every box within 2 px of the corner before that is warned about


def _buffered(xyxy: np.ndarray, buffer: float) -> np.ndarray:
    """Boxes grown by ``buffer`` times their width/height on every side (C-BIoU's buffered IoU)."""
    pad = buffer * (xyxy[:, 2:] - xyxy[:, :2])
    return np.concatenate([xyxy[:, :2] - pad, xyxy[:, 2:] + pad], axis=1)


class TrackState(IntEnum):
    """Life-cycle states of a live track (removed tracks are forgotten)."""

    TENTATIVE = 0
    CONFIRMED = 1
    LOST = 2


# the states as plain ints for the per-frame code: comparing an array with an IntEnum member goes through the
# enum's attribute lookup every time, which costs more than the comparison itself
_TENTATIVE, _CONFIRMED, _LOST = int(TrackState.TENTATIVE), int(TrackState.CONFIRMED), int(TrackState.LOST)


def _unit_rows(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(features, has)``: the float32 rows ``emb`` made unit length (the cosine distances assume it: features
    scaled by 10 would be "identical" to everything), and which rows are features at all. A row with a NaN or
    infinity, or of zero length, is "not embedded": zeros, ``has`` False. Embedders give unit rows already; then
    this only checks their lengths."""
    sq = np.einsum("ij,ij->i", emb, emb)
    if not len(sq) or np.abs(sq - 1.0).max() <= 1e-4:  # NaN fails the test too
        return emb, np.ones(len(sq), bool)
    has = np.isfinite(sq) & (sq > 0)
    emb = np.where(has[:, None], emb, 0.0).astype(np.float32)
    emb /= np.sqrt(np.where(has, sq, 1.0), dtype=np.float32)[:, None]
    return emb, has


#: Kalman states moved into the current frame's coordinates by a ``(2, 3)`` affine camera-motion warp
#: (:func:`mctrack.track.kalman.warp_states`, under the name this module has always offered)
apply_warp = warp_states


class Tracker:
    """Single-camera multi-object tracker. ``update(dets, embeddings) -> Tracks`` once per frame; ``reset()``.

    Every instance numbers its own tracks from 1: two trackers never share state or id counters.

    Args:
        camera: camera id written into the returned ``Tracks``.
        frame_rate: frames per second of the stream; turns ``max_lost_s`` into frames.
        high_thresh: detections scoring at least this take part in the first (fused) association and may start
            tracks; lower values let more false positives into the main association.
        low_thresh: detections scoring below this are ignored entirely; those between ``low_thresh`` and
            ``high_thresh`` can only extend existing confirmed tracks (recovers occluded people without
            starting tracks on clutter).
        new_track_thresh: an unmatched detection needs at least this score to start a track; higher values give
            fewer false tracks but later starts.
        match_thresh: largest fused cost accepted in the first association (with IoU only: ``1 - IoU``, so 0.8
            means IoU >= 0.2). Higher values bridge faster motion but risk swaps between neighbours.
        low_match_thresh: largest ``1 - IoU`` accepted when matching low-score detections.
        tentative_match_thresh: largest cost accepted when extending tentative tracks.
        tentative_compete: tentative tracks take part in the first association with the confirmed and lost ones
            (at ``match_thresh``) instead of getting only the high-score detections those left (at
            ``tentative_match_thresh``); a tentative track missed once is still dropped. With ``min_hits`` 2 a
            person's young track then keeps its detections against an older track coasting nearby, while a one-off
            false positive still never becomes a reported track. No effect with ``min_hits`` 1 (no track is
            tentative). Measured in docs/tracking.md ("A second decision"); off by default.
        min_hits: consecutive matches before a track is confirmed and reported; 1 reports every detection that
            starts a track. Tracks born in the very first frame are confirmed at once.
        max_lost_s: seconds a lost track is kept (predicted by the motion model) waiting to be matched again;
            longer bridges longer occlusions but risks taking over someone else.
        min_box_area: detections smaller than this (pixels^2) are ignored. Boxes with zero, negative or NaN size
            are always dropped, with a warning.
        appearance_weight: weight of the appearance distance in the fused cost (0 = boxes only, 1 = appearance
            only); used only when embeddings are given.
        appearance_thresh: largest cosine distance between a track's memory and a detection that may still be
            matched; tighter values prevent swaps between differently dressed people but break tracks under
            lighting changes. Depends on the embedder.
        appearance_centre: ``"scene"`` compares a track's memory and a detection's feature after subtracting
            from both the mean feature of the people seen beside the track (every detection of the frames it
            lived in but its own match and those its predicted box overlapped enough to be matched on overlap)
            and renormalising: features that share a large component, as colour histograms of one scene's
            background and light do, are then told apart by what differs between the people instead of by what
            the scene gives them all (a form of the on-the-fly domain adaptation of GHOST, Seidenschwarz et al.
            2023). People seen at the same time as a track are not its person, so a track never centres on its
            own look: a person alone in view, or back alone, has no one beside them and is compared as given; so
            is a track whose memory lies within a person's own variation of their mean (twice the scene's mean
            distance of a matched memory from its new feature: people dressed alike, featureless frames). Memories
            stay as given (``Tracks.embedding``). ``"none"`` (default) compares the features as given: the trained
            networks' features are centred already, on their training crops' mean. Measured in docs/tracking.md
            ("Features centred on the scene").
        ema_alpha: appearance memory momentum: ``memory = alpha * memory + (1 - alpha) * new`` (renormalised).
            Higher values remember older looks longer and resist occluders' features.
        motion_gate: with appearance, a pair without enough box overlap may still match on appearance, but only
            if its squared Mahalanobis distance under the Kalman prediction is within the chi-square 95% quantile
            (4 dof; with ``noise_adapt``, the distance times the noise scale when that is above 1): appearance can
            then never pull a track across the image.
        fuse_score: multiply the IoU similarity by the detection score in the first association (ByteTrack's
            MOT17 setting): prefers confident boxes when several overlap a track.
        iou_buffer: grow predicted and detected boxes by this fraction of their size on each side before
            computing IoU for the high-score associations (buffered IoU, C-BIoU): 0 is plain IoU; larger values
            keep matching fast or erratic movers and low-frame-rate video where boxes of the same person no longer
            overlap, at the price of more ambiguity between close neighbours.
        output_box: ``"detection"`` reports the matched detection's box, ``"filtered"`` the Kalman-corrected box
            (smoother, lags a little on sudden moves).
        kalman: the box motion model (noise levels); default ``BoxKalman(std_velocity=1/80)``, twice ByteTrack's
            velocity noise, which follows the speed changes of low-frame-rate video better.
        noise_adapt: rate at which the process noise calibrates itself to the scene: an exponential average (this
            rate) of each frame's median normalised innovation squared of its matches, divided by its expected
            value under the model (the chi-square median, 3.36), scales every track's process noise. A moving
            camera or erratic motion raises it, smooth walkers in a fixed view lower it; 0 keeps the model's fixed
            noise. The scale stays within 1/16 to 16, and never widens the motion gate of appearance-only
            recoveries beyond the fixed model's (a wider gate let a good embedder take back the wrong people).
            Measured in docs/tracking.md ("Process noise that calibrates itself").
        meas_adapt: rate at which the measurement noise of box centres calibrates itself to the detector: a
            filter that believes jittery boxes over-follows them, and a track's consecutive innovations then
            alternate in sign. Each frame with at least two tracks matched in it and in the frame before, the
            correlation of those tracks' standardised centre innovations with their previous ones moves the
            centre's measurement variance by the factor ``exp(rate * (-0.15 - correlation))``: it grows while the
            correlation is below -0.15 and shrinks back above it, within 1 to 16 times the model's (never below
            it; frames whose innovations are far below their predicted spread are not used). It changes the
            Kalman updates (and so the predicted boxes), not the motion gate of appearance-only recoveries.
            0 keeps the model's fixed noise. Measured in docs/tracking.md ("Measurement noise that calibrates
            itself").

    The defaults were chosen on the five MOT15 training sequences with their public (Faster R-CNN) detections,
    see ``benchmarks/mot15.py`` and ``docs/tracking.md``; score thresholds depend on the detector's calibration.
    """

    def __init__(
        self,
        *,
        camera: str = "0",
        frame_rate: float = 30.0,
        high_thresh: float = 0.7,
        low_thresh: float = 0.1,
        new_track_thresh: float = 0.9,
        match_thresh: float = 0.8,
        low_match_thresh: float = 0.5,
        tentative_match_thresh: float = 0.7,
        tentative_compete: bool = False,
        min_hits: int = 2,
        max_lost_s: float = 1.5,
        min_box_area: float = 0.0,
        appearance_weight: float = 0.5,
        appearance_thresh: float = 0.25,
        appearance_centre: str = "none",
        ema_alpha: float = 0.9,
        motion_gate: bool = True,
        fuse_score: bool = False,
        iou_buffer: float = 0.0,
        output_box: str = "filtered",
        kalman: BoxKalman | None = None,
        noise_adapt: float = 0.05,
        meas_adapt: float = 0.2,
    ) -> None:
        def check(name: str, value: float, lo: float, hi: float) -> None:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name}: expected a number in [{lo}, {hi}], got {type(value).__name__} {value!r}")
            if not (np.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name}: must be in [{lo}, {hi}], got {value}")

        check("frame_rate", frame_rate, 1e-3, 1e4)
        for name, v in (
            ("high_thresh", high_thresh),
            ("low_thresh", low_thresh),
            ("new_track_thresh", new_track_thresh),
            ("appearance_weight", appearance_weight),
            ("ema_alpha", ema_alpha),
            ("noise_adapt", noise_adapt),
        ):
            check(name, v, 0.0, 1.0)
        for name, v in (
            ("match_thresh", match_thresh),
            ("low_match_thresh", low_match_thresh),
            ("tentative_match_thresh", tentative_match_thresh),
            ("appearance_thresh", appearance_thresh),
        ):
            check(name, v, 0.0, 2.0)
        check("meas_adapt", meas_adapt, 0.0, 10.0)
        check("max_lost_s", max_lost_s, 0.0, 1e6)
        check("iou_buffer", iou_buffer, 0.0, 10.0)
        check("min_box_area", min_box_area, 0.0, 1e12)
        if low_thresh > high_thresh:
            raise ValueError(f"low_thresh: must be <= high_thresh ({high_thresh}), got {low_thresh}")
        if int(min_hits) != min_hits or min_hits < 1:
            raise ValueError(f"min_hits: must be an integer >= 1, got {min_hits}")
        if appearance_centre not in APPEARANCE_CENTRES:
            raise ValueError(f"appearance_centre: must be 'none' or 'scene', got {appearance_centre!r}")
        if output_box not in ("detection", "filtered"):
            raise ValueError(f"output_box: must be 'detection' or 'filtered', got {output_box!r}")
        self.camera = str(camera)
        self.frame_rate = float(frame_rate)
        self.high_thresh, self.low_thresh, self.new_track_thresh = high_thresh, low_thresh, new_track_thresh
        self.match_thresh, self.low_match_thresh = match_thresh, low_match_thresh
        self.tentative_match_thresh = tentative_match_thresh
        self.tentative_compete = bool(tentative_compete)
        self.min_hits = int(min_hits)
        self.max_lost_s = float(max_lost_s)
        self.min_box_area = float(min_box_area)
        self.appearance_weight, self.appearance_thresh = appearance_weight, appearance_thresh
        self._appearance_centre = appearance_centre
        self.ema_alpha = ema_alpha
        self.motion_gate = bool(motion_gate)
        self.fuse_score = bool(fuse_score)
        self.iou_buffer = float(iou_buffer)
        self.output_box = output_box
        self.kalman = kalman or BoxKalman(std_velocity=1.0 / 80.0)
        self.noise_adapt = float(noise_adapt)
        self.meas_adapt = float(meas_adapt)
        kernels.warm()  # compiled now, not in the first frame
        self.reset()

    def settings(self, appearance: bool = True) -> dict:
        """The tracker's settings as resolved (every keyword of the constructor but ``camera`` and ``kalman``), for
        a run's record: ``Tracker(camera=..., **settings())`` tracks the same way. ``appearance=False``: without the
        appearance settings (a motion-only run, where they play no part)."""
        names = [n for n in Tracker.__init__.__kwdefaults__ if n not in ("camera", "kalman")]
        return {n: getattr(self, n) for n in names if appearance or not n.startswith("appearance_")}

    @property
    def appearance_centre(self) -> str:
        """What features are centred on before they are compared (fixed at construction: the tracker keeps what
        ``"scene"`` needs only when asked for it)."""
        return self._appearance_centre

    @property
    def max_age(self) -> int:
        """Frames a lost track survives without a match (``max_lost_s`` at ``frame_rate``, at least 1)."""
        return max(1, int(round(self.max_lost_s * self.frame_rate)))

    def reset(self) -> None:
        """Forget every track and restart ids at 1 (e.g. for a new video)."""
        self._next_id = 1
        self._frame = -1
        self.dropped = 0  # detections dropped for a degenerate box or score since the last reset
        # frames in a row whose every box lay within 2 px of the corner (boxes normalised to 0-1?); -1 once said
        self._normalised_frames = 0
        self._mean = np.zeros((0, 8))
        self._cov = np.zeros((0, 8, 8))
        self._id = np.zeros(0, np.int64)
        self._state = np.zeros(0, np.int8)
        self._hits = np.zeros(0, np.int64)
        self._miss = np.zeros(0, np.int64)
        self._emb: np.ndarray | None = None
        # appearance_centre "scene"
        # (T, D) float64 sum of the features of the other people seen while each track lived, and their count
        self._others_sum: np.ndarray | None = None
        self._others_n = np.zeros(0, np.int64)
        self._own_sum, self._own_n = 0.0, 0  # distances of matched tracks' memories from their new features
        self._has_emb = np.zeros(0, bool)
        self._emb_frame = np.zeros(0, np.int64)  # the update count at which each track's memory last took a feature
        self._skipped = np.zeros(0, np.int64)  # matches without a feature since the memory last took one
        self._nis_avg = CHI2_MEDIAN_4  # running average of the frames' median normalised innovation squared
        self._meas_scale = 1.0  # the centre measurement noise's factor learnt from the innovations (meas_adapt)
        self._centre_innov = np.zeros((0, 2))  # each track's last standardised centre innovation
        self._innov_frame = np.zeros(0, np.int64)  # the update count at which it was taken (-2: none yet)
        # the last update's frame index, usable detections (indices, boxes, scores) and each live track's
        # detection row in them (-1: not matched), for :meth:`tentative`
        self._last: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def _noise_scale(self) -> float:
        """The process noise's factor learnt from the innovations (``noise_adapt``; 1 = the fixed model)."""
        return self._nis_avg / CHI2_MEDIAN_4

    def __len__(self) -> int:
        """Number of live (tentative, confirmed or lost) tracks."""
        return len(self._id)

    # -- one frame -------------------------------------------------------------------------------------------

    def update(
        self,
        dets: Detections,
        embeddings: np.ndarray | None = None,
        *,
        frame: int | None = None,
        warp: np.ndarray | None = None,
    ) -> Tracks:
        """Advance one frame with this frame's detections.

        Args:
            dets: the frame's detections (xyxy pixels). Call with ``Detections.empty()`` on frames without any.
            embeddings: optional ``(N, D)`` unit appearance features of ``dets`` (default: ``dets.embedding``);
                without them the tracker is motion-only. A row that is not finite (NaN) means "not embedded"
                (see :meth:`appearance_needed`): that detection is associated on motion alone.
            frame: 0-based frame index stamped on the result (default: count of calls so far - 1).
            warp: optional ``(2, 3)`` affine map from the previous frame's pixels to this frame's (camera-motion
                compensation, see :class:`mctrack.track.cmc.CameraMotion`).

        Returns:
            The confirmed tracks matched in this frame; ``det_index`` points into ``dets``.
        """
        if not isinstance(dets, Detections):
            raise TypeError(f"dets: expected mctrack.types.Detections, got {type(dets).__name__}")
        emb_all = embeddings if embeddings is not None else dets.embedding
        if emb_all is not None:
            emb_all = np.asarray(emb_all, np.float32)
            if emb_all.ndim != 2 or len(emb_all) != len(dets):
                raise ValueError(f"embeddings: expected ({len(dets)}, D), got shape {emb_all.shape}")
            if len(dets) == 0:
                emb_all = None
            elif self._emb is not None and self._emb.shape[1] != emb_all.shape[1]:
                raise ValueError(
                    f"embeddings: dimension {emb_all.shape[1]} differs from earlier frames' {self._emb.shape[1]}"
                )
        if frame is not None:
            frame = self._check_frame(frame)
        if warp is not None:  # checked on every frame, not only once there are tracks to move
            warp = check_warp(warp)
        # counted only once the frame's input is accepted: a refused call leaves the tracker as it was
        self._frame += 1
        frame_idx = self._frame if frame is None else frame

        det_idx, boxes, scores = self._select(dets, frame_idx)
        z = xyxy_to_cxcywh(boxes)
        emb = det_has = None
        if emb_all is not None:
            emb, det_has = _unit_rows(emb_all[det_idx])
        if emb is not None and self._emb is None:
            self._emb = np.zeros((len(self._id), emb.shape[1]), np.float32)

        app_all = None  # appearance_centre "scene": the frame's (tracks, detections) distances, computed once
        if emb is not None and self.appearance_centre == "scene" and self._others_sum is not None and len(self._id):
            app_all = self._distances_among_others(emb)

        # 1. predict
        if len(self._id):
            self._mean, self._cov = self._predict(warp)
        pred = cxcywh_to_xyxy(self._mean[:, :4])
        # the box overlaps of every live track with every usable detection, once per frame; each association
        # stage takes its rows and columns (the high-score stages the buffered overlap when ``iou_buffer`` is set)
        iou = iou_matrix(pred, boxes)
        iou_high = self._high_overlap(pred, boxes) if self.iou_buffer > 0 else iou

        # 2-4. associate
        state = self._state.copy()
        high_cut = score_cut(self.high_thresh)
        high = (scores >= high_cut).nonzero()[0]
        low = (scores < high_cut).nonzero()[0]
        pool = np.arange(len(state)) if self.tentative_compete else (state != _TENTATIVE).nonzero()[0]
        m1, ut, ud = self._associate(pool, high, iou_high, scores, z, emb, det_has, self.match_thresh, True, app_all)
        rest = pool[ut]
        rest = rest[state[rest] == _CONFIRMED]
        m2, _, _ = self._associate(rest, low, iou, scores, z, emb, det_has, self.low_match_thresh, False)
        high_left = high[ud]
        tent = _EMPTY if self.tentative_compete else (state == _TENTATIVE).nonzero()[0]
        m3, _, ud3 = self._associate(
            tent, high_left, iou_high, scores, z, emb, det_has, self.tentative_match_thresh, True, app_all
        )
        mt = np.concatenate([m1[0], m2[0], m3[0]])
        md = np.concatenate([m1[1], m2[1], m3[1]])

        # update matched tracks
        n_tracks = len(self._id)
        last_det = np.full(n_tracks, -1, np.int64)
        if len(mt):
            adapt, centre = self.noise_adapt > 0, self.meas_adapt > 0
            updated = self.kalman.update(
                self._mean.take(mt, 0),
                self._cov.take(mt, 0),
                z.take(md, 0),
                scores.take(md),
                return_nis=adapt,
                return_centre=centre,
                centre_scale=self._meas_scale,
            )
            self._mean[mt], self._cov[mt] = updated[0], updated[1]
            if adapt:
                self._adapt_noise(updated[2])
            if centre:
                self._adapt_measurement(mt, updated[-1])
            last_det[mt] = md
            self._hits[mt] += 1
            self._miss[mt] = 0
            promote = (state[mt] == _LOST) | (self._hits[mt] >= self.min_hits)
            self._state[mt[promote]] = _CONFIRMED
            if emb is not None:
                took = det_has[md]
                self._skipped[mt[~took]] += 1
                self._remember(mt[took], emb[md[took]])
        if emb is not None and self.appearance_centre == "scene":
            self._note_others(mt, md, emb, det_has, iou_high)
        unmatched = last_det < 0
        self._miss[unmatched] += 1
        self._state[unmatched & (state == _CONFIRMED)] = _LOST
        keep = ~(unmatched & (state == _TENTATIVE)) & (self._miss <= self.max_age)
        if not keep.all():
            self._drop(keep)
            last_det = last_det[keep]

        # 5. new tracks
        new = high_left[ud3]
        new = new[scores[new] >= score_cut(self.new_track_thresh)]
        if len(new):
            last_det = np.concatenate([last_det, new])
            others = None
            if emb is not None and self.appearance_centre == "scene":
                others = self._others_of(new, boxes, emb, det_has)
            self._birth(z[new], None if emb is None else emb[new], None if emb is None else det_has[new], others)

        # report
        self._last = (frame_idx, det_idx, boxes, scores, last_det)
        return self._tracks(((last_det >= 0) & (self._state == _CONFIRMED)).nonzero()[0])

    def tentative(self) -> Tracks:
        """The tracks the last :meth:`update` matched or started but did not report because they are not confirmed
        yet (fewer than ``min_hits`` matches), in the same form as its result.

        Most are the first frames of people whose tracks are confirmed a frame or two later; the rest are false
        positives that never are. Recorded video can have both: keep these rows and add those of the tracks that
        were confirmed in the end (:func:`mctrack.track.postprocess.backfill`), so a confirmed track starts at its
        first detection while unconfirmed ones stay out. Empty before the first update.
        """
        if self._last is None:
            return Tracks.empty(self.camera, max(self._frame, 0))
        last_det = self._last[4]
        rows = ((last_det >= 0) & (self._state == _TENTATIVE)).nonzero()[0]
        return self._tracks(rows)

    def _tracks(self, rows: np.ndarray) -> Tracks:
        """The last update's ``Tracks`` of the live track rows ``rows`` (each matched in that update)."""
        assert self._last is not None
        frame_idx, det_idx, boxes, scores, last_det = self._last
        od = last_det[rows]
        xyxy = boxes.take(od, 0) if self.output_box == "detection" else cxcywh_to_xyxy(self._mean.take(rows, 0)[:, :4])
        out_emb = None if self._emb is None else self._emb.take(rows, 0)
        return Tracks(self.camera, frame_idx, self._id[rows], xyxy, scores[od], det_idx[od], out_emb)

    def appearance_needed(self, dets: Detections, *, warp: np.ndarray | None = None, refresh: int = 10) -> np.ndarray:
        """Which of the coming frame's ``dets`` the next :meth:`update` needs an embedding for (boolean ``(N,)``).
        The others may be passed as NaN rows. Does not change the tracker.

        A detection needs none when the boxes alone decide its association: it scores below ``high_thresh``
        (low-score detections are matched on IoU only, so they are never embedded: a track carried by occluded,
        low-score boxes takes no feature until a high-score box comes back), or it is *isolated*: its
        predicted-box overlap with one confirmed or tentative track is at least 0.5, no other live track overlaps
        it enough to be matched on overlap (IoU >= ``1 - match_thresh``), that track overlaps no other high-score
        detection that much, and the track's appearance memory took a feature fewer than ``refresh`` frames ago.
        Everything else is embedded: detections between tracks or near none (a new person, or a lost one coming
        back), lost tracks' candidates, and each track's high-score detection at least every ``refresh`` frames,
        so that its memory and its tracklet's features stay current and a person who took over a track is caught
        by the appearance threshold within ``refresh`` frames. ``refresh`` 0 or 1 asks for every usable
        high-score detection.
        """
        if int(refresh) != refresh or refresh < 0:
            raise ValueError(f"refresh: must be an integer >= 0, got {refresh}")
        xyxy = np.asarray(dets.xyxy, np.float64).reshape(-1, 4)
        score = np.asarray(dets.score, np.float64)
        wh = xyxy[:, 2:] - xyxy[:, :2]
        usable = np.isfinite(xyxy).all(axis=1) & np.isfinite(score) & (wh > 0).all(axis=1)
        usable &= score >= score_cut(self.high_thresh)
        if self.min_box_area > 0:
            usable &= np.where(usable, wh[:, 0] * wh[:, 1], 0.0) >= self.min_box_area
        if refresh == 0 or not len(self._id) or not usable.any():
            return usable
        idx = usable.nonzero()[0]
        mean, _ = self._predict(warp)
        a, b = cxcywh_to_xyxy(mean[:, :4]), xyxy[idx]
        # (usable detections, tracks), the overlap the first association uses
        iou = self._high_overlap(b, a) if self.iou_buffer > 0 else iou_matrix(b, a)
        feasible = iou >= 1.0 - self.match_thresh
        j = iou.argmax(axis=1)
        clear = (
            (iou[np.arange(len(idx)), j] >= 0.5)
            & (feasible.sum(axis=1) == 1)
            & (feasible.sum(axis=0)[j] == 1)
            & (self._state[j] != _LOST)
            & self._has_emb[j]
            & (self._frame + 1 - self._emb_frame[j] < refresh)
        )
        out = np.zeros(len(dets), bool)
        out[idx] = ~clear
        return out

    # -- helpers ---------------------------------------------------------------------------------------------

    def _predict(self, warp: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The live tracks' Kalman states one frame ahead (after the camera-motion ``warp``); new arrays."""
        noise_scale = None if self._noise_scale == 1.0 else self._noise_scale
        # a track coasting without detections keeps its size (ByteTrack)
        mean, cov = self.kalman.predict(self._mean, self._cov, noise_scale, warp=warp, hold_size=self._miss > 0)
        np.maximum(mean[:, 2:4], 1.0, out=mean[:, 2:4])
        return mean, cov

    def _check_frame(self, frame) -> int:
        """``frame`` as a whole 0-based index after the previous update's, else a clear error (a tracker fed two
        cameras' frames, or frames out of order, used to stamp them without a word)."""
        if isinstance(frame, (bool, np.bool_)) or not isinstance(frame, (int, np.integer, float, np.floating)):
            raise TypeError(f"frame: expected a whole 0-based frame index, got {type(frame).__name__} {frame!r}")
        if not (math.isfinite(frame) and float(frame).is_integer() and frame >= 0):
            raise ValueError(f"frame: expected a whole 0-based frame index, got {frame!r}")
        frame = int(frame)
        previous = self._last[0] if self._last is not None else -1  # the last update's frame index
        if frame <= previous:
            raise ValueError(
                f"frame: {frame} is not after the previous update's frame {previous}: a Tracker follows one "
                "camera's frames in order (one Tracker per camera; reset() starts a new sequence)"
            )
        return frame

    def _select(self, dets: Detections, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices, float64 boxes and scores of the usable detections; degenerate boxes are dropped, with a warning
        the first time and counted in ``dropped``."""
        xyxy = dets.xyxy.astype(np.float64)
        score = dets.score.astype(np.float64)
        wh = xyxy[:, 2:] - xyxy[:, :2]
        valid = np.isfinite(xyxy).all(axis=1) & np.isfinite(score) & (wh > 0).all(axis=1)
        if not valid.all():
            bad = (~valid).nonzero()[0]
            if not self.dropped:
                warnings.warn(
                    f"frame {frame}: dropped {len(bad)} detection(s) with zero, negative or NaN size "
                    f"or score (rows {bad[:5].tolist()}{'...' if len(bad) > 5 else ''}); later ones are counted in "
                    "the tracker's `dropped`, not warned about again",
                    RuntimeWarning,
                    stacklevel=3,
                )
            self.dropped += len(bad)
        if self._normalised_frames >= 0 and valid.any():  # (a far person's tiny box once is not enough)
            tiny = np.abs(xyxy[valid]).max() <= 2.0
            self._normalised_frames = self._normalised_frames + 1 if tiny else 0
            if self._normalised_frames == _NORMALISED_FRAMES:
                self._normalised_frames = -1
                warnings.warn(
                    f"frame {frame}: every box of the last {_NORMALISED_FRAMES} frames lies within 2 px of the image "
                    "corner: boxes normalised to 0-1? The tracker takes pixel coordinates (xyxy); boxes under a "
                    "pixel are not followed from frame to frame (said once per tracker)",
                    RuntimeWarning,
                    stacklevel=3,
                )
        keep = valid & (score >= score_cut(self.low_thresh))
        if self.min_box_area > 0:
            keep &= np.where(valid, wh[:, 0] * wh[:, 1], 0.0) >= self.min_box_area
        idx = keep.nonzero()[0]
        return idx, xyxy.take(idx, 0), score.take(idx)

    def _associate(
        self,
        tracks: np.ndarray,
        dets: np.ndarray,
        iou: np.ndarray,
        scores: np.ndarray,
        z: np.ndarray,
        emb: np.ndarray | None,
        det_has: np.ndarray | None,
        thresh: float,
        use_appearance: bool,
        app_all: np.ndarray | None = None,
    ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
        """Match track rows ``tracks`` to detection rows ``dets`` (``iou``: the frame's (all tracks, all detections)
        overlaps; ``det_has``: which detection rows have a feature; ``app_all``: the frame's appearance distances
        when computed once for all, else cosine distances of ``emb``); returns ((track rows, det rows), unmatched
        positions in ``tracks``, unmatched positions in ``dets``)."""
        if len(tracks) == 0 or len(dets) == 0:
            return (_EMPTY, _EMPTY), np.arange(len(tracks)), np.arange(len(dets))
        # ndarray.take: the same rows and columns as fancy indexing at a fraction of its per-call cost
        iou_d = 1.0 - iou.take(tracks, 0).take(dets, 1)
        if self.fuse_score and use_appearance:
            iou_d = 1.0 - (1.0 - iou_d) * scores.take(dets)[None, :]
        app = gate = None
        if use_appearance and emb is not None and self._emb is not None:
            if app_all is not None:
                app = app_all.take(tracks, 0).take(dets, 1)
            else:
                app = cosine_distance(self._emb.take(tracks, 0), emb.take(dets, 0))
            has = self._has_emb.take(tracks)
            if not has.all():  # a track without memory, a detection without feature: neutral appearance
                app[~has] = self.appearance_thresh
            has = det_has.take(dets)
            if not has.all():
                app[:, ~has] = self.appearance_thresh
            if self.motion_gate:  # computed by fuse_costs only for the pairs it decides (a few per frame)

                def gate(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
                    sel = tracks.take(rows)
                    d2 = self.kalman.pair_distance(
                        self._mean.take(sel, 0), self._cov.take(sel, 0), z.take(dets.take(cols), 0)
                    )
                    # judged at most as wide as under the fixed noise model: the scene's noise adaptations
                    # (noise_adapt, meas_adapt) are for the box association, not a licence to recover people
                    # further away
                    return d2 * max(self._noise_scale, 1.0) <= CHI2_95[4]

        cost = fuse_costs(
            iou_d,
            app,
            appearance_weight=self.appearance_weight,
            max_iou_distance=thresh,
            appearance_thresh=self.appearance_thresh,
            motion_gate=gate,
        )
        matches, ua, ub = linear_assignment(cost, thresh)
        return (tracks[matches[:, 0]], dets[matches[:, 1]]), ua, ub

    def _adapt_noise(self, nis: np.ndarray) -> None:
        """Fold this frame's median normalised innovation squared into the running average that sets the
        process-noise scale (``noise_adapt``)."""
        n = len(nis)
        middle = np.partition(nis, [(n - 1) // 2, n // 2])  # np.median's two middle values, without its overhead
        median = 0.5 * float(middle[(n - 1) // 2] + middle[n // 2])
        self._nis_avg += self.noise_adapt * (median - self._nis_avg)
        # measured with the scaled noise, so the scale moves only part of the way to full calibration (a larger
        # noise shrinks the innovations it is judged by): a damped covariance matching, measured to work better
        # than the full one under the leave-one-sequence-out protocol (docs/tracking.md)
        lo, hi = _NOISE_SCALE_RANGE
        # the average itself stays within the scale's range, so that after a jolt it comes back at once
        self._nis_avg = min(max(self._nis_avg, lo * CHI2_MEDIAN_4), hi * CHI2_MEDIAN_4)

    def _adapt_measurement(self, rows: np.ndarray, innov: np.ndarray) -> None:
        """Fold the lag-1 correlation of the standardised centre innovations ``innov`` of the track rows ``rows``
        (matched this frame) with their previous frame's into the centre measurement noise's scale
        (``meas_adapt``), and keep ``innov`` for the next frame."""
        pair = self._innov_frame.take(rows) == self._frame - 1
        n_pairs = np.count_nonzero(pair)
        if n_pairs >= 2:
            now, before = innov, self._centre_innov.take(rows, 0)
            if n_pairs < len(rows):  # rows without a previous innovation count for nothing
                keep = pair.nonzero()[0]
                now, before = now.take(keep, 0), before.take(keep, 0)
            power_now, power_before = float(np.vdot(now, now)), float(np.vdot(before, before))
            # innovations far below their predicted spread (boxes that follow the model exactly, where only
            # rounding is left) carry no evidence about the noise: their correlation would be noise itself
            floor = _MIN_INNOV_POWER * 2 * n_pairs
            if power_now > floor and power_before > floor:
                rho = float(np.vdot(now, before)) / math.sqrt(power_now * power_before)  # in [-1, 1]
                scale = self._meas_scale * math.exp(self.meas_adapt * (_RHO_TARGET - rho))
                self._meas_scale = min(max(scale, 1.0), _MEAS_SCALE_MAX)
        self._centre_innov[rows] = innov
        self._innov_frame[rows] = self._frame

    def _distances_among_others(self, feats: np.ndarray) -> np.ndarray:
        """Cosine distances ``(tracks, len(feats))`` between every track's memory and ``feats``, both first
        centred on the mean feature of the people seen beside the track, renormalised (``appearance_centre=
        "scene"``). A track that has seen no one beside it is compared as given. Once per frame, before the
        associations take their rows and columns."""
        assert self._emb is not None and self._others_sum is not None
        others = self._others_sum * (1.0 / np.maximum(self._others_n, 1))[:, None]
        others = others.astype(np.float32)  # (T, D): each track's others' mean; zeros where it has none
        mm = np.einsum("ij,ij->i", others, others)
        xm = np.einsum("ij,ij->i", self._emb, others)
        rx2 = 1.0 - 2.0 * xm + mm
        # x, y unit: (x - m).(y - m) = x.y - x.m - y.m + m.m, |x - m|^2 = 1 - 2 x.m + m.m, |y - m|^2 = 1 - 2 y.m + m.m
        xy = self._emb @ feats.T
        ym = others @ feats.T  # (T, N)
        ry2 = (1.0 + mm)[:, None] - 2.0 * ym
        out = xy - ym
        out += (mm - xm)[:, None]
        out /= np.sqrt(np.maximum(ry2 * rx2[:, None], 1e-12))
        np.subtract(1.0, out, out=out)
        # a track whose memory lies no further from the people beside it than a person's own variation (or float
        # rounding) looks like them (people dressed alike, featureless frames): its centred residual is noise,
        # whose direction says nothing, and it is compared as given
        noise = max(2.0 * self._own_sum / self._own_n, 1e-4) if self._own_n else np.inf
        untrusted = rx2 <= noise
        if untrusted.any():
            out[untrusted] = 1.0 - xy[untrusted]
        return np.clip(out, 0.0, 2.0, out=out)

    def _note_others(self, mt: np.ndarray, md: np.ndarray, emb: np.ndarray, has: np.ndarray, iou: np.ndarray) -> None:
        """Add to every live track's others the features (rows ``has`` of ``emb``) of this frame's detections
        that are not its person: neither the detection it was matched to (tracks ``mt``, detections ``md``) nor one
        its predicted box overlaps enough to be matched on overlap (``iou``, tracks x detections, as the first
        association measures it: a second box on the same person). People seen at the same time elsewhere are not
        its person."""
        if self._others_sum is None:
            self._others_sum = np.zeros((len(self._id), emb.shape[1]))
        if not len(self._id):
            return
        own = np.full(len(self._id), -1, np.int64)
        own[mt] = md
        feat_sum, count = self._apart(iou, own, emb, has)
        self._others_sum += feat_sum
        self._others_n += count

    def _others_of(
        self, new: np.ndarray, boxes: np.ndarray, emb: np.ndarray, has: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The others (feature sum, count) that tracks born on detections ``new`` start with: the frame's embedded
        detections but their own and those overlapping theirs enough to be matched on overlap."""
        own = boxes[new]
        overlap = self._high_overlap(own, boxes) if self.iou_buffer > 0 else iou_matrix(own, boxes)
        return self._apart(overlap, new, emb, has)

    def _apart(
        self, overlap: np.ndarray, own: np.ndarray, emb: np.ndarray, has: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row of ``overlap`` (rows x detections), the (feature sum, count) of the embedded detections (rows
        ``has`` of ``emb``) apart from that row's box: not overlapping it enough to be matched on overlap, and not
        its own detection ``own[row]`` (-1: none)."""
        apart = overlap < 1.0 - self.match_thresh
        apart &= has[None, :]
        rows = (own >= 0).nonzero()[0]
        apart[rows, own[rows]] = False
        # in float32, as the features are (a boolean matrix times float64 costs numpy three times as much); the sums
        # over the frames are kept in float64
        return apart.astype(np.float32) @ emb, apart.sum(axis=1)

    def _high_overlap(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """IoU of boxes ``a`` with boxes ``b`` grown by ``iou_buffer``, as the high-score associations measure it."""
        return iou_matrix(_buffered(a, self.iou_buffer), _buffered(b, self.iou_buffer))

    def _remember(self, rows: np.ndarray, feats: np.ndarray) -> None:
        assert self._emb is not None
        mixed = self._emb.take(rows, 0)  # a copy, mixed in place in float32 as the memory is kept
        if self.appearance_centre == "scene":  # a person's distance from their own recent look: a residual's noise
            known = self._has_emb[rows]
            self._own_sum += float(known.sum()) - float(np.einsum("ij,ij->i", mixed, feats) @ known)
            self._own_n += int(known.sum())
        # the memory decays per matched frame, also over the frames whose detection was not embedded (embed
        # "needed"): a feature after k skipped frames counts as much as k + 1 consecutive ones would have
        skipped = self._skipped[rows]
        if skipped.any():
            alpha = (self.ema_alpha ** (1 + skipped))[:, None].astype(np.float32)
        else:  # every row matched with a feature last time (the usual case): one momentum for all
            alpha = np.float32(self.ema_alpha)
        mixed *= alpha
        mixed += (1 - alpha) * feats
        fresh = ~self._has_emb[rows]  # no memory yet: the feature itself
        if fresh.any():
            mixed[fresh] = feats[fresh]
        self._skipped[rows] = 0
        norm = np.sqrt(np.einsum("ij,ij->i", mixed, mixed))
        mixed /= np.maximum(norm, 1e-12)[:, None]
        self._emb[rows] = mixed
        self._has_emb[rows] = True
        self._emb_frame[rows] = self._frame

    def end_all(self) -> int:
        """End every live track, as if each had been lost longer than ``max_lost_s`` (ids are not reused); returns
        how many. For a live stream whose frames stopped for longer than that (an outage): the tracker counts lost
        frames by its updates, so without this a person at the same place after the outage took the old id."""
        n = len(self._id)
        keep = np.zeros(n, bool)
        self._drop(keep)
        if self._last is not None:  # the last update's frame stays: the next must still come after it
            frame_idx, det_idx, boxes, scores, last_det = self._last
            self._last = (frame_idx, det_idx, boxes, scores, last_det[keep])
        return n

    def _drop(self, keep: np.ndarray) -> None:
        self._mean, self._cov = self._mean[keep], self._cov[keep]
        self._id, self._state = self._id[keep], self._state[keep]
        self._hits, self._miss, self._has_emb = self._hits[keep], self._miss[keep], self._has_emb[keep]
        self._emb_frame, self._skipped = self._emb_frame[keep], self._skipped[keep]
        self._centre_innov, self._innov_frame = self._centre_innov[keep], self._innov_frame[keep]
        if self._emb is not None:
            self._emb = self._emb[keep]
        if self.appearance_centre == "scene":
            self._others_n = self._others_n[keep]
            if self._others_sum is not None:
                self._others_sum = self._others_sum[keep]

    def _birth(
        self,
        z: np.ndarray,
        feats: np.ndarray | None,
        has: np.ndarray | None = None,
        others: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        n = len(z)
        mean, cov = self.kalman.initiate(z)
        first = self._frame == 0 or self.min_hits <= 1
        state = np.full(n, _CONFIRMED if first else _TENTATIVE, np.int8)
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        self._id = np.concatenate([self._id, np.arange(self._next_id, self._next_id + n, dtype=np.int64)])
        self._next_id += n
        self._state = np.concatenate([self._state, state])
        self._hits = np.concatenate([self._hits, np.ones(n, np.int64)])
        self._miss = np.concatenate([self._miss, np.zeros(n, np.int64)])
        self._emb_frame = np.concatenate([self._emb_frame, np.full(n, self._frame, np.int64)])
        self._skipped = np.concatenate([self._skipped, np.zeros(n, np.int64)])
        self._centre_innov = np.concatenate([self._centre_innov, np.zeros((n, 2))])
        self._innov_frame = np.concatenate([self._innov_frame, np.full(n, -2, np.int64)])
        if self.appearance_centre == "scene":  # a newborn's others: the frame's other people (``others``)
            born_n = np.zeros(n, np.int64) if others is None else others[1]
            if self._others_sum is not None:
                born = np.zeros((n, self._others_sum.shape[1])) if others is None else others[0]
                self._others_sum = np.concatenate([self._others_sum, born])
            self._others_n = np.concatenate([self._others_n, born_n])
        if feats is not None:
            if self._emb is None:
                self._emb = np.zeros((len(self._has_emb), feats.shape[1]), np.float32)
            self._emb = np.concatenate([self._emb, feats.astype(np.float32)])
            self._has_emb = np.concatenate([self._has_emb, np.ones(n, bool) if has is None else has])
        else:
            if self._emb is not None:
                self._emb = np.concatenate([self._emb, np.zeros((n, self._emb.shape[1]), np.float32)])
            self._has_emb = np.concatenate([self._has_emb, np.zeros(n, bool)])


@TRACKERS.register("mctrack", "Kalman + two-stage (high/low score) association with optional appearance")
def build_tracker(**kwargs) -> Tracker:
    """The project's tracker (see :class:`Tracker` for the keyword arguments)."""
    return Tracker(**kwargs)
