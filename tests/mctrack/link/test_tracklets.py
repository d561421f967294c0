from __future__ import annotations

import numpy as np
import pytest

from mctrack.link import TrackletBuilder, summarize_appearance
from mctrack.types import Tracks


def tracks(frame: int, ids, camera: str = "cam1", emb=None) -> Tracks:
    ids = np.asarray(ids, np.int64)
    boxes = np.array([[10.0 * i, 0, 10.0 * i + 5, 20] for i in ids], np.float32).reshape(-1, 4)
    return Tracks(camera, frame, ids, boxes, np.ones(len(ids)), np.arange(len(ids)), emb)


def test_summarize_appearance_mean_and_diverse_samples():
    front, back = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    emb = np.array([front, front, front, back, [np.nan] * 3], np.float32)
    mean, samples = summarize_appearance(emb, n_samples=2)
    np.testing.assert_allclose(np.linalg.norm(mean), 1.0, rtol=1e-6)
    assert mean[0] > mean[1] > 0  # more front than back
    assert {tuple(s) for s in samples.tolist()} == {(1, 0, 0), (0, 1, 0)}  # both looks kept


@pytest.mark.parametrize(
    "emb,n,mean_is_none,k",
    [
        (np.zeros((0, 4)), 3, True, 0),
        (np.full((2, 4), np.nan), 3, True, 0),
        (np.eye(4)[:1], 3, False, 1),
        (np.eye(4), 0, False, 0),
        (np.repeat(np.eye(4)[:1], 5, axis=0), 3, False, 1),  # duplicates are not sampled twice
    ],
)
def test_summarize_appearance_degenerate(emb, n, mean_is_none, k):
    mean, samples = summarize_appearance(emb, n)
    assert (mean is None) == mean_is_none and len(samples) == k


def test_builder_makes_tracklets_with_times_and_appearance():
    b = TrackletBuilder("cam1", n_samples=2)
    e = np.eye(3, dtype=np.float32)
    b.add(tracks(0, [1, 2]), 10.0, e[:2])
    b.add(tracks(1, [2]), 10.1, np.full((1, 3), np.nan, np.float32))  # no appearance this frame
    b.add(tracks(3, [2, 5]), 10.3, e[1:3])
    t1, t2, t5 = b.tracklets()
    assert (t1.track_id, t2.track_id, t5.track_id) == (1, 2, 5)
    assert t2.frames.tolist() == [0, 1, 3] and t2.first_time == 10.0 and t2.last_time == pytest.approx(10.3)
    np.testing.assert_allclose(t2.mean_embedding, [0, 1, 0])
    assert len(t1) == 1 and t1.mean_embedding is not None
    prefix = b.records()[1].tracklet(max_frames=2)
    assert prefix.frames.tolist() == [0, 1]


def test_builder_without_appearance_and_errors():
    b = TrackletBuilder("cam1")
    b.add(tracks(0, [1]), 0.0)
    (t,) = b.tracklets()
    assert t.mean_embedding is None
    with pytest.raises(ValueError, match="camera"):
        b.add(tracks(1, [1], camera="cam2"), 0.1)
    with pytest.raises(ValueError, match="not after"):
        b.add(tracks(0, [1]), 0.0)
    with pytest.raises(ValueError, match="rows"):
        b.add(tracks(2, [1]), 0.2, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="n_samples"):
        TrackletBuilder("cam1", n_samples=-1)


