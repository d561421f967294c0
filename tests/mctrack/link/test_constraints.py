"""Unit tests of the linking distances and their constraints (:mod:`mctrack.link.constraints`).

Identity homographies make a box's bottom centre its ground position in metres, so every expected distance below
is worked out by hand from the feet the tracklets are given.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mctrack.errors import InputError
from mctrack.link.constraints import (
    LinkConstraints,
    TrackletTable,
    Transit,
    _end_positions,
    candidate_pairs,
    cross_distances,
    foot_points_to_ground,
    load_ground_homography,
)
from mctrack.types import Tracklet

EYE = {"cam1": np.eye(3), "cam2": np.eye(3)}


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def walk(camera: str, tid: int, times, feet, app=(1.0, 0.0)) -> Tracklet:
    """A tracklet seen at ``times`` (seconds) with box bottom centres ``feet`` ((T, 2) or one (x, y) for all)."""
    times = np.asarray(times, np.float64)
    feet = np.broadcast_to(np.asarray(feet, np.float64), (len(times), 2))
    boxes = np.c_[feet[:, 0] - 1.0, feet[:, 1] - 5.0, feet[:, 0] + 1.0, feet[:, 1]]
    frames = np.round(times * 1000).astype(np.int64)
    if app is None:
        return Tracklet(camera, tid, frames, boxes, times)
    mean = unit(app)
    return Tracklet(camera, tid, frames, boxes, times, embeddings=mean[None], mean_embedding=mean)


def seconds(start: float, end: float, fps: float = 10.0) -> np.ndarray:
    return np.arange(int(round(start * fps)), int(round(end * fps)) + 1) / fps


@pytest.mark.parametrize(("min_s", "max_s"), [(5.0, 2.0), (-1.0, 2.0)])
def test_transit_windows_need_a_non_negative_minimum_not_above_the_maximum(min_s, max_s):
    """A transit window is ``0 <= min_s <= max_s`` seconds: an inverted or negative window is refused, not turned
    into a rule that forbids every pair (or none)."""
    with pytest.raises(ValueError, match="min_s, max_s"):
        Transit("cam1", "cam2", min_s, max_s)
    assert Transit("cam1", "cam2", 2.0, 2.0).max_s == 2.0  # a single instant is a valid window


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ground_weight": -0.1}, "ground_weight"),
        ({"ground_weight": 1.5}, "ground_weight"),
        ({"same_camera_factor": 0.5}, "same_camera_factor"),
        ({"time_step": 0.0}, "time_step"),
        ({"min_common": 0}, "min_common"),
        ({"homographies": {"cam1": np.array([[1.0, 0, 0], [0, np.nan, 0], [0, 0, 1]])}}, "homographies"),
        ({"homographies": {"cam1": np.diag([1.0, 1.0, np.inf])}}, "homographies"),
    ],
)
def test_link_constraints_refuse_settings_outside_their_documented_ranges(kwargs, match):
    """ground_weight in [0, 1], same_camera_factor >= 1, time_step > 0, min_common >= 1 and finite homographies
    (the class docstring): anything else is a ValueError naming the setting."""
    with pytest.raises(ValueError, match=match):
        LinkConstraints(**kwargs)


def test_load_ground_homography_reads_either_direction_and_refuses_unusable_files(tmp_path):
    """``H_image_to_ground`` is taken as it is, ``H_ground_to_image`` inverted; a missing, non-JSON, keyless,
    misshapen, non-finite or singular calibration is an InputError naming the problem."""
    h = np.array([[0.02, 0.001, -3.0], [0.0005, 0.05, -10.0], [0.0, 0.0004, 1.0]])
    f = tmp_path / "calib.json"
    f.write_text(json.dumps({"H_image_to_ground": h.tolist()}))
    np.testing.assert_array_equal(load_ground_homography(f), h)
    f.write_text(json.dumps({"H_ground_to_image": np.linalg.inv(h).tolist()}))
    np.testing.assert_allclose(load_ground_homography(f), h, rtol=1e-9, atol=1e-12)
    bad = {
        "not found": None,
        "not a JSON file": "{",
        "expected a JSON object": "[1, 2]",
        "no H_image_to_ground": json.dumps({"K": 1}),
        "must be a 3x3 matrix": json.dumps({"H_image_to_ground": [[1, 0], [0, 1]]}),
        "non-finite": json.dumps({"H_image_to_ground": [[1, 0, 0], [0, "NaN", 0], [0, 0, 1]]}).replace('"NaN"', "NaN"),
        "singular (rank 2)": json.dumps({"H_image_to_ground": [[1, 0, 0], [0, 1, 0], [1, 1, 0]]}),
    }
    for problem, text in bad.items():
        g = tmp_path / "missing.json" if text is None else tmp_path / "bad.json"
        if text is not None:
            g.write_text(text)
        with pytest.raises(InputError, match=re.escape(problem)):
            load_ground_homography(g)


def test_foot_points_do_not_depend_on_the_homographys_scale_or_sign():
    """A homography is defined up to a non-zero scale, negative ones included: ``-H`` and ``3 H`` give the same
    ground positions as ``H``; only points on the horizon line (w = 0) are NaN."""
    h = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    boxes = np.array([[0.0, 0.0, 2.0, 4.0], [10.0, 20.0, 14.0, 30.0]])
    want = [[3.0, 8.0], [25.0, 60.0]]  # bottom centres (1, 4) and (12, 30) through h
    for scale in (1.0, -1.0, 3.0, -0.5):
        np.testing.assert_allclose(foot_points_to_ground(boxes, scale * h), want)


def test_cosine_distance_of_two_identical_appearances_is_zero_never_negative():
    """The appearance distance is ``1 - cos`` in [0, 2] (module docstring): for float32 unit vectors whose float64
    dot product rounds to just above 1 it is clipped to 0, not a small negative distance."""
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(20, 8))
    a = [walk("cam1", i, [0.0, 0.1], (0.0, 0.0), look) for i, look in enumerate(looks)]
    b = [walk("cam2", i, [0.0, 0.1], (0.0, 0.0), look) for i, look in enumerate(looks)]
    d = cross_distances(a, b)
    assert d.min() >= 0.0 and d.max() <= 2.0
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-6)


def test_tracklets_without_appearance_are_at_distance_one_on_either_side():
    """Tracklets without appearance get appearance distance 1 (no evidence either way), whichever side of the
    comparison they are on, and also when the other side's appearances have another dimension than the
    placeholder table of a set without any."""
    with_app = walk("cam1", 1, [0.0, 0.1], (0.0, 0.0), (1.0, 0.0, 0.0))
    without = walk("cam2", 1, [0.0, 0.1], (0.0, 0.0), None)
    assert cross_distances([with_app], [without])[0, 0] == 1.0
    assert cross_distances([without], [with_app])[0, 0] == 1.0
    both = walk("cam2", 2, [0.0, 0.1], (0.0, 0.0), (1.0, 0.0, 0.0))
    np.testing.assert_array_equal(cross_distances([with_app], [without, both]), [[1.0, 0.0]])


def test_tracklet_table_without_any_appearance_has_the_dimension_it_is_asked_for():
    """``TrackletTable.of(ts, dim)``: a set without appearance gets zero rows of ``dim`` columns (an online
    gallery's width), marked as having no appearance."""
    ts = [walk("cam1", 1, [0.0], (0.0, 0.0), None), walk("cam2", 1, [0.0], (0.0, 0.0), None)]
    table = TrackletTable.of(ts, dim=8)
    assert table.mean.shape == (2, 8) and not table.mean.any() and not table.has.any()
    assert TrackletTable.of(ts).mean.shape == (2, 1)


def test_same_camera_tracklets_that_touch_in_time_overlap():
    """One camera cannot see one person twice at the same moment: a tracklet starting at the very time another
    ends (exactly, or up to float rounding, 0.1 + 0.2 against 0.3) overlaps it and the pair is forbidden."""
    a = walk("cam1", 1, [0.1, 0.2, 0.3], (5.0, 5.0))
    b = walk("cam1", 2, [0.1 + 0.2, 0.4], (5.0, 5.0))
    c = walk("cam1", 3, [0.3, 0.4], (5.0, 5.0))
    later = walk("cam1", 4, [0.5, 0.6], (5.0, 5.0))
    d = cross_distances([a], [b, c, later])[0]
    assert np.isinf(d[0]) and np.isinf(d[1]) and np.isfinite(d[2])


def test_transit_windows_include_their_bounds_and_leave_simultaneous_pairs_alone():
    """The gap (end of the earlier to start of the later) may be anywhere in [min_s, max_s], bounds included; the
    window applies only to tracklets that do not overlap in time (two cameras seeing one person at once)."""
    c = LinkConstraints(transit=(Transit("cam1", "cam2", 2.0, 5.0),))
    a = walk("cam1", 1, seconds(0.0, 3.0), (5.0, 5.0))
    at_min = walk("cam2", 1, seconds(5.0, 6.0), (5.0, 5.0))  # gap 2 s
    inside = walk("cam2", 2, seconds(5.5, 6.0), (5.0, 5.0))  # gap 2.5 s
    at_max = walk("cam2", 3, seconds(8.0, 9.0), (5.0, 5.0))  # gap 5 s
    just_over = walk("cam2", 4, seconds(8.1, 9.0), (5.0, 5.0))  # gap 5.1 s
    together = walk("cam2", 5, seconds(1.0, 2.0), (5.0, 5.0))  # seen at the same time
    d = cross_distances([a], [at_min, inside, at_max, just_over, together], c)[0]
    np.testing.assert_array_equal(np.isfinite(d), [True, True, True, False, True])
    assert d[4] == 0.0


def test_walking_speed_check_allows_max_ground_dist_of_slack():
    """A later tracklet must start within ``max_speed * gap + max_ground_dist`` metres of where the earlier one
    ended: at 2 m/s with 1 m of slack, 1 s after the end 2.5 m away is possible, 3.5 m is not."""
    c = LinkConstraints(homographies=EYE, max_speed=2.0, max_ground_dist=1.0)
    a = walk("cam1", 1, seconds(0.0, 2.0), (10.0, 5.0))
    near = walk("cam2", 1, seconds(3.0, 4.0), (12.5, 5.0))
    far = walk("cam2", 2, seconds(3.0, 4.0), (13.5, 5.0))
    d = cross_distances([a], [near, far], c)[0]
    assert np.isfinite(d[0]) and np.isinf(d[1])


def test_walking_speed_check_ignores_pairs_seen_at_the_same_time():
    """Two cameras seeing one walker at once (overlapping in time, 0.5 m apart all along) are judged by the ground
    check, not by the walking-speed check, even though the second view ends 30 m from where the first began."""
    c = LinkConstraints(homographies=EYE)
    t_a, t_b = seconds(0.0, 10.0), seconds(5.0, 15.0)
    a = walk("cam1", 1, t_a, np.c_[2.0 * t_a, np.full(len(t_a), 5.0)], (1.0, 0.3))
    b = walk("cam2", 1, t_b, np.c_[2.0 * t_b + 0.5, np.full(len(t_b), 5.0)], (1.0, 0.0))
    plain = cross_distances([a], [b])[0, 0]
    # median ground distance 0.5 of max 2: the distance times 1 - 0.5 * (1 - 0.5 / 2)
    assert cross_distances([a], [b], c)[0, 0] == pytest.approx(plain * 0.625)


def test_ground_agreement_lowers_the_distance_linearly_and_the_limit_itself_is_allowed():
    """Simultaneous views ``g`` metres apart: ``d_app * (1 - ground_weight * (1 - g / max_ground_dist))`` up to
    ``g = max_ground_dist`` (at most, so 2 m of 2 leaves d_app as it is), forbidden beyond."""
    c = LinkConstraints(homographies=EYE, max_ground_dist=2.0, ground_weight=0.5)
    t = seconds(0.0, 1.0)
    a = walk("cam1", 1, t, (10.0, 5.0), (1.0, 0.3))
    bs = [walk("cam2", i, t, (10.0 + g, 5.0), (1.0, 0.0)) for i, g in enumerate((0.0, 1.0, 2.0, 2.5))]
    plain = cross_distances([a], bs)[0]
    d = cross_distances([a], bs, c)[0]
    np.testing.assert_allclose(d[:3], plain[:3] * [0.5, 0.75, 1.0], rtol=1e-12)
    assert np.isinf(d[3])


def test_ground_distance_is_a_median_so_a_few_cut_boxes_do_not_forbid_a_link():
    """The median over the shared times tolerates frames whose foot point is wrong (a box cut by an occluder): two
    of five frames 10 m off leave the median at the other frames' 0.5 m (a mean would be 4.3 m, beyond 2)."""
    c = LinkConstraints(homographies=EYE)
    t = seconds(0.0, 0.4)
    a = walk("cam1", 1, t, (10.0, 5.0), (1.0, 0.3))
    b = walk("cam2", 1, t, [(10.5, 5.0), (20.0, 5.0), (10.5, 5.0), (20.0, 5.0), (10.5, 5.0)], (1.0, 0.0))
    plain = cross_distances([a], [b])[0, 0]
    assert cross_distances([a], [b], c)[0, 0] == pytest.approx(plain * 0.625)


def test_ground_positions_on_the_horizon_are_left_out_of_the_ground_check():
    """A foot point on the horizon line has no ground position (NaN): the ground check compares the other frames
    instead of turning the distance into NaN. Here ``w = 1 - 0.1 y`` maps foot (x, 5) to (2x, 10), y = 10 to
    infinity."""
    h = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -0.1, 1.0]])
    c = LinkConstraints(homographies={"cam1": h, "cam2": h})
    t = seconds(0.0, 0.4)
    a = walk("cam1", 1, t, [(10.0, 5.0), (10.0, 5.0), (10.0, 10.0), (10.0, 5.0), (10.0, 5.0)], (1.0, 0.3))
    b = walk("cam2", 1, t, (10.25, 5.0), (1.0, 0.0))  # 0.5 m from a on the ground
    plain = cross_distances([a], [b])[0, 0]
    assert cross_distances([a], [b], c)[0, 0] == pytest.approx(plain * 0.625)


