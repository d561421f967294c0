"""MOTChallenge protocols (``--benchmark``): MOT16/17/20 ground truth with class ids scored as TrackEval scores it."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from mctrack.cli import main as cli_main
from mctrack.errors import InputError
from mctrack.eval.mot import evaluate_folder_sequences, evaluate_sequence, resolve_benchmark, scored_ground_truth
from mctrack.eval.multicam import evaluate_multicam
from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo

LENGTH = 40
# MOTChallenge class ids: 1 pedestrian, 2 person on vehicle, 3 car, 6 non-motorised vehicle, 7 static person,
# 8 distractor, 9 occluder, 12 reflection
CLASSES = [1, 1, 1, 1, 1, 2, 3, 6, 7, 8, 9, 12]


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth with every kind of row TrackEval's MOT17/MOT20 preprocessing treats apart (pedestrians, each
    distractor class, other classes, rows marked 0), and a result that covers most of them with
    noisy boxes, switched ids and misses, plus false positives."""
    rng = np.random.default_rng(seed)
    gt, pred = [], []
    for k, cls in enumerate(CLASSES):
        x0, y0, vx = 60.0 * k, rng.uniform(20, 200), rng.uniform(-2, 2)
        start, end = sorted(rng.choice(np.arange(1, LENGTH + 1), 2, replace=False))
        for f in range(start, end + 1):
            conf = 1.0 if cls != 1 else rng.choice([1.0, 1.0, 1.0, 0.0])
            box = [x0 + vx * (f - start), y0, 30.0, 80.0]
            gt.append([f, k + 1, *box, conf, cls, rng.uniform(0, 1), -1])
            if rng.random() < 0.85:  # the tracker's box: noisy, its id switching now and then
                tid = 100 + k + 50 * (rng.random() < 0.1)
                jitter = rng.normal(0, 3, 2)
                pred.append([f, tid, box[0] + jitter[0], box[1] + jitter[1], 30.0, 80.0, 1.0, -1, -1, -1])
    for f in range(1, LENGTH + 1, 3):  # false positives far from everyone
        pred.append([f, 999, 900.0, 400.0, 30.0, 80.0, 1.0, -1, -1, -1])
    return np.array(gt), np.array(pred)


def _trackeval(tmp_path, sequences: dict[str, tuple[np.ndarray, np.ndarray]], benchmark: str) -> dict:
    """TrackEval's own MotChallenge2DBox run (HOTA, CLEAR, Identity) over ``{sequence: (gt, pred)}``."""
    te = pytest.importorskip("trackeval")
    gt_dir, trackers = tmp_path / "te_gt", tmp_path / "te_trackers"
    for seq, (gt, pred) in sequences.items():
        save_mot_txt(gt_dir / seq / "gt" / "gt.txt", gt)
        write_seqinfo(gt_dir / seq / "seqinfo.ini", SeqInfo(seq, 25, LENGTH, 1280, 720))
        save_mot_txt(trackers / "ours" / "data" / f"{seq}.txt", pred)
    eval_config = te.Evaluator.get_default_eval_config()
    eval_config.update(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False, OUTPUT_SUMMARY=False)
    eval_config.update(OUTPUT_DETAILED=False, PLOT_CURVES=False, TIME_PROGRESS=False, DISPLAY_LESS_PROGRESS=True)
    data_config = te.datasets.MotChallenge2DBox.get_default_dataset_config()
    data_config.update(GT_FOLDER=str(gt_dir), TRACKERS_FOLDER=str(trackers), BENCHMARK=benchmark, PRINT_CONFIG=False)
    data_config.update(SKIP_SPLIT_FOL=True, SEQ_INFO={seq: LENGTH for seq in sequences}, TRACKERS_TO_EVAL=["ours"])
    with contextlib.redirect_stdout(io.StringIO()):
        result, messages = te.Evaluator(eval_config).evaluate(
            [te.datasets.MotChallenge2DBox(data_config)],
            [te.metrics.HOTA(), te.metrics.CLEAR(), te.metrics.Identity()],
        )
    assert messages["MotChallenge2DBox"]["ours"] == "Success"
    return {seq: r["pedestrian"] for seq, r in result["MotChallenge2DBox"]["ours"].items()}


