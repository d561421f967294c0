"""Camera-motion compensation: the affine map between consecutive frames of a moving camera (OpenCV).

Sparse optical flow (as in BoT-SORT's ``sparseOptFlow`` GMC): corners of the previous frame are tracked into the
current one with pyramidal Lucas-Kanade and a RANSAC partial-affine (rotation, uniform scale, translation) fit
gives the warp. Working on a downscaled grey image keeps it to a few milliseconds per frame (3-4 ms for 768x576 on
one CPU core at the default downscale 2).

With ``auto=True`` the warp is estimated on every frame but applied only while the camera is found to move: the
median, over the last ``window`` frames, of the warp's largest displacement of an image corner exceeds
``min_motion`` (a fraction of the image diagonal), or this frame's displacement alone exceeds three times that (a
sudden pan or jolt is compensated from its first frame). A fixed camera's estimates are sub-pixel noise (median
0.6 px, at most 1.7 px, on PETS09-S2L1 and TUD-Stadtmitte), which is then never fed to the tracker; a panning,
driving or hand-held camera moves several pixels a frame. ``mctrack track`` and ``mctrack run`` use it by default
whenever they decode the frames anyway (a detector or an embedder needs them).
"""

from __future__ import annotations

import logging
from collections import deque

import cv2
import numpy as np

from ..types import check_image

log = logging.getLogger(__name__)

__all__ = ["CameraMotion", "IDENTITY_WARP"]

#: the warp of a camera that did not move (read-only: copy before changing)
IDENTITY_WARP = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
IDENTITY_WARP.flags.writeable = False


class CameraMotion:
    """Estimates the ``(2, 3)`` affine warp from the previous frame to the current one.

    Call once per frame with the image; the first call (and any frame where too few corners are tracked)
    returns the identity. Pass the result to ``Tracker.update(..., warp=...)``.

    Args:
        downscale: images are shrunk by this factor before estimating (the warp is returned in full-size
            pixels); larger is faster and coarser.
        max_corners: corners tracked per frame.
        mask_boxes: when True, ``__call__``'s ``boxes`` (e.g. detections) are excluded from the corner search,
            so people walking do not count as camera motion.
        auto: return the identity unless the camera is found to move (module docstring); ``moving`` says which.
        min_motion: with ``auto``, the median corner displacement per frame (fraction of the image diagonal) above
            which the camera counts as moving.
        window: with ``auto``, frames the median is taken over.
    """

    def __init__(
        self,
        *,
        downscale: float = 2.0,
        max_corners: int = 400,
        mask_boxes: bool = True,
        auto: bool = False,
        min_motion: float = 0.002,
        window: int = 10,
    ) -> None:
        if not np.isfinite(downscale) or downscale < 1:
            raise ValueError(f"downscale: must be >= 1, got {downscale}")
        if max_corners < 4:
            raise ValueError(f"max_corners: must be >= 4, got {max_corners}")
        self.downscale = float(downscale)
        self.max_corners = int(max_corners)
        self.mask_boxes = mask_boxes
        if not (np.isfinite(min_motion) and min_motion >= 0):
            raise ValueError(f"min_motion: must be >= 0, got {min_motion}")
        if window < 1:
            raise ValueError(f"window: must be >= 1, got {window}")
        self.auto, self.min_motion, self.window = bool(auto), float(min_motion), int(window)
        self.reset()

    def settings(self) -> dict:
        """What the warps depend on (for cache keys)."""
        return {
            "downscale": self.downscale,
            "max_corners": self.max_corners,
            "mask_boxes": bool(self.mask_boxes),
            "auto": self.auto,
            "min_motion": self.min_motion,
            "window": self.window,
        }

    def reset(self) -> None:
        self._prev: np.ndarray | None = None
        self._prev_pts: np.ndarray | None = None
        self._size: tuple[int, int] | None = None  # the last frame's width and height
        self._recent: deque[float] = deque(maxlen=self.window)
        #: whether the last frame's warp was applied (always True without ``auto``)
        self.moving = not self.auto
        #: frames whose warp was applied and moved anything (not the identity)
        self.compensated = 0

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> np.ndarray:
        """The warp from the previous frame to ``image`` (identity on the first frame, when too few corners are
        tracked, and, with ``auto``, while the camera is found not to move)."""
        warp = self._estimate(image, boxes)
        if self.auto:
            h, w = image.shape[:2]
            corners = np.array([[0.0, 0.0, 1.0], [w, 0.0, 1.0], [0.0, h, 1.0], [w, h, 1.0]])
            shift = float(np.abs(corners @ warp.T - corners[:, :2]).max())
            self._recent.append(shift / float(np.hypot(w, h)))
            self.moving = float(np.median(self._recent)) > self.min_motion or self._recent[-1] > 3 * self.min_motion
            if not self.moving:
                return IDENTITY_WARP.copy()
        if not np.array_equal(warp, IDENTITY_WARP):
            self.compensated += 1
        return warp

    def _estimate(self, image: np.ndarray, boxes: np.ndarray | None) -> np.ndarray:
        identity = IDENTITY_WARP.copy()
        check_image(image, grey=True)
        if boxes is not None:
            boxes = np.asarray(boxes, np.float64)
            if boxes.size and (boxes.ndim != 2 or boxes.shape[1] != 4):
                raise ValueError(f"boxes: expected (N, 4) xyxy pixels, got shape {boxes.shape}")
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape
        if self.downscale > 1:
            grey = cv2.resize(grey, (int(w / self.downscale), int(h / self.downscale)))
        mask = np.full(grey.shape, 255, np.uint8)
        if self.mask_boxes and boxes is not None and len(boxes):
            b = np.asarray(boxes, np.float64).reshape(-1, 4) / self.downscale
            b = np.nan_to_num(b).round().astype(int)
            for x1, y1, x2, y2 in b:
                mask[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = 0
        pts = cv2.goodFeaturesToTrack(grey, self.max_corners, 0.01, 1, mask=mask, blockSize=3)
        prev, prev_pts = self._prev, self._prev_pts
        self._prev, self._prev_pts = grey, pts
        size, self._size = self._size, (w, h)
        if prev is not None and size != (w, h):
            log.warning(
                "camera motion: the frame size changed from %dx%d to %dx%d; no motion is estimated across the change",
                *size,
                w,
                h,
            )
            return identity
        if prev is None or prev_pts is None or len(prev_pts) < 4:
            return identity
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, grey, prev_pts, None)
        ok = status.reshape(-1).astype(bool)
        if ok.sum() < 4:
            return identity
        warp, _ = cv2.estimateAffinePartial2D(prev_pts[ok], nxt[ok], method=cv2.RANSAC)
        if warp is None or not np.isfinite(warp).all():
            return identity
        warp = warp.astype(np.float64)
        warp[:, 2] *= self.downscale
        return warp
