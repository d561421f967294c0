from __future__ import annotations

import json

import numpy as np
import pytest

from mctrack.cli import main as cli_main
from mctrack.errors import InputError
from mctrack.eval.mot import (
    combine,
    coverage_runs,
    evaluate_folder_sequences,
    evaluate_folders,
    evaluate_sequence,
    format_table,
    hota,
    identities_json,
    identity,
    identity_matches,
    sequence_data,
)
from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo


def track_rows(track_id, frames, x0=10.0, step=5.0, w=20.0, h=50.0, conf=1.0):
    f = np.asarray(list(frames), float)
    n = len(f)
    return np.c_[
        f,
        np.full(n, track_id),
        x0 + step * (f - f[0]),
        np.full(n, 30.0),
        np.full(n, w),
        np.full(n, h),
        np.full(n, conf),
        -np.ones((n, 3)),
    ]


GT = np.r_[track_rows(1, range(1, 11)), track_rows(2, range(1, 11), x0=200.0)]


def test_perfect_prediction_scores_one():
    s = evaluate_sequence(GT, GT.copy(), 10)["summary"]
    for k in ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDP", "IDR"):
        assert s[k] == pytest.approx(1.0), k
    assert (s["IDSW"], s["FP"], s["FN"], s["MT"]) == (0, 0, 0, 2)


def test_one_track_split_in_two():
    gt = track_rows(1, range(1, 11))
    pred = gt.copy()
    pred[5:, 1] = 7  # the tracker switches to a new id half way
    s = evaluate_sequence(gt, pred, 10)["summary"]
    # IDF1: best one-to-one id map keeps 5 of 10 frames: IDTP 5, IDFP 5, IDFN 5 -> 5 / (5 + 2.5 + 2.5)
    assert s["IDF1"] == pytest.approx(0.5)
    # MOTA: (TP 10 - FP 0 - IDSW 1) / 10
    assert s["IDSW"] == 1 and s["MOTA"] == pytest.approx(0.9)
    # HOTA: DetA 1; each TP's association score 5 / (10 + 5 - 5) = 0.5 -> sqrt(1 * 0.5)
    assert s["DetA"] == pytest.approx(1.0) and s["AssA"] == pytest.approx(0.5)
    assert s["HOTA"] == pytest.approx(np.sqrt(0.5))


def test_missed_and_false_boxes():
    gt = track_rows(1, range(1, 5))
    pred = np.r_[gt[:2], track_rows(9, [3], x0=500.0)]  # 2 hits, 2 misses, 1 false box far away
    s = evaluate_sequence(gt, pred, 4)["summary"]
    assert (s["TP"], s["FN"], s["FP"]) == (2, 2, 1)
    assert s["MOTA"] == pytest.approx((2 - 1) / 4)
    assert s["IDF1"] == pytest.approx(2 / (2 + 0.5 * 1 + 0.5 * 2))


def test_low_iou_is_not_a_match():
    gt = track_rows(1, range(1, 3))
    pred = gt.copy()
    pred[:, 2] += 12  # 20-wide boxes shifted by 12: IoU 8 / 32 = 0.25 < 0.5
    s = evaluate_sequence(gt, pred, 2)["summary"]
    assert s["TP"] == 0 and s["FP"] == 2 and s["MOTA"] == pytest.approx(-1.0) and s["IDF1"] == 0.0
    assert 0 < s["HOTA"] < 0.5  # HOTA still credits the low-IoU localisation at alpha <= 0.25


def test_empty_prediction_and_zero_marked_gt():
    s = evaluate_sequence(GT, np.zeros((0, 10)), 10)["summary"]
    assert s["HOTA"] == 0 and s["FN"] == 20 and s["MOTA"] == 0
    gt = GT.copy()
    gt[:10, 6] = 0  # track 1 marked "do not consider"
    assert evaluate_sequence(gt, GT, 10)["summary"]["FP"] == 10  # TrackEval drops zero-marked GT
    assert evaluate_sequence(gt, GT, 10, keep_zero_marked=True)["summary"]["FP"] == 0


def test_repeated_tracker_id_rejected():
    pred = np.r_[GT[:1], GT[:1]]
    with pytest.raises(InputError, match="repeated"):
        evaluate_sequence(GT, pred, 10)


def test_combine_weights_by_sequence():
    a = evaluate_sequence(GT, GT, 10)
    b = evaluate_sequence(GT, np.zeros((0, 10)), 10)
    c = combine([a, b])["summary"]
    assert c["FN"] == 20 and c["TP"] == 20 and c["MOTA"] == pytest.approx(0.5)
    assert c["AssA"] == pytest.approx(1.0) and c["DetA"] == pytest.approx(0.5)


def _trackeval_input(d) -> dict:
    return dict(
        num_timesteps=d.num_timesteps,
        num_gt_ids=d.num_gt_ids,
        num_tracker_ids=d.num_tracker_ids,
        num_gt_dets=d.num_gt_dets,
        num_tracker_dets=d.num_tracker_dets,
        gt_ids=d.gt_ids,
        tracker_ids=d.tracker_ids,
        similarity_scores=d.similarity,
    )


def test_matches_trackeval_on_random_scene():
    te = pytest.importorskip("trackeval")
    rng = np.random.default_rng(3)
    gt = np.concatenate([track_rows(i, range(1, 31), x0=60.0 * i, step=rng.uniform(-3, 3)) for i in range(1, 6)])
    pred = gt.copy()
    pred[:, 2:4] += rng.normal(0, 4, (len(pred), 2))
    pred[:, 1] = np.where(rng.random(len(pred)) < 0.1, pred[:, 1] + 10, pred[:, 1])  # id noise
    pred = pred[rng.random(len(pred)) > 0.1]  # misses
    d = sequence_data(gt, pred, 30)
    data = _trackeval_input(d)
    ref_h = te.metrics.HOTA().eval_sequence(data)
    ref_c = te.metrics.CLEAR().eval_sequence(data)
    ref_i = te.metrics.Identity().eval_sequence(data)
    s = evaluate_sequence(gt, pred, 30)["summary"]
    assert s["HOTA"] == pytest.approx(np.mean(ref_h["HOTA"]))
    assert s["AssA"] == pytest.approx(np.mean(ref_h["AssA"]))
    assert s["MOTA"] == pytest.approx(ref_c["MOTA"]) and s["IDSW"] == ref_c["IDSW"]
    assert s["IDF1"] == pytest.approx(ref_i["IDF1"])
    np.testing.assert_allclose(hota(d)["HOTA_a"], ref_h["HOTA"])


