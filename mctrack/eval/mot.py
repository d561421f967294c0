"""Single-camera MOT metrics with TrackEval's definitions: HOTA (DetA, AssA, LocA), CLEAR (MOTA, IDSW, FP, FN)
and Identity (IDF1).

This is a numpy re-implementation of TrackEval's ``HOTA``, ``CLEAR`` and ``Identity`` metrics (Luiten et al.,
https://github.com/JonathonLuiten/TrackEval), including its quirks, so numbers compare with published ones. The
test suite checks it against the ``trackeval`` package when that is installed.

Protocols (TrackEval's ``BENCHMARK``; :func:`resolve_benchmark`): ``MOT15`` has no classes: ground-truth rows whose
``conf`` column is 0 (TrackEval's ``zero_marked``) are removed unless ``keep_zero_marked=True`` (a fraction between
0 and 1, which MOTChallenge files never hold, counts here and is warned about: TrackEval ignores such rows).
``MOT16``/``MOT17``/``MOT20`` ground truth carries MOTChallenge class ids in column 8: in each frame the predicted boxes
matched (IoU >= 0.5, one to one) to a distractor (a person on a vehicle, a static person, a distractor, a reflection;
MOT20 also a non-motorised vehicle) are removed before scoring, and only the pedestrian rows (class 1) not marked 0
are people to find. ``"auto"`` (the default) uses MOT17's (MOT20's for a sequence named ``MOT20-...``) where the
ground truth holds such class ids with other classes than pedestrians, else MOT15's; the two agree wherever every
row is a pedestrian. A CLEAR/Identity match needs IoU >= 0.5; HOTA averages over IoU thresholds 0.05 ... 0.95.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError
from ..io.mot import (
    corner_rows_problem,
    duplicate_id_problem,
    incomplete_result,
    load_mot_txt,
    marked_to_count,
    read_frame_size,
    read_seq_length,
    share_far_outside,
)
from ..io.paths import safe_file_name

log = logging.getLogger(__name__)

__all__ = [
    "BENCHMARKS",
    "resolve_benchmark",
    "class_ids",
    "scored_ground_truth",
    "warn_if_mot17_classes",
    "warn_if_conf_fractions",
    "SequenceData",
    "sequence_data",
    "hota",
    "clear",
    "identity",
    "evaluate_sequence",
    "combine",
    "evaluate_folders",
    "evaluate_folder_sequences",
    "SUMMARY_FIELDS",
    "format_percent",
    "format_table",
]

EPS = np.finfo("float").eps
ALPHAS = np.arange(0.05, 0.99, 0.05)
SUMMARY_FIELDS = (
    "HOTA",
    "DetA",
    "AssA",
    "LocA",
    "MOTA",
    "MOTP",
    "IDF1",
    "IDP",
    "IDR",
    "IDSW",
    "FP",
    "FN",
    "TP",
    "MT",
    "ML",
    "Frag",
    "GT_Dets",
    "GT_IDs",
    "Dets",
    "IDs",
)


@dataclass(frozen=True)
class SequenceData:
    """One sequence prepared for the metrics (TrackEval's preprocessed ``data`` dict).

    Ids are relabelled to ``0..num_*_ids-1`` (``gt_labels``, ``tracker_labels``: the ids as given, by new label).
    Per timestep: ``gt_ids[t]`` ``(G,)``, ``tracker_ids[t]`` ``(P,)``, ``similarity[t]`` ``(G, P)`` IoU.
    """

    num_timesteps: int
    num_gt_ids: int
    num_tracker_ids: int
    num_gt_dets: int
    num_tracker_dets: int
    gt_ids: list[np.ndarray]
    tracker_ids: list[np.ndarray]
    similarity: list[np.ndarray]
    gt_labels: np.ndarray | None = None
    tracker_labels: np.ndarray | None = None
    #: the protocol it was prepared under, and how many predicted boxes that removed for covering a distractor
    benchmark: str = "MOT15"
    removed_tracker_dets: int = 0


def _box_iou_tlwh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TrackEval's ``_calculate_box_ious`` for (left, top, width, height) boxes."""
    a = a.astype(np.float64).copy()
    b = b.astype(np.float64).copy()
    a[:, 2:] += a[:, :2]
    b[:, 2:] += b[:, :2]
    mn = np.minimum(a[:, None, 2:], b[None, :, 2:])
    mx = np.maximum(a[:, None, :2], b[None, :, :2])
    inter = np.maximum(mn[..., 0] - mx[..., 0], 0) * np.maximum(mn[..., 1] - mx[..., 1], 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    inter[(area_a[:, None] <= 0 + EPS) | (area_b[None, :] <= 0 + EPS)] = 0
    inter[union <= 0 + EPS] = 0
    union[union <= 0 + EPS] = 1
    return inter / union


def _relabel(ids_per_t: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Ids per timestep relabelled to ``0..n-1``, and the ids as given by new label (``(n,)``)."""
    allids = np.unique(np.concatenate(ids_per_t)).astype(np.int64) if ids_per_t else np.zeros(0, np.int64)
    return [np.searchsorted(allids, ids).astype(np.int64) for ids in ids_per_t], allids


#: evaluation protocols, by TrackEval's ``BENCHMARK`` names (MOT16 and MOT17 are one), and "auto"
BENCHMARKS = ("auto", "MOT15", "MOT16", "MOT17", "MOT20")
#: MOTChallenge class ids in column 8 of MOT16/17/20 ground truth, as TrackEval numbers them: 1 pedestrian, 2 person on
#: vehicle, 3 car, 4 bicycle, 5 motorbike, 6 non-motorised vehicle, 7 static person, 8 distractor, 9-11 occluders,
#: 12 reflection, 13 crowd
_CLASS_IDS = np.arange(1, 14)
_PEDESTRIAN = 1
#: classes a prediction may cover without a false positive (TrackEval's distractor classes per benchmark)
_DISTRACTORS = {"MOT16": (2, 7, 8, 12), "MOT17": (2, 7, 8, 12), "MOT20": (2, 6, 7, 8, 12)}


def resolve_benchmark(benchmark: str, gt_rows: np.ndarray, sequence: str = "", file: str | Path | None = None) -> str:
    """The protocol ``benchmark`` (one of :data:`BENCHMARKS`) means for the ground truth ``gt_rows`` of the sequence
    named ``sequence`` (read from ``file``, which errors name; default ``sequence``).

    ``"auto"``: MOT17's where column 8 holds MOTChallenge class ids (:func:`class_ids`) and not every row is a
    pedestrian, MOT20's for such a sequence named ``MOT20-...``; otherwise MOT15's (whose ground truth has -1 or world
    coordinates there). Both protocols score alike where every row is a pedestrian. MOT16/17/20 asked for on ground
    truth without class ids is an :class:`InputError` naming the file, as TrackEval refuses it."""
    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark: must be one of {', '.join(BENCHMARKS)}, got {benchmark!r}")
    gt = np.asarray(gt_rows, np.float64)
    if gt.ndim != 2 or not len(gt):
        return "MOT15" if benchmark == "auto" else benchmark
    classes = class_ids(gt)
    if benchmark == "auto":
        if classes is None or bool((classes == _PEDESTRIAN).all()):
            return "MOT15"
        return "MOT20" if str(sequence).startswith("MOT20-") else "MOT17"
    if benchmark != "MOT15" and classes is None:
        if gt.shape[1] < 8:
            found = f"rows of {gt.shape[1]} columns, no column 8"
        else:
            column = gt[:, 7]
            stray = ~np.isin(column, _CLASS_IDS)
            examples = ", ".join(f"{v:g}" for v in np.unique(column[stray])[:3])
            found = f"no class id in {int(stray.sum())} of its {len(gt)} rows (e.g. {examples}"
            found += "; a file without column 8 reads as -1 there)" if -1 in column[stray] else ")"
        raise InputError(
            f"{file or sequence}: the {benchmark} protocol needs MOTChallenge class ids (1-13) in column 8 of every "
            f"ground-truth row; found {found} (MOT15-style ground truth: score it under MOT15, or auto)"
        )
    return benchmark


def class_ids(gt: np.ndarray) -> np.ndarray | None:
    """Column 8 of MOT ground truth ``gt`` when it holds MOTChallenge class ids (whole numbers 1-13 in every row, as
    MOT16/17/20 files do), else None (MOT15 files hold -1 or world coordinates there)."""
    gt = np.asarray(gt, np.float64)
    if gt.ndim != 2 or gt.shape[1] < 8 or not len(gt):
        return None
    column = gt[:, 7]
    return column if bool(np.isin(column, _CLASS_IDS).all()) else None


def scored_ground_truth(gt: np.ndarray, *, keep_zero_marked: bool = False, benchmark: str = "MOT15") -> np.ndarray:
    """Which rows of ``gt`` are people to find under the resolved protocol ``benchmark`` (not ``"auto"``): those
    not marked 0 (all with ``keep_zero_marked``), and under MOT16/17/20 only the pedestrians among them."""
    if benchmark == "auto":
        raise ValueError("benchmark: resolve 'auto' first (resolve_benchmark)")
    gt = np.asarray(gt, np.float64)
    if not len(gt):
        return np.zeros(0, bool)
    mask = np.ones(len(gt), bool) if keep_zero_marked else marked_to_count(gt[:, 6])
    if benchmark != "MOT15":
        mask &= gt[:, 7] == _PEDESTRIAN
    return mask


def sequence_data(
    gt_rows: np.ndarray,
    pred_rows: np.ndarray,
    num_timesteps: int,
    *,
    keep_zero_marked: bool = False,
    name: str = "sequence",
    gt_name: str | None = None,
    benchmark: str = "auto",
) -> SequenceData:
    """Prepare MOT rows (``(K, >=7)``: frame, id, left, top, width, height, conf...) for the metrics, under the
    protocol ``benchmark`` (:func:`resolve_benchmark`, with ``gt_name`` or ``name`` as the sequence).

    Rows with frames outside ``1..num_timesteps`` are not scored, with a warning (``evaluate_folders`` refuses
    those after the end first, as TrackEval does; a frame 0 is a 0-based index where MOT rows count from 1). An id
    repeated within one frame is an :class:`InputError` (TrackEval refuses it too) naming ``name`` (predictions) or
    ``gt_name`` (ground truth); ground truth that is not ``(K, >=7)``, predictions that are not ``(K, >=6)`` (as MOT
    files may be), and rows holding a value that is not finite in their first six columns are a ``ValueError``.
    """
    gt_rows = _mot_rows(gt_rows, gt_name or f"{name} ground truth", 7)  # its conf column marks rows to ignore
    pred_rows = _mot_rows(pred_rows, name, 6)
    for rows, what in ((gt_rows, gt_name or f"{name} ground truth"), (pred_rows, name)):
        negative = rows[:, 1] < 0 if len(rows) else np.zeros(0, bool)
        if negative.any():  # TrackEval maps them onto other ids: scored as some other track's boxes
            first = rows[negative][0]
            raise InputError(
                f"{what}: {int(negative.sum())} row(s) with a negative id (first: id {int(first[1])} in frame "
                f"{int(first[0])}); ids must be >= 0 (-1 is a detection file's id, not a track's)"
            )
        outside = (rows[:, 0] < 1) | (rows[:, 0] > num_timesteps) if len(rows) else np.zeros(0, bool)
        if outside.any():
            warnings.warn(
                f"{what}: {int(outside.sum())} of {len(rows)} rows are in frames outside 1..{num_timesteps} and are "
                f"not scored (frames {int(rows[outside, 0].min())}..{int(rows[outside, 0].max())}; MOT rows count "
                "frames from 1)",
                UserWarning,
                stacklevel=3,
            )
    bench = resolve_benchmark(benchmark, gt_rows, _sequence_of(gt_name or name), gt_name or name)
    classes = bench != "MOT15"
    if not classes and not keep_zero_marked and len(gt_rows):
        gt_rows = gt_rows[marked_to_count(gt_rows[:, 6])]
    distractors = _DISTRACTORS.get(bench, ())
    removed = 0
    gt_f = gt_rows[:, 0].astype(np.int64) if len(gt_rows) else np.zeros(0, np.int64)
    pr_f = pred_rows[:, 0].astype(np.int64) if len(pred_rows) else np.zeros(0, np.int64)
    gt_ids, tr_ids, sims = [], [], []
    gt_order = np.argsort(gt_f, kind="stable")
    pr_order = np.argsort(pr_f, kind="stable")
    gt_bounds = np.searchsorted(gt_f[gt_order], np.arange(1, num_timesteps + 2))
    pr_bounds = np.searchsorted(pr_f[pr_order], np.arange(1, num_timesteps + 2))
    for t in range(num_timesteps):
        g = gt_rows[gt_order[gt_bounds[t] : gt_bounds[t + 1]]]
        p = pred_rows[pr_order[pr_bounds[t] : pr_bounds[t + 1]]]
        if classes:  # TrackEval's MOT16/17/20 preprocessing: every ground-truth row takes part in the matching
            _check_unique(g[:, 1].astype(np.int64), f"{gt_name or name + ' ground truth'}:", t)
            g_class = g[:, 7].astype(np.int64)
            if len(g) and len(p):
                score = _box_iou_tlwh(g[:, 2:6], p[:, 2:6])
                score[score < 0.5 - EPS] = 0
                rows, cols = linear_sum_assignment(-score)
                matched = score[rows, cols] > 0 + EPS
                drop = cols[matched][np.isin(g_class[rows[matched]], distractors)]
                if len(drop):
                    p = np.delete(p, drop, axis=0)
                    removed += len(drop)
            keep = g_class == _PEDESTRIAN
            if not keep_zero_marked:
                keep &= marked_to_count(g[:, 6])
            g = g[keep]
        gi = g[:, 1].astype(np.int64)
        pi = p[:, 1].astype(np.int64)
        _check_unique(pi, f"{name}: tracker", t)
        if not classes:  # (under MOT16/17/20 checked above, over every class)
            _check_unique(gi, f"{gt_name or name + ' ground truth'}:", t)
        gt_ids.append(gi)
        tr_ids.append(pi)
        sims.append(_box_iou_tlwh(g[:, 2:6], p[:, 2:6]))
    gt_ids, gt_labels = _relabel(gt_ids)
    tr_ids, tr_labels = _relabel(tr_ids)
    return SequenceData(
        num_timesteps,
        len(gt_labels),
        len(tr_labels),
        int(sum(len(x) for x in gt_ids)),
        int(sum(len(x) for x in tr_ids)),
        gt_ids,
        tr_ids,
        sims,
        gt_labels,
        tr_labels,
        bench,
        removed,
    )


def _check_unique(ids: np.ndarray, what: str, t: int) -> None:
    """An id twice in one frame (0-based ``t``) is an :class:`InputError` (TrackEval refuses it too)."""
    values, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise InputError(f"{what} id {int(values[counts > 1][0])} repeated within frame {t + 1}")


def _sequence_of(name: str | Path) -> str:
    """The sequence a ground-truth file belongs to (``.../<sequence>/gt/gt.txt``), else ``name`` itself."""
    p = Path(str(name))
    return p.parent.parent.name if p.name == "gt.txt" and p.parent.name == "gt" else str(name)


def _mot_rows(rows, what: str, min_cols: int) -> np.ndarray:
    """``rows`` as a float64 ``(K, >=min_cols)`` array of MOT rows (frame, id, left, top, width, height, conf, ...),
    else a ``ValueError`` naming ``what``: the wrong shape, or values that are not finite where boxes and ids are."""
    arr = np.asarray(rows, np.float64)
    if arr.size == 0:
        return np.zeros((0, 10))
    if arr.ndim != 2 or arr.shape[1] < min_cols:
        fields = "frame, id, left, top, width, height" + (", conf" if min_cols > 6 else "")
        raise ValueError(f"{what}: expected MOT rows (K, >={min_cols}): {fields}; got shape {arr.shape}")
    bad = ~np.isfinite(arr[:, :6]).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{what}: {int(bad.sum())} rows hold a value that is not finite in frame, id or box (first: row "
            f"{int(bad.nonzero()[0][0])})"
        )
    return arr


def _final_hota(res: dict) -> dict:
    res["DetRe"] = res["HOTA_TP"] / np.maximum(1, res["HOTA_TP"] + res["HOTA_FN"])
    res["DetPr"] = res["HOTA_TP"] / np.maximum(1, res["HOTA_TP"] + res["HOTA_FP"])
    res["DetA_a"] = res["HOTA_TP"] / np.maximum(1, res["HOTA_TP"] + res["HOTA_FN"] + res["HOTA_FP"])
    res["HOTA_a"] = np.sqrt(res["DetA_a"] * res["AssA_a"])
    return res


def hota(d: SequenceData) -> dict:
    """TrackEval HOTA: per-alpha arrays ``HOTA_TP/FN/FP``, ``AssA_a``, ``DetA_a``, ``HOTA_a``, ``LocA_a``."""
    na = len(ALPHAS)
    res = {k: np.zeros(na) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP", "AssA_a", "AssRe_a", "AssPr_a", "LocA_a")}
    if d.num_tracker_dets == 0:
        res["HOTA_FN"][:] = d.num_gt_dets
        res["LocA_a"][:] = 1.0
        return _final_hota(res)
    if d.num_gt_dets == 0:
        res["HOTA_FP"][:] = d.num_tracker_dets
        res["LocA_a"][:] = 1.0
        return _final_hota(res)
    potential = np.zeros((d.num_gt_ids, d.num_tracker_ids))
    gt_count = np.zeros((d.num_gt_ids, 1))
    tr_count = np.zeros((1, d.num_tracker_ids))
    for g, p, s in zip(d.gt_ids, d.tracker_ids, d.similarity):
        denom = s.sum(0)[None, :] + s.sum(1)[:, None] - s
        sim_iou = np.zeros_like(s)
        mask = denom > 0 + EPS
        sim_iou[mask] = s[mask] / denom[mask]
        potential[g[:, None], p[None, :]] += sim_iou
        gt_count[g] += 1
        tr_count[0, p] += 1
    global_score = potential / (gt_count + tr_count - potential)
    matches = np.zeros((na, d.num_gt_ids, d.num_tracker_ids))
    for g, p, s in zip(d.gt_ids, d.tracker_ids, d.similarity):
        if len(g) == 0:
            res["HOTA_FP"] += len(p)
            continue
        if len(p) == 0:
            res["HOTA_FN"] += len(g)
            continue
        score = global_score[g[:, None], p[None, :]] * s
        rows, cols = linear_sum_assignment(-score)
        matched_sim = s[rows, cols]
        for a, alpha in enumerate(ALPHAS):
            ok = matched_sim >= alpha - EPS
            n = int(ok.sum())
            res["HOTA_TP"][a] += n
            res["HOTA_FN"][a] += len(g) - n
            res["HOTA_FP"][a] += len(p) - n
            if n:
                res["LocA_a"][a] += matched_sim[ok].sum()
                matches[a, g[rows[ok]], p[cols[ok]]] += 1
    for a in range(na):
        m = matches[a]
        tp = max(1.0, res["HOTA_TP"][a])
        res["AssA_a"][a] = (m * (m / np.maximum(1, gt_count + tr_count - m))).sum() / tp
        res["AssRe_a"][a] = (m * (m / np.maximum(1, gt_count))).sum() / tp
        res["AssPr_a"][a] = (m * (m / np.maximum(1, tr_count))).sum() / tp
    res["LocA_a"] = np.maximum(1e-10, res["LocA_a"]) / np.maximum(1e-10, res["HOTA_TP"])
    return _final_hota(res)


def clear(d: SequenceData, threshold: float = 0.5) -> dict:
    """TrackEval CLEAR: ``CLR_TP``, ``CLR_FN``, ``CLR_FP``, ``IDSW``, ``MT``, ``PT``, ``ML``, ``Frag``, ``MOTP_sum``."""
    res = dict(CLR_TP=0, CLR_FN=0, CLR_FP=0, IDSW=0, MT=0, PT=0, ML=0, Frag=0, MOTP_sum=0.0, CLR_Frames=d.num_timesteps)
    if d.num_tracker_dets == 0:
        res["CLR_FN"] = d.num_gt_dets
        res["ML"] = d.num_gt_ids
        return res
    if d.num_gt_dets == 0:
        res["CLR_FP"] = d.num_tracker_dets
        return res
    gt_count = np.zeros(d.num_gt_ids)
    gt_matched = np.zeros(d.num_gt_ids)
    gt_frag = np.zeros(d.num_gt_ids)
    prev_tr = np.full(d.num_gt_ids, np.nan)
    prev_step_tr = np.full(d.num_gt_ids, np.nan)
    for g, p, s in zip(d.gt_ids, d.tracker_ids, d.similarity):
        if len(g) == 0:
            res["CLR_FP"] += len(p)
            continue
        if len(p) == 0:
            res["CLR_FN"] += len(g)
            gt_count[g] += 1
            continue
        score = 1000.0 * (p[None, :] == prev_step_tr[g[:, None]]) + s
        score[s < threshold - EPS] = 0
        rows, cols = linear_sum_assignment(-score)
        ok = score[rows, cols] > 0 + EPS
        rows, cols = rows[ok], cols[ok]
        mg, mp = g[rows], p[cols]
        prev_matched = prev_tr[mg]
        res["IDSW"] += int(np.sum(~np.isnan(prev_matched) & (mp != prev_matched)))
        gt_count[g] += 1
        gt_matched[mg] += 1
        not_prev = np.isnan(prev_step_tr)
        prev_tr[mg] = mp
        prev_step_tr[:] = np.nan
        prev_step_tr[mg] = mp
        gt_frag += not_prev & ~np.isnan(prev_step_tr)
        n = len(mg)
        res["CLR_TP"] += n
        res["CLR_FN"] += len(g) - n
        res["CLR_FP"] += len(p) - n
        if n:
            res["MOTP_sum"] += float(s[rows, cols].sum())
    ratio = gt_matched[gt_count > 0] / gt_count[gt_count > 0]
    res["MT"] = int(np.sum(ratio > 0.8))
    res["PT"] = int(np.sum(ratio >= 0.2)) - res["MT"]
    res["ML"] = d.num_gt_ids - res["MT"] - res["PT"]
    res["Frag"] = int(np.sum(gt_frag[gt_frag > 0] - 1))
    return res


def identity(d: SequenceData, threshold: float = 0.5) -> dict:
    """TrackEval Identity: ``IDTP``, ``IDFN``, ``IDFP`` from the optimal one-to-one id assignment."""
    res = dict(IDTP=0, IDFN=0, IDFP=0)
    if d.num_tracker_dets == 0:
        res["IDFN"] = d.num_gt_dets
        return res
    if d.num_gt_dets == 0:
        res["IDFP"] = d.num_tracker_dets
        return res
    return _identity_counts(_identity_assignment(d, threshold))


def _identity_counts(solved: tuple[np.ndarray, ...]) -> dict:
    """``IDTP``, ``IDFN``, ``IDFP`` of a solved identity assignment (:func:`_identity_assignment`)."""
    rows, cols, fn, fp, _, gt_count = solved
    idfn = int(fn[rows, cols].sum())
    return dict(IDTP=int(gt_count.sum()) - idfn, IDFN=idfn, IDFP=int(fp[rows, cols].sum()))


def identity_matches(d: SequenceData, threshold: float = 0.5) -> list[dict]:
    """Where a sequence's IDF1 comes from, per ground-truth id (in id order): TrackEval Identity's optimal
    one-to-one assignment of tracker ids to ground-truth ids, as :func:`identity` scores it. Each entry:
    ``gt_id``; ``frames`` (its rows); ``track_id``, the tracker id assigned to it (None: none, or one that covers
    none of its rows: the assignment pairs those at no cost); ``idtp``, its rows that track covers (IoU >=
    ``threshold``); ``covered_by``, ``(frames, 2)`` int64 of (frame, tracker id covering its box there: the
    assigned track where it does, else the one of highest IoU >= ``threshold``; -1 where none), so that the
    assigned track's frames there add up to ``idtp``. ``d`` from :func:`sequence_data`."""
    solved = _identity_assignment(d, threshold) if d.num_gt_dets and d.num_tracker_dets else None
    return _identity_matches(d, threshold, solved)


def _identity_matches(d: SequenceData, threshold: float, solved: tuple[np.ndarray, ...] | None) -> list[dict]:
    """:func:`identity_matches` from its solved assignment (None: nothing to assign, no ground truth or no result
    rows), which :func:`evaluate_sequence` shares with :func:`identity`'s counts."""
    if d.gt_labels is None or d.tracker_labels is None:
        raise ValueError("identity_matches: the SequenceData lacks its id labels (made by sequence_data)")
    assigned = np.full(d.num_gt_ids, -1, np.int64)
    if solved is not None:
        rows, cols, _, _, potential, _ = solved
        real = (rows < d.num_gt_ids) & (cols < d.num_tracker_ids)
        rows, cols = rows[real], cols[real]
        useful = potential[rows, cols] > 0
        assigned[rows[useful]] = cols[useful]
    covered: list[list[tuple[int, int]]] = [[] for _ in range(d.num_gt_ids)]
    idtp = np.zeros(d.num_gt_ids, np.int64)
    for t, (g, p, s) in enumerate(zip(d.gt_ids, d.tracker_ids, d.similarity)):
        for row, gid in enumerate(g):
            hits = s[row] >= threshold - EPS
            own = hits & (p == assigned[gid])
            if own.any():
                idtp[gid] += 1
                col = int(own.argmax())
            else:
                col = int(np.where(hits, s[row], -1.0).argmax()) if hits.any() else -1
            covered[gid].append((t + 1, int(d.tracker_labels[p[col]]) if col >= 0 else -1))
    out = []
    for gid in range(d.num_gt_ids):
        tid = int(assigned[gid])
        out.append(
            {
                "gt_id": int(d.gt_labels[gid]),
                "frames": len(covered[gid]),
                "track_id": int(d.tracker_labels[tid]) if tid >= 0 else None,
                "idtp": int(idtp[gid]),
                "covered_by": np.array(covered[gid], np.int64).reshape(-1, 2),
            }
        )
    return out


def _identity_assignment(d: SequenceData, threshold: float) -> tuple[np.ndarray, ...]:
    """TrackEval Identity's assignment problem and its solution: (rows, cols) of the optimal assignment over the
    ``(ng + nt)``-square cost ``fn + fp``, those two matrices, the ``(ng, nt)`` matched-row counts and the
    ground-truth ids' row counts."""
    ng, nt = d.num_gt_ids, d.num_tracker_ids
    potential = np.zeros((ng, nt))
    gt_count = np.zeros(ng)
    tr_count = np.zeros(nt)
    for g, p, s in zip(d.gt_ids, d.tracker_ids, d.similarity):
        mi, mj = np.nonzero(s >= threshold - EPS)
        np.add.at(potential, (g[mi], p[mj]), 1)
        gt_count[g] += 1
        tr_count[p] += 1
    fp = np.zeros((ng + nt, ng + nt))
    fn = np.zeros((ng + nt, ng + nt))
    fp[ng:, :nt] = 1e10
    fn[:ng, nt:] = 1e10
    fn[:ng, :nt] = gt_count[:, None]
    fn[np.arange(ng), nt + np.arange(ng)] = gt_count
    fp[:ng, :nt] = tr_count[None, :]
    fp[ng + np.arange(nt), np.arange(nt)] = tr_count
    fn[:ng, :nt] -= potential
    fp[:ng, :nt] -= potential
    rows, cols = linear_sum_assignment(fn + fp)
    return rows, cols, fn, fp, potential, gt_count


def _summary(h: dict, c: dict, i: dict, d_counts: dict) -> dict:
    tp, fn, fp = c["CLR_TP"], c["CLR_FN"], c["CLR_FP"]
    out = {
        "HOTA": float(np.mean(h["HOTA_a"])),
        "DetA": float(np.mean(h["DetA_a"])),
        "AssA": float(np.mean(h["AssA_a"])),
        "LocA": float(np.mean(h["LocA_a"])),
        "MOTA": (tp - fp - c["IDSW"]) / max(1.0, tp + fn),
        "MOTP": c["MOTP_sum"] / max(1.0, tp),
        "IDF1": i["IDTP"] / max(1.0, i["IDTP"] + 0.5 * i["IDFP"] + 0.5 * i["IDFN"]),
        "IDP": i["IDTP"] / max(1.0, i["IDTP"] + i["IDFP"]),
        "IDR": i["IDTP"] / max(1.0, i["IDTP"] + i["IDFN"]),
        "IDSW": int(c["IDSW"]),
        "FP": int(fp),
        "FN": int(fn),
        "TP": int(tp),
        "MT": int(c["MT"]),
        "ML": int(c["ML"]),
        "Frag": int(c["Frag"]),
    }
    out.update(d_counts)
    return out


def evaluate_sequence(
    gt_rows: np.ndarray,
    pred_rows: np.ndarray,
    num_timesteps: int,
    *,
    keep_zero_marked: bool = False,
    name: str = "sequence",
    gt_name: str | None = None,
    by_identity: bool = False,
    benchmark: str = "auto",
) -> dict:
    """All metrics of one sequence. Returns ``{"summary": {...}, "raw": {...}, "benchmark": protocol,
    "removed_tracker_dets": n}``; ``summary`` holds :data:`SUMMARY_FIELDS` (fractions in [0, 1], counts as ints);
    ``raw`` what :func:`combine` needs; ``benchmark`` the protocol it was scored under (:func:`resolve_benchmark`) and
    ``removed_tracker_dets`` the predicted boxes that protocol removed for covering a distractor; with
    ``by_identity`` also ``"identities"``, :func:`identity_matches`."""
    d = sequence_data(
        gt_rows,
        pred_rows,
        num_timesteps,
        keep_zero_marked=keep_zero_marked,
        name=name,
        gt_name=gt_name,
        benchmark=benchmark,
    )
    h, c = hota(d), clear(d)
    # the identity assignment, solved once for the counts and (with by_identity) the per-id list
    solved = _identity_assignment(d, 0.5) if d.num_gt_dets and d.num_tracker_dets else None
    i = identity(d) if solved is None else _identity_counts(solved)
    counts = {"GT_Dets": d.num_gt_dets, "GT_IDs": d.num_gt_ids, "Dets": d.num_tracker_dets, "IDs": d.num_tracker_ids}
    out = {"summary": _summary(h, c, i, counts), "raw": {"hota": h, "clear": c, "identity": i, "counts": counts}}
    if not d.num_gt_dets:  # TrackEval's CLEAR returns before its final fields: MOTA 0 (pooled, the FP count)
        out["summary"]["MOTA"] = 0.0
    out.update(benchmark=d.benchmark, removed_tracker_dets=d.removed_tracker_dets)
    if by_identity:
        out["identities"] = _identity_matches(d, 0.5, solved)
    return out


def combine(results: list[dict]) -> dict:
    """TrackEval's ``combine_sequences``: counts are summed, AssA/AssRe/AssPr/LocA averaged weighted by HOTA_TP."""
    if not results:
        raise ValueError("results: nothing to combine")
    raws = [r["raw"] for r in results]
    h = {k: sum(r["hota"][k] for r in raws) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP")}
    for k in ("AssA_a", "AssRe_a", "AssPr_a"):
        h[k] = sum(r["hota"][k] * r["hota"]["HOTA_TP"] for r in raws) / np.maximum(1.0, h["HOTA_TP"])
    loca = sum(r["hota"]["LocA_a"] * r["hota"]["HOTA_TP"] for r in raws)
    h["LocA_a"] = np.maximum(1e-10, loca) / np.maximum(1e-10, h["HOTA_TP"])
    h = _final_hota(h)
    c = {k: sum(r["clear"][k] for r in raws) for k in raws[0]["clear"]}
    i = {k: sum(r["identity"][k] for r in raws) for k in raws[0]["identity"]}
    counts = {k: sum(r["counts"][k] for r in raws) for k in raws[0]["counts"]}
    return {"summary": _summary(h, c, i, counts), "raw": {"hota": h, "clear": c, "identity": i, "counts": counts}}


def _check_frames(rows: np.ndarray, length: int, file: Path, info_file: Path) -> None:
    """TrackEval refuses rows in frames after the sequence's end; so do we (they would be dropped silently)."""
    beyond = rows[:, 0] > length if len(rows) else np.zeros(0, bool)
    if beyond.any():
        raise InputError(
            f"{file}: {int(beyond.sum())} row{'s' if beyond.sum() > 1 else ''} in frames after seqLength {length} of "
            f"{info_file} "
            f"(first: frame {int(rows[beyond, 0].min())})"
        )


#: MOTChallenge class ids that are not a pedestrian (2 person on vehicle ... 13 crowd); MOT15's ground truth has -1
#: in that column, or the world x coordinate
_MOT17_OTHER_CLASSES = _CLASS_IDS[_CLASS_IDS != _PEDESTRIAN]


def read_ground_truth(path: str | Path, camera: str, benchmark: str = "auto") -> np.ndarray:
    """A camera's ground-truth file read and checked as multi-camera scoring (``mctrack run``, ``mctrack eval
    --cams``) needs it: a malformed row or one person twice in a frame is an :class:`InputError` naming the file, and
    so is a ``benchmark`` protocol the file cannot be scored under (:func:`resolve_benchmark`); class ids scored
    under MOT15, conf fractions and x1,y1,x2,y2 rows are warned about. Rows in the file's order within a frame."""
    rows = load_mot_txt(path, check_sizes=True, file_order=True)
    warn_if_mot17_classes(rows, Path(path), resolve_benchmark(benchmark, rows, _sequence_of(path), path))
    warn_if_conf_fractions(rows, Path(path))
    if problem := corner_rows_problem(path, rows):  # it scored ~0 without a word
        log.warning("camera %s: %s", camera, problem)
    if problem := duplicate_id_problem(rows[marked_to_count(rows[:, 6])] if len(rows) else rows):
        raise InputError(f"{path}: {problem}")
    return rows


def warn_if_mot17_classes(gt: np.ndarray, file: Path, benchmark: str = "MOT15") -> None:
    """Warn when ``gt`` carries MOTChallenge class ids other than pedestrian in column 8 and is scored under the
    (resolved) ``benchmark`` MOT15 all the same, which counts its distractors and other classes as people to find:
    because MOT15 was asked for, or because other rows hold whole numbers that are no class id (0, 14, -1: MOT17's
    protocol needs class ids in every row; TrackEval refuses such a file under MOT17)."""
    gt = np.asarray(gt, np.float64)
    if not len(gt) or benchmark != "MOT15" or gt.ndim != 2 or gt.shape[1] < 8:
        return
    column = gt[:, 7]
    other = np.isin(column, _MOT17_OTHER_CLASSES)
    if not other.any() or not bool((column == np.round(column)).all()):  # world coordinates, or -1 everywhere
        return
    if class_ids(gt) is not None:
        counted = other & marked_to_count(gt[:, 6])
        log.warning(
            "%s: %d row(s) carry MOTChallenge class ids other than pedestrian (2-13), %d of them not marked 0: the "
            "MOT15 protocol, as asked, scores those as people to find, and a box on one marked 0 as a false positive "
            "(MOT17's removes distractors and the predictions matched to them: benchmark auto or MOT17)",
            file,
            int(other.sum()),
            int(counted.sum()),
        )
        return
    stray = ~np.isin(column, _CLASS_IDS)
    log.warning(
        "%s: column 8 holds MOTChallenge class ids other than pedestrian in %d row(s) but values that are no class id "
        "in %d (e.g. %g): scored under the MOT15 protocol, which counts every row as a person (MOT17's needs class "
        "ids 1-13 in every row)",
        file,
        int(other.sum()),
        int(stray.sum()),
        float(column[stray][0]),
    )


def warn_if_conf_fractions(gt: np.ndarray, file: Path) -> None:
    """Warn when ground truth's conf column holds fractions between 0 and 1 (MOTChallenge files hold 1 or 0: count
    or ignore): those rows count here (:func:`~mctrack.io.mot.marked_to_count`), while TrackEval reads the column as
    an integer and ignores them, so its numbers for the file differ from these."""
    gt = np.asarray(gt, np.float64)
    if not len(gt):
        return
    conf = gt[:, 6]
    fraction = (np.abs(conf) < 1) & (conf != 0)
    if fraction.any():
        log.warning(
            "%s: %d of its %d rows have a conf between 0 and 1 (e.g. %g), where MOTChallenge ground truth holds 1 "
            "(count) or 0 (ignore): counted here; TrackEval reads the column as an integer and ignores them, so its "
            "scores of this file differ",
            file,
            int(fraction.sum()),
            len(gt),
            float(conf[fraction][0]),
        )


def _warn_if_no_ground_truth(gt: np.ndarray, file: Path, seq: str, keep_zero_marked: bool, benchmark: str) -> None:
    """Warn when ``gt`` leaves nothing to find: every predicted box is then a false positive (its MOTA is 0, as
    TrackEval gives it) and the sequence drags the combined scores down."""
    if not len(gt):
        why = "no rows"
    elif not scored_ground_truth(gt, keep_zero_marked=keep_zero_marked, benchmark=benchmark).any():
        walkers = int((gt[:, 7] == _PEDESTRIAN).sum()) if benchmark != "MOT15" else len(gt)
        if not walkers:
            why = (
                f"none of its {len(gt)} rows is a pedestrian (class 1), the only class the {benchmark} protocol scores"
            )
        elif benchmark != "MOT15":
            why = f"all {walkers} pedestrian rows are marked 0 (conf) and ignored (--keep-zero-marked counts them)"
        else:
            why = f"all {len(gt)} rows are marked 0 (conf) and ignored (--keep-zero-marked counts them)"
    else:
        return
    log.warning(
        "%s: %s: sequence %s has no ground truth, its scores are meaningless (and count in COMBINED)", file, why, seq
    )


def _ignored_rows_in_result(gt: np.ndarray, pred: np.ndarray, keep_zero_marked: bool, benchmark: str) -> int:
    """How many of ``pred``'s rows repeat a ground-truth box that is not scored (conf 0, or under MOT16/17/20 of
    another class than pedestrian and no distractor; same frame and box to the pixel): a result that holds them is
    most likely the ground truth itself (the first check a user makes), whose ignored boxes then count as false
    positives (MOT15 ETH-Bahnhof against itself: MOTA 58.4, not 100)."""
    if not len(gt) or not len(pred):
        return 0
    scored = scored_ground_truth(gt, keep_zero_marked=keep_zero_marked, benchmark=benchmark)
    if benchmark != "MOT15":  # a box on a distractor is removed from the result, not counted
        scored |= np.isin(gt[:, 7], _DISTRACTORS[benchmark])
    ignored = gt[~scored]
    if not len(ignored) or len(ignored) == len(gt):  # nothing ignored, or all: _warn_if_no_ground_truth says that
        return 0
    key = {tuple(r) for r in np.round(ignored[:, [0, 2, 3, 4, 5]]).astype(np.int64).tolist()}
    rows = np.round(pred[:, [0, 2, 3, 4, 5]]).astype(np.int64).tolist()
    return sum(tuple(r) in key for r in rows)


def evaluate_folders(gt_dir: str | Path, pred_dir: str | Path, **options) -> dict[str, dict]:
    """Evaluate ``PRED/<seq>.txt`` against ``GT/<seq>/gt/gt.txt`` (+ ``seqinfo.ini``) for every sequence.

    Returns ``{sequence: summary, ..., "COMBINED": summary}``. Keyword options as
    :func:`evaluate_folder_sequences`: ``sequences`` (default: every ``GT/<seq>`` with a ``gt/gt.txt``),
    ``keep_zero_marked`` (also count GT rows with conf 0), ``missing_ok`` (a sequence without a result file is
    scored as an empty prediction, all misses, instead of raising :class:`InputError`), ``benchmark`` (the
    protocol, :func:`resolve_benchmark`; default ``"auto"``).
    """
    results = evaluate_folder_sequences(gt_dir, pred_dir, **options)
    out = {seq: r["summary"] for seq, r in results.items()}
    out["COMBINED"] = combine(list(results.values()))["summary"]
    return out


def evaluate_folder_sequences(
    gt_dir: str | Path,
    pred_dir: str | Path,
    *,
    sequences: list[str] | None = None,
    keep_zero_marked: bool = False,
    missing_ok: bool = False,
    by_identity: bool = False,
    pred_option: str = "--pred",
    benchmark: str = "auto",
) -> dict[str, dict]:
    """``{sequence: evaluate_sequence's result}`` (summary and raw; with ``by_identity`` also the identities) for
    every sequence of ``GT`` (or ``sequences``), without a combined row: any subset can then be pooled with
    :func:`combine`. A sequence without
    ``PRED/<seq>.txt`` is an :class:`InputError` unless ``missing_ok`` (then it is scored as an empty prediction);
    GT rows with conf 0 are ignored unless ``keep_zero_marked``; each sequence is scored under the protocol
    ``benchmark`` means for its ground truth (:func:`resolve_benchmark`: ``"auto"`` takes MOT17's for MOT16/17
    ground truth with its classes, MOT15's otherwise; said per sequence when not MOT15). ``pred_option``: the option
    that named the results folder, for the hints of errors."""
    if benchmark not in BENCHMARKS:  # before any file is read
        raise ValueError(f"benchmark: must be one of {', '.join(BENCHMARKS)}, got {benchmark!r}")
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    for folder, what in ((gt_dir, "ground-truth folder (<sequence>/gt/gt.txt)"), (pred_dir, "results folder")):
        if folder.is_file():
            raise InputError(f"{folder}: a file, not a {what}; give the folder that holds it")
        if not folder.is_dir():
            raise InputError(f"{folder}: {what.split(' (')[0]} not found")
    every_sequence = sequences is None
    if sequences is None:
        sequences = sorted(p.name for p in gt_dir.iterdir() if (p / "gt" / "gt.txt").is_file())
        # a sequence folder (seqinfo.ini) without its gt.txt, for which there is a result: TrackEval stops there; it
        # was left out of the pooled scores, its result file called one that matches no sequence
        lacking = sorted(
            p.name
            for p in gt_dir.iterdir()
            if (p / "seqinfo.ini").is_file()
            and not (p / "gt" / "gt.txt").is_file()
            and any((pred_dir / f"{n}.txt").is_file() for n in (p.name, safe_file_name(p.name)))
        )
        if lacking:
            raise InputError(
                f"{gt_dir / lacking[0] / 'gt' / 'gt.txt'}: file not found (sequence {lacking[0]} has a seqinfo.ini "
                f"and a result file in {pred_dir}"
                + (f"; so have {', '.join(lacking[1:4])}{' ...' if len(lacking) > 4 else ''}" if lacking[1:] else "")
                + "); to score the others, name them with --sequences"
            )
    else:
        sequences = [_sequence_name(seq, gt_dir) for seq in sequences]
    if not sequences:
        hint = ""
        if (gt_dir / "gt" / "gt.txt").is_file():  # a sequence folder itself: its parent is the ground-truth folder
            parent = gt_dir.resolve().parent
            hint = f"; this is a sequence folder: give its parent, {parent}, with --sequences {gt_dir.name}"
        else:  # a benchmark's root (MOT17 with train/ and test/): the folders that hold sequences
            holders = sorted(p for p in gt_dir.iterdir() if p.is_dir() and any(p.glob("*/gt/gt.txt")))
            if holders:
                verb = "hold" if len(holders) > 1 else "holds"
                hint = f"; its folder{'s' * (len(holders) > 1)} {', '.join(p.name for p in holders[:3])} {verb} them: "
                hint += f"give {holders[0]}"
        raise InputError(f"{gt_dir}: no sequences (expected <sequence>/gt/gt.txt){hint}")
    if every_sequence:  # a misspelled result file is otherwise ignored (and with missing_ok its sequence scored empty)
        known = {f"{n}.txt" for seq in sequences for n in (seq, safe_file_name(seq))}
        if (pred_dir / "summary.json").is_file():  # a `mctrack run` folder: all cameras' rows, written by the run
            known.add("aicity.txt")
        stray = sorted(p.name for p in pred_dir.glob("*.txt") if p.name not in known)
        if stray:
            log.warning(
                "%s: %d result file(s) match no sequence of %s and are not scored: %s",
                pred_dir,
                len(stray),
                gt_dir,
                ", ".join(stray[:5]) + (" ..." if len(stray) > 5 else ""),
            )
    repeated = sorted({seq for seq in sequences if list(sequences).count(seq) > 1})
    if repeated:
        raise InputError(f"sequences: {', '.join(repeated)} listed more than once (it would be counted twice)")
    unknown = [seq for seq in sequences if not (gt_dir / seq).is_dir()]
    if unknown:  # else the first file looked for (its seqinfo.ini) would be reported missing
        there = sorted(p.name for p in gt_dir.iterdir() if (p / "gt" / "gt.txt").is_file())
        listed = ", ".join(there[:20]) + (" ..." if len(there) > 20 else "") if there else "none"
        raise InputError(
            f"{gt_dir}: no sequence {', '.join(unknown)} in this ground-truth folder (sequences there: {listed})"
        )
    out: dict[str, dict] = {}
    for seq in sequences:
        info_file, gt_file = gt_dir / seq / "seqinfo.ini", gt_dir / seq / "gt" / "gt.txt"
        length = read_seq_length(info_file)
        gt = load_mot_txt(gt_file, check_sizes=True, file_order=True)  # TrackEval's order decides its ties
        bench = resolve_benchmark(benchmark, gt, seq, gt_file)
        warn_if_mot17_classes(gt, gt_file, bench)
        if not keep_zero_marked:
            warn_if_conf_fractions(gt, gt_file)
        if problem := corner_rows_problem(gt_file, gt):  # it scored ~0 without a word
            log.warning("%s", problem)
        _warn_if_no_ground_truth(gt, gt_file, seq, keep_zero_marked, bench)
        pred_file = pred_dir / f"{seq}.txt"
        if not pred_file.is_file() and (pred_dir / f"{safe_file_name(seq)}.txt").is_file():
            pred_file = pred_dir / f"{safe_file_name(seq)}.txt"  # as mctrack track names it ("My Seq" -> My_Seq)
        if pred_file.is_file():
            pred = load_mot_txt(pred_file, check_sizes=True, file_order=True)
            if not len(pred):  # a tracker that wrote nothing: scored 0, which is right, but say why
                log.warning("%s: no rows: sequence %s is scored as tracked with no box", pred_file, seq)
            if stale := _earlier_run_result(pred_dir, seq):
                log.warning("%s: %s", pred_file, stale)
            why = incomplete_result(pred_file, len(pred))
            if why:  # mctrack track stopped before the end: the frames it never saw count as missed
                log.warning(
                    "%s: an incomplete result (its record %s: %s): scored as it is, the frames it lacks as missed",
                    pred_file,
                    pred_file.with_suffix(".json").name,
                    why,
                )
        elif missing_ok:  # scored as tracked with no box, as asked; said, so that a typo is not silent
            log.warning(
                "%s: no result file: sequence %s is scored as tracked with no box (--missing-ok)", pred_file, seq
            )
            pred = np.zeros((0, 10))
        else:
            where = pred_dir / "data"
            # TrackEval's layout, <trackers>/<tracker>/data/<sequence>.txt: --pred given the tracker's folder, or
            # the trackers' folder above it
            found = sorted(pred_dir.glob(f"*/data/{pred_file.name}")) if pred_dir.is_dir() else []
            # one mctrack track --out per tracker, RUNS/<tracker>/<sequence>.txt: --pred given RUNS
            runs = sorted(pred_dir.glob(f"*/{pred_file.name}")) if pred_dir.is_dir() else []
            if (where / pred_file.name).is_file():
                hint = f"; it is in {where} (TrackEval's tracker layout): give {pred_option} {where}"
            elif found:
                places = ", ".join(str(f.parent) for f in found[:3]) + (", ..." if len(found) > 3 else "")
                hint = f"; TrackEval's trackers layout holds it in {places}: give {pred_option} one of those folders"
            elif runs:
                places = ", ".join(str(f.parent) for f in runs[:3]) + (", ..." if len(runs) > 3 else "")
                hint = f"; a results folder each, {places}, holds it: give {pred_option} one of those folders"
            else:  # (the options of mctrack eval, whose keyword arguments these are)
                subset = "" if not every_sequence else "--sequences to evaluate a subset, or "
                hint = f" (use {subset}--missing-ok to score it as tracked with no box)"
            raise InputError(f"{pred_file}: result file not found for sequence {seq}{hint}")
        _check_frames(gt, length, gt_file, info_file)
        _check_frames(pred, length, pred_file, info_file)
        if (repeated := _ignored_rows_in_result(gt, pred, keep_zero_marked, bench)) >= max(1, 0.05 * len(pred)):
            marked = "marks to ignore (conf 0)" if bench == "MOT15" else "does not score (conf 0, or no pedestrian)"
            log.warning(
                f"%s: %d of its %d rows repeat boxes that %s {marked}: they count as false positives "
                "(the ground truth scored against itself? drop its rows that are not scored, or --keep-zero-marked)",
                pred_file,
                repeated,
                len(pred),
                gt_file,
            )
        _warn_if_columns_swapped(pred, gt, pred_file)
        if not _warn_if_corner_boxes(pred, gt, pred_file, info_file) and (
            corners := corner_rows_problem(pred_file, pred)  # also without a seqinfo.ini frame size
        ):
            log.warning("%s", corners)
        out[seq] = evaluate_sequence(
            gt,
            pred,
            length,
            keep_zero_marked=keep_zero_marked,
            name=str(pred_file),
            gt_name=str(gt_file),
            by_identity=by_identity,
            benchmark=bench,
        )
        if bench != "MOT15":
            scored = scored_ground_truth(gt, keep_zero_marked=keep_zero_marked, benchmark=bench)
            log.info(
                "%s: scored under TrackEval's %s protocol (class ids in column 8 of %s): %d of the ground truth's %d "
                "rows are people to find (pedestrians%s); %d box(es) of the result on a distractor not counted",
                pred_file,
                bench,
                gt_file,
                int(scored.sum()),
                len(gt),
                "" if keep_zero_marked else " not marked 0",
                out[seq]["removed_tracker_dets"],
            )
    return out


def _sequence_name(seq: str, gt_dir: Path) -> str:
    """A ``--sequences`` entry as a sequence's folder name: a trailing slash (tab completion) dropped; a path is
    refused (``../x`` looked for its result file outside the results folder)."""
    name = seq.rstrip("/" + os.sep)
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise InputError(f"sequences: {seq!r} is not a sequence name (the name of a folder in {gt_dir})")
    return name


_MIN_ROWS_FOR_FORMAT_CHECK = 20


def _earlier_run_result(pred_dir: Path, seq: str) -> str | None:
    """Why ``pred_dir/<seq>.txt`` is not a result of the ``mctrack run`` that ``pred_dir/summary.json`` records (a
    rerun into the folder with fewer cameras leaves the earlier run's file, its global ids from another linking);
    None when it is, or when the folder holds no run summary."""
    summary = pred_dir / "summary.json"
    try:
        cameras = json.loads(summary.read_text())["cameras"]
    except Exception:  # noqa: BLE001 - no summary, or not a run's: nothing to compare with
        return None
    if not isinstance(cameras, dict) or not cameras or seq in cameras:
        return None
    shown = ", ".join(sorted(cameras)[:6]) + (" ..." if len(cameras) > 6 else "")
    return (
        f"not a result of the run that {summary} records (its cameras: {shown}): an earlier run's file left in the "
        "folder, whose ids come from another run; scored as it is"
    )


def _warn_if_columns_swapped(pred: np.ndarray, gt: np.ndarray, pred_file: Path) -> bool:
    """Warn when the result's ids, not its frames, cover the ground truth's frames: the file is most likely written
    as id, frame (another tool's order), and would be scored low without an error. Whether it warned."""
    if len(pred) < _MIN_ROWS_FOR_FORMAT_CHECK or not len(gt):
        return False
    gt_frames = np.unique(gt[:, 0])
    by_frame = np.isin(gt_frames, pred[:, 0]).mean()  # the ground truth's frames the result's frames cover
    by_id = np.isin(gt_frames, pred[:, 1]).mean()  # ... that its ids do
    if by_frame < 0.3 and by_id > 0.7:
        log.warning(
            "%s: its rows cover %.0f%% of the ground truth's frames in the frame column but %.0f%% in the id column: "
            "are the first two columns swapped? MOTChallenge rows are frame, id, left, top, width, height, ...",
            pred_file,
            100 * by_frame,
            100 * by_id,
        )
        return True
    return False


def _warn_if_corner_boxes(pred: np.ndarray, gt: np.ndarray, pred_file: Path, info_file: Path) -> bool:
    """Warn when many result boxes reach far beyond the frame of ``info_file`` (its imWidth x imHeight) while the
    ground truth's do not: the file is most likely written as x1, y1, x2, y2, and would be scored as boxes twice
    the size, low but without an error. Whether it warned."""
    if len(pred) < _MIN_ROWS_FOR_FORMAT_CHECK:  # a handful of boxes at the edge says nothing about the format
        return False
    size = read_frame_size(info_file)
    if size is None:
        return False
    far, gt_far = share_far_outside(pred, *size), share_far_outside(gt, *size)
    if far > 0.2 and far > 2 * gt_far:
        log.warning(
            "%s: %.0f%% of the boxes reach more than 10%% beyond the %dx%d frame of %s (ground truth: %.0f%%): is "
            "the file written as x1,y1,x2,y2? MOTChallenge files hold left,top,width,height",
            pred_file,
            100 * far,
            *size,
            info_file,
            100 * gt_far,
        )
        return True
    return False


TABLE_FIELDS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN")


def _cell(text: str, width: int) -> str:
    """``text`` right-aligned in ``width`` characters; one wider (a MOTA of -410100.0 on a sequence without
    ground truth) still gets a leading space, so that table columns never run together."""
    return text.rjust(width) if len(text) < width else " " + text


def format_percent(fraction: float, width: int = 8) -> str:
    """``fraction`` as a percentage with one decimal, right-aligned in ``width`` characters, always after at least
    one space; a value that rounds to zero prints ``0.0`` (never ``-0.0``, as a slightly negative MOTA would)."""
    return _cell(f"{round(100 * fraction, 1) + 0.0:.1f}", width)


def format_table(metrics: dict[str, dict], fields: tuple[str, ...] = TABLE_FIELDS) -> str:
    """A fixed-width text table; fractions printed as percentages with one decimal."""
    width = max(12, *(len(k) for k in metrics)) + 2
    lines = ["sequence".ljust(width) + "".join(f"{f:>8}" for f in fields)]
    for name, m in metrics.items():
        cells = [format_percent(m[f]) if isinstance(m[f], float) else _cell(str(m[f]), 8) for f in fields]
        lines.append(name.ljust(width) + "".join(cells))
    return "\n".join(lines)


def coverage_spans(covered_by: np.ndarray) -> list[tuple[int, int, int]]:
    """A ground-truth id's frame-by-frame coverage (:func:`identity_matches`' ``covered_by``) as runs of
    (first frame, last frame, tracker id covering them, -1: none); a frame the id is absent from breaks a run."""
    spans: list[tuple[int, int, int]] = []
    start = 0
    for k in range(1, len(covered_by) + 1):
        if (
            k < len(covered_by)
            and covered_by[k, 1] == covered_by[start, 1]
            and covered_by[k, 0] == covered_by[k - 1, 0] + 1
        ):
            continue
        spans.append((int(covered_by[start, 0]), int(covered_by[k - 1, 0]), int(covered_by[start, 1])))
        start = k
    return spans


def coverage_runs(covered_by: np.ndarray) -> str:
    """:func:`coverage_spans` as text: ``1-73 -, 74 10, 75-179 12`` (frames, then the tracker id; ``-`` none)."""
    return ", ".join(
        f"{first if first == last else f'{first}-{last}'} {'-' if track < 0 else track}"
        for first, last, track in coverage_spans(covered_by)
    )


def identities_json(identities: list[dict]) -> list[dict]:
    """:func:`identity_matches`' entries for a JSON file: ``covered_by`` as its :func:`coverage_spans`."""
    return [{**e, "covered_by": [list(span) for span in coverage_spans(e["covered_by"])]} for e in identities]


def format_identities(name: str, identities: list[dict]) -> str:
    """One sequence's :func:`identity_matches` as a table: per ground-truth id its rows, the track IDF1's
    assignment gives it and the rows that track covers there (IDTP), and which tracks cover it frame by frame."""
    lines = [
        f"{name}: per ground-truth id, the track IDF1 gives it, the rows that track covers (IDTP), and who covers it"
    ]
    lines.append(f"{'gt id':>7}{'frames':>8}{'track':>7}{'IDTP':>7}  covered by (frames tracker-id; - none)")
    if not identities:
        lines.append("  (no ground-truth ids)")
    for e in identities:
        track = "-" if e["track_id"] is None else str(e["track_id"])
        lines.append(f"{e['gt_id']:>7}{e['frames']:>8}{track:>7}{e['idtp']:>7}  {coverage_runs(e['covered_by'])}")
    return "\n".join(lines)


def format_identity_diff(name: str, a: dict, b: dict, labels: tuple[str, str]) -> str:
    """Where two results of one sequence (``a``, ``b``: :func:`evaluate_sequence` results with ``identities``)
    differ in IDF1: its totals (IDF1 = 2 IDTP / (ground-truth rows + result rows), so rows that match no one's
    assigned id lower it too), then every ground-truth id whose IDTP differs, with both results' coverage."""
    ia, ib = a["raw"]["identity"], b["raw"]["identity"]
    da, db = a["raw"]["counts"]["Dets"], b["raw"]["counts"]["Dets"]
    changed = [(x, y) for x, y in zip(a["identities"], b["identities"]) if x["idtp"] != y["idtp"]]
    la, lb = labels
    lines = [
        f"{name}: IDF1 {100 * a['summary']['IDF1']:.1f} ({la}) vs {100 * b['summary']['IDF1']:.1f} ({lb}); IDTP "
        f"{ia['IDTP']} vs {ib['IDTP']}, result rows {da} vs {db}; {len(changed)} of {len(a['identities'])} "
        "ground-truth ids differ in IDTP"
    ]
    if changed:
        lines.append(f"{'gt id':>7}{'frames':>8}{'track A':>9}{'IDTP A':>8}{'track B':>9}{'IDTP B':>8}{'B - A':>7}")
    for x, y in sorted(changed, key=lambda pair: pair[1]["idtp"] - pair[0]["idtp"]):
        ta = "-" if x["track_id"] is None else str(x["track_id"])
        tb = "-" if y["track_id"] is None else str(y["track_id"])
        lines.append(
            f"{x['gt_id']:>7}{x['frames']:>8}{ta:>9}{x['idtp']:>8}{tb:>9}{y['idtp']:>8}{y['idtp'] - x['idtp']:>+7}"
        )
        lines.append(f"{'':>9}A: {coverage_runs(x['covered_by'])}")
        lines.append(f"{'':>9}B: {coverage_runs(y['covered_by'])}")
    return "\n".join(lines)


def write_json(path: str | Path, metrics: dict[str, dict]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(metrics, indent=2, sort_keys=False) + "\n", encoding="utf-8")
