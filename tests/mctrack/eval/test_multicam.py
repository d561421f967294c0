from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from mctrack.cli import main as cli_main
from mctrack.eval.multicam import evaluate_multicam, format_multicam, shift_frames
from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo
from mctrack.outputs import RUN_LOCK


def rows(frames, pid, x=100.0):
    return np.array([[f, pid, x, 50, 40, 100, 1, 1, 1, -1] for f in frames], float)


def test_one_person_two_cameras_id_switch_across_cameras():
    # one person: 10 frames in cam1, 6 in cam2; boxes perfect. The result keeps one id per camera but a different
    # one in each camera. Concatenated: GT id 1 has 16 boxes, result ids 5 (10 boxes) and 6 (6 boxes); the best
    # one-to-one match is 1<->5: IDTP = 10, IDFN = 6, IDFP = 6 -> IDF1 = 10 / (10 + 3 + 3) = 0.625.
    gt = {"cam1": rows(range(1, 11), 1), "cam2": rows(range(1, 7), 1)}
    pred = {"cam1": rows(range(1, 11), 5), "cam2": rows(range(1, 7), 6)}
    r = evaluate_multicam(gt, pred, {"cam1": 10, "cam2": 6})
    assert r["per_camera"]["cam1"]["IDF1"] == pytest.approx(1.0)
    assert r["per_camera"]["cam2"]["IDF1"] == pytest.approx(1.0)
    assert r["mean_per_camera"]["IDF1"] == pytest.approx(1.0)
    assert r["cross_camera"]["IDF1"] == pytest.approx(0.625)
    assert r["cross_camera"]["IDSW"] == 1 and r["cross_camera"]["MOTA"] == pytest.approx(1 - 1 / 16)
    assert r["shift"] == 11
    # the same id in both cameras: perfect across cameras
    linked = evaluate_multicam(
        gt, {"cam1": rows(range(1, 11), 5), "cam2": rows(range(1, 7), 5)}, {"cam1": 10, "cam2": 6}
    )
    assert linked["cross_camera"]["IDF1"] == pytest.approx(1.0)
    assert linked["cross_camera"]["HOTA"] > r["cross_camera"]["HOTA"]
    assert "cross-camera" in format_multicam(r)
    # a camera whose stream broke is marked, with how it was scored (it used to look like a camera tracked badly)
    table = format_multicam(r, failed=["cam2", "not a camera"]).splitlines()
    assert [line.split()[0] for line in table[1:3]] == ["cam1", "cam2"] and table[2].split()[1] == "*"
    assert table[1].split()[1] != "*" and table[-1].startswith("* failed: scored on its ground truth")
    assert "*" not in format_multicam(r)


def test_frames_shifted_beyond_every_camera_and_order_free():
    # one person seen by both cameras at the same time, at the same place in each image, and a second person in
    # camera b: without the shift the two cameras' frames would overlap, the first person's id would be twice in one
    # frame and both cameras' boxes would lie on each other
    gt = {"b": np.r_[rows(range(1, 6), 1), rows(range(1, 6), 2, x=300)], "a": rows(range(1, 4), 1)}
    pred = {"a": rows(range(1, 4), 7), "b": np.r_[rows(range(1, 6), 7), rows(range(1, 6), 8, x=300)]}
    r1 = evaluate_multicam(gt, pred, {"a": 3, "b": 5})
    r2 = evaluate_multicam(dict(reversed(list(gt.items()))), pred, {"b": 5, "a": 3})
    assert r1["cameras"] == ["a", "b"] and r1["cross_camera"] == r2["cross_camera"]
    assert r1["shift"] > 5  # beyond the longest camera: camera b's frames follow all of camera a's
    cross = r1["cross_camera"]
    assert cross["IDF1"] == pytest.approx(1.0) and cross["MOTA"] == pytest.approx(1.0)
    assert (cross["GT_Dets"], cross["GT_IDs"], cross["IDs"]) == (13, 2, 2)
    np.testing.assert_array_equal(shift_frames(gt["a"], r1["shift"])[:, 0], gt["a"][:, 0] + r1["shift"])