def _coverage_scene(seed: int, length: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth of eight people and a result that covers each for a different share of their frames (from
    none to all, in runs with gaps: mostly lost, partly and mostly tracked, fragmented), with boxes off by a
    person-specific amount (localisation), ids that switch, and false positives."""
    rng = np.random.default_rng(seed)
    gt, pred = [], []
    for k, share in enumerate([0.0, 0.12, 0.25, 0.5, 0.7, 0.79, 0.85, 1.0]):
        start = int(rng.integers(1, 8))
        frames = np.arange(start, length + 1)
        x0, vx = 90.0 * k + 20, rng.uniform(-1.5, 1.5)
        kept = np.zeros(len(frames), bool)
        n = int(round(share * len(frames)))
        while kept.sum() < n:  # runs of 2-8 frames until the share is covered
            a = int(rng.integers(0, len(frames)))
            kept[a : a + int(rng.integers(2, 9))] = True
        kept[np.flatnonzero(kept)[n:]] = False
        shift = rng.uniform(0, 9)  # how far this person's boxes are off: IoU from 1 to about 0.5
        tid = 100 + k
        for f, keep in zip(frames, kept, strict=True):
            box = [x0 + vx * (f - start), 40.0 + 3 * k, 30.0, 80.0]
            gt.append([f, k + 1, *box, 1.0, -1, -1, -1])
            if keep:
                if rng.random() < 0.08:
                    tid += 50  # an id switch
                dx, dy = rng.normal(shift, 1.0, 2)
                pred.append([f, tid, box[0] + dx, box[1] + dy, 30.0, 80.0, 1.0, -1, -1, -1])
    for f in range(1, length + 1, 4):
        pred.append([f, 999, 1000.0, 300.0, 30.0, 80.0, 1.0, -1, -1, -1])
    return np.array(gt), np.array(pred)


def _assert_every_metric_as_trackeval(ours: dict, ref_h: dict, ref_c: dict, ref_i: dict) -> None:
    s, raw = ours["summary"], ours["raw"]
    for ours_key, key in (("HOTA_a", "HOTA"), ("DetA_a", "DetA"), ("AssA_a", "AssA"), ("DetRe", "DetRe")):
        np.testing.assert_allclose(raw["hota"][ours_key], ref_h[key], atol=1e-12, err_msg=key)
    for ours_key, key in (("DetPr", "DetPr"), ("AssRe_a", "AssRe"), ("AssPr_a", "AssPr"), ("LocA_a", "LocA")):
        np.testing.assert_allclose(raw["hota"][ours_key], ref_h[key], atol=1e-12, err_msg=key)
    for key in ("HOTA", "DetA", "AssA", "LocA"):
        assert s[key] == pytest.approx(np.mean(ref_h[key]), abs=1e-12), key
    for key in ("MOTA", "MOTP"):
        assert s[key] == pytest.approx(ref_c[key], abs=1e-12), key
    for key in ("CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag"):
        assert raw["clear"][key] == ref_c[key], key
    assert (s["TP"], s["FN"], s["FP"], s["MT"], s["ML"], s["Frag"]) == tuple(
        ref_c[k] for k in ("CLR_TP", "CLR_FN", "CLR_FP", "MT", "ML", "Frag")
    )
    for key in ("IDF1", "IDP", "IDR"):
        assert s[key] == pytest.approx(ref_i[key], abs=1e-12), key
    assert tuple(raw["identity"][k] for k in ("IDTP", "IDFN", "IDFP")) == tuple(
        ref_i[k] for k in ("IDTP", "IDFN", "IDFP")
    )


def test_every_metric_and_their_combination_match_trackeval_on_scenes_of_every_coverage():
    """Each figure TrackEval's HOTA, CLEAR and Identity give (detection/association recall and precision,
    localisation, MOTP, mostly tracked / partly / mostly lost at its 80% and 20% marks, fragmentations, ID
    precision and recall), per sequence and combined over sequences."""
    te = pytest.importorskip("trackeval")
    metrics = te.metrics.HOTA(), te.metrics.CLEAR(), te.metrics.Identity()
    ours, theirs = [], []
    for seed in range(4):
        gt, pred = _coverage_scene(seed)
        refs = [m.eval_sequence(_trackeval_input(sequence_data(gt, pred, 40))) for m in metrics]
        result = evaluate_sequence(gt, pred, 40)
        _assert_every_metric_as_trackeval(result, *refs)
        ours.append(result)
        theirs.append(refs)
    # the scenes reach every class of coverage, so that the thresholds are exercised on both sides
    assert all(r["raw"]["clear"][k] > 0 for r in ours for k in ("MT", "PT", "ML", "Frag"))
    combined = [m.combine_sequences({i: refs[j] for i, refs in enumerate(theirs)}) for j, m in enumerate(metrics)]
    _assert_every_metric_as_trackeval(combine(ours), *combined)


def make_layout(tmp_path, pred_rows):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", GT)
    write_seqinfo(gt_dir / "seqA" / "seqinfo.ini", SeqInfo("seqA", 10, 10, 640, 480))
    if pred_rows is not None:
        save_mot_txt(pred_dir / "seqA.txt", pred_rows)
    pred_dir.mkdir(parents=True, exist_ok=True)
    return gt_dir, pred_dir


def test_evaluate_folders_and_cli(tmp_path, capsys):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    m = evaluate_folders(gt_dir, pred_dir)
    assert set(m) == {"seqA", "COMBINED"} and m["COMBINED"]["IDF1"] == pytest.approx(1.0)
    out_json = tmp_path / "m.json"
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "HOTA" in text and "seqA" in text and "100.0" in text
    assert json.loads(out_json.read_text())["seqA"]["MOTA"] == pytest.approx(1.0)


def test_mot17_style_ground_truth_scored_under_mot15_is_warned_about(tmp_path, caplog):
    gt = GT.copy()
    gt[:, 7] = 1  # MOT16/17: column 8 is the class, 1 a pedestrian
    gt[gt[:, 1] == 2, 7] = 7  # a distractor (static person), scored as a person under the MOT15 protocol
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", gt)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        m = evaluate_folders(gt_dir, pred_dir, benchmark="MOT15")
    assert "carry MOTChallenge class ids other than pedestrian" in caplog.text
    assert m["seqA"]["IDF1"] == pytest.approx(1.0)  # the static person is someone to find, and found
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):  # auto: MOT17's protocol, nothing to warn about
        m = evaluate_folders(gt_dir, pred_dir)
    assert not caplog.records
    assert m["seqA"]["GT_Dets"] == 10 and m["seqA"]["FP"] == 0  # the box on the static person is not counted
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", GT)  # MOT15: -1 there
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir, benchmark="MOT15")
    assert not caplog.records


def test_a_result_file_that_matches_no_sequence_is_warned_about(tmp_path, caplog):
    gt_dir, pred_dir = make_layout(tmp_path, None)
    save_mot_txt(pred_dir / "seqa.txt", GT)  # misspelled: with missing_ok, seqA would be scored as empty unnoticed
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert evaluate_folders(gt_dir, pred_dir, missing_ok=True)["seqA"]["FN"] == 20
    assert "1 result file(s) match no sequence" in caplog.text and "seqa.txt" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):  # a chosen subset: other files are expected
        evaluate_folders(gt_dir, pred_dir, sequences=["seqA"], missing_ok=True)
    assert "match no sequence" not in caplog.text
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        "no result file: sequence seqA is scored as tracked with no box (--missing-ok)"
    ]
    # without missing_ok: the error names the option that scores it, and --sequences only where none was chosen
    # (helper-81: it said "use --sequences to evaluate a subset" to a user who had given --sequences)
    with pytest.raises(InputError, match=r"seqA.txt: result file not found for sequence seqA \(use --missing-ok"):
        evaluate_folders(gt_dir, pred_dir, sequences=["seqA"])
    with pytest.raises(InputError, match=r"\(use --sequences to evaluate a subset, or --missing-ok to score it"):
        evaluate_folders(gt_dir, pred_dir)


def test_a_sequence_without_its_ground_truth_but_with_a_result_is_an_error(tmp_path, caplog):
    """helper-74: its result file was called one that 'matches no sequence', and the pooled scores left it out
    (exit 0); TrackEval stops there."""
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    write_seqinfo(gt_dir / "seqB" / "seqinfo.ini", SeqInfo("seqB", 10, 10, 640, 480))  # no gt/gt.txt
    assert set(evaluate_folders(gt_dir, pred_dir)) == {"seqA", "COMBINED"}  # no result for it: not a scored one
    save_mot_txt(pred_dir / "seqB.txt", GT)
    with pytest.raises(InputError) as info:
        evaluate_folders(gt_dir, pred_dir)
    assert str(info.value).startswith(f"{gt_dir / 'seqB' / 'gt' / 'gt.txt'}: file not found (sequence seqB has")
    assert evaluate_folders(gt_dir, pred_dir, sequences=["seqA"])["COMBINED"]["IDF1"] == pytest.approx(1.0)


def test_sequence_names_and_trackeval_layout(tmp_path, caplog):
    """helper-74: --sequences seqA/ (tab completion) looked for seqA/.txt; ../x for a file outside --pred; a
    tracker folder in TrackEval's layout (<tracker>/data/<seq>.txt) got no hint; a run folder's aicity.txt was
    called a stray result."""
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    assert evaluate_folders(gt_dir, pred_dir, sequences=["seqA/"])["seqA"]["IDF1"] == pytest.approx(1.0)
    for bad in ("../gt/seqA", "..", "a/b"):
        with pytest.raises(InputError, match=r"sequences: .* is not a sequence name \(the name of a folder in "):
            evaluate_folders(gt_dir, pred_dir, sequences=[bad])
    tracker = tmp_path / "MyTracker"
    (tracker / "data").mkdir(parents=True)
    (pred_dir / "seqA.txt").rename(tracker / "data" / "seqA.txt")
    with pytest.raises(InputError, match=r"it is in .*data \(TrackEval's tracker layout\): give --pred .*data$"):
        evaluate_folders(gt_dir, tracker)
    # the trackers' folder above it (helper-86: a generic "not found" with the --missing-ok hint)
    with pytest.raises(InputError, match=r"TrackEval's trackers layout holds it in .*MyTracker.data: give --pred one"):
        evaluate_folders(gt_dir, tmp_path)
    (tracker / "data" / "seqA.txt").rename(pred_dir / "seqA.txt")
    save_mot_txt(pred_dir / "aicity.txt", GT)
    (pred_dir / "summary.json").write_text("{}")  # a `mctrack run` folder: aicity.txt is its own
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert "match no sequence" not in caplog.text


def test_ground_truth_scored_against_itself_says_why_it_is_below_100(tmp_path, caplog):
    """helper-74: the ground truth as a result scored MOTA 58.4 on ETH-Bahnhof without a word: its conf-0 rows are
    ignored in the ground truth and count as false positives in the result."""
    gt = GT.copy()
    gt[gt[:, 1] == 2, 6] = 0  # person 2 marked to ignore
    gt_dir, pred_dir = make_layout(tmp_path, gt)  # the ground truth itself as the result
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", gt)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        m = evaluate_folders(gt_dir, pred_dir)
    assert m["seqA"]["FP"] == 10 and m["seqA"]["MOTA"] < 1
    assert "10 of its 20 rows repeat boxes that" in caplog.text and "marks to ignore (conf 0)" in caplog.text
    caplog.clear()
    save_mot_txt(pred_dir / "seqA.txt", gt[gt[:, 6] != 0])  # without them: 100, and nothing to say
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert evaluate_folders(gt_dir, pred_dir)["seqA"]["MOTA"] == pytest.approx(1.0)
    assert "marks to ignore" not in caplog.text


def test_a_result_named_as_track_names_it_is_found(tmp_path):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    (gt_dir / "seqA").rename(gt_dir / "seq A")  # a folder with a space: mctrack track writes seq_A.txt
    (pred_dir / "seqA.txt").rename(pred_dir / "seq_A.txt")
    assert evaluate_folders(gt_dir, pred_dir)["seq A"]["IDF1"] == pytest.approx(1.0)


def test_missing_result_file(tmp_path, capsys, caplog):
    gt_dir, pred_dir = make_layout(tmp_path, None)
    with pytest.raises(InputError, match="seqA.txt"):
        evaluate_folders(gt_dir, pred_dir)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert evaluate_folders(gt_dir, pred_dir, missing_ok=True)["seqA"]["FN"] == 20
    assert f"{pred_dir / 'seqA.txt'}: no result file: sequence seqA is scored as tracked with no box" in caplog.text
    # the sequence folder given as the ground-truth folder: its parent is meant
    with pytest.raises(InputError, match=r"seqA: no sequences .*; this is a sequence folder: give its parent, "):
        evaluate_folders(gt_dir / "seqA", pred_dir)
    save_mot_txt(pred_dir / "seqA.txt", GT)
    with pytest.raises(InputError, match="seqA.txt: a file, not a results folder; give the folder that holds it"):
        evaluate_folders(gt_dir, pred_dir / "seqA.txt")
    (pred_dir / "seqA.txt").unlink()
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir)]) == 1
    assert "seqA.txt" in capsys.readouterr().err


def test_rows_after_the_sequence_end_are_an_error_as_in_trackeval(tmp_path, capsys):
    gt_dir, pred_dir = make_layout(tmp_path, np.r_[GT, track_rows(1, [25])])
    with pytest.raises(
        InputError, match=r"seqA.txt: 1 row in frames after seqLength 10 of .*seqinfo.ini \(first: frame 25"
    ):
        evaluate_folders(gt_dir, pred_dir)
    save_mot_txt(pred_dir / "seqA.txt", GT)
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", np.r_[GT, track_rows(3, range(11, 14))])
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir)]) == 1
    err = capsys.readouterr().err
    assert "gt.txt: 3 rows in frames after seqLength 10" in err and "\n" not in err.strip()


@pytest.mark.parametrize(
    "value, message",
    [
        ("-5", "seqLength must be >= 1"),
        ("ten", "seqLength must be a whole number, got 'ten'"),
        (None, "missing key seqLength"),
    ],
)
def test_impossible_seqinfo_values_are_an_error(tmp_path, value, message):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    ini = gt_dir / "seqA" / "seqinfo.ini"
    lines = ini.read_text().splitlines()
    ini.write_text(
        "\n".join(
            f"seqLength={value}" if line.startswith("seqLength=") else line
            for line in lines
            if value is not None or not line.startswith("seqLength=")
        )
    )
    with pytest.raises(InputError, match=f"seqinfo.ini: {message}"):
        evaluate_folders(gt_dir, pred_dir)


def test_evaluation_needs_only_the_sequence_length_from_seqinfo_as_trackeval(tmp_path):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    full = evaluate_folders(gt_dir, pred_dir)["seqA"]
    (gt_dir / "seqA" / "seqinfo.ini").write_text("[Sequence]\nname=seqA\nseqLength=10\n")  # no rate, no size
    assert evaluate_folders(gt_dir, pred_dir)["seqA"] == full


def test_a_sequence_listed_twice_is_an_error_not_counted_twice(tmp_path):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    with pytest.raises(InputError, match="seqA listed more than once"):
        evaluate_folders(gt_dir, pred_dir, sequences=["seqA", "seqA"])


def test_table_never_prints_negative_zero():
    m = {"HOTA": 0.1, "DetA": 0.1, "AssA": 0.1, "MOTA": -0.0003, "IDF1": 0.2, "IDSW": 1, "FP": 2, "FN": 3}
    row = format_table({"seq": m}).splitlines()[1].split()
    assert row[4] == "0.0" and row[5] == "20.0"
    m["MOTA"] = -0.25  # a genuinely negative MOTA keeps its sign
    assert format_table({"seq": m}).splitlines()[1].split()[4] == "-25.0"


@pytest.mark.parametrize(
    "gt_rows, why",
    [
        (np.zeros((0, 10)), "no rows"),
        (track_rows(1, range(1, 11), conf=0.0), "all 10 rows are marked 0 (conf) and ignored"),
    ],
)
def test_a_sequence_without_ground_truth_is_warned_about_once(tmp_path, caplog, capsys, gt_rows, why):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    gt_file = gt_dir / "seqA" / "gt" / "gt.txt"
    save_mot_txt(gt_file, gt_rows)  # an empty gt.txt (0 bytes) when there are no rows
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir)]) == 0
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and str(gt_file) in warned[0] and why in warned[0]
    assert "sequence seqA has no ground truth, its scores are meaningless" in warned[0]
    rows = capsys.readouterr().out.splitlines()[1:]
    # 20 false boxes, no truth: the sequence's MOTA is 0 as TrackEval gives it (its CLEAR stops before computing it;
    # test_mot_benchmarks.py checks that against TrackEval itself), the pooled row's -20
    assert [r.split()[4] for r in rows] == ["0.0", "-2000.0"]
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):  # counted when asked: ground truth to score
        evaluate_folders(gt_dir, pred_dir, keep_zero_marked=True)
    assert len(caplog.records) == (1 if not len(gt_rows) else 0)


def test_table_columns_never_run_together():
    m = {"HOTA": 0.0, "DetA": 0.0, "AssA": 0.0, "MOTA": -4101.0, "IDF1": 0.0, "IDSW": 0, "FP": 123456789, "FN": 0}
    row = format_table({"seq": m}).splitlines()[1]
    assert row.split() == ["seq", "0.0", "0.0", "0.0", "-410100.0", "0.0", "0", "123456789", "0"]
    normal = {"HOTA": 0.459, "DetA": 0.544, "AssA": 0.395, "MOTA": 0.734, "IDF1": 1.0, "IDSW": 44, "FP": 386, "FN": 0}
    assert format_table({"PETS09-S2L1": normal}).splitlines()[1] == (  # as before: 8 characters a column
        "PETS09-S2L1       45.9    54.4    39.5    73.4   100.0      44     386       0"
    )


def test_an_unknown_sequence_is_named_with_the_ones_there(tmp_path, capsys):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    with pytest.raises(InputError, match=r"gt: no sequence NOPE in this ground-truth folder \(sequences there: seqA\)"):
        evaluate_folders(gt_dir, pred_dir, sequences=["seqA", "NOPE"])
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--sequences", "NOPE"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no sequence NOPE" in err and "seqinfo.ini" not in err and "\n" not in err


@pytest.mark.parametrize("json_name", ["file.txt/m.json", "file.txt/deeper/m.json"])
def test_json_under_a_file_is_refused_before_scoring(tmp_path, capsys, monkeypatch, json_name):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    (tmp_path / "file.txt").write_text("x")
    monkeypatch.setattr("mctrack.commands.eval.evaluate_folder_sequences", lambda *a, **k: pytest.fail("scored"))
    out = tmp_path / json_name
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--json", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == f"mctrack eval: error: --json {out}: {tmp_path / 'file.txt'} is a file, not a folder"
    assert captured.out == ""


@pytest.mark.parametrize("which", ["gt", "pred"])
@pytest.mark.parametrize("column", [4, 5])
def test_negative_box_sizes_are_an_error_naming_file_and_line(tmp_path, capsys, which, column):
    bad = GT.copy()
    bad[3, column] = -20.0  # written in row order: line 4
    gt_dir, pred_dir = make_layout(tmp_path, bad if which == "pred" else GT)
    file = pred_dir / "seqA.txt" if which == "pred" else gt_dir / "seqA" / "gt" / "gt.txt"
    save_mot_txt(file, bad)
    with pytest.raises(InputError, match=r"line 4: box width and height must be >= 0, got -?20\.00 x -?\d"):
        evaluate_folders(gt_dir, pred_dir)
    assert cli_main(["eval", "--gt", str(gt_dir), "--pred", str(pred_dir)]) == 1
    assert f"{file}: line 4: box width and height must be >= 0" in capsys.readouterr().err
    zero = GT.copy()
    zero[3, column] = 0.0  # a box of no size is legal (it matches nothing), as in TrackEval
    save_mot_txt(file, zero)
    assert evaluate_folders(gt_dir, pred_dir)["seqA"]["TP"] == 20 - 1


def test_an_empty_result_file_is_scored_and_warned_about(tmp_path, caplog):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    pred_file = pred_dir / "seqA.txt"
    pred_file.write_text("")
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        result = evaluate_folders(gt_dir, pred_dir)
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [f"{pred_file}: no rows: sequence seqA is scored as tracked with no box"]
    assert result["seqA"]["MOTA"] == 0.0 and result["seqA"]["IDF1"] == 0.0


def test_a_result_file_written_as_corners_is_warned_about(tmp_path, caplog):
    # people over the whole 640 px frame; the same boxes written x1,y1,x2,y2 reach far beyond it on the right half
    gt = np.r_[track_rows(1, range(1, 11), x0=20.0, step=0.0), track_rows(2, range(1, 11), x0=400.0, step=0.0)]
    corners = gt.copy()
    corners[:, 4:6] += corners[:, 2:4]
    gt_dir, pred_dir = make_layout(tmp_path, corners)
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", gt)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        result = evaluate_folders(gt_dir, pred_dir)
    warned = [r.getMessage() for r in caplog.records]
    info = gt_dir / "seqA" / "seqinfo.ini"
    assert warned == [
        f"{pred_dir / 'seqA.txt'}: 50% of the boxes reach more than 10% beyond the 640x480 frame of {info} "
        "(ground truth: 0%): is the file written as x1,y1,x2,y2? MOTChallenge files hold left,top,width,height"
    ]
    assert result["seqA"]["IDF1"] < 1.0  # scored as written: a warning, not a correction
    caplog.clear()
    save_mot_txt(pred_dir / "seqA.txt", gt)  # the same boxes as left,top,width,height: nothing to say
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert evaluate_folders(gt_dir, pred_dir)["seqA"]["IDF1"] == pytest.approx(1.0)
    assert caplog.records == []
    # the size written as whole-number floats is the same size; a "%" in a value is text, not a macro
    info.write_text("[Sequence]\nname=seq%A\nseqLength=10\nimWidth=640.0\nimHeight=480\n")
    save_mot_txt(pred_dir / "seqA.txt", corners)
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert len(caplog.records) == 1 and "x1,y1,x2,y2" in caplog.records[0].getMessage()
    # a few rows reaching past the edge say nothing about the format
    save_mot_txt(pred_dir / "seqA.txt", corners[corners[:, 2] > 300][:5])
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert caplog.records == []
    # a seqinfo.ini without a usable frame size (evaluation does not need it): no error; the boxes' own shape
    # (every "width" beyond its left edge, every "height" beyond its top, as x2 > x1) still says it (helper-58)
    for size in ("", "imWidth=640%\nimHeight=480\n", "imWidth=0\nimHeight=480\n", "imWidth=wide\nimHeight=480\n"):
        info.write_text("[Sequence]\nname=seqA\nseqLength=10\n" + size)
        save_mot_txt(pred_dir / "seqA.txt", corners)
        caplog.clear()
        with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
            evaluate_folders(gt_dir, pred_dir)
        assert [r.getMessage() for r in caplog.records] == [
            f"{pred_dir / 'seqA.txt'}: 100% of the boxes are wider than their left edge and taller than their top "
            "edge, as x1,y1,x2,y2 rows are: is the file written as x1,y1,x2,y2? MOTChallenge files hold "
            "left,top,width,height"
        ], size


def test_ground_truth_written_as_corners_is_warned_about(tmp_path, caplog):
    """helper-58: ground truth of x1,y1,x2,y2 rows scored IDF1 0.0 without a word (results were checked)."""
    gt = np.r_[track_rows(1, range(1, 11), x0=200.0, step=5.0), track_rows(2, range(1, 11), x0=400.0, step=5.0)]
    corners = gt.copy()
    corners[:, 4:6] += corners[:, 2:4]
    gt_dir, pred_dir = make_layout(tmp_path, gt)
    gt_file = gt_dir / "seqA" / "gt" / "gt.txt"
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert caplog.records == []  # real boxes: nothing to say
    save_mot_txt(gt_file, corners)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith(f"{gt_file}: 100% of the boxes are wider than their left edge")


def test_evaluate_sequence_says_what_it_does_not_score_and_refuses_broken_rows():
    """Library callers: 0-based frames were dropped silently (HOTA 72.7 for the ground truth scored against itself),
    a NaN box failed inside scipy and 5-column rows inside numpy."""
    gt = np.array([[1, 1, 10, 10, 20, 40, 1, -1, -1, -1], [2, 1, 12, 10, 20, 40, 1, -1, -1, -1]], float)
    zero_based = gt.copy()
    zero_based[:, 0] -= 1
    with pytest.warns(
        UserWarning, match=r"res: 1 of 2 rows are in frames outside 1\.\.2 and are not scored \(frames 0\.\.0"
    ):
        evaluate_sequence(gt, zero_based, 2, name="res")
    with pytest.warns(UserWarning) as record:
        evaluate_sequence(gt, gt, 1, name="res", gt_name="gt.txt")
    assert [str(w.message).split(" rows")[0] for w in record] == ["gt.txt: 1 of 2", "res: 1 of 2"]
    nan = gt.copy()
    nan[1, 3] = np.nan
    with pytest.raises(
        ValueError, match=r"res: 1 rows hold a value that is not finite in frame, id or box \(first: row 1\)"
    ):
        evaluate_sequence(gt, nan, 2, name="res")
    with pytest.raises(ValueError, match=r"res ground truth: expected MOT rows \(K, >=7\).*got shape \(2, 5\)"):
        evaluate_sequence(gt[:, :5], gt, 2, name="res")
    assert evaluate_sequence(gt, gt, 2)["summary"]["HOTA"] == pytest.approx(1.0)
    assert evaluate_sequence(gt, gt[:, :6], 2)["summary"]["HOTA"] == pytest.approx(1.0)  # 6-column results score
    with pytest.raises(ValueError, match=r"res: expected MOT rows \(K, >=6\): frame, id, left, top, width, height;"):
        evaluate_sequence(gt, gt[:, :5], 2, name="res")
    assert evaluate_sequence(gt, np.zeros((0, 10)), 2)["summary"]["Dets"] == 0


def test_a_result_the_run_summary_does_not_list_is_warned_about(tmp_path, caplog):
    """helper-58: a rerun into a run folder with fewer cameras leaves the earlier run's <camera>.txt; `mctrack eval`
    scored it beside the new files without a word (its global ids from another linking)."""
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    summary = pred_dir / "summary.json"
    summary.write_text(json.dumps({"cams": "cams.yaml", "cameras": {"seqA": {}}, "counts": {}}))
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert caplog.records == []  # listed: this run's
    summary.write_text(json.dumps({"cams": "cams.yaml", "cameras": {"camB": {}, "camC": {}}, "counts": {}}))
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert evaluate_folders(gt_dir, pred_dir)["seqA"]["IDF1"] == pytest.approx(1.0)  # still scored as it is
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{pred_dir / 'seqA.txt'}: not a result of the run that {summary} records (its cameras: camB, camC): an "
        "earlier run's file left in the folder, whose ids come from another run; scored as it is"
    ]


def test_identity_matches_say_where_idf1_comes_from_per_ground_truth_id():
    pred = GT.copy()
    pred[:10, 1] = 7  # ground-truth id 1: one track throughout
    pred[10:15, 1] = 8  # id 2: track 8 for frames 1-5 ...
    pred[15:, 1] = 9  # ... then track 9
    pred = np.delete(pred, 17, axis=0)  # frame 8 of id 2 missed
    d = sequence_data(GT, pred, 10)
    got = identity_matches(d)
    assert [(e["gt_id"], e["frames"], e["track_id"], e["idtp"]) for e in got][0] == (1, 10, 7, 10)
    second = got[1]
    assert (second["gt_id"], second["frames"]) == (2, 10)
    assert (second["track_id"], second["idtp"]) in ((8, 5), (9, 4))  # the larger share: track 8's 5 frames
    assert coverage_runs(second["covered_by"]) == "1-5 8, 6-7 9, 8 -, 9-10 9"
    assert sum(e["idtp"] for e in got) == identity(d)["IDTP"]
    # a ground-truth id no track covers is given none (helper-82: the assignment pairs such an id with an unused
    # track at no cost, and that track was named, IDTP 0)
    lone = np.r_[GT, track_rows(3, range(1, 11), x0=400.0)]
    extra = np.r_[pred, track_rows(5, range(1, 11), x0=600.0)]  # a track on no one
    assert [e["track_id"] for e in identity_matches(sequence_data(lone, extra, 10))] == [7, second["track_id"], None]
    # the assigned track's frames in the coverage add up to its IDTP, also where another track overlaps the person
    # better (helper-82: the highest-IoU track was shown instead)
    rival = np.r_[pred, track_rows(6, range(1, 11), x0=11.0)]  # on id 1 too, 1 px closer than track 7
    for e in identity_matches(sequence_data(GT, rival, 10)):
        assert np.count_nonzero(e["covered_by"][:, 1] == e["track_id"]) == e["idtp"] > 0
    # on random tracks, the per-id rows add up to TrackEval's IDTP
    rng = np.random.default_rng(0)
    for _ in range(5):
        noisy = GT.copy()
        noisy[:, 1] = rng.integers(1, 5, len(noisy))
        noisy = noisy[rng.random(len(noisy)) > 0.2]
        noisy = noisy[np.unique(noisy[:, :2], axis=0, return_index=True)[1]]  # one row per (frame, id)
        d = sequence_data(GT, noisy, 10)
        assert sum(e["idtp"] for e in identity_matches(d)) == identity(d)["IDTP"]


def test_eval_against_lists_the_ground_truth_ids_whose_idf1_rows_differ(tmp_path, capsys, caplog):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    worse = GT.copy()
    worse[15:, 1] = 9  # id 2 switches to a new track half way
    other = tmp_path / "other"
    save_mot_txt(other / "seqA.txt", worse)
    argv = ["eval", "--gt", str(gt_dir), "--pred", str(pred_dir)]
    assert cli_main([*argv, "--against", str(other)]) == 0
    out = capsys.readouterr().out
    assert "seqA: IDF1 100.0 (A: " in out and "vs 75.0 (B: " in out
    assert "IDTP 20 vs 15, result rows 20 vs 20; 1 of 2 ground-truth ids differ in IDTP" in out
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.split()[:2] == ["2", "10"])
    assert lines[row].split() == ["2", "10", "2", "10", "2", "5", "-5"]
    assert lines[row + 1].split() == ["A:", "1-10", "2"] and lines[row + 2].split(":", 1)[1].strip() == "1-5 2, 6-10 9"
    assert cli_main([*argv, "--by-identity", "--json", str(tmp_path / "m.json")]) == 0
    saved = json.loads((tmp_path / "m.json").read_text())["seqA"]
    assert saved["IDF1"] == 1.0 and saved["identities"][1] == {
        "gt_id": 2,
        "frames": 10,
        "track_id": 2,
        "idtp": 10,
        "covered_by": [[1, 10, 2]],
    }
    out = capsys.readouterr().out
    assert "seqA: per ground-truth id" in out and any(
        line.split() == ["1", "10", "1", "10", "1-10", "1"] for line in out.splitlines()
    )
    assert cli_main(["eval", "--cams", str(tmp_path / "cams.yaml"), "--pred", str(pred_dir), "--by-identity"]) == 1
    assert "--by-identity/--against: with --gt" in capsys.readouterr().err
    # B's own table; the ground truth's warnings said once; errors about B name --against (helper-82)
    classes = GT.copy()
    classes[:, 7] = 1
    classes[classes[:, 1] == 2, 7] = 7  # MOT17 classes under MOT15: warned about once per ground-truth file read
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", classes)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        argv_15 = [*argv, "--benchmark", "MOT15"]
        assert cli_main([*argv_15, "--against", str(other), "--json", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert f"B: {other} (in --json: each entry's 'against')" in out and out.count("COMBINED") == 2
    assert sum("carry MOTChallenge class ids" in r.getMessage() for r in caplog.records) == 1
    both = json.loads((tmp_path / "a.json").read_text())  # B's metrics beside A's (only A's were written)
    theirs = evaluate_folder_sequences(gt_dir, other, by_identity=True, benchmark="MOT15")["seqA"]
    assert both["seqA"]["against"]["IDF1"] == theirs["summary"]["IDF1"] != both["seqA"]["IDF1"]
    assert both["seqA"]["against"]["identities"] == identities_json(theirs["identities"])
    assert both["COMBINED"]["against"]["IDF1"] == theirs["summary"]["IDF1"]  # one sequence: pooled is the same
    assert cli_main([*argv, "--against", str(tmp_path / "nope")]) == 1
    assert f"--against {tmp_path / 'nope'}: results folder not found" in capsys.readouterr().err
    assert cli_main([*argv, "--against", str(other / "seqA.txt")]) == 1  # helper-108: said "not found" too
    assert f"--against {other / 'seqA.txt'}: a file, not a results folder; give the folder" in capsys.readouterr().err
    layout = tmp_path / "trackeval"  # TrackEval's <tracker>/data/<sequence>.txt: the hint names --against
    save_mot_txt(layout / "data" / "seqA.txt", GT)
    assert cli_main([*argv, "--against", str(layout)]) == 1
    assert f"give --against {layout / 'data'}" in capsys.readouterr().err


def test_a_result_with_frame_and_id_swapped_is_warned_about(tmp_path, caplog):
    """helper-86: another tool's id, frame order was scored (HOTA 0.9) without a word."""
    rng = np.random.default_rng(0)
    gt = np.array([[f, i, 10 + 30 * i + f, 50, 20, 60, 1, 1, 1, -1] for f in range(1, 101) for i in range(1, 6)], float)
    pred = gt.copy()
    pred[:, 2:4] += rng.normal(0, 1, (len(pred), 2))
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", gt)
    write_seqinfo(gt_dir / "seqA" / "seqinfo.ini", SeqInfo("seqA", 10, 100, 640, 480))
    save_mot_txt(pred_dir / "seqA.txt", pred)
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert "swapped" not in caplog.text  # the right order
    save_mot_txt(pred_dir / "seqA.txt", pred[:, [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]])
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert "cover 5% of the ground truth's frames in the frame column but 100% in the id column" in caplog.text
    caplog.clear()
    save_mot_txt(pred_dir / "seqA.txt", pred[pred[:, 0] <= 20])  # an interrupted run: its first 20 frames
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        evaluate_folders(gt_dir, pred_dir)
    assert "swapped" not in caplog.text


