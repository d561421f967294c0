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


def _coords_image(width=200, height=100):
    """An image whose first channel is the column and second the row of each pixel (so a crop says where it was
    taken from)."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:, :, 0] = np.arange(width)[None, :]
    img[:, :, 1] = np.arange(height)[:, None]
    return img


def _decoded(jpg):
    import cv2

    return cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR).astype(np.float64)


def test_a_crop_is_the_box_widened_by_a_tenth_of_its_width_and_a_twenty_fifth_of_its_height():
    """Box x 50-70, y 10-90 (20 x 80) in a 200 x 100 image: the crop spans columns int(50 - 2) = 48 to
    ceil(70 + 2) = 72 (exclusive) and rows int(10 - 3.2) = 6 to ceil(90 + 3.2) = 94, so its mean column is 59.5
    and mean row 49.5; a box near the right edge (x 150-170) is cropped there too (columns 148-172, mean 159.5)."""
    c = CropCollector(min_height=10, every=1, jpeg_quality=100)
    img = _coords_image()
    c.add(1, 1, img, [1, 2], np.array([[50, 10, 70, 90], [150, 10, 170, 90]], np.float64), [1.0, 1.0])
    (a,), (b,) = c.crops[1], c.crops[2]
    ca, cb = _decoded(a[2]), _decoded(b[2])
    assert ca.shape == (128, 64, 3)
    assert abs(ca[:, :, 0].mean() - 59.5) < 0.7 and abs(ca[:, :, 1].mean() - 49.5) < 0.7
    assert abs(cb[:, :, 0].mean() - 159.5) < 0.7 and abs(cb[:, :, 1].mean() - 49.5) < 0.7


def test_a_crop_at_the_image_border_is_clamped_to_the_image_and_a_box_just_outside_is_skipped():
    """Box x 1-21: widened by 2 px it would start at column -1; the crop starts at column 0 (mean column
    (0 + 22) / 2 - 0.5 = 10.5). A box whose widened left edge falls exactly on the right border (x 202-222 in a
    200-wide image: 202 - 2 = 200) has nothing inside the image and gives no crop (and no error)."""
    c = CropCollector(min_height=10, every=1, jpeg_quality=100)
    img = _coords_image()
    c.add(1, 1, img, [1, 2], np.array([[1, 10, 21, 90], [202, 10, 222, 90]], np.float64), [1.0, 1.0])
    assert set(c.crops) == {1}
    assert abs(_decoded(c.crops[1][0][2])[:, :, 0].mean() - 10.5) < 0.7


def test_crops_are_taken_by_visibility_height_and_at_most_once_every_n_frames_per_person_and_camera():
    """``min_visibility`` and ``min_height`` are inclusive lower limits on the box's visibility and *height* (a
    wide, short box is too small, a narrow tall one is not); ``every=10`` takes frames 0, 10, 20 of 25 consecutive
    ones, for each camera on its own."""
    img = _coords_image()
    c = CropCollector(min_visibility=0.6, min_height=40, every=1)
    boxes = np.array([[10, 10, 20, 60], [30, 10, 100, 45], [110, 10, 130, 60]], np.float64)  # 10x50, 70x35, 20x50
    c.add(1, 1, img, [1, 2, 3], boxes, [0.6, 1.0, 0.59])
    assert set(c.crops) == {1}  # exactly 0.6 visible and 50 tall: taken; 35 tall or 0.59 visible: not
    c = CropCollector(min_height=10, every=10)
    for f in range(25):
        for cam in (1, 2):
            c.add(cam, f, img, [7], np.array([[10, 10, 30, 60]], np.float64), [1.0])
    assert [(cam, f) for cam, f, _ in c.crops[7]] == [(1, 0), (2, 0), (1, 10), (2, 10), (1, 20), (2, 20)]


def test_write_splits_people_as_market1501_with_one_query_per_camera_that_keeps_a_gallery():
    """Person 1 (3 crops in camera 1, 1 in camera 2) and person 4 (2 + 2) can give queries; person 3 (1 + 1) is
    seen by two cameras but cannot, person 2 by one camera only. With ``need_query`` and a test fraction of 0.99
    (round(2 x 0.99) = 2) both 1 and 4 are test people whatever the draw: one query from each camera with two or
    more crops (1: camera 1 only; 4: both), the rest in the gallery; 2 and 3 are trained on. Old crops of an
    earlier run are replaced; other files are left alone."""
    crops = {
        1: [(1, 1, b"a"), (1, 2, b"a"), (1, 3, b"a"), (2, 5, b"a")],
        2: [(1, 7, b"b"), (1, 8, b"b")],
        3: [(1, 2, b"c"), (2, 2, b"c")],
        4: [(1, 1, b"d"), (1, 2, b"d"), (2, 1, b"d"), (2, 2, b"d")],
    }
    c = CropCollector(test_fraction=0.99, crops=crops)
    assert c.test_candidates() == [1, 3, 4] and c.test_candidates(need_query=True) == [1, 4]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "query").mkdir()
        (root / "query" / "0099_c1s1_000001_00.jpg").write_bytes(b"old")
        (root / "query" / "notes.txt").write_text("keep")
        counts = c.write(root, np.random.default_rng(0), need_query=True)
        names = {
            d: sorted(p.name for p in (root / d).iterdir())
            for d in ("bounding_box_train", "query", "bounding_box_test")
        }
    assert counts == {"train_images": 4, "query_images": 3, "gallery_images": 5, "train_ids": 2, "test_ids": 2}
    assert names["bounding_box_train"] == [
        "0002_c1s1_000007_00.jpg",
        "0002_c1s1_000008_00.jpg",
        "0003_c1s1_000002_00.jpg",
        "0003_c2s1_000002_00.jpg",
    ]
    query = [n for n in names["query"] if n.endswith(".jpg")]
    assert "notes.txt" in names["query"] and len(query) == 3
    assert sorted(n[:7] for n in query) == ["0001_c1", "0004_c1", "0004_c2"]
    assert len(names["bounding_box_test"]) == 5 and all(n[:4] in ("0001", "0004") for n in names["bounding_box_test"])
    assert "0001_c2s1_000005_00.jpg" in names["bounding_box_test"]  # camera 2's only crop stays in the gallery


def test_write_rounds_the_test_share_and_needs_two_candidates_for_a_test_split():
    """0.6 of 3 multi-camera people is 1.8: 2 test people (rounded, not truncated); a single multi-camera person
    makes no test split at all (a query needs someone else in the gallery to be told apart from)."""
    import tempfile

    three = {p: [(1, 1, b"x"), (2, 1, b"x")] for p in (1, 2, 3)}
    with tempfile.TemporaryDirectory() as tmp:
        assert CropCollector(test_fraction=0.6, crops=three).write(tmp, np.random.default_rng(0))["test_ids"] == 2
    with tempfile.TemporaryDirectory() as tmp:
        one = CropCollector(test_fraction=0.6, crops={1: [(1, 1, b"x"), (2, 1, b"x")]})
        assert one.write(tmp, np.random.default_rng(0))["test_ids"] == 0


def test_collector_settings_are_checked():
    import pytest

    for kwargs in ({"every": 0}, {"test_fraction": 0.0}, {"test_fraction": 1.0}, {"min_visibility": 1.5}):
        with pytest.raises(ValueError):
            CropCollector(**kwargs)


def test_visibility_samples_the_box_symmetrically_in_both_directions():
    """The sample grid is centred in its cells: covering the left 30% of a box or (mirrored) its right 30% hides
    the same share, and covering its lower half (the height, not the width, is sampled down the box) hides half."""
    box = [0, 0, 10, 20]
    left = estimate_visibility(np.array([box, [-5, 0, 3, 40]], np.float64))[0]
    right = estimate_visibility(np.array([box, [7, 0, 15, 40]], np.float64))[0]
    assert left == right
    lower = estimate_visibility(np.array([box, [0, 10, 10, 40]], np.float64))[0]
    assert abs(lower - 0.5) < 1e-9


def test_visibility_counts_a_box_as_covered_only_where_a_nearer_box_overlaps_it():
    """A nearer person below the box (no overlap in y) hides nothing; with two nearer people, one covering the
    right half and one elsewhere, half is hidden (any of them may cover a point)."""
    box = [0, 0, 10, 20]
    assert estimate_visibility(np.array([box, [0, 30, 10, 60]], np.float64))[0] == 1.0
    two = estimate_visibility(np.array([box, [5, 0, 15, 40], [50, 0, 60, 40]], np.float64))[0]
    assert abs(two - 0.5) < 1e-9


def test_crop_frames_cuts_people_at_any_image_edge_and_keeps_the_visibility_with_its_row():
    """In a 200 x 100 image: a person at x 150-170 is whole (cropped); one half above the image top (y -30 to 30)
    is half inside (0.5 < 0.6: no crop); one whose box starts within a pixel of the left edge (x 1) or ends within
    one of the right edge (x 199) is taken as walking in or out (no crop). Given visibilities follow their rows when
    the rows are sorted by frame."""

    def frames(n):
        for i in range(n):
            yield Frame(camera="c", index=i, timestamp=i / 10, image=_coords_image())

    rows = np.array(
        [
            [1, 1, 150, 10, 20, 60, 1],
            [2, 1, 100, 10, 20, 60, 1],  # rows given out of frame order: visibility 0.1 belongs to this frame-2 row
            [1, 2, 100, -30, 20, 60, 1],
            [1, 3, 1, 10, 20, 60, 1],
            [1, 4, 179, 10, 20, 60, 1],
            [3, 5, 50, 10, 20, 60, 1],
        ],
        np.float64,
    )
    collector = CropCollector(min_height=10, every=1, min_visibility=0.6)
    list(crop_frames(frames(5), rows, None, 1, collector))
    assert set(collector.crops) == {1, 5} and [f for _, f, _ in collector.crops[1]] == [1, 2]
    collector = CropCollector(min_height=10, every=1, min_visibility=0.6)
    vis = np.array([1.0, 0.1, 1.0, 1.0, 1.0, 1.0])
    list(crop_frames(frames(5), rows, vis, 1, collector))
    assert [f for _, f, _ in collector.crops[1]] == [1]  # frame 2's row is 0.1 visible


def test_label_rows_drops_only_a_zero_score_and_needs_both_classes_and_visibilities_for_mot17():
    """Only ``conf == 0`` marks a row to ignore (a result file may hold any other score, -1 included). A file is
    read as MOT16/17 ground truth only if *every* row has a class id 1-13 *and* a visibility in [0, 1]."""
    rows, vis, dropped = label_rows(np.array([[1, 1, 0, 0, 10, 20, -1], [1, 2, 0, 0, 10, 20, 0.3]]))
    assert rows[:, 1].tolist() == [1, 2] and vis is None and dropped == 0
    not_vis = np.array([[1, 1, 0, 0, 10, 20, 1, 1, 5.5], [1, 2, 0, 0, 10, 20, 1, 2, 0.5]])
    rows, vis, dropped = label_rows(not_vis)
    assert len(rows) == 2 and vis is None
    not_cls = np.array([[1, 1, 0, 0, 10, 20, 1, 1, 0.5], [1, 2, 0, 0, 10, 20, 1, 20, 0.5]])
    rows, vis, dropped = label_rows(not_cls)
    assert len(rows) == 2 and vis is None and dropped == 0