def test_missing_result_camera_scores_as_empty_and_errors():
    gt = {"cam1": rows(range(1, 5), 1)}
    r = evaluate_multicam(gt, {}, {"cam1": 4})
    assert r["cross_camera"]["FN"] == 4 and r["cross_camera"]["IDF1"] == 0.0
    with pytest.raises(ValueError, match="lengths"):
        evaluate_multicam(gt, {}, {})
    with pytest.raises(ValueError, match="gt"):
        evaluate_multicam({}, {}, {})


def test_shift_frames_copies():
    r = rows([1, 2], 1)
    s = shift_frames(r, 100)
    assert s[:, 0].tolist() == [101, 102] and r[:, 0].tolist() == [1, 2]


def test_per_camera_ground_truth_ids_are_kept_apart():
    # two unrelated sequences both call their person id 1; the tracker rightly gives them different ids
    gt = {"a": rows(range(1, 5), 1), "b": rows(range(1, 5), 1)}
    pred = {"a": rows(range(1, 5), 1), "b": rows(range(1, 5), 2)}
    shared = evaluate_multicam(gt, pred, {"a": 4, "b": 4})
    apart = evaluate_multicam(gt, pred, {"a": 4, "b": 4}, global_gt_ids=False)
    assert shared["cross_camera"]["IDF1"] == pytest.approx(0.5)
    assert apart["cross_camera"]["IDF1"] == pytest.approx(1.0)


def test_a_camera_without_ground_truth_is_left_out_of_the_mean():
    """helper-58: a camera with an empty ground-truth file (every box a false positive: MOTA -104300%) made the
    printed per-camera mean MOTA -52113; the mean is now over the cameras with something to find."""
    gt = {"cam1": rows(range(1, 11), 1), "cam2": np.zeros((0, 10)), "cam3": rows(range(1, 5), 2)}
    gt["cam3"][:, 6] = 0  # every row marked not to count: nothing to find either
    pred = {"cam1": rows(range(1, 11), 5), "cam2": rows(range(1, 11), 7), "cam3": rows(range(1, 5), 8)}
    r = evaluate_multicam(gt, pred, {"cam1": 10, "cam2": 10, "cam3": 4})
    # its own row still says what happened: 10 false boxes (MOTA 0, as TrackEval gives a sequence with no truth)
    assert r["per_camera"]["cam2"]["FP"] == 10 and r["per_camera"]["cam2"]["MOTA"] == 0.0
    assert r["mean_per_camera"] == {k: pytest.approx(r["per_camera"]["cam1"][k]) for k in ("HOTA", "IDF1", "MOTA")}
    assert r["without_ground_truth"] == ["cam2", "cam3"]
    assert r["cross_camera"]["FP"] == 10 + 4  # their boxes still count across cameras
    table = format_multicam(r).splitlines()
    assert [line.split()[:2] for line in table[2:4]] == [["cam2", "~"], ["cam3", "~"]]
    assert table[-1].startswith("~ no ground-truth row to score against")
    assert "~" not in format_multicam(evaluate_multicam({"cam1": gt["cam1"]}, pred, {"cam1": 10}))
    # none with ground truth: no mean at all, printed as "-"
    none = evaluate_multicam({"cam2": gt["cam2"]}, pred, {"cam2": 10})
    assert none["mean_per_camera"] == {"HOTA": None, "IDF1": None, "MOTA": None}
    assert format_multicam(none).splitlines()[2].split() == ["mean", "-", "-", "-"]


def test_shift_frames_of_no_rows_gives_an_empty_table_of_mot_rows():
    """No rows shifted: a ``(0, 10)`` table (the MOT row width), not a ``(0, 0)`` or another width."""
    assert shift_frames(np.zeros((0, 10)), 7).shape == (0, 10)
    assert shift_frames([], 7).shape == (0, 10)


def test_a_camera_length_below_one_frame_is_refused():
    """``lengths``: every camera needs at least one frame (``SHIFT`` and the sequence lengths are built from them)."""
    gt = {"cam1": rows(range(1, 5), 1)}
    for bad in (0, -3):
        with pytest.raises(ValueError, match="lengths: camera 'cam1' needs a length >= 1"):
            evaluate_multicam(gt, {}, {"cam1": bad})


