from __future__ import annotations

import numpy as np
import pytest

from mctrack.link import (
    LinkConstraints,
    OfflineLinker,
    OnlineLinker,
    Transit,
    agglomerate,
    candidate_pairs,
    canonical_order,
    cross_distances,
    foot_points_to_ground,
    identities_from_labels,
    pairwise_distances,
)
from mctrack.registry import LINKERS
from mctrack.types import Tracklet


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def make(
    camera: str, tid: int, start: float, end: float, app, *, fps: float = 10.0, x: float = 100.0, xyxy=None
) -> Tracklet:
    frames = np.arange(int(round(start * fps)), int(round(end * fps)) + 1)
    times = frames / fps
    boxes = np.tile([x, 100.0, x + 40, 200.0], (len(frames), 1)) if xyxy is None else np.tile(xyxy, (len(frames), 1))
    mean = unit(app)
    return Tracklet(camera, tid, frames, boxes, times, embeddings=mean[None], mean_embedding=mean)


def partition(identities) -> set[frozenset]:
    groups: dict[int, set] = {}
    for c, t, g in zip(identities.camera, identities.track_id, identities.global_id):
        groups.setdefault(int(g), set()).add((str(c), int(t)))
    return {frozenset(v) for v in groups.values()}


LINKER_KINDS = [("offline", {}), ("online", {"min_len": 3})]


@pytest.mark.parametrize("kind,kwargs", LINKER_KINDS)
def test_same_camera_overlapping_tracklets_never_share_an_id(kind, kwargs):
    a = make("cam1", 1, 0.0, 5.0, [1, 0, 0])
    b = make("cam1", 2, 3.0, 8.0, [1, 0, 0])  # identical look, overlaps a
    c = make("cam1", 3, 9.0, 12.0, [1, 0, 0])  # identical look, after both: may join
    linker = LINKERS.build(kind, thresh=1.9, **kwargs)  # a threshold that would merge anything allowed
    ids = linker.link([a, b, c]).lookup()
    assert ids[("cam1", 1)] != ids[("cam1", 2)]
    assert ids[("cam1", 3)] in (ids[("cam1", 1)], ids[("cam1", 2)])


@pytest.mark.parametrize("kind,kwargs", LINKER_KINDS)
def test_overlap_is_checked_against_the_whole_cluster(kind, kwargs):
    # b overlaps a in cam1; x (cam2) looks like both: it may join one of them but a and b never end up together
    a = make("cam1", 1, 0.0, 5.0, [1, 0.1, 0])
    b = make("cam1", 2, 1.0, 6.0, [1, -0.1, 0])
    x = make("cam2", 1, 0.0, 6.0, [1, 0, 0])
    ids = LINKERS.build(kind, thresh=0.5, **kwargs).link([a, b, x]).lookup()
    assert ids[("cam1", 1)] != ids[("cam1", 2)]
    assert ids[("cam2", 1)] in (ids[("cam1", 1)], ids[("cam1", 2)])


def random_scene(rng: np.random.Generator, n_people: int = 6, cameras=("cam1", "cam2", "cam3")) -> list[Tracklet]:
    looks = rng.normal(size=(n_people, 16))
    out, tid = [], {c: 0 for c in cameras}
    for p in range(n_people):
        t = float(rng.uniform(0, 5))
        for cam in rng.permutation(cameras)[: rng.integers(1, len(cameras) + 1)]:
            tid[cam] += 1
            dur = float(rng.uniform(1, 4))
            app = looks[p] + 0.15 * rng.normal(size=16)
            out.append(make(str(cam), tid[cam], round(t, 1), round(t + dur, 1), app))
            t += dur + float(rng.uniform(0.5, 3))
    return out


