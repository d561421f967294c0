"""Faults and bad input through the command line (issue 13): one line naming the file and the problem, a non-zero
exit where the run cannot be trusted, nothing already written lost, and never a silently wrong result."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mctrack.cli import main
from mctrack.io.mot import load_mot_txt

FRAMES = 40


def _video(path: Path, frames: int = FRAMES) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(frames):
        img = np.full((120, 160, 3), 60, np.uint8)
        x = 10 + 2 * i
        img[20:100, x : x + 30] = (40, 40, 200)  # one person walking right
        img[30:110, 120 - i : 150 - i] = (200, 80, 40)  # another walking left
        w.write(img)
    w.release()
    return path


def _rows(frames: int = FRAMES, ids: bool = False) -> list[str]:
    out = []
    for i in range(frames):
        a = (1 if ids else -1, 10 + 2 * i, 20, 30, 80)
        b = (2 if ids else -1, 120 - i, 30, 30, 80)
        out += [f"{i + 1},{k},{x},{y},{w},{h},0.95,-1,-1,-1" for k, x, y, w, h in (a, b)]
    return out


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    root = tmp_path / "scene"
    root.mkdir()
    _video(root / "cam1.avi")
    (root / "det.txt").write_text("\n".join(_rows()) + "\n")
    (root / "gt.txt").write_text("\n".join(_rows(ids=True)) + "\n")
    (root / "cams.yaml").write_text(
        "cameras:\n  - id: cam1\n    source: cam1.avi\n    detections: det.txt\n    ground_truth: gt.txt\n"
    )
    return root


def _run(scene: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "run",
            "--cams",
            str(scene / "cams.yaml"),
            "--detector",
            "mot",
            "--reid",
            "colorhist",
            "--out",
            str(out),
            "--no-progress",
            "--no-video",
            *extra,
        ]
    )


def _one_line_error(err: str) -> str:
    lines = [x for x in err.splitlines() if "error:" in x]
    assert len(lines) == 1, err
    return lines[0]


def test_nan_and_huge_boxes_in_det_txt_are_skipped_with_a_warning(scene, tmp_path, capsys, caplog):
    with (scene / "det.txt").open("a") as fh:
        fh.write("5,-1,nan,20,30,80,0.9,-1,-1,-1\n6,-1,10,20,1e30,80,0.9,-1,-1,-1\n7,-1,10,20,30,inf,0.9,-1,-1,-1\n")
    assert (
        main(
            [
                "track",
                "--source",
                str(scene / "cam1.avi"),
                "--detector",
                "mot",
                "--dets",
                str(scene / "det.txt"),
                "--reid",
                "colorhist",
                "--out",
                str(tmp_path / "t"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "3 row(s) skipped" in caplog.text
    rows = load_mot_txt(tmp_path / "t" / "cam1.txt")
    assert len(rows) and np.isfinite(rows).all() and rows[:, 4].max() < 200
    assert _run(scene, tmp_path / "r") == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["failed_cameras"] == {} and summary["cameras"]["cam1"]["frames"] == FRAMES


@pytest.mark.parametrize(
    "row, problem",
    [
        ("inf,1,10,20,30,80,1,-1,-1,-1", "frame must be an integer"),
        ("3,1,nan,20,30,80,1,-1,-1,-1", "box and score must be finite"),
        ("3,1,50,20,30,80,1,-1,-1,-1", "id 1 appears 2 times in frame 3"),
    ],
)
def test_bad_ground_truth_fails_before_any_camera_runs(scene, tmp_path, capsys, row, problem):
    with (scene / "gt.txt").open("a") as fh:
        fh.write(row + "\n")
    assert _run(scene, tmp_path / "r") == 1
    line = _one_line_error(capsys.readouterr().err)
    assert str(scene / "gt.txt") in line and problem in line
    assert not (tmp_path / "r").exists()  # nothing ran


@pytest.mark.parametrize("second", ["bad_det", "no_det"])
def test_a_bad_detection_file_fails_before_any_camera_runs(scene, tmp_path, capsys, second):
    # a second camera whose detection file is broken (or missing from cams.yaml) used to fail only when its turn
    # came, after the first camera had run through its whole video
    (scene / "bad.txt").write_text("\n".join(_rows()[:4] + ["5,-1,abc,20,30,80,0.9,-1,-1,-1"]) + "\n")
    extra = "    detections: bad.txt\n" if second == "bad_det" else ""
    with (scene / "cams.yaml").open("a") as fh:
        fh.write("  - id: cam2\n    source: cam1.avi\n" + extra)
    assert _run(scene, tmp_path / "r", "--workers", "1") == 1
    line = _one_line_error(capsys.readouterr().err)
    if second == "bad_det":
        assert str(scene / "bad.txt") in line and "line 5: not a number" in line
    else:
        assert f"{scene / 'cams.yaml'}: camera cam2: --detector mot needs its 'detections' file" in line
    assert not (tmp_path / "r").exists()  # nothing ran


def test_cameras_left_out_of_the_evaluation_are_named(scene, tmp_path, caplog):
    with (scene / "cams.yaml").open("a") as fh:
        fh.write("  - id: cam2\n    source: cam1.avi\n    detections: det.txt\n")
    assert _run(scene, tmp_path / "r") == 0
    assert "camera(s) cam2: no ground_truth in" in caplog.text and "covers only the other cameras" in caplog.text
    assert json.loads((tmp_path / "r" / "eval.json").read_text())["cameras"] == ["cam1"]


def test_linker_options_without_an_embedder_are_warned_about(scene, tmp_path, caplog):
    assert _run(scene, tmp_path / "r", "--reid", "none", "--link-thresh", "0.3", "--min-len", "5") == 0
    assert "--link-thresh, --min-len: not applied with --reid none" in caplog.text


def test_ground_distance_where_it_does_nothing_is_warned_about_and_a_bad_one_refused(
    scene, tmp_path, caplog, capsys, monkeypatch
):
    # helper-81: --max-ground-dist was accepted without a word where no ground positions are used
    import mctrack.commands.run as run_command

    given = []
    real = run_command.constraints_from_cams

    def spy(cams, **kwargs):
        given.append(kwargs.get("max_ground_dist"))
        return real(cams, **kwargs)

    monkeypatch.setattr(run_command, "constraints_from_cams", spy)
    assert _run(scene, tmp_path / "a", "--max-ground-dist", "3") == 0
    assert given == [3.0]  # it reaches the linker's constraints (helper-84: untested)
    assert f"--max-ground-dist: no effect: no camera in {scene / 'cams.yaml'} has a calibration file" in caplog.text
    caplog.clear()
    assert _run(scene, tmp_path / "b", "--max-ground-dist", "3", "--no-calibration") == 0
    assert "--max-ground-dist: no effect with --no-calibration" in caplog.text
    caplog.clear()
    assert _run(scene, tmp_path / "c", "--reid", "none", "--max-ground-dist", "3") == 0
    assert "--max-ground-dist: not applied with --reid none" in caplog.text
    caplog.clear()
    assert _run(scene, tmp_path / "d") == 0
    assert "--max-ground-dist" not in caplog.text
    assert given[-1] is None  # not given: the constraints' own default
    for bad in ("0", "nan", "-1"):
        assert _run(scene, tmp_path / "r", "--max-ground-dist", bad) == 1
        assert "--max-ground-dist: must be a finite number of metres > 0" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_a_negative_box_size_in_ground_truth_fails_before_any_camera_runs(scene, tmp_path, capsys):
    with (scene / "gt.txt").open("a") as fh:
        fh.write("3,7,10,20,-30,80,1,-1,-1,-1\n")
    assert _run(scene, tmp_path / "r") == 1
    line = _one_line_error(capsys.readouterr().err)
    assert str(scene / "gt.txt") in line and "box width and height must be >= 0" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "matrix, problem",
    [
        ([[0, 0, 0], [0, 0, 0], [0, 0, 0]], "homography is singular (rank 0)"),
        ([[1, 0, 0], [0, "NaN", 0], [0, 0, 1]], "homography has non-finite entries"),
        ([[1, 0], [0, 1]], "homography must be a 3x3 matrix, got shape (2, 2)"),
    ],
)
@pytest.mark.parametrize("reid", ["none", "colorhist"])
def test_a_bad_calibration_fails_before_any_camera_runs_with_or_without_an_embedder(
    scene, tmp_path, capsys, matrix, problem, reid
):
    # without an embedder a corrupt file used to be a warning at the end (and an all-zero matrix gave world
    # positions of -1 silently); with one it was fatal
    text = json.dumps({"H_image_to_ground": matrix}).replace('"NaN"', "NaN")
    (scene / "calib.json").write_text(text)
    with (scene / "cams.yaml").open("a") as fh:
        fh.write("    calibration: calib.json\n")
    assert _run(scene, tmp_path / "r", "--reid", reid) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert str(scene / "calib.json") in line and problem in line
    assert not (tmp_path / "r").exists()
    assert _run(scene, tmp_path / "r2", "--reid", reid, "--no-calibration") == 0


def test_ground_truth_far_beyond_the_video_is_ignored_with_a_warning(scene, tmp_path, caplog):
    with (scene / "gt.txt").open("a") as fh:
        fh.write("1000000,9,10,20,30,80,1,-1,-1,-1\n")
    t0 = time.perf_counter()
    assert _run(scene, tmp_path / "r") == 0
    assert time.perf_counter() - t0 < 60
    assert "rows up to frame 1000000 but the video has 40 frames" in caplog.text
    ev = json.loads((tmp_path / "r" / "eval.json").read_text())
    assert ev["frames_evaluated"] == {"cam1": FRAMES} and ev["per_camera"]["cam1"]["GT_IDs"] == 2


def test_truncated_video_is_a_failed_camera_and_keeps_what_was_read(scene, tmp_path, capsys):
    data = (scene / "cam1.avi").read_bytes()
    (scene / "cam1.avi").write_bytes(data[: len(data) // 2])
    assert _run(scene, tmp_path / "r") == 1
    table = capsys.readouterr().out.splitlines()
    assert next(line for line in table if line.startswith("cam1")).split()[:2] == ["cam1", "*"]  # marked as failed
    assert any(line.startswith("* failed: scored on its ground truth") for line in table)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    err = summary["failed_cameras"]["cam1"]
    assert "of the 40 frames its header promises" in err and "cam1.avi" in err and "numbered too early" in err
    frames = summary["cameras"]["cam1"]["frames"]
    assert 5 < frames < FRAMES
    assert load_mot_txt(tmp_path / "r" / "cam1.txt")[:, 0].max() <= frames  # what was read is kept
    assert not list((tmp_path / "r" / "cache").glob("*/meta.npz"))  # a cut-short camera is not cached
    assert (
        main(
            [
                "track",
                "--source",
                str(scene / "cam1.avi"),
                "--detector",
                "mot",
                "--dets",
                str(scene / "det.txt"),
                "--out",
                str(tmp_path / "t"),
                "--no-progress",
            ]
        )
        == 1
    )
    assert "header promises" in _one_line_error(capsys.readouterr().err)


def test_a_detection_file_of_a_shorter_sequence_is_reported(scene, tmp_path, caplog):
    """The other sequence's det.txt (TUD-Stadtmitte's 179 frames given for PETS09-S2L1's 795) was tracked without a
    word, the rest of the video without a box; the other way round was warned about."""
    rows = _rows()
    (scene / "det.txt").write_text("\n".join(rows[: 2 * 15]) + "\n")  # frames 1-15 of the video's 40
    assert _run(scene, tmp_path / "r") == 0
    assert "det.txt has detections up to frame 15 only" in caplog.text and "its last 25 frame(s) have none" in (
        caplog.text
    )
    caplog.clear()
    assert _run(scene, tmp_path / "r") == 0  # replayed from the feature cache: said again
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["cameras"]["cam1"]["cache"] == "hit"
    assert "has detections up to frame 15 only" in caplog.text
    caplog.clear()
    (scene / "det.txt").write_text("\n".join(rows[: 2 * 35]) + "\n")  # a scene empty for its last 0.5 s: said not
    assert _run(scene, tmp_path / "r2") == 0
    assert "have none" not in caplog.text


def test_detections_beyond_the_video_are_reported_by_run(scene, tmp_path, caplog):
    with (scene / "det.txt").open("a") as fh:
        fh.write("60,-1,10,20,30,80,0.9,-1,-1,-1\n")
    assert _run(scene, tmp_path / "r") == 0
    assert "has detections up to frame 60" in caplog.text and "20 frame(s) are ignored" in caplog.text
    caplog.clear()
    assert _run(scene, tmp_path / "r") == 0  # replayed from the feature cache: said again (it was not)
    assert "has detections up to frame 60" in caplog.text


def test_a_camera_whose_every_detection_lies_outside_its_frame_fails_naming_the_file(scene, tmp_path, caplog):
    """Detections of another camera or frame size (every box right of the 160x120 video) were tracked outside the
    image with a warning, the crops' features 1-pixel slivers, and the run exited 0."""
    (scene / "det.txt").write_text("\n".join(f"{i + 1},-1,{400 + i},20,30,80,0.95,-1,-1,-1" for i in range(20)) + "\n")
    assert _run(scene, tmp_path / "r") == 1
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "all 20 boxes lie entirely outside the 160x120 frame" in summary["failed_cameras"]["cam1"]
    assert str(scene / "det.txt") in summary["failed_cameras"]["cam1"]
    assert not list((tmp_path / "r").glob("cache/cam1-*"))  # nothing cached that a rerun would replay
    assert f"camera cam1 ({scene / 'cam1.avi'}): failed before its first frame: " in caplog.text  # not "stream failed"


