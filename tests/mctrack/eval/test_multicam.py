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
