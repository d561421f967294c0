"""Offline refinements: gap interpolation, Gaussian smoothing, within-camera tracklet stitching."""

import numpy as np
import pytest

from mctrack.track.postprocess import (
    FeatureMeans,
    adaptive_smooth,
    backfill,
    StitchConfig,
    camera_frames,
    filter_tracks,
    judge_tracks,
    judgement_warning,
    min_track_rows,
    from_reference,
    gaussian_smooth,
    interpolate_gaps,
    refine,
    stitch_frames,
    stitch_tracklets,
    to_reference,
)


def walk(tid, frames, x0=100.0, vx=2.0, y=50.0, w=40.0, h=100.0, conf=1.0):
    """MOT rows of one person walking right at ``vx`` px/frame."""
    f = np.asarray(list(frames), np.float64)
    rows = np.zeros((len(f), 10))
    rows[:, 0], rows[:, 1] = f, tid
    rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5], rows[:, 6] = x0 + vx * f, y, w, h, conf
    rows[:, 7:] = -1
    return rows


def test_interpolate_fills_short_gaps_only():
    rows = np.concatenate([walk(1, range(1, 6)), walk(1, range(9, 12)), walk(2, range(1, 3)), walk(2, range(20, 22))])
    out = interpolate_gaps(rows, max_gap=5)
    t1 = out[out[:, 1] == 1]
    assert t1[:, 0].tolist() == list(range(1, 12))
    np.testing.assert_allclose(t1[:, 2], 100 + 2 * t1[:, 0])  # linear motion is recovered exactly
    assert len(out[out[:, 1] == 2]) == 4  # the 17-frame gap is longer than max_gap
    # a gap of exactly max_gap frames is filled, one more is not; filled rows take the lower confidence around them
    edge = np.concatenate([walk(1, range(1, 3), conf=0.9), walk(1, range(8, 10), conf=0.6), walk(2, range(1, 3))])
    edge = np.concatenate([edge, walk(2, range(9, 11))])
    out = interpolate_gaps(edge, max_gap=5)
    t1, t2 = out[out[:, 1] == 1], out[out[:, 1] == 2]
    assert t1[:, 0].tolist() == list(range(1, 10)) and t2[:, 0].tolist() == [1, 2, 9, 10]
    np.testing.assert_allclose(t1[2:7, 6], 0.6)


def test_smooth_removes_jitter_and_keeps_linear_motion_exact():
    clean = walk(1, range(1, 101))
    noisy = clean.copy()
    rng = np.random.default_rng(0)
    noisy[:, 2:4] += rng.normal(0, 3, (100, 2))
    out = gaussian_smooth(noisy, 3.0)
    err_before = np.abs(noisy[:, 2] - clean[:, 2]).mean()
    err_after = np.abs(out[:, 2] - clean[:, 2]).mean()
    assert err_after < 0.5 * err_before
    # steady motion, including the first and last frames, is not pulled back by the kernel (local linear fit)
    np.testing.assert_allclose(gaussian_smooth(clean, 5.0)[:, 2:6], clean[:, 2:6], atol=1e-6)
    assert gaussian_smooth(noisy, 0.0)[:, 2:6].tolist() == noisy[:, 2:6].tolist()
    with pytest.raises(ValueError, match="sigma"):
        gaussian_smooth(noisy, -1)


def test_adaptive_smooth_smooths_a_steady_walk_strongly_and_a_zigzag_weakly():
    """A walker whose boxes jitter by 2% of their height gets the strongest sigma allowed; one who zigzags
    (a shaken camera, a turning person) keeps the floor sigma, because strong smoothing would bend his path."""
    rng = np.random.default_rng(1)
    steady = walk(1, range(1, 121))
    steady[:, 2:4] += rng.normal(0, 2.0, (120, 2))
    zigzag = walk(2, range(1, 121), x0=600)
    zigzag[:, 2] += 40 * np.sign(np.sin(np.arange(120) / 3.0))  # 40 px (0.4 heights) swings every few frames
    rows = np.concatenate([steady, zigzag])
    out = adaptive_smooth(rows, 2.0, 6.0, tolerance=0.03)
    for tid, sigma in ((1, 6.0), (2, 2.0)):
        got = out[out[:, 1] == tid]
        np.testing.assert_allclose(got, gaussian_smooth(rows[rows[:, 1] == tid], sigma))
    # rows keep MOT order (frame, then id) and the refinement entry point gives the same
    assert (np.diff(out[:, 0]) >= 0).all()
    np.testing.assert_allclose(refine(rows, 10.0, smooth=2.0, smooth_max=6.0, smooth_tol=0.03), out)
    np.testing.assert_allclose(refine(rows, 10.0, smooth=2.0), gaussian_smooth(rows, 2.0))  # off by default
    np.testing.assert_allclose(adaptive_smooth(rows, 2.0, 2.0), gaussian_smooth(rows, 2.0))
    assert len(adaptive_smooth(rows[:0], 2.0, 6.0)) == 0
    with pytest.raises(ValueError, match="max_sigma"):
        adaptive_smooth(rows, 3.0, 2.0)
    with pytest.raises(ValueError, match="max_sigma"):  # not silently ignored by the refinement entry point
        refine(rows, 10.0, smooth=3.0, smooth_max=2.0)
    with pytest.raises(ValueError, match="tolerance"):
        adaptive_smooth(rows, 2.0, 6.0, tolerance=float("nan"))