def test_per_camera_ids_stay_apart_across_three_cameras_including_id_zero():
    """``global_gt_ids=False``: each camera numbers its own people (here 0 and 1, both valid MOT ids), so three
    cameras hold six different people; a tracker giving six different ids is perfect across cameras. With the ids
    global, the same numbers are two people seen by all three cameras."""
    gt = {c: np.r_[rows(range(1, 5), 0), rows(range(1, 5), 1, x=300)] for c in ("a", "b", "c")}
    pred = {c: np.r_[rows(range(1, 5), 10 * k), rows(range(1, 5), 10 * k + 1, x=300)] for k, c in enumerate(gt)}
    apart = evaluate_multicam(gt, pred, {c: 4 for c in gt}, global_gt_ids=False)
    assert apart["cross_camera"]["GT_IDs"] == 6 and apart["cross_camera"]["IDF1"] == pytest.approx(1.0)
    assert apart["protocol"]["ground_truth_ids"] == "per_camera"
    shared = evaluate_multicam(gt, pred, {c: 4 for c in gt})
    assert shared["cross_camera"]["GT_IDs"] == 2 and shared["protocol"]["ground_truth_ids"] == "global"
    # two people, 12 boxes each; each is matched to one of its three result ids (4 boxes): IDF1 = 8 / 24
    assert shared["cross_camera"]["IDF1"] == pytest.approx(1 / 3)


def test_mean_per_camera_is_the_arithmetic_mean_and_combined_sums_every_camera():
    """``mean_per_camera`` is the mean over the scored cameras (three cameras with MOTA 1, 1 and 0.5 give 5/6, not
    their median 1); ``combined`` adds up every camera's counts (TrackEval's combination), not one camera's."""
    gt = {c: rows(range(1, 5), 1) for c in ("a", "b", "c")}
    pred = {"a": rows(range(1, 5), 1), "b": rows(range(1, 5), 1), "c": rows(range(1, 3), 1)}  # c misses 2 of 4
    r = evaluate_multicam(gt, pred, {c: 4 for c in gt})
    assert [r["per_camera"][c]["MOTA"] for c in "abc"] == pytest.approx([1.0, 1.0, 0.5])
    assert r["mean_per_camera"]["MOTA"] == pytest.approx(5 / 6)
    comb = r["combined"]
    assert (comb["GT_Dets"], comb["FN"], comb["FP"]) == (12, 2, 0)
    assert comb["MOTA"] == pytest.approx(1 - 2 / 12)


def test_keep_zero_marked_counts_rows_marked_zero_everywhere():
    """``keep_zero_marked=True``: ground-truth rows marked 0 are people to find in the per-camera rows, in the
    cross-camera row and in the mean (the camera is no longer one without ground truth), and the protocol says
    so. By default they are ignored in all three."""
    gt = {"cam1": rows(range(1, 11), 1), "cam2": rows(range(1, 5), 2)}
    gt["cam2"][:, 6] = 0  # every row of cam2 marked 0
    pred = {"cam1": rows(range(1, 11), 5)}
    kept = evaluate_multicam(gt, pred, {"cam1": 10, "cam2": 4}, keep_zero_marked=True)
    assert kept["per_camera"]["cam2"]["FN"] == 4 and kept["cross_camera"]["FN"] == 4
    assert kept["cross_camera"]["GT_Dets"] == 14
    assert kept["without_ground_truth"] == [] and kept["mean_per_camera"]["MOTA"] == pytest.approx(0.5)
    assert kept["protocol"]["ground_truth_rows_marked_0"] == "counted"
    ignored = evaluate_multicam(gt, pred, {"cam1": 10, "cam2": 4})
    assert ignored["per_camera"]["cam2"]["FN"] == 0 and ignored["cross_camera"]["FN"] == 0
    assert ignored["without_ground_truth"] == ["cam2"] and ignored["mean_per_camera"]["MOTA"] == pytest.approx(1.0)
    assert ignored["protocol"]["ground_truth_rows_marked_0"] == "ignored"


