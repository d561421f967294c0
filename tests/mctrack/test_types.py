from __future__ import annotations

import numpy as np
import pytest

from mctrack.types import Detections, Frame, Identities, Tracklet, Tracks


def _dets(n: int, dim: int | None = None) -> Detections:
    rng = np.random.default_rng(n)
    xy = rng.uniform(0, 100, (n, 2))
    emb = None if dim is None else rng.normal(size=(n, dim))
    return Detections(np.c_[xy, xy + 10], rng.uniform(0, 1, n), np.zeros(n), emb)


@pytest.mark.parametrize("n", [0, 1, 5])
def test_detections_shapes_and_dtypes(n):
    d = _dets(n, dim=8)
    assert len(d) == n
    assert d.xyxy.dtype == np.float32 and d.xyxy.shape == (n, 4)
    assert d.score.dtype == np.float32 and d.class_id.dtype == np.int64
    assert d.embedding.shape == (n, 8) and d.embedding.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(xyxy=np.zeros((2, 3)), score=np.zeros(2)), r"xyxy: expected shape \(N, 4\)"),
        (dict(xyxy=np.zeros((2, 4)), score=np.zeros(3)), r"score: expected 2 rows"),
        (dict(xyxy=np.zeros((2, 4)), score=np.zeros(2), class_id=np.zeros(1)), r"class_id: expected 2 rows"),
        (dict(xyxy=np.zeros((2, 4)), score=np.zeros(2), embedding=np.zeros((3, 4))), r"embedding: expected 2 rows"),
        (dict(xyxy=np.zeros(4), score=np.zeros(1)), r"expected 2-D"),
        # an empty embedding for rows that exist used to pass as (0, 0) and fail later in the tracker
        (dict(xyxy=np.zeros((1, 4)), score=np.zeros(1), embedding=[]), r"embedding: expected \(1, D\) array"),
        # fractional class ids used to be truncated to 0 silently
        (dict(xyxy=np.zeros((2, 4)), score=np.zeros(2), class_id=[0.7, 1.0]), r"class_id: expected whole numbers"),
        (dict(xyxy=np.zeros((1, 4)), score=np.zeros(1), class_id=[np.nan]), r"class_id: expected whole numbers"),
    ],
)
def test_detections_rejects_bad_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Detections(**kwargs)


def test_detections_indexing_mask_and_empty():
    d = _dets(4, dim=3)
    mask = np.array([True, False, True, False])
    sub = d[mask]
    assert len(sub) == 2
    np.testing.assert_array_equal(sub.xyxy, d.xyxy[mask])
    np.testing.assert_array_equal(sub.embedding, d.embedding[mask])
    assert len(d[np.zeros(4, bool)]) == 0
    assert len(d[1]) == 1
    e = Detections.empty(dim=7)
    assert len(e) == 0 and e.embedding.shape == (0, 7)
    assert Detections([], []).xyxy.shape == (0, 4)


def test_detections_never_mutates_input_and_tlwh():
    xyxy = np.array([[10.0, 20.0, 30.0, 60.0]])
    d = Detections(xyxy, [0.5])
    np.testing.assert_array_equal(d.tlwh, [[10, 20, 20, 40]])
    d2 = d.with_embedding(np.ones((1, 2)))
    assert d.embedding is None and d2.embedding.shape == (1, 2)
    np.testing.assert_array_equal(xyxy, [[10.0, 20.0, 30.0, 60.0]])


@pytest.mark.parametrize(
    "image", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8)]
)
def test_frame_rejects_non_bgr_images(image):
    with pytest.raises(ValueError, match="Frame.image"):
        Frame("c1", 0, 0.0, image)


def test_frame_ok_and_size():
    f = Frame("c1", 3, 0.12, np.zeros((5, 7, 3), np.uint8))
    assert f.size == (7, 5)
    assert Frame("c1", 0, 0.0).size is None
    with pytest.raises(ValueError, match="index"):
        Frame("c1", -1, 0.0)


