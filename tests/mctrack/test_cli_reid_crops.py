"""``mctrack reid crops``: a Market-1501 folder cut from a camera set's labels, read back by the Re-ID loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mctrack.cli import main
from mctrack.io.mot import load_mot_txt, save_mot_txt
from reid_models.data.datasets import load_dataset

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "samples" / "small" / "cams.yaml"


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error" in line]


def _names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.jpg"))


def test_crops_of_a_camera_set_read_back_as_market1501(tmp_path, capsys):
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(out), "--no-progress"]) == 0
    manifest = json.loads((out / "crops.json").read_text())
    counts = manifest["counts"]
    data = load_dataset("market1501", out, verbose=False)
    assert len(data.train) == counts["train_images"] > 0 and len(data.query) == counts["query_images"] > 0
    assert len(data.gallery) == counts["gallery_images"] > 0
    train_ids = {s.pid for s in data.train}
    test_ids = {s.pid for s in data.query}
    assert not train_ids & test_ids and test_ids <= {s.pid for s in data.gallery}
    # every query has a gallery crop of its person from another camera (the protocol drops its own camera's)
    for q in data.query:
        assert any(g.pid == q.pid and g.camid != q.camid for g in data.gallery)
    # crops of a person in one camera at least --every apart (0.5 s at the scene's 10 fps: 5 frames)
    frames: dict[tuple[int, int], list[int]] = {}
    for name in _names(out):
        pid, cam, frame = int(name.split("/")[-1][:4]), int(name.split("_c")[1][0]), int(name.split("s1_")[1][:6])
        frames.setdefault((pid, cam), []).append(frame)
    assert all(np.diff(sorted(f)).min(initial=99) >= 5 for f in frames.values())
    # each crop's person is the ground truth's at that frame and camera
    gt = {c: load_mot_txt(ROOT / "samples" / "small" / f"cam{c}" / "gt" / "gt.txt") for c in (1, 2, 3)}
    for (pid, cam), fs in frames.items():
        for f in fs:
            assert ((gt[cam][:, 0] == f) & (gt[cam][:, 1] == pid)).any()
    assert "training crops of" in capsys.readouterr().out
    # the same seed gives the same split
    again = tmp_path / "again"
    assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(again), "--no-progress"]) == 0
    assert _names(again) == _names(out)


def test_crops_labelled_by_a_finished_run(tmp_path):
    # a run's OUT/<camera>.txt holds global ids: here the ground truth with every id moved by 100
    run = tmp_path / "run"
    run.mkdir()
    for c in (1, 2, 3):
        rows = load_mot_txt(ROOT / "samples" / "small" / f"cam{c}" / "gt" / "gt.txt")[:, :7].copy()
        rows[:, 1] += 100
        rows[:, 6] = 0.9  # a score, not a "conf 0: ignore" mark
        save_mot_txt(run / f"cam{c}.txt", rows)
    (run / "summary.json").write_text("{}")
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--cams", str(SMALL), "--labels", str(run), "--out", str(out), "--no-progress"]) == 0
    pids = {int(n.split("/")[-1][:4]) for n in _names(out)}
    assert pids and min(pids) > 100


def test_out_is_never_emptied_unless_it_is_an_earlier_export(tmp_path, capsys):
    out = tmp_path / "crops"
    args = ["reid", "crops", "--cams", str(SMALL), "--out", str(out), "--no-progress", "--every", "2"]
    assert main(args) == 0
    first = _names(out)
    assert main(args) == 1
    assert "not empty (pass --overwrite" in _errors(capsys)[0]
    assert main([*args, "--overwrite", "--seed", "1"]) == 0  # replaced, not added to
    assert len(_names(out)) == len(first) and json.loads((out / "crops.json").read_text())["options"]["seed"] == 1
    # a dataset this command did not write is never emptied, whatever its names
    market = tmp_path / "market"
    (market / "bounding_box_train").mkdir(parents=True)
    some_crop = next((out / "bounding_box_train").glob("*.jpg"))
    shutil.copy(some_crop, market / "bounding_box_train" / "0002_c1s1_000451_03.jpg")  # Market's own naming
    assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(market), "--overwrite", "--no-progress"]) == 1
    assert "not an export of reid crops (no crops.json)" in _errors(capsys)[0]
    assert (market / "bounding_box_train" / "0002_c1s1_000451_03.jpg").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give either --cams (a camera set) or --source (one camera)"),
        (["--cams", str(SMALL), "--source", "x"], "give either --cams"),
        (["--cams", str(SMALL), "--test-fraction", "1"], "--test-fraction 1.0: must be in (0, 1)"),
        (["--cams", str(SMALL), "--min-visibility", "2"], "--min-visibility 2.0: must be in [0, 1]"),
        (["--cams", str(SMALL), "--every", "nan"], "--every nan: must be a number of seconds"),
        (["--cams", str(SMALL), "--labels", "NORUN"], "--labels NORUN: with --cams, give a finished 'mctrack run"),
        (["--cams", str(SMALL), "--seed", "-1"], "--seed -1: must be a whole number >= 0"),
        (["--cams", str(SMALL), "--fps", "10"], "--fps: with --cams, give each camera's rate as fps: in the camera"),
        (["--source", str(SMALL)], "a camera set? give it as --cams"),
    ],
)
def test_bad_options_are_one_line_before_any_work(tmp_path, capsys, extra, message):
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--out", str(out), "--no-progress", *extra]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and message in errors[0]
    assert not out.exists()


def test_ids_that_a_market_name_cannot_hold_are_refused(tmp_path, capsys):
    seq = tmp_path / "seq"
    (seq / "img1").mkdir(parents=True)
    import cv2

    cv2.imwrite(str(seq / "img1" / "000001.jpg"), np.zeros((100, 100, 3), np.uint8))
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=seq\nimDir=img1\nframeRate=10\nseqLength=1\nimExt=.jpg\n")
    labels = tmp_path / "labels.txt"
    save_mot_txt(labels, np.array([[1, 12345, 10, 10, 20, 60, 1]], np.float64))
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out)]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "person id 12345 cannot be written in a Market-1501 name" in errors[0]
    assert str(labels) in errors[0] and not out.exists()
    # a video without --labels: nothing to guess from
    assert (
        main(["reid", "crops", "--source", str(ROOT / "samples" / "small" / "cam1" / "video.mp4"), "--out", str(out)])
        == 1
    )
    assert "give its label file with --labels" in _errors(capsys)[0]
    # a source that is not there is said as such, not as a missing --labels (helper-87)
    assert main(["reid", "crops", "--source", str(tmp_path / "nowhere"), "--out", str(out)]) == 1
    assert _errors(capsys) == [f"mctrack reid crops: error: --source {tmp_path / 'nowhere'}: not found"]


def test_label_rows_eval_refuses_are_refused_and_an_empty_file_is_said(tmp_path, capsys, caplog):
    """helper-74: a box of negative size was dropped without a word and a person boxed twice in one frame cropped
    from the first box in file order (eval refuses both); an empty file gave 'none of its 0 label rows ...'."""
    seq = tmp_path / "seq"
    (seq / "img1").mkdir(parents=True)
    import cv2

    for f in (1, 2):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.zeros((100, 100, 3), np.uint8))
    (seq / "seqinfo.ini").write_text(
        "[Sequence]\nname=seq\nimDir=img1\nframeRate=10\nseqLength=2\nimWidth=100\nimHeight=100\nimExt=.jpg\n"
    )
    labels, out = tmp_path / "labels.txt", tmp_path / "crops"
    argv = ["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out), "--no-progress"]
    for rows, message in (
        ([[1, 1, 10, 10, 20, 60, 1], [2, 1, 10, 10, -20, 60, 1]], "line 2: box width and height must be >= 0"),
        ([[1, 1, 10, 10, 20, 60, 1], [1, 1, 50, 10, 20, 60, 1]], "id 1 repeated within frame 1 (two boxes"),
    ):
        save_mot_txt(labels, np.array(rows, np.float64))
        assert main(argv) == 1
        errors = _errors(capsys)
        assert len(errors) == 1 and f"{labels}: " in errors[0] and message in errors[0], errors
        assert not out.exists()
    labels.write_text("")
    with caplog.at_level("WARNING"):
        assert main(argv) == 1
    assert f"camera seq: no crop taken from {labels}: the file has no rows" in caplog.text


def _earlier_export(tmp_path) -> tuple[Path, list[str]]:
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(out), "--no-progress", "--every", "2"]) == 0
    return out, _names(out)


def test_overwrite_checks_everything_before_removing_anything(tmp_path, capsys):
    out, first = _earlier_export(tmp_path)
    (out / "bounding_box_train" / "labels_fixed.csv").write_text("mine")  # the user's own file among the crops
    args = ["reid", "crops", "--cams", str(SMALL), "--out", str(out), "--no-progress", "--overwrite"]
    assert main(args) == 1
    error = _errors(capsys)[0]
    assert "holds bounding_box_train/labels_fixed.csv, which reid crops did not write; nothing was removed" in error
    assert _names(out) == first and (out / "bounding_box_train" / "labels_fixed.csv").read_text() == "mine"
    (out / "bounding_box_train" / "labels_fixed.csv").unlink()
    (out / "readme.txt").write_text("mine")
    assert main(args) == 1 and "holds readme.txt" in _errors(capsys)[0] and _names(out) == first


def test_a_failed_or_interrupted_export_leaves_out_as_it_was(tmp_path, capsys, monkeypatch):
    out, first = _earlier_export(tmp_path)
    args = ["reid", "crops", "--cams", str(SMALL), "--out", str(out), "--no-progress", "--overwrite"]
    assert main([*args, "--min-height", "100000"]) == 1  # fails after cropping: nothing taken
    assert "no crop taken from any camera" in _errors(capsys)[0]
    assert _names(out) == first and (out / "crops.json").is_file()
    import mctrack.commands.reid_crops as command

    def interrupted(*a, **k):
        yield 1
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "crop_frames", interrupted)
    assert main(args) == 130
    assert _names(out) == first and (out / "crops.json").is_file()
    fresh = tmp_path / "fresh"
    assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(fresh), "--no-progress"]) == 130
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crops"]  # no partial folder left beside it


def test_labels_of_another_source_are_refused_before_any_work(tmp_path, capsys):
    rows = load_mot_txt(ROOT / "samples" / "small" / "cam1" / "gt" / "gt.txt")
    shifted = rows.copy()
    shifted[:, 0] += 150  # the video has 200 frames
    save_mot_txt(tmp_path / "shifted.txt", shifted)
    video = ROOT / "samples" / "small" / "cam1" / "video.mp4"
    out = tmp_path / "crops"
    assert (
        main(["reid", "crops", "--source", str(video), "--labels", str(tmp_path / "shifted.txt"), "--out", str(out)])
        == 1
    )
    error = _errors(capsys)[0]
    assert "labels reach frame 350, but" in error and "has 200 frames: the labels of another source?" in error
    wide = rows.copy()
    wide[:, 2] += 2000  # boxes far beyond the frame
    save_mot_txt(tmp_path / "wide.txt", wide)
    assert (
        main(["reid", "crops", "--source", str(video), "--labels", str(tmp_path / "wide.txt"), "--out", str(out)]) == 1
    )
    assert "of the boxes reach more than 10% beyond the" in _errors(capsys)[0] and not out.exists()


def test_labels_must_be_a_finished_runs_global_ids(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "local").mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    for args, message in (
        (["--labels", str(run / "local")], "a run's local/ files hold each camera's own track ids, not global ones"),
        (["--labels", str(tmp_path)], "not a finished 'mctrack run --out' folder (no summary.json)"),
    ):
        assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(tmp_path / "o"), *args]) == 1
        assert message in _errors(capsys)[0]


def test_no_test_split_says_why(tmp_path, caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        args = ["reid", "crops", "--cams", str(SMALL), "--no-progress", "--test-fraction", "0.01"]
        assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "--test-fraction 0.01 of" in caplog.text and "rounds to none" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # one crop per person and camera: nobody can give a query
        assert (
            main(
                ["reid", "crops", "--cams", str(SMALL), "--no-progress", "--every", "60", "--out", str(tmp_path / "b")]
            )
            == 0
        )
    assert "have two crops in one camera, which a query needs" in caplog.text
    assert not list((tmp_path / "b" / "query").glob("*.jpg")) and not list(
        (tmp_path / "b" / "bounding_box_test").glob("*.jpg")
    )


def test_an_image_folder_takes_its_rate_from_fps(tmp_path, caplog):
    import logging

    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    image = np.full((120, 160, 3), 90, np.uint8)
    for i in range(1, 31):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), image)
    labels = tmp_path / "labels.txt"
    save_mot_txt(labels, np.array([[f, 1, 40, 20, 30, 80, 1] for f in range(1, 31)], np.float64))
    base = ["reid", "crops", "--source", str(folder), "--labels", str(labels), "--no-progress"]
    with caplog.at_level(logging.WARNING):
        assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert "assuming 30 fps" in caplog.text and "set --fps" in caplog.text
    assert len(_names(tmp_path / "a")) == 2  # every 15 frames at the assumed 30 fps
    assert main([*base, "--fps", "10", "--out", str(tmp_path / "b")]) == 0
    assert len(_names(tmp_path / "b")) == 6  # every 5 frames at 10 fps
    assert json.loads((tmp_path / "b" / "crops.json").read_text())["cameras"]["frames"]["fps"] == 10


def test_a_camera_set_whose_ids_are_per_camera_is_refused(tmp_path, capsys):
    # each camera numbers its own people from 1 (configs/cams/mot15_shared.yaml): person 3 of one camera is not
    # person 3 of the other, and cropped as one they made a wrong test split
    text = SMALL.read_text().replace("cameras:", "ground_truth_ids: per_camera\ncameras:", 1)
    cams = tmp_path / "cams.yaml"
    cams.write_text(
        text.replace("cam1/", str(SMALL.parent / "cam1") + "/")
        .replace("cam2/", str(SMALL.parent / "cam2") + "/")
        .replace("cam3/", str(SMALL.parent / "cam3") + "/")
    )
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--cams", str(cams), "--out", str(out)]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "ground_truth_ids: per_camera: its cameras' ids name different people" in errors[0]
    assert not out.exists()


def test_a_killed_exports_partial_folder_is_cleared_by_the_next(tmp_path):
    out = tmp_path / "crops"
    (out / ".reid-crops-partial" / "bounding_box_train").mkdir(parents=True)  # left by a SIGKILL mid-export
    (out / ".reid-crops-partial" / "bounding_box_train" / "0001_c1s1_000001_00.jpg").write_bytes(b"half")
    assert main(["reid", "crops", "--cams", str(SMALL), "--out", str(out), "--no-progress", "--every", "2"]) == 0
    assert not (out / ".reid-crops-partial").exists()
    assert sorted(p.name for p in out.iterdir()) == ["bounding_box_test", "bounding_box_train", "crops.json", "query"]


def test_ten_cameras_or_more_are_warned_about(tmp_path, caplog):
    """helper-74: c10 is read as camera 1 by tools that take Market-1501's camera as one digit (torchreid,
    fast-reid); mctrack's own reader takes c10."""
    import cv2

    blocks = []
    for c in range(1, 11):
        seq = tmp_path / f"cam{c}"
        (seq / "img1").mkdir(parents=True)
        for f in (1, 2):
            cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.full((100, 100, 3), 20 * c, np.uint8))
        (seq / "seqinfo.ini").write_text(
            "[Sequence]\nname=s\nimDir=img1\nframeRate=10\nseqLength=2\nimWidth=100\nimHeight=100\nimExt=.jpg\n"
        )
        save_mot_txt(seq / "gt.txt", np.array([[1, 1, 10, 10, 30, 80, 1], [1, 2, 50, 10, 30, 80, 1]], np.float64))
        blocks.append(f"  - id: cam{c}\n    source: cam{c}\n    ground_truth: cam{c}/gt.txt\n")
    (tmp_path / "cams.yaml").write_text("cameras:\n" + "".join(blocks))
    out = tmp_path / "crops"
    with caplog.at_level("WARNING"):
        main(["reid", "crops", "--cams", str(tmp_path / "cams.yaml"), "--out", str(out), "--no-progress"])
    assert "10 cameras: cameras 10 and above are named c10, c11" in caplog.text
    assert any("_c10s1_" in name for name in _names(out))


