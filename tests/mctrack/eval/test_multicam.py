from __future__ import annotations

import numpy as np
import pytest

from mctrack.eval.multicam import evaluate_multicam, format_multicam, shift_frames


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
