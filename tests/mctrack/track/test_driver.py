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


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"embed": "some"}, "embed"), ({"refresh": 0}, "refresh"), ({"embed_every": 0}, "embed_every")],
)
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


def test_refresh_seconds_are_rounded_to_the_nearest_frame_and_never_below_one():
    """0.19 s at 10 fps is 1.9 frames: 2, not truncated to 1; 0.5 s at a broadcast 29.97 fps is 14.985: 15. A
    refresh shorter than a frame is every frame (1), never 0."""
    from mctrack.track.driver import refresh_frames

    assert refresh_frames(0.19, 10.0) == 2 and refresh_frames(0.5, 29.97) == 15
    assert refresh_frames(0.01, 10.0) == 1 and refresh_frames(1e-6, 7.0) == 1


def test_usable_boxes_drops_every_kind_of_unusable_box_and_keeps_the_rest_with_their_scores_and_classes():
    """A box without area (either side), a coordinate beyond 1e5 px or not finite, or a score that is not finite
    cannot be tracked; the others come back in their order with their own score and class."""
    from mctrack.track.driver import usable_boxes

    xyxy = np.array(
        [
            [0, 0, 10, 20],  # fine
            [5, 5, 5, 20],  # no width
            [5, 5, 15, 5],  # no height
            [0, 0, 2e5, 20],  # beyond 1e5 px
            [0, np.inf, 10, 20],  # not finite
            [0, 0, 10, 20],  # score NaN
            [-50, -50, -40, -30],  # off the image but finite and with area: kept (the tracker can handle it)
        ],
        np.float32,
    )
    score = np.array([0.9, 0.8, 0.8, 0.8, 0.8, np.nan, 0.7], np.float32)
    dets = Detections(xyxy, score, np.array([0, 1, 2, 3, 4, 5, 6]))
    kept, dropped = usable_boxes(dets)
    assert dropped == 5
    assert kept.xyxy.tolist() == [[0, 0, 10, 20], [-50, -50, -40, -30]]
    assert kept.score.tolist() == pytest.approx([0.9, 0.7]) and kept.class_id.tolist() == [0, 6]
    same, none = usable_boxes(Detections(xyxy[:1], score[:1], np.zeros(1, np.int64)))
    assert none == 0 and same.xyxy.tolist() == [[0, 0, 10, 20]]


def test_an_unused_detection_file_is_explained_with_its_usable_rows_and_one_based_frames():
    """A file whose 6 rows that pass the score filter (of 10 read) all lie in 0-based frames 99-149, driven over 50
    frames: the message counts the 6 usable rows and names MOT's 1-based frames 100 to 150."""
    from mctrack.track.driver import unused_detection_file

    class FileDetector:
        path, rows_read, num_rows, min_score, first_frame, last_frame = "det.txt", 10, 6, 0.5, 99, 149

    msg = unused_detection_file(FileDetector(), DriverStats(frames=50))
    assert msg.startswith(
        "det.txt: none of its 6 detections lies in the 50 frame(s) read (its frames run from 100 to 150)"
    )
    assert unused_detection_file(FileDetector(), DriverStats(frames=50, detections=3)) is None
    assert unused_detection_file(FileDetector(), DriverStats(frames=50, stopped_early=True)) is None


def test_an_embedder_broken_from_the_start_is_stopped_at_exactly_64_crops():
    """Two people a frame and a NaN feature for each: the 32nd frame (index 31) brings the crop count to 64, the
    limit, and stops the run there; the 31 frames before it were tracked."""
    from mctrack.errors import InputError

    class TwoWalkers:
        def __call__(self, frame):
            x = 4.0 * frame.index
            return Detections(
                np.array([[x, 100, x + 40, 200], [x + 300, 100, x + 340, 200]], np.float32),
                np.full(2, 0.95, np.float32),
            )

    class Broken(CountingEmbedder):
        def __call__(self, image, dets):
            return np.full((len(dets), 2), np.nan, np.float32)

    done = []
    with pytest.raises(InputError, match="first 64 crops"):
        for step in drive(frames(100), DetectAndEmbed(TwoWalkers(), Broken()), Tracker(frame_rate=10), fps=10, dim=2):
            done.append(step.frame.index)
    assert done == list(range(31))