def test_smooth_never_makes_a_box_smaller_than_half_its_detected_size():
    # a short track whose heights fall steeply and then jump back: the local linear fit at its last frame
    # extrapolates the fall to far below that frame's own box
    rows = walk(1, range(1, 6))
    rows[:, 5] = [300, 200, 100, 20, 100]
    rows[:, 4] = 0.4 * rows[:, 5]
    out = gaussian_smooth(rows, 3.0)
    assert (out[:, 4:6] >= 0.5 * rows[:, 4:6] - 1e-9).all()
    np.testing.assert_allclose(out[-1, 4:6], 0.5 * rows[-1, 4:6])  # the floor holds it there


def test_smooth_does_not_mix_tracks():
    a, b = walk(1, range(1, 30)), walk(2, range(1, 30), x0=500, vx=-3)
    out = gaussian_smooth(np.concatenate([a, b]), 4.0)
    np.testing.assert_allclose(out[out[:, 1] == 2][:, 2], b[:, 2], atol=1e-6)


def test_stitch_joins_a_person_across_a_long_occlusion():
    rows = np.concatenate([walk(1, range(1, 40)), walk(7, range(70, 120))])  # 30 frames unseen, same path
    out, mapping = stitch_tracklets(rows, fps=25.0, config=StitchConfig(max_gap=40, max_motion=0.6))
    assert mapping == {7: 1}
    assert set(out[:, 1].tolist()) == {1}
    assert len(out) == len(rows)


def test_stitch_refuses_what_does_not_fit():
    cfg = StitchConfig(max_gap=40, max_motion=0.6)
    far = np.concatenate([walk(1, range(1, 40)), walk(2, range(70, 120), x0=600)])  # lands elsewhere
    assert stitch_tracklets(far, 25.0, cfg)[1] == {}
    late = np.concatenate([walk(1, range(1, 40)), walk(2, range(100, 140))])  # gap 60 > max_gap
    assert stitch_tracklets(late, 25.0, cfg)[1] == {}
    overlap = np.concatenate([walk(1, range(1, 40)), walk(2, range(30, 60))])  # both seen at once
    assert stitch_tracklets(overlap, 25.0, cfg)[1] == {}
    small = np.concatenate([walk(1, range(1, 40)), walk(2, range(70, 120), h=40.0, w=16.0)])  # another size
    assert stitch_tracklets(small, 25.0, cfg)[1] == {}


def test_stitch_appearance_gates_and_chains():
    rows = np.concatenate([walk(1, range(1, 30)), walk(2, range(45, 80)), walk(3, range(95, 130))])
    same = {1: np.array([1.0, 0.0]), 2: np.array([1.0, 0.0]), 3: np.array([1.0, 0.0])}
    out, mapping = stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, max_motion=0.6), same)
    assert mapping == {2: 1, 3: 1}  # a chain takes its first track's id
    other = {1: np.array([1.0, 0.0]), 2: np.array([0.0, 1.0]), 3: np.array([0.0, 1.0])}
    _, mapping = stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, max_motion=0.6, max_appearance=0.3), other)
    assert mapping == {3: 2}  # 1 -> 2 refused by appearance, 2 -> 3 kept


def _unit_at(degrees: float) -> np.ndarray:
    return np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))])


def test_stitch_appearance_gate_falls_to_the_distances_between_people_seen_at_once():
    """``negative_quantile``: where the people seen at the same time lie close together (an embedder that cannot
    tell this video's people apart), a distance the fixed gate allows no longer joins two tracks."""
    rows = [walk(1, range(1, 30)), walk(2, range(45, 80))]  # one path; their features 0.2 apart
    features = {1: _unit_at(0), 2: _unit_at(37)}
    for k in range(5):  # bystanders seen throughout, far below, 5-25 degrees from track 1's look
        rows.append(walk(10 + k, range(1, 90), y=400.0 + 120 * k, vx=0.0))
        features[10 + k] = _unit_at(5 * (k + 1))
    rows = np.concatenate(rows)
    assert stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, negative_quantile=None), features)[1] == {2: 1}
    assert stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, negative_quantile=0.05), features)[1] == {}


