from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest

from mctrack.cli import main
from mctrack.io.mot import SeqInfo, load_mot_txt, save_mot_txt, write_seqinfo


def make_sequence(root, n=30):
    write_seqinfo(root / "seqinfo.ini", SeqInfo(root.name, 10, n, 640, 480))
    gt, det = [], []
    for f in range(1, n + 1):
        for pid, x in ((1, 50 + 4 * f), (2, 400 - 4 * f + 0)):
            gt.append([f, pid, x, 100 + 60 * pid, 40, 100, 1])
            det.append([f, -1, x + 1, 101 + 60 * pid, 40, 100, 0.97])
    save_mot_txt(root / "gt" / "gt.txt", np.array(gt, float))
    save_mot_txt(root / "det" / "det.txt", np.array(det, float))
    return root


def test_track_then_eval(tmp_path, capsys):
    seq = make_sequence(tmp_path / "data" / "SYN-01")
    out = tmp_path / "pred"
    assert (
        main(
            [
                "track",
                "--source",
                str(seq),
                "--detector",
                "mot",
                "--reid",
                "none",
                "--out",
                str(out),
                "--no-progress",
                "--interpolate",
                "5",
            ]
        )
        == 0
    )
    rows = load_mot_txt(out / "SYN-01.txt")
    assert len(rows) >= 55 and set(rows[:, 1].astype(int)) == {1, 2}
    capsys.readouterr()
    assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0
    table = capsys.readouterr().out
    combined = table.strip().splitlines()[-1].split()
    assert combined[0] == "COMBINED" and float(combined[5]) > 90  # IDF1 column


def test_a_sequence_result_is_named_after_its_folder(tmp_path, capsys):
    # a renamed copy keeps seqinfo's name=; its result must not overwrite the original's in a shared --out
    seq = make_sequence(tmp_path / "data" / "SYN-01")
    copy = tmp_path / "data" / "SYN-01-copy"
    make_sequence(copy)
    write_seqinfo(copy / "seqinfo.ini", SeqInfo("SYN-01", 10, 30, 640, 480))
    out = tmp_path / "pred"
    for src in (seq, copy):
        assert main(["track", "--source", str(src), "--detector", "mot", "--out", str(out), "--no-progress"]) == 0
    assert sorted(p.name for p in out.glob("*.txt")) == ["SYN-01-copy.txt", "SYN-01.txt"]
    assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0
    link = tmp_path / "data" / "SYN-01-link"  # a linked folder: named after the link, as eval lists it
    link.symlink_to(seq)
    assert main(["track", "--source", str(link), "--detector", "mot", "--out", str(out), "--no-progress"]) == 0
    assert (out / "SYN-01-link.txt").is_file()
    assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0


def test_a_det_file_written_as_corners_is_warned_about(tmp_path, caplog):
    seq = make_sequence(tmp_path / "data" / "SYN-01")
    argv = ["track", "--source", str(seq), "--detector", "mot", "--out", str(tmp_path / "pred"), "--no-progress"]
    with caplog.at_level("WARNING", logger="mctrack.commands.track"):
        assert main(argv) == 0
    assert not caplog.records  # left, top, width, height: nothing far outside the 640x480 frame
    rows = load_mot_txt(seq / "det" / "det.txt")
    rows[:, 4:6] += rows[:, 2:4]  # x1, y1, x2, y2 where width and height belong
    save_mot_txt(seq / "det" / "det.txt", rows)
    with caplog.at_level("WARNING", logger="mctrack.commands.track"):
        assert main(argv) == 0
    assert "is the file written as x1,y1,x2,y2, or for another frame size?" in caplog.text
    assert "50% of the boxes" in caplog.text and "640x480 frame of " + str(seq / "seqinfo.ini") in caplog.text
    # a video with --dets: the frame size from the video's header (was not checked at all)
    import cv2

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(30):
        writer.write(np.zeros((480, 640, 3), np.uint8))
    writer.release()
    caplog.clear()
    argv = ["track", "--source", str(video), "--dets", str(seq / "det" / "det.txt"), "--detector", "mot"]
    with caplog.at_level("WARNING", logger="mctrack.commands.track"):
        assert main(argv + ["--out", str(tmp_path / "pred"), "--no-progress"]) == 0
    assert f"50% of the boxes reach more than 10% beyond the 640x480 frame of {video}" in caplog.text