@pytest.mark.parametrize("kind,kwargs", LINKER_KINDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_camera_order_does_not_change_the_result(kind, kwargs, seed):
    rng = np.random.default_rng(seed)
    tracklets = random_scene(rng)
    base = LINKERS.build(kind, thresh=0.3, **kwargs).link(tracklets)
    assert len(set(base.global_id.tolist())) < len(tracklets)  # something was linked
    for perm_seed in range(3):
        order = np.random.default_rng(perm_seed).permutation(len(tracklets))
        again = LINKERS.build(kind, thresh=0.3, **kwargs).link([tracklets[i] for i in order])
        assert again.lookup() == base.lookup()  # same partition and even the same global ids


def test_online_and_offline_agree_on_an_easy_scene():
    rng = np.random.default_rng(3)
    looks = np.eye(5)
    tracklets, truth = [], {}
    for p in range(5):
        for k, cam in enumerate(("cam1", "cam2", "cam3")):
            start = 2.0 * p + 4.0 * k
            t = make(cam, p + 1, start, start + 2.5, looks[p] + 0.05 * rng.normal(size=5))
            tracklets.append(t)
            truth[(cam, p + 1)] = p
    offline = OfflineLinker(thresh=0.3).link(tracklets)
    online = OnlineLinker(thresh=0.3, min_len=5).link(tracklets)
    expected = {frozenset(k for k, v in truth.items() if v == p) for p in range(5)}
    assert partition(offline) == expected
    assert partition(online) == expected


def test_online_ids_are_fixed_when_assigned():
    linker = OnlineLinker(thresh=0.3, min_len=1)
    a = make("cam1", 1, 0.0, 2.0, [1, 0])
    assert linker.assign(a) == 1
    assert linker.assign(make("cam2", 1, 3.0, 4.0, [0, 1])) == 2
    assert linker.assign(make("cam2", 2, 5.0, 6.0, [1, 0.05])) == 1
    assert linker.assign(a) == 1  # asking again changes nothing
    with pytest.raises(KeyError):
        linker.update(make("cam9", 1, 0.0, 1.0, [1, 0]))
    assert len(linker.identities()) == 3


def test_online_gallery_is_bounded_by_age_and_size_but_ids_are_kept():
    linker = OnlineLinker(thresh=0.3, min_len=1, gallery_age_s=10.0, max_gallery=3)
    a = make("cam1", 1, 0.0, 2.0, [1, 0])
    assert linker.assign(a, now=2.0) == 1
    linker.update(a, finished=True)
    # within the age: the same look joins identity 1
    assert linker.assign(make("cam2", 1, 5.0, 6.0, [1, 0.02]), now=6.0) == 1
    linker.update(make("cam2", 1, 5.0, 6.0, [1, 0.02]), finished=True)
    assert len(linker) == 2
    # 20 s later both left the gallery: the same look founds a new identity, the old ids stay listed
    assert linker.assign(make("cam1", 2, 30.0, 31.0, [1, 0.01]), now=31.0) == 2
    assert len(linker) == 1 and linker.global_id("cam1", 1) == 1 and len(linker.identities()) == 3
    # size: running tracklets always stay; the finished one that ended first leaves
    for k in range(3, 7):
        t = make("cam1", k, 31.0 + k, 32.0 + k, [0, 1])
        linker.assign(t, now=32.0 + k)
        linker.update(t, finished=True)
    assert len(linker) <= 3 and linker.global_id("cam1", 2) == 2
    with pytest.raises(ValueError, match="gallery_age_s"):
        OnlineLinker(gallery_age_s=0)
    with pytest.raises(ValueError, match="max_gallery"):
        OnlineLinker(max_gallery=0)


def test_a_full_online_gallery_forgets_the_finished_tracklet_that_ended_first():
    """helper-94: "at most max_gallery" alone held when every finished tracklet left, or the newest first."""
    linker = OnlineLinker(thresh=0.3, min_len=1, gallery_age_s=None, max_gallery=3)
    for k, look in enumerate(([1, 0, 0], [0, 1, 0], [0, 0, 1]), start=1):  # ended at 1, 2 and 3 s
        t = make(f"cam{k}", 1, k - 1.0, float(k), look)
        assert linker.assign(t, now=float(k)) == k
        linker.update(t, finished=True)
    # full: the one that ended first (identity 1) leaves; identity 2's look is still there to join
    assert linker.assign(make("cam4", 1, 3.5, 4.0, [0, 1, 0.01]), now=4.0) == 2 and len(linker) == 3
    # full again: the running newcomer stays, identity 2's first tracklet (ended at 2 s) leaves; identity 1's look
    # was forgotten before and founds a new identity
    assert linker.assign(make("cam5", 1, 4.5, 5.0, [1, 0, 0.01]), now=5.0) == 4 and len(linker) == 3
    assert linker.global_id("cam1", 1) == 1  # its id is kept


def test_online_complete_linkage_needs_every_member_close_and_ties_go_to_the_older_identity():
    def two_looks(linkage: str) -> OnlineLinker:
        linker = OnlineLinker(thresh=0.35, min_len=1, linkage=linkage)
        a, b = make("cam1", 1, 0.0, 1.0, [1, 0]), make("cam2", 1, 0.0, 1.0, [1, 1])  # 0.29 apart: one identity
        assert linker.assign(a, now=1.0) == 1 and linker.assign(b, now=1.0) == 1
        return linker

    # 10 degrees from the first member, 55 from the second (distances 0.015 and 0.43): within 0.35 on average, not
    # in the worst case
    newcomer = make("cam3", 1, 2.0, 3.0, [np.cos(np.radians(10)), -np.sin(np.radians(10))])
    assert two_looks("average").assign(newcomer, now=3.0) == 1
    assert two_looks("complete").assign(newcomer, now=3.0) == 2
    # a newcomer exactly as far from two identities joins the older one
    linker = OnlineLinker(thresh=0.35, min_len=1)
    assert linker.assign(make("cam1", 1, 0.0, 1.0, [1, 0]), now=1.0) == 1
    assert linker.assign(make("cam2", 1, 0.0, 1.0, [0, 1]), now=1.0) == 2
    assert linker.assign(make("cam3", 1, 2.0, 3.0, [1, 1]), now=3.0) == 1


def test_one_cameras_tracklets_are_linked_only_when_far_closer_than_the_threshold():
    """``same_camera_factor``: the camera's tracker already bridged what it could, so two of its tracklets join only
    when their distance times the factor is within the threshold."""
    a, b = make("cam1", 1, 0.0, 1.0, [1, 0.5]), make("cam1", 2, 2.0, 3.0, [1, 0.3])  # 0.016 apart
    c = make("cam1", 3, 4.0, 5.0, [1, 0])  # 0.07-0.1 from them
    for kind in ("offline", "online"):
        ids = LINKERS.build(kind, thresh=0.2, min_len=1).link([a, b, c]).lookup()  # factor 10: 0.16 and 0.7-1.0
        assert ids[("cam1", 1)] == ids[("cam1", 2)] != ids[("cam1", 3)], kind
        flat = LINKERS.build(kind, thresh=0.2, min_len=1, constraints=LinkConstraints(same_camera_factor=1.0))
        assert len(set(flat.link([a, b, c]).lookup().values())) == 1, kind


def test_offline_tracklets_shorter_than_min_len_keep_their_own_id():
    long, short = make("cam1", 1, 0.0, 2.0, [1, 0]), make("cam2", 1, 0.0, 0.2, [1, 0])  # 21 and 3 frames
    assert len(set(OfflineLinker(thresh=0.3, min_len=1).link([long, short]).lookup().values())) == 1
    ids = OfflineLinker(thresh=0.3, min_len=5).link([long, short]).lookup()
    assert ids[("cam1", 1)] != ids[("cam2", 1)]


def test_online_running_tracklet_blocks_same_camera_newcomer():
    # a is still running (not finished) when b matures: they overlap, whatever a's known extent says
    linker = OnlineLinker(thresh=0.5, min_len=1)
    linker.assign(make("cam1", 1, 0.0, 1.0, [1, 0]), now=1.0)
    assert linker.assign(make("cam1", 2, 2.0, 2.0, [1, 0]), now=2.0) == 2
    linker.update(make("cam1", 1, 0.0, 1.5, [1, 0]), finished=True)
    assert linker.assign(make("cam1", 3, 3.0, 3.0, [1, 0]), now=3.0) in (1, 2)


def test_transit_windows():
    c = LinkConstraints(transit=(Transit("cam1", "cam2", 2.0, 5.0),))
    a = make("cam1", 1, 0.0, 3.0, [1, 0])
    inside = make("cam2", 1, 6.0, 8.0, [1, 0])  # gap 3 s
    too_soon = make("cam2", 2, 3.5, 4.0, [1, 0])  # gap 0.5 s
    too_late = make("cam2", 3, 10.0, 11.0, [1, 0])  # gap 7 s
    other = make("cam3", 1, 30.0, 31.0, [1, 0])  # no window for cam1-cam3
    d = cross_distances([a], [inside, too_soon, too_late, other], c)[0]
    assert np.isfinite(d[0]) and np.isinf(d[1]) and np.isinf(d[2]) and np.isfinite(d[3])
    d_rev = cross_distances([inside, too_soon, too_late], [a], c)[:, 0]  # both directions
    assert np.isfinite(d_rev[0]) and np.isinf(d_rev[1:]).all()


def test_ground_plane_agreement():
    # identity homographies: pixel (x, y) = ground (x, y) in metres
    c = LinkConstraints(homographies={"cam1": np.eye(3), "cam2": np.eye(3)}, max_ground_dist=2.0, ground_weight=0.5)
    a = make("cam1", 1, 0.0, 2.0, [1, 0.2], xyxy=[9.0, 0.0, 11.0, 5.0])  # foot at (10, 5)
    near = make("cam2", 1, 0.0, 2.0, [1, 0.25], xyxy=[9.5, 0.0, 11.5, 5.0])  # foot at (10.5, 5): same person
    far = make("cam2", 2, 0.0, 2.0, [1, 0.2], xyxy=[29.0, 0.0, 31.0, 5.0])  # 20 m away at the same time
    later = make("cam2", 3, 10.0, 11.0, [1, 0.2], xyxy=[29.0, 0.0, 31.0, 5.0])  # 8 s later: reachable
    plain = cross_distances([a], [near, far, later])[0]
    d = cross_distances([a], [near, far, later], c)[0]
    assert d[0] < plain[0]  # agreement lowers the distance
    assert np.isinf(d[1]) and np.isfinite(plain[1])
    assert d[2] == pytest.approx(plain[2])
    ids = OfflineLinker(thresh=0.5, constraints=c).link([a, near, far]).lookup()
    assert ids[("cam1", 1)] == ids[("cam2", 1)] != ids[("cam2", 2)]


def test_walking_speed():
    c = LinkConstraints(homographies={"cam1": np.eye(3), "cam2": np.eye(3)}, max_speed=2.0, max_ground_dist=1.0)
    a = make("cam1", 1, 0.0, 2.0, [1, 0], xyxy=[9.0, 0.0, 11.0, 5.0])  # ends at (10, 5) at t = 2
    # starts 20 m away: needs (20 - 1) / 2 = 9.5 s
    soon = make("cam2", 1, 5.0, 6.0, [1, 0], xyxy=[29.0, 0.0, 31.0, 5.0])
    late = make("cam2", 2, 12.0, 13.0, [1, 0], xyxy=[29.0, 0.0, 31.0, 5.0])
    same_cam_soon = make("cam1", 2, 3.0, 4.0, [1, 0], xyxy=[29.0, 0.0, 31.0, 5.0])
    d = cross_distances([a], [soon, late, same_cam_soon], c)[0]
    assert np.isinf(d[0]) and np.isfinite(d[1]) and np.isinf(d[2])
    d_rev = cross_distances([soon, late], [a], c)[:, 0]
    assert np.isinf(d_rev[0]) and np.isfinite(d_rev[1])
    off = LinkConstraints(homographies={"cam1": np.eye(3), "cam2": np.eye(3)}, max_speed=float("inf"))
    assert np.isfinite(cross_distances([a], [soon], off)).all()


def test_foot_points_to_ground():
    h = np.array([[2.0, 0, 1], [0, 2.0, 0], [0, 0, 1]])
    g = foot_points_to_ground(np.array([[0, 0, 2, 4]]), h)
    np.testing.assert_allclose(g, [[3.0, 8.0]])
    horizon = np.array([[1.0, 0, 0], [0, 1, 0], [0, 1, -4]])  # w = y - 4 = 0 on the horizon
    assert np.isnan(foot_points_to_ground(np.array([[0, 0, 2, 4]]), horizon)).all()


@pytest.mark.parametrize(
    "dist,thresh,linkage,expected",
    [
        (np.zeros((0, 0)), 0.5, "average", []),
        (np.zeros((1, 1)), 0.5, "average", [0]),
        (np.array([[0, 0.4], [0.4, 0]]), 0.5, "average", [0, 0]),
        (np.array([[0, 0.6], [0.6, 0]]), 0.5, "average", [0, 1]),
        (np.array([[0, np.inf], [np.inf, 0]]), 10.0, "average", [0, 1]),
        # 0-1 close, 2 close to 0 but far from 1: average (0.1+0.9)/2 = 0.5 merges at 0.5; complete (0.9) does not
        (np.array([[0, 0.1, 0.1], [0.1, 0, 0.9], [0.1, 0.9, 0]]), 0.5, "average", [0, 0, 0]),
        (np.array([[0, 0.1, 0.1], [0.1, 0, 0.9], [0.1, 0.9, 0]]), 0.5, "complete", [0, 0, 1]),
        # a cannot-link pair blocks the merge of their clusters even when the others are close
        (np.array([[0, 0.1, np.inf], [0.1, 0, 0.1], [np.inf, 0.1, 0]]), 0.5, "average", [0, 0, 1]),
    ],
)
def test_agglomerate_table(dist, thresh, linkage, expected):
    assert agglomerate(dist, thresh, linkage).tolist() == expected


def test_pairwise_distances_without_appearance_and_symmetry():
    a = Tracklet("cam1", 1, [0, 1], np.zeros((2, 4)), [0.0, 0.1])
    b = make("cam2", 1, 0.0, 0.1, [1, 0])
    d = pairwise_distances([a, b])
    assert d[0, 1] == d[1, 0] == 1.0 and d[0, 0] == 0.0


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (OfflineLinker, {"thresh": -1}, "thresh"),
        (OfflineLinker, {"linkage": "single"}, "linkage"),
        (OfflineLinker, {"min_len": 0}, "min_len"),
        (OnlineLinker, {"thresh": float("nan")}, "thresh"),
        (LinkConstraints, {"max_ground_dist": 0}, "max_ground_dist"),
        (LinkConstraints, {"max_speed": 0}, "max_speed"),
        (LinkConstraints, {"homographies": {"cam1": np.eye(2)}}, "homographies"),
        (Transit, {"a": "cam1", "b": "cam1"}, "a, b"),
    ],
)
def test_constructors_validate(cls, kwargs, match):
    if cls is Transit:
        with pytest.raises(ValueError, match=match):
            cls(**kwargs)
        return
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_duplicate_tracklets_are_an_error():
    a = make("cam1", 1, 0.0, 1.0, [1, 0])
    with pytest.raises(ValueError, match="only once"):
        OfflineLinker().link([a, a])


