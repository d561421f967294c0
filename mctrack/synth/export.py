"""Scene outputs besides video and MOT files: contact-sheet preview, cams.yaml; the Market-1501 crop export
(:class:`CropCollector`) lives in :mod:`mctrack.io.crops`, shared with ``mctrack reid crops``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from ..io.crops import CROP_NAME, CropCollector

__all__ = ["CropCollector", "CROP_NAME", "write_cams_yaml", "annotate", "contact_sheet", "id_color"]


def write_cams_yaml(path: str | Path, name: str, cameras: list[dict]) -> None:
    """``cams.yaml`` in the format :func:`mctrack.config.load_cams` reads (paths relative to the file)."""
    Path(path).write_text(yaml.safe_dump({"name": name, "cameras": cameras}, sort_keys=False), encoding="utf-8")


def id_color(pid: int) -> tuple[int, int, int]:
    """A stable, saturated BGR colour for drawing an id."""
    hsv = np.uint8([[[(pid * 47) % 180, 220, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def annotate(image: np.ndarray, pids, xyxy, visibility) -> np.ndarray:
    """A copy of ``image`` with ground-truth boxes, ids and visibilities drawn."""
    out = image.copy()
    for pid, b, v in zip(pids, xyxy, visibility):
        c = id_color(int(pid))
        p0, p1 = (int(b[0]), int(b[1])), (int(b[2]) - 1, int(b[3]) - 1)
        cv2.rectangle(out, p0, p1, c, 1)
        cv2.putText(
            out, f"{int(pid)} {v:.0%}", (p0[0], max(8, p0[1] - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.33, c, 1, cv2.LINE_AA
        )
    return out


def contact_sheet(tiles: list[list[np.ndarray]], labels: list[str], tile_width: int = 360) -> np.ndarray:
    """Grid image: one row per camera (``tiles[row]`` = frames over time), the row label drawn on each tile."""
    rows = []
    for row, label in zip(tiles, labels):
        cells = []
        for img in row:
            h = int(round(img.shape[0] * tile_width / img.shape[1]))
            cell = cv2.resize(img, (tile_width, h), interpolation=cv2.INTER_AREA)
            cv2.putText(cell, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.putText(cell, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
            cells.append(cell)
        rows.append(cells)
    lines = [
        np.concatenate(
            [
                cv2.copyMakeBorder(c, 0, max(x.shape[0] for x in r) - c.shape[0] + 4, 0, 4, cv2.BORDER_CONSTANT)
                for c in r
            ],
            axis=1,
        )
        for r in rows
    ]
    width = max(line.shape[1] for line in lines)
    return np.concatenate(
        [cv2.copyMakeBorder(line, 0, 0, 0, width - line.shape[1], cv2.BORDER_CONSTANT) for line in lines], axis=0
    )