def test_stitch_motion_gate_grows_with_the_gap_and_checks_both_directions():
    # a parallel path 0.75 box heights below: within 0.6 x sqrt(1 + gap / fps) for a 30-frame gap, not a 2-frame one
    cfg = StitchConfig(max_gap=40, max_motion=0.6)
    long_gap = np.concatenate([walk(1, range(1, 40)), walk(2, range(70, 120), y=125.0)])
    assert stitch_tracklets(long_gap, 25.0, cfg)[1] == {2: 1}
    short_gap = np.concatenate([walk(1, range(1, 40)), walk(2, range(42, 90), y=125.0)])
    assert stitch_tracklets(short_gap, 25.0, cfg)[1] == {}
    # starts where the first track's path leads, but walks back fast: its own path does not lead to the first's end
    turned = np.concatenate([walk(1, range(1, 40)), walk(2, range(70, 120), x0=660.0, vx=-6.0)])
    assert stitch_tracklets(turned, 25.0, cfg)[1] == {}
    # the velocity at an end is fitted to its last fit_frames rows: a person who ran, then stood, is expected to stand
    stopped = np.concatenate([walk(1, range(1, 41), vx=6.0), walk(1, range(41, 61), x0=340.0, vx=0.0)])
    stopped = np.concatenate([stopped, walk(2, range(90, 130), x0=340.0, vx=0.0)])
    assert stitch_tracklets(stopped, 25.0, cfg)[1] == {2: 1}
    assert stitch_tracklets(stopped, 25.0, StitchConfig(max_gap=40, max_motion=0.6, fit_frames=60))[1] == {}


def test_stitch_cost_weighs_appearance_against_motion():
    # track 2 continues track 1's path exactly but looks 0.3 away; track 3 starts 10 px aside with the same look
    rows = np.concatenate([walk(1, range(1, 30)), walk(2, range(45, 80)), walk(3, range(45, 80), y=60.0)])
    features = {1: _unit_at(0), 2: _unit_at(45.6), 3: _unit_at(0)}
    assert stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, max_motion=0.6), features)[1] == {3: 1}
    cfg = StitchConfig(max_gap=30, max_motion=0.6, appearance_weight=0.0)
    assert stitch_tracklets(rows, 25.0, cfg, features)[1] == {2: 1}


def test_stitch_one_to_one():
    # two tracks end where one starts: only the better motion match is joined
    rows = np.concatenate([walk(1, range(1, 30)), walk(2, range(1, 30), y=60.0), walk(3, range(45, 80))])
    _, mapping = stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, max_motion=0.6))
    assert mapping == {3: 1}


def test_stitch_window_is_rounded_to_whole_frames_and_under_half_a_frame_joins_nothing():
    rows = np.concatenate([walk(1, range(1, 30)), walk(2, range(30, 60))])  # consecutive frames, 1/25 s apart
    assert StitchConfig.window(4.0, 7.0).max_gap == 28 and StitchConfig.window(0.1, 25.0).max_gap == 3
    # a frame rate written rounded (7/3 fps as 2.33333) or a broadcast rate still gives the nearest frame count
    assert StitchConfig.window(3.0, 2.33333).max_gap == 7 and StitchConfig.window(4.0, 29.97).max_gap == 120
    _, mapping = stitch_tracklets(rows, 25.0, StitchConfig.window(1 / 25, 25.0, max_motion=0.6))
    assert mapping == {2: 1}
    assert stitch_frames(0.019, 25.0) == 0 and stitch_frames(1e-9, 25.0) == 0 and stitch_frames(0.021, 25.0) == 1
    assert stitch_frames(0.05, 10.0) == 1 and stitch_frames(0.25, 10.0) == 3  # half a frame counts as one
    out, mapping = stitch_tracklets(rows, 25.0, StitchConfig.window(1e-9, 25.0, max_motion=0.6))
    assert mapping == {} and sorted(set(out[:, 1].tolist())) == [1, 2]
    for seconds, fps, message in [
        (1.0, 0.0, "fps must be"),
        (float("nan"), 25.0, "seconds must be"),
        (-1.0, 25.0, "seconds must be"),
        (1.0, -7.0, "fps must be"),
    ]:
        with pytest.raises(ValueError, match=f"stitching window: {message}"):
            StitchConfig.window(seconds, fps)