def _ours(tmp_path, sequences: dict[str, tuple[np.ndarray, np.ndarray]], **options) -> dict:
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    for seq, (gt, pred) in sequences.items():
        save_mot_txt(gt_dir / seq / "gt" / "gt.txt", gt)
        write_seqinfo(gt_dir / seq / "seqinfo.ini", SeqInfo(seq, 25, LENGTH, 1280, 720))
        save_mot_txt(pred_dir / f"{seq}.txt", pred)
    return evaluate_folder_sequences(gt_dir, pred_dir, **options)


def _assert_same(ours: dict, theirs: dict) -> None:
    s = ours["summary"]
    assert s["HOTA"] == pytest.approx(np.mean(theirs["HOTA"]["HOTA"]))
    assert s["DetA"] == pytest.approx(np.mean(theirs["HOTA"]["DetA"]))
    assert s["AssA"] == pytest.approx(np.mean(theirs["HOTA"]["AssA"]))
    assert s["MOTA"] == pytest.approx(theirs["CLEAR"]["MOTA"])
    assert (s["FP"], s["FN"], s["IDSW"]) == (
        theirs["CLEAR"]["CLR_FP"],
        theirs["CLEAR"]["CLR_FN"],
        theirs["CLEAR"]["IDSW"],
    )
    assert s["IDF1"] == pytest.approx(theirs["Identity"]["IDF1"])


@pytest.mark.parametrize(("benchmark", "seq"), [("MOT17", "MOT17-02-FRCNN"), ("MOT20", "MOT20-01")])
def test_mot17_and_mot20_ground_truth_score_as_in_trackeval(tmp_path, benchmark, seq):
    sequences = {seq: _scene(0), seq.replace("-0", "-1", 1): _scene(1)}
    theirs = _trackeval(tmp_path, sequences, benchmark)
    ours = _ours(tmp_path, sequences)  # auto: the class ids (and the MOT20 name) choose the protocol
    for name, result in ours.items():
        assert result["benchmark"] == benchmark
        _assert_same(result, theirs[name])
        assert result["removed_tracker_dets"] > 0  # boxes on distractors were in the result, and are not counted
    # what it was scored as before: every class a person to find, and other numbers
    mot15 = _ours(tmp_path / "as15", sequences, benchmark="MOT15")
    for name, result in ours.items():
        assert mot15[name]["summary"]["GT_Dets"] > result["summary"]["GT_Dets"]
        assert mot15[name]["summary"]["MOTA"] != pytest.approx(result["summary"]["MOTA"])


def test_mot20_counts_non_motorised_vehicles_as_distractors_and_mot17_does_not():
    gt, pred = _scene(2)
    vehicle = gt[:, 7] == 6
    covered = pred[np.isin(pred[:, 1], 100 + gt[vehicle, 1] - 1)]  # the result's boxes on the vehicle
    assert len(covered)
    mot17 = evaluate_sequence(gt, pred, LENGTH, benchmark="MOT17")
    mot20 = evaluate_sequence(gt, pred, LENGTH, benchmark="MOT20")
    assert mot20["removed_tracker_dets"] > mot17["removed_tracker_dets"]
    assert mot20["summary"]["FP"] < mot17["summary"]["FP"]


def test_mot15_ground_truth_scores_as_in_trackeval_and_conf_fractions_are_counted_with_a_warning(tmp_path, caplog):
    gt, pred = _scene(3)
    gt[:, 7:] = -1  # MOT15: no classes, so every row counts but those marked 0
    sequences = {"TUD-Test": (gt, pred)}
    theirs = _trackeval(tmp_path / "te", sequences, "MOT15")
    ours = _ours(tmp_path / "ours", sequences)
    assert ours["TUD-Test"]["benchmark"] == "MOT15" and ours["TUD-Test"]["removed_tracker_dets"] == 0
    _assert_same(ours["TUD-Test"], theirs["TUD-Test"])
    # a conf of 0.9 (a file that put a score there) counts here, and the difference from TrackEval, which reads the
    # column as an integer and ignores the row, is said
    gt[(gt[:, 6] == 1) & (gt[:, 1] % 2 == 0), 6] = 0.9
    theirs = _trackeval(tmp_path / "te_fraction", {"TUD-Test": (gt, pred)}, "MOT15")["TUD-Test"]
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        ours = _ours(tmp_path / "fraction", {"TUD-Test": (gt, pred)})["TUD-Test"]["summary"]
    n = int((gt[:, 6] == 0.9).sum())
    assert ours["GT_Dets"] == int((gt[:, 6] != 0).sum()) == theirs["CLEAR"]["CLR_TP"] + theirs["CLEAR"]["CLR_FN"] + n
    assert f"{n} of its {len(gt)} rows have a conf between 0 and 1 (e.g. 0.9)" in caplog.text
    assert "TrackEval reads the column as an integer and ignores them" in caplog.text


