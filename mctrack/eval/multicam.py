"""Multi-camera evaluation: per-camera HOTA/MOTA/IDF1 and cross-camera IDF1/HOTA on frame-shifted concatenation.

Every box carries its global id (ground truth: the person's id, the same in every camera; results: the linker's
global id). Camera ``k`` (cameras sorted by id, so the listing order does not matter) has its frames shifted by
``k x SHIFT`` with ``SHIFT`` larger than any camera's length, and the concatenation is evaluated as one
sequence: a person who keeps one global id across cameras is one identity there, so IDF1 and HOTA(AssA) count
every cross-camera split or merge, which per-camera metrics cannot see.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

import numpy as np

from .mot import class_ids, combine, evaluate_sequence, format_percent, resolve_benchmark, scored_ground_truth

__all__ = ["shift_frames", "camera_set_benchmark", "evaluate_multicam", "format_multicam"]

log = logging.getLogger(__name__)


def shift_frames(rows: np.ndarray, offset: int) -> np.ndarray:
    """MOT rows with ``offset`` added to the frame column (a copy)."""
    rows = np.array(rows, np.float64, copy=True).reshape(-1, np.shape(rows)[-1] if np.size(rows) else 10)
    rows[:, 0] += offset
    return rows


def camera_set_benchmark(gt: Mapping[str, np.ndarray], benchmark: str = "auto") -> str:
    """One protocol for a camera set's ground truth ``{camera: rows}``
    (:func:`~mctrack.eval.mot.resolve_benchmark`): an explicit one is checked camera by camera (an
    :class:`~mctrack.errors.InputError` names the camera); ``"auto"`` gives MOT17's when any camera's ground truth
    carries class ids other than pedestrian (the cameras without class ids are then scored with every row a
    pedestrian, as MOT15's protocol scores them), else MOT15's. Camera ids are no sequence names: ``"auto"`` never
    gives MOT20's here; ask for it."""
    if benchmark == "auto":
        return "MOT17" if any(resolve_benchmark("auto", gt[c]) != "MOT15" for c in gt) else "MOT15"
    for c in sorted(gt):
        resolve_benchmark(benchmark, gt[c], file=f"camera {c}")
    return benchmark


def _as_pedestrians(rows: np.ndarray, benchmark: str) -> np.ndarray:
    """A camera's ground truth as the set's protocol reads it: under MOT16/17/20, rows without class ids (MOT15-style
    ground truth of this camera) become pedestrians, every row a person as MOT15's protocol counts them."""
    if benchmark == "MOT15" or not len(rows) or class_ids(rows) is not None:
        return rows
    out = np.full((len(rows), max(rows.shape[1], 8)), -1.0)
    out[:, : rows.shape[1]] = rows
    out[:, 7] = 1
    return out


def evaluate_multicam(
    gt: Mapping[str, np.ndarray],
    pred: Mapping[str, np.ndarray],
    lengths: Mapping[str, int],
    *,
    keep_zero_marked: bool = False,
    global_gt_ids: bool = True,
    benchmark: str = "auto",
) -> dict:
    """Metrics of every camera in ``gt`` and of their frame-shifted concatenation.

    Args:
        gt: ``{camera: MOT ground-truth rows}`` with global person ids.
        pred: ``{camera: MOT result rows}`` with global ids; a camera missing here is scored as empty.
        lengths: ``{camera: frames}``; ``SHIFT`` is the largest length + 1.
        global_gt_ids: ground-truth ids name the same person in every camera; ``False`` (e.g. unrelated MOT
            sequences, each numbering its people from 1) makes them distinct per camera before concatenating.
        benchmark: the protocol, one for all cameras (:func:`camera_set_benchmark`), so that every camera and the
            cross-camera row are scored alike; said in one line when it is not MOT15's.

    Returns ``{"per_camera": {cam: summary}, "combined": summary, "mean_per_camera": {...}, "cross_camera":
    summary, "shift": SHIFT, "cameras": [...]}`` (summaries as :func:`~mctrack.eval.mot.evaluate_sequence`).
    """
    cams = sorted(gt)
    if not cams:
        raise ValueError("gt: no camera has ground truth")
    for c in cams:
        if c not in lengths or int(lengths[c]) < 1:
            raise ValueError(f"lengths: camera {c!r} needs a length >= 1")
    shift = max(int(lengths[c]) for c in cams) + 1
    bench = camera_set_benchmark(gt, benchmark)
    gt = {c: _as_pedestrians(np.asarray(gt[c], np.float64), bench) for c in cams}
    if bench != "MOT15":
        log.info(
            "ground truth with MOTChallenge class ids (column 8): every camera scored under TrackEval's %s protocol "
            "(boxes on distractors are not counted; only pedestrians are people to find)",
            bench,
        )
    id_step = 1 + max((int(gt[c][:, 1].max()) for c in cams if len(gt[c])), default=0)
    empty = np.zeros((0, 10))
    per, results, gt_cat, pred_cat = {}, [], [], []
    for k, c in enumerate(cams):
        p = pred.get(c, empty)
        r = evaluate_sequence(gt[c], p, int(lengths[c]), keep_zero_marked=keep_zero_marked, name=c, benchmark=bench)
        per[c] = r["summary"]
        results.append(r)
        # the rows the camera's own score leaves out (frames outside 1..length, said there) are left out here too:
        # shifted, a row past one camera's end fell into the next camera's frames and was scored there
        g = _within(gt[c], int(lengths[c]))
        g = shift_frames(g, k * shift)[:, :10] if len(g) else np.zeros((0, 10))
        if not global_gt_ids:
            g[:, 1] += k * id_step
        gt_cat.append(g)
        p = _within(np.asarray(p, np.float64), int(lengths[c]))
        pred_cat.append(shift_frames(p, k * shift)[:, :10] if len(p) else np.zeros((0, 10)))
    g = _pad(gt_cat)
    q = _pad(pred_cat)
    cross = evaluate_sequence(
        g, q, shift * len(cams), keep_zero_marked=keep_zero_marked, name="cross-camera", benchmark=bench
    )
    # a camera with nothing to find scores every box as a false positive: its row says so, the mean leaves it out
    # (the combined and cross-camera rows count its false positives)
    scored = [c for c in cams if scored_ground_truth(gt[c], keep_zero_marked=keep_zero_marked, benchmark=bench).any()]
    mean = {f: float(np.mean([per[c][f] for c in scored])) if scored else None for f in ("HOTA", "IDF1", "MOTA")}
    return {
        "cameras": cams,
        "shift": shift,
        "per_camera": per,
        "combined": combine(results)["summary"],
        "mean_per_camera": mean,
        "without_ground_truth": [c for c in cams if c not in scored],
        # how it was scored, for a table that says so: the benchmark's protocol as TrackEval runs it
        "protocol": {
            "benchmark": bench,
            "match_iou": 0.5,
            "hota_iou": "0.05 to 0.95 in steps of 0.05",
            "ground_truth_rows_marked_0": "counted" if keep_zero_marked else "ignored",
            "ground_truth_ids": "global" if global_gt_ids else "per_camera",
            "cross_camera": f"every camera's frames shifted by {shift} x its index (cameras in name order) and "
            "concatenated into one sequence",
        },
        "cross_camera": cross["summary"],
    }


def _within(rows: np.ndarray, length: int) -> np.ndarray:
    """The MOT ``rows`` whose frame lies in ``1..length``."""
    if not len(rows):
        return rows
    return rows[(rows[:, 0] >= 1) & (rows[:, 0] <= length)]


def _pad(parts: list[np.ndarray]) -> np.ndarray:
    out = []
    for p in parts:
        full = np.full((len(p), 10), -1.0)
        full[:, : p.shape[1]] = p
        out.append(full)
    return np.concatenate(out) if out else np.zeros((0, 10))


def format_multicam(result: dict, failed: Collection[str] = ()) -> str:
    """A text table: one row per camera, the per-camera mean and the cross-camera (concatenated) row; the cameras
    in ``failed`` (their streams broke) are marked, with a note on how they were scored."""
    fields = ("HOTA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "IDs")
    failed = [c for c in result["cameras"] if c in set(failed)]
    unscored = set(result.get("without_ground_truth", ()))
    width = max(14, *(len(c) + 2 + 2 * (c in failed) + 2 * (c in unscored) for c in result["cameras"]))
    lines = ["camera".ljust(width) + "".join(f"{f:>8}" for f in fields)]

    def row(name: str, m: dict) -> str:
        cells = [format_percent(m[f]) if isinstance(m[f], float) else f"{m[f]:8d}" for f in fields]
        return name.ljust(width) + "".join(cells)

    for c in result["cameras"]:
        lines.append(row(c + (" *" if c in failed else "") + (" ~" if c in unscored else ""), result["per_camera"][c]))
    m = result["mean_per_camera"]

    def mean(f: str) -> str:
        return format_percent(m[f]) if m[f] is not None else f"{'-':>8}"

    lines.append("mean".ljust(width) + mean("HOTA") + " " * 8 + mean("MOTA") + mean("IDF1"))
    lines.append(row("cross-camera", result["cross_camera"]))
    if unscored:
        lines.append(
            "~ no ground-truth row to score against: every box it reported is a false positive; left out of the "
            "mean, counted in the cross-camera row"
        )
    if failed:
        lines.append(
            "* failed: scored on its ground truth as far as the run should have covered it, what it did not "
            "track counted as missed (in the mean and cross-camera rows too)"
        )
    return "\n".join(lines)