def test_the_protocols_match_iou_is_the_one_boxes_are_matched_with():
    """``protocol["match_iou"]`` says boxes match at IoU 0.5: a result box with IoU 0.55 with the truth is a hit, one
    with IoU 0.45 a miss and a false positive. The 40 x 100 truth box shifted right by ``s`` pixels has IoU
    ``(40 - s) / (40 + s)``: 0.55 at s = 40 * 0.45 / 1.55, 0.45 at s = 40 * 0.55 / 1.45."""
    gt = {"cam1": rows(range(1, 5), 1)}
    hit = evaluate_multicam(gt, {"cam1": rows(range(1, 5), 1, x=100 + 40 * 0.45 / 1.55)}, {"cam1": 4})
    miss = evaluate_multicam(gt, {"cam1": rows(range(1, 5), 1, x=100 + 40 * 0.55 / 1.45)}, {"cam1": 4})
    assert hit["protocol"]["match_iou"] == 0.5
    assert (hit["cross_camera"]["FN"], hit["cross_camera"]["FP"]) == (0, 0)
    assert (miss["cross_camera"]["FN"], miss["cross_camera"]["FP"]) == (4, 4)


def test_a_set_scored_under_mot17_says_so_in_one_line(caplog):
    """``benchmark``: the protocol is said in one line when it is not MOT15's, and not at all when it is."""
    gt = {"a": rows(range(1, 5), 1), "b": rows(range(1, 5), 2)}
    with caplog.at_level("INFO", logger="mctrack.eval.multicam"):
        evaluate_multicam(gt, {}, {"a": 4, "b": 4})
        assert not [r for r in caplog.records if r.name == "mctrack.eval.multicam"]
        evaluate_multicam(gt, {}, {"a": 4, "b": 4}, benchmark="MOT17")
    said = [r.getMessage() for r in caplog.records if r.name == "mctrack.eval.multicam"]
    assert len(said) == 1 and "MOT17 protocol" in said[0]


def test_ground_truth_without_class_columns_is_scored_alike_per_camera_and_across_cameras():
    """Ground truth of 7 columns (no class, no visibility) and results of 6 (no confidence): the concatenation pads
    them, and the cross-camera row counts the same boxes as the per-camera rows together."""
    gt = {"a": rows(range(1, 6), 1)[:, :7], "b": rows(range(1, 6), 2)[:, :7]}
    pred = {"a": rows(range(1, 6), 1)[:, :6], "b": rows(range(1, 6), 2)[:, :6]}
    r = evaluate_multicam(gt, pred, {"a": 5, "b": 5})
    cross = r["cross_camera"]
    assert cross["GT_Dets"] == 10 and (cross["FN"], cross["FP"]) == (0, 0)
    assert cross["IDF1"] == pytest.approx(1.0)


def _cells(line: str, start: int, n: int) -> list[str]:
    return [line[start + 8 * i : start + 8 * (i + 1)] for i in range(n)]