def test_out_that_is_a_file_is_one_line(scene, tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert _run(scene, tmp_path / "taken") == 1
    assert "taken" in _one_line_error(capsys.readouterr().err)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, a folder nobody can write into")
def test_an_out_that_cannot_be_written_is_one_line_naming_it_before_any_camera(scene, capsys, caplog):
    """It was reported as each camera's stream failing ("stream failed after 0 frame(s): Permission denied")."""
    assert _run(scene, Path("/proc/mctrack-test-out")) == 1
    assert "--out /proc/mctrack-test-out: not writable" in _one_line_error(capsys.readouterr().err)
    assert "stream failed" not in caplog.text


def test_camera_id_cannot_escape_out(scene, tmp_path, capsys):
    (scene / "cams.yaml").write_text("cameras:\n  - id: ../../escaped\n    source: cam1.avi\n    detections: det.txt\n")
    assert _run(scene, tmp_path / "deep" / "out") == 1
    assert "cameras[0].id" in _one_line_error(capsys.readouterr().err)
    assert not list(tmp_path.rglob("escaped*"))


def test_earlier_runs_files_are_named(scene, tmp_path, caplog):
    out = tmp_path / "r"
    assert _run(scene, out) == 0
    for name in ("old-cam.txt", "local/old-cam.txt"):  # a camera an earlier run had: its results and local rows
        (out / name).write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    (out / "notes.txt").write_text("mine\n")  # a user's file: no run's (helper-72: it was named as one)
    (scene / "cams.yaml").write_text("cameras:\n  - id: cam1\n    source: cam1.avi\n    detections: det.txt\n")
    assert _run(scene, out) == 0
    assert "does not replace: old-cam.txt, local/old-cam.txt" in caplog.text and "notes.txt" not in caplog.text
    assert not (out / "eval.json").exists()  # the earlier run's: removed, this run has no ground truth


def test_a_users_folder_with_files_a_run_writes_is_refused_not_overwritten(scene, tmp_path, capsys):
    """--out a folder that was never a run: its summary.json and identities.csv used to be replaced silently, and
    the user's other files called "files of an earlier run"."""
    out = tmp_path / "myproj"
    out.mkdir()
    (out / "summary.json").write_text('{"my": "paper results"}')
    (out / "identities.csv").write_text("mine\n")
    (out / "notes.txt").write_text("n\n")
    assert _run(scene, out) == 1
    err = capsys.readouterr().err
    assert f"{out}: the output folder holds summary.json, identities.csv, which this run would replace" in err
    assert (out / "summary.json").read_text() == '{"my": "paper results"}' and (out / "identities.csv").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["identities.csv", "notes.txt", "summary.json"]
    # a folder with other files only is fine, and an earlier run's folder is run into again
    (out / "summary.json").unlink()
    (out / "identities.csv").unlink()
    assert _run(scene, out) == 0 and (out / "notes.txt").is_file()
    assert _run(scene, out) == 0
    # as is one of a run from before the lock file (its summary.json and local/ rows)
    (out / ".mctrack-run.lock").unlink()
    assert _run(scene, out) == 0


def test_a_users_folder_with_a_local_subfolder_is_no_run_folder(scene, tmp_path, capsys):
    """`local/` is a common folder name: it alone used to make a user's folder count as an earlier run's, whose
    summary.json was then replaced."""
    out = tmp_path / "myproj"
    (out / "local").mkdir(parents=True)
    (out / "local" / "data.csv").write_text("x\n")
    (out / "summary.json").write_text('{"my": "paper results"}')
    assert _run(scene, out) == 1
    assert f"{out}: the output folder holds summary.json, which this run would replace" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == '{"my": "paper results"}'
    # a killed run from before the lock file left a camera's local rows and no summary yet: still a run folder
    (out / "summary.json").unlink()
    (out / "local" / "cam1.txt").write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    (out / "cam1.txt").write_text("1,1,0,0,1,1,1,-1,-1,-1\n")
    assert _run(scene, out) == 0 and (out / "local" / "data.csv").is_file()


def test_cache_follows_flip_and_precision(scene, tmp_path):
    out = tmp_path / "r"
    network = ("--reid", "laga", "--weights", "laga_samples", "--embed", "all")  # the options change its features
    for extra, cache in (
        (("--precision", "fp32"), "miss"),
        (("--precision", "fp32"), "hit"),
        (("--flip", "--precision", "fp32"), "miss"),
        (("--precision", "bf16"), "miss"),
        (("--flip", "--precision", "fp32"), "hit"),
    ):
        assert _run(scene, out, *network, *extra) == 0
        assert json.loads((out / "summary.json").read_text())["cameras"]["cam1"]["cache"] == cache, extra


def test_cache_follows_the_embed_policy_and_with_needed_the_tracker_settings(scene, tmp_path):
    # with --embed needed the tracker's state decides which detections have features: a replay under other
    # tracker settings would lack some, so those settings are part of the key (with --embed all they are not)
    out = tmp_path / "r"
    needed = ("--embed", "needed")
    for extra, cache in (
        (needed, "miss"),
        (needed, "hit"),
        ((*needed, "--track-high", "0.6"), "miss"),
        ((*needed, "--embed-refresh", "2"), "miss"),
        ((*needed, "--noise-adapt", "0"), "miss"),
        ((*needed, "--noise-adapt", "0.05"), "hit"),  # the default, spelt out: the same key as without the flag
        ((*needed, "--meas-adapt", "0"), "miss"),
        ((*needed, "--meas-adapt", "0.2"), "hit"),  # the default, spelt out
        ((), "miss"),  # --embed all, the default
        (("--track-high", "0.6"), "hit"),
        (needed, "hit"),
        (("--embed", "all", "--reid", "none"), "miss"),
        (("--embed", "needed", "--reid", "none"), "hit"),  # nothing is embedded: the tracker settings do not matter
    ):
        assert _run(scene, out, *extra) == 0
        summary = json.loads((out / "summary.json").read_text())["cameras"]["cam1"]
        assert summary["cache"] == cache, extra
        assert (summary["embedded_detections"] < summary["detections"]) == ("needed" in extra or "none" in extra)
    # the camera's frame rate turns the refresh and the tracker's lost budget into frames: it is part of the key
    cams = (scene / "cams.yaml").read_text()
    (scene / "cams.yaml").write_text(cams.replace("    source: cam1.avi\n", "    source: cam1.avi\n    fps: 5\n"))
    assert _run(scene, out, *needed) == 0
    assert json.loads((out / "summary.json").read_text())["cameras"]["cam1"]["cache"] == "miss"


def test_a_cache_whose_embeddings_changed_since_it_was_written_is_recomputed_not_replayed(scene, tmp_path, caplog):
    """Random bytes of the right size in embedding.f32 were replayed as a hit (the demo's cross-camera IDF1 fell
    from 85.2 to 48.5 without a word)."""
    out = tmp_path / "r"
    assert _run(scene, out) == 0
    first = load_mot_txt(out / "cam1.txt")
    (emb,) = (out / "cache").glob("*/embedding.f32")
    emb.write_bytes(np.random.default_rng(0).random(emb.stat().st_size // 4, np.float32).tobytes())
    assert _run(scene, out) == 0
    assert json.loads((out / "summary.json").read_text())["cameras"]["cam1"]["cache"] == "miss"
    assert "does not match its checksum" in caplog.text
    np.testing.assert_array_equal(load_mot_txt(out / "cam1.txt"), first)
    assert _run(scene, out) == 0  # the recomputed cache is whole again
    assert json.loads((out / "summary.json").read_text())["cameras"]["cam1"]["cache"] == "hit"


def test_bad_embed_refresh_fails_before_work(scene, tmp_path, capsys):
    for bad in ("0", "nan", "-1"):
        assert _run(scene, tmp_path / "r", "--embed-refresh", bad) == 1
        assert "--embed-refresh" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_nan_min_score_and_bad_gallery_age_fail_before_work(scene, tmp_path, capsys):
    assert _run(scene, tmp_path / "r", "--min-score", "nan") == 1
    assert "--min-score" in _one_line_error(capsys.readouterr().err)
    assert _run(scene, tmp_path / "r", "--gallery-age", "-5") == 1
    assert "--gallery-age" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_track_thresholds_reach_the_tracker(scene, tmp_path):
    base = [
        "track",
        "--source",
        str(scene / "cam1.avi"),
        "--detector",
        "mot",
        "--dets",
        str(scene / "det.txt"),
        "--no-progress",
    ]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert len(load_mot_txt(tmp_path / "a" / "cam1.txt")) > 0  # scores 0.95 start tracks at the defaults
    assert main([*base, "--out", str(tmp_path / "b"), "--track-new", "0.99"]) == 0
    assert len(load_mot_txt(tmp_path / "b" / "cam1.txt")) == 0  # nothing scores 0.99: no track starts
    assert main([*base, "--out", str(tmp_path / "c"), "--track-high", "0.97", "--track-new", "0.5"]) == 0
    assert len(load_mot_txt(tmp_path / "c" / "cam1.txt")) == 0  # new tracks need >= the high threshold


def test_a_corrupt_video_gives_one_line_without_ffmpegs_own(tmp_path):
    import subprocess
    import sys

    (tmp_path / "empty.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))  # a header and no moov atom
    (tmp_path / "det.txt").write_text("\n".join(_rows()) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    cmd = [sys.executable, "-m", "mctrack.cli", "track", "--source", str(tmp_path / "empty.mp4")]
    cmd += ["--detector", "mot", "--dets", str(tmp_path / "det.txt"), "--out", str(tmp_path / "o")]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    # FFmpeg used to add "[mov,mp4,...] moov atom not found" beside the error
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [
        f"mctrack track: error: {tmp_path / 'empty.mp4'}: cannot open video (unknown format or corrupt header)"
    ]


def _run_with_video(scene: Path, out: Path) -> int:
    args = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "colorhist"]
    return main([*args, "--out", str(out), "--no-progress", "--workers", "1"])


def test_ctrl_c_while_writing_the_videos_keeps_the_summary_and_leaves_no_partial_or_earlier_video(
    scene, tmp_path, monkeypatch, caplog
):
    """Ctrl-C in the video stage used to end the run without summary.json or eval.json, leaving a truncated
    <camera>.mp4, and in a reused --out the earlier run's summary.json, eval.json and videos beside the new rows."""
    from mctrack.io.video import AnnotatedVideoWriter

    out = tmp_path / "r"
    assert _run_with_video(scene, out) == 0 and (out / "cam1.mp4").is_file()
    (out / "summary.json").write_text('{"embedder": "an earlier run"}')
    write = AnnotatedVideoWriter.write

    def interrupting(self, frame, tracks):
        if frame.index == 5:
            raise KeyboardInterrupt
        write(self, frame, tracks)

    monkeypatch.setattr(AnnotatedVideoWriter, "write", interrupting)
    assert _run_with_video(scene, out) == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] and summary["embedder"] == "colorhist" and summary["videos"] == []
    assert (out / "eval.json").is_file() and len(load_mot_txt(out / "cam1.txt")) == 2 * FRAMES
    assert sorted(p.name for p in out.glob("*.mp4")) == []  # neither the partial video nor the earlier run's
    said = [r for r in caplog.records if "interrupted while writing the annotated videos" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING"  # the user's own Ctrl-C is no ERROR (helper-87)


def test_ctrl_c_names_the_camera_interrupted_with_its_frames_not_failed(scene, tmp_path, monkeypatch, capsys):
    import mctrack.pipeline as pipeline
    from tests.mctrack.test_pipeline import _sources_calling

    def ctrl_c():
        raise KeyboardInterrupt

    run_camera = pipeline.Pipeline._run_camera

    def interrupted_at_frame_5(self, cam, *args, **kwargs):
        self.source_factory = _sources_calling("cam1", 5, ctrl_c)
        return run_camera(self, cam, *args, **kwargs)

    monkeypatch.setattr(pipeline.Pipeline, "_run_camera", interrupted_at_frame_5)
    assert _run(scene, tmp_path / "r") == 130
    out = capsys.readouterr().out
    assert "camera cam1 interrupted after 5 frame(s)" in out and "failed" not in out  # it used to say "failed"
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["cameras"]["cam1"]["frames"] == 5
    assert summary["interrupted_cameras"] == ["cam1"] and summary["failed_cameras"] == {}


def test_an_interrupted_run_leaves_no_earlier_results_of_its_cameras(scene, tmp_path, monkeypatch):
    import mctrack.pipeline as pipeline

    out = tmp_path / "r"
    assert _run(scene, out) == 0
    for name in ("cam1.txt", "identities.csv", "aicity.txt", "eval.json", "summary.json"):
        assert (out / name).is_file()

    class Killed(BaseException):
        """As if the process were killed (SIGKILL) while its camera was being read: nothing after it runs."""

    def killed(*args, **kwargs):
        raise Killed

    # what a run killed while writing leaves: its files under their temporary names (the gallery's and the text
    # files' used to stay for good)
    from mctrack.outputs import temporary_name

    partial = [temporary_name(out / name) for name in ("gallery.jpg", "summary.json", "cam1.txt", "cam1.mp4")]
    for path in partial:
        path.write_bytes(b"partial")
    monkeypatch.setattr(pipeline.Pipeline, "_run_camera", killed)
    with pytest.raises(Killed):
        _run(scene, out)
    for name in ("cam1.txt", "identities.csv", "aicity.txt", "eval.json", "summary.json"):
        assert not (out / name).exists(), name
    assert not [p.name for p in partial if p.exists()]
    # a text file's temporary name does not end in .txt: a folder's results are listed as *.txt
    assert [p.name for p in partial] == [".gallery.tmp.jpg", ".summary.json.tmp", ".cam1.txt.tmp", ".cam1.tmp.mp4"]


def test_a_second_run_into_a_folder_in_use_stops_at_once_naming_it(scene, tmp_path, capsys):
    """Two runs into one --out used to mix their files: one failed on the other's cache entries, the other
    exited 0 with results that differed from a lone run's."""
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "r"
    out.mkdir()
    with open(out / ".mctrack-run.lock", "a") as held:  # as a run in another process holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert _run(scene, out) == 1
    assert "another mctrack run is writing into this folder" in _one_line_error(capsys.readouterr().err)
    assert not (out / "summary.json").exists() and not (out / "cache").exists()
    assert _run(scene, out) == 0  # free again once the other run ended


def test_a_camera_input_that_the_run_would_overwrite_is_refused_and_kept(scene, capsys):
    """With a camera's detections in cam1.txt beside cams.yaml and --out that folder, the run removed its own input
    when it started (and before that overwrote it with its results)."""
    (scene / "det.txt").rename(scene / "cam1.txt")
    (scene / "cams.yaml").write_text(
        (scene / "cams.yaml").read_text().replace("detections: det.txt", "detections: cam1.txt")
    )
    before = (scene / "cam1.txt").read_bytes()
    assert _run(scene, scene) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert "camera cam1: its detections" in line and "is a file this run writes" in line
    assert (scene / "cam1.txt").read_bytes() == before


def test_the_summary_records_every_setting_that_changes_the_numbers(scene, tmp_path):
    """summary.json's settings were byte-identical for the default run and one with --stitch 0 --smooth 0
    --no-backfill, whose scores differ; the detector, camera-motion mode, tracker and command were not recorded."""
    assert _run(scene, tmp_path / "a") == 0
    assert _run(scene, tmp_path / "b", "--stitch", "0", "--smooth", "0", "--no-backfill", "--max-lost", "2") == 0
    a, b = (json.loads((tmp_path / d / "summary.json").read_text())["settings"] for d in ("a", "b"))
    assert a["offline"] == {"smooth": 2.0, "stitch_s": 4.0, "backfill": True}
    assert b["offline"] == {"smooth": 0.0, "stitch_s": 0.0, "backfill": False}
    assert a["tracker"]["max_lost_s"] == 1.5 and b["tracker"]["max_lost_s"] == 2.0
    assert a["detector"]["name"] == "mot" and a["cmc"] in ("auto", "off")
    assert "--max-lost 2" in b["provenance"]["command"] and b["provenance"]["versions"]["numpy"]


def test_the_summary_records_the_camera_set_and_eval_its_protocol(scene, tmp_path):
    """helper-58: summary.json named cams.yaml by the path as typed (relative to wherever the command ran) and held
    neither the camera set (files, time offsets, id mode) nor a hash of the detection and ground-truth files; eval.json
    did not say how it scored (IoU, rows marked 0, id mode)."""
    assert _run(scene, tmp_path / "a") == 0
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    record = summary["camera_set"]
    cams_file = Path(record["file"])
    assert cams_file.is_absolute() and cams_file.samefile(scene / "cams.yaml")
    assert record["file_sha1"] == hashlib.sha1(cams_file.read_bytes()).hexdigest()
    first = record["cameras"][0]
    assert Path(first["detections"]).is_absolute() and first["time_offset"] == 0.0
    assert record["ground_truth_ids"] == "global" and record["transit"] == []
    for path in (first["detections"], first["ground_truth"]):
        assert record["files_sha1"][path] == hashlib.sha1(Path(path).read_bytes()).hexdigest()
    protocol = json.loads((tmp_path / "a" / "eval.json").read_text())["protocol"]
    assert protocol["match_iou"] == 0.5 and protocol["ground_truth_rows_marked_0"] == "ignored"
    assert protocol["ground_truth_ids"] == "global"


def test_the_summary_and_evaluation_are_written_before_the_videos(scene, tmp_path, monkeypatch):
    """helper-57: a long live run spends minutes making its annotated videos after SIGTERM; summary.json came after
    them, so a service manager's SIGKILL at the end of its grace period left no summary (and no record that the
    run was stopped)."""
    from mctrack.pipeline import Pipeline

    out = tmp_path / "r"
    seen = []
    write_video = Pipeline._write_video

    def looking(self, cam, out_dir, r):
        summary = json.loads((out_dir / "summary.json").read_text())
        seen.append((summary.get("finishing"), (out_dir / "eval.json").is_file(), summary["counts"]["frames"]))
        return write_video(self, cam, out_dir, r)

    monkeypatch.setattr(Pipeline, "_write_video", looking)
    assert _run_with_video(scene, out) == 0
    assert seen and all(s == (["gallery", "videos"], True, seen[0][2]) for s in seen) and seen[0][2] > 0
    final = json.loads((out / "summary.json").read_text())
    assert "finishing" not in final and final["videos"] == sorted(final["cameras"])


def test_a_replayed_cache_says_a_sequences_frame_rate_warning_once(tmp_path, caplog):
    """A rerun replaying the cache said what opening the sequence had said (its seqinfo.ini and video header
    disagree on the frame rate), then said it again when the video was opened to be annotated."""
    import mctrack.io.video as video
    import mctrack.pipeline as pipeline
    from mctrack.io.mot import SeqInfo, write_seqinfo

    seq = tmp_path / "SEQ"
    (seq / "det").mkdir(parents=True)
    _video(seq / "SEQ.avi")  # the header says 10 fps
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ", 5, FRAMES, 160, 120))
    (seq / "det" / "det.txt").write_text("\n".join(_rows()) + "\n")
    (tmp_path / "cams.yaml").write_text("cameras:\n  - id: cam1\n    source: SEQ\n")
    argv = ["run", "--cams", str(tmp_path / "cams.yaml"), "--detector", "mot", "--reid", "colorhist"]
    said = []
    for _ in range(2):
        video._RATE_WARNED.clear()  # as in a new process
        pipeline._FPS_WARNED.clear()
        caplog.clear()
        with caplog.at_level("WARNING"):
            assert main([*argv, "--out", str(tmp_path / "out"), "--no-progress", "--no-gallery"]) == 0
        said.append(sum("seqinfo.ini says 5 fps but the header of SEQ.avi says 10" in m for m in caplog.messages))
    cache = json.loads((tmp_path / "out" / "summary.json").read_text())["cameras"]["cam1"]["cache"]
    assert cache == "hit" and said == [1, 1]
    assert (tmp_path / "out" / "cam1.mp4").is_file()  # the source was opened again, for the video
