"""The per-camera driver with ``embed="needed"``: only the detections the tracker asks for are embedded."""

from __future__ import annotations

import numpy as np
import pytest

from mctrack.track import Tracker
from mctrack.track.driver import DetectAndEmbed, DriverStats, drive
from mctrack.types import Detections, Frame


class Walkers:
    """Detector: two people far apart walking right; from frame 10 a third one appears between them."""

    def __call__(self, frame: Frame) -> Detections:
        x = 4.0 * frame.index
        boxes = [[x, 100, x + 40, 200], [x + 300, 100, x + 340, 200]]
        if frame.index >= 10:
            boxes.append([x + 150, 100, x + 190, 200])
        return Detections(np.asarray(boxes, np.float32), np.full(len(boxes), 0.95, np.float32))


class CountingEmbedder:
    """Unit features by left-to-right order (close to each other: appearance never vetoes); counts the crops."""

    dim = 2

    def __init__(self) -> None:
        self.crops = 0

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        self.crops += len(dets)
        order = np.argsort(np.argsort(dets.xyxy[:, 0]))
        return np.stack([np.cos(order * 0.1), np.sin(order * 0.1)], axis=1).astype(np.float32)


def frames(n: int):
    for i in range(n):
        yield Frame("c", i, i / 10, np.zeros((300, 700, 3), np.uint8))


def run(embed: str, refresh: int = 5, n: int = 20):
    emb = CountingEmbedder()
    recorded = []
    features = DetectAndEmbed(
        Walkers(), emb, embed=embed, refresh=refresh, record=lambda i, d, e: recorded.append(e.copy())
    )
    stats = DriverStats()
    steps = list(drive(frames(n), features, Tracker(frame_rate=10, min_hits=1), fps=10, stats=stats, dim=2))
    return emb, recorded, stats, steps


def test_needed_embeds_fewer_crops_and_tracks_the_same_people():
    every, _, stats_all, steps_all = run("all")
    lazy, recorded, stats, steps = run("needed")
    assert every.crops == stats_all.embedded == stats_all.detections == 2 * 20 + 10
    assert lazy.crops == stats.embedded < every.crops / 2
    # every frame's detections were recorded; the rows not embedded are NaN, never zeros or stale features
    assert len(recorded) == 20 and all(
        np.isnan(r).all(axis=1).sum() + np.isfinite(r).all(axis=1).sum() == len(r) for r in recorded
    )
    assert sum(int(np.isfinite(r).all(axis=1).sum()) for r in recorded) == lazy.crops
    # the newcomer (frame 10) is embedded: it is near no track
    assert np.isfinite(recorded[10][2]).all()
    # the same tracks as with every detection embedded
    for a, b in zip(steps_all, steps):
        assert a.tracks.track_id.tolist() == b.tracks.track_id.tolist()
        assert np.allclose(a.tracks.xyxy, b.tracks.xyxy)
    # a step's track_embeddings hold the detection's feature where one was computed, NaN elsewhere
    te = steps[3].track_embeddings
    assert te.shape == (2, 2) and np.isnan(te).all()


def test_needed_without_a_tracker_that_can_tell_embeds_everything():
    class PlainTracker(Tracker):  # a third-party tracker without appearance_needed
        appearance_needed = None

    emb = CountingEmbedder()
    features = DetectAndEmbed(Walkers(), emb, embed="needed")
    list(drive(frames(5), features, PlainTracker(frame_rate=10), fps=10, dim=2))
    assert emb.crops == 10


@pytest.mark.parametrize(("kwargs", "name"), [({"embed": "some"}, "embed"), ({"refresh": 0}, "refresh")])
def test_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DetectAndEmbed(Walkers(), CountingEmbedder(), **kwargs)


def test_an_embedder_giving_nan_is_reported_once_and_its_detections_are_still_tracked(caplog):
    class Broken(CountingEmbedder):
        def __call__(self, image, dets):
            return np.full((len(dets), 2), np.nan, np.float32)

    features = DetectAndEmbed(Walkers(), Broken())
    stats = DriverStats()
    with caplog.at_level("WARNING"):
        steps = list(drive(frames(6), features, Tracker(frame_rate=10, min_hits=1), fps=10, stats=stats, dim=2))
    assert [len(s.tracks) for s in steps] == [2] * 6  # tracked on motion
    assert stats.embedded == 0
    assert caplog.text.count("non-finite features") == 1 and "every crop" in caplog.text


def test_an_embedder_that_never_gives_a_finite_feature_stops_the_run():
    """helper-68: an ONNX model that gave NaN for every crop was one warning, then a whole run on motion alone under
    the embedder's name (exit 0). Some NaN rows (above) still track on; none finite in 64 crops is an error."""
    from mctrack.errors import InputError
    from mctrack.track.driver import BROKEN_EMBEDDER_CROPS

    class Broken(CountingEmbedder):
        def __call__(self, image, dets):
            return np.full((len(dets), 2), np.nan, np.float32)

    features = DetectAndEmbed(Walkers(), Broken())  # 2 people a frame, 3 from frame 10: 20 + 3 x 15 = 65 crops
    steps = []
    with pytest.raises(InputError, match=r"^c: the embedder gave no finite feature for any of the first 65 crops"):
        for step in drive(frames(100), features, Tracker(frame_rate=10), fps=10, dim=2):
            steps.append(step)
    assert BROKEN_EMBEDDER_CROPS == 64 and len(steps) == 24  # the frames tracked before the one that showed it

    class Half(CountingEmbedder):  # one finite feature in a frame: tracked on, as above
        def __call__(self, image, dets):
            out = np.full((len(dets), 2), np.nan, np.float32)
            out[0] = (1.0, 0.0)
            return out

    assert (
        len(list(drive(frames(100), DetectAndEmbed(Walkers(), Half()), Tracker(frame_rate=10), fps=10, dim=2))) == 100
    )


