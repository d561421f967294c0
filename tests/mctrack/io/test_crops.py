"""Person crops of labelled boxes (``mctrack.io.crops``): visibility, label rows, frame mapping."""

from __future__ import annotations

import numpy as np

from mctrack.io.crops import CropCollector, crop_frames, estimate_visibility, label_rows
from mctrack.types import Frame


def test_visibility_counts_only_people_nearer_the_camera():
    boxes = np.array(
        [
            [0, 0, 10, 20],  # behind (bottom edge 20), its right half covered by the next box
            [5, 0, 15, 40],  # in front (bottom edge 40): nothing nearer covers it
            [100, 0, 110, 20],  # alone
        ],
        np.float64,
    )
    vis = estimate_visibility(boxes)
    assert abs(vis[0] - 0.5) < 1e-9 and vis[1] == 1.0 and vis[2] == 1.0
    assert estimate_visibility(boxes[:1]).tolist() == [1.0] and len(estimate_visibility(np.zeros((0, 4)))) == 0


def test_label_rows_mot17_keeps_pedestrians_with_their_visibility_mot15_gets_none():
    mot17 = np.array(
        [
            [1, 1, 0, 0, 10, 20, 1, 1, 0.8],
            [1, 2, 0, 0, 10, 20, 1, 7, 0.9],  # static person: not a pedestrian to crop
            [1, 3, 0, 0, 10, 20, 0, 1, 1.0],  # marked to ignore
            [1, 5, 0, 0, 10, 20, 1, 13, 1.0],  # a crowd (13): a class id, no pedestrian
        ]
    )
    rows, vis, dropped = label_rows(mot17)
    assert rows[:, 1].tolist() == [1] and vis.tolist() == [0.8] and dropped == 3
    mot15 = np.array([[1, 1, 0, 0, 10, 20, 1, 4.48, 5.50, 0], [2, 1, 0, 0, 10, 20, 1, -1, -1, -1]])
    rows, vis, dropped = label_rows(mot15)  # world coordinates, not classes: no visibility, every row kept
    assert len(rows) == 2 and vis is None and dropped == 0


def _frames(n, unreadable=()):
    for i in range(n):
        image = np.full((100, 100, 3), 10 * i, np.uint8)
        yield Frame(camera="c", index=i, timestamp=i / 10, image=None if i in unreadable else image)


def test_crop_frames_maps_one_based_rows_to_frames_and_stops_after_the_last_label():
    # person 7 in MOT frames 2 and 4 (0-based frames 1 and 3); a box wholly outside the image is no crop
    rows = np.array([[4, 7, 10, 10, 20, 60, 1], [2, 7, 10, 10, 20, 60, 1], [2, 8, 300, 300, 20, 60, 1]], np.float64)
    collector = CropCollector(min_height=10, every=1)
    read = list(crop_frames(_frames(50), rows, None, 3, collector))
    assert read == [1, 2, 3, 4]  # stopped after MOT frame 4, not read to the end
    assert set(collector.crops) == {7}
    taken = collector.crops[7]
    assert [(cam, frame) for cam, frame, _ in taken] == [(3, 2), (3, 4)]
    import cv2

    grey = [int(cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR).mean()) for _, _, jpg in taken]
    assert abs(grey[0] - 10) <= 2 and abs(grey[1] - 30) <= 2  # MOT frame 2 is image 1 (grey 10), 4 is image 3


def test_crop_frames_skips_unreadable_frames_and_cut_people():
    rows = np.array(
        [
            [1, 1, 10, 10, 20, 60, 1],
            [2, 1, 10, 10, 20, 60, 1],
            [3, 1, -15, 10, 20, 60, 1],  # 75% outside the image
            [4, 1, 0, 10, 20, 60, 1],  # clipped to the left edge, as MOT15's ground truth clips a person walking in
            [5, 1, 80, 10, 20, 60, 1],  # clipped to the right edge (the image is 100 px wide)
            [6, 1, 40, 10, 20, 60, 1],
        ],
        np.float64,
    )
    collector = CropCollector(min_height=10, every=1, min_visibility=0.6)
    list(crop_frames(_frames(6, unreadable={0}), rows, None, 1, collector))
    # frame 1 has no image; frames 3-5 are people cut by the image edge
    assert [frame for _, frame, _ in collector.crops[1]] == [2, 6]