def test_stitch_config_checks():
    with pytest.raises(ValueError, match="max_gap"):
        StitchConfig(max_gap=-1)
    with pytest.raises(ValueError, match="max_motion"):
        StitchConfig(max_motion=float("nan"))
    with pytest.raises(ValueError, match="fps"):
        stitch_tracklets(walk(1, range(3)), 0.0)


def test_feature_means_skip_unmatched_rows():
    m = FeatureMeans()
    m.add(np.array([1, 2]), np.array([[1.0, 0.0], [np.nan, np.nan]]))
    m.add(np.array([1]), np.array([[0.0, 1.0]]))
    m.add(np.array([3]), np.zeros((1, 0)))
    means = m.means()
    assert set(means) == {1}
    np.testing.assert_allclose(means[1], [np.sqrt(0.5), np.sqrt(0.5)])


def test_backfill_adds_the_confirmed_tracks_tentative_rows_only():
    rows = np.concatenate([walk(1, range(3, 10)), walk(2, range(5, 8))])
    tentative = np.concatenate([walk(1, range(1, 3)), walk(5, [4]), walk(2, [4, 5])])  # 5: never confirmed
    out = backfill(rows, tentative)
    assert out[out[:, 1] == 1][:, 0].tolist() == list(range(1, 10))
    assert out[out[:, 1] == 2][:, 0].tolist() == [4, 5, 6, 7]  # frame 5 once: the reported row is kept
    assert 5 not in out[:, 1]
    assert (np.diff(out[:, 0]) >= 0).all()  # sorted by frame
    assert len(rows) == 10 and len(tentative) == 5  # inputs untouched
    np.testing.assert_array_equal(backfill(rows, None), rows)
    np.testing.assert_array_equal(backfill(rows, np.zeros((0, 10))), rows)
    with pytest.raises(ValueError, match="tentative"):
        backfill(rows, np.zeros((3, 4)))
    # refine adds them before the other refinements: the gap between a tentative row and the rest is filled
    gap = np.concatenate([walk(1, [1]), walk(1, range(3, 10))])
    filled = refine(walk(1, range(3, 10)), 25.0, tentative=walk(1, [1]), interpolate=2)
    np.testing.assert_allclose(filled, interpolate_gaps(gap, 2))


def test_filter_tracks_drops_tracks_whose_mean_score_is_low():
    rows = np.concatenate([walk(1, range(1, 9), conf=0.95), walk(2, range(1, 5), conf=0.6), walk(3, range(1, 3))])
    rows[rows[:, 1] == 2, 6] = [0.95, 0.7, 0.6, 0.55]  # started by one confident box, weak after: mean 0.7
    out = filter_tracks(rows, 0.9)
    assert sorted(set(out[:, 1].tolist())) == [1, 3]
    np.testing.assert_array_equal(out, rows[rows[:, 1] != 2])  # the kept rows as they were, in their order
    np.testing.assert_array_equal(filter_tracks(rows, 0.0), rows)
    assert sorted(set(filter_tracks(rows, 0.69)[:, 1].tolist())) == [1, 2, 3]  # its mean 0.7 passes 0.69
    assert len(filter_tracks(np.zeros((0, 10)), 0.9)) == 0
    # a track scoring exactly the threshold throughout is kept, also after the float32 storage of its scores
    exact = walk(4, range(1, 8), conf=float(np.float32(0.9)))
    assert len(filter_tracks(exact, 0.9)) == 7
    exact[0, 6] = float(np.float32(0.8999))
    assert len(filter_tracks(exact, 0.9)) == 0
    for t in (0.6, 0.3, 0.9):  # as read back from a result file (float64) and as the tracker keeps them (float32)
        for score in (t, float(np.float32(t))):
            assert len(filter_tracks(walk(5, range(1, 8), conf=score), t)) == 7, (t, score)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="min_mean_score"):
            filter_tracks(rows, bad)
    # refine judges the tracks with their backfilled rows, before it stitches or fills anything
    tentative = walk(2, [0], conf=1.0)
    kept = refine(rows, 25.0, tentative=tentative, min_track_score=0.75, interpolate=5)
    assert 2 in kept[:, 1]  # mean (0.95 + 0.7 + 0.6 + 0.55 + 1.0) / 5 = 0.76
    assert 2 not in refine(rows, 25.0, min_track_score=0.75)[:, 1]
    # the backfilled rows counted are those of the tracks kept: track 2's is dropped with it
    tentative = np.concatenate([walk(1, [0], conf=0.95), walk(2, [0], conf=0.1)])  # track 2's mean: 0.58
    for fill in (0, 5):  # refine's two paths: judging only, and judging among the other refinements
        counts: dict[str, int] = {}
        kept = refine(rows, 25.0, tentative=tentative, min_track_score=0.75, interpolate=fill, counts=counts)
        assert counts == {"backfilled": 1, "stitched": 0, "weak": 1, "short": 0} and 2 not in kept[:, 1]
        assert 0 in kept[kept[:, 1] == 1][:, 0]


