"""The README's Python API blocks that can run as written are run here, so that they stay true."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

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