def test_a_trackers_mask_of_the_wrong_kind_is_an_error():
    class Odd(Tracker):
        def appearance_needed(self, dets, **kwargs):
            return np.flatnonzero(np.ones(len(dets)))  # indices, not a mask

    features = DetectAndEmbed(Walkers(), CountingEmbedder(), embed="needed")
    with pytest.raises(ValueError, match="boolean mask"):
        list(drive(frames(3), features, Odd(frame_rate=10), fps=10, dim=2))


def test_steps_carry_the_trackers_unconfirmed_matches_only_when_asked():
    features = DetectAndEmbed(Walkers())
    steps = list(drive(frames(14), features, Tracker(frame_rate=10, min_hits=2), fps=10, tentative=True))
    # the third walker appears in frame 10: tentative there, reported from frame 11
    assert [s.frame.index for s in steps if len(s.tentative)] == [10]
    assert steps[10].tentative.track_id.tolist() == [3] and 3 not in steps[10].tracks.track_id
    assert 3 in steps[11].tracks.track_id
    assert all(s.tentative is None for s in drive(frames(3), features, Tracker(), fps=10))

    class Plain:  # a tracker without tentative(): nothing to add
        def update(self, dets, emb=None, *, frame=None, warp=None):
            return Tracker().update(dets, frame=frame)

    steps = list(drive(frames(2), features, Plain(), fps=10, tentative=True))
    assert [len(s.tentative) for s in steps] == [0, 0] and steps[1].tentative.frame == 1


@pytest.mark.parametrize("where", ["detector", "tracker"])
def test_a_frame_cut_short_by_ctrl_c_is_not_counted_as_tracked(where):
    """The interrupted frame used to be counted: summaries said one frame more than the results held, and an
    interrupted run was evaluated on a frame without rows (its people counted as missed)."""
    walkers = Walkers()

    def detector(frame: Frame) -> Detections:
        if where == "detector" and frame.index == 7:
            raise KeyboardInterrupt
        return walkers(frame)

    class Interrupting(Tracker):
        def update(self, dets, embeddings=None, **kwargs):
            if where == "tracker" and kwargs.get("frame") == 7:
                raise KeyboardInterrupt
            return super().update(dets, embeddings, **kwargs)

    stats = DriverStats()
    done = []
    imageless = (Frame("c", i, i / 10, None) for i in range(20))  # frames of a detection file without images
    with pytest.raises(KeyboardInterrupt):
        features = DetectAndEmbed(detector, None, detector_needs_images=False)
        for step in drive(imageless, features, Interrupting(frame_rate=10), fps=10, stats=stats):
            done.append(step.frame.index)
    assert done == list(range(7)) and stats.frames == 7
    # nor are its detections and its missing image (they used to be: 16 and 8)
    assert stats.detections == 2 * 7 and stats.frames_without_image == 7


def test_a_live_outage_longer_than_the_lost_budget_ends_the_tracks(caplog):
    """helper-57: the tracker counts a lost track's misses by update, so across a camera outage of any length (its
    frames stop; the next one comes seconds later) a person at the same place took the old track's id. Only the
    stream's own gaps count (a live source's ``gap_before``): frames dropped because processing fell behind leave
    gaps between the frames processed too, and must not end tracks (helper-59)."""
    box = Detections(np.array([[10, 10, 40, 90]], np.float32), np.array([0.95], np.float32))

    class Stream(list):  # frames of a live source, with the seconds its stream gave no frame before each
        def __init__(self, frames, gaps):
            super().__init__(frames)
            self.gaps = gaps

        def gap_before(self, index):
            return self.gaps.pop(index, 0.0)

    def ids(gap_s, outage):
        times = [0.1 * i for i in range(10)] + [0.9 + gap_s + 0.1 * i for i in range(1, 6)]
        frames = Stream([Frame("cam", i, t, None) for i, t in enumerate(times)], {10: gap_s} if outage else {})
        tracker = Tracker(camera="cam", frame_rate=10, max_lost_s=1.5)
        steps = drive(frames, lambda f: (box, None), tracker, fps=10, live=True, source_name="rtsp://x")
        return [int(s.tracks.track_id[0]) for s in steps if len(s.tracks)]

    assert set(ids(1.0, outage=True)) == {1}  # a short outage: the track goes on
    assert set(ids(5.0, outage=False)) == {1}  # 5 s between frames processed, none missing from the stream
    with caplog.at_level("INFO", logger="mctrack.track.driver"):
        after = ids(5.0, outage=True)
    assert after[:10] == [1] * 10 and set(after[10:]) == {2}  # a new track after 5 s without frames
    assert any("1 track(s) ended: no frame for 5.0 s" in m for m in caplog.messages)


def test_end_all_keeps_ids_and_the_frame_order():
    tracker = Tracker(camera="cam", frame_rate=10)
    box = Detections(np.array([[10, 10, 40, 90]], np.float32), np.array([0.95], np.float32))
    for i in range(3):
        assert tracker.update(box, frame=i).track_id.tolist() == [1]
    assert tracker.end_all() == 1 and len(tracker) == 0 and len(tracker.tentative()) == 0
    tracker.update(box, frame=3)  # a new track, confirmed at its second match
    assert tracker.update(box, frame=4).track_id.tolist() == [2]  # ids are not reused
    tracker.end_all()
    with pytest.raises(ValueError, match="frame"):
        tracker.update(box, frame=4)  # still after the last update's frame
