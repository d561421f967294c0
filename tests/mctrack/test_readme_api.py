"""The README's Python API blocks that can run as written are run here, so that they stay true."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from mctrack.track import Tracker

README = Path(__file__).resolve().parents[2] / "README.md"


def _block_after(marker: str) -> str:
    text = README.read_text()
    start = text.index(marker)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block after {marker!r}"
    return match.group(1)


def test_the_tracker_in_your_own_detection_loop() -> None:
    code = _block_after("The tracker in your own detection loop")
    frames = []
    for f in range(20):  # two people walking towards each other on a grey street, then apart
        image = np.full((240, 320, 3), 120, np.uint8)
        a = (20 + 8 * f, 40, 60 + 8 * f, 160)
        b = (260 - 8 * f, 60, 300 - 8 * f, 180)
        image[a[1] : a[3], a[0] : a[2]] = (30, 30, 200)
        image[b[1] : b[3], b[0] : b[2]] = (200, 90, 30)
        frames.append((image, [a, b] if f != 7 else [], [0.9, 0.85] if f != 7 else []))  # frame 7: no detection
    seen = {}
    namespace = {"my_frames": frames}
    exec(compile(code, str(README), "exec"), namespace)
    tracks = namespace["tracks"]
    assert len(tracks) == 2 and namespace["tracker"].frame_rate == 25.0
    for track_id, box in zip(tracks.track_id, tracks.xyxy):
        seen[int(track_id)] = float(box[0])
    assert sorted(seen) == [1, 2]  # the same two ids from the first frames to the last, across the empty frame
    assert seen[1] > seen[2]  # person 1 walked right, person 2 left: ids kept through the crossing


def test_the_detection_loop_takes_the_embedders_own_thresholds() -> None:
    code = _block_after("The tracker in your own detection loop")
    namespace = {"my_frames": []}
    exec(compile(code, str(README), "exec"), namespace)
    tracker = namespace["tracker"]
    # the colour histogram's registered 0.5 / 0.8, centred on the scene, not whatever Tracker() defaults to (0.25,
    # compared as given); a network's are its own
    assert (tracker.appearance_weight, tracker.appearance_thresh, tracker.appearance_centre) == (0.5, 0.8, "scene")
    assert Tracker.__init__.__kwdefaults__["appearance_centre"] == "none"
    exec(compile(code.replace('name = "colorhist"', 'name = "laga"'), str(README), "exec"), namespace)
    assert namespace["tracker"].appearance_thresh == namespace["thresh"] > 0.25
    assert namespace["tracker"].appearance_centre == "none"


def test_the_sequence_block_writes_what_mctrack_track_writes(shared_data, tmp_path) -> None:
    from mctrack.cli import main

    seq = shared_data / "mot15" / "TUD-Stadtmitte"
    code = _block_after("Its result on a MOTChallenge sequence")
    exec(compile(code, str(README), "exec"), {"seq": str(seq), "out": str(tmp_path)})
    argv = ["track", "--source", str(seq), "--detector", "mot", "--reid", "none"]
    assert main([*argv, "--out", str(tmp_path / "cli")]) == 0
    ours = (tmp_path / "TUD-Stadtmitte.txt").read_text()
    assert ours.count("\n") > 500 and ours == (tmp_path / "cli" / "TUD-Stadtmitte.txt").read_text()


def test_the_linking_block_gives_mctrack_runs_identities(tmp_path) -> None:
    import cv2

    from mctrack.cli import main
    from mctrack.io import detections_by_frame, load_mot_txt
    from mctrack.synth import make_scene
    from mctrack.types import Detections

    scene = make_scene("tiny", tmp_path / "tiny", seed=0, progress=False)
    cameras = {}
    for cam in ("cam1", "cam2"):
        capture = cv2.VideoCapture(str(scene / cam / "video.mp4"))
        by_frame = detections_by_frame(load_mot_txt(scene / cam / "det" / "det.txt"))
        frames = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append((image, by_frame.get(len(frames), Detections.empty())))
        cameras[cam] = (10.0, frames)
    namespace = {"my_cameras": cameras}
    exec(compile(_block_after("Cameras linked into global identities"), str(README), "exec"), namespace)
    ours = namespace["global_id"]
    out = tmp_path / "run"
    flags = "--detector mot --reid colorhist --stitch 0 --smooth 0 --no-backfill --min-length 0 --track-score first"
    argv = ["run", "--cams", str(scene / "cams.yaml"), *flags.split(), "--cmc", "off", "--no-calibration"]
    assert main([*argv, "--out", str(out), "--no-video"]) == 0
    with open(out / "identities.csv") as fh:  # camera, local_id, global_id, ...
        theirs = {(r["camera"], int(r["local_id"])): int(r["global_id"]) for r in csv.DictReader(fh)}
    assert set(ours) == set(theirs) and len(ours) > 4

    def partition(ids: dict) -> set:
        groups: dict = {}
        for key, g in ids.items():
            groups.setdefault(g, set()).add(key)
        return {frozenset(v) for v in groups.values()}

    assert partition(ours) == partition(theirs)
    assert len(partition(ours)) < len(ours)  # some tracklets were linked across cameras
