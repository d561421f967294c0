"""MOT text files: bad rows give one line naming file and line; detection files skip unusable boxes with a warning."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mctrack.detect import MotFileDetector
from mctrack.errors import InputError
from mctrack.eval.mot import evaluate_sequence
from mctrack.io.mot import MAX_FRAME, MAX_ID, duplicate_id_problem, load_mot_txt


def _write(tmp_path, text, name="gt.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "line, message",
    [
        ("inf,1,10,10,20,40,1", "line 2: frame must be an integer"),
        ("nan,1,10,10,20,40,1", "line 2: frame must be an integer"),
        ("0,1,10,10,20,40,1", "line 2: frame must be an integer"),
        ("1.5,1,10,10,20,40,1", "line 2: frame must be an integer"),
        ("1000000000,1,10,10,20,40,1", "line 2: frame must be an integer in 1..100,000,000"),
        ("2,nan,10,10,20,40,1", "line 2: id must be an integer"),
        ("2,1e20,10,10,20,40,1", "line 2: id must be an integer of at most 2,147,483,647"),
        ("2,1.5,10,10,20,40,1", "line 2: id must be an integer"),
        # helper-75: a row without its id column (frame, left, top, ...) named no cause
        ("2,340.829,10,20,40,0.9", r"got 340.829 \(a row of 6 values: written without its id column\?"),
        ("2,1,nan,10,20,40,1", "line 2: box and score must be finite"),
        ("2,1,10,10,inf,40,1", "line 2: box and score must be finite"),
        ("2,1,10,10,20,40,nan", "line 2: box and score must be finite"),
    ],
)
def test_ground_truth_rows_that_cannot_be_trusted_are_errors(tmp_path, line, message):
    p = _write(tmp_path, "1,1,10,10,20,40,1\n" + line + "\n")
    with pytest.raises(InputError, match=message) as info:
        load_mot_txt(p)
    assert str(info.value).startswith(str(p)) and "\n" not in str(info.value)


def test_detection_files_skip_unusable_boxes_with_one_warning(tmp_path, caplog):
    p = _write(
        tmp_path,
        "\n".join(
            [
                "1,-1,10,10,20,40,0.9",
                "1,-1,nan,10,20,40,0.9",
                "2,-1,10,10,1e30,40,0.9",
                "2,-1,10,10,0,40,0.9",
                "2,-1,10,10,20,-5,0.9",
                "3,-1,10,10,20,40,inf",
                "3,-1,12,10,20,40,0.8",
            ]
        )
        + "\n",
        "det.txt",
    )
    with caplog.at_level(logging.WARNING):
        det = MotFileDetector(p)
    assert det.num_rows == 2 and len(det.detections(0)) == 1 and len(det.detections(2)) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        len(warnings) == 1 and str(p) in warnings[0] and "5 row(s) skipped" in warnings[0] and "line 2" in warnings[0]
    )
    assert "box or score not finite" in warnings[0]  # line 6's score is inf: the message names the score too
    assert np.isfinite(det.detections(0).xyxy).all()


def test_duplicate_ground_truth_id_is_reported_against_the_ground_truth(tmp_path):
    gt = np.array([[1, 7, 0, 0, 10, 10, 1, -1, -1, -1], [1, 7, 50, 0, 10, 10, 1, -1, -1, -1]], float)
    pred = np.array([[1, 1, 0, 0, 10, 10, 1, -1, -1, -1]], float)
    assert "id 7 appears 2 times in frame 1" in duplicate_id_problem(gt)
    assert duplicate_id_problem(pred) is None
    with pytest.raises(InputError, match=r"^seq/gt/gt.txt: id 7 repeated within frame 1$"):
        evaluate_sequence(gt, pred, 1, name="results/seq.txt", gt_name="seq/gt/gt.txt")
    with pytest.raises(InputError, match=r"^results/seq.txt: tracker id 7 repeated within frame 1$"):
        evaluate_sequence(pred, gt, 1, name="results/seq.txt", gt_name="seq/gt/gt.txt")


def test_a_negative_id_is_refused_naming_the_file():
    """helper-68: a result row with id -1 (a detection file given as results?) was scored; TrackEval maps such ids
    onto others and scored it differently (AssA 73.9 against our 75.0)."""
    gt = np.array([[1, 1, 0, 0, 10, 10, 1, -1, -1, -1], [2, 1, 0, 0, 10, 10, 1, -1, -1, -1]], float)
    pred = gt.copy()
    pred[1, 1] = -1
    with pytest.raises(
        InputError, match=r"^results/seq.txt: 1 row\(s\) with a negative id \(first: id -1 in frame 2\)"
    ):
        evaluate_sequence(gt, pred, 2, name="results/seq.txt", gt_name="seq/gt/gt.txt")
    with pytest.raises(InputError, match=r"^seq/gt/gt.txt: 1 row\(s\) with a negative id"):
        evaluate_sequence(pred, gt, 2, name="results/seq.txt", gt_name="seq/gt/gt.txt")


def test_a_folder_where_a_file_belongs_is_named_as_such(tmp_path):
    (tmp_path / "dets").mkdir()
    with pytest.raises(InputError, match=r"dets: is a folder, expected a file$"):
        load_mot_txt(tmp_path / "dets")
    with pytest.raises(InputError, match=r"gone.txt: file not found$"):
        load_mot_txt(tmp_path / "gone.txt")
    with pytest.raises(InputError, match=r"null: not a regular file$"):
        load_mot_txt("/dev/null")


def test_a_detection_file_without_usable_rows_is_warned(tmp_path, caplog):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with caplog.at_level(logging.WARNING):
        assert MotFileDetector(empty).num_rows == 0
    assert "empty.txt: no detections: every frame is tracked as empty" in caplog.text
    low = tmp_path / "low.txt"
    low.write_text("1,-1,5,5,10,20,0.2\n2,-1,5,5,10,20,0.3\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        MotFileDetector(low, min_score=0.5)
    assert "low.txt: no detections scoring >= 0.5 (of 2 rows)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        MotFileDetector(low)
    assert "no detections" not in caplog.text


def test_an_empty_field_is_an_error_not_a_shifted_column(tmp_path):
    # splitting on whitespace after replacing commas read "1,1,10,,30,40,1" as x=10, y=30, w=40, h=1
    with pytest.raises(InputError, match=r"line 2: empty field \(column 4\)"):
        load_mot_txt(_write(tmp_path, "1,1,10,20,30,40,1\n2,1,10,,30,40,1\n"))
    # trailing commas (blank trailing cells), spaces after commas, commas and spaces mixed: read as before
    text = "1,1,10,20,30,40,1,\n2, 1, 11, 20, 30, 40, 1,,,\n3,1,12,20,30,40,1 -1 -1 -1\n"
    rows = load_mot_txt(_write(tmp_path, text))
    np.testing.assert_array_equal(rows[:, :7], [[f, 1, 9 + f, 20, 30, 40, 1] for f in (1, 2, 3)])


def test_a_byte_order_mark_is_not_part_of_the_first_number(tmp_path):
    from mctrack.io.mot import read_seqinfo

    p = tmp_path / "gt.txt"
    p.write_bytes("\ufeff1,1,10,20,30,40,1\n".encode())
    assert load_mot_txt(p)[0, :7].tolist() == [1, 1, 10, 20, 30, 40, 1]
    ini = tmp_path / "seqinfo.ini"
    ini.write_bytes("\ufeff[Sequence]\nname=a\nframeRate=10\nseqLength=5\nimWidth=64\nimHeight=48\n".encode())
    assert read_seqinfo(ini).seq_length == 5


@pytest.mark.parametrize(
    "line, message",
    [
        ("frameRate=nan", "frameRate must be a finite number > 0"),
        ("frameRate=0", "frameRate must be"),
        ("frameRate=1e9", "frameRate must be a finite number > 0 and at most 10000, got 1e"),
        ("seqLength=0", "seqLength must be >= 1"),
        ("imWidth=wide", "imWidth must be a whole number, got 'wide'"),
        ("frameRate=fast", "frameRate must be a number, got 'fast'"),  # said "bad value: could not convert..."
    ],
)
def test_impossible_seqinfo_values_are_an_error_naming_the_file(tmp_path, line, message):
    from mctrack.io.mot import read_seq_length, read_seqinfo

    good = {"name": "a", "frameRate": "10", "seqLength": "5", "imWidth": "64", "imHeight": "48"}
    key, _, value = line.partition("=")
    ini = tmp_path / "seqinfo.ini"
    ini.write_text("[Sequence]\n" + "".join(f"{k}={value if k == key else v}\n" for k, v in good.items()))
    with pytest.raises(InputError, match=f"seqinfo.ini: {message}"):
        read_seqinfo(ini)
    if key != "seqLength":  # evaluation reads the length alone
        assert read_seq_length(ini) == 5


def test_exact_duplicate_detections_are_dropped_with_a_warning(tmp_path, caplog):
    text = "1,-1,10,20,30,40,0.9\n1,-1,50,20,30,40,0.8\n2,-1,12,20,30,40,0.9\n"
    path = _write(tmp_path, text * 2 + "1,-1,10,20,30,40,0.7\n", "det.txt")  # the last: same box, other score
    with caplog.at_level(logging.WARNING):
        det = MotFileDetector(path)
    assert det.num_rows == 4
    assert "3 exact duplicate row(s) (same frame, box and score) dropped" in caplog.text
    assert sorted(det.detections(0).score.tolist()) == pytest.approx([0.7, 0.8, 0.9])


def test_a_full_disk_names_the_file_and_leaves_no_half_result(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from mctrack.io.mot import MotWriter, save_mot_txt

    def full(self, *args, **kwargs):
        self.open("w").write("1,1,10")  # part of a row reached the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    target = tmp_path / "SEQ.txt"
    with pytest.raises(OSError) as exc:
        save_mot_txt(target, np.array([[1, 1, 10, 20, 30, 40, 1.0]]))
    assert exc.value.filename == str(target) and exc.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # neither the result nor its .partial

    class FullFile:
        closed = False

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.closed = True

    writer = MotWriter(tmp_path / "raw.txt")
    writer._fh.close()
    writer._fh = FullFile()
    with pytest.raises(OSError) as exc:
        writer.write(0, np.array([1]), np.array([[10.0, 20, 40, 60]]))
    assert exc.value.filename == str(tmp_path / "raw.txt")


def test_a_seqinfo_that_is_not_utf8_is_an_error_naming_the_file(tmp_path):
    from mctrack.io.mot import read_seq_length, read_seqinfo

    ini = tmp_path / "seqinfo.ini"
    ini.write_bytes(
        "[Sequence]\nname=Straße\nframeRate=10\nseqLength=5\nimWidth=64\nimHeight=48\n".encode(
            "cp1251", "replace"
        ).replace(b"?", b"\xd0")
    )
    for read in (read_seqinfo, read_seq_length):
        with pytest.raises(InputError, match=r"seqinfo.ini: not UTF-8 text \(byte \d+\); save it as UTF-8"):
            read(ini)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # configparser reads keys in lower case; the message names the key as the file writes it
        ("[Sequence]\nseqLength=5\nseqLength=100\n", r"seqLength is given twice in \[Sequence\] \(line 3\)"),
        ("[Sequence]\nseqLength=5\n\nSEQLENGTH : 100\n", r"SEQLENGTH is given twice in \[Sequence\] \(line 4\)"),
        ("[Sequence]\nseqLength=5\n[Sequence]\n", r"section \[Sequence\] is given twice \(line 3\)"),
        ("seqLength=5\n[Sequence]\n", r"line 1 comes before any \[section\] header: 'seqLength=5'"),
        ("[Sequence]\nseqLength=5\njust words\n", r"line 3 is not key=value: 'just words'"),
        ("[Other]\nseqLength=5\n", r"no \[Sequence\] section"),
    ],
)
def test_a_seqinfo_that_cannot_be_parsed_says_why_and_where(tmp_path, text, message):
    """Every parse error used to read 'no [Sequence] section', also for a file that has one."""
    from mctrack.io.mot import read_seq_length

    ini = tmp_path / "seqinfo.ini"
    ini.write_text(text)
    with pytest.raises(InputError, match=f"seqinfo.ini: {message}$"):
        read_seq_length(ini)


def test_rows_written_are_read_back_as_written(tmp_path):
    """Sub-pixel boxes (2 decimals), scores (4 significant digits) and the world columns 8-10 survive a write and a
    read; frames and ids are whole numbers."""
    from mctrack.io.mot import save_mot_txt

    rows = np.array(
        [[3, 7, 10.25, -4.5, 20.75, 40.125, 0.8731, 1, 0.25, 2.5], [1, 2, 0.01, 2.99, 5.5, 9.25, 0.5, -1, -1, -1]]
    )
    save_mot_txt(tmp_path / "r.txt", rows)
    back = load_mot_txt(tmp_path / "r.txt")  # sorted by frame
    np.testing.assert_allclose(back, rows[[1, 0]], atol=0.005)  # 40.125 is written 40.12 or 40.13
    assert back[1, 6] == 0.8731 and back[1, 7:].tolist() == [1, 0.25, 2.5]


def test_detections_scoring_exactly_min_score_are_kept():
    from mctrack.io.mot import detections_by_frame

    rows = np.array([[1, -1, 0, 0, 10, 20, s, -1, -1, -1] for s in (0.49, 0.5, 0.51)])
    assert detections_by_frame(rows, min_score=0.5)[0].score.tolist() == pytest.approx([0.5, 0.51])


def test_writers_refuse_rows_their_reader_would_refuse(tmp_path):
    """save_mot_txt wrote frame 0, NaN boxes and truncated id 1.7 to 1; MotWriter.write(-1, ...) wrote frame 0;
    ids and boxes of different lengths failed inside numpy. Now each is a ValueError naming the file."""
    from mctrack.io.mot import MotWriter, mot_rows, save_mot_txt

    path = tmp_path / "r.txt"
    good = np.array([[1, 1, 10, 10, 20, 40, 0.9]], float)
    for col, value, match in (
        (0, 0, r"1 rows to write have a frame that is not a whole number in 1\.\.100,000,000 .*\(first: 0\)"),
        (1, 1.7, "have an id that is not a whole number"),
        (3, np.nan, "have a box and score that is not made of finite numbers"),
        (6, np.inf, "box and score"),
        (0, MAX_FRAME + 1, r"frame that is not a whole number in 1\.\.100,000,000"),  # the reader's limits
        (1, MAX_ID + 1, "have an id that is not a whole number"),
    ):
        bad = good.copy()
        bad[0, col] = value
        with pytest.raises(ValueError, match=match):
            save_mot_txt(path, bad)
        assert not path.exists()
    save_mot_txt(path, good)
    assert load_mot_txt(path)[0, :6].tolist() == [1, 1, 10, 10, 20, 40]
    with pytest.raises(ValueError, match="expected 6 to 10 columns, got 4"):  # xyxy alone: no width and height
        save_mot_txt(path, good[:, 2:6])
    with MotWriter(tmp_path / "w.txt") as writer:
        with pytest.raises(ValueError, match=r"w\.txt: 1 rows to write have a frame"):
            writer.write(-1, np.array([1]), np.array([[0, 0, 5, 5]]))
        with pytest.raises(ValueError, match=r"w\.txt: rows to write: expected \(K, 6\.\.10\)"):
            writer.write_rows(np.zeros((1, 4)))
        writer.write(0, np.array([1]), np.array([[0, 0, 5, 5]]))
        assert writer.rows == 1
    with pytest.raises(ValueError, match="one id, box and score per row, got 3 ids, 1 boxes"):
        mot_rows(0, np.array([1, 2, 3]), np.zeros((1, 4)))


def _rows(corner: int, plain: int) -> np.ndarray:
    """MOT rows: ``corner`` boxes wider than their left edge and taller than their top edge (as x1,y1,x2,y2 rows
    are), then ``plain`` ones that are only wider than their left edge or only taller than their top edge."""
    boxes = [[10.0, 10.0, 50.0, 100.0]] * corner + [[10.0, 300.0, 50.0, 100.0], [500.0, 10.0, 50.0, 100.0]] * plain
    boxes = boxes[: corner + plain]
    return np.array([[f + 1, 1, *box, 1.0, -1, -1, -1] for f, box in enumerate(boxes)])


@pytest.mark.parametrize(
    ("corner", "plain", "share"),
    [(18, 2, None), (19, 1, 95), (90, 10, None), (91, 9, 91), (19, 0, None), (20, 0, 100)],
    ids=["90%-of-20", "95%-of-20", "90%-of-100", "91%-of-100", "19-rows", "20-rows"],
)
def test_corner_rows_are_said_above_nine_tenths_of_at_least_20_rows(corner, plain, share):
    """x1,y1,x2,y2 rows look like boxes that start within their own size of the frame's corner."""
    from mctrack.io.mot import corner_rows_problem

    problem = corner_rows_problem("det.txt", _rows(corner, plain))
    if share is None:
        assert problem is None
    else:
        assert problem.startswith(f"det.txt: {share}% of the boxes are wider than their left edge")


