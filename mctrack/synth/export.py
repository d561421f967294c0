"""Scene outputs besides video and MOT files: Market-1501 crop export, contact-sheet preview, cams.yaml.

Re-ID crops follow Market-1501: ``bounding_box_train/``, ``query/`` and ``bounding_box_test/`` (the gallery),
file names ``PPPP_cCsS_FFFFFF_BB.jpg`` = 4-digit person id, 1-based camera index, sequence 1, 6-digit MOT frame
number, 2-digit box index. Train and test identities are disjoint; test identities are people seen (with
usable crops) in at least two cameras, so every query has a cross-camera match in the gallery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

__all__ = ["CropCollector", "CROP_NAME", "write_cams_yaml", "annotate", "contact_sheet", "id_color"]

CROP_NAME = re.compile(r"^(\d{4})_c(\d+)s1_(\d{6})_(\d{2})\.jpg$")


@dataclass
class CropCollector:
    """Collects person crops while a scene renders, then writes the Market-1501 split.

    Args:
        min_visibility: crops only from boxes at least this visible (occluded crops make noisy labels).
        min_height: crops only from boxes at least this many pixels tall.
        every: at most one crop per person and camera every ``every`` frames.
        size: (width, height) every crop is resized to (Market-1501 uses 64 x 128).
        test_fraction: fraction of the multi-camera identities held out for query/gallery.
        jpeg_quality: cv2 JPEG quality (fixed, so files are byte-identical across runs).
    """

    min_visibility: float = 0.6
    min_height: float = 40.0
    every: int = 10
    size: tuple[int, int] = (64, 128)
    test_fraction: float = 0.5
    jpeg_quality: int = 88
    crops: dict[int, list[tuple[int, int, bytes]]] = field(default_factory=dict)  # pid -> (cam, frame, jpg)
    _last: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.min_visibility <= 1:
            raise ValueError(f"min_visibility: must be in [0, 1], got {self.min_visibility}")
        if self.every < 1:
            raise ValueError(f"every: must be >= 1, got {self.every}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction: must be in (0, 1), got {self.test_fraction}")

    def add(self, cam_index: int, frame: int, image: np.ndarray, pids, xyxy, visibility) -> None:
        """Offer one frame's ground truth; eligible boxes (visible, tall, not sampled recently) are cropped."""
        H, W = image.shape[:2]
        for pid, box, vis in zip(pids, xyxy, visibility):
            pid = int(pid)
            last = self._last.get((pid, cam_index))
            if (
                vis < self.min_visibility
                or box[3] - box[1] < self.min_height
                or (last is not None and frame - last < self.every)
            ):
                continue
            w, h = box[2] - box[0], box[3] - box[1]
            x0, y0 = int(max(0, box[0] - 0.1 * w)), int(max(0, box[1] - 0.04 * h))
            x1, y1 = int(min(W, np.ceil(box[2] + 0.1 * w))), int(min(H, np.ceil(box[3] + 0.04 * h)))
            crop = cv2.resize(image[y0:y1, x0:x1], self.size, interpolation=cv2.INTER_AREA)
            ok, jpg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if ok:
                self.crops.setdefault(pid, []).append((cam_index, frame, jpg.tobytes()))
                self._last[(pid, cam_index)] = frame

    def write(self, root: str | Path, rng: np.random.Generator) -> dict[str, int]:
        """Write the split under ``root`` (replacing crops of an earlier run); returns image and identity counts."""
        root = Path(root)
        dirs = {k: root / k for k in ("bounding_box_train", "query", "bounding_box_test")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
            for old in d.glob("*.jpg"):
                if CROP_NAME.match(old.name):
                    old.unlink()
        multi = sorted(p for p, c in self.crops.items() if len({cam for cam, _, _ in c}) >= 2)
        n_test = int(round(len(multi) * self.test_fraction)) if len(multi) >= 2 else 0
        test = {multi[i] for i in rng.permutation(len(multi))[:n_test]}
        counts = dict.fromkeys(dirs, 0)
        for pid in sorted(self.crops):
            items = sorted(self.crops[pid])
            query: set[int] = set()
            if pid in test:  # one query per camera that has 2+ crops, so every camera keeps gallery images
                for cam in sorted({c for c, _, _ in items}):
                    idx = [i for i, (c, _, _) in enumerate(items) if c == cam]
                    if len(idx) >= 2:
                        query.add(idx[int(rng.integers(len(idx)))])
            for i, (cam, frame, jpg) in enumerate(items):
                split = "bounding_box_train" if pid not in test else "query" if i in query else "bounding_box_test"
                (dirs[split] / f"{pid:04d}_c{cam}s1_{frame:06d}_00.jpg").write_bytes(jpg)
                counts[split] += 1
        return {
            "train_images": counts["bounding_box_train"],
            "query_images": counts["query"],
            "gallery_images": counts["bounding_box_test"],
            "train_ids": len(self.crops) - len(test),
            "test_ids": len(test),
        }


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
