"""supervision interop, with the real library (skipped when it is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

sv = pytest.importorskip("supervision")

from mctrack.integrations.supervision import (  # noqa: E402
    MctrackTracker,
    from_detections,
    to_detections,
    tracks_to_sv,
)
from mctrack.types import Detections, Tracks  # noqa: E402


def test_conversions_round_trip():
    ours = Detections(
        np.array([[1, 2, 30, 80], [40, 5, 70, 90]], np.float32),
        np.array([0.9, 0.4], np.float32),
        np.array([0, 0]),
        embedding=np.eye(2, 4, dtype=np.float32),
    )
    theirs = from_detections(ours)
    assert isinstance(theirs, sv.Detections) and len(theirs) == 2
    np.testing.assert_array_equal(theirs.data["embedding"], ours.embedding)
    back = to_detections(theirs)
    np.testing.assert_array_equal(back.xyxy, ours.xyxy)
    np.testing.assert_array_equal(back.score, ours.score)
    np.testing.assert_array_equal(back.embedding, ours.embedding)  # features survive the round trip
    bare = to_detections(sv.Detections(xyxy=np.array([[0, 0, 5, 9]], np.float32)))
    assert bare.score.tolist() == [1.0] and bare.class_id.tolist() == [0]
    tracks = Tracks(
        "c", 3, np.array([7]), np.array([[0, 0, 5, 9]], np.float32), np.array([0.8], np.float32), np.array([0])
    )
    assert tracks_to_sv(tracks).tracker_id.tolist() == [7]


def _walk(frame: int) -> sv.Detections:
    """Two people walking towards each other's side, plus a one-frame false positive on frame 3."""
    xyxy = [[10 + 4 * frame, 50, 40 + 4 * frame, 130], [200 - 4 * frame, 60, 230 - 4 * frame, 140]]
    conf = [0.9, 0.85]
    if frame == 3:
        xyxy.append([120, 10, 130, 20])
        conf.append(0.95)
    n = len(xyxy)
    return sv.Detections(
        xyxy=np.array(xyxy, np.float32),
        confidence=np.array(conf, np.float32),
        class_id=np.zeros(n, int),
        data={"tag": np.arange(n)},
    )


def test_tracker_in_an_sv_loop_keeps_ids_and_data():
    tracker = MctrackTracker(frame_rate=10)
    seen = []
    for frame in range(12):
        out = tracker.update_with_detections(_walk(frame))
        assert out.tracker_id is not None and len(out.tracker_id) == len(out)
        assert set(out.data) == {"tag"}  # the input's rows, data kept
        seen.append({int(t): int(tag) for t, tag in zip(out.tracker_id, out.data["tag"])})
    later = seen[5:]
    assert all(len(s) == 2 for s in later)
    assert all(s == later[0] for s in later)  # the same two ids on the same two people every frame
    assert all(len(s) <= 2 for s in seen)  # the one-frame false positive never became a track
    tracker.reset()  # a new video: ids start again (without the reset these boxes would get new ids >= 3)
    assert tracker.update_with_detections(_walk(0)).tracker_id.tolist() == [1, 2]
    with pytest.raises(TypeError, match="detections: expected supervision.Detections"):
        tracker.update_with_detections(_walk(0).xyxy)


def test_tracker_with_an_embedder_uses_the_frame():
    tracker = MctrackTracker(reid="colorhist", frame_rate=10)
    image = np.full((200, 260, 3), 90, np.uint8)
    for frame in range(6):
        out = tracker.update_with_detections(_walk(frame), image)
    assert len(out) == 2 and tracker.embedder is not None
    # the colour histogram's own settings: 0.5 / 0.8, compared centred on the scene
    assert (tracker.tracker.appearance_thresh, tracker.tracker.appearance_centre) == (0.8, "scene")


def test_a_frame_that_is_not_an_image_array_is_a_clear_error():
    tracker = MctrackTracker(reid="colorhist", frame_rate=10)
    image = np.full((200, 260, 3), 90, np.uint8)
    # a list used to fail deep inside the crop code with "'list' object has no attribute 'ndim'"
    with pytest.raises(TypeError, match=r"image: expected a numpy array \(H, W, 3\) uint8 BGR, got list"):
        tracker.update_with_detections(_walk(0), image.tolist())
    with pytest.raises(ValueError, match=r"image: expected \(H, W, 3\) uint8 BGR, got shape \(200, 260\)"):
        tracker.update_with_detections(_walk(0), image[:, :, 0])


