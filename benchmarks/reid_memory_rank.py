"""How well an embedder tells a video's people apart where a tracker needs it: memory ranking on real footage.

    python benchmarks/reid_memory_rank.py                                   # the shipped embedders, both videos
    python benchmarks/reid_memory_rank.py --embedders laga:runs/reid/laga-.../model.pt colorhist --lags 10 40

A tracker that lost a person compares the detections of a later frame with the appearance it remembers of every
track. This measures that comparison alone, from the ground truth of the two MOT15 sequences with video, without the
tracker's thresholds and without its chain of decisions (where one identity event on TUD-Stadtmitte's ten people
moves IDF1 by several points): at every ``--step``-th frame ``t`` of the frames read (every ``--stride``-th of the
video), each person seen then and also in the window ``[t - lag - window, t - lag]`` is a query; the memory of every
person seen in that window is the renormalised mean of their features there (as the tracker's running mean); the
query ranks its own memory first when its cosine distance to it is smaller than to every other memory. Printed per
sequence, embedder and lag: that accuracy (%), the median margin (distance to the nearest other memory minus to its
own) and the number of queries. Ground-truth boxes at least ``--min-height`` pixels tall, cut as the tracker cuts
detections (``embedder(image, Detections)``).

``--boxes detections`` embeds the public detections instead (``det/det.txt``, score at least ``--min-score``),
each named after the ground-truth person it covers (IoU at least 0.5, matched one to one per frame; a detection
of no one is left out): the crops the tracker actually compares. The ground truth also boxes people hidden
behind others (MOT15's files have no visibility column), whom no detector finds and the tracker never compares.

``--scene-centre`` adds rows whose features have the running mean of every feature seen so far in the video
subtracted (test-time centring on the scene, a common domain-adaptation step for Re-ID).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.embed import build_embedder  # noqa: E402
from mctrack.errors import InputError, MctrackError, first_line, missing_file  # noqa: E402
from mctrack.io.mot import load_mot_txt, marked_to_count  # noqa: E402
from mctrack.track.matching import iou_matrix  # noqa: E402
from mctrack.types import Detections  # noqa: E402
from mctrack.weights import default_weights, resolve_weights  # noqa: E402

SEQUENCES = {"PETS09-S2L1": "PETS09-S2L1.avi", "TUD-Stadtmitte": "TUD-Stadtmitte.mp4"}
SHIPPED = ("colorhist", "laga", "laga:laga_samples", "can", "global")
NETWORKS = ("laga", "can", "global")


def make_embedder(spec: str):
    """``reid`` or ``reid:weights`` (a file or a bundled name) -> embedder; a network without weights gets its
    bundled default, as ``mctrack track`` does."""
    reid, _, weights = spec.partition(":")
    if reid not in NETWORKS:
        if weights:
            raise SystemExit(f"--embedders {spec}: {reid} takes no weights")
        return build_embedder(reid)
    path = resolve_weights(weights, option=f"--embedders {spec}: weights") if weights else default_weights(reid)
    if path is None:
        raise SystemExit(f"--embedders {spec}: no checkpoint bundled for {reid}; give reid:weights")
    return build_embedder(reid, weights=path, device="cpu")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def scene_centred(frames: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """Each feature minus the mean of every feature up to and including its frame, renormalised (what a tracker
    could do online)."""
    order = np.argsort(frames, kind="stable")
    ordered = feats[order]
    seen = np.cumsum(ordered, axis=0)
    # the whole frame is seen at once: every row of a frame takes the mean through that frame's last row
    last_of_frame = np.searchsorted(frames[order], frames[order], side="right") - 1
    mean = seen[last_of_frame] / (last_of_frame + 1)[:, None]
    out = np.empty_like(feats)
    out[order] = unit(ordered - mean)
    return out


def memory_rank(
    frames: np.ndarray, ids: np.ndarray, feats: np.ndarray, lag: int, window: int = 10, step: int = 3
) -> tuple[float, float, int]:
    """(share of queries ranking their own memory first, median margin, queries) as described in the module doc;
    ``frames``, ``ids``: per row; ``feats``: unit features per row. NaN accuracy and margin without a query."""
    hits, margins = 0, []
    for t in np.unique(frames)[::step]:
        win = (frames >= t - lag - window) & (frames <= t - lag)
        people = np.unique(ids[win])
        if len(people) < 2:
            continue
        memory = unit(np.stack([feats[win & (ids == p)].mean(0) for p in people]))
        for i in np.flatnonzero(frames == t):
            own = people == ids[i]
            if not own.any():
                continue
            d = 1.0 - memory @ feats[i]
            margin = float(d[~own].min() - d[own][0])
            hits += margin > 0
            margins.append(margin)
    if not margins:
        return float("nan"), float("nan"), 0
    return hits / len(margins), float(np.median(margins)), len(margins)


def ground_truth_boxes(root: Path, min_height: float) -> np.ndarray:
    """``(frame, id, x, y, w, h)`` rows of the sequence's ground truth boxes at least ``min_height`` px tall."""
    gt = load_mot_txt(root / "gt" / "gt.txt")
    gt = gt[marked_to_count(gt[:, 6]) & (gt[:, 5] >= min_height)]
    return gt[:, :6]


