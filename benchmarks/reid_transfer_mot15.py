"""Transfer check: synthetic-trained embedders on REAL person crops from the two MOT15 sequences with video.

    python benchmarks/reid_transfer_mot15.py [--data ../shared/data/mot15] [--weights mctrack/weights/laga_samples.pt]

Per sequence (PETS09-S2L1, TUD-Stadtmitte), from the ground truth: every person seen for at least
``--min-frames`` frames gives gallery crops from the first half of their appearance (``--gallery-per-id``,
evenly spaced) and query crops from the last quarter (``--query-per-id``). Boxes must be at least ``--min-height``
pixels tall and inside the image. Query = later appearances, gallery = earlier ones, same camera: the Market-1501
protocol would drop same-id same-camera gallery items, so queries are labelled camera 1 and gallery items camera
0 (time plays the role of the second camera). Cosine distance, no flip, no re-ranking.

Embedders: the colour histogram, LAGA-Net with random weights (the "untrained network"; ResNet-18, 128x64 like the
bundled one), and LAGA-Net with the bundled synthetic-trained checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.embed import ColorHistogramEmbedder, ReidEmbedder  # noqa: E402
from mctrack.io.mot import load_mot_txt, marked_to_count  # noqa: E402
from reid_models.evaluation import cosine_distance, evaluate_rank  # noqa: E402

SEQUENCES = {"PETS09-S2L1": "PETS09-S2L1.avi", "TUD-Stadtmitte": "TUD-Stadtmitte.mp4"}


def select(gt: np.ndarray, width: int, height: int, args) -> list[tuple[int, int, np.ndarray, int]]:
    """(frame, pid, xyxy, role) rows: role 0 = gallery, 1 = query."""
    gt = gt[marked_to_count(gt[:, 6])]
    xyxy = np.c_[gt[:, 2:4], gt[:, 2:4] + gt[:, 4:6]]
    ok = (
        (gt[:, 5] >= args.min_height)
        & (xyxy[:, 0] >= 0)
        & (xyxy[:, 1] >= 0)
        & (xyxy[:, 2] <= width)
        & (xyxy[:, 3] <= height)
    )
    out = []
    for pid in np.unique(gt[:, 1]).astype(int):
        rows = np.flatnonzero((gt[:, 1] == pid) & ok)
        if len(rows) < args.min_frames:
            continue
        n = len(rows)
        gal = rows[: n // 2][np.linspace(0, n // 2 - 1, args.gallery_per_id).round().astype(int)]
        qry = rows[3 * n // 4 :][np.linspace(0, n - 3 * n // 4 - 1, args.query_per_id).round().astype(int)]
        out += [(int(gt[r, 0]) - 1, pid, xyxy[r], 0) for r in np.unique(gal)]
        out += [(int(gt[r, 0]) - 1, pid, xyxy[r], 1) for r in np.unique(qry)]
    return out


def cut_crops(video: Path, wanted: list[tuple[int, int, np.ndarray, int]]) -> list[np.ndarray]:
    by_frame: dict[int, list[int]] = {}
    for i, (frame, *_rest) in enumerate(wanted):
        by_frame.setdefault(frame, []).append(i)
    crops: list[np.ndarray | None] = [None] * len(wanted)
    cap = cv2.VideoCapture(str(video))
    index = 0
    while by_frame:
        ok, img = cap.read()
        if not ok:
            raise RuntimeError(
                f"{video}: ended at frame {index}, crops still wanted from frames {sorted(by_frame)[:3]}"
            )
        for i in by_frame.pop(index, []):
            x1, y1, x2, y2 = wanted[i][2].round().astype(int)
            crops[i] = img[y1:y2, x1:x2].copy()
        index += 1
    cap.release()
    return crops  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"))
    ap.add_argument("--weights", default=str(ROOT / "mctrack" / "weights" / "laga_samples.pt"))
    ap.add_argument("--min-frames", type=int, default=20)
    ap.add_argument("--min-height", type=float, default=60.0)
    ap.add_argument("--gallery-per-id", type=int, default=4)
    ap.add_argument("--query-per-id", type=int, default=2)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    embedders = {
        "colour histogram": ColorHistogramEmbedder(),
        "LAGA-Net untrained (random, r18 128x64)": ReidEmbedder(
            "laga", backbone="resnet18", pretrained=None, input_size=(128, 64), device="cpu"
        ),
        f"LAGA-Net {Path(args.weights).stem}": ReidEmbedder("laga", weights=args.weights, device="cpu"),
    }
    print(
        f"{'sequence':<16} {'embedder':<42} {'ids':>4} {'query':>6} {'gallery':>8} {'rank-1':>7} {'rank-5':>7} "
        f"{'mAP':>6}"
    )
    for seq, video in SEQUENCES.items():
        root = Path(args.data) / seq
        cap = cv2.VideoCapture(str(root / video))
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cap.release()
        wanted = select(load_mot_txt(root / "gt" / "gt.txt"), width, height, args)
        crops = cut_crops(root / video, wanted)
        pids = np.array([w[1] for w in wanted])
        role = np.array([w[3] for w in wanted])
        q, g = role == 1, role == 0
        for name, emb in embedders.items():
            feats = emb.embed_crops(crops)
            r = evaluate_rank(cosine_distance(feats[q], feats[g]), pids[q], pids[g], role[q], role[g])
            print(
                f"{seq:<16} {name:<42} {len(np.unique(pids)):>4} {q.sum():>6} {g.sum():>8} "
                f"{100 * r.rank(1):>7.1f} {100 * r.rank(5):>7.1f} {100 * r.mAP:>6.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
