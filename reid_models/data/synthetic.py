"""A tiny synthetic Re-ID dataset in the Market-1501 layout, for tests and smoke runs (not for numbers that
claim anything about real people).

Each identity is a stick-figure "person" with its own head, shirt and trousers colours and a shirt stripe
pattern; each camera changes brightness and tint; each image jitters pose, scale, position and adds noise.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["write_synthetic_market"]


def _person(
    rng: np.random.Generator, colours: np.ndarray, stripes: int, cam_gain: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    h, w = size
    image = np.full((h, w, 3), rng.integers(60, 200), np.float32)
    image += rng.normal(0, 12, (1, 1, 3))
    cx = w / 2 + rng.normal(0, w * 0.05)
    scale = rng.uniform(0.85, 1.0)
    top = h * (1 - scale) / 2 + rng.normal(0, h * 0.02)
    head, shirt, trousers = (tuple(float(v) for v in c) for c in colours)
    bw = w * 0.22 * scale
    cv2.circle(image, (int(cx), int(top + h * 0.1 * scale)), int(h * 0.07 * scale), head, -1)
    y0, y1, y2 = (int(top + h * f * scale) for f in (0.18, 0.55, 0.95))
    cv2.rectangle(image, (int(cx - bw), y0), (int(cx + bw), y1), shirt, -1)
    for s in range(stripes):
        ys = y0 + (s + 1) * (y1 - y0) // (stripes + 1)
        cv2.line(image, (int(cx - bw), ys), (int(cx + bw), ys), head, max(1, h // 64))
    leg = rng.normal(0, w * 0.03)
    cv2.rectangle(image, (int(cx - bw), y1), (int(cx - 2 + leg), y2), trousers, -1)
    cv2.rectangle(image, (int(cx + 2 + leg), y1), (int(cx + bw), y2), trousers, -1)
    image = image * cam_gain + rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_synthetic_market(
    root: str | Path,
    *,
    train_ids: int = 8,
    test_ids: int = 6,
    cameras: int = 3,
    per_camera: int = 3,
    size: tuple[int, int] = (64, 32),
    seed: int = 0,
    junk: int = 0,
    distractors: int = 0,
) -> Path:
    """Write bounding_box_train, query (one image per test identity and camera) and bounding_box_test.

    Train identities are 1..train_ids, test identities follow. `junk` gallery images get id -1 and
    `distractors` id 0 (Market-1501's conventions). Returns root.
    """
    if train_ids < 1 or test_ids < 1 or cameras < 2 or per_camera < 1:
        raise ValueError("train_ids, test_ids, per_camera: must be >= 1; cameras: must be >= 2")
    root = Path(root)
    rng = np.random.default_rng(seed)
    gains = rng.uniform(0.75, 1.25, (cameras, 1, 1, 3)).astype(np.float32)
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (root / split).mkdir(parents=True, exist_ok=True)
    counter = 0

    def save(split: str, pid: int, cam: int, image: np.ndarray) -> None:
        nonlocal counter
        counter += 1
        cv2.imwrite(str(root / split / f"{pid:04d}_c{cam + 1}s1_{counter:06d}_00.jpg"), image)

    for pid in range(1, train_ids + test_ids + 1):
        colours = rng.integers(0, 256, (3, 3))
        stripes = int(rng.integers(0, 4))
        for cam in range(cameras):
            for n in range(per_camera):
                image = _person(rng, colours, stripes, gains[cam], size)
                if pid <= train_ids:
                    save("bounding_box_train", pid, cam, image)
                else:
                    save("query" if n == 0 else "bounding_box_test", pid, cam, image)
    for pid, count in ((-1, junk), (0, distractors)):
        for _ in range(count):
            save(
                "bounding_box_test",
                pid,
                int(rng.integers(cameras)),
                _person(rng, rng.integers(0, 256, (3, 3)), 0, gains[0], size),
            )
    return root