def test_tracks_unique_ids_and_lengths():
    t = Tracks("c1", 0, [1, 2], np.zeros((2, 4)), [0.9, 0.0], [0, -1])
    assert len(t) == 2 and t.det_index.dtype == np.int64
    with pytest.raises(ValueError, match="unique"):
        Tracks("c1", 0, [1, 1], np.zeros((2, 4)), [0.9, 0.0], [0, -1])
    with pytest.raises(ValueError, match="unique"):  # unsorted ids are checked as well as sorted ones
        Tracks("c1", 0, [3, 1, 3], np.zeros((3, 4)), [0.9, 0.0, 0.5], [0, -1, 1])
    assert Tracks("c1", 0, [3, 1, 2], np.zeros((3, 4)), [0.9, 0.0, 0.5], [0, -1, 1]).track_id.tolist() == [3, 1, 2]
    with pytest.raises(ValueError, match="det_index"):
        Tracks("c1", 0, [1, 2], np.zeros((2, 4)), [0.9, 0.0], [0])
    assert len(Tracks.empty("c1", 4)) == 0


def test_tracklet_checks():
    t = Tracklet("c1", 3, [0, 1, 5], np.zeros((3, 4)), [0.0, 0.1, 0.5], np.ones((2, 8)), np.ones(8))
    assert (t.first_time, t.last_time, len(t)) == (0.0, 0.5, 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        Tracklet("c1", 3, [0, 0], np.zeros((2, 4)), [0.0, 0.1])
    with pytest.raises(ValueError, match="at least one frame"):
        Tracklet("c1", 3, [], np.zeros((0, 4)), [])
    with pytest.raises(ValueError, match="dim"):
        Tracklet("c1", 3, [0], np.zeros((1, 4)), [0.0], np.ones((1, 4)), np.ones(8))


def test_identities_lookup_and_checks():
    ids = Identities(["a", "b", "a"], [1, 1, 2], [1, 1, 2])
    assert ids.lookup() == {("a", 1): 1, ("b", 1): 1, ("a", 2): 2}
    with pytest.raises(ValueError, match="only once"):
        Identities(["a", "a"], [1, 1], [1, 2])
    with pytest.raises(ValueError, match=">= 1"):
        Identities(["a"], [1], [0])
    with pytest.raises(ValueError, match="track_id: expected 2 rows to match camera, got 1"):
        Identities(["a", "b"], [1], [1])


def test_detections_take_whole_class_ids_as_floats_and_an_empty_embedding_when_empty():
    d = Detections(np.zeros((2, 4)), np.zeros(2), class_id=np.array([0.0, 2.0]))
    assert d.class_id.tolist() == [0, 2] and d.class_id.dtype == np.int64
    assert Detections(np.zeros((0, 4)), [], embedding=[]).embedding.shape == (0, 0)


def test_tracks_take_the_features_of_their_matched_detections():
    tracks = Tracks("c", 3, [1, 2, 5], np.zeros((3, 4)), [0.9, 0.0, 0.8], [2, -1, 0])
    feats = np.eye(3, dtype=np.float32)
    got = tracks.matched_embeddings(feats)
    assert got[0].tolist() == [0, 0, 1] and np.isnan(got[1]).all() and got[2].tolist() == [1, 0, 0]
    with pytest.raises(ValueError, match="2 rows, but a track was matched to detection 2"):
        tracks.matched_embeddings(feats[:2])
    with pytest.raises(ValueError, match=r"expected \(N, D\)"):
        tracks.matched_embeddings(np.zeros(3))


def test_tracklet_builder_takes_detection_features_or_row_features_not_both():
    from mctrack.link import TrackletBuilder

    builder = TrackletBuilder("c")
    tracks = Tracks("c", 0, [1], np.array([[0, 0, 10, 20]]), [0.9], [1])
    feats = np.array([[1, 0], [0, 1]], np.float32)
    with pytest.raises(ValueError, match="not both"):
        builder.add(tracks, 0.0, feats[:1], detection_embeddings=feats)
    builder.add(tracks, 0.0, detection_embeddings=feats)
    assert builder.tracklets()[0].mean_embedding.tolist() == [0, 1]  # detection 1's feature
