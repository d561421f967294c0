"""One detector shared by camera threads: frames submitted together go to one ``detect_batch`` call, never two
threads inside the wrapped detector at once, and YOLO's batch gives the boxes of frame-by-frame detection."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from mctrack.detect import BatchingDetector
from mctrack.types import Detections, Frame


class Recording:
    """A detector that returns one box per frame at x = frame index and records its calls."""

    name = "recording"

    def __init__(self, batch: bool) -> None:
        self.calls: list[int] = []
        self.inside = 0
        self.overlapped = False
        if not batch:
            self.detect_batch = None

    def _one(self, frame: Frame) -> Detections:
        x = float(frame.index)
        return Detections(np.array([[x, 0, x + 10, 20]], np.float32), np.ones(1, np.float32))

    def __call__(self, frame: Frame) -> Detections:
        self.calls.append(1)
        return self._guarded([frame])[0]

    def detect_batch(self, frames):
        self.calls.append(len(frames))
        return self._guarded(frames)

    def _guarded(self, frames):
        self.inside += 1
        self.overlapped |= self.inside > 1
        time.sleep(0.01)
        self.inside -= 1
        return [self._one(f) for f in frames]


@pytest.mark.parametrize("batch", [True, False])
def test_cameras_share_rounds_and_the_detector_is_never_entered_twice(batch):
    inner = Recording(batch)
    det = BatchingDetector(inner, max_wait_ms=2000)  # long: a round waits for every camera
    out: dict[int, list[float]] = {c: [] for c in range(3)}
    barrier = threading.Barrier(3)

    def camera(cam: int) -> None:
        with det.client():
            barrier.wait()
            for i in range(4):
                out[cam].append(float(det(Frame(f"c{cam}", 10 * cam + i, 0.0)).xyxy[0, 0]))

    threads = [threading.Thread(target=camera, args=(c,)) for c in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert out == {c: [10.0 * c + i for i in range(4)] for c in range(3)}  # each camera got its own boxes
    assert not inner.overlapped
    assert det.frames == 12 and det.largest == 3 and det.calls == 4
    assert inner.calls == ([3, 3, 3, 3] if batch else [1] * 12)
    assert det.name == "recording"


def test_yolo_batches_give_the_boxes_of_single_frames(monkeypatch, tmp_path):
    pytest.importorskip("ultralytics")
    import torch

    monkeypatch.setenv("YOLO_OFFLINE", "1")
    from mctrack.detect import YoloDetector

    torch.manual_seed(0)
    det = YoloDetector("yolo11n.yaml", conf=0.0, device="cpu", max_det=50)  # untrained: boxes at every conf
    rng = np.random.default_rng(0)
    shapes = [(360, 640), (360, 640), (480, 320)]  # two of one shape, one of another: two forwards
    frames = [Frame("c", i, 0.0, rng.integers(0, 255, (*s, 3), dtype=np.uint8)) for i, s in enumerate(shapes)]
    calls = []
    predict = det.model.predict
    monkeypatch.setattr(det.model, "predict", lambda src, **kw: calls.append(src) or predict(src, **kw))
    batched = det.detect_batch(frames)
    assert [len(c) if isinstance(c, list) else 1 for c in calls] == [2, 1]
    for f, b in zip(frames, batched):
        one = det(f)
        assert len(one) == len(b) == 50
        np.testing.assert_allclose(b.xyxy, one.xyxy, atol=1e-3)
        np.testing.assert_allclose(b.score, one.score, atol=1e-5)


def test_a_round_waits_5_ms_by_default_and_a_lone_camera_not_at_all():
    """mut105: the documented default ``max_wait_ms`` is 5 ms (a detector round must not hold the cameras' frames for
    long); the only registered camera never waits, its frames detected one by one."""
    inner = Recording(batch=True)
    det = BatchingDetector(inner)
    assert det._rounds.max_wait == pytest.approx(0.005)
    with det.client():
        start = time.monotonic()
        boxes = [float(det(Frame("c0", i, 0.0)).xyxy[0, 0]) for i in range(3)]
    assert boxes == [0.0, 1.0, 2.0] and time.monotonic() - start < 1.0
    assert det.frames == 3 and det.calls == 3 and det.largest == 1