def test_short_tracks_are_dropped_by_the_time_they_were_seen():
    # track 1: 8 rows, track 2: 4 rows (one of them backfilled), track 3: 2 rows with a gap of 3 frames between
    rows = np.concatenate([walk(1, range(1, 9)), walk(2, range(2, 5)), walk(3, [1, 5])])
    out = filter_tracks(rows, 0.0, 4)
    assert sorted(set(out[:, 1].tolist())) == [1]  # rows are counted, not the frames a track spans
    np.testing.assert_array_equal(out, rows[rows[:, 1] == 1])
    np.testing.assert_array_equal(filter_tracks(rows, 0.0, 3), rows[rows[:, 1] != 3])
    for no_limit in (0, 1):
        np.testing.assert_array_equal(filter_tracks(rows, 0.0, no_limit), rows)
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match="min_rows"):
            filter_tracks(rows, 0.0, bad)
    # seconds at the frame rate, rounded up: 0.5 s is 4 rows at 7 fps and 13 at 25 fps, never fewer than 1
    assert [min_track_rows(0.5, 7.0), min_track_rows(0.5, 25.0), min_track_rows(0.2, 10.0)] == [4, 13, 2]
    assert min_track_rows(0.0, 30.0) == 1 and min_track_rows(0.01, 1.0) == 1
    with pytest.raises(ValueError, match="min_track_s"):
        min_track_rows(-0.5, 25.0)
    with pytest.raises(ValueError, match="fps"):
        min_track_rows(0.5, 0.0)
    # refine: weak tracks first, then short ones of those left, each counted; a backfilled row counts as seen
    rows[rows[:, 1] == 1, 6] = 0.5  # track 1 is long but weak
    for fill in (0, 5):
        counts: dict[str, int] = {}
        kept = refine(
            rows, 10.0, tentative=walk(2, [1]), min_track_score=0.9, min_track_s=0.4, interpolate=fill, counts=counts
        )
        assert sorted(set(kept[:, 1].tolist())) == [2]  # 4 rows with the backfilled one: 0.4 s at 10 fps
        assert counts["weak"] == 1 and counts["short"] == 1 and counts["backfilled"] == 1
    assert 2 not in refine(rows, 10.0, min_track_s=0.4)[:, 1]  # without its first frame: 3 rows
    # a stitched chain is judged whole: two 3-row fragments of one walk make a 6-row track
    parts = np.concatenate([walk(1, range(1, 4)), walk(5, range(6, 9))])
    joined = refine(parts, 10.0, stitch=StitchConfig(max_gap=5), min_track_s=0.5)
    assert set(joined[:, 1].tolist()) == {1} and len(joined) == 6


def test_refine_order_stitch_then_fill_then_smooth():
    rows = np.concatenate([walk(1, range(1, 40)), walk(7, range(60, 100))])
    out = refine(rows, 25.0, stitch=StitchConfig(max_gap=30), interpolate=25, smooth=2.0)
    assert set(out[:, 1].tolist()) == {1}
    assert out[:, 0].tolist() == list(range(1, 100))  # the stitched gap was filled
    np.testing.assert_allclose(out[:, 2], 100 + 2 * out[:, 0], atol=1e-6)
    counts: dict[str, int] = {}  # a backfilled row of a track stitched into another is counted with its chain
    refine(rows, 25.0, stitch=StitchConfig(max_gap=30), tentative=walk(7, [59]), min_track_score=0.5, counts=counts)
    assert counts == {"backfilled": 1, "stitched": 1, "weak": 0, "short": 0}


def shaking_camera(n=80, seed=0):
    """A camera that shakes (shifts of up to ~20 px a frame) and zooms slowly: ``(warps, offset, scale)`` where a
    point p of the first frame is seen at ``scale[t] * p + offset[t]`` in frame t (0-based)."""
    rng = np.random.default_rng(seed)
    offset = np.cumsum(rng.normal(0, 8, (n, 2)), axis=0)
    offset[0] = 0
    scale = 1.003 ** np.arange(n)
    warps = {}
    for t in range(1, n):  # frame t-1 pixels -> frame t pixels
        k = scale[t] / scale[t - 1]
        warps[t] = np.array([[k, 0, offset[t, 0] - k * offset[t - 1, 0]], [0, k, offset[t, 1] - k * offset[t - 1, 1]]])
    return warps, offset, scale