def test_format_multicam_puts_every_number_under_its_heading():
    """Every row of the table is the name column followed by 8-character cells, each under the heading it belongs
    to, also for long camera names carrying both markers and for the mean row's dashes; a failed "camera" that is
    not in the set adds no note."""
    gt = {"a-rather-long-camera": rows(range(1, 11), 1), "b": np.zeros((0, 10))}
    pred = {"a-rather-long-camera": rows(range(1, 11), 5), "b": rows(range(1, 3), 7)}
    r = evaluate_multicam(gt, pred, {"a-rather-long-camera": 10, "b": 10})
    r["without_ground_truth"] = ["a-rather-long-camera", "b"]  # both markers on the long name
    table = format_multicam(r, failed=["a-rather-long-camera"]).splitlines()
    header = table[0].split()
    assert header[0] == "camera"
    start = table[0].index(f"{header[1]:>8}")  # the name column's width
    assert start >= len("a-rather-long-camera * ~") + 1
    assert _cells(table[0], start, len(header) - 1) == [f"{h:>8}" for h in header[1:]]
    for line, m in ((table[1], r["per_camera"]["a-rather-long-camera"]), (table[4], r["cross_camera"])):
        assert line[start - 1] == " " and len(line) == start + 8 * (len(header) - 1)
        for cell, f in zip(_cells(line, start, len(header) - 1), header[1:]):
            value = float(cell)
            if isinstance(m[f], float):
                assert value == pytest.approx(100 * m[f], abs=0.05), f
            else:
                assert value == m[f], f
    mean = table[3]
    assert mean.startswith("mean ") and len(mean) == start + 8 * 4
    cells = dict(zip(header[1:5], _cells(mean, start, 4)))
    assert cells["AssA"].strip() == ""
    for f in ("HOTA", "MOTA", "IDF1"):
        assert float(cells[f]) == pytest.approx(100 * r["mean_per_camera"][f], abs=0.05)
    none = evaluate_multicam({"b": gt["b"]}, pred, {"b": 10})
    mean_none = format_multicam(none).splitlines()[2]
    assert _cells(mean_none, 14, 4) == [f"{'-':>8}", " " * 8, f"{'-':>8}", f"{'-':>8}"]
    assert not format_multicam(r, failed=["not a camera"]).splitlines()[-1].startswith("* failed")


def test_rows_outside_a_cameras_frames_are_left_out_of_the_cross_camera_score_too():
    """helper-102: per camera a result row past the camera's length (or in frame 0) is not scored, with a warning;
    shifted for the cross-camera row it fell into the next camera's frames (camera a's frame 9 became b's frame 3,
    filling the frame b's result misses) or into the gap between cameras, and was scored there."""
    gt = {"a": rows(range(1, 6), 1), "b": rows(range(1, 6), 2, x=300)}
    pred = {
        "a": np.r_[rows(range(1, 6), 1), rows([9], 2, x=300)],
        "b": np.r_[rows([1, 2, 4, 5], 2, x=300), rows([0], 2)],
    }
    r = evaluate_multicam(gt, pred, {"a": 5, "b": 5})
    assert r["shift"] == 6
    # b's frame 3 is missed in b and across cameras alike; nothing else is missed or extra
    assert r["combined"]["FN"] == r["cross_camera"]["FN"] == 1
    assert r["combined"]["FP"] == r["cross_camera"]["FP"] == 0
    clean = evaluate_multicam(gt, {"a": rows(range(1, 6), 1), "b": rows([1, 2, 4, 5], 2, x=300)}, {"a": 5, "b": 5})
    assert r["cross_camera"] == clean["cross_camera"]


def _camera_set(root, extra=""):
    """Cameras a (a sequence folder: seqinfo.ini of 6 frames), b (a stream: no frame count), c (a video that
    cannot be opened) with one person each, d without ground truth; a's result runs past its last frame."""
    write_seqinfo(root / "a" / "seqinfo.ini", SeqInfo("a", 10, 6, 640, 480))
    save_mot_txt(root / "a" / "gt.txt", rows(range(1, 7), 1))
    save_mot_txt(root / "b" / "gt.txt", rows(range(1, 5), 2))
    (root / "c").mkdir(exist_ok=True)
    (root / "c" / "video.mp4").write_bytes(b"x")
    save_mot_txt(root / "c" / "gt.txt", rows(range(1, 4), 3))
    (root / "cams.yaml").write_text(
        f"{extra}cameras:\n"
        "  - {id: a, source: a, ground_truth: a/gt.txt}\n"
        "  - {id: b, source: 'rtsp://10.0.0.1/s', ground_truth: b/gt.txt}\n"
        "  - {id: c, source: c/video.mp4, ground_truth: c/gt.txt}\n"
        "  - {id: d, source: 'rtsp://10.0.0.2/s'}\n"
    )
    pred = root / "pred"
    save_mot_txt(pred / "a.txt", rows(range(1, 9), 1))  # frames 7 and 8: after a's last
    save_mot_txt(pred / "b.txt", rows(range(1, 7), 2))  # frames 5 and 6: boxes where b's ground truth has none
    save_mot_txt(pred / "c.txt", rows(range(1, 4), 3))
    return root / "cams.yaml", pred