def test_an_embedder_without_the_frame_is_an_error_not_motion_only():
    tracker = MctrackTracker(reid="colorhist", frame_rate=10)
    calls = []
    embedder = tracker.embedder
    tracker.embedder = lambda image, dets: calls.append(len(dets)) or embedder(image, dets)
    # the sv.ByteTrack signature without the frame used to track on motion alone, without a word
    with pytest.raises(ValueError, match=r"frame: reid='colorhist' embeds the detections in the frame"):
        tracker.update_with_detections(_walk(0))
    assert len(tracker.tracker) == 0  # nothing tracked by the refused call
    assert len(tracker.update_with_detections(sv.Detections.empty())) == 0  # no detections: nothing to embed
    dets = _walk(1)
    dets.data["embedding"] = np.eye(2, 8, dtype=np.float32)  # features given: no frame needed
    tracker.update_with_detections(dets)
    assert calls == []
    with pytest.raises(ValueError, match="embedder_kwargs: given without reid"):
        MctrackTracker(embedder_kwargs={"weights": "laga_samples"})


def test_scores_outside_0_1_are_warned_about_once():
    tracker = MctrackTracker(frame_rate=10)
    dets = _walk(0)
    dets.confidence = dets.confidence * 100
    with pytest.warns(UserWarning, match=r"detections.confidence runs from .* not \[0, 1\]"):
        tracker.update_with_detections(dets)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.update_with_detections(dets)  # once per tracker


