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


def test_aicity_world_positions_follow_a_calibration_that_moves_the_origin(tmp_path):
    """The foot point (bottom centre) is mapped by the homography as given (not its transpose); a foot that maps to
    infinity has no world position (-1 -1), and the camera numbers given are used."""
    save_mot_txt(tmp_path / "a.txt", np.array([[3, 9, 10, 20, 4, 8, 0.9], [4, 9, 10, 20, 4, 8, 0.9]]))
    shift = np.array([[1.0, 0.0, 100.0], [0.0, 1.0, -50.0], [0.0, 0.0, 1.0]])  # x + 100, y - 50
    n = write_aicity(tmp_path / "aicity.txt", {"a": tmp_path / "a.txt"}, {"a": shift}, numbers={"a": 7})
    lines = [line.split() for line in (tmp_path / "aicity.txt").read_text().splitlines()]
    assert n == 2 and lines[0] == ["7", "9", "3", "10.00", "20.00", "4.00", "8.00", "112.000", "-22.000"]
    horizon = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, -28.0]])  # y = 28, the foot's: w = 0
    write_aicity(tmp_path / "aicity.txt", {"a": tmp_path / "a.txt"}, {"a": horizon})
    assert (tmp_path / "aicity.txt").read_text().split("\n")[0].split()[-2:] == ["-1.000", "-1.000"]


def test_temporary_names_are_hidden_beside_the_file_and_keep_a_videos_suffix():
    """A temporary file is hidden in the file's folder; an image or video keeps its suffix (any case: it chooses
    the writer), any other file ends in .tmp (never taken for a *.txt result)."""
    from pathlib import Path

    from mctrack.outputs import temporary_name

    assert temporary_name(Path("out/cam1.txt")) == Path("out/.cam1.txt.tmp")
    assert temporary_name(Path("out/cam1.mp4")) == Path("out/.cam1.tmp.mp4")
    assert temporary_name(Path("out/Clip.MP4")) == Path("out/.Clip.tmp.MP4")
    assert temporary_name(Path("out/gallery.jpg")) == Path("out/.gallery.tmp.jpg")


def test_written_over_finds_an_input_by_its_real_path(tmp_path):
    """An input that is one of the files a command writes, through a link or another spelling, is found."""
    from mctrack.outputs import written_over

    out = tmp_path / "out"
    out.mkdir()
    (out / "cam1.txt").write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    (tmp_path / "link.txt").symlink_to(out / "cam1.txt")
    written = [out / ".." / "out" / "cam1.txt", out / "summary.json"]  # as a command may spell them
    assert written_over([("--gt", tmp_path / "other.txt")], written) is None
    assert written_over([("--gt", tmp_path / "other.txt"), ("--det", tmp_path / "link.txt")], written) == (
        "--det",
        str(tmp_path / "link.txt"),
        out / ".." / "out" / "cam1.txt",
    )
    spelled = f"{tmp_path}/out/../out/summary.json"
    assert written_over([("--cams", spelled)], written) == ("--cams", spelled, out / "summary.json")


def test_global_rows_replace_local_ids_and_drop_tracks_without_one(tmp_path):
    """Each row of a local MOT file gets its track's global id; rows of tracks without one are left out; the rows
    written are counted. A missing local file gives an empty result."""
    from mctrack.outputs import write_global_rows

    local = tmp_path / "local.txt"
    local.write_text("1,3,10,20,4,8,0.9,-1,-1,-1\n1,4,0,0,2,2,0.5,-1,-1,-1\n2,3,11,20,4,8,0.8,-1,-1,-1\n")
    n = write_global_rows(local, tmp_path / "cam1.txt", "cam1", {("cam1", 3): 12, ("cam2", 4): 5})
    assert n == 2
    assert (tmp_path / "cam1.txt").read_text() == "1,12,10,20,4,8,0.9,-1,-1,-1\n2,12,11,20,4,8,0.8,-1,-1,-1\n"
    assert write_global_rows(tmp_path / "none.txt", tmp_path / "cam2.txt", "cam2", {}) == 0
    assert (tmp_path / "cam2.txt").read_text() == ""


