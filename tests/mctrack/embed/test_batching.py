"""One embedder shared by camera threads: crops submitted together are embedded in one call, rows go back right."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mctrack.embed import BatchingEmbedder, ColorHistogramEmbedder
from mctrack.types import Detections


class Recording(ColorHistogramEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def embed_crops(self, crops):
        self.sizes.append(len(crops))
        return super().embed_crops(crops)


def frame(seed: int, n: int) -> tuple[np.ndarray, Detections]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    x = rng.uniform(0, 100, n)
    boxes = np.stack([x, np.full(n, 10.0), x + 30, np.full(n, 100.0)], axis=1).astype(np.float32)
    return image, Detections(boxes, np.ones(n, np.float32))


def embed_together(batcher: BatchingEmbedder, frames: dict) -> dict[int, np.ndarray]:
    """Every camera's frame embedded from its own thread, all submitted at the same moment; each camera's rows are
    checked against the colour histogram of its own crops."""
    out: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(len(frames))

    def camera(cam: int) -> None:
        with batcher.client():
            barrier.wait()
            out[cam] = batcher(*frames[cam])

    threads = [threading.Thread(target=camera, args=(c,)) for c in frames]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    reference = ColorHistogramEmbedder()
    for cam, (image, dets) in frames.items():
        assert np.array_equal(out[cam], reference(image, dets))
    return out


def test_cameras_submitting_together_share_one_call_and_get_their_own_rows():
    inner = Recording()
    batcher = BatchingEmbedder(inner, max_wait_ms=2000)  # long: the round waits for all three cameras
    embed_together(batcher, {cam: frame(cam, cam + 2) for cam in range(3)})
    assert inner.sizes == [2 + 3 + 4] and batcher.largest == 3 and batcher.calls == 1
    assert (batcher.name, batcher.dim) == (inner.name, inner.dim)


def test_an_embedder_that_gives_the_wrong_number_of_rows_is_an_error_not_a_shift():
    """Rows are handed back to the cameras by count: an embedder that dropped or added a row would give every later
    camera of the round its neighbour's features."""

    class Short(ColorHistogramEmbedder):
        def embed_crops(self, crops):
            return super().embed_crops(crops)[:-1]

    batcher = BatchingEmbedder(Short())
    with batcher.client(), pytest.raises(ValueError, match="gave 2 rows for 3 crops"):
        batcher(*frame(0, 3))


def test_a_round_does_not_wait_for_a_finished_camera():
    inner = Recording()
    batcher = BatchingEmbedder(inner, max_wait_ms=60_000)
    with batcher.client():  # the only camera: its round starts at once, however long max_wait is
        rows = batcher(*frame(0, 3))
    assert rows.shape == (3, inner.dim) and inner.sizes == [3]
    assert batcher(*frame(1, 0)).shape == (0, inner.dim)


def test_an_embedder_error_reaches_every_caller_of_the_round():
    class Failing(Recording):
        def embed_crops(self, crops):
            raise RuntimeError("CUDA out of memory")

    batcher = BatchingEmbedder(Failing(), max_wait_ms=2000)
    errors = []
    barrier = threading.Barrier(2)

    def camera(seed: int) -> None:
        with batcher.client():
            barrier.wait()
            try:
                batcher(*frame(seed, 2))
            except RuntimeError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=camera, args=(s,)) for s in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == ["CUDA out of memory"] * 2
    with pytest.raises(ValueError, match="max_wait_ms"):
        BatchingEmbedder(Recording(), max_wait_ms=float("nan"))