def seen_by(rows, offset, scale):
    """World rows (first-frame pixels) as the moving camera sees them."""
    out = rows.copy()
    t = rows[:, 0].astype(int) - 1
    cx, cy = rows[:, 2] + rows[:, 4] / 2, rows[:, 3] + rows[:, 5] / 2
    w, h = rows[:, 4] * scale[t], rows[:, 5] * scale[t]
    out[:, 2] = scale[t] * cx + offset[t, 0] - w / 2
    out[:, 3] = scale[t] * cy + offset[t, 1] - h / 2
    out[:, 4], out[:, 5] = w, h
    return out


def test_camera_frames_chain_the_warps_and_round_trip():
    warps, offset, scale = shaking_camera()
    world = walk(1, range(1, 81), x0=300.0, vx=1.5)
    image = seen_by(world, offset, scale)
    frames = camera_frames(warps, 80)
    np.testing.assert_allclose(to_reference(image, frames), world, atol=1e-6)  # back in the first frame's pixels
    np.testing.assert_allclose(from_reference(world, frames), image, atol=1e-6)
    # a fixed camera (identity warps, or none) is no camera path at all: the boxes are left exactly as they are
    assert camera_frames({t: np.eye(2, 3) for t in range(1, 80)}, 80) is None and camera_frames({}, 80) is None
    assert to_reference(image, None).tolist() == image.tolist()
    with pytest.raises(ValueError, match="not an invertible"):
        camera_frames({3: np.zeros((2, 3))}, 80)
    with pytest.raises(ValueError, match="beyond the 50 frames"):
        to_reference(image, camera_frames(warps, 50))


def test_refinements_of_a_moving_camera_run_stabilised():
    """Smoothing a shaking camera's boxes in image coordinates averages the shake into them; with the warps the
    boxes are smoothed where the person is (here: walking steadily), and the shake is kept."""
    warps, offset, scale = shaking_camera()
    world = walk(1, range(1, 81), x0=300.0, vx=1.5)
    truth = seen_by(world, offset, scale)
    noisy = truth.copy()
    noisy[:, 2:4] += np.random.default_rng(1).normal(0, 1.0, (80, 2))  # detector jitter

    def err(rows):
        return np.abs(rows[:, 2:6] - truth[:, 2:6]).max()

    blind = refine(noisy, 25.0, smooth=2.0)  # as before: the shake is smoothed away with the jitter
    stabilised = refine(noisy, 25.0, smooth=2.0, warps=warps)
    assert err(blind) > 8 and err(stabilised) < err(noisy) < 5
    # a gap is filled along the person's path, not along the camera's
    gappy = np.delete(noisy, range(30, 36), axis=0)
    gap_err = np.abs(refine(gappy, 25.0, interpolate=10, warps=warps)[30:36, 2:6] - truth[30:36, 2:6]).max()
    blind_gap_err = np.abs(refine(gappy, 25.0, interpolate=10)[30:36, 2:6] - truth[30:36, 2:6]).max()
    assert gap_err < 3 and blind_gap_err > 2 * gap_err
    # fixed camera: identity warps change nothing at all
    still = {t: np.eye(2, 3) for t in range(1, 80)}
    assert refine(noisy, 25.0, smooth=2.0, warps=still).tolist() == refine(noisy, 25.0, smooth=2.0).tolist()


def test_judgement_warning_counts_both_kinds_and_names_only_the_flags_that_apply():
    both = judgement_warning(4, 4, 9, 0.9, 0.5)
    assert both.startswith("8 of 9 tracks were dropped once tracking ended (4 with a mean detection score below 0.9, ")
    assert "4 seen for less than 0.5 s)" in both and "--track-new" in both and "--min-length" in both
    assert judgement_warning(0, 5, 10, 0.9, 0.5) is None  # half: no warning
    short_only = judgement_warning(0, 6, 10, 0.0, 2.0)  # --track-score first: no mean-score judgement to name
    assert "6 of 10" in short_only and "mean" not in short_only and "--track-new" not in short_only
    weak_only = judgement_warning(3, 0, 4, 0.6, 0.0)
    assert "3 with a mean detection score below 0.6)" in weak_only and "--min-length" not in weak_only
    assert judgement_warning(0, 0, 0, 0.9, 0.5) is None


def test_judge_tracks_says_which_tracks_it_dropped_and_why():
    rows = np.concatenate([walk(1, range(10), conf=0.95), walk(2, range(3), conf=0.95), walk(3, range(2), conf=0.3)])
    kept, weak, short = judge_tracks(rows, 0.5, 5)
    assert weak.tolist() == [3] and short.tolist() == [2]  # track 3 is both: counted weak
    assert set(kept[:, 1].tolist()) == {1} and np.array_equal(kept, filter_tracks(rows, 0.5, 5))
    same, weak, short = judge_tracks(rows, 0.0, 0)
    assert same is rows or np.array_equal(same, rows)
    assert len(weak) == len(short) == 0