def test_eval_cams_scores_each_camera_on_its_frame_count_and_says_what_it_leaves_out(tmp_path, caplog, capsys, recwarn):
    cams, pred = _camera_set(tmp_path)
    out_json = tmp_path / "e.json"
    with caplog.at_level(logging.WARNING):
        assert cli_main(["eval", "--cams", str(cams), "--pred", str(pred), "--json", str(out_json)]) == 0
    assert f"{cams}: cameras without ground_truth, not scored: d" in caplog.text
    assert (
        f"camera a: {pred / 'a.txt'} (result) has rows up to frame 8 but the video has 6 frames; those rows are "
        "ignored" in caplog.text
    )
    assert "(ground truth) has rows up to" not in caplog.text  # a's ground truth ends on its last frame
    assert not [w for w in recwarn if "frames outside" in str(w.message)]  # a's rows after its end: said once
    assert "camera b: rtsp://10.0.0.1/s gives no frame count; scored up to frame 6, the files' last" in caplog.text
    assert f"camera c: {tmp_path / 'c' / 'video.mp4'} gives no frame count; scored up to frame 3" in caplog.text
    assert f"metrics written to {out_json}" in capsys.readouterr().out
    m = json.loads(out_json.read_text())
    assert m["frames_evaluated"] == {"a": 6, "b": 6, "c": 3}
    counts = {cam: tuple(s[k] for k in ("GT_Dets", "TP", "FP", "FN")) for cam, s in m["per_camera"].items()}
    assert counts == {"a": (6, 6, 0, 0), "b": (4, 4, 2, 0), "c": (3, 3, 0, 0)}
    assert m["protocol"]["benchmark"] == "MOT15" and m["protocol"]["ground_truth_ids"] == "global"
    # b: MOTA (4 - 2) / 4; the cross-camera row pools 13 ground-truth rows, 15 result rows, 2 false boxes
    assert m["per_camera"]["b"]["MOTA"] == pytest.approx(0.5)
    assert m["cross_camera"]["MOTA"] == pytest.approx(11 / 13) and m["cross_camera"]["IDF1"] == pytest.approx(26 / 28)


def test_eval_cams_picks_cameras_and_protocol_as_asked(tmp_path, capsys):
    cams, pred = _camera_set(tmp_path)
    out_json = tmp_path / "e.json"
    argv = ["eval", "--cams", str(cams), "--pred", str(pred), "--json", str(out_json)]
    assert cli_main([*argv, "--sequences", "a/"]) == 0  # as tab completion writes a folder
    assert json.loads(out_json.read_text())["frames_evaluated"] == {"a": 6}
    assert cli_main([*argv, "--sequences", "d"]) == 1
    assert f"{cams}: no camera has a ground_truth file to score against" in capsys.readouterr().err
    assert cli_main(["eval", "--cams", str(cams), "--pred", str(tmp_path / "nope")]) == 1
    assert f"--pred {tmp_path / 'nope'}: results folder not found" in capsys.readouterr().err
    result = next(pred.glob("*.txt"))  # helper-108: a result file given for its folder was said "not found"
    assert cli_main(["eval", "--cams", str(cams), "--pred", str(result)]) == 1
    assert f"--pred {result}: a file, not a results folder; give the folder that holds it" in capsys.readouterr().err
    gt = rows(range(1, 7), 1)
    gt[0, 6] = 0  # a's first row marked to ignore
    save_mot_txt(tmp_path / "a" / "gt.txt", gt)
    assert cli_main([*argv, "--sequences", "a"]) == 0
    assert json.loads(out_json.read_text())["per_camera"]["a"]["GT_Dets"] == 5
    assert cli_main([*argv, "--sequences", "a", "--keep-zero-marked", "--benchmark", "MOT17"]) == 0
    m = json.loads(out_json.read_text())
    assert m["per_camera"]["a"]["GT_Dets"] == 6 and m["protocol"]["ground_truth_rows_marked_0"] == "counted"
    assert m["protocol"]["benchmark"] == "MOT17"
    _camera_set(tmp_path, extra="ground_truth_ids: per_camera\n")
    assert cli_main(argv) == 0
    assert json.loads(out_json.read_text())["protocol"]["ground_truth_ids"] == "per_camera"