def test_auto_keeps_mot15_where_column_8_holds_no_classes_or_only_pedestrians():
    gt, _ = _scene(4)
    assert resolve_benchmark("auto", gt, "MOT17-04-SDP") == "MOT17"
    assert resolve_benchmark("auto", gt, "MOT20-02") == "MOT20"  # the sequence's name, as MOTChallenge writes it
    assert resolve_benchmark("auto", gt, "mot20-02") == resolve_benchmark("auto", gt, "MOT2020_runs") == "MOT17"
    world = gt.copy()
    world[:, 7] = np.linspace(-6.5, 10.1, len(gt))  # MOT15's world coordinates (PETS09-S2L1, TUD-Stadtmitte)
    assert resolve_benchmark("auto", world, "MOT20-02") == "MOT15"
    walkers = gt.copy()
    walkers[:, 7] = 1  # only pedestrians: both protocols agree; MOT15's is named
    assert resolve_benchmark("auto", walkers, "MOT17-04") == "MOT15"
    assert resolve_benchmark("auto", gt[:, :7], "x") == "MOT15"  # no column 8 at all
    assert resolve_benchmark("auto", np.zeros((0, 10)), "x") == "MOT15"
    # under MOT17, only the pedestrians not marked 0 are people to find
    mask = scored_ground_truth(gt, benchmark="MOT17")
    assert np.array_equal(mask, (gt[:, 7] == 1) & (np.trunc(gt[:, 6]) != 0))
    assert np.array_equal(scored_ground_truth(gt, keep_zero_marked=True, benchmark="MOT17"), gt[:, 7] == 1)
    with pytest.raises(ValueError, match="resolve 'auto' first"):
        scored_ground_truth(gt, benchmark="auto")
    with pytest.raises(ValueError, match="one of auto, MOT15"):
        resolve_benchmark("MOT18", gt, "x")


def test_a_folder_named_like_mot20_above_the_sequences_does_not_make_them_mot20(tmp_path):
    sequences = {"MOT17-02-FRCNN": _scene(9)}
    ours = _ours(tmp_path / "MOT20_vs_MOT17", sequences)
    assert ours["MOT17-02-FRCNN"]["benchmark"] == "MOT17"
    gt, pred = sequences["MOT17-02-FRCNN"]
    named = evaluate_sequence(gt, pred, LENGTH, gt_name=str(tmp_path / "MOT20-03" / "gt" / "gt.txt"))
    assert named["benchmark"] == "MOT20"  # the library call takes the sequence from the ground truth's path


def test_ties_are_broken_in_the_files_row_order_as_trackeval_breaks_them(tmp_path):
    """A pedestrian and a distractor with the same box, the distractor's row first in the file (helper-89): which
    of the two the result's box is matched to decides whether it is removed; TrackEval takes the rows as the file
    gives them. So do we now (the rows used to be sorted by id first)."""
    gt = np.array([[f, i, 100, 100, 40, 100, 1, c, 1, -1] for f in range(1, LENGTH + 1) for i, c in ((9, 7), (2, 1))])
    pred = np.array([[f, 5, 100, 100, 40, 100, 1, -1, -1, -1] for f in range(1, LENGTH + 1)])
    tied = np.array([[f, t, 300, 100, 40, 100, 1, -1, -1, -1] for f in range(1, LENGTH + 1) for t in (8, 3)])
    gt = np.r_[gt, [[f, 4, 300, 100, 40, 100, 1, 1, 1, -1] for f in range(1, LENGTH + 1)]]
    sequences = {"MOT17-05-SDP": (gt, np.r_[pred, tied])}
    theirs = _trackeval(tmp_path, sequences, "MOT17")
    _assert_same(_ours(tmp_path, sequences)["MOT17-05-SDP"], theirs["MOT17-05-SDP"])


def test_one_id_twice_in_a_frame_across_classes_is_refused_as_trackeval_refuses_it(tmp_path):
    gt, pred = _scene(10)
    walker = gt[gt[:, 7] == 1][0].copy()
    walker[7] = 7  # the same id in the same frame, once as a static person
    walker[2] += 300
    with pytest.raises(InputError, match=r"id \d+ repeated within frame"):
        _ours(tmp_path, {"MOT17-10-DPM": (np.r_[gt, [walker]], pred)})