def test_a_result_file_that_fails_midway_keeps_the_earlier_one_whole(tmp_path):
    """A write that fails (here a damaged local row) leaves the earlier file as it was and no temporary file."""
    import pytest

    from mctrack.outputs import write_global_rows

    (tmp_path / "cam1.txt").write_text("earlier\n")
    local = tmp_path / "local.txt"
    local.write_text("1,3,10,20,4,8,0.9,-1,-1,-1\nbroken\n")
    with pytest.raises(ValueError):
        write_global_rows(local, tmp_path / "cam1.txt", "cam1", {("cam1", 3): 1})
    assert (tmp_path / "cam1.txt").read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam1.txt", "local.txt"]


def test_identities_csv_has_one_row_per_linked_tracklet_in_camera_and_id_order(tmp_path):
    """Tracklets without a global id are left out; rows by camera then local id; frames 1-based, times in ms."""
    import csv

    from mctrack.online import TrackletSummary
    from mctrack.outputs import write_identities

    summaries = [
        TrackletSummary("bü", 2, 0.5, 1.25, 5, 12, 8),  # written as UTF-8
        TrackletSummary("a", 7, 1.0 / 3, 2.0, 0, 9, 10),
        TrackletSummary("a", 3, 0.0, 0.1, 0, 1, 2),
        TrackletSummary("a", 5, 0.0, 0.1, 0, 1, 2),  # not linked
    ]
    write_identities(tmp_path / "identities.csv", summaries, {("a", 7): 1, ("a", 3): 2, ("bü", 2): 1})
    with open(tmp_path / "identities.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["camera", "local_id", "global_id", "first_time", "last_time", "first_frame", "last_frame", "frames"],
        ["a", "3", "2", "0.000", "0.100", "1", "2", "2"],
        ["a", "7", "1", "0.333", "2.000", "1", "10", "10"],
        ["bü", "2", "1", "0.500", "1.250", "6", "13", "8"],
    ]


def test_the_run_record_says_what_ran_and_whether_it_completed(tmp_path):
    """``complete`` is true only when nothing stopped the run; the result's name (not its path), rows and a live
    stream's counts are recorded, as JSON ending in a newline."""
    import json
    from pathlib import Path

    from mctrack.outputs import write_run_record

    common = dict(frames=5, source_frames=9, settings={"a": 1}, provenance={"git": "x"})
    write_run_record(tmp_path / "r.json", Path("/far/away/SEQ.txt"), stopped=None, rows=3, **common)
    text = (tmp_path / "r.json").read_text()
    record = json.loads(text)
    assert text.endswith("}\n") and record["complete"] is True and record["stopped"] is None
    assert record["result"] == "SEQ.txt" and record["rows"] == 3 and "live" not in record
    live = {"dropped_frames": 2, "reconnects": 1, "outage_s": 0.5}
    write_run_record(tmp_path / "r.json", Path("SEQ.txt"), stopped="interrupted", live=live, **common)
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["complete"] is False and record["stopped"] == "interrupted" and record["live"] == live


class _Frames:
    """A frame source of black 160x120 frames; ``fail_at``: the index whose reading raises."""

    size = (160, 120)

    def __init__(self, n, fail_at=None):
        self.n, self.fail_at, self.read = n, fail_at, 0

    def __iter__(self):
        for i in range(self.n):
            if i == self.fail_at:
                raise OSError("the camera's video broke off")
            self.read += 1
            yield Frame(camera="c", index=i, timestamp=i / 10, image=np.zeros((120, 160, 3), np.uint8))


def test_the_annotated_video_has_the_frames_asked_and_each_rows_box_on_its_frame(tmp_path):
    """``frames`` frames of the source; a row of frame 2 (1-based) is drawn on the second frame, x from x to x+w."""
    from mctrack.outputs import write_annotated_video

    save_mot_txt(tmp_path / "rows.txt", np.array([[2, 5, 60, 30, 40, 60, 0.9]]))  # x 60..100, y 30..90
    write_annotated_video(tmp_path / "v.avi", _Frames(6), tmp_path / "rows.txt", "c", 4, 10.0)
    cap = cv2.VideoCapture(str(tmp_path / "v.avi"))
    frames = []
    while (ok_image := cap.read())[0]:
        frames.append(ok_image[1])
    cap.release()
    assert len(frames) == 4

    def edges(image):  # the box's left and right edges, its middle third
        return image[50:70, 58:63].max(), image[50:70, 98:103].max(), image[50:70, 70:90].max()

    left, right, inside = edges(frames[1])
    assert left > 100 and right > 100 and inside < 40
    assert all(max(edges(frames[i])) < 40 for i in (0, 2, 3))