def test_a_det_file_of_another_frame_size_is_an_error_naming_it(tmp_path, capsys):
    """Every box entirely outside the sequence's 640x480 frame (a 1920x1080 camera's detections): one line naming
    the file and the frame's source, exit 1, no result written (it was tracked outside the image with exit 0)."""
    seq = make_sequence(tmp_path / "data" / "SYN-01")
    rows = load_mot_txt(seq / "det" / "det.txt")
    rows[:, 2] += 1000
    save_mot_txt(seq / "det" / "det.txt", rows)
    out = tmp_path / "pred"
    assert main(["track", "--source", str(seq), "--detector", "mot", "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"mctrack track: error: {seq / 'det' / 'det.txt'}: all {len(rows)} boxes lie entirely")
    assert f"640x480 frame of {seq / 'seqinfo.ini'}" in err
    assert not out.exists() or not list(out.glob("*.txt"))


def test_track_with_explicit_dets_and_video(tmp_path, capsys):
    seq = make_sequence(tmp_path / "SYN-02", n=10)
    out = tmp_path / "pred"
    # a sequence folder without images cannot give an annotated video
    assert (
        main(
            [
                "track",
                "--source",
                str(seq),
                "--detector",
                "mot",
                "--dets",
                str(seq / "det" / "det.txt"),
                "--reid",
                "none",
                "--out",
                str(out),
                "--video",
                "--no-progress",
            ]
        )
        == 1
    )
    # named for what asks for the images (it said "this detector or embedder", neither of which needs them here)
    assert "no video and no img1/ image folder; images are needed for --video" in capsys.readouterr().err


def test_track_bad_usage(tmp_path, capsys):
    seq = make_sequence(tmp_path / "SYN-03", n=5)
    assert main(["track", "--source", str(tmp_path / "missing"), "--detector", "mot", "--reid", "none"]) == 1
    assert "source not found" in capsys.readouterr().err
    assert (
        main(["track", "--source", str(seq), "--detector", "nope", "--reid", "none", "--out", str(tmp_path / "o")]) == 1
    )
    assert "valid names" in capsys.readouterr().err
    assert (
        main(
            [
                "track",
                "--source",
                str(seq),
                "--detector",
                "mot",
                "--reid",
                "none",
                "--app-thresh",
                "-1",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert "tracker settings: appearance_thresh" in capsys.readouterr().err
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--out", str(tmp_path / "o")]
    assert main([*base, "--weights", "laga_market1501"]) == 1  # helper-75: --reid forgotten
    said = capsys.readouterr().err
    assert "--weights laga_market1501: motion only (--reid none) takes no weights; with a network's checkpoint" in said
    assert "give its --reid (can, global, laga)" in said
    assert main([*base, "--noise-adapt", "2"]) == 1
    assert "tracker settings: noise_adapt: must be in [0.0, 1.0], got 2.0" in capsys.readouterr().err
    assert main([*base, "--meas-adapt", "-1"]) == 1
    assert "tracker settings: meas_adapt: must be in [0.0, 10.0], got -1.0" in capsys.readouterr().err
    # helper-68: a missing .onnx file was "--weights must be an .onnx file, got '.../missing.onnx'"
    onnx = ["track", "--source", str(seq), "--detector", "mot", "--reid", "onnx", "--out", str(tmp_path / "o")]
    missing = tmp_path / "missing.onnx"
    assert main([*onnx, "--weights", str(missing)]) == 1
    assert f"--weights {missing}: not found (--reid onnx takes an .onnx model file)" in capsys.readouterr().err
    (tmp_path / "dir.onnx").mkdir()
    assert main([*onnx, "--weights", str(tmp_path / "dir.onnx")]) == 1
    assert "dir.onnx: is a folder, not a file" in capsys.readouterr().err
    assert main(onnx) == 1
    assert "--reid onnx: needs --weights FILE.onnx" in capsys.readouterr().err


def test_real_sequence_motion_only(shared_data, tmp_path, capsys):
    seq = shared_data / "mot15" / "TUD-Stadtmitte"
    if not seq.is_dir():
        pytest.skip("TUD-Stadtmitte not in the shared data")
    out = tmp_path / "pred"
    assert (
        main(["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--out", str(out), "--no-progress"])
        == 0
    )
    from mctrack.eval.mot import evaluate_folders

    m = evaluate_folders(shared_data / "mot15", out, sequences=["TUD-Stadtmitte"])["TUD-Stadtmitte"]
    # SORT on the same detections: HOTA 53.0, IDF1 73.5, MOTA 71.7
    assert m["HOTA"] > 0.48 and m["IDF1"] > 0.70 and m["MOTA"] > 0.70


def test_track_offline_refinements(tmp_path, capsys, caplog):
    seq = make_sequence(tmp_path / "SYN-04", n=40)
    det = load_mot_txt(seq / "det" / "det.txt")
    rng = np.random.default_rng(0)
    det[:, 2:4] += rng.normal(0, 4, (len(det), 2))  # jittery boxes
    save_mot_txt(seq / "det" / "det.txt", det)
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--no-progress"]
    assert (
        main(
            [*base, "--out", str(tmp_path / "raw"), "--smooth", "0", "--no-backfill", "--track-score", "first"]
            + ["--min-length", "0"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "offline refinements" not in out
    # where the time went: per-frame stages in ms, no refinements to time
    assert re.search(r"^time per frame: decode \d+\.\d\d ms, detect \d+\.\d\d ms, track \d+\.\d\d ms$", out, re.M), out
    assert main([*base, "--out", str(tmp_path / "smooth")]) == 0  # default: smoothed, no motion-only stitching
    # both people are there from the first frame, whose tracks are confirmed at once: no first frames to add
    out = capsys.readouterr().out
    assert (
        "offline refinements: 0 first frame(s) of confirmed tracks added, 0 track(s) with a mean score below 0.9 "
        "dropped, 0 track(s) seen for less than 0.5 s dropped, smoothed (sigma 2 frames)" in out
    )
    # the refinements, which run once after tracking, are timed apart from the per-frame stages
    assert re.search(
        r"^time per frame: .*track \d+\.\d\d ms; after tracking: offline refinements \d+\.\d ms$", out, re.M
    )
    raw, smooth = load_mot_txt(tmp_path / "raw" / "SYN-04.txt"), load_mot_txt(tmp_path / "smooth" / "SYN-04.txt")
    assert raw[:, :2].tolist() == smooth[:, :2].tolist()  # same tracks, same frames
    gt = load_mot_txt(seq / "gt" / "gt.txt")

    def err(rows):  # distance of the boxes from the true path (person 1 keeps x < 230 here, person 2 above)
        truth = {(int(r[0]), int(r[1])): r for r in gt}
        return np.mean([abs(r[2] - truth[(int(r[0]), 1 if r[2] < 230 else 2)][2]) for r in rows if r[0] > 3])

    assert err(smooth) < 0.8 * err(raw)
    for flag, value, msg in (("--smooth", "-1", "--smooth: must be >= 0"), ("--stitch", "nan", "--stitch: must be")):
        assert main([*base, "--out", str(tmp_path / "bad"), flag, value]) == 1
        assert msg in capsys.readouterr().err
    with caplog.at_level(logging.WARNING):  # 0.04 s at 10 fps: under half a frame
        assert main([*base, "--out", str(tmp_path / "tiny"), "--stitch", "0.04"]) == 0
    assert "--stitch 0.04 s is under half a frame at 10 fps (SYN-04): no tracks are joined" in caplog.text
    assert load_mot_txt(tmp_path / "tiny" / "SYN-04.txt").tolist() == smooth.tolist()
    assert main(["track", "--source", "rtsp://127.0.0.1:9/x", "--reid", "none", "--stitch", "4"]) == 1
    assert "--stitch: offline post-processing, not for a live stream" in capsys.readouterr().err
    assert main(["track", "--source", "rtsp://127.0.0.1:9/x", "--reid", "none", "--backfill"]) == 1
    assert "--backfill: offline post-processing, not for a live stream" in capsys.readouterr().err
    assert main(["track", "--source", "rtsp://127.0.0.1:9/x", "--reid", "none", "--track-score", "mean"]) == 1
    assert "--track-score mean: offline post-processing, not for a live stream" in capsys.readouterr().err
    # longer than the video: every track dropped, an empty result, an error (exit 1) naming the file
    assert main([*base, "--out", str(tmp_path / "long"), "--min-length", "3600"]) == 1
    assert "all 2 tracks were dropped once tracking ended" in capsys.readouterr().err
    assert len(load_mot_txt(tmp_path / "long" / "SYN-04.txt")) == 0
    assert (
        "2 of 2 tracks were dropped once tracking ended (2 seen for less than 3600 s); if people are seen that "
        "briefly here, lower --min-length (0 = off)" in caplog.text
    )
    assert main(["track", "--source", "rtsp://127.0.0.1:9/x", "--reid", "none", "--min-length", "1"]) == 1
    assert "--min-length: offline post-processing, not for a live stream" in capsys.readouterr().err
    for flag, value in (("--min-hits", "0"), ("--min-length", "-1"), ("--min-length", "inf")):
        assert main([*base, "--out", str(tmp_path / "bad"), flag, value]) == 1
        assert f"{flag}: must be" in capsys.readouterr().err


def test_track_backfills_the_first_frame_of_a_confirmed_track(tmp_path, capsys):
    seq = make_sequence(tmp_path / "SYN-05", n=20)
    det = load_mot_txt(seq / "det" / "det.txt")
    late = [[f, -1, 300.0, 30.0, 40, 100, 0.97] for f in range(6, 21)]  # a third person from frame 6
    once = [[3, -1, 560.0, 300.0, 40, 100, 0.97]]  # a false positive in frame 3 only
    save_mot_txt(seq / "det" / "det.txt", np.concatenate([det[:, :7], np.array(late + once)]))
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--no-progress", "--smooth", "0"]
    # motion only, recorded: the tracker confirms at once and the tracks are judged afterwards instead; the
    # false positive, seen once, is a track until the offline judgement drops it (shorter than 0.5 s)
    assert main([*base, "--out", str(tmp_path / "default")]) == 0
    assert "0 track(s) with a mean score below 0.9 dropped, 1 track(s) seen for less than 0.5 s dropped" in (
        capsys.readouterr().out
    )
    rows = load_mot_txt(tmp_path / "default" / "SYN-05.txt")
    assert rows[np.abs(rows[:, 2] - 300) < 1][:, 0].tolist() == list(range(6, 21)) and 560 not in rows[:, 2]
    assert main([*base, "--out", str(tmp_path / "kept"), "--min-length", "0"]) == 0
    assert 560 in load_mot_txt(tmp_path / "kept" / "SYN-05.txt")[:, 2]  # the judgement did it, not the tracker
    # the online rule (--min-hits 2): a track is reported from its second match; backfill adds its first frame
    base += ["--min-hits", "2"]
    assert main([*base, "--out", str(tmp_path / "off"), "--no-backfill"]) == 0
    assert main([*base, "--out", str(tmp_path / "on")]) == 0
    assert "offline refinements: 1 first frame(s) of confirmed tracks added" in capsys.readouterr().out
    off, on = load_mot_txt(tmp_path / "off" / "SYN-05.txt"), load_mot_txt(tmp_path / "on" / "SYN-05.txt")
    third = int(on[np.abs(on[:, 2] - 300) < 1][0, 1])
    assert off[off[:, 1] == third][:, 0].min() == 7  # reported from its second match
    assert on[on[:, 1] == third][:, 0].tolist() == list(range(6, 21))  # now from its first detection
    assert len(on) == len(off) + 1 and not (np.abs(on[:, 2] - 560) < 50).any()  # the false positive stays out


def test_track_camera_motion_auto_by_default_when_there_are_frames(tmp_path, capsys):
    import cv2

    seq = make_sequence(tmp_path / "SYN-05", n=20)
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (480, 640), dtype=np.uint8), (5, 5), 0)
    (seq / "img1").mkdir()
    for f in range(20):  # the camera pans 5 px a frame
        frame = cv2.warpAffine(
            texture, np.float32([[1, 0, 5 * f], [0, 1, 0]]), (640, 480), borderMode=cv2.BORDER_REFLECT
        )
        cv2.imwrite(str(seq / "img1" / f"{f + 1:06d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    base = ["track", "--source", str(seq), "--detector", "mot", "--no-progress", "--out", str(tmp_path / "o")]
    assert main([*base, "--reid", "colorhist"]) == 0  # frames decoded for the embedder: auto
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("camera-motion compensation"))
    assert line.startswith("camera-motion compensation (auto") and int(line.split(": ")[-1].split()[0]) >= 10
    assert main([*base, "--reid", "colorhist", "--cmc", "off"]) == 0
    assert "camera-motion compensation" not in capsys.readouterr().out
    assert main([*base, "--reid", "none"]) == 0  # motion only on public detections: the sequence has images, auto
    assert "camera-motion compensation (auto: applied while the camera moved): 19 of 20" in capsys.readouterr().out
    assert main([*base, "--reid", "none", "--cmc", "off", "--video"]) == 0  # a video does not turn it on
    assert "camera-motion compensation" not in capsys.readouterr().out
    assert main([*base, "--reid", "none", "--cmc"]) == 0  # a bare --cmc: on, every frame
    assert "camera-motion compensation (on): 19 of 20 frames" in capsys.readouterr().out  # the first has no previous
    (seq / "img1").rename(tmp_path / "images")  # only det.txt left: nothing to estimate from, off without a word
    assert main([*base, "--reid", "none"]) == 0
    assert "camera-motion compensation" not in capsys.readouterr().out
    assert main([*base, "--reid", "none", "--cmc", "auto"]) == 1  # asked for: the missing images are an error
    assert "no video and no img1/ image folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["track", "--source", "x", "--track-new", "-1"], "--track-new: must be a detection score in [0, 1], got -1.0"),
        (["track", "--source", "x", "--track-high", "1.5"], "--track-high: must be a detection score in [0, 1]"),
        (["run", "--cams", "x.yaml", "--track-new", "nan"], "--track-new: must be a detection score in [0, 1]"),
        (["run", "--cams", "x.yaml", "--link-thresh", "3"], "--link-thresh: must be a cosine distance in [0, 2]"),
    ],
)
def test_scores_and_thresholds_out_of_range_are_refused_before_any_work(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_an_out_that_cannot_be_a_folder_is_one_line_naming_out(tmp_path, capsys):
    seq = make_sequence(tmp_path / "SYN-01")
    (tmp_path / "afile").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--no-progress", "--out"]
    # a file used to be "<path>: the output folder is a file", and a link to nothing a bare "File exists"
    assert main([*base, str(tmp_path / "afile")]) == 1
    assert capsys.readouterr().err.strip().endswith(f"--out {tmp_path / 'afile'}: a file is there, not a folder")
    assert main([*base, str(tmp_path / "link")]) == 1
    err = capsys.readouterr().err.strip()
    assert f"--out {tmp_path / 'link'}: " in err and "is a symbolic link to" in err and "\n" not in err
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "o" / "SYN-01.txt").mkdir(parents=True)  # helper-68: "Is a directory" after the record was written
    assert main([*base, str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--out {tmp_path / 'o'}: SYN-01.txt is a folder where track writes its result file")
    assert not (tmp_path / "o" / "SYN-01.json").exists()


def test_colour_histograms_are_compared_centred_on_the_scene_unless_asked_otherwise(tmp_path):
    import cv2

    seq = make_sequence(tmp_path / "SYN-07", n=10)  # two people alike (grey frames): neither vetoes the other
    (seq / "img1").mkdir()
    for i in range(1, 11):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "colorhist", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    tracker = json.loads((tmp_path / "a" / "SYN-07.json").read_text())["settings"]["tracker"]
    assert (tracker["appearance_centre"], tracker["appearance_thresh"]) == ("scene", 0.8)
    assert main([*base, "--out", str(tmp_path / "b"), "--app-centre", "none"]) == 0
    assert (
        json.loads((tmp_path / "b" / "SYN-07.json").read_text())["settings"]["tracker"]["appearance_centre"] == "none"
    )
    base[base.index("colorhist")] = "none"  # motion only records no appearance settings at all
    assert main([*base, "--out", str(tmp_path / "c")]) == 0
    assert "appearance_centre" not in json.loads((tmp_path / "c" / "SYN-07.json").read_text())["settings"]["tracker"]


def test_appearance_options_with_reid_none_are_warned_about(tmp_path, caplog):
    seq = make_sequence(tmp_path / "SYN-06", n=5)
    argv = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert "no effect with --reid none" not in caplog.text
    assert main([*argv, "--out", str(tmp_path / "b"), "--app-weight", "0.9"]) == 0
    assert "--app-weight/--app-thresh/--app-centre: no effect with --reid none" in caplog.text
    caplog.clear()
    assert main([*argv, "--out", str(tmp_path / "c"), "--app-centre", "scene"]) == 0
    assert "--app-weight/--app-thresh/--app-centre: no effect with --reid none" in caplog.text
    # helper-81: accepted without a word (--embed-refresh too: its default was a value, so giving it was unseen)
    for option in (["--embed", "all"], ["--embed-every", "3"], ["--embed-refresh", "2"]):
        caplog.clear()
        assert main([*argv, "--out", str(tmp_path / "d"), *option]) == 0
        assert f"{option[0]}: no effect with --reid none (nothing is embedded)" in caplog.text
    caplog.clear()
    assert main([*argv, "--out", str(tmp_path / "e"), "--embed-every", "3", "--embed-refresh", "2"]) == 0
    assert "--embed-every/--embed-refresh: no effect with --reid none" in caplog.text


def test_embed_refresh_without_the_needed_policy_is_warned_about(tmp_path, caplog):
    import cv2

    seq = make_sequence(tmp_path / "SYN-06", n=5)
    (seq / "img1").mkdir()
    for i in range(1, 6):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    argv = ["track", "--source", str(seq), "--detector", "mot", "--reid", "colorhist", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "a"), "--embed-refresh", "2"]) == 0  # colorhist embeds all
    assert "--embed-refresh: no effect with --embed all (the default of --reid colorhist), which embeds" in caplog.text
    assert json.loads((tmp_path / "a" / "SYN-06.json").read_text())["settings"]["embed"]["refresh_s"] == 2
    caplog.clear()
    assert main([*argv, "--out", str(tmp_path / "b"), "--embed", "needed", "--embed-refresh", "2"]) == 0
    assert "--embed-refresh" not in caplog.text
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0  # the default is recorded as a number
    assert json.loads((tmp_path / "c" / "SYN-06.json").read_text())["settings"]["embed"]["refresh_s"] == 0.5


def test_track_drops_a_track_whose_mean_score_is_low(tmp_path, capsys):
    seq = make_sequence(tmp_path / "SYN-06", n=20)
    det = load_mot_txt(seq / "det" / "det.txt")[:, :7]
    # a third "person" from frame 4: one confident box, then weak ones (mean 0.77), as a false track goes
    ghost = [[f, -1, 300.0, 30.0, 40, 100, 0.95 if f == 4 else 0.75] for f in range(4, 16)]
    save_mot_txt(seq / "det" / "det.txt", np.concatenate([det, np.array(ghost)]))
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--no-progress", "--smooth", "0"]
    assert main([*base, "--out", str(tmp_path / "first"), "--track-score", "first"]) == 0
    assert main([*base, "--out", str(tmp_path / "mean")]) == 0  # the default for recorded video
    assert "1 track(s) with a mean score below 0.9 dropped" in capsys.readouterr().out
    first, mean = load_mot_txt(tmp_path / "first" / "SYN-06.txt"), load_mot_txt(tmp_path / "mean" / "SYN-06.txt")
    assert len(np.unique(first[:, 1])) == 3 and len(np.unique(mean[:, 1])) == 2
    assert not (np.abs(mean[:, 2] - 300) < 1).any()  # the ghost is gone, the two people stay whole
    np.testing.assert_array_equal(mean, first[np.abs(first[:, 2] - 300) >= 1])
    with pytest.raises(SystemExit) as exc:  # not a choice: argparse's usage error
        main([*base, "--out", str(tmp_path / "x"), "--track-score", "median"])
    assert exc.value.code == 2 and "invalid choice: 'median'" in capsys.readouterr().err


def test_track_video_shows_the_refined_result_file(tmp_path, monkeypatch, capsys):
    """Recorded video: --video draws the rows of the result file (backfilled starts, smoothed boxes), not the
    tracker's online output; a live-style run without refinements still draws as it tracks."""
    import cv2

    from mctrack.io.video import AnnotatedVideoWriter

    seq = make_sequence(tmp_path / "SYN-06", n=20)
    det = load_mot_txt(seq / "det" / "det.txt")
    late = [[f, -1, 300.0, 30.0, 40, 100, 0.97] for f in range(6, 21)]  # its first frame comes only from backfill
    save_mot_txt(seq / "det" / "det.txt", np.concatenate([det[:, :7], np.array(late)]))
    (seq / "img1").mkdir()
    for f in range(20):
        cv2.imwrite(str(seq / "img1" / f"{f + 1:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    drawn: list[tuple[int, list[int], np.ndarray]] = []
    real_write = AnnotatedVideoWriter.write

    def record(self, frame, tracks):
        drawn.append((frame.index, tracks.track_id.tolist(), np.asarray(tracks.xyxy, np.float64)))
        real_write(self, frame, tracks)

    monkeypatch.setattr(AnnotatedVideoWriter, "write", record)
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--cmc", "off", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "o"), "--video"]) == 0
    assert (tmp_path / "o" / "SYN-06.mp4").stat().st_size > 0
    rows = load_mot_txt(tmp_path / "o" / "SYN-06.txt")
    assert [d[0] for d in drawn] == list(range(20))  # every frame once
    for index, ids, xyxy in drawn:
        sel = rows[rows[:, 0] == index + 1]
        assert ids == sel[:, 1].astype(int).tolist()
        np.testing.assert_allclose(xyxy[:, :2], sel[:, 2:4], atol=1e-3)
    third = int(rows[np.abs(rows[:, 2] - 300) < 2][0, 1])
    assert third in drawn[5][1]  # frame 6 (index 5): the backfilled first detection is drawn
    # without refinements the video is drawn while tracking, from the same online rows the file gets
    drawn.clear()
    plain = ["--smooth", "0", "--no-backfill", "--track-score", "first", "--interpolate", "0", "--video"]
    plain += ["--min-hits", "2", "--min-length", "0"]
    assert main([*base, "--out", str(tmp_path / "p"), *plain]) == 0
    rows = load_mot_txt(tmp_path / "p" / "SYN-06.txt")
    assert sum(len(d[1]) for d in drawn) == len(rows) and third not in [i for d in drawn[:6] for i in d[1]]


def test_track_warns_when_no_detection_can_start_a_track(tmp_path, caplog):
    seq = make_sequence(tmp_path / "SYN-06", n=10)
    det = load_mot_txt(seq / "det" / "det.txt")
    det[:, 6] = 0.5  # a detector scored on another scale than the thresholds assume
    save_mot_txt(seq / "det" / "det.txt", det)
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert len(load_mot_txt(tmp_path / "a" / "SYN-06.txt")) == 0
    assert (
        "SYN-06: 20 detections but no track was started: a track starts only at a detection scoring at least 0.9"
        in (caplog.text)
    )
    caplog.clear()
    # --track-new alone cannot go below --track-high: said, and the higher one is used
    assert main([*base, "--out", str(tmp_path / "b"), "--track-new", "0.4"]) == 0
    assert (
        "--track-new 0.4 is below --track-high 0.7: a track starts only at a detection scoring at least" in caplog.text
    )
    assert "at least 0.7 (--track-new, --track-high)" in caplog.text
    caplog.clear()
    assert main([*base, "--out", str(tmp_path / "c"), "--track-new", "0.4", "--track-high", "0.4"]) == 0
    assert len(np.unique(load_mot_txt(tmp_path / "c" / "SYN-06.txt")[:, 1])) == 2 and "no track" not in caplog.text


def test_track_with_a_detector_uses_the_thresholds_for_detector_output(tmp_path, monkeypatch, caplog):
    """`mctrack track --detector yolo` takes `mctrack run`'s thresholds (0.5 / 0.6) and confirms at the second
    match, as run does: the tracker's 0.7 / 0.9 and confirming at once were chosen for public detection files,
    and with them people a detector scores 0.75 never get a track. --detector mot keeps the tracker's."""
    import cv2

    import mctrack.commands.track as track_cmd
    from mctrack.track import DETECTOR_THRESHOLDS
    from mctrack.types import Detections

    assert DETECTOR_THRESHOLDS == {"high_thresh": 0.5, "new_track_thresh": 0.6}
    folder = tmp_path / "frames"
    folder.mkdir()
    for f in range(12):
        cv2.imwrite(str(folder / f"{f:04d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    built = []

    class FakeYolo:  # what a YOLO gives people: scores around 0.75, a doubtful box at 0.55
        name = "fake-yolo"

        def __call__(self, frame):
            i = frame.index
            xyxy = [[50 + 4 * i, 100, 90 + 4 * i, 200], [400 - 4 * i, 160, 440 - 4 * i, 260], [200, 300, 240, 400]]
            return Detections(np.array(xyxy, np.float32), np.array([0.75, 0.8, 0.55], np.float32))

    def fake_yolo(args):
        built.append(args.detector)
        return FakeYolo()

    monkeypatch.setattr(track_cmd, "yolo_from_args", fake_yolo)
    created = []

    class Recorded(track_cmd.Tracker):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            created.append(self)

    Recorded.__init__.__kwdefaults__ = track_cmd.Tracker.__init__.__kwdefaults__  # read by the command

    monkeypatch.setattr(track_cmd, "Tracker", Recorded)
    base = ["track", "--source", str(folder), "--fps", "10", "--reid", "none", "--cmc", "off", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert built == ["yolo"]
    t = created[-1]
    assert (t.high_thresh, t.new_track_thresh, t.low_thresh, t.min_hits) == (0.5, 0.6, 0.1, 2)
    rows = load_mot_txt(tmp_path / "a" / "frames.txt")
    assert len(np.unique(rows[:, 1])) == 2 and len(rows) == 24  # both people, every frame (backfilled); not 0.55
    assert "no track was started" not in caplog.text
    # the user's thresholds still win; --track-high alone raises the new-track default with it, silently
    assert main([*base, "--out", str(tmp_path / "b"), "--track-high", "0.78"]) == 0
    assert (created[-1].high_thresh, created[-1].new_track_thresh) == (0.78, 0.78)
    assert len(np.unique(load_mot_txt(tmp_path / "b" / "frames.txt")[:, 1])) == 1 and "below" not in caplog.text
    assert main([*base, "--out", str(tmp_path / "c"), "--track-new", "0.9", "--min-hits", "1"]) == 0
    assert (created[-1].high_thresh, created[-1].new_track_thresh, created[-1].min_hits) == (0.5, 0.9, 1)
    assert len(load_mot_txt(tmp_path / "c" / "frames.txt")) == 0
    # a detection file keeps the tracker's own defaults and confirms at once on motion alone
    seq = make_sequence(tmp_path / "SYN-07", n=10)
    assert (
        main(["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--out", str(tmp_path / "d")]) == 0
    )
    t = created[-1]
    assert (t.high_thresh, t.new_track_thresh, t.low_thresh, t.min_hits) == (0.7, 0.9, 0.1, 1)


def test_a_result_emptied_by_the_judgement_is_an_error_not_a_success(tmp_path, capsys, caplog):
    from pathlib import Path

    cam1 = Path(__file__).resolve().parents[2] / "samples" / "small" / "cam1"
    # the synthetic detector's people score below the public detection files' 0.9 mean-score judgement: every
    # track is dropped; this used to write an empty file and exit 0
    args = ["track", "--source", str(cam1), "--detector", "mot", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "all 37 tracks were dropped once tracking ended" in err[0]
    assert "cam1.txt is empty" in err[0]
    assert "lower --track-new" in caplog.text  # the warning that names the flag
    assert load_mot_txt(tmp_path / "cam1.txt").shape[0] == 0
    assert main([*args, "--track-score", "first"]) == 0 and len(load_mot_txt(tmp_path / "cam1.txt"))


def test_the_time_line_without_frames_and_with_work_after_tracking():
    from mctrack.commands.track import _time_line
    from mctrack.track.driver import DriverStats

    stats = DriverStats(frames=0, timings={"decode": 0.5})
    assert _time_line(stats) == "time per frame: no frame tracked"  # never a total shown as a per-frame time
    stats = DriverStats(frames=4, timings={"decode": 0.004, "track": 0.002, "offline refinements": 0.0123})
    stats.timings["video of the refined result"] = 0.5
    assert _time_line(stats) == (
        "time per frame: decode 1.00 ms, track 0.50 ms; after tracking: offline refinements 12.3 ms, "
        "video of the refined result 500.0 ms"
    )


def test_a_warning_during_tracking_starts_a_line_of_its_own(tmp_path):
    """It used to be appended to the progress bar's line ("... 0/30 [00:00<?, ?frame/s]WARNING: ...")."""
    import os
    import subprocess
    import sys

    import cv2

    images = tmp_path / "img"
    images.mkdir()
    for i in range(1, 31):
        cv2.imwrite(str(images / f"{i:06d}.jpg"), np.full((120, 160, 3), 100, np.uint8))
    (images / "000010.jpg").write_text("not an image")
    (tmp_path / "det.txt").write_text("".join(f"{f},-1,10,10,30,60,0.95,-1,-1,-1\n" for f in range(1, 31)))
    cmd = [sys.executable, "-m", "mctrack.cli", "track", "--source", str(images), "--detector", "mot"]
    cmd += ["--dets", str(tmp_path / "det.txt"), "--reid", "none", "--out", str(tmp_path / "o")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "TQDM_MININTERVAL": "0"})
    assert done.returncode == 0, done.stderr
    assert "frame/s]" in done.stderr  # a progress bar was drawn
    warning = f"WARNING: {images / '000010.jpg'}: cannot be read as an image"
    before = done.stderr[: done.stderr.index(warning)]
    assert before.endswith(("\n", "\r")), repr(before[-80:])


@pytest.mark.parametrize("stage", ["refine", "video"])
def test_ctrl_c_after_tracking_keeps_the_refined_result_and_the_summary(tmp_path, monkeypatch, capsys, stage):
    """A Ctrl-C while the offline refinements or the annotated video of the result were made ended the command
    with 'interrupted' only: no summary line, and (in the refinements) the raw rows left instead of the refined."""
    import os
    import signal

    import cv2

    import mctrack.commands.track as track

    seq = make_sequence(tmp_path / "SYN-07", n=20)
    (seq / "img1").mkdir()
    for f in range(20):
        cv2.imwrite(str(seq / "img1" / f"{f + 1:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--cmc", "off", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    capsys.readouterr()
    name = "refine" if stage == "refine" else "write_annotated_video"
    real = getattr(track, name)

    def ctrl_c_then(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(track, name, ctrl_c_then)
    assert main([*base, "--out", str(tmp_path / "cut"), "--video"]) == 130
    out = capsys.readouterr().out
    assert "SYN-07: 20 frames" in out  # the summary line
    whole, cut = (load_mot_txt(tmp_path / d / "SYN-07.txt") for d in ("whole", "cut"))
    np.testing.assert_array_equal(cut, whole)  # the refined result, whole
    assert not (tmp_path / "cut" / "SYN-07.mp4").exists()
    import json

    record = json.loads((tmp_path / "cut" / "SYN-07.json").read_text())
    assert record["settings"]["video"] == "not written: interrupted"
    # helper-75: a Ctrl-C while the video of a complete result was drawn marked the result as interrupted
    assert record["complete"] is (stage == "video")
    assert record["stopped"] == (None if stage == "video" else "interrupted")


def test_a_rerun_removes_the_earlier_runs_video_and_records_where_its_rate_came_from(tmp_path, capsys, caplog):
    """helper-75: a rerun without --video (or stopped before its video) left the earlier run's annotated video,
    another result's ids, beside the new result file; and neither the output nor the record said which rate the
    run counted its time windows with (--fps, seqinfo.ini, the video header or an assumed 30)."""
    import json

    import cv2

    seq = make_sequence(tmp_path / "SYN-08", n=10)
    (seq / "img1").mkdir()
    for f in range(10):
        cv2.imwrite(str(seq / "img1" / f"{f + 1:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--cmc", "off", "--no-progress"]
    out = tmp_path / "out"
    assert main([*base, "--out", str(out), "--video"]) == 0
    assert (out / "SYN-08.mp4").is_file()
    assert "SYN-08: 10 frames at 10 fps (seqinfo.ini)" in capsys.readouterr().out
    assert json.loads((out / "SYN-08.json").read_text())["settings"]["video"] == str(out / "SYN-08.mp4")
    assert main([*base, "--out", str(out), "--fps", "5"]) == 0
    assert not (out / "SYN-08.mp4").exists()
    printed = capsys.readouterr().out
    assert f"removed {out / 'SYN-08.mp4'}: the annotated video of the run whose result" in printed
    assert "SYN-08: 10 frames at 5 fps (--fps)" in printed
    # said as a camera set's rate is (helper-81: not a word)
    assert f"{seq}: fps 5 from --fps overrides the 10 fps of its seqinfo.ini (time windows" in caplog.text
    settings = json.loads((out / "SYN-08.json").read_text())["settings"]
    assert (settings["fps"], settings["fps_from"]) == (5.0, "--fps") and "video" not in settings
    # a video drawn as tracked (no refinement) over an earlier run's: written, not removed as the earlier one
    raw = ["--interpolate", "0", "--smooth", "0", "--no-backfill", "--track-score", "first", "--min-length", "0"]
    for _ in range(2):
        assert main([*base, *raw, "--out", str(out), "--video"]) == 0
        assert (out / "SYN-08.mp4").stat().st_size > 0
    assert "removed" not in capsys.readouterr().out
    # a video of the same name that no run of track wrote is not removed, but said not to show the result
    other = tmp_path / "other"
    other.mkdir()
    (other / "SYN-08.mp4").write_bytes(b"mine")
    with caplog.at_level(logging.WARNING):
        assert main([*base, "--out", str(other)]) == 0
    assert (other / "SYN-08.mp4").read_bytes() == b"mine"
    assert "SYN-08.mp4: not written by this run (no --video); it does not show SYN-08.txt" in caplog.text
    assert (
        main(
            [
                *base[:2],
                str(seq / "img1"),
                *base[3:],
                "--dets",
                str(seq / "det" / "det.txt"),
                "--min-length",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "img1: 10 frames at 30 fps (assumed (no rate of its own))" in capsys.readouterr().out


def test_a_detection_file_of_which_no_row_is_used_is_an_error_not_an_empty_success(tmp_path, capsys):
    """A det file numbered for another video (frames 1001-1030 for 30 frames), or a --min-score no row reaches,
    gave an empty result, '0 detections, 0 tracks' and exit 0."""
    seq = make_sequence(tmp_path / "data" / "SYN-01")
    argv = ["track", "--source", str(seq), "--detector", "mot", "--out", str(tmp_path / "pred"), "--no-progress"]
    assert main(argv + ["--min-score", "0.5"]) == 0  # rows used: fine
    assert main(argv + ["--min-score", "0.99"]) == 1
    err = capsys.readouterr().err
    assert f"{seq / 'det' / 'det.txt'}: none of its 60 detections scores at least 0.99;" in err
    # cut short by --duration: a filter no row of the whole file passes is still the filter's fault (helper-81: exit 0)
    assert main(argv + ["--min-score", "0.99", "--duration", "1"]) == 1
    assert "none of its 60 detections scores at least 0.99;" in capsys.readouterr().err
    rows = load_mot_txt(seq / "det" / "det.txt")
    rows[:, 0] += 1000
    save_mot_txt(seq / "det" / "det.txt", rows)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "none of its 60 detections lies in the 30 frame(s) read (its frames run from 1001 to 1030)" in err
    assert main(argv + ["--duration", "1"]) == 0  # stopped before the detections begin: not the file's fault
    save_mot_txt(seq / "det" / "det.txt", np.zeros((0, 10)))
    assert main(argv) == 0  # an empty file: a scene without people is legal (warned about when loaded)


def test_a_video_path_that_is_a_folder_is_refused_before_tracking_and_name_takes_its_suffix(tmp_path, capsys):
    import cv2

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(10):
        writer.write(np.zeros((480, 640, 3), np.uint8))
    writer.release()
    seq = make_sequence(tmp_path / "SYN-09", n=10)
    out = tmp_path / "o"
    (out / "clip.mp4").mkdir(parents=True)
    argv = ["track", "--source", str(video), "--dets", str(seq / "det" / "det.txt"), "--detector", "mot"]
    assert main(argv + ["--out", str(out), "--video", "--no-progress"]) == 1
    err = capsys.readouterr().err
    # it tracked the whole video first, then failed naming a hidden temporary file
    assert f"--video {out / 'clip.mp4'}: is a folder, not a file" in err and ".tmp" not in err
    assert not (out / "clip.txt").exists()
    assert main(argv + ["--out", str(out), "--name", "run1.txt", "--no-progress"]) == 0
    assert (out / "run1.txt").is_file() and not (out / "run1.txt.txt").exists()


def test_fps_stands_in_for_a_seqinfo_without_frame_rate(tmp_path, capsys):
    seq = make_sequence(tmp_path / "data" / "SYN-01")  # frameRate=10
    argv = ["track", "--source", str(seq), "--detector", "mot", "--no-progress"]
    assert main(argv + ["--out", str(tmp_path / "with")]) == 0
    ini = seq / "seqinfo.ini"
    ini.write_text("".join(line for line in ini.read_text().splitlines(True) if not line.startswith("frameRate")))
    assert main(argv + ["--out", str(tmp_path / "without")]) == 1
    assert (
        "seqinfo.ini: missing key frameRate (add frameRate=... to its [Sequence] section; mctrack track also "
        "takes --fps)" in capsys.readouterr().err
    )
    assert main(argv + ["--out", str(tmp_path / "without"), "--fps", "10"]) == 0  # was the same error
    with_rate = load_mot_txt(tmp_path / "with" / "SYN-01.txt")
    assert len(with_rate) and np.array_equal(with_rate, load_mot_txt(tmp_path / "without" / "SYN-01.txt"))


def test_track_records_its_settings_and_eval_names_an_incomplete_result(tmp_path, capsys, caplog, monkeypatch):
    """track wrote only <seq>.txt: nothing said which settings made it (the defaults depend on the embedder and the
    source), and a result cut short by Ctrl-C was scored by eval as if complete."""
    import json
    import os
    import signal

    import mctrack.commands.track as track

    seq = make_sequence(tmp_path / "data" / "SYN-01")
    out = tmp_path / "pred"
    argv = ["track", "--source", str(seq), "--detector", "mot", "--out", str(out), "--no-progress"]
    assert main([*argv, "--interpolate", "5", "--max-lost", "2"]) == 0
    record = json.loads((out / "SYN-01.json").read_text())
    assert record["result"] == "SYN-01.txt" and record["complete"] and record["stopped"] is None
    assert record["frames"] == record["source_frames"] == 30
    settings = record["settings"]
    assert settings["detector"] == {"name": "mot", "file": str(seq / "det" / "det.txt"), "min_score": None}
    assert settings["tracker"]["min_hits"] == 1 and settings["tracker"]["max_lost_s"] == 2.0  # resolved values
    assert settings["offline"]["interpolate"] == 5 and settings["offline"]["min_length_s"] == 0.5
    assert "--max-lost 2" in record["provenance"]["command"] and record["provenance"]["versions"]["numpy"]
    assert record["provenance"]["versions"]["scipy"] and record["provenance"]["versions"]["lap"]  # the assignment
    from mctrack.track import Tracker

    rebuilt = Tracker(**settings["tracker"]).settings()  # the record rebuilds the tracker
    assert "appearance_weight" not in settings["tracker"]  # motion only: no appearance setting recorded
    assert {k: v for k, v in rebuilt.items() if not k.startswith("appearance_")} == settings["tracker"]
    assert record["rows"] == len(load_mot_txt(out / "SYN-01.txt"))
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0
    assert "incomplete" not in caplog.text

    real = track.drive

    def stopped_at_frame_12(*args, **kwargs):  # Ctrl-C once 12 frames are tracked
        for step in real(*args, **kwargs):
            yield step
            if step.frame.index == 11:
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(track, "drive", stopped_at_frame_12)
    assert main(argv) == 130
    record = json.loads((out / "SYN-01.json").read_text())
    assert not record["complete"] and record["stopped"] == "interrupted" and record["frames"] == 12
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0
    assert f"{out / 'SYN-01.txt'}: an incomplete result (its record SYN-01.json: interrupted after frame 12 of 30)" in (
        caplog.text
    )
    # a result written by something else over it is no longer described by the record: not said
    save_mot_txt(out / "SYN-01.txt", load_mot_txt(out / "SYN-01.txt")[:-1])
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0
    assert "incomplete" not in caplog.text
    # a run that never ended (killed) leaves the record it wrote at its start; one that failed says why
    seen = {}

    def crash(*args, **kwargs):
        seen.update(json.loads((out / "SYN-01.json").read_text()))  # what a kill now would leave
        raise RuntimeError("crash")
        yield

    monkeypatch.setattr(track, "drive", crash)
    with pytest.raises(RuntimeError):
        main(argv)
    assert seen["stopped"] == "did not finish (killed, crashed or still running)" and not seen["complete"]
    failed = json.loads((out / "SYN-01.json").read_text())
    assert failed["stopped"] == "failed: crash" and not failed["complete"] and failed["frames"] == 0
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--gt", str(tmp_path / "data"), "--pred", str(out)]) == 0
    assert "failed: crash after frame 0 of 30" in caplog.text
    monkeypatch.setattr(track, "drive", real)
    # --duration: a deliberately short run, said as such, against the source's whole length
    assert main([*argv, "--duration", "1"]) == 0
    record = json.loads((out / "SYN-01.json").read_text())
    assert record["stopped"] == "stopped by --duration" and (record["frames"], record["source_frames"]) == (10, 30)
    # a file of the user's under the record's name is not replaced
    (out / "SYN-01.json").write_text('{"calibration": [1, 2, 3]}')
    assert main(argv) == 1
    assert "holds SYN-01.json, which is not the record of an mctrack track run" in capsys.readouterr().err
    assert (out / "SYN-01.json").read_text() == '{"calibration": [1, 2, 3]}'


def test_stitching_on_motion_alone_is_warned_about_as_run_does(tmp_path, caplog):
    seq = make_sequence(tmp_path / "data" / "SYN-01")
    argv = ["track", "--source", str(seq), "--detector", "mot", "--out", str(tmp_path / "pred"), "--no-progress"]
    with caplog.at_level(logging.WARNING):
        assert main(argv) == 0
        assert "motion alone" not in caplog.text
        assert main([*argv, "--stitch", "4"]) == 0
    assert "--stitch without an embedder joins tracklets on motion alone" in caplog.text


def test_track_records_which_checkpoint_file_made_the_result(tmp_path):
    """helper-54: the record held --weights as typed (a relative path, no content hash) and no precision."""
    import hashlib
    import json

    from pathlib import Path

    from mctrack.weights import resolve_weights

    import cv2

    seq = make_sequence(tmp_path / "data" / "SYN-01", n=3)
    (seq / "img1").mkdir()
    for f in range(3):
        cv2.imwrite(str(seq / "img1" / f"{f + 1:06d}.jpg"), np.full((480, 640, 3), 90 + 20 * f, np.uint8))
    out = tmp_path / "pred"
    argv = ["track", "--source", str(seq), "--detector", "mot", "--out", str(out), "--no-progress", "--min-length", "0"]
    assert main([*argv, "--reid", "laga", "--weights", "laga_samples"]) == 0
    settings = json.loads((out / "SYN-01.json").read_text())["settings"]
    path = Path(resolve_weights("laga_samples")).resolve()
    assert settings["weights"] == str(path) and settings["precision"] in ("fp32", "bf16")
    assert settings["weights_sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()
    assert main([*argv, "--reid", "none"]) == 0
    settings = json.loads((out / "SYN-01.json").read_text())["settings"]
    assert settings["weights"] is None and settings["precision"] is None and "weights_sha1" not in settings


def test_a_sequence_whose_images_end_before_seqlength_is_an_error_and_an_incomplete_record(tmp_path, capsys):
    """helper-68: a sequence folder whose img1/ (or video) held fewer frames than seqLength was tracked as far as
    it went, with exit 0 and a record that said complete, and eval then scored the part as the whole."""
    import json

    import cv2

    seq = make_sequence(tmp_path / "SYN-05", n=12)
    (seq / "img1").mkdir()
    for i in range(1, 8):  # 7 of 12
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    out = tmp_path / "pred"
    code = main(["track", "--source", str(seq), "--detector", "mot", "--reid", "none", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"mctrack track: error: {seq}: its image folder img1 holds 7 of the 12 frames seqinfo.ini declares" in err
    record = json.loads((out / "SYN-05.json").read_text())
    assert record["complete"] is False and record["stopped"] == "ended early" and record["frames"] == 7
    assert load_mot_txt(out / "SYN-05.txt")[:, 0].max() <= 7  # the frames read are kept


def test_a_run_that_fails_records_why_and_how_far(tmp_path, capsys, monkeypatch):
    """helper-68: an embedder that gave NaN for every crop was one warning and a whole run on motion alone (exit 0);
    it now stops the run, and the record says why and after which frame (a failure left "did not finish (killed,
    crashed or still running)" and frame 0)."""
    import json

    import cv2

    from mctrack.embed.baselines import ColorHistogramEmbedder

    monkeypatch.setattr(ColorHistogramEmbedder, "__call__", lambda self, image, dets: np.full((len(dets), 8), np.nan))
    seq = make_sequence(tmp_path / "SYN-06", n=40)  # two people a frame: 64 crops by frame 32
    (seq / "img1").mkdir()
    for i in range(1, 41):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    out = tmp_path / "pred"
    code = main(["track", "--source", str(seq), "--detector", "mot", "--reid", "colorhist", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "the embedder gave no finite feature for any of the first 64 crops" in err
    record = json.loads((out / "SYN-06.json").read_text())
    assert record["complete"] is False and record["frames"] == 31
    assert record["stopped"].startswith("failed: SYN-06: the embedder gave no finite feature")


def test_an_input_file_that_track_would_write_over_is_refused_before_anything_is_written(tmp_path, capsys):
    """helper-81: ``--source D/foo.mp4 --dets D/foo.txt --out D`` replaced the detections with the tracks and
    (with --video, or a rerun's removal of an earlier video) the recording with its annotated video, exit 0; run
    refuses the same."""
    import cv2

    seq = make_sequence(tmp_path / "SYN-09", n=10)
    folder = tmp_path / "D"
    folder.mkdir()
    video = folder / "foo.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for _ in range(10):
        writer.write(np.full((480, 640, 3), 90, np.uint8))
    writer.release()
    dets = folder / "foo.txt"
    dets.write_bytes((seq / "det" / "det.txt").read_bytes())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    base = ["track", "--detector", "mot", "--reid", "none", "--no-progress", "--cmc", "off"]
    cases = [
        (["--source", str(video), "--dets", str(dets), "--out", str(folder)], f"--source {video}: is a file"),
        (["--source", str(video), "--dets", str(seq / "det" / "det.txt"), "--out", str(folder)], f"--source {video}"),
        (["--source", str(seq), "--dets", str(dets), "--out", str(folder), "--name", "foo"], f"--dets {dets}: is a"),
        # another spelling of the same folder, the result named after the detection file
        (["--source", str(seq), "--dets", str(dets), "--out", str(folder / ".." / "D"), "--name", "foo.txt"], "--dets"),
    ]
    for args, message in cases:
        assert main([*base, *args]) == 1
        err = capsys.readouterr().err
        assert message in err and "choose another --out or --name" in err, err
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing written, nothing replaced
    # the same inputs with another --out: tracked as usual
    assert main([*base, "--source", str(video), "--dets", str(dets), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "foo.txt").is_file()
    # a sequence folder's own recording, with --out the folder (helper-82: replaced by --video, or removed by a
    # rerun as an earlier run's video), also when this run reads no frame
    (seq / "SYN-09.mp4").write_bytes(video.read_bytes())
    kept = (seq / "SYN-09.mp4").read_bytes()
    for extra in (["--video"], []):
        assert main([*base, "--source", str(seq), "--out", str(seq), *extra]) == 1
        assert f"--source {seq}: its video {seq / 'SYN-09.mp4'}: is a file" in capsys.readouterr().err
    assert (seq / "SYN-09.mp4").read_bytes() == kept and not (seq / "SYN-09.txt").exists()
    assert main([*base, "--source", str(seq), "--out", str(seq), "--name", "tracked", "--video"]) == 0
    assert (seq / "SYN-09.mp4").read_bytes() == kept and (seq / "tracked.mp4").is_file()


def test_an_optional_package_that_is_missing_is_one_line_naming_the_install(tmp_path, monkeypatch, capsys):
    """helper-83: --reid onnx without onnxruntime (a plain `pip install -e .`) ended in a traceback."""
    import cv2

    seq = make_sequence(tmp_path / "SYN-08", n=3)
    (seq / "img1").mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((480, 640, 3), 90, np.uint8))
    model = tmp_path / "reid.onnx"
    model.write_bytes(b"\x08\x07")  # not read: the runtime is asked for first
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    argv = ["track", "--source", str(seq), "--detector", "mot", "--reid", "onnx", "--weights", str(model)]
    assert main([*argv, "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "mctrack track: error: the onnx embedder needs onnxruntime: pip install onnxruntime (or the export extra: "
        'pip install -e ".[export]")'
    )


def test_a_folder_of_sequences_is_tracked_sequence_by_sequence_as_each_alone(tmp_path, capsys, caplog):
    """MOT17/train holds sequence folders: `--source` the folder tracks each into OUT/<sequence>.txt, the same
    result as tracking it alone (helper-90: it said "no images found" and a user wrote a loop)."""
    data = tmp_path / "train"
    for name, n in (("SYN-01", 30), ("SYN-02", 20)):
        make_sequence(data / name, n=n)
    (data / "notes").mkdir()  # not a sequence: left alone
    base = ["track", "--detector", "mot", "--reid", "none", "--no-progress"]
    with caplog.at_level(logging.INFO):
        assert main([*base, "--source", str(data), "--out", str(tmp_path / "all")]) == 0
    assert "2 MOTChallenge sequences" in caplog.text and "sequence 2 of 2: SYN-02" in caplog.text
    assert sorted(p.name for p in (tmp_path / "all").glob("*.txt")) == ["SYN-01.txt", "SYN-02.txt"]
    for name in ("SYN-01", "SYN-02"):
        assert main([*base, "--source", str(data / name), "--out", str(tmp_path / "one")]) == 0
        assert (tmp_path / "all" / f"{name}.txt").read_bytes() == (tmp_path / "one" / f"{name}.txt").read_bytes()
    capsys.readouterr()
    assert main(["eval", "--gt", str(data), "--pred", str(tmp_path / "all")]) == 0  # scored as it stands
    assert "SYN-02" in capsys.readouterr().out
    for flag in ("--dets", "--name"):  # one file or name cannot serve every sequence
        assert main([*base, "--source", str(data), "--out", str(tmp_path / "x"), flag, "x.txt"]) == 1
        assert f"{flag}: one file or name for one sequence; {data} holds 2 sequences" in capsys.readouterr().err
    # an embedder option without effect is one error before any sequence (was said once per sequence, each failed)
    caplog.clear()
    assert main([*base, "--source", str(data), "--out", str(tmp_path / "x"), "--device", "cuda"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "mctrack track: error: --device cuda: nothing runs on a device with --reid none and --detector mot "
        "(it places YOLO and the networks)"
    ]
    assert "sequence 1 of 2" not in caplog.text and not (tmp_path / "x").exists()
    # a broken sequence is said with its name and the others are still tracked (helper-91: one failure stopped all)
    make_sequence(data / "SYN-03", n=10)
    (data / "SYN-02" / "det" / "det.txt").write_text("1,-1,10,10\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main([*base, "--source", str(data), "--out", str(tmp_path / "broken")]) == 1
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(said) == 1 and said[0].startswith("sequence SYN-02 (2 of 3): ") and "det.txt: line 1" in said[0]
    assert "sequence 3 of 3: SYN-03" in caplog.text
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"mctrack track: error: {data}: 1 of 3 sequences failed (SYN-02: see above); the others are written in "
        f"{tmp_path / 'broken'}"
    )
    assert sorted(p.name for p in (tmp_path / "broken").glob("*.txt")) == ["SYN-01.txt", "SYN-03.txt"]
    # two sequences that would write one result file are refused before any work (helper-91: the second overwrote)
    make_sequence(data / "SYN-03.txt", n=10)
    assert main([*base, "--source", str(data), "--out", str(tmp_path / "clash")]) == 1
    assert "sequences SYN-03 and SYN-03.txt would both write OUT/SYN-03.txt" in capsys.readouterr().err
    assert not (tmp_path / "clash").exists()
    # a folder with images of its own is an image folder, whatever its subfolders (as before)
    import cv2

    cv2.imwrite(str(data / "000001.jpg"), np.zeros((48, 64, 3), np.uint8))
    assert main([*base, "--source", str(data), "--out", str(tmp_path / "x"), "--dets", str(tmp_path / "no.txt")]) == 1
    assert "no.txt: file not found" in capsys.readouterr().err  # --dets taken: tracked as one image folder


def test_a_sequences_image_folder_as_the_source_names_the_sequence_to_give(tmp_path, capsys, caplog):
    """helper-90: SEQ/img1 as the source ran at an assumed 30 fps and wrote img1.txt without a word."""
    seq = make_sequence(tmp_path / "SYN-01")
    (seq / "img1").mkdir()
    import cv2

    cv2.imwrite(str(seq / "img1" / "000001.jpg"), np.zeros((480, 640, 3), np.uint8))
    argv = ["track", "--source", str(seq / "img1"), "--detector", "mot", "--dets", str(seq / "det" / "det.txt")]
    with caplog.at_level(logging.WARNING):
        assert main([*argv, "--out", str(tmp_path / "out"), "--no-progress", "--min-length", "0"]) == 0
    said = f"the image folder of the MOTChallenge sequence {seq.resolve()}, tracked as a bare image folder"
    assert said in caplog.text and f"give --source {seq.resolve()} to track it as that sequence" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the sequence itself: nothing to say
        seq_argv = ["track", "--source", str(seq), "--detector", "mot", "--cmc", "off", "--no-progress"]
        assert main([*seq_argv, "--out", str(tmp_path / "seq")]) == 0
    assert "image folder of the MOTChallenge sequence" not in caplog.text


def test_skip_done_leaves_complete_results_of_the_same_settings_and_tracks_the_rest(tmp_path, capsys):
    """A rerun of a folder of sequences after Ctrl-C or a failure picks up where it stopped (helper-91: it tracked
    every sequence again)."""
    data = tmp_path / "train"
    for name in ("SYN-01", "SYN-02", "SYN-03"):
        make_sequence(data / name, n=20)
    out = tmp_path / "out"
    base = ["track", "--source", str(data), "--detector", "mot", "--reid", "none", "--no-progress", "--out", str(out)]
    assert main(base) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt")}
    record = json.loads((out / "SYN-02.json").read_text())
    record["complete"] = False  # as an interrupted run leaves it
    (out / "SYN-02.json").write_text(json.dumps(record))
    with (out / "SYN-03.txt").open("a") as fh:  # written again since by something else: its record no longer fits
        fh.write("20,99,1,1,10,10,1,-1,-1,-1\n")
    capsys.readouterr()
    assert main([*base, "--skip-done"]) == 0
    printed = capsys.readouterr().out
    assert f"SYN-01: {out / 'SYN-01.txt'} is complete and was made with these settings" in printed
    assert "SYN-02: 20 frames" in printed and "SYN-03: 20 frames" in printed  # tracked again
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt")}
    assert after["SYN-01.txt"] == before["SYN-01.txt"] and after["SYN-02.txt"] != before["SYN-02.txt"]
    assert main([*base, "--skip-done", "--interpolate", "3"]) == 0  # other settings: every one tracked again
    assert "is complete and was made with these settings" not in capsys.readouterr().out


def test_skip_done_tracks_again_when_the_embedder_options_changed_the_features(tmp_path, capsys):
    """helper-100: the record held no --flip (nor an ONNX model's --input-size or --feature-mean), so a rerun with
    --skip-done --flip left the result made without it, as if made with it."""
    import cv2

    seq = make_sequence(tmp_path / "data" / "SYN-01", n=8)
    (seq / "img1").mkdir()
    for f in range(1, 9):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.full((480, 640, 3), 30 * f % 255, np.uint8))
    out = tmp_path / "out"
    base = ["track", "--source", str(seq), "--detector", "mot", "--reid", "global", "--no-progress", "--out", str(out)]
    assert main(base) == 0
    assert json.loads((out / "SYN-01.json").read_text())["settings"]["features"]["flip"] is False
    capsys.readouterr()
    assert main([*base, "--skip-done", "--flip"]) == 0
    assert "is complete and was made with these settings" not in capsys.readouterr().out  # tracked again
    assert json.loads((out / "SYN-01.json").read_text())["settings"]["features"]["flip"] is True
    assert main([*base, "--skip-done", "--flip"]) == 0
    assert "is complete and was made with these settings" in capsys.readouterr().out