def test_a_nan_score_is_not_blamed_on_the_scale():
    """helper-60: a NaN confidence was warned about as "runs from nan to nan ... rescale the scores"; the row is the
    tracker's to drop, with its own warning, and the scale of the other scores is fine."""
    import warnings

    dets = _walk(0)
    dets.confidence = np.array([np.nan, *dets.confidence[1:]], np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MctrackTracker(frame_rate=10).update_with_detections(dets)
    said = [str(w.message) for w in caught]
    assert not any("runs from" in m for m in said)
    assert any("NaN size or score" in m for m in said)


def test_boxes_normalised_to_0_1_are_warned_about():
    """helper-60: boxes in 0-1 coordinates (another detector's convention) gave no track after the first frame and no
    word: a box under a pixel cannot be tracked."""
    tracker = MctrackTracker(frame_rate=10)
    dets = sv.Detections(
        xyxy=np.array([[0.1, 0.2, 0.2, 0.6], [0.5, 0.1, 0.6, 0.5]], np.float32), confidence=np.full(2, 0.9, np.float32)
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.update_with_detections(dets)  # one frame of them could be a far person's tiny box (helper-61)
        tracker.update_with_detections(dets)
    with pytest.warns(RuntimeWarning, match=r"boxes normalised to 0-1\? The tracker takes pixel coordinates"):
        tracker.update_with_detections(dets)  # the third frame in a row
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            tracker.update_with_detections(dets)  # once per tracker
        pixels = MctrackTracker(frame_rate=10)
        for i in range(6):  # a tiny box at the corner now and then among pixel boxes: nothing said
            pixels.update_with_detections(dets if i % 2 else _walk(i))


def test_features_given_in_data_reach_the_tracker():
    tracker = MctrackTracker(frame_rate=10)  # no embedder: the features come with the detections
    given = []
    update = tracker.tracker.update
    tracker.tracker.update = lambda dets, emb=None, **kw: given.append(emb) or update(dets, emb, **kw)
    dets = _walk(0)
    dets.data["embedding"] = np.eye(2, 8, dtype=np.float32)
    assert tracker.update_with_detections(dets).tracker_id.tolist() == [1, 2]
    np.testing.assert_array_equal(given[0], np.eye(2, 8))
    tracker.update_with_detections(_walk(1))  # none given, no embedder: motion only
    assert given[1] is None
    broken = _walk(2)
    broken.data["embedding"] = np.stack([np.full(8, np.nan, np.float32), np.zeros(8, np.float32)])
    with pytest.warns(UserWarning, match=r"2 of 2 row\(s\) are NaN, infinite or zero; .* on motion alone"):
        tracker.update_with_detections(broken)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.update_with_detections(broken)  # once per tracker


def test_a_nan_box_is_dropped_with_or_without_an_embedder():
    """helper-68: with reid set, one NaN box from the detector was a ValueError from the crop code (a video loop
    crashed), while motion only dropped the row with a warning."""
    import warnings

    image = np.full((200, 260, 3), 90, np.uint8)
    for reid in (None, "colorhist"):
        tracker = MctrackTracker(reid=reid, frame_rate=10)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for frame in range(6):
                dets = _walk(frame)
                dets.xyxy = dets.xyxy.copy()
                dets.xyxy[0] = np.nan
                out = tracker.update_with_detections(dets, image)
        assert len(out) >= 1 and not np.isnan(out.xyxy).any()  # the NaN row never comes back with an id
        assert any("NaN size or score" in str(w.message) for w in caught), reid


def test_a_frame_of_another_size_is_said_once():
    """helper-68: frames resized mid-stream (detections in the new frame's pixels) gave every person a new id, with
    nothing said."""
    import warnings

    tracker = MctrackTracker(reid="colorhist", frame_rate=10)
    small, large = np.full((200, 260, 3), 90, np.uint8), np.full((400, 520, 3), 90, np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for frame in range(8):
            tracker.update_with_detections(_walk(frame), small if frame < 4 else large)
    said = [str(w.message) for w in caught if "the first was" in str(w.message)]
    assert said == [
        "frame: 520x400 pixels, the first was 260x200; tracks are kept in the pixels of the frames before, so boxes "
        "of another scale start new tracks (resize frames to one size, or reset() for a new video; said once per "
        "tracker)"
    ]
    tracker.reset()  # a new video may have another size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker.update_with_detections(_walk(0), large)
    assert not [w for w in caught if "the first was" in str(w.message)]


def test_without_supervision_the_import_says_how_to_install_it(monkeypatch):
    """helper-83: Python's bare ModuleNotFoundError, with no word of the extra."""
    import importlib
    import sys

    from mctrack.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "supervision", None)
    monkeypatch.delitem(sys.modules, "mctrack.integrations.supervision", raising=False)
    with pytest.raises(MissingDependency, match=r'needs supervision: pip install -e "\.\[supervision\]"') as info:
        importlib.import_module("mctrack.integrations.supervision")
    assert isinstance(info.value, ImportError)  # code that guards an optional import still catches it


def test_a_supervision_that_fails_its_own_import_is_not_called_missing(tmp_path, monkeypatch):
    """helper-84: every ImportError was reported as 'needs supervision: pip install ...', a broken install too."""
    import importlib
    import sys

    from mctrack.errors import MissingDependency

    (tmp_path / "supervision.py").write_text('raise ImportError("cannot import name foo from numpy", name="numpy")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "supervision", raising=False)
    monkeypatch.delitem(sys.modules, "mctrack.integrations.supervision", raising=False)
    with pytest.raises(ImportError, match="cannot import name foo from numpy") as info:
        importlib.import_module("mctrack.integrations.supervision")
    assert not isinstance(info.value, MissingDependency)


def test_tracks_to_sv_keeps_each_tracks_matched_score():
    """mut105: ``tracks_to_sv`` documents ``confidence = the matched score``; a constant confidence (1 for every
    track) would hide which tracks were matched to weak boxes."""
    tracks = Tracks(
        "c",
        3,
        np.array([7, 9]),
        np.array([[0, 0, 5, 9], [10, 10, 20, 30]], np.float32),
        np.array([0.8, 0.35], np.float32),
        np.array([1, 0]),
    )
    out = tracks_to_sv(tracks)
    np.testing.assert_allclose(out.confidence, [0.8, 0.35])
    assert out.tracker_id.tolist() == [7, 9] and out.class_id.tolist() == [0, 0]


def test_detector_thresholds_are_the_default_and_the_callers_keywords_win():
    """mut105: the docstring promises ``mctrack run``'s thresholds for detector output (``high_thresh`` 0.5,
    ``new_track_thresh`` 0.6) by default; a keyword given to the tracker must override them, and override the
    embedder's own appearance settings too (colorhist's threshold is 0.8)."""
    default = MctrackTracker(frame_rate=10).tracker
    assert (default.high_thresh, default.new_track_thresh) == (0.5, 0.6)
    given = MctrackTracker(frame_rate=10, high_thresh=0.75, new_track_thresh=0.85).tracker
    assert (given.high_thresh, given.new_track_thresh) == (0.75, 0.85)
    tuned = MctrackTracker(reid="colorhist", frame_rate=10, appearance_thresh=0.3, appearance_centre="none").tracker
    assert (tuned.appearance_thresh, tuned.appearance_centre) == (0.3, "none")


def test_after_reset_the_next_frame_sets_the_size_and_a_later_change_is_said_again():
    """mut105: ``reset()`` starts a new video, which may have another size: its first frame becomes the reference,
    and a change of size after that is said again (the warning is once per video, not once per object)."""
    import warnings

    tracker = MctrackTracker(frame_rate=10)
    small, large = np.full((200, 260, 3), 90, np.uint8), np.full((400, 520, 3), 90, np.uint8)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        tracker.update_with_detections(_walk(0), small)
        tracker.update_with_detections(_walk(1), large)  # said for the first video
    tracker.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker.update_with_detections(_walk(0), large)  # the new video's first frame: nothing to say
        tracker.update_with_detections(_walk(1), small)
    said = [str(w.message) for w in caught if "the first was" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("frame: 260x200 pixels, the first was 520x400;")


def test_scores_on_the_edges_of_0_1_are_fine_and_negative_ones_are_warned_about():
    """mut105: 0 and 1 are valid confidences (a detector's exact 1.0, a rounded 0.0), not a scale to complain
    about; a negative confidence (logits, say) is outside [0, 1] as much as 95 is."""
    import warnings

    dets = _walk(0)
    dets.confidence = np.array([1.0, 0.0], np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MctrackTracker(frame_rate=10).update_with_detections(dets)
    assert not [w for w in caught if "runs from" in str(w.message)]
    dets.confidence = np.array([-0.25, 0.5], np.float32)
    with pytest.warns(UserWarning, match=r"detections.confidence runs from -0.25 to 0.5, not \[0, 1\]"):
        MctrackTracker(frame_rate=10).update_with_detections(dets)


def test_an_infinite_feature_row_is_warned_about_like_a_nan_one():
    """mut105: the warning names rows that are "NaN, infinite or zero"; a row with an infinite entry has an
    infinite squared norm and must be counted with the others."""
    dets = _walk(0)
    emb = np.eye(2, 8, dtype=np.float32)
    emb[1, 3] = np.inf
    dets.data["embedding"] = emb
    with pytest.warns(UserWarning, match=r"1 of 2 row\(s\) are NaN, infinite or zero"):
        MctrackTracker(frame_rate=10).update_with_detections(dets)


def test_rows_come_back_in_the_inputs_order_with_their_own_ids_when_the_detector_reorders():
    """mut105: a detector lists the same people in any order from frame to frame; the output must keep the input's
    row order (documented) and give each row its own person's id, not the ids in the tracks' order."""
    tracker = MctrackTracker(frame_rate=10)
    for frame in range(6):
        first = tracker.update_with_detections(_walk(frame))
    ids = dict(zip(first.data["tag"].tolist(), first.tracker_id.tolist()))  # tag 0: the left walker, 1: the right
    assert sorted(ids.values()) == [1, 2]
    swapped = _walk(6)[np.array([1, 0])]  # the same two people, listed the other way round
    out = tracker.update_with_detections(swapped)
    assert out.data["tag"].tolist() == [1, 0]  # the input's order
    np.testing.assert_array_equal(out.xyxy, swapped.xyxy)
    assert out.tracker_id.tolist() == [ids[1], ids[0]]  # each person keeps their id


def test_frame_rate_defaults_to_30_as_sv_bytetrack():
    """mut105: the tracker's time constants are in seconds; without ``frame_rate`` the stream is taken as 30 fps,
    the default of ``sv.ByteTrack`` whose interface this mirrors."""
    assert MctrackTracker().tracker.frame_rate == 30.0