@pytest.mark.parametrize("linkage", ["average", "complete"])
@pytest.mark.parametrize("calibrated", [False, True])
@pytest.mark.parametrize("thresh", [0.05, 0.3, 0.8])
def test_grouped_offline_linking_equals_one_dense_clustering(linkage, calibrated, thresh):
    rng = np.random.default_rng(int(thresh * 100) + calibrated)
    tracklets = random_scene(rng, n_people=25)
    homs = {c: np.diag([0.05, 0.05, 1.0]) for c in ("cam1", "cam2", "cam3")} if calibrated else {}
    c = LinkConstraints(homographies=homs, ground_weight=0.5)
    linker = OfflineLinker(thresh=thresh, linkage=linkage, constraints=c)
    order = canonical_order(tracklets)
    ts = [tracklets[i] for i in order]
    dense = identities_from_labels(ts, agglomerate(pairwise_distances(ts, c), thresh, linkage))
    assert linker.link(tracklets).lookup() == dense.lookup()
    groups = linker.groups(ts)
    assert sum(map(len, groups)) <= len(ts) and all(len(g) > 1 for g in groups)
    if thresh == 0.05:
        assert max(map(len, groups), default=0) < len(ts) // 2  # a tight threshold really splits the problem


def test_candidate_pairs_never_miss_a_pair_within_the_threshold():
    rng = np.random.default_rng(5)
    ts = random_scene(rng, n_people=20)
    c = LinkConstraints(homographies={"cam1": np.eye(3), "cam2": np.eye(3)}, ground_weight=0.5)
    d = pairwise_distances(ts, c)
    for thresh in (0.1, 0.3, 0.6):
        i, j = candidate_pairs(ts, thresh, c, block=7)  # blocks smaller than the set
        got = set(zip(i.tolist(), j.tolist()))
        want = {(a, b) for a, b in zip(*np.nonzero(d <= thresh)) if a < b}
        assert want <= got and all(a < b for a, b in got)


@pytest.mark.parametrize(("foot_x", "joins"), [(10.5, True), (30.0, False)])
def test_online_replay_compares_a_newcomer_with_running_tracklets_up_to_now(foot_x, joins):
    """a (cam1) runs from 0 to 10 s; b (cam2, same look) matures at 5.2 s. Its ground positions are compared with
    a's of 5.0-5.2 s (three common samples), known only if a's positions grew past its own maturing at 0.2 s:
    20 m apart it is another person, 0.5 m apart the same."""
    c = LinkConstraints(homographies={"cam1": np.eye(3), "cam2": np.eye(3)})  # pixel = ground, metres
    a = make("cam1", 1, 0.0, 10.0, [1, 0], xyxy=[9.0, 0.0, 11.0, 5.0])  # foot at (10, 5)
    b = make("cam2", 1, 5.0, 8.0, [1, 0], xyxy=[foot_x - 1, 0.0, foot_x + 1, 5.0])
    ids = OnlineLinker(thresh=0.3, min_len=3, constraints=c).link([a, b]).lookup()
    assert (ids[("cam1", 1)] == ids[("cam2", 1)]) is joins