def test_eval_pools_every_sequence_and_scores_a_missing_result_as_empty_with_missing_ok(tmp_path, capsys, caplog):
    gt_dir, pred_dir = make_layout(tmp_path, GT)  # seqA: tracked perfectly
    save_mot_txt(gt_dir / "seqB" / "gt" / "gt.txt", GT)  # seqB: no result file
    write_seqinfo(gt_dir / "seqB" / "seqinfo.ini", SeqInfo("seqB", 10, 10, 640, 480))
    out_json = tmp_path / "m.json"
    argv = ["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--json", str(out_json)]
    assert cli_main(argv) == 1 and not out_json.exists()
    assert f"{pred_dir / 'seqB.txt'}: result file not found for sequence seqB" in capsys.readouterr().err
    with caplog.at_level("WARNING", logger="mctrack.eval.mot"):
        assert cli_main([*argv, "--missing-ok"]) == 0
    assert f"{pred_dir / 'seqB.txt'}: no result file: sequence seqB is scored as tracked with no box" in caplog.text
    printed = capsys.readouterr().out
    assert f"metrics written to {out_json}" in printed
    assert [line.split()[0] for line in printed.splitlines()[1:4]] == ["seqA", "seqB", "COMBINED"]
    m = json.loads(out_json.read_text())
    assert set(m) == {"seqA", "seqB", "COMBINED"}
    assert (m["seqA"]["TP"], m["seqB"]["TP"], m["seqB"]["FN"]) == (20, 0, 20)
    # pooled by hand: 20 of the 40 ground-truth rows found, no false box: MOTA 20 / 40; IDF1 2 IDTP / (GT + result
    # rows) = 40 / 60; DetA 20 / 40 at every IoU threshold (exact boxes), AssA 1: HOTA sqrt(0.5)
    c = m["COMBINED"]
    assert (c["TP"], c["FN"], c["FP"], c["GT_Dets"], c["Dets"]) == (20, 20, 0, 40, 20)
    assert c["MOTA"] == pytest.approx(0.5) and c["IDF1"] == pytest.approx(2 / 3)
    assert c["HOTA"] == pytest.approx(np.sqrt(0.5))