def detection_boxes(root: Path, min_height: float, min_score: float, min_iou: float = 0.5) -> np.ndarray:
    """``(frame, id, x, y, w, h)`` rows of the sequence's public detections (``det/det.txt``) scoring at least
    ``min_score`` and at least ``min_height`` px tall, each named after the ground-truth person it covers: matched
    one to one per frame by IoU (Hungarian, at least ``min_iou``); detections of no one are left out."""
    det = load_mot_txt(root / "det" / "det.txt")
    det = det[(det[:, 6] >= min_score) & (det[:, 5] >= min_height)]
    gt = load_mot_txt(root / "gt" / "gt.txt")
    gt = gt[marked_to_count(gt[:, 6])]
    out = []
    for frame in np.intersect1d(det[:, 0], gt[:, 0]):
        d, g = det[det[:, 0] == frame], gt[gt[:, 0] == frame]
        iou = iou_matrix(np.c_[d[:, 2:4], d[:, 2:4] + d[:, 4:6]], np.c_[g[:, 2:4], g[:, 2:4] + g[:, 4:6]])
        rows, cols = linear_sum_assignment(-iou)
        ok = iou[rows, cols] >= min_iou
        named = d[rows[ok], :6].copy()
        named[:, 1] = g[cols[ok], 1]
        out.append(named)
    return np.concatenate(out) if out else np.zeros((0, 6))


def box_features(root: Path, video: str, boxes: np.ndarray, embedders: dict, stride: int):
    """(frames, ids, {name: features}) of ``boxes`` (``(frame, id, x, y, w, h)`` rows, 1-based frames) in every
    ``stride``-th frame of the sequence's video, for every embedder of ``embedders`` (the video is decoded once)."""
    cap = cv2.VideoCapture(str(root / video))
    if not cap.isOpened():
        raise InputError(f"{root / video}: cannot open the video")
    frames, ids = [], []
    feats: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    frame = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frame += 1  # MOT frames are 1-based; video frame 0 is frame 1
        rows = boxes[boxes[:, 0] == frame]
        if frame % stride or not len(rows):
            continue
        xyxy = np.c_[rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]].astype(np.float32)
        dets = Detections(xyxy=xyxy, score=np.ones(len(rows), np.float32))
        for name, embedder in embedders.items():
            feats[name].append(np.asarray(embedder(image, dets), np.float64))
        frames.append(rows[:, 0])
        ids.append(rows[:, 1])
    cap.release()
    if not frames:
        raise InputError(f"{root / video}: no frame read with a box to embed")
    return np.concatenate(frames), np.concatenate(ids), {name: np.concatenate(f) for name, f in feats.items()}