def test_end_positions_are_medians_of_the_first_and_last_three_feet():
    """Start and end positions are the medians of the first / last three valid foot points (a cut box among them
    does not move them); a tracklet shorter than three frames uses the frames it has, each once."""
    c = LinkConstraints(homographies=EYE)
    xs = [0.0, 100.0, 1.0, 7.0, 50.0, 51.0, -40.0]
    long = walk("cam1", 1, seconds(0.0, 0.6), np.c_[xs, np.full(7, 5.0)])
    short = walk("cam1", 2, [0.0, 0.1], [(0.0, 5.0), (4.0, 5.0)])
    start, end = _end_positions([long, short], c)
    np.testing.assert_allclose(start, [[1.0, 5.0], [2.0, 5.0]])
    np.testing.assert_allclose(end, [[50.0, 5.0], [2.0, 5.0]])


def test_end_positions_skip_feet_on_the_horizon_to_the_first_and_last_valid_ones():
    """helper-102: the first three frames were taken and then their invalid points dropped, so a tracklet whose
    first three feet lie on the horizon had no start position (its walking-speed check skipped), against the
    docstring's "first/last ``ends`` valid foot points". With w = 1 - 0.1 y, feet at y 10 map to infinity and
    (x, 5) maps to (2x, 10)."""
    c = LinkConstraints(homographies={"cam1": np.array([[1.0, 0, 0], [0, 1.0, 0], [0, -0.1, 1.0]])})
    t = walk(
        "cam1",
        1,
        seconds(0.0, 0.7),
        [(0.0, 10.0)] * 3 + [(1.0, 5.0), (2.0, 5.0), (3.0, 5.0), (4.0, 5.0)] + [(9.0, 10.0)],
    )
    start, end = _end_positions([t], c)
    np.testing.assert_allclose(start, [[4.0, 10.0]])  # median of (2, 10), (4, 10), (6, 10)
    np.testing.assert_allclose(end, [[6.0, 10.0]])  # median of (4, 10), (6, 10), (8, 10)


