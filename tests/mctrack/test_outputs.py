"""The run's single-file export (aicity.txt) and identity gallery (gallery.jpg)."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from mctrack.io.mot import save_mot_txt
from mctrack.outputs import GALLERY_CELL, aicity_camera_numbers, gallery_picks, write_aicity, write_gallery
from mctrack.types import Frame, Tracklet


def test_aicity_camera_numbers():
    assert aicity_camera_numbers(["c041", "c042"]) == {"c041": 41, "c042": 42}
    assert aicity_camera_numbers(["cam1", "cam2"]) == {"cam1": 1, "cam2": 2}
    assert aicity_camera_numbers(["left", "right"]) == {"left": 1, "right": 2}  # no digits: order
    assert aicity_camera_numbers(["a1", "b1"]) == {"a1": 1, "b1": 2}  # digits not unique: order


def test_aicity_rows_with_world_positions(tmp_path):
    save_mot_txt(tmp_path / "c041.txt", np.array([[1, 7, 10, 20, 4, 8, 0.9], [2, 7, 12, 20, 4, 8, 0.9]]))
    save_mot_txt(tmp_path / "c042.txt", np.array([[5, 7, 100, 50, 10, 30, 0.8]]))
    ground = np.diag([0.5, 0.25, 1.0])  # image -> ground: x / 2, y / 4
    n = write_aicity(
        tmp_path / "aicity.txt", {"c041": tmp_path / "c041.txt", "c042": tmp_path / "c042.txt"}, {"c041": ground}
    )
    lines = (tmp_path / "aicity.txt").read_text().splitlines()
    assert n == 3 and len(lines) == 3
    assert lines[0].split() == ["41", "7", "1", "10.00", "20.00", "4.00", "8.00", "6.000", "7.000"]  # foot (12, 28)
    assert lines[2].split()[:3] == ["42", "7", "5"] and lines[2].split()[-2:] == ["-1.000", "-1.000"]  # uncalibrated


def test_gallery_one_row_per_identity_one_column_per_camera(tmp_path, caplog):
    colours = {1: (0, 0, 255), 2: (0, 255, 0)}
    boxes = {1: [10, 10, 30, 60], 2: [100, 20, 130, 90]}

    def frames(n):
        for i in range(n):
            image = np.zeros((120, 160, 3), np.uint8)
            for pid, (x1, y1, x2, y2) in boxes.items():
                image[y1:y2, x1:x2] = colours[pid]
            yield Frame(camera="x", index=i, timestamp=i / 10, image=image)

    def tracklet(camera, tid, n, grow):
        xyxy = np.array([boxes[tid]] * n, np.float32)
        xyxy[:, 3] -= grow * (n - 1 - np.arange(n))  # the last frame has the largest box
        return Tracklet(camera, tid, np.arange(n), xyxy, np.arange(n) / 10.0)

    tracklets = [tracklet("a", 1, 5, 2), tracklet("a", 2, 5, 2), tracklet("b", 2, 5, 2)]
    lookup = {("a", 1): 11, ("a", 2): 12, ("b", 2): 12}
    picks = gallery_picks(tracklets, lookup)
    assert [f for f, _ in picks["a"][11]] == [4, 3, 2, 1, 0]  # largest box first
    assert set(picks) == {"a", "b"} and set(picks["b"]) == {12}
    n = write_gallery(tmp_path / "gallery.jpg", picks, {"a": frames(6), "b": frames(6)})
    image = cv2.imread(str(tmp_path / "gallery.jpg"))
    w, h = GALLERY_CELL
    assert n == 2 and image.shape[0] == 24 + 2 * (h + 4) and image.shape[1] == 72 + 2 * (w + 4)
    first = image[24 : 24 + h, 72 : 72 + w]  # id 12 comes first (two cameras), camera a
    second = image[24 + h + 4 : 24 + 2 * h + 4, 72 : 72 + w]  # id 11, camera a
    missing = image[24 + h + 4 : 24 + 2 * h + 4, 72 + w + 4 : 72 + 2 * w + 4]  # id 11 was never in camera b
    assert first[h // 2, w // 2, 1] > 200 and first[h // 2, w // 2, 2] < 60  # green person
    assert second[h // 2, w // 2, 2] > 200 and second[h // 2, w // 2, 1] < 60  # red person
    assert missing.mean() > 240  # left white
    assert write_gallery(tmp_path / "none.jpg", {}, {}) == 0 and not (tmp_path / "none.jpg").exists()
    with caplog.at_level(logging.WARNING):
        assert write_gallery(tmp_path / "one.jpg", picks, {"a": frames(6), "b": frames(6)}, max_ids=1) == 1
    assert "shows 1 of 2 identities" in caplog.text
    only_a = {"a": {**picks["a"], 13: picks["a"][11]}, "b": {14: picks["b"][12]}}  # b's one id is not shown
    assert write_gallery(tmp_path / "two.jpg", only_a, {"a": frames(6), "b": frames(6)}, max_ids=2) == 2
    assert cv2.imread(str(tmp_path / "two.jpg")).shape[1] == 72 + (w + 4)  # no empty column for camera b


def test_gallery_takes_the_largest_view_whose_frame_can_be_read(tmp_path):
    # a frame that could not be decoded still has rows from a detection file; its cell was left empty
    box = [10, 10, 30, 60]

    def frames(n, unreadable):
        for i in range(n):
            image = np.zeros((120, 160, 3), np.uint8)
            image[10:60, 10:30] = (0, 0, 60 * i)  # red grows frame by frame: the cell tells which frame it came from
            yield Frame(camera="x", index=i, timestamp=i / 10, image=None if i in unreadable else image)

    xyxy = np.array([box] * 4, np.float32)
    xyxy[:, 3] -= 2 * (3 - np.arange(4))  # the last frame has the largest box
    picks = gallery_picks([Tracklet("a", 1, np.arange(4), xyxy, np.arange(4) / 10.0)], {("a", 1): 7})
    w, h = GALLERY_CELL
    for unreadable, red in (({3}, 120), ({2, 3}, 60), (set(), 180)):
        assert write_gallery(tmp_path / "g.jpg", picks, {"a": frames(4, unreadable)}) == 1
        cell = cv2.imread(str(tmp_path / "g.jpg"))[24 : 24 + h, 72 : 72 + w]
        assert abs(int(cell[h // 2, w // 2, 2]) - red) < 12, (unreadable, cell[h // 2, w // 2])
    assert write_gallery(tmp_path / "g.jpg", picks, {"a": frames(4, {0, 1, 2, 3})}) == 1  # no view: cell left white
    assert cv2.imread(str(tmp_path / "g.jpg"))[24 : 24 + h, 72 : 72 + w].mean() > 240
    many = gallery_picks([Tracklet("a", 1, np.arange(4), xyxy, np.arange(4) / 10.0)], {("a", 1): 7}, candidates=2)
    assert [f for f, _ in many["a"][7]] == [3, 2]


def test_output_file_names_a_file_where_a_folder_must_be(tmp_path):
    import pytest

    from mctrack.errors import InputError
    from mctrack.outputs import output_file

    (tmp_path / "afile").write_text("x")
    # used to say "cannot create its folder ... (File exists)", for every command that writes a file
    for value in (tmp_path / "afile" / "x.json", tmp_path / "afile" / "deeper" / "x.json"):
        with pytest.raises(InputError, match=rf"--out {value}: {tmp_path / 'afile'} is a file, not a folder$"):
            output_file("--out", value)
    assert output_file("--out", tmp_path / "new" / "x.json") == tmp_path / "new" / "x.json"


def test_a_folder_that_is_a_symbolic_link_to_nothing_is_named_with_its_option(tmp_path):
    import pytest

    from mctrack.errors import InputError
    from mctrack.outputs import check_output_folder, output_file, output_folder

    link = tmp_path / "out"
    link.symlink_to(tmp_path / "nowhere")
    # exists() is False for such a link, so the checks passed it and creating the folder failed later with a bare
    # "File exists" that named neither the option nor the link
    message = rf"{link} is a symbolic link to {tmp_path / 'nowhere'}, which does not exist$"
    for check in (check_output_folder, output_folder):
        for value in (link, link / "deeper"):
            with pytest.raises(InputError, match=rf"^--out {value}: {message}"):
                check("--out", value)
    with pytest.raises(InputError, match=rf"^--json {link / 'x.json'}: {message}"):
        output_file("--json", link / "x.json")
    assert not (tmp_path / "nowhere").exists()  # nothing made on the way
    (tmp_path / "nowhere").mkdir()  # the link now leads somewhere: accepted as the folder it points to
    assert output_folder("--out", link) == link and output_file("--json", link / "x.json") == link / "x.json"