def _reaching(far: int, near: int, width: float = 1000.0, height: float = 500.0) -> np.ndarray:
    """MOT rows: ``far`` boxes whose right edge is 2 px beyond 110% of the frame's width (or bottom edge beyond
    110% of its height, alternately), then ``near`` ones that reach exactly 110% (not counted)."""
    rows = []
    for i in range(far):
        box = [width * 1.1 + 2 - 50, 10, 50, 100] if i % 2 else [10, height * 1.1 + 2 - 100, 50, 100]
        rows.append([i + 1, 1, *box, 1.0, -1, -1, -1])
    for i in range(near):
        box = [width * 1.1 - 50, 10, 50, 100] if i % 2 else [10, height * 1.1 - 100, 50, 100]
        rows.append([far + i + 1, 1, *box, 1.0, -1, -1, -1])
    return np.array(rows, float)


def test_boxes_count_as_far_outside_beyond_a_tenth_of_the_frame():
    from mctrack.io.mot import share_far_outside

    assert share_far_outside(_reaching(0, 10), 1000, 500) == 0.0
    assert share_far_outside(_reaching(4, 6), 1000, 500) == pytest.approx(0.4)
    assert share_far_outside(_reaching(4, 6), 1000, 500, margin=0.2) == 0.0


@pytest.mark.parametrize(("far", "near", "said"), [(20, 80, False), (21, 79, True)])
def test_boxes_outside_the_frame_are_said_above_a_fifth(tmp_path, far, near, said):
    """20% of the boxes far outside is tolerated, 21% is warned about (from the rows and from a det file)."""
    from mctrack.io.mot import outside_frame_problem, save_mot_txt

    rows = _reaching(far, near)
    problem = outside_frame_problem("det.txt", rows, 1000, 500, "its video")
    assert (problem is not None) is said
    if said:
        assert problem.startswith(
            "det.txt: 21% of the boxes reach more than 10% beyond the 1000x500 frame of its video"
        )
    save_mot_txt(tmp_path / "det.txt", rows)
    detector = MotFileDetector(tmp_path / "det.txt")
    assert detector.share_far_outside(1000, 500) == pytest.approx(far / 100)
    assert detector.share_far_outside(1000, 500, margin=0.2) == 0.0
    assert (detector.outside_frame_problem(1000, 500, "its video") is not None) is said


