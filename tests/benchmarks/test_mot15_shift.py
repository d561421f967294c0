"""benchmarks/mot15_shift.py: the shifted copies of the MOT15 sequences (frames, detections, seqinfo)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mctrack.io.mot import SeqInfo, read_seqinfo, write_seqinfo
from tests.conftest import ROOT, load_benchmark


@pytest.fixture(scope="module")
def shift():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    return load_benchmark("mot15_shift")


def _rows(n_frames: int, per_frame: int = 3) -> np.ndarray:
    rows = []
    for f in range(1, n_frames + 1):
        for i in range(per_frame):
            rows.append([f, i + 1, 100 + 50 * i + f, 200, 40, 100, 0.9, -1, -1, -1])
    return np.array(rows, np.float64)


def _sequence(folder, n_frames=10, fps=30.0):
    write_seqinfo(folder / "seqinfo.ini", SeqInfo(folder.name, fps, n_frames, 640, 480, video="v.mp4"))
    (folder / "det").mkdir()
    (folder / "gt").mkdir()
    np.savetxt(folder / "det" / "det.txt", _rows(n_frames), delimiter=",", fmt="%.6g")
    np.savetxt(folder / "gt" / "gt.txt", _rows(n_frames, 2), delimiter=",", fmt="%.6g")
    return folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stride1", "the stride must be 2-100"),
        ("miss0", "the missed percentage must be 1-99"),
        ("miss100", "the missed percentage must be 1-99"),
        ("jitter0", "the jitter must be 1-100"),
        ("scoredown0", "the score shift must be 1-100"),
        ("scoreup101", "the score shift must be 1-100"),
        ("scale100", "the scale must be 10-400"),
        ("scale9", "the scale must be 10-400"),
        ("blur3", "expected strideK, missP, jitterP, scoredownD, scoreupD or scaleP"),
        ("stride", "expected strideK, missP, jitterP, scoredownD, scoreupD or scaleP"),
    ],
)
def test_bad_shifts_are_refused_with_the_reason(shift, text, message):
    with pytest.raises(ValueError, match=message):
        shift.parse_shift(text)
    assert shift.parse_shift("stride3") == ("stride", 3)
    assert shift.shift_name("stride02") == "stride2"  # one folder, column and draw per shift


def test_stride_keeps_every_kth_frame_renumbered(shift):
    det, gt = _rows(10), _rows(10, 2)
    d, g = shift.shift_rows(det, gt, "stride", 3, np.random.default_rng(0))
    assert sorted(set(d[:, 0])) == [1, 2, 3, 4]  # frames 1, 4, 7, 10
    np.testing.assert_array_equal(d[d[:, 0] == 2], np.c_[np.full(3, 2), det[det[:, 0] == 4][:, 1:]])
    np.testing.assert_array_equal(g[g[:, 0] == 4][:, 1:], gt[gt[:, 0] == 10][:, 1:])
    assert len(g) == 8


def test_miss_drops_about_that_share_of_detections_and_keeps_the_ground_truth(shift):
    det, gt = _rows(1000), _rows(10, 2)
    d, g = shift.shift_rows(det, gt, "miss", 20, np.random.default_rng(0))
    assert 0.17 < 1 - len(d) / len(det) < 0.23
    np.testing.assert_array_equal(g, gt)
    assert len({tuple(r) for r in d} - {tuple(r) for r in det}) == 0  # rows removed, never changed


def test_jitter_moves_boxes_by_the_asked_share_of_their_height(shift):
    det = _rows(2000, 1)
    d, g = shift.shift_rows(det, det, "jitter", 5, np.random.default_rng(0))
    np.testing.assert_array_equal(g, det)
    np.testing.assert_array_equal(d[:, [0, 1, 6]], det[:, [0, 1, 6]])
    dcx = (d[:, 2] + d[:, 4] / 2) - (det[:, 2] + det[:, 4] / 2)
    assert abs(dcx.std() / 100 - 0.05) < 0.005  # heights are 100 px
    assert abs(np.log(d[:, 5] / det[:, 5]).std() - 0.05) < 0.005


def test_score_shifts_move_every_score_on_the_logit_scale_and_nothing_else(shift):
    det = _rows(4, 3)
    det[:, 6] = np.tile([0.5, 0.9, 1.0], 4)  # 1.0 has no logit: it is taken as just under 1
    down, g = shift.shift_rows(det, det, "scoredown", 10, np.random.default_rng(0))
    up, _ = shift.shift_rows(det, det, "scoreup", 10, np.random.default_rng(0))
    np.testing.assert_array_equal(g, det)
    np.testing.assert_array_equal(np.delete(down, 6, axis=1), np.delete(det, 6, axis=1))
    e = np.e
    np.testing.assert_allclose(down[:3, 6], [1 / (1 + e), 9 / (9 + e), 1.0], atol=1e-5)  # logit - 1
    np.testing.assert_allclose(up[:3, 6], [e / (1 + e), 9 * e / (9 * e + 1), 1.0], atol=1e-5)  # logit + 1
    assert (np.diff(down[:3, 6]) > 0).all()  # the order of the scores is kept
    raw = det.copy()
    raw[:, 6] = np.tile([-1.2, 0.3, 2.5], 4)  # raw detector scores (MOT17's DPM): they would merge at the clip
    with pytest.raises(ValueError, match=r"scores run from -1.2 to 2.5: a logit shift needs confidences in \[0, 1\]"):
        shift.shift_rows(raw, det, "scoreup", 10, np.random.default_rng(0))
    raw[0, 6] = np.nan
    with pytest.raises(ValueError, match="a logit shift needs confidences"):
        shift.shift_rows(raw, det, "scoredown", 10, np.random.default_rng(0))


def test_scale_resizes_boxes_ground_truth_and_image_alike(shift, tmp_path):
    src = _sequence(tmp_path / "SEQ-1", n_frames=4)
    out = shift.make_shifted(src, "scale50", tmp_path / "out" / "SEQ-1")
    info = read_seqinfo(out / "seqinfo.ini")
    assert (info.im_width, info.im_height, info.seq_length, info.frame_rate) == (320, 240, 4, 30.0)
    for part in ("det/det.txt", "gt/gt.txt"):
        before, after = np.loadtxt(src / part, delimiter=","), np.loadtxt(out / part, delimiter=",")
        np.testing.assert_allclose(after[:, 2:6], before[:, 2:6] / 2)
        np.testing.assert_array_equal(np.delete(after, [2, 3, 4, 5], axis=1), np.delete(before, [2, 3, 4, 5], axis=1))


def test_shifted_sequence_is_a_motchallenge_folder_repeatable_by_seed(shift, tmp_path):
    src = _sequence(tmp_path / "SEQ-1", n_frames=10, fps=30.0)
    out = shift.make_shifted(src, "stride3", tmp_path / "out" / "SEQ-1")
    info = read_seqinfo(out / "seqinfo.ini")
    assert (info.frame_rate, info.seq_length, info.im_width, info.video) == (10.0, 4, 640, None)
    a = shift.make_shifted(src, "miss50", tmp_path / "a" / "SEQ-1", seed=0)
    b = shift.make_shifted(src, "miss50", tmp_path / "b" / "SEQ-1", seed=0)
    c = shift.make_shifted(src, "miss50", tmp_path / "c" / "SEQ-1", seed=1)
    text = [(p / "det" / "det.txt").read_text() for p in (a, b, c)]
    assert text[0] == text[1] and text[0] != text[2]


def test_command_line_refuses_bad_input_before_tracking(shift, tmp_path, capsys):
    assert shift.main(["--data", str(tmp_path), "--shifts", "stride1"]) == 1
    assert "--shifts stride1: the stride must be 2-100" in capsys.readouterr().err
    assert shift.main(["--data", str(tmp_path), "--sequences", "NOPE"]) == 1
    assert f"{tmp_path}: no MOT15 sequence NOPE there" in capsys.readouterr().err


def test_an_empty_detection_file_stays_empty(shift, tmp_path):
    src = _sequence(tmp_path / "SEQ-1")
    (src / "det" / "det.txt").write_text("")
    for name in ("jitter5", "miss20", "stride2"):
        out = shift.make_shifted(src, name, tmp_path / name / "SEQ-1")
        assert (out / "det" / "det.txt").read_text() == ""


def test_the_source_is_never_overwritten(shift, tmp_path, capsys):
    src = _sequence(tmp_path / "data" / "SEQ-1")
    before = (src / "det" / "det.txt").read_text()
    with pytest.raises(ValueError, match="would overwrite its source"):
        shift.make_shifted(src, "miss20", src)
    data = str(tmp_path / "data")
    # a path instead of a name would put the copy where the name points (Path / "/abs" is "/abs")
    assert shift.main(["--data", data, "--sequences", str(src), "--shifts", "miss20"]) == 1
    assert "give sequence names (folders of --data), not paths" in capsys.readouterr().err
    assert shift.main(["--data", data, "--sequences", "../data/SEQ-1"]) == 1
    # --data where the script writes that shift's copies
    work = tmp_path / "w"
    (work / "sequences").mkdir(parents=True)
    (work / "sequences" / "miss20").symlink_to(tmp_path / "data")
    assert shift.main(["--data", data, "--work", str(work), "--sequences", "SEQ-1", "--shifts", "miss20"]) == 1
    assert "is where the miss20 copies are written" in capsys.readouterr().err
    assert (src / "det" / "det.txt").read_text() == before
    assert shift.main(["--data", data, "--seed", "-1"]) == 1
    assert "--seed -1: must be >= 0" in capsys.readouterr().err
    assert shift.main(["--data", str(tmp_path / "nowhere")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_grid_compares_mctrack_settings_across_conditions(shift, tmp_path, capsys):
    import json

    _sequence(tmp_path / "data" / "SEQ-1", n_frames=30)
    out = tmp_path / "new" / "summary.json"  # folders that do not exist yet are made, as --work's
    argv = ["--data", str(tmp_path / "data"), "--work", str(tmp_path / "w"), "--sequences", "SEQ-1"]
    argv += ["--shifts", "miss20", "--grid", "min_length_s=0,100", "--json", str(out)]
    assert shift.main(argv) == 0
    summary = json.loads(out.read_text())
    assert summary["conditions"] == ["original", "miss20"]
    kept, dropped = "mctrack min_length_s=0.0", "mctrack min_length_s=100.0"
    assert set(summary["combined"]) == {kept, dropped}  # no BoxMOT peers unless --trackers asks for them
    # the setting reaches the tracker's offline judgement: tracks shorter than 100 s are all dropped
    assert summary["combined"][dropped]["original"]["HOTA"] == 0.0
    assert summary["combined"][kept]["original"]["HOTA"] > 0.5
    for name, by_cond in summary["combined"].items():
        mean = np.mean([by_cond[c]["IDF1"] for c in summary["conditions"]])
        assert summary["mean"][name]["IDF1"] == pytest.approx(mean)
    printed = capsys.readouterr().out
    assert f"highest mean HOTA over the conditions: {kept}" in printed
    assert (tmp_path / "w" / "results" / "miss20" / "mctrack_min_length_s=100.0" / "SEQ-1.txt").is_file()


def test_grid_refuses_a_bad_setting_before_tracking(shift, tmp_path, capsys):
    _sequence(tmp_path / "data" / "SEQ-1")
    argv = ["--data", str(tmp_path / "data"), "--work", str(tmp_path / "w"), "--sequences", "SEQ-1"]
    with pytest.raises(SystemExit, match="--grid nope: not a setting here"):
        shift.main([*argv, "--grid", "nope=1"])
    with pytest.raises(ValueError, match="min_hits"):
        shift.main([*argv, "--grid", "min_hits=0,2"])
    # settings that cannot matter on motion-only copies without images would rank identical or failing rows
    for key in ("appearance_weight=0.2,0.8", "cmc=off,on"):
        assert shift.main([*argv, "--grid", key]) == 1
        assert "tracked motion only, without images" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
    assert shift.main([*argv, "--json", str(tmp_path / "data")]) == 1
    assert "is a folder, not a file" in capsys.readouterr().err


def test_online_runs_every_condition_unrefined_with_mctrack_live_rules(shift, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    _sequence(data / "SEQ-1", n_frames=6)
    seen = []

    def compare(folder, seqs, peers, out, *, settings=None, label="mctrack", **kwargs):
        seen.append((out, settings, kwargs))
        return [], []

    monkeypatch.setattr(shift, "compare", compare)
    base = ["--data", str(data), "--sequences", "SEQ-1", "--shifts", "miss20", "--work", str(tmp_path / "w")]
    assert shift.main([*base, "--online", "--grid", "min_hits=1"]) == 0
    assert [out.relative_to(tmp_path / "w").as_posix() for out, _, _ in seen] == [
        "results_online/original",
        "results_online/miss20",
    ]
    for _, settings, kwargs in seen:  # the online rules, the grid's setting on top; no refinement for anyone
        assert settings == {"min_hits": 1, "backfill": False, "track_score": "first", "min_length_s": 0.0}
        assert (kwargs["interpolate"], kwargs["smooth"]) == (0, 0.0)
    assert "online: no interpolation or smoothing for anyone" in capsys.readouterr().out
    seen.clear()
    assert shift.main(base) == 0  # recorded: the defaults' refinement, results apart
    assert seen[0][0].relative_to(tmp_path / "w").as_posix() == "results/original" and seen[0][2] == {}
