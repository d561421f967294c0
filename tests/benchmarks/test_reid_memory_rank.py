"""benchmarks/reid_memory_rank.py: does a query rank its own remembered appearance first?"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("reid_memory_rank")


def _scene(n_frames: int = 60, people: int = 3, noise: float = 0.05, seed: int = 0):
    """Every person in every frame, each with its own direction in feature space plus noise."""
    rng = np.random.default_rng(seed)
    frames = np.repeat(np.arange(1, n_frames + 1), people).astype(float)
    ids = np.tile(np.arange(1, people + 1), n_frames).astype(float)
    feats = np.eye(8)[ids.astype(int)] + noise * rng.standard_normal((len(ids), 8))
    return frames, ids, feats / np.linalg.norm(feats, axis=1, keepdims=True)


def test_distinct_people_rank_their_own_memory_first(bench):
    frames, ids, feats = _scene()
    acc, margin, n = bench.memory_rank(frames, ids, feats, lag=10, window=5, step=1)
    # queries: frames 11..60 (from frame 11 on, the window 10-15 frames earlier holds at least frame 1)
    assert acc == 1.0 and margin > 0.5 and n == 3 * 50


def test_a_swap_between_memory_and_query_is_counted_wrong(bench):
    frames, ids, feats = _scene()
    swapped = feats.copy()
    late = frames > 30
    a, b = late & (ids == 1), late & (ids == 2)
    swapped[a], swapped[b] = feats[b], feats[a]  # persons 1 and 2 exchange looks from frame 31 on
    acc, margin, n = bench.memory_rank(frames, ids, swapped, lag=20, window=5, step=1)
    # queries at frames 31..50 compare to memories from before the swap: persons 1 and 2 (2/3 of them) fail
    early = bench.memory_rank(frames[frames <= 30], ids[frames <= 30], swapped[frames <= 30], 20, 5, 1)
    assert early[0] == 1.0
    assert 0.3 < acc < 0.9
    one_person = bench.memory_rank(frames[ids == 1], ids[ids == 1], feats[ids == 1], 10, 5, 1)
    assert np.isnan(one_person[0]) and one_person[2] == 0  # no rival: nothing to rank


def test_scene_centring_uses_only_frames_seen_so_far(bench):
    frames, ids, feats = _scene(n_frames=20)
    centred = bench.scene_centred(frames, feats)
    changed = feats.copy()
    changed[frames > 10] = -changed[frames > 10]
    again = bench.scene_centred(frames, changed)
    assert np.allclose(centred[frames <= 10], again[frames <= 10])  # the future does not leak into the past
    assert not np.allclose(centred[frames > 10], again[frames > 10])
    assert np.allclose(np.linalg.norm(centred, axis=1), 1.0)
    # the first frame's rows are centred on that frame's own mean, whatever their order in the input
    first = frames == 1
    expect = feats[first] - feats[first].mean(0)
    assert np.allclose(centred[first], expect / np.linalg.norm(expect, axis=1, keepdims=True))


def test_weights_for_an_embedder_without_them_are_refused(bench):
    with pytest.raises(SystemExit, match="colorhist takes no weights"):
        bench.make_embedder("colorhist:laga_samples")


def test_detections_are_named_after_the_person_they_cover(bench, tmp_path):
    seq = tmp_path / "seq"
    (seq / "gt").mkdir(parents=True)
    (seq / "det").mkdir()
    gt = [[1, 7, 10, 10, 40, 100, 1, -1, -1, -1], [1, 9, 200, 10, 40, 100, 1, -1, -1, -1]]
    gt += [[2, 7, 12, 10, 40, 100, 1, -1, -1, -1], [2, 5, 100, 10, 40, 100, 0, -1, -1, -1]]  # id 5: not a person
    det = [
        [1, -1, 198, 12, 40, 98, 0.95, -1, -1, -1],  # person 9 (listed first: the order of the file is not kept)
        [1, -1, 11, 10, 40, 100, 0.9, -1, -1, -1],  # person 7
        [1, -1, 100, 10, 40, 100, 0.99, -1, -1, -1],  # no one
        [2, -1, 12, 10, 40, 100, 0.5, -1, -1, -1],  # person 7, below --min-score
        [2, -1, 100, 10, 40, 100, 0.9, -1, -1, -1],  # on the ignored (zero-marked) box only
        [2, -1, 30, 10, 40, 100, 0.9, -1, -1, -1],  # person 7 at IoU 0.29 (below 0.5)
    ]
    np.savetxt(seq / "gt" / "gt.txt", np.array(gt), delimiter=",", fmt="%g")
    np.savetxt(seq / "det" / "det.txt", np.array(det), delimiter=",", fmt="%g")
    boxes = bench.detection_boxes(seq, min_height=40, min_score=0.7)
    assert sorted(map(tuple, boxes[:, :3].tolist())) == [(1, 7, 11), (1, 9, 198)]
    assert np.allclose(boxes[boxes[:, 1] == 9, 2:6], [198, 12, 40, 98])  # the detection's box, not the truth's
    tall = bench.detection_boxes(seq, min_height=99, min_score=0.7)  # person 9's detection is 98 px tall
    assert tall[:, :2].tolist() == [[1, 7]]


def test_end_to_end_on_a_video_of_coloured_people(bench, tmp_path, capsys):
    seq = tmp_path / "TUD-Stadtmitte"
    (seq / "gt").mkdir(parents=True)
    colours = [(0, 0, 255), (0, 255, 0), (255, 0, 0)]  # BGR: three people in red, green, blue
    writer = cv2.VideoWriter(str(seq / "TUD-Stadtmitte.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 240))
    gt = []
    for f in range(1, 41):
        image = np.full((240, 320, 3), 128, np.uint8)
        for p, colour in enumerate(colours):
            x = 20 + 90 * p + f  # walking right
            image[60:180, x : x + 50] = colour
            gt.append([f, p + 1, x, 60, 50, 120, 1, 1, 1, -1])
        writer.write(image)
    writer.release()
    np.savetxt(seq / "gt" / "gt.txt", np.array(gt), delimiter=",", fmt="%g")
    argv = ["--data", str(tmp_path), "--sequences", "TUD-Stadtmitte", "--embedders", "colorhist", "--lags", "5"]
    assert bench.main(argv + ["--scene-centre"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("TUD-Stadtmitte")]
    assert [line.split()[1] for line in lines] == ["colorhist", "colorhist,"]
    for line in lines:
        assert line.split("(")[-2].split()[-1] == "100.0"  # every query ranks its own colour first
    # a one-frame memory at odd frames, of which every 2nd frame read has none: said, not printed as nan
    assert bench.main(argv[:-2] + ["--lags", "1", "--window", "0"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("TUD-Stadtmitte"))
    assert line.split()[-2:] == ["no", "query"] and "nan" not in line
    # the detections' crops: the same people, slightly shifted boxes, and a false positive in the background
    (seq / "det").mkdir()
    det = [[r[0], -1, r[2] + 3, r[3] + 2, r[4], r[5], 0.9, -1, -1, -1] for r in gt]
    det += [[f, -1, 250, 190, 30, 45, 0.95, -1, -1, -1] for f in range(1, 41)]
    np.savetxt(seq / "det" / "det.txt", np.array(det), delimiter=",", fmt="%g")
    assert bench.main(argv + ["--boxes", "detections"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("TUD-Stadtmitte"))
    assert line.split("(")[-2].split()[-1] == "100.0"
    n_queries = int(line.split(",")[-1].strip(" )"))
    # frames read 2, 4, ..., 40, queried every 3rd (2, 8, ..., 38), those with a memory 5-15 frames earlier (8-38):
    # 6 frames of three people; the false positive is no one
    assert n_queries == 6 * 3


def test_bad_input_is_one_line_before_any_network_is_built(bench, tmp_path, monkeypatch):
    def never(spec):
        raise AssertionError("an embedder was built before the data was checked")

    monkeypatch.setattr(bench, "make_embedder", never)
    with pytest.raises(SystemExit, match=r"^reid_memory_rank.py: error: .*gt.txt: file not found \(--data names"):
        bench.main(["--data", str(tmp_path / "nodata")])
    monkeypatch.undo()
    seq = tmp_path / "TUD-Stadtmitte"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,20,50,1,1,1,-1\n")
    (seq / "TUD-Stadtmitte.mp4").write_text("")
    with pytest.raises(SystemExit, match=r"^reid_memory_rank.py: error: .*det.txt: file not found"):
        bench.main(["--data", str(tmp_path), "--sequences", "TUD-Stadtmitte", "--boxes", "detections"])
    with pytest.raises(SystemExit, match=r"^reid_memory_rank.py: error: unknown embedder 'foo'"):
        bench.main(["--data", str(tmp_path), "--sequences", "TUD-Stadtmitte", "--embedders", "foo"])