def test_stray_values_among_class_ids_are_warned_about(tmp_path, caplog):
    gt, pred = _scene(11)
    stray = gt.copy()
    stray[:3, 7] = 0  # no class id: the file cannot be scored under MOT17's protocol
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        ours = _ours(tmp_path / "stray", {"MOT17-11-SDP": (stray, pred)})
    assert ours["MOT17-11-SDP"]["benchmark"] == "MOT15"
    assert "values that are no class id in 3 (e.g. 0): scored under the MOT15 protocol" in caplog.text
    caplog.clear()
    crowd = gt.copy()
    crowd[crowd[:, 7] == 9, 7] = 13  # a crowd (13): a class id too
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        _ours(tmp_path / "crowd", {"MOT17-12-SDP": (crowd, pred)}, benchmark="MOT15")
    assert "carry MOTChallenge class ids other than pedestrian (2-13)" in caplog.text


def test_a_sequence_with_no_one_to_find_has_trackevals_mota_of_0(tmp_path):
    gt, pred = _scene(12)
    gt = gt[gt[:, 7] != 1]  # no pedestrian: nothing to find under MOT17's protocol
    sequences = {"MOT17-14-FRCNN": (gt, pred), "MOT17-15-FRCNN": _scene(13)}
    theirs = _trackeval(tmp_path, sequences, "MOT17")
    ours = _ours(tmp_path, sequences)
    assert ours["MOT17-14-FRCNN"]["summary"]["GT_Dets"] == 0 and ours["MOT17-14-FRCNN"]["summary"]["FP"] > 0
    for name in sequences:
        _assert_same(ours[name], theirs[name])