def test_an_annotated_video_that_fails_midway_keeps_the_earlier_one(tmp_path):
    """A source failing while its video is written: the error goes on, the earlier video is left whole and no
    temporary file stays."""
    import pytest

    from mctrack.outputs import write_annotated_video

    (tmp_path / "v.avi").write_bytes(b"earlier video")
    with pytest.raises(OSError, match="broke off"):
        write_annotated_video(tmp_path / "v.avi", _Frames(6, fail_at=3), tmp_path / "none.txt", "c", 6, 10.0)
    assert (tmp_path / "v.avi").read_bytes() == b"earlier video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.avi"]


def test_the_gallery_reads_no_further_than_its_largest_views(tmp_path):
    """Once every identity has its largest view, the camera is read no further (a long video is not decoded to
    the frame of a smaller view)."""
    xyxy = np.array([[10, 10, 40, 100], [10, 10, 30, 60], [10, 10, 30, 50]], np.float32)  # largest first
    picks = gallery_picks([Tracklet("a", 1, np.array([1, 5, 9]), xyxy, np.array([0.1, 0.5, 0.9]))], {("a", 1): 3})
    source = _Frames(40)
    assert write_gallery(tmp_path / "g.jpg", picks, {"a": source}) == 1
    assert source.read <= 3


def test_a_gallery_that_cannot_be_written_keeps_the_earlier_one(tmp_path, monkeypatch):
    """An image writer that fails (a full disk) raises an error naming the gallery, leaving the earlier gallery
    whole and no temporary file."""
    import pytest

    picks = gallery_picks(
        [Tracklet("a", 1, np.array([0]), np.array([[10, 10, 30, 60]], np.float32), np.zeros(1))], {("a", 1): 1}
    )
    (tmp_path / "gallery.jpg").write_bytes(b"earlier gallery")

    def full_disk(path, image, params=None):
        with open(path, "wb") as fh:
            fh.write(b"half")
        return False

    monkeypatch.setattr(cv2, "imwrite", full_disk)
    with pytest.raises(OSError, match="could not write the gallery image"):
        write_gallery(tmp_path / "gallery.jpg", picks, {"a": _Frames(2)})
    assert (tmp_path / "gallery.jpg").read_bytes() == b"earlier gallery"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.jpg"]


def test_output_checks_name_the_option_and_what_is_in_the_way(tmp_path):
    """A file where a folder is needed (the folder itself or one above it), a folder that cannot be created, and a
    file suffix in any case."""
    import pytest

    from mctrack.errors import InputError
    from mctrack.outputs import check_output_folder, output_file, output_folder

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError, match=rf"^--out {afile}: a file is there, not a folder$"):
        check_output_folder("--out", afile)
    with pytest.raises(InputError, match=rf"^--out {afile / 'sub'}: {afile} is a file, not a folder$"):
        check_output_folder("--out", afile / "sub")
    with pytest.raises(InputError, match=rf"^--out {afile / 'sub'}: cannot create the folder \("):
        output_folder("--out", afile / "sub")
    check_output_folder("--out", tmp_path / "new" / "deeper")  # nothing made
    assert not (tmp_path / "new").exists()
    assert output_file("--out", tmp_path / "M.ONNX", (".onnx",)) == tmp_path / "M.ONNX"
    with pytest.raises(InputError, match=r"must end in \.onnx$"):
        output_file("--out", tmp_path / "m.pt", (".onnx",))