def test_ground_samples_on_a_grid_coarser_than_the_frame_rate_are_compared_once_per_grid_step():
    """At 30 fps on a 0.1 s grid three frames share each grid step: each step is compared once (its first frame
    in both views, the same instant), so two walkers 0.5 m apart along their common 10 m/s path stay 0.5 m apart."""
    c = LinkConstraints(homographies=EYE, time_step=0.1)
    t = np.arange(0, 31) / 30.0
    a = walk("cam1", 1, t, np.c_[10.0 * t, np.full(len(t), 5.0)], (1.0, 0.3))
    b = walk("cam2", 1, t, np.c_[10.0 * t + 0.5, np.full(len(t), 5.0)], (1.0, 0.0))
    plain = cross_distances([a], [b])[0, 0]
    assert cross_distances([a], [b], c)[0, 0] == pytest.approx(plain * 0.625)


def test_b_alive_needs_the_current_time():
    """``b_alive`` marks tracklets still running at ``now``: without ``now`` it is a ValueError."""
    a = walk("cam1", 1, [0.0, 0.1], (0.0, 0.0))
    with pytest.raises(ValueError, match="now"):
        cross_distances([a], [a], b_alive=np.array([True]))


def test_candidate_pairs_keep_every_pair_when_ground_agreement_can_cancel_any_distance():
    """With ``ground_weight = 1`` perfect ground agreement brings any appearance distance to 0, so no pair can be
    ruled out from appearance alone: every pair is a candidate (and the distance really is 0)."""
    c = LinkConstraints(homographies=EYE, ground_weight=1.0)
    t = seconds(0.0, 0.4)
    ts = [walk("cam1", 1, t, (3.0, 5.0), (1.0, 0.0)), walk("cam2", 1, t, (3.0, 5.0), (0.0, 1.0))]
    ts.append(walk("cam2", 2, seconds(20.0, 21.0), (3.0, 5.0), (-1.0, 0.0)))
    i, j = candidate_pairs(ts, 0.1, c)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (0, 2), (1, 2)]
    assert cross_distances(ts[:1], ts[1:2], c)[0, 0] == 0.0


