"""Person crops of labelled boxes written as a Market-1501 folder: Re-ID data from a scene's own footage.

Crops follow Market-1501: ``bounding_box_train/``, ``query/`` and ``bounding_box_test/`` (the gallery), file names
``PPPP_cCsS_FFFFFF_BB.jpg`` = 4-digit person id, 1-based camera index, sequence 1, 6-digit MOT frame number,
2-digit box index. Train and test identities are disjoint; test identities are people seen (with usable crops) in
at least two cameras, so every query has a cross-camera match in the gallery (the Market-1501 protocol leaves
out gallery images of the query's own camera).

The synthetic scene generator (``mctrack samples make``) and ``mctrack reid crops`` (crops of a camera set's
ground truth, or of a finished run's global tracks) both write through :class:`CropCollector`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..types import Frame

__all__ = ["CropCollector", "CROP_NAME", "MAX_PERSON_ID", "estimate_visibility", "label_rows", "crop_frames"]

CROP_NAME = re.compile(r"^(\d{4})_c(\d+)s1_(\d{6})_(\d{2})\.jpg$")


@dataclass
class CropCollector:
    """Collects person crops (of a synthetic scene as it renders, or of labelled footage read frame by frame,
    :func:`crop_frames`), then writes the Market-1501 split.

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
        """Offer one frame's labelled boxes; eligible ones (visible, tall, not sampled recently, inside the image)
        are cropped."""
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
            if x1 <= x0 or y1 <= y0:  # outside the image
                continue
            crop = cv2.resize(image[y0:y1, x0:x1], self.size, interpolation=cv2.INTER_AREA)
            ok, jpg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if ok:
                self.crops.setdefault(pid, []).append((cam_index, frame, jpg.tobytes()))
                self._last[(pid, cam_index)] = frame

    def test_candidates(self, need_query: bool = False) -> list[int]:
        """The people the test split is drawn from: those seen (with crops) by two or more cameras; with
        ``need_query`` only those of them with two or more crops in some camera (one is the query, another stays
        in that camera's gallery), so that every test person is queried."""
        out = []
        for pid, c in sorted(self.crops.items()):
            per_cam = np.unique([cam for cam, _, _ in c], return_counts=True)[1]
            if len(per_cam) >= 2 and (not need_query or per_cam.max() >= 2):
                out.append(pid)
        return out

    def write(self, root: str | Path, rng: np.random.Generator, *, need_query: bool = False) -> dict[str, int]:
        """Write the split under ``root`` (replacing crops of an earlier run); returns image and identity counts.
        ``need_query``: test people only among those who can give a query (:meth:`test_candidates`)."""
        root = Path(root)
        dirs = {k: root / k for k in ("bounding_box_train", "query", "bounding_box_test")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
            for old in d.glob("*.jpg"):
                if CROP_NAME.match(old.name):
                    old.unlink()
        multi = self.test_candidates(need_query)
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


#: the largest person id a Market-1501 file name holds (four digits)
MAX_PERSON_ID = 9999
_MOT17_CLASSES = np.arange(1, 14)  # MOTChallenge class ids, 1 pedestrian ... 13 crowd


def estimate_visibility(xyxy: np.ndarray, samples: tuple[int, int] = (8, 16)) -> np.ndarray:
    """Per box, the fraction not covered by the frame's other boxes whose bottom edge is lower in the image
    (people standing nearer the camera hide those behind them), from a grid of ``samples`` (x, y) points per box.
    For label files without a visibility column (MOT15, tracking results)."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    n = len(xyxy)
    if n < 2:
        return np.ones(n)
    gx = (np.arange(samples[0]) + 0.5) / samples[0]
    gy = (np.arange(samples[1]) + 0.5) / samples[1]
    px = xyxy[:, 0, None, None] + (xyxy[:, 2] - xyxy[:, 0])[:, None, None] * gx[None, None, :]  # (n, 1, sx)
    py = xyxy[:, 1, None, None] + (xyxy[:, 3] - xyxy[:, 1])[:, None, None] * gy[None, :, None]  # (n, sy, 1)
    px, py = np.broadcast_arrays(px, py)  # (n, sy, sx)
    out = np.ones(n)
    for i in range(n):
        front = np.nonzero(xyxy[:, 3] > xyxy[i, 3])[0]
        if not len(front):
            continue
        f = xyxy[front]
        x, y = px[i].reshape(-1, 1), py[i].reshape(-1, 1)
        covered = ((x >= f[:, 0]) & (x < f[:, 2]) & (y >= f[:, 1]) & (y < f[:, 3])).any(axis=1)
        out[i] = 1.0 - covered.mean()
    return out


def _inside(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Per box, the fraction of its area inside the image; 0 for a box that reaches the image's left or right edge
    (within a pixel): a person walking in or out of view, whom ground truth often clips to the image (MOT15 does),
    so that the box looks whole while the person is cut."""
    w = np.clip(np.minimum(xyxy[:, 2], width) - np.maximum(xyxy[:, 0], 0), 0, None)
    h = np.clip(np.minimum(xyxy[:, 3], height) - np.maximum(xyxy[:, 1], 0), 0, None)
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    share = np.where(area > 0, w * h / np.maximum(area, 1e-12), 0.0)
    at_edge = (xyxy[:, 0] <= 1) | (xyxy[:, 2] >= width - 1)
    return np.where(at_edge, 0.0, share)


def label_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, int]:
    """The rows of a MOT label file that name a person to crop: ``(rows, visibility or None, rows dropped)``.

    Rows whose ``conf`` column is 0 are dropped (MOTChallenge ground truth marks boxes to ignore so). A file laid
    out as MOT16/17 ground truth (class ids 1-13 in column 8, a visibility in [0, 1] in column 9) keeps its
    pedestrians (class 1) and gives their visibility; other files (MOT15 ground truth, tracking results) have
    none, and :func:`estimate_visibility` stands in."""
    rows = np.asarray(rows, np.float64)
    # != 0, not read as an integer as ground truth is (marked_to_count): a run's result, labelled here too, holds
    # its scores in that column
    keep = rows[:, 6] != 0
    vis = None
    if rows.shape[1] >= 9:
        cls, v = rows[:, 7], rows[:, 8]
        if np.isin(cls, _MOT17_CLASSES).all() and ((v >= 0) & (v <= 1)).all():
            keep &= cls == 1
            vis = v
    kept = rows[keep]
    return kept, (vis[keep] if vis is not None else None), int((~keep).sum())