def test_a_runs_local_folder_is_known_by_its_name_and_its_run(tmp_path):
    """``local/`` beside a run's summary.json or lock, also through a link; not a folder of another name, nor a
    ``local/`` of a folder that is no run's."""
    from mctrack.outputs import RUN_LOCK, is_run_local_folder

    run, other, user = tmp_path / "run", tmp_path / "other", tmp_path / "user"
    for folder in (run / "local", run / "rows", other / "local", user / "local"):
        folder.mkdir(parents=True)
    (run / RUN_LOCK).write_text("")
    (other / "summary.json").write_text("{}")
    (tmp_path / "link").symlink_to(run / "local")
    assert is_run_local_folder(run / "local") and is_run_local_folder(other / "local")
    assert is_run_local_folder(tmp_path / "link")
    assert not is_run_local_folder(run / "rows") and not is_run_local_folder(user / "local")


def test_earlier_outputs_names_what_an_earlier_run_left_for_other_cameras(tmp_path):
    """Other cameras' results, videos, local rows and tracklets (a camera id with a dash included); not this run's
    cameras', a user's files, hidden ones, nor anything in a folder that was never a run's."""
    import json

    from mctrack.outputs import earlier_outputs

    out = tmp_path / "out"
    (out / "local").mkdir(parents=True)
    (out / "tracklets").mkdir()
    (out / "summary.json").write_text(json.dumps({"cameras": {"cam-a": {}, "old": {}, "gone": {}}}))
    names = "cam-a.txt cam-a.mp4 old.txt old.mp4 gone.txt .old.tmp.mp4 README.txt local/cam-a.txt local/old.txt"
    names += " local/older.txt tracklets/cam-a-000001.npz tracklets/old-000002.npz"
    for name in names.split():
        (out / name).write_text("")
    stale = "gone.txt old.txt old.mp4 local/old.txt local/older.txt tracklets/old-000002.npz"
    assert earlier_outputs(out, ["cam-a"]) == stale.split()
    (out / "summary.json").unlink()  # a run killed before its summary: its local rows name its cameras
    assert earlier_outputs(out, ["cam-a"])[:2] == ["old.txt", "old.mp4"]
    user = tmp_path / "user"
    (user / "tracklets").mkdir(parents=True)
    (user / "old.txt").write_text("")
    (user / "tracklets" / "old-000001.npz").write_text("")
    assert earlier_outputs(user, ["cam-a"]) == []


def test_gallery_picks_take_the_largest_views_over_all_of_an_identitys_tracklets():
    """An identity's tracklets in one camera give at most ``candidates`` views, the largest of them all first."""
    small = np.array([[0, 0, 10, 20], [0, 0, 10, 22], [0, 0, 10, 24]], np.float32)
    large = np.array([[0, 0, 20, 40], [0, 0, 20, 50]], np.float32)
    tracklets = [
        Tracklet("a", 1, np.array([0, 1, 2]), small, np.array([0.0, 0.1, 0.2])),
        Tracklet("a", 2, np.array([10, 11]), large, np.array([1.0, 1.1])),
    ]
    picks = gallery_picks(tracklets, {("a", 1): 5, ("a", 2): 5}, candidates=3)
    assert [f for f, _ in picks["a"][5]] == [11, 10, 2]
    np.testing.assert_array_equal(picks["a"][5][0][1], [0, 0, 20, 50])


def test_gallery_cells_of_a_box_partly_outside_the_image_or_without_area(tmp_path):
    """A box reaching past the image's edge shows its part inside; one without area leaves a grey cell (neither
    fails the gallery)."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[10:60, 0:30] = (0, 0, 255)
    frames = [Frame(camera="a", index=0, timestamp=0.0, image=image)]
    picks = {"a": {1: ((0, np.array([-10.0, 10, 30, 60])),), 2: ((0, np.array([50.0, 10, 50, 60])),)}}
    assert write_gallery(tmp_path / "g.jpg", picks, {"a": iter(frames)}) == 2
    w, h = GALLERY_CELL
    gallery = cv2.imread(str(tmp_path / "g.jpg"))
    clipped, empty = gallery[24 : 24 + h, 72 : 72 + w], gallery[24 + h + 4 : 24 + 2 * h + 4, 72 : 72 + w]
    assert clipped[h // 2, w // 2, 2] > 200 and clipped[h // 2, w // 2, 0] < 60  # the red person
    assert abs(float(empty.mean()) - 40) < 8  # the grey of an empty cell