def test_documented_defaults_reentry_factor_walking_speed_ground_distance_and_weight():
    """docs/run.md: one camera's re-entry distance times 10, walking speed 4 m/s, simultaneous views at most
    ``max_ground_dist`` 2 m apart (the CLI's default), whose agreement lowers the distance by up to half."""
    c = LinkConstraints(homographies=EYE)
    a = walk("cam1", 1, seconds(0.0, 2.0), (10.0, 5.0), (1.0, 0.3))
    reentry = walk("cam1", 2, seconds(3.0, 4.0), (10.0, 5.0), (1.0, 0.0))
    # 2 s after a ends: reachable within 4 m/s * 2 s + 2 m = 10 m
    reach = walk("cam2", 1, seconds(4.0, 5.0), (19.5, 5.0), (1.0, 0.0))
    beyond = walk("cam2", 2, seconds(4.0, 5.0), (20.5, 5.0), (1.0, 0.0))
    close = walk("cam2", 3, seconds(0.0, 2.0), (11.9, 5.0), (1.0, 0.0))  # 1.9 m away at the same time
    apart = walk("cam2", 4, seconds(0.0, 2.0), (12.1, 5.0), (1.0, 0.0))
    same_place = walk("cam2", 5, seconds(0.0, 2.0), (10.0, 5.0), (1.0, 0.0))
    others = [reentry, reach, beyond, close, apart, same_place]
    plain = cross_distances([a], others, LinkConstraints(same_camera_factor=1.0))[0]
    d = cross_distances([a], others, c)[0]
    assert d[0] == pytest.approx(10 * plain[0])
    assert np.isfinite(d[1]) and np.isinf(d[2])
    assert np.isfinite(d[3]) and np.isinf(d[4])
    assert d[5] == pytest.approx(0.5 * plain[5])