def test_min_track_rows_does_not_round_a_whole_number_of_frames_up_past_float_error():
    """0.28 s at 25 fps is exactly 7 frames, but ``0.28 * 25`` is 7.000000000000001 in floating point, which a bare
    ``ceil`` would take to 8 rows (0.32 s)."""
    assert 0.28 * 25 > 7 and 0.56 * 50 > 28  # the float error the rule has to absorb
    assert min_track_rows(0.28, 25.0) == 7 and min_track_rows(0.56, 50.0) == 28 and min_track_rows(1.1, 50.0) == 55


def test_a_row_before_the_first_frame_of_the_camera_path_is_an_error():
    """MOT frames are 1-based: a row of frame 0 has no camera map. It must be refused, not silently taken through
    the last frame's map (a negative index wraps around in numpy)."""
    warps, offset, scale = shaking_camera()
    frames = camera_frames(warps, 80)
    with pytest.raises(ValueError, match="rows of frame 0: MOT frames start at 1"):  # not "reach frame 3, beyond"
        to_reference(walk(1, [0, 1, 2]), frames)
    with pytest.raises(ValueError, match="rows of frame 0"):
        from_reference(walk(1, [0]), frames)
    with pytest.raises(ValueError, match="rows reach frame 81, beyond the 80 frames"):
        to_reference(walk(1, [80, 81]), frames)


def test_interpolate_without_a_gap_limit_fills_nothing_and_returns_rows_in_mot_order():
    """``max_gap = 0`` fills no gap (not an error), and like any other call returns the rows sorted by frame then id."""
    rows = np.concatenate([walk(2, [3, 1]), walk(1, [5, 1, 2])])
    out = interpolate_gaps(rows, 0)
    assert out[:, :2].tolist() == [[1, 1], [1, 2], [2, 1], [3, 2], [5, 1]]
    assert len(rows) == 5 and rows[0, 0] == 3  # input untouched


def test_interpolate_never_fills_between_two_different_tracks():
    """Track 1 ends at frame 3 and track 2 starts at frame 6: sorted by id they are neighbours with a 2-frame gap,
    but they are different people, so no row is invented for either."""
    rows = np.concatenate([walk(1, range(1, 4)), walk(2, range(6, 9), x0=400.0)])
    out = interpolate_gaps(rows, 5)
    assert len(out) == 6
    assert out[out[:, 1] == 1][:, 0].tolist() == [1, 2, 3] and out[out[:, 1] == 2][:, 0].tolist() == [6, 7, 8]


def test_interpolate_fills_the_box_size_linearly_too():
    """A person walking towards the camera grows: the filled boxes' width and height lie on the line between the
    boxes around the gap (frame 1: 40 x 100, frame 5: 60 x 140 -> frame 2: 45 x 110, frame 3: 50 x 120, frame 4:
    55 x 130), not stuck at the size before the gap."""
    rows = np.concatenate([walk(1, [1], w=40.0, h=100.0), walk(1, [5], w=60.0, h=140.0)])
    out = interpolate_gaps(rows, 3)
    assert out[:, 0].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(out[:, 4], [40, 45, 50, 55, 60])
    np.testing.assert_allclose(out[:, 5], [100, 110, 120, 130, 140])


def test_interpolate_returns_rows_sorted_by_frame_then_id():
    """MOT result files are written frame by frame: the filled rows are merged into frame order, not appended per
    track."""
    rows = np.concatenate([walk(1, [1, 4]), walk(2, [1, 2, 3, 4], x0=400.0)])
    out = interpolate_gaps(rows, 5)
    assert out[:, :2].tolist() == [[f, t] for f in (1, 2, 3, 4) for t in (1, 2)]


def _local_linear_reference(t, z, sigma):
    """Independent reference for gaussian_smooth: at each frame, a weighted least-squares line through all of the
    track's values, weights exp(-dt^2 / 2 sigma^2), evaluated at that frame."""
    out = np.empty_like(z)
    for i, ti in enumerate(t):
        near = np.ones(len(t), bool)
        dt = t[near] - ti
        sw = np.sqrt(np.exp(-0.5 * (dt / sigma) ** 2))
        a = np.stack([np.ones_like(dt), dt], axis=1) * sw[:, None]
        coef, *_ = np.linalg.lstsq(a, z[near] * sw[:, None], rcond=None)
        out[i] = coef[0]
    return out


