from __future__ import annotations

import warnings

import numpy as np
import pytest

from mctrack.registry import TRACKERS
from mctrack.track import Tracker, TrackerProtocol
from mctrack.track.tracker import apply_warp
from mctrack.types import Detections


def dets(*boxes, score=0.95):
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(b, np.full(len(b), score, np.float32))


def box(x, y=100.0, w=40.0, h=100.0):
    return [x, y, x + w, y + h]


def test_protocol_and_registry():
    t = TRACKERS.build("mctrack", frame_rate=10, max_lost_s=2.0, min_hits=3)
    assert isinstance(t, Tracker) and isinstance(t, TrackerProtocol)
    assert (t.frame_rate, t.max_age, t.min_hits) == (10.0, 20, 3)  # the keywords reach the tracker


def test_one_walker_keeps_one_id():
    t = Tracker()
    ids = set()
    for f in range(30):
        out = t.update(dets(box(10 + 5 * f)))
        assert out.frame == f
        ids.update(out.track_id.tolist())
        assert len(out) == 1 and out.det_index.tolist() == [0]
    assert ids == {1}


def test_confirmation_needs_min_hits():
    t = Tracker(min_hits=3)
    t.update(Detections.empty())  # not the first frame any more: no instant confirmation
    assert len(t.update(dets(box(10)))) == 0
    assert len(t.update(dets(box(12)))) == 0
    assert len(t.update(dets(box(14)))) == 1


def test_tentative_gives_the_frames_before_confirmation_and_nothing_else():
    t = Tracker(min_hits=3)
    assert len(t.tentative()) == 0  # before any update
    t.update(Detections.empty())  # not the first frame any more: no instant confirmation
    seen = []
    for f in range(1, 6):
        # a walker from frame 1 on, and a false positive far away in frame 2 only
        boxes = [box(10 + 2 * f)] + ([box(400)] if f == 2 else [])
        out = t.update(dets(*boxes))
        pending = t.tentative()
        assert not set(out.track_id.tolist()) & set(pending.track_id.tolist())
        seen.append((out.track_id.tolist(), pending.track_id.tolist(), pending.det_index.tolist()))
        if f == 1:
            np.testing.assert_allclose(pending.xyxy[0], box(12), atol=1e-4)  # the filtered box = the detection
            assert pending.frame == 1 and pending.score.tolist() == pytest.approx([0.95])
    # frames 1, 2: tentative (2 also the false positive, det row 1); confirmed and reported from frame 3 on
    assert seen == [([], [1], [0]), ([], [1, 2], [0, 1]), ([1], [], []), ([1], [], []), ([1], [], [])]
    t.update(Detections.empty())
    assert len(t.tentative()) == 0  # nothing matched: the walker is lost, not tentative
    t.reset()
    assert len(t.tentative()) == 0


@pytest.mark.parametrize("compete", [False, True])
def test_tentative_compete_lets_a_young_track_keep_its_person_against_a_coasting_one(compete):
    t = Tracker(min_hits=2, tentative_compete=compete)
    t.update(dets([0, 0, 10, 20]))  # frame 0: confirmed at once, then missed from frame 1 on
    # frame 1: a box too far from it to be matched (IoU 0.05) starts a tentative track
    assert len(t.update(dets([9, 0, 19, 20]))) == 0
    assert t.tentative().track_id.tolist() == [2]
    # frame 2: a box that overlaps the young track well (IoU 0.54) and the coasting one enough (IoU 0.25)
    out = t.update(dets([6, 0, 16, 20]))
    if compete:  # the young track keeps it and is confirmed; the old one stays lost
        assert out.track_id.tolist() == [2] and len(t) == 2
    else:  # the old track takes it in the first association; the young one, missed, is dropped
        assert out.track_id.tolist() == [1] and len(t) == 1


def test_tentative_compete_still_drops_a_one_off_false_positive():
    t = Tracker(min_hits=2, tentative_compete=True)
    t.update(Detections.empty())
    reported = set()
    for f in range(1, 6):
        boxes = [box(10 + 2 * f)] + ([box(400)] if f == 2 else [])
        reported.update(t.update(dets(*boxes)).track_id.tolist())
    assert reported == {1} and len(t) == 1


def test_two_instances_never_share_ids():
    a, b = Tracker(), Tracker()
    out_a = a.update(dets(box(0), box(100), box(200)))
    out_b = b.update(dets(box(0)))
    assert out_a.track_id.tolist() == [1, 2, 3]
    assert out_b.track_id.tolist() == [1]  # b's counter is its own
    a.update(dets(box(0), box(100), box(200), box(400)))
    out_a = a.update(dets(box(0), box(100), box(200), box(400)))
    assert 4 in out_a.track_id.tolist()
    a.reset()
    assert a.update(dets(box(0))).track_id.tolist() == [1]


def crossing(n=20, speed=8.0):
    """A walks right, B walks left; they meet at frame n // 2 and both turn back (a 'bounce')."""
    for f in range(n):
        k = f if f <= n // 2 else n - f
        yield dets(box(100 + speed * k), box(100 + speed * n - speed * k))