def test_eval_cams_follows_the_run_record_of_a_run_folder(tmp_path, capsys, caplog):
    cams, pred = _camera_set(tmp_path)
    argv = ["eval", "--cams", str(cams), "--pred", str(pred), "--json", str(tmp_path / "e.json"), "--sequences"]
    (pred / RUN_LOCK).write_text("")

    def scored(summary, *cameras, code=0):
        (pred / "summary.json").write_text(json.dumps(summary))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mctrack.commands.eval"):
            assert cli_main([*argv, *cameras]) == code
        return json.loads((tmp_path / "e.json").read_text())["frames_evaluated"] if code == 0 else None

    # interrupted: each camera on the frames the run covered; one that tracked no frame (an empty file) left out
    (pred / "b.txt").write_text("")
    frames = scored({"cameras": {"a": {"frames": 4}, "b": {"frames": 0}}, "interrupted": True}, "a", "b")
    assert frames == {"a": 4}
    assert f"{pred}: camera b tracked no frame in the interrupted run (summary.json): not scored" in caplog.text
    assert f"{pred}: scored on the frames the run covered (a 4, b 0)" in caplog.text
    said = f"camera a: {tmp_path / 'a' / 'gt.txt'} (ground truth) has rows up to frame 6 but the run covered 4 frames"
    assert said in caplog.text
    # cut short by --duration, not interrupted: the same
    assert scored({"cameras": {"a": {"frames": 3}}, "duration_s": 3.0}, "a") == {"a": 3}
    # a complete run: each video's frame count, whatever its summary counted
    assert scored({"cameras": {"a": {"frames": 5}}}, "a") == {"a": 6}
    # a camera the run never started, whose file holds rows (an earlier run's): scored, and said to be stale
    save_mot_txt(pred / "b.txt", rows(range(1, 7), 2))
    frames = scored({"cameras": {"a": {"frames": 4}}, "interrupted": True, "cameras_not_run": ["b"]}, "a", "b")
    assert frames == {"a": 4, "b": 6} and "not in the run recorded in summary.json" in caplog.text
    # no camera tracked a frame: nothing to score
    (pred / "b.txt").write_text("")
    scored({"cameras": {"b": {"frames": 0}}, "interrupted": True}, "b", code=1)
    assert f"{pred}: no camera of the run tracked a frame: nothing to score" in capsys.readouterr().err
    # a camera that failed in the run; another missing and scored empty: no earlier run's file to warn about
    (pred / "b.txt").unlink()
    assert scored({"cameras": {"a": {"frames": 6, "error": "boom"}}}, "a", "b", "--missing-ok") == {"a": 6, "b": 4}
    assert "camera a: failed in the run (boom); scored on what it wrote" in caplog.text
    assert "not in the run recorded" not in caplog.text
    # a damaged summary.json is the run's that never finished
    assert scored({"name": "no cameras"}, "a") == {"a": 6}
    assert "an mctrack run's folder without its summary.json" in caplog.text


def test_eval_cams_scores_a_video_without_a_frame_count_up_to_its_files_last_frame(tmp_path, monkeypatch, caplog):
    cams, pred = _camera_set(tmp_path)
    monkeypatch.setattr("mctrack.commands.eval.open_source", lambda *a, **k: SimpleNamespace(length=None))
    out_json = tmp_path / "e.json"
    with caplog.at_level(logging.WARNING):
        argv = ["eval", "--cams", str(cams), "--pred", str(pred), "--sequences", "a", "--json", str(out_json)]
        assert cli_main(argv) == 0
    assert f"camera a: {tmp_path / 'a'} gives no frame count; scored up to frame 8, the files' last" in caplog.text
    m = json.loads(out_json.read_text())
    assert m["frames_evaluated"] == {"a": 8}
    assert (m["per_camera"]["a"]["TP"], m["per_camera"]["a"]["FP"]) == (6, 2)  # frames 7, 8: no one there