def test_eval_keep_zero_marked_counts_the_ground_truth_rows_marked_zero(tmp_path):
    gt = GT.copy()
    gt[gt[:, 1] == 2, 6] = 0  # id 2 marked to ignore
    gt_dir, pred_dir = make_layout(tmp_path, GT[GT[:, 1] == 1])  # the result tracks id 1 only
    save_mot_txt(gt_dir / "seqA" / "gt" / "gt.txt", gt)
    out_json = tmp_path / "m.json"
    argv = ["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--json", str(out_json)]
    assert cli_main(argv) == 0
    s = json.loads(out_json.read_text())["seqA"]
    assert (s["GT_Dets"], s["FN"], s["MOTA"]) == (10, 0, 1.0)
    assert cli_main([*argv, "--keep-zero-marked"]) == 0
    s = json.loads(out_json.read_text())["seqA"]
    # id 2's 10 rows now count, all missed: MOTA 10 / 20, IDF1 2 * 10 / (20 + 10)
    assert (s["GT_Dets"], s["FN"], s["TP"]) == (20, 10, 10)
    assert s["MOTA"] == pytest.approx(0.5) and s["IDF1"] == pytest.approx(2 / 3)


def test_eval_against_prints_b_own_scores_and_keeps_a_identities_in_the_json(tmp_path, capsys):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    save_mot_txt(gt_dir / "seqB" / "gt" / "gt.txt", GT)
    write_seqinfo(gt_dir / "seqB" / "seqinfo.ini", SeqInfo("seqB", 10, 10, 640, 480))
    save_mot_txt(pred_dir / "seqB.txt", GT)
    worse = GT.copy()
    worse[15:, 1] = 9  # id 2 switches to a new track half way
    other = tmp_path / "other"
    save_mot_txt(other / "seqA.txt", GT)
    save_mot_txt(other / "seqB.txt", worse)  # B differs from A in the second sequence only
    out_json = tmp_path / "m.json"
    argv = ["eval", "--gt", str(gt_dir), "--pred", str(pred_dir), "--against", str(other), "--json", str(out_json)]
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    b_table = printed.split(f"B: {other} (in --json: each entry's 'against')\n", 1)[1].splitlines()
    header = b_table[0].split()
    rows = {line.split()[0]: dict(zip(header[1:], line.split()[1:])) for line in b_table[1:4]}
    assert list(rows) == ["seqA", "seqB", "COMBINED"]
    # B's seqB: IDTP 15 of 20 ground-truth and 20 result rows: IDF1 75.0; one switch: MOTA (20 - 1) / 20
    assert (rows["seqB"]["IDF1"], rows["seqB"]["MOTA"], rows["seqB"]["IDSW"]) == ("75.0", "95.0", "1")
    assert rows["seqA"]["IDF1"] == "100.0" and rows["COMBINED"]["IDF1"] == "87.5"  # IDTP 35 of 40 and 40 rows
    assert "seqA: IDF1 100.0 (A: " in printed and "0 of 2 ground-truth ids differ in IDTP" in printed
    assert "seqB: IDF1 100.0 (A: " in printed and "vs 75.0 (B: " in printed  # every sequence compared
    assert "IDTP 20 vs 15, result rows 20 vs 20; 1 of 2 ground-truth ids differ in IDTP" in printed
    saved = json.loads(out_json.read_text())["seqB"]
    ours = evaluate_folder_sequences(gt_dir, pred_dir, by_identity=True)["seqB"]
    assert saved["identities"] == identities_json(ours["identities"])  # A's own ids, beside B's under 'against'
    assert saved["identities"] != saved["against"]["identities"]
    assert cli_main(argv[:-2]) == 0  # without --json: B's table is not said to be in a JSON file
    printed = capsys.readouterr().out
    assert f"B: {other}\n" in printed and "in --json" not in printed


def test_eval_cams_refuses_against_as_it_refuses_by_identity(tmp_path, capsys):
    gt_dir, pred_dir = make_layout(tmp_path, GT)
    argv = ["eval", "--cams", str(tmp_path / "cams.yaml"), "--pred", str(pred_dir), "--against", str(pred_dir)]
    assert cli_main(argv) == 1
    assert "--by-identity/--against: with --gt (MOTChallenge sequences) only" in capsys.readouterr().err