def test_long_track_keeps_bounded_samples_and_the_exact_mean():
    from mctrack.link.tracklets import TrackRecord

    rng = np.random.default_rng(0)
    e = rng.normal(size=(1000, 16)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    rec = TrackRecord("cam1", 7, max_samples=32)
    for i in range(1000):
        rec.add(i, np.array([i, 0, i + 10, 20], np.float32), i / 10, e[i] if i % 3 else None)
    assert len(rec._kept) <= 32 + 1 and rec.embedded == 666
    positions = [p for p, _ in rec._kept]
    assert positions[0] == 1 and positions[-1] > 900  # spread over the whole track, not its start
    t = rec.tracklet(n_samples=4)
    want = e[[i for i in range(1000) if i % 3]].astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(t.mean_embedding, want / np.linalg.norm(want), atol=1e-6)
    assert t.embeddings.shape == (4, 16) and len(t) == 1000 and t.xyxy[999, 0] == 999 and t.times[5] == 0.5


def test_short_track_summary_equals_the_summary_of_all_frames():
    from mctrack.link.tracklets import TrackRecord, summarize_appearance

    e = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    rec = TrackRecord("c", 1, max_samples=32)
    for i in range(20):
        rec.add(i, np.zeros(4), float(i), e[i])
    mean, samples = summarize_appearance(e, 4)
    t = rec.tracklet(4)
    np.testing.assert_allclose(t.mean_embedding, mean, atol=1e-6)
    np.testing.assert_array_equal(t.embeddings, samples)


def test_pop_finished_hands_over_and_forgets_old_tracks():
    b = TrackletBuilder("cam1")
    b.add(tracks(0, [1, 2]), 0.0)
    b.add(tracks(5, [2]), 5.0)
    done = b.pop_finished(frame=5, after_frames=3)
    assert [r.track_id for r in done] == [1] and 1 not in b and 2 in b
    b.add(tracks(6, [1, 2]), 6.0)  # a tracker resuming a handed-over track: not collected twice, counted
    assert 1 not in b and b.late_rows == 1 and len(b.record(2)) == 3
    assert [r.track_id for r in b.pop_all()] == [2] and b.records() == []


def test_tracklet_store_round_trip_in_chunks(tmp_path):
    from mctrack.link import TrackletStore, load_tracklets

    rng = np.random.default_rng(0)
    b = TrackletBuilder("cam1")
    for f in range(6):
        e = rng.normal(size=(3, 8)).astype(np.float32)
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        b.add(tracks(f, [1, 2, 3]), f / 10, e if f != 2 else None)
    b.add(tracks(6, [4]), 0.6)  # no appearance at all
    store = TrackletStore(tmp_path / "tl", chunk=3)
    written = b.tracklets()
    for k, t in enumerate(written):
        store.add(t, global_id=10 + k)
    assert [p.name for p in sorted((tmp_path / "tl").glob("*.npz"))] == ["cam1-000000.npz"]  # one full chunk
    store.flush()
    back = load_tracklets(tmp_path / "tl")
    assert [g for _, g in back] == [10, 11, 12, 13]
    for (t, _), w in zip(back, written):
        assert t.track_id == w.track_id and t.frames.tolist() == w.frames.tolist()
        np.testing.assert_allclose(t.xyxy, w.xyxy)
        if w.mean_embedding is None:
            assert t.mean_embedding is None
        else:
            np.testing.assert_allclose(t.mean_embedding, w.mean_embedding, atol=2e-3)
            assert t.embeddings.shape == w.embeddings.shape  # the diverse samples, as stored (float16)
            np.testing.assert_allclose(t.embeddings, w.embeddings, atol=2e-3)


def test_merge_tracklets_joins_pieces_in_time_order():
    from mctrack.link import merge_tracklets
    from mctrack.types import Tracklet

    def piece(first, n, look, camera="c"):
        frames = np.arange(first, first + n)
        emb = np.tile(np.asarray(look, np.float32), (2, 1))
        return Tracklet(camera, first, frames, np.ones((n, 4)), frames / 10.0, emb, np.asarray(look, np.float32))

    late, early = piece(20, 3, [0.0, 1.0]), piece(0, 9, [1.0, 0.0])
    t = merge_tracklets([late, early], track_id=7, n_samples=4)
    assert t.track_id == 7 and t.frames.tolist() == [*range(9), 20, 21, 22]
    np.testing.assert_allclose(t.times, t.frames / 10.0)
    np.testing.assert_allclose(t.mean_embedding, np.array([9.0, 3.0]) / np.hypot(9, 3), rtol=1e-6)  # by frames
    assert len(t.embeddings) == 2  # both looks kept as diverse samples
    with pytest.raises(ValueError, match="overlap"):
        merge_tracklets([piece(0, 5, [1, 0]), piece(3, 5, [1, 0])], 1)
    with pytest.raises(ValueError, match="different cameras"):
        merge_tracklets([piece(0, 2, [1, 0]), piece(5, 2, [1, 0], camera="d")], 1)
