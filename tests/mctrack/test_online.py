"""The live online stream: running tracklets as known now, rows written per frame."""

from __future__ import annotations

import numpy as np
import pytest

from mctrack.io.mot import load_mot_txt
from mctrack.link import LinkConstraints, OnlineLinker
from mctrack.link.tracklets import TrackletBuilder
from mctrack.online import OnlineStream
from mctrack.types import Tracks

FPS = 10.0


def _feed(stream: OnlineStream, builders: dict, cam: str, frame: int, people: dict[int, tuple[float, list]]) -> None:
    """One frame of ``cam``: ``people`` maps a local id to (foot x in metres, appearance); the feet stand at y = 5."""
    ids = sorted(people)
    xyxy = np.array([[people[i][0] - 1, 0.0, people[i][0] + 1, 5.0] for i in ids], np.float32)
    emb = np.array([people[i][1] for i in ids], np.float32)
    tracks = Tracks(cam, frame, np.array(ids), xyxy, np.full(len(ids), 0.9, np.float32), np.arange(len(ids)))
    builders[cam].add(tracks, frame / FPS, emb)
    stream.on_frame(cam, frame / FPS, tracks, builders)


@pytest.mark.parametrize(("foot_x", "joins"), [(10.5, True), (30.0, False)])
def test_a_newcomer_is_compared_with_the_running_tracklets_positions_up_to_now(tmp_path, foot_x, joins):
    """cam1's person 1 runs from frame 0; cam2's person 1 (same look) matures at frame 52. Ground positions are
    compared over the frames both cover: 20 m apart is another person, 0.5 m the same. The stream must have
    grown person 1's positions past its maturing (frame 2) and past the last appearance summary (frame 45, when
    cam2's person 2 matured: too few embeddings since for a new one)."""
    c = LinkConstraints(homographies={"cam1": np.eye(3), "cam2": np.eye(3)})  # pixel = ground, metres
    stream = OnlineStream(OnlineLinker(thresh=0.3, min_len=3, constraints=c), tmp_path)
    builders = {cam: TrackletBuilder(cam) for cam in ("cam1", "cam2")}
    for frame in range(56):
        _feed(stream, builders, "cam1", frame, {1: (10.0, [1.0, 0.0])})
        cam2 = {2: (50.0, [0.0, 1.0])} if 43 <= frame <= 47 else {}
        if frame >= 50:
            cam2[1] = (foot_x, [1.0, 0.0])
        if cam2:
            _feed(stream, builders, "cam2", frame, cam2)
    for cam, builder in builders.items():
        stream.on_finished(cam, builder.pop_all(), builders)
    ids = stream.close().lookup()
    assert ids[("cam2", 2)] not in (ids[("cam1", 1)], ids[("cam2", 1)])
    assert (ids[("cam1", 1)] == ids[("cam2", 1)]) is joins


def test_rows_reach_the_disk_frame_by_frame_once_a_track_has_its_global_id(tmp_path):
    """Held back until the track matures (min_len frames), then written with its global id, every later frame at
    once: a run killed mid-way keeps them."""
    stream = OnlineStream(OnlineLinker(min_len=3), tmp_path)
    builders = {"cam1": TrackletBuilder("cam1")}
    for frame in range(5):
        _feed(stream, builders, "cam1", frame, {7: (10.0, [1.0, 0.0])})
        rows = load_mot_txt(tmp_path / "cam1.txt")
        assert rows[:, 0].tolist() == ([] if frame < 2 else list(range(1, frame + 2)))
        assert set(rows[:, 1].tolist()) <= {1.0}
    stream.close()


def test_a_running_tracklets_appearance_is_summarised_again_once_it_grew_by_a_quarter(tmp_path):
    """cam1's person turns (look a, then b from frame 10); its appearance was summarised at frame 5 (when cam2's
    person 2 matured). At frame 52 it has far more than 1.25 x 6 embeddings: summarised again, mostly b, so cam2's
    newcomer with look b joins it (with the frame-5 summary, all a, it would not)."""
    stream = OnlineStream(OnlineLinker(thresh=0.3, min_len=3), tmp_path)
    builders = {cam: TrackletBuilder(cam) for cam in ("cam1", "cam2")}
    a, b, other = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    for frame in range(53):
        _feed(stream, builders, "cam1", frame, {1: (10.0, a if frame < 10 else b)})
        cam2 = {2: (50.0, other)} if 3 <= frame <= 5 else {}
        if frame >= 50:
            cam2[1] = (30.0, b)
        if cam2:
            _feed(stream, builders, "cam2", frame, cam2)
    ids = stream.linker.identities().lookup()
    assert ids[("cam1", 1)] == ids[("cam2", 1)] != ids[("cam2", 2)]
    stream.close()
