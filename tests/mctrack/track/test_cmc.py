from __future__ import annotations

import cv2
import numpy as np
import pytest

from mctrack.track import CameraMotion


def test_estimates_camera_translation():
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (240, 320), dtype=np.uint8), (5, 5), 0)
    base = cv2.cvtColor(base, cv2.COLOR_GRAY2BGR)
    shifted = cv2.warpAffine(base, np.float32([[1, 0, 6], [0, 1, -4]]), (320, 240), borderMode=cv2.BORDER_REFLECT)
    cmc = CameraMotion(downscale=1)
    np.testing.assert_allclose(cmc(base), [[1, 0, 0], [0, 1, 0]])  # first frame: identity
    warp = cmc(shifted)
    np.testing.assert_allclose(warp[:, 2], [6, -4], atol=0.5)
    np.testing.assert_allclose(warp[:, :2], np.eye(2), atol=0.02)


def test_bad_arguments():
    with pytest.raises(ValueError, match="downscale"):
        CameraMotion(downscale=0.5)
    with pytest.raises(ValueError, match="max_corners"):
        CameraMotion(max_corners=2)