def test_asking_for_mot17_on_ground_truth_without_classes_names_the_file(tmp_path, capsys):
    gt, pred = _scene(5)
    gt[:, 7] = np.linspace(-6.5, 10.1, len(gt))  # world coordinates, not classes
    ours = _ours(tmp_path, {"PETS-Test": (gt, pred)})  # auto: MOT15, fine
    assert ours["PETS-Test"]["benchmark"] == "MOT15"
    with pytest.raises(InputError, match=r"gt\.txt: the MOT17 protocol needs MOTChallenge class ids \(1-13\)"):
        evaluate_folder_sequences(tmp_path / "gt", tmp_path / "pred", benchmark="MOT17")
    argv = ["eval", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--benchmark", "MOT17"]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PETS-Test/gt/gt.txt: the MOT17 protocol needs" in err[0] and "e.g. -6.5" in err[0]


def test_cli_says_and_records_the_protocol_and_mot15_on_mot17_ground_truth_is_warned_about(tmp_path, capsys, caplog):
    sequences = {"MOT17-09-DPM": _scene(6)}
    _ours(tmp_path, sequences)
    out_json = tmp_path / "m.json"
    argv = ["eval", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--json", str(out_json)]
    with caplog.at_level("INFO", logger="mctrack.eval.mot"):
        assert cli_main(argv) == 0
    assert (
        "scored under TrackEval's MOT17 protocol" in caplog.text
        and "box(es) of the result on a distractor not counted" in caplog.text
    )
    entry = json.loads(out_json.read_text())["MOT17-09-DPM"]
    assert entry["benchmark"] == "MOT17" and entry["removed_tracker_dets"] > 0
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert cli_main([*argv, "--benchmark", "MOT15"]) == 0
    assert "the MOT15 protocol, as asked, scores those as people" in caplog.text
    assert json.loads(out_json.read_text())["MOT17-09-DPM"]["benchmark"] == "MOT15"


def test_multicam_scores_every_camera_and_the_cross_camera_row_under_one_protocol():
    gt_a, pred_a = _scene(7)
    gt_b, pred_b = _scene(8)
    gt_b[:, 1] += 20  # people of camera b are others
    pred_b[:, 1] += 2000
    auto = evaluate_multicam({"a": gt_a, "b": gt_b}, {"a": pred_a, "b": pred_b}, {"a": LENGTH, "b": LENGTH})
    assert auto["protocol"]["benchmark"] == "MOT17"
    alone = evaluate_sequence(gt_a, pred_a, LENGTH, benchmark="MOT17")["summary"]
    assert auto["per_camera"]["a"]["FP"] == alone["FP"] and auto["per_camera"]["a"]["IDF1"] == alone["IDF1"]
    as15 = evaluate_multicam(
        {"a": gt_a, "b": gt_b}, {"a": pred_a, "b": pred_b}, {"a": LENGTH, "b": LENGTH}, benchmark="MOT15"
    )
    assert as15["cross_camera"]["GT_Dets"] > auto["cross_camera"]["GT_Dets"]  # every class a person to find
    assert auto["cross_camera"]["GT_Dets"] == sum(auto["per_camera"][c]["GT_Dets"] for c in "ab")
    gt_b[:, 7] = -1  # camera b: MOT15-style ground truth
    with pytest.raises(InputError, match="camera b: the MOT17 protocol needs"):
        evaluate_multicam({"a": gt_a, "b": gt_b}, {"a": pred_a}, {"a": LENGTH, "b": LENGTH}, benchmark="MOT17")
    # auto: camera a's classes make it MOT17's protocol for the set (it used to fall back to MOT15's for all, with
    # no word: helper-89), and camera b's rows are all people to find, as MOT15's protocol counts them
    mixed = evaluate_multicam({"a": gt_a, "b": gt_b}, {"a": pred_a, "b": pred_b}, {"a": LENGTH, "b": LENGTH})
    assert mixed["protocol"]["benchmark"] == "MOT17"
    assert mixed["per_camera"]["a"] == auto["per_camera"]["a"]
    b_alone = evaluate_sequence(gt_b, pred_b, LENGTH, benchmark="MOT15")["summary"]
    assert (
        mixed["per_camera"]["b"]["GT_Dets"] == b_alone["GT_Dets"]
        and mixed["per_camera"]["b"]["IDF1"] == b_alone["IDF1"]
    )


def test_eval_hints_for_a_benchmarks_root_and_a_folder_of_result_folders(tmp_path, capsys):
    sequences = {"MOT17-02-FRCNN": _scene(14)}
    _ours(tmp_path / "MOT17" / "train", sequences)  # MOT17/train/gt/<seq>, MOT17/train/pred/<seq>.txt
    root, runs = tmp_path / "MOT17" / "train", tmp_path / "MOT17" / "train"
    gt_dir = root / "gt"
    assert cli_main(["eval", "--gt", str(root), "--pred", str(runs / "pred")]) == 1  # the folder above the sequences
    assert f"its folder gt holds them: give {gt_dir}" in capsys.readouterr().err
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(runs)]) == 1  # RUNS, above RUNS/<tracker>/
    assert f"a results folder each, {runs / 'pred'}, holds it: give --pred one of those" in capsys.readouterr().err
    out_json = tmp_path / "m.json"
    argv = ["eval", "--gt", str(gt_dir), "--pred", str(runs / "pred"), "--benchmark", "mot20", "--json", str(out_json)]
    assert cli_main(argv) == 0  # any case
    combined = json.loads(out_json.read_text())["COMBINED"]
    assert combined["benchmark"] == "MOT20" and combined["removed_tracker_dets"] > 0


def test_cli_records_the_combined_protocol_and_every_removed_box(tmp_path):
    sequences = {"MOT17-09-DPM": _scene(6), "MOT17-10-DPM": _scene(9)}
    ours = _ours(tmp_path, sequences)
    removed = [ours[name]["removed_tracker_dets"] for name in sequences]
    assert min(removed) > 0  # both sequences have boxes on distractors
    out_json = tmp_path / "m.json"
    argv = ["eval", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--json", str(out_json)]
    assert cli_main(argv) == 0
    combined = json.loads(out_json.read_text())["COMBINED"]
    assert combined["benchmark"] == "MOT17" and combined["removed_tracker_dets"] == sum(removed)
    gt, pred = _scene(10)
    gt[:, 7] = -1  # no class ids: MOT15's protocol
    _ours(tmp_path, {"PETS-Test": (gt, pred)})
    assert cli_main(argv) == 0
    saved = json.loads(out_json.read_text())
    assert saved["PETS-Test"]["benchmark"] == "MOT15" and saved["PETS-Test"]["removed_tracker_dets"] == 0
    assert saved["COMBINED"]["benchmark"] == "mixed" and saved["COMBINED"]["removed_tracker_dets"] == sum(removed)