def run_crossing(tracker: Tracker, feats: np.ndarray | None):
    """Each frame of :func:`crossing` with ``feats`` (A's row, B's row); the first and the last det -> id lookups."""
    first, last = None, None
    for d in crossing():
        out = tracker.update(d, feats)
        lookup = dict(zip(out.det_index.tolist(), out.track_id.tolist()))
        first = first or lookup
        if len(lookup) == 2:
            last = lookup
    return first, last


def test_crossing_identity_kept_by_appearance_only():
    feats = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)  # A looks like e0, B like e1
    first, last = run_crossing(Tracker(appearance_thresh=0.3), feats)
    assert last == first  # det 0 (A) still has A's id after the bounce
    first_m, last_m = run_crossing(Tracker(appearance_thresh=0.3), None)
    # the constant-velocity prediction carries each track through the meeting point: motion alone swaps them
    assert last_m != first_m


def run_crossing_alike(centre: str):
    """The crossing with features that share a large common part (as colour histograms of one scene do): A and B
    are 0.02 apart in cosine distance, far closer than the tracker's threshold."""
    common, own = np.eye(3, dtype=np.float32)[0], np.eye(3, dtype=np.float32)[1:] * 0.15
    feats = common + own
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    assert 0.01 < 1.0 - float(feats[0] @ feats[1]) < 0.03
    return run_crossing(Tracker(appearance_thresh=0.3, appearance_centre=centre), feats)


def test_features_centred_on_the_scene_tell_alike_people_apart():
    first, last = run_crossing_alike("scene")
    assert last == first  # centred on the scene's mean, A and B point opposite ways: the swap is vetoed
    first_raw, last_raw = run_crossing_alike("none")
    assert last_raw != first_raw  # compared as given, 0.02 apart: motion decides, and swaps them


def test_scene_centring_leaves_a_person_alone_in_view_one_track():
    """Centred on a mean that is their own, one person's features would be their noise alone (distances near 1,
    beyond the threshold): the mean is that of the *other* tracks, and a person alone has none."""
    rng = np.random.default_rng(0)
    t = Tracker(appearance_thresh=0.3, appearance_centre="scene")
    ids = []
    for f in range(40):
        feat = np.eye(8, dtype=np.float32)[0] + rng.normal(0, 0.05, 8).astype(np.float32)
        ids += t.update(dets(box(100 + 3 * f)), feat[None] / np.linalg.norm(feat)).track_id.tolist()
    assert ids == [1] * 40 and t._next_id == 2  # every frame, one track, never another one started
    # the track's memory is kept as given (what Tracks.embedding reports): close to the features, not centred
    assert float(t._emb[0] @ np.eye(8)[0]) > 0.99


def test_scene_centring_leaves_identical_looks_to_the_boxes():
    """Two people with the same feature (a featureless frame): centred on each other they are zero vectors,
    whose direction is rounding noise; such pairs are compared as given, and neither vetoes its own track."""
    t = Tracker(appearance_thresh=0.3, appearance_centre="scene")
    feats = np.tile(np.array([[0.6, 0.8, 0.0]], np.float32), (2, 1))
    ids = [sorted(t.update(dets(box(100 + 3 * f), box(500 - 3 * f)), feats).track_id.tolist()) for f in range(30)]
    assert ids == [[1, 2]] * 30 and t._next_id == 3