def test_an_embedder_giving_nan_for_some_crops_is_reported_as_some(caplog):
    """The warning tells a model that fails on some crops from one that fails on every crop."""

    class Half(CountingEmbedder):
        def __call__(self, image, dets):
            out = np.ones((len(dets), 2), np.float32) / np.sqrt(2)
            out[0] = np.nan
            return out

    with caplog.at_level("WARNING"):
        list(drive(frames(3), DetectAndEmbed(Walkers(), Half()), Tracker(frame_rate=10), fps=10, dim=2))
    assert "some crops" in caplog.text and "every crop" not in caplog.text


def test_max_seconds_stops_before_the_frame_at_that_time():
    """``max_seconds=0.5`` at 10 fps covers the frames at 0.0 ... 0.4 s: 5 frames, the one at 0.5 s is not read."""
    stats = DriverStats()
    steps = list(
        drive(frames(20), DetectAndEmbed(Walkers()), Tracker(frame_rate=10), fps=10, max_seconds=0.5, stats=stats)
    )
    assert [s.frame.index for s in steps] == [0, 1, 2, 3, 4] and stats.frames == 5 and stats.stopped_early


def test_step_time_is_the_frame_index_over_fps_plus_the_cameras_offset():
    """For a file (not live), scene time is index / fps whatever timestamp the frame carries, plus ``time_offset``
    (clock alignment between cameras)."""
    odd = (Frame("c", i, 99.0, np.zeros((300, 700, 3), np.uint8)) for i in range(4))  # a timestamp not to use
    steps = list(drive(odd, DetectAndEmbed(Walkers()), Tracker(frame_rate=10), fps=10, time_offset=2.5))
    assert [s.time for s in steps] == pytest.approx([2.5, 2.6, 2.7, 2.8])


def test_frames_without_appearance_give_track_embeddings_with_no_columns():
    """Without an embedder a step's ``track_embeddings`` is ``(M, 0)`` (no appearance), even with ``dim`` given."""
    steps = list(drive(frames(3), DetectAndEmbed(Walkers()), Tracker(frame_rate=10, min_hits=1), fps=10, dim=2))
    assert [s.track_embeddings.shape for s in steps] == [(2, 0)] * 3 and all(s.embeddings is None for s in steps)


def test_the_trackers_appearance_question_is_asked_with_the_frames_camera_warp():
    """With ``embed="needed"`` the tracker decides which detections need a feature after the camera-motion
    estimate: it must be given that frame's warp (here a replayed one), or a moving camera's tracks are predicted
    in the wrong place."""
    seen = []

    class Recording(Tracker):
        def appearance_needed(self, dets, *, warp=None, refresh=10):
            seen.append(None if warp is None else warp.copy())
            return super().appearance_needed(dets, warp=warp, refresh=refresh)

    warp = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0]])
    features = DetectAndEmbed(Walkers(), CountingEmbedder(), embed="needed")
    list(drive(frames(3), features, Recording(frame_rate=10), fps=10, dim=2, replay_warp=lambda i: warp))
    assert len(seen) == 3 and all(w is not None and np.array_equal(w, warp) for w in seen)


def test_unusable_detector_boxes_are_dropped_every_frame_and_warned_about_once(caplog):
    """A detector that gives a NaN box next to two people in every frame: the box is dropped in each frame (and
    counted), the two people are tracked, and the log says so once, not once a frame."""
    walkers = Walkers()

    def detector(frame):
        d = walkers(frame)
        xyxy = np.vstack([d.xyxy, [[np.nan, 0, 10, 10]]]).astype(np.float32)
        return Detections(xyxy, np.r_[d.score, 0.9].astype(np.float32))

    features = DetectAndEmbed(detector)
    with caplog.at_level("WARNING"):
        steps = list(drive(frames(5), features, Tracker(frame_rate=10, min_hits=1), fps=10))
    assert features.dropped == 5 and [len(s.detections) for s in steps] == [2] * 5
    assert caplog.text.count("such boxes are dropped") == 1