def _sequence(tmp_path, rows, frames=10, name="seq") -> tuple[Path, Path]:
    """A MOTChallenge sequence folder of ``frames`` grey 100x100 frames at 10 fps, and a label file of ``rows``."""
    import cv2

    seq = tmp_path / name
    (seq / "img1").mkdir(parents=True)
    for f in range(1, frames + 1):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.full((100, 100, 3), 90, np.uint8))
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={frames}\nimWidth=100\nimHeight=100\n"
        "imExt=.jpg\n"
    )
    labels = tmp_path / f"{name}.txt"
    save_mot_txt(labels, np.array(rows, np.float64))
    return seq, labels


def _one_person(frames=10) -> list[list[float]]:
    return [[f, 1, 30, 10, 30, 80, 1] for f in range(1, frames + 1)]


@pytest.mark.parametrize(
    "extra",
    [
        ["--every", "0"],
        ["--every", "3600"],
        ["--min-height", "0"],
        ["--min-visibility", "0"],
        ["--min-visibility", "1"],
        ["--fps", "1000"],
    ],
)
def test_option_bounds_are_accepted(tmp_path, extra):
    seq, labels = _sequence(tmp_path, _one_person(3), frames=3)
    out = tmp_path / "crops"
    argv = ["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out), "--no-progress"]
    assert main([*argv, *extra]) == 0
    assert _names(out)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test-fraction", "0"], "--test-fraction 0.0: must be in (0, 1)"),
        (["--fps", "0"], "--fps 0.0: must be a frame rate in (0, 1000]"),
        (["--fps", "1001"], "--fps 1001.0: must be a frame rate in (0, 1000]"),
        (["--min-height", "-1"], "--min-height -1.0: must be a number of pixels >= 0"),
        (["--every", "3601"], "--every 3601.0: must be a number of seconds in [0, 3600]"),
    ],
)
def test_option_values_out_of_bounds_are_refused(tmp_path, capsys, extra, message):
    seq, labels = _sequence(tmp_path, _one_person(3), frames=3)
    out = tmp_path / "crops"
    argv = ["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out), "--no-progress"]
    assert main([*argv, *extra]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and message in errors[0], errors
    assert not out.exists()


def test_every_rounds_to_whole_frames_and_is_at_least_one(tmp_path):
    seq, labels = _sequence(tmp_path, _one_person(10))
    argv = ["reid", "crops", "--source", str(seq), "--labels", str(labels), "--no-progress"]
    # 0.29 s at 10 fps is 2.9 frames: every 3 frames (1, 4, 7, 10), not every 2
    assert main([*argv, "--every", "0.29", "--out", str(tmp_path / "a")]) == 0
    assert [int(n.split("s1_")[1][:6]) for n in _names(tmp_path / "a")] == [1, 4, 7, 10]
    assert json.loads((tmp_path / "a" / "crops.json").read_text())["cameras"]["seq"]["every_frames"] == 3
    # --every 0: every frame, recorded as 1 frame apart
    assert main([*argv, "--every", "0", "--out", str(tmp_path / "b")]) == 0
    assert len(_names(tmp_path / "b")) == 10
    assert json.loads((tmp_path / "b" / "crops.json").read_text())["cameras"]["seq"]["every_frames"] == 1


def test_a_sequence_folder_reads_its_own_gt_and_a_yml_or_label_folder_is_refused(tmp_path, capsys):
    seq, labels = _sequence(tmp_path, _one_person(3), frames=3)
    (seq / "gt").mkdir()
    shutil.copy(labels, seq / "gt" / "gt.txt")
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--source", str(seq), "--out", str(out), "--no-progress"]) == 0
    manifest = json.loads((out / "crops.json").read_text())
    assert manifest["cameras"]["seq"]["labels"] == str((seq / "gt" / "gt.txt").resolve())
    yml = tmp_path / "cams.yml"
    yml.write_text(SMALL.read_text())
    assert main(["reid", "crops", "--source", str(yml), "--out", str(tmp_path / "o")]) == 1
    assert f"--source {yml}: a camera set? give it as --cams" in _errors(capsys)[0]
    assert main(["reid", "crops", "--source", str(seq), "--labels", str(seq / "gt"), "--out", str(tmp_path / "o")]) == 1
    assert f"--labels {seq / 'gt'}: a folder; with --source, give one MOT label file" in _errors(capsys)[0]
    assert not (tmp_path / "o").exists()


def test_a_video_source_is_named_by_its_stem(tmp_path):
    import cv2

    video = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (100, 100))
    for _ in range(3):
        writer.write(np.full((100, 100, 3), 90, np.uint8))
    writer.release()
    labels = tmp_path / "labels.txt"
    save_mot_txt(labels, np.array(_one_person(3), np.float64))
    out = tmp_path / "crops"
    assert (
        main(["reid", "crops", "--source", str(video), "--labels", str(labels), "--out", str(out), "--no-progress"])
        == 0
    )
    assert list(json.loads((out / "crops.json").read_text())["cameras"]) == ["door"]


def test_a_live_camera_in_the_set_is_refused(tmp_path, capsys):
    (tmp_path / "gt.txt").write_text("")
    cams = tmp_path / "cams.yaml"
    cams.write_text("cameras:\n  - id: door\n    source: rtsp://cam.local/door\n    ground_truth: gt.txt\n")
    assert main(["reid", "crops", "--cams", str(cams), "--out", str(tmp_path / "o")]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "camera door is a live stream: only recorded frames can be cropped" in errors[0]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1,0,30,10,30,80,1"], "person id 0 cannot be written in a Market-1501 name (whole numbers 1-9999)"),
        (
            ["1,-1,30,10,30,80,1", "2,-1,30,10,30,80,1"],
            "person id -1 cannot be written in a Market-1501 name (whole numbers 1-9999): a detection file?",
        ),
        (
            ["1,1,30,10,30,80,1", "1000000,1,30,10,30,80,1"],
            "frame 1000000 is beyond Market-1501's six-digit frame numbers",  # was written 1e+06
        ),
        (["1,1234567,30,10,30,80,1"], "person id 1234567 cannot be written in a Market-1501 name"),
    ],
)
def test_ids_and_frames_a_market_name_cannot_hold_are_refused(tmp_path, capsys, lines, message):
    seq, labels = _sequence(tmp_path, _one_person(1), frames=1)
    labels.write_text("".join(line + ",-1,-1,-1\n" for line in lines))
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out)]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and f"{labels}: " in errors[0] and message in errors[0], errors
    assert not out.exists()