def test_one_cameras_bad_crops_do_not_fail_the_others_of_its_round():
    class Picky(Recording):
        def embed_crops(self, crops):
            if any(c.shape[1] == 7 for c in crops):  # this camera's box is 7 px wide
                raise RuntimeError("cannot embed a 7 px crop")
            return super().embed_crops(crops)

    batcher = BatchingEmbedder(Picky(), max_wait_ms=2000)
    good, bad = frame(0, 2), frame(1, 1)
    bad = (bad[0], Detections(np.array([[10, 10, 17, 80]], np.float32), np.ones(1, np.float32)))
    out, errors = {}, {}
    barrier = threading.Barrier(2)

    def camera(name, f):
        with batcher.client():
            barrier.wait()
            try:
                out[name] = batcher(*f)
            except RuntimeError as exc:
                errors[name] = str(exc)

    threads = [threading.Thread(target=camera, args=a) for a in (("good", good), ("bad", bad))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert set(out) == {"good"} and np.array_equal(out["good"], ColorHistogramEmbedder()(*good))
    assert errors == {"bad": "cannot embed a 7 px crop"}


class Boxes(Recording):
    """An embedder that cuts its own crops (as ReidEmbedder does on the GPU); ``frames``: frames per call."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[int] = []

    def embed_boxes(self, items):
        from mctrack.embed.base import extract_crops

        self.frames.append(len(items))
        return super().embed_crops([c for image, xyxy in items for c in extract_crops(image, xyxy)])


def test_an_embedder_that_cuts_its_own_crops_gets_the_frames_of_the_round():
    inner = Boxes()
    batcher = BatchingEmbedder(inner, max_wait_ms=2000)
    frames = {cam: frame(10 + cam, cam + 1) for cam in range(2)}
    embed_together(batcher, frames)
    assert inner.frames == [2] and inner.sizes == [1 + 2] and batcher.crops == 3
    assert batcher.embed_crops(extract_crops_of(frames[0])).shape == (1, inner.dim)  # plain crops still work


def extract_crops_of(item):
    from mctrack.embed.base import extract_crops

    image, dets = item
    return extract_crops(image, dets.xyxy)


def test_no_detections_need_no_round_and_no_embedder_call():
    """mut105: a frame without detections gets its (0, D) rows at once: the wrapped embedder is not called (nor a
    round waited for) for nothing."""
    inner = Recording()
    batcher = BatchingEmbedder(inner, max_wait_ms=2000)
    with batcher.client(), batcher.client():  # another camera registered that submits nothing
        rows = batcher(*frame(1, 0))
    assert rows.shape == (0, inner.dim) and rows.dtype == np.float32
    assert inner.sizes == [] and batcher.calls == 0


def test_what_is_not_detections_is_a_type_error_naming_it():
    """mut105: the second argument must be a ``Detections`` (as for every embedder); a bare box array is a TypeError
    saying what came, not an error from deep inside the crop code."""
    batcher = BatchingEmbedder(Recording())
    image, dets = frame(0, 2)
    with pytest.raises(TypeError, match="dets: expected mctrack.types.Detections, got ndarray"):
        batcher(image, dets.xyxy)


def test_rows_are_float32_whatever_the_wrapped_embedder_gives():
    """mut105: the tracker and the linker take float32 features; an embedder that answers in float64 is converted
    (values unchanged)."""

    class Double(ColorHistogramEmbedder):
        def embed_crops(self, crops):
            return np.asarray(super().embed_crops(crops), np.float64)

    image, dets = frame(3, 2)
    rows = BatchingEmbedder(Double())(image, dets)
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, ColorHistogramEmbedder()(image, dets), rtol=1e-6)
    assert BatchingEmbedder(Recording())._rounds.max_wait == pytest.approx(0.005)  # the documented default 5 ms


def test_plain_crops_and_frames_in_one_round_are_embedded_in_one_call():
    """mut105: with an embedder that cuts its own crops, a round mixing a frame request (``batcher(image, dets)``) and
    plain crops (``embed_crops``) cuts the frame's crops and embeds all of them in one ``embed_crops`` call, each
    caller getting its own rows."""

    inner = Boxes()
    batcher = BatchingEmbedder(inner, max_wait_ms=2000)
    by_frame, by_crops = frame(20, 2), frame(21, 3)
    out = {}
    barrier = threading.Barrier(2)

    def camera(kind):
        with batcher.client():
            barrier.wait()
            if kind == "frame":
                out[kind] = batcher(*by_frame)
            else:
                out[kind] = batcher.embed_crops(extract_crops_of(by_crops))

    threads = [threading.Thread(target=camera, args=(k,)) for k in ("frame", "crops")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    reference = ColorHistogramEmbedder()
    assert np.array_equal(out["frame"], reference(*by_frame)) and np.array_equal(out["crops"], reference(*by_crops))
    assert inner.frames == [] and inner.sizes == [5] and batcher.calls == 1
