"""benchmarks/moving_camera.py: real footage filmed again by a virtual moving camera (paths, box mapping, files)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from mctrack.io.mot import SeqInfo, load_mot_txt, read_seqinfo, save_mot_txt, write_seqinfo
from tests.conftest import ROOT, load_benchmark


@pytest.fixture(scope="module")
def mc():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    return load_benchmark("moving_camera")


@pytest.mark.parametrize("profile", ["static", "pan", "walk", "shake"])
def test_camera_paths_stay_inside_the_frame(mc, profile):
    w, h = 768, 576
    path = mc.camera_path(profile, 300, 7.0, (w, h))
    s, cx, cy = path.T
    assert (cx - s * w / 2 >= -1e-9).all() and (cx + s * w / 2 <= w + 1e-9).all()
    assert (cy - s * h / 2 >= -1e-9).all() and (cy + s * h / 2 <= h + 1e-9).all()
    moved = np.abs(np.diff(path, axis=0)).max()
    assert (moved == 0) if profile == "static" else (moved > 1.0)
    if profile == "walk":
        assert s.min() < 0.6 and s.max() > 0.8  # zooms in and out


def test_rows_go_through_the_same_map_as_the_pixels(mc):
    size = (400, 300)
    path = np.array([[0.5, 150.0, 120.0], [0.7, 200.0, 150.0]])
    rows = np.array(
        [
            [1, 1, 120, 100, 20, 40, 1, -1, -1, -1],  # inside the first window
            [1, 2, 0, 0, 30, 30, 1, -1, -1, -1],  # outside it: dropped
            [2, 1, 130, 110, 20, 40, 1, -1, -1, -1],
            [2, 3, 55, 100, 20, 40, 1, -1, -1, -1],  # 15 of 20 px inside the second window: clipped, kept
            [3, 1, 10, 10, 5, 5, 1, -1, -1, -1],  # a frame beyond the path: dropped
        ],
        float,
    )
    out = mc.map_rows(rows, path, size)
    assert out[:, [0, 1]].tolist() == [[1, 1], [2, 1], [2, 3]]
    m = np.vstack([mc.window_map(path[0], size), [0, 0, 1]])
    corner = m @ [120, 100, 1]
    np.testing.assert_allclose(out[0, 2:6], [corner[0], corner[1], 20 * 0.7 / 0.5, 40 * 0.7 / 0.5])
    assert out[2, 2] == 0 and out[2, 4] == pytest.approx(15.0)  # clipped at the left edge


def test_make_sequence_writes_a_moving_mot_sequence(mc, tmp_path):
    src = tmp_path / "SRC"
    (src / "gt").mkdir(parents=True)
    write_seqinfo(src / "seqinfo.ini", SeqInfo("SRC", 10, 12, 160, 120))
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (5, 5), 0)
    video = cv2.VideoWriter(str(src / "SRC.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for _ in range(12):
        video.write(texture)
    video.release()
    rows = np.array([[f, 1, 70, 40, 20, 40, 1, -1, -1, -1] for f in range(1, 13)], float)
    save_mot_txt(src / "gt" / "gt.txt", rows)
    save_mot_txt(src / "det" / "det.txt", rows)
    dest = mc.make_sequence(src, "pan", tmp_path / "SRC-pan")
    info = read_seqinfo(dest / "seqinfo.ini")
    assert (info.im_width, info.im_height, info.seq_length, info.frame_rate) == (112, 84, 12, 10)
    images = sorted((dest / "img1").glob("*.jpg"))
    assert len(images) == 12 and cv2.imread(str(images[0])).shape == (84, 112, 3)
    gt = load_mot_txt(dest / "gt" / "gt.txt")
    assert len(gt) == 12 and np.ptp(gt[:, 2]) > 1.0  # a person standing still moves in the panning picture
    assert load_mot_txt(dest / "det" / "det.txt").tolist() == gt.tolist()