def test_the_largest_id_is_written_and_one_minus_one_is_not_said_to_be_a_detection_file(tmp_path, capsys):
    seq, labels = _sequence(tmp_path, [[1, 9999, 30, 10, 30, 80, 1]], frames=1)
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out)]) == 0
    assert [n.split("/")[-1][:4] for n in _names(out)] == ["9999"]
    save_mot_txt(labels, np.array([[1, 2, 10, 10, 30, 80, 1], [1, -1, 50, 10, 30, 80, 1]], np.float64))
    assert main(["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(tmp_path / "o")]) == 1
    error = _errors(capsys)[0]
    assert "person id -1 cannot be written" in error and "detection file" not in error


def test_out_as_a_link_or_with_a_linked_split_is_refused_and_nothing_is_removed(tmp_path, capsys):
    out, first = _earlier_export(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(out, target_is_directory=True)
    args = ["reid", "crops", "--cams", str(SMALL), "--no-progress", "--overwrite", "--every", "2"]
    assert main([*args, "--out", str(link)]) == 1
    assert f"--out {link}: a link, not a folder" in _errors(capsys)[0]
    assert _names(out) == first
    # a split that is a link to someone's folder of crops: never emptied through the link
    theirs = tmp_path / "theirs"
    (out / "query").rename(theirs)
    (out / "query").symlink_to(theirs, target_is_directory=True)
    kept = sorted(p.name for p in theirs.iterdir())
    assert main([*args, "--out", str(out)]) == 1
    assert "holds query, which reid crops did not write; nothing was removed" in _errors(capsys)[0]
    assert kept and sorted(p.name for p in theirs.iterdir()) == kept


def test_an_existing_empty_out_is_kept_when_the_export_fails(tmp_path, capsys):
    seq, labels = _sequence(tmp_path, _one_person(3), frames=3)
    out = tmp_path / "crops"
    out.mkdir()
    argv = ["reid", "crops", "--source", str(seq), "--labels", str(labels), "--out", str(out), "--no-progress"]
    assert main([*argv, "--min-height", "1000"]) == 1
    assert "no crop taken from any camera" in _errors(capsys)[0]
    assert out.is_dir() and not any(out.iterdir())


def test_the_manifest_counts_each_camera_and_rows_ignored_and_moves_in_last(tmp_path, monkeypatch):
    import mctrack.commands.reid_crops as command

    moved = []
    replace = command.os.replace

    def recording(src, dst):
        if Path(src).parent.name == command.PARTIAL:  # the export moving in, not a file written by the test
            moved.append(Path(dst).name)
        replace(src, dst)

    monkeypatch.setattr(command.os, "replace", recording)
    rows = [*_one_person(3), [2, 2, 70, 10, 20, 80, 0]]  # conf 0: a row to ignore
    seq, labels = _sequence(tmp_path, rows, frames=3)
    seq2, labels2 = _sequence(tmp_path, _one_person(3), frames=3, name="seq2")
    cams = tmp_path / "cams.yaml"
    cams.write_text(
        "cameras:\n"
        f"  - id: a\n    source: {seq}\n    ground_truth: {labels}\n"
        f"  - id: b\n    source: {seq2}\n    ground_truth: {labels2}\n"
    )
    out = tmp_path / "crops"
    assert main(["reid", "crops", "--cams", str(cams), "--out", str(out), "--no-progress", "--every", "0"]) == 0
    assert moved[-1] == "crops.json" and sorted(moved[:-1]) == sorted(
        ("bounding_box_train", "query", "bounding_box_test")
    )
    cameras = json.loads((out / "crops.json").read_text())["cameras"]
    assert (cameras["a"]["index"], cameras["a"]["crops"], cameras["a"]["rows_ignored"]) == (1, 3, 1)
    assert (cameras["b"]["index"], cameras["b"]["crops"], cameras["b"]["rows_ignored"]) == (2, 3, 0)
    assert len(_names(out)) == 6


def test_the_seed_chooses_the_split(tmp_path):
    args = ["reid", "crops", "--cams", str(SMALL), "--no-progress", "--every", "2"]
    splits = []
    for seed in ("0", "1"):
        out = tmp_path / seed
        assert main([*args, "--seed", seed, "--out", str(out)]) == 0
        splits.append(sorted(p.name for p in (out / "query").glob("*.jpg")))
    assert splits[0] and splits[1] and splits[0] != splits[1]


def _two_cameras(tmp_path, rows_a, rows_b) -> Path:
    seq, labels = _sequence(tmp_path, rows_a, frames=3, name="a")
    seq2, labels2 = _sequence(tmp_path, rows_b, frames=3, name="b")
    cams = tmp_path / "cams.yaml"
    cams.write_text(
        "cameras:\n"
        f"  - id: a\n    source: {seq}\n    ground_truth: {labels}\n"
        f"  - id: b\n    source: {seq2}\n    ground_truth: {labels2}\n"
    )
    return cams


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ([], "1 people seen by two or more cameras (at least 2 are needed for a test split)"),
        ([[1, 2, 70, 10, 20, 80, 1]], "of 2 people seen by two or more cameras, 1 have two crops in one camera"),
    ],
)
def test_no_test_split_says_which_people_are_missing(tmp_path, caplog, second, why):
    rows = [*_one_person(3), *second]
    cams = _two_cameras(tmp_path, rows, rows)
    out = tmp_path / "crops"
    with caplog.at_level("WARNING"):
        assert main(["reid", "crops", "--cams", str(cams), "--out", str(out), "--no-progress", "--every", "0"]) == 0
    assert f"{out}: no test people, query and gallery are empty: {why}" in caplog.text


def test_a_camera_whose_rows_are_all_ignored_or_whose_labels_are_missing_is_said(tmp_path, capsys, caplog):
    seq, labels = _sequence(tmp_path, [[1, 1, 30, 10, 30, 80, 0], [2, 1, 30, 10, 30, 80, 0]], frames=2)
    argv = ["reid", "crops", "--source", str(seq), "--out", str(tmp_path / "o"), "--no-progress"]
    with caplog.at_level("WARNING"):
        assert main([*argv, "--labels", str(labels)]) == 1
    assert f"camera seq: no crop taken from {labels}: all 2 rows are marked to ignore (conf 0)" in caplog.text
    capsys.readouterr()
    assert main([*argv, "--labels", str(tmp_path / "nolabels.txt")]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and f"camera seq: labels {tmp_path / 'nolabels.txt'}: " in errors[0], errors
    assert not (tmp_path / "o").exists()