def main(argv: list[str] | None = None) -> int:
    first, _, rest = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(
        description=first, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=rest.strip()
    )
    data = ROOT.parent / "shared" / "data" / "mot15"
    ap.add_argument("--data", default=str(data), help=f"MOT15 folder (default: {data})")
    ap.add_argument(
        "--embedders", nargs="+", default=list(SHIPPED), help="reid or reid:weights (default: the shipped ones)"
    )
    ap.add_argument("--sequences", nargs="+", default=list(SEQUENCES), choices=list(SEQUENCES))
    ap.add_argument(
        "--lags", nargs="+", type=int, default=[10, 40], help="frames between memory and query (default: 10 40)"
    )
    ap.add_argument("--window", type=int, default=10, help="frames of the memory (default 10)")
    ap.add_argument("--step", type=int, default=3, help="query every STEP-th frame read (default 3)")
    ap.add_argument("--stride", type=int, default=2, help="read every STRIDE-th frame (default 2)")
    ap.add_argument("--min-height", type=float, default=40.0, help="smallest box height in pixels (default 40)")
    ap.add_argument(
        "--boxes",
        choices=("gt", "detections"),
        default="gt",
        help="whose boxes are embedded: the ground truth's (default) or the public detections named after the "
        "ground-truth person each covers (IoU >= 0.5, one to one), the crops a tracker actually compares",
    )
    ap.add_argument(
        "--min-score",
        type=float,
        default=0.7,
        help="with --boxes detections: least detection score (default 0.7, the tracker's first association's)",
    )
    ap.add_argument("--scene-centre", action="store_true", help="also rows with the scene's running mean removed")
    args = ap.parse_args(argv)
    if min(args.lags) < 1 or args.window < 0 or args.step < 1 or args.stride < 1:
        ap.error("--lags and --step, --stride must be >= 1, --window >= 0")
    try:
        return run(args)
    except (MctrackError, ValueError, OSError) as exc:  # one line, as the mctrack commands give
        raise SystemExit(f"reid_memory_rank.py: error: {first_line(exc)}") from None


def run(args: argparse.Namespace) -> int:
    for seq in args.sequences:  # before any network is built
        needs = [Path(args.data) / seq / "gt" / "gt.txt", Path(args.data) / seq / SEQUENCES[seq]]
        if args.boxes == "detections":
            needs.append(Path(args.data) / seq / "det" / "det.txt")
        for need in needs:
            if not need.is_file():
                raise InputError(f"{need}: {missing_file(need)} (--data names the MOT15 folder)")
    embedders = {spec: make_embedder(spec) for spec in args.embedders}
    head = "".join(f" {'lag ' + str(lag):>26}" for lag in args.lags)
    print(f"{'sequence':<16} {'embedder':<36}{head}")
    print(f"{'':<53}" + "   (own memory first %, median margin, queries)")
    for seq in args.sequences:
        root = Path(args.data) / seq
        if args.boxes == "gt":
            boxes = ground_truth_boxes(root, args.min_height)
        else:
            boxes = detection_boxes(root, args.min_height, args.min_score)
        frames, ids, by_embedder = box_features(root, SEQUENCES[seq], boxes, embedders, args.stride)
        for spec, feats in by_embedder.items():
            variants = {spec: feats}
            if args.scene_centre:
                variants[spec + ", scene-centred"] = scene_centred(frames, feats)
            for name, f in variants.items():
                cells = []
                for lag in args.lags:
                    acc, margin, n = memory_rank(frames, ids, f, lag, args.window, args.step)
                    # no query: no frame had two people in its window (a window shorter than --stride, say)
                    cells.append(f" {100 * acc:>10.1f} ({margin:+.3f}, {n:>4})" if n else f" {'no query':>26}")
                print(f"{seq:<16} {name:<36}{''.join(cells)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