def crop_frames(
    frames: Iterable[Frame],
    rows: np.ndarray,
    visibility: np.ndarray | None,
    camera_index: int,
    collector: CropCollector,
) -> Iterator[int]:
    """Offer each frame's labelled boxes (``rows``: MOT rows, frames 1-based as the frames' 0-based index + 1) to
    ``collector`` as camera ``camera_index``; yields once per frame read (for a progress bar) and stops after the
    last labelled frame. ``visibility``: per row (a MOT16/17 file's), else estimated per frame."""
    if not len(rows):
        return
    order = np.argsort(rows[:, 0], kind="stable")
    rows = rows[order]
    visibility = visibility[order] if visibility is not None else None
    frame_no = rows[:, 0].astype(np.int64)
    last = int(frame_no[-1])
    starts = np.searchsorted(frame_no, np.arange(last + 2))
    for frame in frames:
        number = frame.index + 1
        if number > last:
            break
        yield number
        lo, hi = starts[number], starts[number + 1]
        if hi == lo or frame.image is None:
            continue
        r = rows[lo:hi]
        xyxy = np.column_stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]])
        vis = visibility[lo:hi] if visibility is not None else estimate_visibility(xyxy)
        vis = vis * _inside(xyxy, frame.image.shape[1], frame.image.shape[0])  # a person cut by the image edge
        collector.add(camera_index, number, frame.image, r[:, 1].astype(np.int64), xyxy, vis)
