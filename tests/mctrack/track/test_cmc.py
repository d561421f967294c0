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


def _texture(seed=0, shape=(240, 320)):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(0, 255, shape, dtype=np.uint8), (5, 5), 0)
    return cv2.cvtColor(base, cv2.COLOR_GRAY2BGR)


def test_auto_leaves_a_fixed_camera_alone_and_follows_a_panning_one():
    base = _texture()
    rng = np.random.default_rng(1)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    fixed = CameraMotion(downscale=1, auto=True)
    for _ in range(15):  # a fixed camera: the same scene with sensor noise
        noisy = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(fixed(noisy), identity)
    assert not fixed.moving and fixed.compensated == 0
    pan = CameraMotion(downscale=1, auto=True)
    warps = [
        pan(cv2.warpAffine(base, np.float32([[1, 0, 4 * i], [0, 1, 0]]), (320, 240), borderMode=cv2.BORDER_REFLECT))
        for i in range(15)
    ]
    assert pan.moving and pan.compensated == 14  # a 4 px jump is 3x the threshold: compensated from frame 1 on
    np.testing.assert_allclose(warps[-1][:, 2], [4, 0], atol=0.5)
    slow = CameraMotion(downscale=1, auto=True)  # 1 px a frame: over the 0.8 px threshold, under 3x it
    for i in range(15):
        slow(cv2.warpAffine(base, np.float32([[1, 0, i], [0, 1, 0]]), (320, 240), borderMode=cv2.BORDER_REFLECT))
    assert slow.moving and slow.compensated == 13  # from the frame the median of the shifts is over it (the 3rd)
    on = CameraMotion(downscale=1)  # without auto every estimate is applied, noise included
    np.testing.assert_array_equal(on(base), identity)  # the first frame: nothing to compare with, not counted
    on(np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8))
    assert on.compensated == 1


def test_auto_arguments_checked():
    with pytest.raises(ValueError, match="min_motion"):
        CameraMotion(auto=True, min_motion=-1)
    with pytest.raises(ValueError, match="window"):
        CameraMotion(auto=True, window=0)


def test_bad_frames_and_boxes_are_named_and_a_size_change_is_said(caplog):
    """helper-55: None, float or 4-channel frames failed inside OpenCV (`!_src.empty()`), boxes of the wrong shape
    inside numpy, and a frame of another size silently gave the identity."""
    import logging

    cmc = CameraMotion()
    for frame, err, match in (
        (None, TypeError, "image: expected a numpy array .* got NoneType"),
        (np.zeros((10, 10), np.float32), ValueError, r"got shape \(10, 10\) dtype float32"),
        (np.zeros((10, 10, 4), np.uint8), ValueError, r"got shape \(10, 10, 4\)"),
    ):
        with pytest.raises(err, match=match):
            cmc(frame)
    with pytest.raises(ValueError, match=r"boxes: expected \(N, 4\) xyxy pixels, got shape \(6,\)"):
        cmc(np.zeros((240, 320, 3), np.uint8), np.zeros(6))
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (240, 320), dtype=np.uint8), (5, 5), 0)
    cmc.reset()
    cmc(texture)  # grey frames are taken as they are: a 4 px pan is found in them
    moved = cv2.warpAffine(texture, np.float32([[1, 0, 4], [0, 1, 0]]), (320, 240), borderMode=cv2.BORDER_REFLECT)
    assert abs(cmc(moved)[0, 2] - 4) < 0.5
    with caplog.at_level(logging.WARNING):
        warp = cmc(cv2.resize(texture, (640, 480)))
    assert np.array_equal(warp, np.eye(2, 3)) and "frame size changed from 320x240 to 640x480" in caplog.text