class WarpRecordingTracker(Tracker):
    """A tracker that notes the warp each update is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.warps = []

    def update(self, dets, embeddings=None, **kwargs):
        self.warps.append(kwargs.get("warp"))
        return super().update(dets, embeddings, **kwargs)


def test_camera_motion_is_estimated_on_frames_with_an_image_and_replayed_only_for_those_without():
    """Frames 0 and 2 have an image: their warp is the compensation's own (and recorded); frame 1 has none: the
    compensation is not asked (it has nothing to look at) and the replayed warp of that frame is used."""
    own, replayed = np.array([[1.0, 0, 5], [0, 1, 0]]), np.array([[1.0, 0, -7], [0, 1, 0]])
    asked, recorded = [], []

    def cmc(image, xyxy):
        assert image is not None
        asked.append(True)
        return own

    mixed = [Frame("c", i, i / 10, None if i == 1 else np.zeros((300, 700, 3), np.uint8)) for i in range(3)]
    tracker = WarpRecordingTracker(frame_rate=10)
    features = DetectAndEmbed(Walkers(), detector_needs_images=False)
    list(
        drive(
            mixed,
            features,
            tracker,
            fps=10,
            cmc=cmc,
            replay_warp=lambda i: replayed,
            record_warp=lambda i, w: recorded.append(i),
        )
    )
    assert len(asked) == 2 and recorded == [0, 2]
    assert [w[0, 2] for w in tracker.warps] == [5, -7, 5]


def test_frames_without_an_image_are_not_embedded_and_a_partly_finite_feature_is_not_counted():
    """A detection file replayed over frames without images still gives boxes, but there is nothing to crop: the
    embedder is not called. ``stats.embedded`` counts detections whose feature is finite in every component."""
    emb = CountingEmbedder()
    imageless = [Frame("c", i, i / 10, None) for i in range(3)]
    steps = list(
        drive(imageless, DetectAndEmbed(Walkers(), emb, detector_needs_images=False), Tracker(), fps=10, dim=2)
    )
    assert emb.crops == 0 and all(s.embeddings is None and len(s.detections) == 2 for s in steps)

    class OneBadComponent(CountingEmbedder):
        def __call__(self, image, dets):
            out = super().__call__(image, dets)
            out[0, 1] = np.nan
            return out

    stats = DriverStats()
    list(drive(frames(3), DetectAndEmbed(Walkers(), OneBadComponent()), Tracker(), fps=10, stats=stats, dim=2))
    assert stats.detections == 6 and stats.embedded == 3


def test_timer_adds_up_the_time_of_each_stage():
    from mctrack.track.driver import Timer

    timings = {"detect": 1.0}
    timer = Timer(timings)
    assert timer("detect", lambda x: x + 1, 1) == 2
    timer("detect", lambda: None)
    assert 1.0 < timings["detect"] < 1.5 and set(timings) == {"detect"}


def test_the_frame_source_is_closed_when_driving_ends_and_a_stop_by_max_seconds_is_not_an_early_end():
    """A source's iterator with ``close()`` (a live reader thread) is closed when driving ends; a source stopped by
    ``max_seconds`` did not end early, whatever it says about itself."""

    class Source:
        ended_early = "its file holds 3 of 10 frames"

        def __init__(self):
            self.closed = False

        def __iter__(self):
            self._it = frames(10)
            return self

        def __next__(self):
            return next(self._it)

        def close(self):
            self.closed = True

    src = Source()
    stats = DriverStats()
    list(drive(src, DetectAndEmbed(Walkers()), Tracker(), fps=10, max_seconds=0.3, stats=stats))
    assert src.closed and stats.stopped_early and stats.ended_early is None
    src, stats = Source(), DriverStats()
    list(drive(src, DetectAndEmbed(Walkers()), Tracker(), fps=10, stats=stats))
    assert src.closed and stats.ended_early == "its file holds 3 of 10 frames"


def _drive_with_detection_file(n_frames, fps, det_last, caplog):
    class FileWalkers(Walkers):
        path, last_frame = "det.txt", det_last

    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack.track.driver"):
        list(drive(frames(n_frames), DetectAndEmbed(FileWalkers()), Tracker(), fps=fps, source_name="seq"))
    return caplog.text


def test_a_detection_file_is_warned_about_only_when_it_runs_past_the_source_or_stops_well_short_of_it(caplog):
    """Past the source's last frame (0-based 39 of 40): warned; ending exactly on it: not. Short of it: warned only
    when the frames without any box are at least a quarter of the source *and* at least two seconds: 15 frames
    (25-39) of 40 at 2 fps (7.5 s, over 10 frames) are; the same 15 frames at 10 fps (1.5 s) are not."""
    assert "ignored" in _drive_with_detection_file(40, 10, 45, caplog)
    assert _drive_with_detection_file(40, 10, 39, caplog) == ""
    assert "its last 15 frame(s) have none" in _drive_with_detection_file(40, 2, 24, caplog)
    assert _drive_with_detection_file(40, 10, 24, caplog) == ""
    assert _drive_with_detection_file(40, 2, 30, caplog) == ""  # 9 frames: under a quarter