def test_a_file_whose_every_box_lies_outside_the_frame_is_a_problem_one_box_inside_is_not(tmp_path):
    """Boxes right of, below, left of and above a 100x50 frame (touching its edge from outside counts as outside);
    one box overlapping the frame by a pixel in any direction, or no box at all, is no problem."""
    from mctrack.io.mot import all_outside_problem, save_mot_txt

    outside = [[1000, 10, 5, 5], [100, 10, 5, 5], [10, 50, 5, 5], [-5, 10, 5, 5], [10, -5, 5, 5]]
    rows = np.array([[i + 1, -1, *box, 0.9, -1, -1, -1] for i, box in enumerate(outside)], float)
    assert all_outside_problem("det.txt", rows, 100, 50, "its video") == (
        "det.txt: all 5 boxes lie entirely outside the 100x50 frame of its video: the detections of another camera "
        "or frame size?"
    )
    for inside in ([99, 10, 5, 5], [10, 49, 5, 5], [-4, 10, 5, 5], [10, -4, 5, 5]):
        assert (
            all_outside_problem("det.txt", np.vstack([rows, [[9, -1, *inside, 0.9, -1, -1, -1]]]), 100, 50, "v") is None
        )
    assert all_outside_problem("det.txt", rows[:0], 100, 50, "its video") is None
    save_mot_txt(tmp_path / "det.txt", rows)
    assert (
        MotFileDetector(tmp_path / "det.txt")
        .all_outside_problem(100, 50, "v")
        .startswith(f"{tmp_path / 'det.txt'}: all 5")
    )


def test_mot_writer_leaves_every_finished_frame_on_disk_before_it_is_closed(tmp_path):
    """A run killed mid-way keeps the frames it finished: each write() reaches the file at once, write_rows() at
    flush()."""
    from mctrack.io.mot import MotWriter

    path = tmp_path / "CAM.txt"
    writer = MotWriter(path)
    try:
        for frame in range(3):
            writer.write(frame, np.array([1, 2]), np.array([[0, 0, 5, 5], [10, 10, 20, 30]]), np.array([0.9, 0.8]))
            on_disk = load_mot_txt(path)
            assert on_disk[:, 0].tolist() == [f + 1 for f in range(frame + 1) for _ in (1, 2)]
        writer.write_rows(np.array([[4, 7, 1, 2, 3, 4, 0.5]]))
        writer.flush()
        assert load_mot_txt(path)[-1, :7].tolist() == [4, 7, 1, 2, 3, 4, 0.5]
    finally:
        writer.close()