def test_scene_centring_leaves_people_dressed_alike_to_the_boxes():
    """Two people dressed alike (one feature plus each frame's noise): centred on each other their features are
    noise, which would veto their own tracks; a track no further from the people beside it than a person's own
    variation is compared as given."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        t = Tracker(appearance_thresh=0.8, appearance_centre="scene")
        rows = 0
        for f in range(40):
            feats = np.eye(8, dtype=np.float32)[0] + rng.normal(0, 0.05, (2, 8)).astype(np.float32)
            feats /= np.linalg.norm(feats, axis=1, keepdims=True)
            rows += len(t.update(dets(box(100 + 3 * f), box(500 - 3 * f)), feats))
        assert t._next_id - 1 <= 4 and rows >= 76, seed  # 2 people: 8-15 tracks when residuals of noise vetoed


def test_scene_centring_compares_with_the_people_seen_beside_each_track():
    t = Tracker(min_hits=1, appearance_centre="scene")
    a, b = np.array([[1.0, 0.1, 0.0], [1.0, -0.1, 0.0]], np.float32)
    feats = np.stack([a, b]) / np.linalg.norm(np.stack([a, b]), axis=1, keepdims=True)
    t.update(dets(box(0), box(300)), feats)
    assert t._others_n.tolist() == [1, 1]  # each newborn saw the other
    assert np.allclose(t._distances_among_others(feats), 1.0 - feats @ feats.T, atol=1e-5)  # no own look known yet
    t.update(dets(box(0), box(300)), feats)  # each track's own look: unchanged, no noise
    # track 1's others are b alone: centred on b, track 1's memory points along a - b, b's feature is zero
    d = t._distances_among_others(feats)
    assert d[0, 0] < 1e-4 and d[1, 1] < 1e-4  # each its own feature
    assert d[0, 1] == pytest.approx(1.0, abs=1e-5) and d[1, 0] == pytest.approx(1.0, abs=1e-5)
    # a second box on track 1's person (overlapping its prediction) is not one of its others; b's is
    t.update(dets(box(0), box(2), box(300)), np.concatenate([feats[:1], feats]))
    # and a track born on that second box starts with b alone, not with the box of its own person beside it
    assert t._others_n.tolist() == [3, 4, 1]
    t.end_all()  # a track starts with no others but the people seen beside it: a person back alone is theirs
    t.update(dets(box(600)), feats[:1])
    assert t._others_n[-1] == 0 and t._distances_among_others(feats)[-1, 0] < 1e-4
    t.reset()
    assert t._others_sum is None and len(t._others_n) == 0


def test_scene_centring_judges_a_second_box_by_the_overlap_the_association_uses():
    a, b = box(100), [128.0, 100.0, 168.0, 200.0]  # IoU 0.18 plain, 0.39 with boxes grown by 0.3 on each side
    feats = np.array([[1.0, 0.0], [1.0, 0.0]], np.float32)
    counted = []
    for buffer in (0.0, 0.3):
        t = Tracker(min_hits=1, appearance_centre="scene", iou_buffer=buffer)
        t.update(dets(a), feats[:1])
        t.update(dets(a, b), feats)
        counted.append(int(t._others_n[0]))
    assert counted == [1, 0]  # matched on buffered overlap, the second box is not one of the track's others


def test_appearance_centre_is_fixed_at_construction():
    t = Tracker(appearance_centre="scene")
    with pytest.raises(AttributeError):
        t.appearance_centre = "none"


def test_embeddings_shape_checked():
    t = Tracker()
    with pytest.raises(ValueError, match="embeddings"):
        t.update(dets(box(0), box(100)), np.ones((3, 4), np.float32))


def test_a_refused_update_leaves_the_frame_count_as_it_was():
    t = Tracker()
    t.update(dets(box(10)))
    for bad in (np.ones((2, 8), np.float32), np.ones((1, 8, 1), np.float32)):
        with pytest.raises(ValueError, match="embeddings"):
            t.update(dets(box(11)), bad)
    with pytest.raises(TypeError, match="expected mctrack.types.Detections, got ndarray"):
        t.update(np.array([[12, 100, 52, 200, 0.9]], np.float32))
    assert t.update(dets(box(12))).frame == 1
    t.update(dets(box(14)), np.eye(1, 8, dtype=np.float32))
    with pytest.raises(ValueError, match="dimension 4 differs from earlier frames' 8"):
        t.update(dets(box(16)), np.eye(1, 4, dtype=np.float32))
    assert t.update(dets(box(16))).frame == 3


def unit(angle_deg):
    a = np.deg2rad(angle_deg)
    return np.array([[np.cos(a), np.sin(a), 0.0, 0.0]], np.float32)


@pytest.mark.parametrize("scale", [1.0, 10.0, 0.05])
def test_features_of_any_length_are_compared_as_unit_features(scale):
    # a person seen for 10 frames, then someone who looks different (cosine 0.3, distance 0.7 > half the veto
    # 0.4) standing in the same place after a 3-frame gap: only the unit-length comparison keeps them apart;
    # unnormalised features scaled by 10 used to give distance 0 to everything and hand the track over
    t = Tracker(min_hits=1, appearance_thresh=0.6)
    for _ in range(10):
        t.update(dets(box(100)), scale * unit(0))
    for _ in range(3):
        t.update(Detections.empty())
    out = t.update(dets(box(100)), scale * unit(np.rad2deg(np.arccos(0.3))))
    assert out.track_id.tolist() == [2]
    np.testing.assert_allclose(np.linalg.norm(t._emb, axis=1), 1.0, rtol=1e-5)


def test_zero_length_features_count_as_not_embedded():
    t = Tracker(min_hits=1)
    t.update(dets(box(0)), unit(0))
    memory = t._emb.copy()
    out = t.update(dets(box(3)), np.zeros((1, 4), np.float32))
    assert out.track_id.tolist() == [1]  # associated on motion
    assert np.array_equal(t._emb, memory) and np.isfinite(t._emb).all()


def test_degenerate_boxes_dropped_with_warning():
    t = Tracker()
    d = Detections(
        np.array([box(0), [50, 50, 50, 80], [60, 60, 40, 90], [np.nan, 0, 10, 10], box(300)], np.float32),
        np.full(5, 0.95, np.float32),
    )
    with pytest.warns(RuntimeWarning, match="frame 7: dropped 3 detection"):
        out = t.update(d, frame=7)
    assert sorted(out.det_index.tolist()) == [0, 4]  # det_index points into the original rows
    # warned once per tracker (a warning per frame flooded a library user's log), counted always
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in range(8, 20):
            t.update(d, frame=f)
    assert t.dropped == 13 * 3
    t.reset()
    with pytest.warns(RuntimeWarning, match="frame 0: dropped 3"):
        t.update(d, frame=0)


def test_frame_indices_must_be_whole_and_move_forward():
    t = Tracker()
    t.update(dets(box(0)), frame=np.int64(4))
    t.update(dets(box(1)), frame=6.0)  # a whole float is taken; gaps are allowed (a frame stride)
    for bad, err, match in (
        (6, ValueError, "6 is not after the previous update's frame 6: a Tracker follows one camera's frames"),
        (3, ValueError, "3 is not after"),
        (-1, ValueError, "whole 0-based frame index, got -1"),
        (7.5, ValueError, "got 7.5"),
        (float("nan"), ValueError, "got nan"),
        ("8", TypeError, "got str '8'"),
        (True, TypeError, "got bool"),
    ):
        with pytest.raises(err, match=match):
            t.update(dets(box(2)), frame=bad)
    assert len(t) == 1 and t.update(dets(box(2)), frame=7).frame == 7  # a refused call changed nothing
    t.reset()
    assert t.update(dets(box(0)), frame=0).frame == 0


def test_min_box_area_ignores_small_boxes():
    t = Tracker(min_box_area=1000)
    out = t.update(dets(box(0, w=10, h=10), box(100)))
    assert out.det_index.tolist() == [1]


def test_long_gap_without_detections():
    t = Tracker(frame_rate=10, max_lost_s=1.0)  # lost tracks live 10 frames
    assert t.update(dets(box(0))).track_id.tolist() == [1]
    for _ in range(5):
        assert len(t.update(Detections.empty())) == 0
    assert t.update(dets(box(0))).track_id.tolist() == [1]  # a short gap is bridged
    for _ in range(10):  # exactly max_age missed frames: still kept, and taken back
        assert len(t.update(Detections.empty())) == 0
    assert len(t) == 1 and t.update(dets(box(0))).track_id.tolist() == [1]
    for _ in range(11):  # one more: gone
        t.update(Detections.empty())
    assert len(t) == 0
    for _ in range(200):
        t.update(Detections.empty())
    assert len(t) == 0  # everything was removed, nothing leaks
    t.update(dets(box(0)))
    out = t.update(dets(box(0)))
    assert out.track_id.tolist() == [2]  # a new person after the long gap


def test_low_score_detections_only_extend_tracks():
    t = Tracker(high_thresh=0.5, low_thresh=0.1)
    assert len(t.update(dets(box(0), score=0.3))) == 0  # cannot start a track
    t2 = Tracker(high_thresh=0.5, low_thresh=0.1)
    t2.update(dets(box(0)))
    out = t2.update(dets(box(2), score=0.3))  # occluded: low score, same place
    assert out.track_id.tolist() == [1]


def test_low_score_detections_extend_confirmed_tracks_only_not_lost_ones():
    """The second stage (ByteTrack's) gives low-score boxes to the tracks that were tracked until the frame before:
    a lost track comes back only on a confident box."""
    t = Tracker(high_thresh=0.5, low_thresh=0.1)
    assert t.update(dets(box(0))).track_id.tolist() == [1]
    t.update(Detections.empty())  # lost
    assert len(t.update(dets(box(0), score=0.3))) == 0 and len(t) == 1  # not taken back on a low score
    assert t.update(dets(box(0))).track_id.tolist() == [1]


def test_low_score_boxes_are_matched_on_overlap_alone_within_low_match_thresh():
    for thresh, matched in ((0.5, False), (0.65, True)):
        t = Tracker(high_thresh=0.5, low_match_thresh=thresh, appearance_thresh=0.25)
        t.update(dets(box(0)), np.array([[1.0, 0.0]], np.float32))
        # IoU 0.40 with the track (1 - IoU 0.60), and a look the appearance threshold would refuse
        out = t.update(dets(box(17), score=0.3), np.array([[0.0, 1.0]], np.float32))
        assert out.track_id.tolist() == ([1] if matched else []), thresh
    # the same look on a confident box is refused (a new track starts instead): appearance counts there
    t = Tracker(high_thresh=0.5, new_track_thresh=0.9, min_hits=1, appearance_thresh=0.25)
    t.update(dets(box(0)), np.array([[1.0, 0.0]], np.float32))
    assert t.update(dets(box(2)), np.array([[0.0, 1.0]], np.float32)).track_id.tolist() == [2]


def test_tentative_tracks_are_extended_within_tentative_match_thresh():
    for thresh, ids in ((0.7, [2]), (0.8, [1])):
        t = Tracker(min_hits=3, tentative_match_thresh=thresh)
        t.update(Detections.empty())  # not the first frame: the next track is tentative
        t.update(dets(box(0)))
        t.update(dets(box(24)))  # IoU 0.25 with the young track (1 - IoU 0.75)
        assert t.tentative().track_id.tolist() == ids, thresh


def test_iou_buffer_matches_boxes_that_no_longer_overlap():
    for buffer, ids in ((0.0, [2]), (0.5, [1])):
        t = Tracker(min_hits=1, iou_buffer=buffer)
        t.update(dets(box(0)))
        assert t.update(dets(box(45))).track_id.tolist() == ids, buffer  # 5 px apart: IoU 0


def test_fuse_score_prefers_the_confident_one_of_two_overlapping_boxes():
    for fuse, chosen in ((False, 0), (True, 1)):
        t = Tracker(fuse_score=fuse, high_thresh=0.7)
        t.update(dets(box(100)))
        boxes = np.asarray([box(104), box(93)], np.float32)  # IoU 0.82 and 0.70 with the track
        out = t.update(Detections(boxes, np.asarray([0.75, 1.0], np.float32)))
        assert out.det_index.tolist() == [chosen], fuse


def test_output_box_detection_reports_the_matched_box_itself():
    t = Tracker(output_box="detection")
    rng = np.random.default_rng(0)
    for f in range(6):
        b = np.asarray(box(10 + 3 * f + rng.normal(0, 2)), np.float32)
        out = t.update(dets(b))
        np.testing.assert_array_equal(out.xyxy[0], b)


def test_a_score_of_exactly_a_threshold_passes_it():
    # scores are float32 (0.9 is 0.89999998 there): "at least the threshold" must hold for the value written
    t = Tracker(high_thresh=0.7, new_track_thresh=0.9, low_thresh=0.1, min_hits=1)
    assert t.update(dets(box(0), score=0.9)).track_id.tolist() == [1]  # starts a track
    assert t.update(dets(box(2), score=0.1)).track_id.tolist() == [1]  # a low_thresh box still extends it
    t = Tracker(high_thresh=0.7, new_track_thresh=0.9, min_hits=1)
    assert len(t.update(dets(box(0), score=0.89))) == 0  # just below: no track
    t = Tracker(high_thresh=0.7, new_track_thresh=0.7)
    assert t.appearance_needed(dets(box(0), score=0.7)).tolist() == [True]  # a high-score box: embedded


def test_a_coasting_track_keeps_its_last_size():
    """A lost track's box is predicted at its last size, not grown (or shrunk) along its size velocity: a person
    walking towards the camera who is hidden for a while comes back about as large as they were last seen."""

    def centred(h):
        return dets([200 - 0.2 * h, 200 - 0.5 * h, 200 + 0.2 * h, 200 + 0.5 * h])

    t = Tracker(match_thresh=0.4, frame_rate=30)
    for f in range(12):  # growing 6 px a frame
        t.update(centred(100 + 6 * f))
    for _ in range(8):
        t.update(Detections.empty())
    # grown along its size velocity for those 8 frames it would cover the returning box by IoU 0.6 at most, and
    # match_thresh 0.4 asks for more (without the held size the person gets a new track: checked)
    assert t.update(centred(166)).track_id.tolist() == [1] and len(t) == 1


def test_camera_motion_warp_keeps_identity():
    def run(use_warp):
        t = Tracker()
        t.update(dets(box(100)))
        t.update(dets(box(100)))
        shift = np.array([[1.0, 0.0, 150.0], [0.0, 1.0, 0.0]])  # the camera pans: everything jumps 150 px
        return t.update(dets(box(250)), warp=shift if use_warp else None).track_id.tolist()

    assert run(True) == [1]
    assert run(False) != [1]


def test_apply_warp_moves_state():
    mean = np.array([[10.0, 20.0, 30.0, 40.0, 1.0, 0.0, 0.0, 0.0]])
    cov = np.eye(8)[None]
    rot = np.array([[0.0, -2.0, 5.0], [2.0, 0.0, 0.0]])  # 90 degrees, scale 2, shift x by 5
    m, c = apply_warp(mean, cov, rot)
    np.testing.assert_allclose(m[0], [-35, 20, 60, 80, 0, 2, 0, 0])
    assert c.shape == (1, 8, 8)
    with pytest.raises(ValueError, match="warp"):
        apply_warp(mean, cov, np.eye(3))


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(high_thresh=1.5), "high_thresh"),
        (dict(low_thresh=0.7, high_thresh=0.5), "low_thresh"),
        (dict(min_hits=0), "min_hits"),
        (dict(frame_rate=0), "frame_rate"),
        (dict(output_box="kalman"), "output_box"),
        (dict(appearance_centre="training"), "appearance_centre"),
        (dict(max_lost_s=float("nan")), "max_lost_s"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Tracker(**kwargs)


def test_filtered_output_box_and_embedding_memory():
    t = Tracker(output_box="filtered")
    e = np.array([[1.0, 0.0]], np.float32)
    out = None
    for f in range(5):
        out = t.update(dets(box(10 + f)), e)
    assert out.embedding is not None and out.embedding.shape == (1, 2)
    np.testing.assert_allclose(np.linalg.norm(out.embedding, axis=1), 1.0, rtol=1e-5)
    assert not np.array_equal(out.xyxy[0], np.asarray(box(14), np.float32))  # smoothed, not the raw box
    assert abs(out.xyxy[0, 0] - 14) < 2


def test_memory_decays_per_matched_frame_also_over_frames_without_a_feature():
    """EMA memory: a feature that follows k matched frames without one (not embedded: ``--embed needed``) weighs
    as k + 1 consecutive features would, so a lazily embedded track's memory keeps pace with the person's
    appearance as an every-frame one does."""
    a = np.array([[1.0, 0.0]], np.float32)
    b = np.array([[np.cos(0.5), np.sin(0.5)]], np.float32)  # close enough to be the same person
    nan = np.full((1, 2), np.nan, np.float32)

    def memory(feats) -> np.ndarray:
        t = Tracker(ema_alpha=0.9, min_hits=1)
        out = None
        for f, e in enumerate(feats):
            out = t.update(dets(box(10 + f)), e)
        return out.embedding[0]

    lazy = memory([a, nan, nan, nan, b])  # 3 matched frames without a feature, then b
    every = memory([a, b, b, b, b])  # b on each of the 4 frames
    want = 0.9**4 * a[0] + (1 - 0.9**4) * b[0]
    np.testing.assert_allclose(lazy, want / np.linalg.norm(want), rtol=1e-5)
    assert lazy @ every > 0.999  # about the weight b gets when it arrives on every frame
    consecutive = memory([a, b])  # with every frame embedded: one step of alpha, as before
    want = 0.9 * a[0] + 0.1 * b[0]
    np.testing.assert_allclose(consecutive, want / np.linalg.norm(want), rtol=1e-5)


def test_no_warnings_on_clean_input():
    t = Tracker()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in range(3):
            t.update(dets(box(f)))


# -- embedding only what the association needs (appearance_needed) ----------------------------------------------


def lazy_update(t: Tracker, d: Detections, feats: np.ndarray, refresh: int = 5) -> tuple[object, np.ndarray]:
    """One frame where only the detections the tracker asks for get their feature (the others NaN rows)."""
    need = t.appearance_needed(d, refresh=refresh)
    emb = np.where(need[:, None], feats, np.nan).astype(np.float32)
    return t.update(d, emb), need


def test_appearance_needed_isolated_people_are_not_embedded_until_refresh():
    t = Tracker(min_hits=1)
    feats = np.eye(2, dtype=np.float32)
    d = dets(box(0), box(300))
    _, need = lazy_update(t, d, feats)
    assert need.tolist() == [True, True]  # no tracks yet: every person may be new
    needs = []
    for f in range(1, 12):
        out, need = lazy_update(t, dets(box(2 * f), box(300 + 2 * f)), feats, refresh=5)
        needs.append(int(need.sum()))
        assert sorted(out.track_id.tolist()) == [1, 2]
    # far apart and well predicted: embedded again only when their memory is 5 frames old
    assert needs == [0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0]


def test_appearance_needed_moves_the_predictions_with_the_camera():
    t = Tracker(min_hits=1)
    feats = np.eye(2, dtype=np.float32)
    for _ in range(3):
        t.update(dets(box(100), box(400)), feats)
    pan = np.array([[1.0, 0.0, 150.0], [0.0, 1.0, 0.0]])  # everything jumps 150 px
    moved = dets(box(250), box(550))
    assert t.appearance_needed(moved, warp=pan, refresh=10).tolist() == [False, False]  # each where its track goes
    assert t.appearance_needed(moved, refresh=10).tolist() == [True, True]  # without the warp: near no track


def test_appearance_needed_asks_for_neighbours_newcomers_low_scores_and_lost_tracks():
    t = Tracker(min_hits=1)
    feats = np.eye(3, dtype=np.float32)
    lazy_update(t, dets(box(0), box(15), box(300)), feats)
    lazy_update(t, dets(box(1), box(16), box(301)), feats)
    # 0 and 1 overlap each other's tracks (IoU 0.45); 2 is isolated; a newcomer at 600 is near no track
    d = dets(box(2), box(17), box(302), box(600))
    assert t.appearance_needed(d).tolist() == [True, True, False, True]
    low = Detections(d.xyxy, np.array([0.95, 0.95, 0.5, 0.95], np.float32))
    assert t.appearance_needed(low)[2] == False  # noqa: E712 - matched on IoU alone, never on appearance
    assert t.appearance_needed(d, refresh=0).tolist() == [True] * 4
    # the isolated person's track gets lost for a frame: its candidate then needs appearance
    lazy_update(t, dets(box(2), box(17)), feats[:2])
    assert t.appearance_needed(dets(box(303)))[0] == True  # noqa: E712


def test_appearance_needed_does_not_change_the_tracker():
    t = Tracker()
    t.update(dets(box(0), box(200)), np.eye(2, dtype=np.float32))
    before = (t._mean.copy(), t._cov.copy(), t._frame, t._emb_frame.copy())
    t.appearance_needed(dets(box(5), box(205)), warp=np.array([[1, 0, 3], [0, 1, 0]], np.float64))
    assert np.array_equal(before[0], t._mean) and np.array_equal(before[1], t._cov)
    assert before[2] == t._frame and np.array_equal(before[3], t._emb_frame)
    with pytest.raises(ValueError, match="refresh"):
        t.appearance_needed(dets(box(5)), refresh=-1)


def test_nan_embedding_rows_are_associated_on_motion_not_dropped():
    t = Tracker(min_hits=1)
    t.update(dets(box(0)), np.array([[1.0, 0.0]], np.float32))
    memory = t._emb.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a dropped detection
        out = t.update(dets(box(3)), np.full((1, 2), np.nan, np.float32))
    assert out.track_id.tolist() == [1]
    assert np.array_equal(t._emb, memory)  # the memory took nothing from the missing feature


def test_crossing_identity_kept_when_only_needed_detections_are_embedded():
    t = Tracker(appearance_thresh=0.3)
    feats = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    first = last = None
    embedded = 0
    for d in crossing():
        out, need = lazy_update(t, d, feats, refresh=50)
        embedded += int(need.sum())
        lookup = dict(zip(out.det_index.tolist(), out.track_id.tolist()))
        first = first or lookup
        if len(lookup) == 2:
            last = lookup
    assert last == first  # as with every detection embedded (test above): the meeting is seen
    assert embedded < 2 * 20  # and the frames where they were apart were not embedded


@pytest.mark.parametrize("gate", [True, False])
def test_motion_gate_lets_appearance_recover_near_the_prediction_but_not_across_the_image(gate):
    """A lost walker comes back without box overlap: near its Kalman prediction it is recovered by appearance;
    the same look far across the image is taken only when the motion gate is off."""
    look = np.zeros((1, 8), np.float32)
    look[0, 0] = 1.0

    def run(jump):
        t = Tracker(motion_gate=gate)
        for f in range(20):
            out = t.update(dets(box(100 + 4 * f, w=60, h=150)), look)
        assert out.track_id.tolist() == [1]
        for _ in range(15):  # occluded: the track is lost and coasts, its prediction growing vaguer
            t.update(Detections.empty(), np.zeros((0, 8), np.float32))
        x = 100 + 4 * 35 + jump  # 35 frames of walking, then a jump that leaves no overlap
        ids = []
        for f in range(3):
            ids += t.update(dets(box(x + 4 * f, w=60, h=150)), look).track_id.tolist()
        return ids

    assert run(80) == [1, 1, 1]  # no overlap with the prediction, but plausible: recovered by appearance
    far = run(500)
    if gate:
        assert 1 not in far and len(far) > 0  # implausible jump: a new track, not the lost one
    else:
        assert far == [1, 1, 1]


def test_a_box_detected_twice_is_matched_deterministically():
    """Duplicate boxes (a detector without NMS) tie exactly: the live track takes the first of them, the same on
    every run; the other starts a track of its own (the tracker does not suppress duplicates)."""
    runs = []
    for _ in range(2):
        t = Tracker()
        for f in range(5):
            t.update(dets(box(10 + 5 * f)))
        outs = [t.update(dets(box(10 + 5 * f), box(10 + 5 * f))) for f in range(5, 10)]
        runs.append([(o.track_id.tolist(), o.det_index.tolist()) for o in outs])
    assert runs[0] == runs[1]
    assert all(ids[0] == 1 and di[0] == 0 for ids, di in runs[0])


def test_noise_adapt_raises_the_process_noise_for_erratic_motion_and_lowers_it_for_smooth_motion():
    def scale(jitter: float, adapt: float) -> float:
        rng = np.random.default_rng(0)
        t = Tracker(noise_adapt=adapt, meas_adapt=0.0)  # the process noise alone
        for f in range(120):
            j = rng.normal(0, jitter, (3, 4))
            boxes = [
                box(100 + 3 * f + 200 * k + j[k, 0], 50 + 40 * k + j[k, 1], 40 + j[k, 2], 100 + j[k, 3])
                for k in range(3)
            ]
            t.update(dets(*boxes))
        assert len(t) == 3  # the three walkers' tracks live on
        return t._noise_scale

    assert scale(0.0, 0.05) < 0.5  # straight walkers: predictions beat the model's noise, which shrinks
    assert scale(6.0, 0.05) > 1.5  # jumping boxes (6 px on every side): innovations beyond the model's, it grows
    assert scale(6.0, 0.0) == 1.0  # off: the fixed model
    with pytest.raises(ValueError, match="noise_adapt"):
        Tracker(noise_adapt=1.5)


def test_noise_scale_comes_back_at_once_after_a_jolt():
    """The running NIS average is held within the scale's range: a burst of huge innovations pins the scale at
    its maximum but leaves no backlog that keeps it there after the scene calms down."""
    t = Tracker(noise_adapt=0.5)
    for _ in range(20):
        t._adapt_noise(np.full(5, 1e6))
    assert t._noise_scale == 16.0
    t._adapt_noise(np.full(5, 3.3567))
    assert t._noise_scale < 9.0  # half way back after one calm frame at rate 0.5


def test_meas_adapt_raises_the_centre_measurement_noise_for_jittery_boxes_only():
    def run(jitter: float, adapt: float) -> tuple[float, float]:
        rng = np.random.default_rng(0)
        t = Tracker(meas_adapt=adapt, output_box="filtered")
        err = []
        for f in range(150):
            j = rng.normal(0, jitter, (3, 2))
            truth = [box(100 + 3 * f + 200 * k, 50 + 40 * k) for k in range(3)]
            out = t.update(dets(*[np.add(b, [j[k, 0], j[k, 1], j[k, 0], j[k, 1]]) for k, b in enumerate(truth)]))
            if f >= 50:  # once the scale has settled: the reported centres against the true ones
                err.extend(np.abs(out.xyxy - np.asarray(truth)[out.det_index]).ravel())
        assert len(t) == 3
        return t._meas_scale, float(np.mean(err))

    clean_scale, _ = run(0.0, 0.1)
    jitter_scale, jitter_err = run(6.0, 0.1)
    fixed_scale, fixed_err = run(6.0, 0.0)
    assert clean_scale == 1.0  # boxes that follow the model: the model's noise
    assert jitter_scale > 2.0  # boxes jumping 6 px: the alternating innovations raise it
    assert fixed_scale == 1.0  # off: the fixed model
    assert jitter_err < 0.9 * fixed_err  # and the reported boxes follow the jitter less
    with pytest.raises(ValueError, match="meas_adapt"):
        Tracker(meas_adapt=-0.1)


def test_meas_adapt_pairs_a_track_only_with_its_own_previous_frame():
    t = Tracker(meas_adapt=1.0)
    t.update(dets(box(10), box(300)))
    t.update(dets(box(13), box(303)))
    rows = np.arange(2)
    t._frame += 1
    t._adapt_measurement(rows, np.array([[1.0, 1.0], [-1.0, -1.0]]))
    t._frame += 1
    t._adapt_measurement(rows, np.array([[-1.0, -1.0], [1.0, 1.0]]))  # each track flips sign: correlation -1
    assert t._meas_scale == pytest.approx(np.exp(1.0 * (-0.15 + 1.0)))
    t._frame += 2  # a frame without these tracks' matches: nothing to pair with, the scale stays
    t._adapt_measurement(rows, np.array([[1.0, 1.0], [-1.0, -1.0]]))
    assert t._meas_scale == pytest.approx(np.exp(0.85))
    t.reset()
    assert t._meas_scale == 1.0


@pytest.mark.parametrize(("speed", "n_tracks"), [(3.1, 3), (1.3, 5), (2.7, 2)])
def test_meas_adapt_ignores_rounding_noise_of_boxes_that_follow_the_model(speed, n_tracks):
    # float32 boxes moving at a constant speed: the innovations left are rounding (about 1e-6 of their spread),
    # whose sign pattern says nothing about the detector
    t = Tracker(meas_adapt=0.1)
    for f in range(150):
        t.update(dets(*[box(100 + speed * f + 200 * k, 50 + 40 * k) for k in range(n_tracks)]))
    assert t._meas_scale == 1.0


def test_meas_adapt_correlation_is_bounded_so_one_frame_cannot_jump_the_scale():
    t = Tracker(meas_adapt=10.0)  # the largest rate allowed
    t.update(dets(box(10), box(300)))
    rows = np.arange(2)
    t._frame += 1
    t._adapt_measurement(rows, np.array([[3.0, 3.0], [3.0, -3.0]]))
    t._frame += 1
    t._adapt_measurement(rows, np.array([[-0.05, -0.05], [-0.05, 0.05]]))  # small and opposite: correlation -1
    assert t._meas_scale == 16.0  # exp(10 * 0.85) capped, no overflow


def test_settings_and_warps_that_are_not_numbers_are_named():
    with pytest.raises(TypeError, match="frame_rate: expected a number in .* got str '25'"):
        Tracker(frame_rate="25")  # was numpy's "ufunc 'isfinite' not supported"
    t = Tracker()
    for warp, match in ((np.eye(3), r"got shape \(3, 3\)"), ("abc", "got str"), (np.full((2, 3), np.nan), "NaN")):
        with pytest.raises(ValueError, match=match):  # checked with no track to move too (it was accepted)
            t.update(Detections.empty(), warp=warp)
    assert t.update(Detections.empty(), warp=np.eye(2, 3)).frame == 0  # the refused calls counted no frame


def test_a_tracker_compiles_its_kernels_when_made_with_the_types_its_frames_use():
    """The kernels are compiled when a tracker is made (not in its first frame: a live stream's first frame, the
    per-frame times mctrack track reports), for the one set of argument types every caller passes: each kernel
    has one compiled signature after frames with every option (a second one would be compiled mid-stream)."""
    from mctrack.track import BoxKalman, kernels

    Tracker()
    kinds = ("iou", "propagate", "correct")
    assert all(len(getattr(kernels, k).signatures) == 1 for k in kinds)
    rng = np.random.default_rng(3)
    tracker = Tracker(kalman=BoxKalman(std_position=1, nsa=True), noise_adapt=0.1, iou_buffer=0.1)
    xy = rng.uniform(0, 500, (6, 2))
    for f in range(30):
        xy = rng.uniform(0, 500, (6, 2)) if f % 10 == 9 else xy + rng.normal(0, 2, (6, 2))
        boxes = np.c_[xy, xy + 60].astype(np.float32)
        boxes.flags.writeable = False
        emb = rng.normal(size=(6, 16)).astype(np.float32)
        tracker.update(Detections(boxes, rng.uniform(0.3, 1, 6).astype(np.float32)), emb, warp=[[1, 0, 1], [0, 1, 0]])
    assert all(len(getattr(kernels, k).signatures) == 1 for k in kinds), {
        k: getattr(kernels, k).signatures for k in kinds
    }