def test_smooth_is_a_gaussian_weighted_local_line_fit_over_three_sigma_also_for_long_tracks():
    """Each smoothed centre equals a weighted least-squares line fit (Gaussian weights of ``sigma`` frames) evaluated
    at its frame, computed here independently over the whole track; the implementation may leave out frames beyond
    3 sigma (0.3% of the kernel's weight), hence the 0.05 px tolerance against 3 px jitter. The track is longer than
    the 512-row blocks the implementation works in, and has a gap, so block edges and missing frames are covered."""
    rng = np.random.default_rng(3)
    frames = np.r_[1:300, 310:700]
    rows = walk(1, frames, vx=1.0, y=200.0)
    rows[:, 2] += 30 * np.sin(frames / 25.0) + rng.normal(0, 3, len(frames))  # a curved, jittery walk
    rows[:, 3] += rng.normal(0, 3, len(frames))
    sigma = 4.0
    out = gaussian_smooth(rows, sigma)
    centre = rows[:, 2:4] + rows[:, 4:6] / 2
    expected = _local_linear_reference(rows[:, 0], centre, sigma)
    np.testing.assert_allclose(out[:, 2:4] + out[:, 4:6] / 2, expected, atol=0.05)


def test_adaptive_smooth_judges_a_track_by_its_median_residual_so_a_few_glitches_do_not_weaken_it():
    """The residual is the *median* over the track's boxes: a steady walk with three single-frame detector glitches
    (boxes 3 heights off) is still smoothed at ``max_sigma``. Most of its boxes move almost nothing; only the
    glitches and their neighbours move, which would push a mean above the tolerance."""
    rows = walk(1, range(1, 201))
    for f in (40, 100, 160):
        rows[f - 1, 2] += 300.0
    out = adaptive_smooth(rows, 1.0, 6.0, tolerance=0.03)
    np.testing.assert_allclose(out, gaussian_smooth(rows, 6.0))
    moved = np.abs(out[:, 2] - rows[:, 2]) / 100.0
    assert np.median(moved) <= 0.03 < moved.mean()  # the property the test relies on


def test_stitch_never_joins_a_track_to_one_that_starts_on_its_last_frame():
    """Two tracks seen in the same frame are two people: joining them would give one id two rows in that frame."""
    rows = np.concatenate([walk(1, range(1, 11)), walk(2, range(10, 30))])  # same path, frame 10 in both
    out, mapping = stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, max_motion=0.6))
    assert mapping == {}
    assert len(np.unique(out[:, :2], axis=0)) == len(out)  # no frame and id twice


def test_stitch_appearance_gate_uses_the_fixed_limit_with_fewer_than_ten_pairs_seen_at_once():
    """The negative quantile needs at least 10 pairs of tracks seen at the same time to mean anything; with fewer
    (here 3 bystanders: 3 overlapping pairs, plus theirs with the two fragments) the fixed gate alone applies."""
    rows = [walk(1, range(1, 30)), walk(2, range(45, 80))]
    features = {1: _unit_at(0), 2: _unit_at(37)}  # 0.2 apart: within the fixed gate 0.4
    for k in range(2):  # two bystanders seen throughout, 5 and 10 degrees from track 1
        rows.append(walk(10 + k, range(1, 90), y=400.0 + 120 * k, vx=0.0))
        features[10 + k] = _unit_at(5 * (k + 1))
    rows = np.concatenate(rows)  # overlapping pairs: (1,10) (1,11) (2,10) (2,11) (10,11) = 5 < 10
    assert stitch_tracklets(rows, 25.0, StitchConfig(max_gap=30, negative_quantile=0.05), features)[1] == {2: 1}


def test_feature_means_skip_a_row_with_any_non_finite_value():
    """A feature with one NaN component is no feature: adding it would make the track's mean NaN."""
    m = FeatureMeans()
    m.add(np.array([1, 1]), np.array([[1.0, 0.0], [np.nan, 1.0]]))
    np.testing.assert_allclose(m.means()[1], [1.0, 0.0])


def test_refine_smooths_with_only_a_maximum_strength_given():
    """``smooth_max`` without ``smooth`` chooses each track's strength between 0 and ``smooth_max`` (adaptive_smooth
    with a floor of 0); it is not silently ignored."""
    rng = np.random.default_rng(1)
    rows = walk(1, range(1, 121))
    rows[:, 2:4] += rng.normal(0, 2.0, (120, 2))
    out = refine(rows, 10.0, smooth_max=6.0)
    np.testing.assert_allclose(out, adaptive_smooth(rows, 0.0, 6.0))
    assert not np.allclose(out[:, 2:4], rows[:, 2:4])
