"""One camera's frame: background, shadows, people and props in depth order, visibility, camera effects.

Painter's algorithm: sprites are composited from the farthest to the nearest (distance from the camera to the
person's ground point), and a label image records which person owns each pixel. A person's visibility is the
number of pixels they still own divided by the pixels of their full sprite (parts outside the image count as
hidden), so both occlusion and image borders lower it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .camera import PinholeCamera
from .person import Appearance, render_person
from .world import World, render_background, render_prop

__all__ = ["CameraRenderer", "RenderedFrame"]

PROP_LABEL = 255


@dataclass(frozen=True)
class RenderedFrame:
    """A rendered frame and its exact ground truth.

    Attributes:
        image: ``(H, W, 3)`` uint8 BGR after the camera's colour response, blur and noise.
        pids: ``(K,)`` int64 global ids of the people in view.
        xyxy: ``(K, 4)`` float64 full-body boxes (occluded parts included), clipped to the image.
        visibility: ``(K,)`` visible pixels / full-body pixels, in [0, 1].
        visible_xyxy: ``(K, 4)`` boxes of the visible pixels only (equal to ``xyxy`` rows when nothing shows).
    """

    image: np.ndarray
    pids: np.ndarray
    xyxy: np.ndarray
    visibility: np.ndarray
    visible_xyxy: np.ndarray


class CameraRenderer:
    """Renders people into one camera's view of a world.

    Args:
        cam: the camera.
        world: the courtyard (background and props are pre-rendered once here).
        rng: source of the sensor-noise bank and per-frame noise choice.
        min_in_image: people with less than this fraction of their sprite inside the image are not reported.
    """

    def __init__(self, cam: PinholeCamera, world: World, rng: np.random.Generator, *, min_in_image: float = 0.2):
        if not 0 <= min_in_image <= 1:
            raise ValueError(f"min_in_image: must be in [0, 1], got {min_in_image}")
        self.cam, self.world, self.rng, self.min_in_image = cam, world, rng, min_in_image
        self.background = render_background(world, cam)
        self.props = [(p, s) for p in world.props if (s := render_prop(p, cam)) is not None]
        # Props are baked into the background far to near, and re-drawn over people standing behind them.
        for _, (x0, y0, bgr, mask) in sorted(self.props, key=lambda ps: -self._dist(ps[0].x, ps[0].y)):
            self._paste(self.background, None, x0, y0, bgr, mask, 0)
        self.lut = cam.color.lut()
        c = cam.color
        self.noise = (
            [np.round(rng.normal(0, c.noise, (cam.height, cam.width, 3))).astype(np.int16) for _ in range(6)]
            if c.noise > 0
            else []
        )

    def _dist(self, x: float, y: float) -> float:
        c = self.cam.center
        return float(np.hypot(np.hypot(x - c[0], y - c[1]), c[2]))

    def _paste(self, img, label, x0, y0, sprite, mask, value) -> None:
        h, w = mask.shape
        ix0, iy0 = max(x0, 0), max(y0, 0)
        ix1, iy1 = min(x0 + w, self.cam.width), min(y0 + h, self.cam.height)
        if ix1 <= ix0 or iy1 <= iy0:
            return
        sub = mask[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
        cv2.copyTo(sprite[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0], sub.view(np.uint8), img[iy0:iy1, ix0:ix1])
        if label is not None:
            label[iy0:iy1, ix0:ix1][sub] = value

    def _shadow(self, img: np.ndarray, pos: np.ndarray) -> None:
        ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        ring = np.stack([pos[0] + 0.32 * np.cos(ang) + 0.1, pos[1] + 0.25 * np.sin(ang) + 0.08, np.zeros(12)], 1)
        uv, z = self.cam.project(ring)
        if np.any(z < 0.3):
            return
        x0, y0 = np.maximum(np.floor(uv.min(0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(uv.max(0)).astype(int) + 1, [self.cam.width, self.cam.height])
        if x1 <= x0 or y1 <= y0:
            return
        roi = img[y0:y1, x0:x1]
        m = np.zeros(roi.shape[:2], np.uint8)
        cv2.fillConvexPoly(m, np.round(uv - [x0, y0]).astype(np.int32), 1)
        cv2.copyTo(cv2.convertScaleAbs(roi, alpha=0.62), m, roi)

    def render(self, people: list[tuple[int, Appearance, np.ndarray, np.ndarray]]) -> RenderedFrame:
        """Render ``people`` = ``[(pid, appearance, posed points (N_POINTS, 3), ground position (2,))]``."""
        W, H = self.cam.width, self.cam.height
        img = self.background.copy()
        label = np.zeros((H, W), np.uint8)
        items = []  # (distance, order, kind, payload)
        for pid, app, pts, pos in people:
            sprite = render_person(app, pts, self.cam)
            if sprite is None:
                continue
            x0, y0, bgr = sprite
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            self._shadow(img, pos)
            items.append((self._dist(*pos), pid, "person", (x0, y0, bgr, gray > 0, gray)))
        if len(items) >= PROP_LABEL:
            raise ValueError(f"people: at most {PROP_LABEL - 1} people per frame can be rendered, got {len(items)}")
        rects = [(it[3][0], it[3][1], it[3][0] + it[3][2].shape[1], it[3][1] + it[3][2].shape[0]) for it in items]
        for k, (prop, (x0, y0, bgr, mask)) in enumerate(self.props):  # re-draw props that may cover someone
            x1, y1 = x0 + mask.shape[1], y0 + mask.shape[0]
            if any(x0 < r[2] and r[0] < x1 and y0 < r[3] and r[1] < y1 for r in rects):
                items.append((self._dist(prop.x, prop.y), -1 - k, "prop", (x0, y0, bgr, mask, None)))
        items.sort(key=lambda it: (-it[0], it[1]))
        people_items = []
        for _dist, ident, kind, (x0, y0, bgr, mask, gray) in items:
            value = PROP_LABEL if kind == "prop" else len(people_items) + 1
            self._paste(img, label, x0, y0, bgr, mask, value)
            if kind == "person":
                people_items.append((ident, x0, y0, mask, gray))
        pids, boxes, vis, vboxes = [], [], [], []
        for value, (pid, x0, y0, _mask, gray) in enumerate(people_items, 1):
            full = cv2.countNonZero(gray)
            bx, by, bw, bh = cv2.boundingRect(gray)
            box = np.array([x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh], np.float64)
            clipped = np.clip(box, 0, [W, H, W, H])
            if full == 0 or clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
                continue
            ix0, iy0, ix1, iy1 = clipped.astype(int)
            inside = cv2.countNonZero(gray[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0])
            if inside < self.min_in_image * full:
                continue
            own = (label[iy0:iy1, ix0:ix1] == value).view(np.uint8)
            seen = cv2.countNonZero(own)
            vx, vy, vw, vh = cv2.boundingRect(own)
            pids.append(pid)
            boxes.append(clipped)
            vis.append(seen / full)
            vboxes.append([ix0 + vx, iy0 + vy, ix0 + vx + vw, iy0 + vy + vh] if seen else clipped)
        image = self._camera_effects(img)
        return RenderedFrame(
            image,
            np.asarray(pids, np.int64),
            np.asarray(boxes, np.float64).reshape(-1, 4),
            np.asarray(vis, np.float64),
            np.asarray(vboxes, np.float64).reshape(-1, 4),
        )

    def _camera_effects(self, img: np.ndarray) -> np.ndarray:
        c = self.cam.color
        out = cv2.LUT(img, self.lut)
        if c.blur > 0:
            out = cv2.GaussianBlur(out, (0, 0), c.blur)
        if self.noise:
            out = cv2.add(out, self.noise[int(self.rng.integers(len(self.noise)))], dtype=cv2.CV_8U)
        return out
