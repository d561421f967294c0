from __future__ import annotations

import numpy as np
import pytest

from mctrack.synth.detections import DetectionNoise, box_iou


def _boxes(n: int, height: float, rng) -> np.ndarray:
    x, y = rng.uniform(100, 400, n), rng.uniform(50, 100, n)
    return np.column_stack([x, y, x + 0.4 * height, y + height])


def _miss_rate(noise, vis, height, rng, n=4000):
    gt = _boxes(n, height, rng)
    _, _, src = DetectionNoise(**{**noise.__dict__, "fp_rate": 0, "dup_prob": 0}).apply(
        gt, np.full(n, vis), rng, image_size=(1000, 1000)
    )
    return 1 - len(np.unique(src[src >= 0])) / n


def test_miss_rate_rises_with_occlusion_and_with_small_size():
    rng = np.random.default_rng(0)
    noise = DetectionNoise()
    visible, half, hidden = (_miss_rate(noise, v, 120, rng) for v in (1.0, 0.5, 0.1))
    assert visible < 0.08 and visible < half < hidden and hidden > 0.6
    assert _miss_rate(noise, 1.0, 15, rng) > visible + 0.1


def test_jitter_scales_with_box_size():
    rng = np.random.default_rng(1)
    noise = DetectionNoise(miss_base=0, miss_occluded=0, miss_small=0, dup_prob=0, fp_rate=0)
    spread = {}
    for h in (40.0, 160.0):
        gt = _boxes(3000, h, rng)
        det, _, src = noise.apply(gt, np.ones(3000), rng, image_size=(2000, 2000))
        spread[h] = np.std(det[:, 3] - gt[src, 3])
    assert 3.0 < spread[160.0] / spread[40.0] < 5.0  # 4x the size, about 4x the pixel error


def test_scores_track_box_quality():
    rng = np.random.default_rng(2)
    noise = DetectionNoise(dup_prob=0, fp_rate=0, jitter=0.12)
    gt = _boxes(3000, 120, rng)
    det, score, src = noise.apply(gt, np.ones(3000), rng, image_size=(1000, 1000))
    iou = box_iou(det, gt[src])
    assert np.corrcoef(iou, score)[0, 1] > 0.5


def test_false_positives_and_duplicates_appear_at_their_rates():
    rng = np.random.default_rng(3)
    noise = DetectionNoise(dup_prob=0.2, fp_rate=2.0)
    n_fp = n_dup = 0
    for _ in range(300):
        gt = _boxes(10, 100, rng)
        _, score, src = noise.apply(gt, np.ones(10), rng, image_size=(1000, 1000))
        n_fp += int(np.sum(src == -1))
        n_dup += int(np.sum(np.bincount(src[src >= 0], minlength=10) == 2))
        assert np.all(score[src == -1] < 0.6)
    assert 1.6 < n_fp / 300 < 2.4
    assert 0.15 < n_dup / (300 * 10) < 0.25


def test_occluded_boxes_shrink_toward_the_visible_part():
    rng = np.random.default_rng(4)
    noise = DetectionNoise(miss_base=0, miss_occluded=0, miss_small=0, jitter=0, dup_prob=0, fp_rate=0)
    gt = np.array([[100.0, 100, 140, 200]] * 500)
    visible = np.array([[100.0, 100, 140, 150]] * 500)  # lower half hidden
    det, _, _ = noise.apply(gt, np.full(500, 0.5), rng, image_size=(1000, 1000), visible_xyxy=visible)
    assert np.all(det[:, 3] <= 200 + 1e-9) and det[:, 3].mean() < 195


def test_empty_frame_and_clipping():
    rng = np.random.default_rng(5)
    det, score, src = DetectionNoise(fp_rate=0).apply(np.zeros((0, 4)), np.zeros(0), rng, image_size=(320, 180))
    assert det.shape == (0, 4) and score.shape == (0,) and src.shape == (0,)
    gt = np.array([[300.0, 100, 340, 200]] * 50)  # sticks out of a 320 x 180 image
    det, _, _ = DetectionNoise(fp_rate=5).apply(gt, np.ones(50), rng, image_size=(320, 180))
    assert np.all(det[:, [0, 2]] <= 320) and np.all(det[:, [1, 3]] <= 180) and np.all(det >= 0)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(miss_base=1.5), "miss_base"),
        (dict(jitter=-0.1), "jitter"),
        (dict(fp_rate=-1), "fp_rate"),
        (dict(dup_prob=2), "dup_prob"),
    ],
)
def test_bad_noise_parameters_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        DetectionNoise(**kw)
