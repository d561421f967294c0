"""End-of-run pictures: loss and rank-1/mAP curves; ranked retrieval results with green/red borders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from reid_models.data import ReidDataset

__all__ = ["plot_curves", "plot_retrieval"]


def plot_curves(history: Sequence[dict[str, Any]], path: Path) -> None:
    """Loss terms per epoch (left) and rank-1/mAP at the evaluated epochs (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = [row["epoch"] for row in history]
    for key in sorted({k for row in history for k in row if k.startswith("loss_")}):
        left.plot(epochs, [row.get(key, np.nan) for row in history], label=key[5:])
    left.set(xlabel="epoch", ylabel="loss", title="training loss")
    left.legend()
    evaluated = [row for row in history if "rank1" in row]
    for key in ("rank1", "mAP"):
        right.plot([r["epoch"] for r in evaluated], [100 * r[key] for r in evaluated], marker="o", label=key)
    right.set(xlabel="epoch", ylabel="%", title="query/gallery", ylim=(0, 100))
    right.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")  # a run stopped while drawing leaves no half-written picture
    try:
        fig.savefig(tmp, dpi=100, format="png")
        tmp.replace(path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)


def plot_retrieval(
    dataset: ReidDataset,
    dist: np.ndarray,
    path: Path,
    *,
    num_queries: int = 5,
    top: int = 10,
    cell: tuple[int, int] = (128, 64),
) -> None:
    """A grid: per row one query (blue border) then its top gallery results (Market protocol: same id and same
    camera removed, junk removed), green border = same identity, red = another one."""
    h, w = cell
    q_ids = np.array([s.pid for s in dataset.query])
    g_ids = np.array([s.pid for s in dataset.gallery])
    q_cams = np.array([s.camid for s in dataset.query])
    g_cams = np.array([s.camid for s in dataset.gallery])
    rows = []
    picks = np.linspace(0, len(dataset.query) - 1, num=min(num_queries, len(dataset.query))).astype(int)

    def tile(image_path: Path, colour: tuple[int, int, int]) -> np.ndarray:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        image = np.zeros((h, w, 3), np.uint8) if image is None else cv2.resize(image, (w - 8, h - 8))
        return cv2.copyMakeBorder(image, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=colour)

    for qi in picks:
        order = np.argsort(dist[qi], kind="stable")
        keep = ~(((g_ids[order] == q_ids[qi]) & (g_cams[order] == q_cams[qi])) | (g_ids[order] == -1))
        ranked = order[keep][:top]
        row = [tile(dataset.query[qi].path, (255, 0, 0)), np.full((h, 10, 3), 255, np.uint8)]
        row += [tile(dataset.gallery[g].path, (0, 200, 0) if g_ids[g] == q_ids[qi] else (0, 0, 255)) for g in ranked]
        row += [np.full((h, w, 3), 255, np.uint8)] * (top - len(ranked))
        rows.append(np.concatenate(row, axis=1))
    if rows:
        tmp = path.with_name(f".{path.name}.tmp.png")
        try:
            if cv2.imwrite(str(tmp), np.concatenate(rows, axis=0)):
                tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
