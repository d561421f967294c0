"""The feature cache (mctrack.cache): what its key follows, what a recording replays, and what is never trusted."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import mctrack.cache
from mctrack.cache import CacheRecorder, cache_folder, feature_cache_key, file_sha1, load_cache
from mctrack.config import CameraConfig
from mctrack.track.cmc import IDENTITY_WARP
from mctrack.types import Detections, Frame

MIB = 1 << 20


def _key(cam: CameraConfig, **kw) -> dict:
    args = {"embedder": "colorhist", "weights_hash": None, "detector": {"name": "mot"}} | kw
    return feature_cache_key(cam, **args)


def _rewrite(path: Path, data: bytes) -> None:
    """``path`` given ``data`` and its old modification time back (as ``cp -p``, ``rsync -a``, ``touch -r``)."""
    stamp = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))


def _dets(n: int, at: float = 0.0) -> Detections:
    xyxy = np.array([[at + i, 2 * i, at + i + 10, 2 * i + 30] for i in range(n)], np.float32).reshape(-1, 4)
    return Detections(xyxy, np.linspace(0.5, 0.9, n).astype(np.float32), np.arange(n, dtype=np.int64))


def _frame(i: int) -> Frame:
    return Frame(camera="c", index=i, timestamp=i / 10)


def _record(folder: Path, key: str = "k", dim: int = 3, **save) -> dict[int, tuple[Detections, np.ndarray | None]]:
    """A cache of four frames (two embedded detections, none, one detection left unembedded, three embedded) saved
    at ``folder``; returns what was recorded per frame."""
    rng = np.random.default_rng(0)
    frames = {
        0: (_dets(2, 1.0), rng.random((2, dim), np.float32)),
        1: (_dets(0), None),
        2: (_dets(1, 5.0), None),
        3: (_dets(3, 9.0), rng.random((3, dim), np.float32)),
    }
    rec = CacheRecorder(folder, key, dim)
    for i, (dets, emb) in frames.items():
        rec(i, dets, emb)
    rec.save(**({"fps": 12.5, "frames": 4} | save))
    return frames


def test_file_sha1_hashes_the_whole_file_whatever_the_chunk(tmp_path):
    """A weights file's key is its content's SHA-1, all of it, not its first chunk."""
    path = tmp_path / "w.bin"
    path.write_bytes(b"abc" * 1000 + b"tail")
    assert file_sha1(path, chunk=7) == hashlib.sha1(path.read_bytes()).hexdigest() == file_sha1(path)


def test_the_key_and_its_folder_follow_everything_the_features_depend_on(tmp_path, monkeypatch):
    """Each of the embedder, the weights, the detector's settings, the camera, the given frame rate and the cache
    version gives another key and another cache folder; the same inputs give the same."""
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 1000)
    cam = CameraConfig(id="c", source=str(video))
    base = _key(cam)
    assert _key(cam) == base
    others = [
        _key(cam, embedder={"name": "colorhist", "flip": True}),
        _key(cam, weights_hash="0" * 40),
        _key(cam, detector={"name": "mot", "min_score": 0.5}),
        _key(CameraConfig(id="d", source=str(video))),
        _key(CameraConfig(id="c", source=str(video), fps=25.0)),
    ]
    monkeypatch.setattr(mctrack.cache, "CACHE_VERSION", mctrack.cache.CACHE_VERSION + 1)
    others.append(_key(cam))
    folders = {cache_folder(tmp_path, "c", "colorhist", k)[0] for k in [base, *others]}
    assert all(k != base for k in others) and len(folders) == len(others) + 1


def test_a_detection_file_is_hashed_whole_however_large(tmp_path):
    """A detection file edited in place, same size and time, between the bytes a video's key samples (its first,
    middle and last MiB) gives another key: it is hashed whole."""
    video, det = tmp_path / "v.mp4", tmp_path / "det.txt"
    video.write_bytes(b"\0" * 100)
    det.write_bytes(b"1,-1,10,10,20,40,0.9,-1,-1,-1\n" * (5 * MIB // 30))
    cam = CameraConfig(id="c", source=str(video), detections=str(det))
    before = _key(cam)
    data = bytearray(det.read_bytes())
    data[int(1.5 * MIB) : int(1.5 * MIB) + 3] = b"0.3"  # in neither the first MiB nor the middle one
    _rewrite(det, bytes(data))
    assert _key(cam)["detections"] != before["detections"]


def test_a_videos_key_samples_its_first_middle_and_last_mib(tmp_path):
    """A byte changed at either edge of each sampled MiB (size and time kept) changes the key; so does a video cut
    short, and one written again between the samples (a new time)."""
    video = tmp_path / "v.mp4"
    zeros = b"\0" * (5 * MIB)
    video.write_bytes(zeros)
    cam = CameraConfig(id="c", source=str(video))
    before = _key(cam)["source"]
    for at in (0, MIB - 1, 2 * MIB, 3 * MIB - 1, 4 * MIB, 5 * MIB - 1):  # first, middle (2.5 MiB +- 0.5), last MiB
        data = bytearray(zeros)
        data[at] = 1
        _rewrite(video, bytes(data))
        assert _key(cam)["source"] != before, at
    _rewrite(video, zeros)
    assert _key(cam)["source"] == before
    _rewrite(video, zeros[: 4 * MIB])  # the same bytes sampled, and the same time: shorter
    assert _key(cam)["source"] != before
    data = bytearray(zeros)
    data[int(1.5 * MIB)] = 1  # between the samples: only its modification time tells
    video.write_bytes(bytes(data))
    os.utime(video, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns + 10**9))
    assert _key(cam)["source"] != before


def test_the_key_of_a_folder_follows_the_files_its_source_reads(tmp_path):
    """Images beside seqinfo.ini and in its image folder (suffix in any case), its videos and seqinfo.ini itself:
    each one written again (another size at the same time, a new time), renamed or added changes the key."""
    seq = tmp_path / "seq"
    (seq / "img1").mkdir(parents=True)
    files = [seq / "000001.jpg", seq / "img1" / "000001.JPG", seq / "video.mp4", seq / "seqinfo.ini"]
    for f in files:
        f.write_bytes(b"first")
    cam = CameraConfig(id="c", source=str(seq))
    keys = {_key(cam)["source"]}
    for f in files:
        _rewrite(f, b"longer content")  # another size, the same time
        keys.add(_key(cam)["source"])
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))  # a new time, the same size
        keys.add(_key(cam)["source"])
    (seq / "img1" / "000001.JPG").rename(seq / "img1" / "000002.JPG")
    keys.add(_key(cam)["source"])
    assert len(keys) == 2 * len(files) + 2


def test_the_key_of_a_sequence_follows_the_video_and_images_its_seqinfo_names_wherever_they_are(tmp_path):
    """seqinfo.ini may name a video outside the sequence folder (``video=../videos/clip.avi``) and an image folder
    deeper than one level (``imDir=frames/left``): rewriting either changed nothing in the key, and ``mctrack run``
    replayed the old video's detections and embeddings."""
    seq, videos = tmp_path / "seq", tmp_path / "videos"
    (seq / "frames" / "left").mkdir(parents=True)
    videos.mkdir()
    (seq / "seqinfo.ini").write_text(
        "[Sequence]\nname=seq\nframeRate=10\nseqLength=2\nimWidth=64\nimHeight=48\nimExt=.jpg\n"
        "imDir=frames/left\nvideo=../videos/clip.avi\n"
    )
    video, image = videos / "clip.avi", seq / "frames" / "left" / "000001.jpg"
    video.write_bytes(b"a video")
    image.write_bytes(b"an image")
    cam = CameraConfig(id="c", source=str(seq))
    first = _key(cam)["source"]
    _rewrite(video, b"another video, the same time")
    second = _key(cam)["source"]
    _rewrite(image, b"another image, the same time")
    third = _key(cam)["source"]
    assert len({first, second, third}) == 3
    (seq / "seqinfo.ini").write_text("not an ini")  # unreadable: the source reports it; the key still follows it
    assert _key(cam)["source"] != third


def test_cache_folder_is_one_per_camera_embedder_and_key(tmp_path):
    """``OUT/cache/<camera>-<embedder>-<digest>``, the digest of the key as stored (JSON, keys sorted)."""
    folder, text = cache_folder(tmp_path, "cam1", "colorhist", {"b": 1, "a": [1, 2]})
    assert folder.parent == tmp_path / "cache" and folder.name.startswith("cam1-colorhist-")
    assert json.loads(text) == {"b": 1, "a": [1, 2]}
    assert cache_folder(tmp_path, "cam1", "colorhist", {"a": [1, 2], "b": 1}) == (folder, text)
    assert cache_folder(tmp_path, "cam1", "colorhist", {"a": [1, 2], "b": 2})[0] != folder
    assert cache_folder(tmp_path, "cam2", "colorhist", {"b": 1, "a": [1, 2]})[0].name.startswith("cam2-colorhist-")


def test_a_recorded_cache_replays_each_frame_as_recorded(tmp_path):
    """Each frame's boxes, scores, classes and embeddings (None where none was computed), with the rate, length,
    frames without an image, the detection file's last frame and the warnings said when it was made."""
    folder = tmp_path / "cache" / "c"
    frames = _record(folder, frames_without_image=1, det_last_frame=9, notes=["an assumed rate", "x1,y1,x2,y2"])
    assert sorted(p.name for p in folder.parent.iterdir()) == ["c"]  # no .partial left beside it
    replay = load_cache(folder, "k", 3)
    assert replay is not None
    assert (replay.fps, replay.frames, replay.dim, replay.frames_without_image) == (12.5, 4, 3, 1)
    assert replay.last_frame == 9 and replay.notes == ["an assumed rate", "x1,y1,x2,y2"]
    for i, (dets, emb) in frames.items():
        got, got_emb = replay(_frame(i))
        np.testing.assert_array_equal(got.xyxy, dets.xyxy)
        np.testing.assert_array_equal(got.score, dets.score)
        np.testing.assert_array_equal(got.class_id, dets.class_id)
        if emb is None:
            assert got_emb is None, i
        else:
            np.testing.assert_array_equal(got_emb, emb)
    _record(tmp_path / "plain")  # saved without them
    plain = load_cache(tmp_path / "plain", "k", 3)
    assert plain.last_frame is None and plain.notes == [] and plain.frames_without_image == 0


def test_frames_the_source_skipped_are_replayed_empty(tmp_path):
    """A frame recorded after skipped ones keeps its index: its detections and embeddings, the skipped none."""
    rec = CacheRecorder(tmp_path / "c", "k", 2)
    rec(0, _dets(1), np.ones((1, 2), np.float32))
    rec(3, _dets(2, 4.0), np.full((2, 2), 2.0, np.float32))
    rec.save(fps=10.0, frames=4)
    replay = load_cache(tmp_path / "c", "k", 2)
    assert [len(replay(_frame(i))[0]) for i in range(4)] == [1, 0, 0, 2]
    assert replay(_frame(1))[1] is None
    np.testing.assert_array_equal(replay(_frame(3))[1], np.full((2, 2), 2.0, np.float32))


def test_a_cache_of_another_key_or_dimension_is_not_replayed(tmp_path):
    """The key stored in the cache must be the run's, and its embeddings the embedder's dimension."""
    _record(tmp_path / "c", key='{"source": "old"}')
    assert load_cache(tmp_path / "c", '{"source": "old"}', 3) is not None
    assert load_cache(tmp_path / "c", '{"source": "new"}', 3) is None
    assert load_cache(tmp_path / "c", '{"source": "old"}', 2) is None
    assert load_cache(tmp_path / "nothing", '{"source": "old"}', 3) is None


def test_a_new_recording_replaces_the_cache_of_the_same_key(tmp_path):
    """A cache recomputed (its embeddings damaged, say) replaces the one there."""
    _record(tmp_path / "c")
    rec = CacheRecorder(tmp_path / "c", "k", 3)
    rec(0, _dets(4), np.zeros((4, 3), np.float32))
    rec.save(fps=5.0, frames=1)
    replay = load_cache(tmp_path / "c", "k", 3)
    assert replay.frames == 1 and replay.fps == 5.0 and len(replay(_frame(0))[0]) == 4


def test_a_recording_cut_short_leaves_no_cache_and_does_not_block_the_next(tmp_path):
    """A discarded recording leaves nothing; one a killed run left half-written (``.partial``) is replaced."""
    rec = CacheRecorder(tmp_path / "c", "k", 3)
    rec(0, _dets(2), np.zeros((2, 3), np.float32))
    assert load_cache(tmp_path / "c", "k", 3) is None  # not saved: not a cache
    rec.discard()
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "c.partial").mkdir()  # as a run killed while recording leaves it
    (tmp_path / "c.partial" / "embedding.f32").write_bytes(b"\0" * 10)
    _record(tmp_path / "c")
    assert load_cache(tmp_path / "c", "k", 3) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_camera_motion_warps_are_replayed_and_counted(tmp_path):
    """Each frame's recorded warp is replayed (the identity where none was recorded, None past the end); moved()
    counts the frames, of the first ones asked, whose warp is not the identity (a shift alone counts)."""
    shift = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0]])
    rec = CacheRecorder(tmp_path / "c", "k", 0)
    for i in range(3):
        rec(i, _dets(1), None)
    rec.warp(0, IDENTITY_WARP)
    rec.warp(2, shift)
    rec.warp(3, shift)  # a frame past the ones saved (cut off by the run's end): left out
    rec.save(fps=10.0, frames=3)
    replay = load_cache(tmp_path / "c", "k", 0, warps=True)
    assert replay is not None
    np.testing.assert_array_equal(replay.warp(1), IDENTITY_WARP)
    np.testing.assert_array_equal(replay.warp(2), shift)
    assert replay.warp(3) is None
    assert [replay.moved(n) for n in range(4)] == [0, 0, 0, 1]
    _record(tmp_path / "none")  # recorded without camera motion compensation
    assert load_cache(tmp_path / "none", "k", 3).warp(0) is None and load_cache(tmp_path / "none", "k", 3).moved(4) == 0
    assert load_cache(tmp_path / "none", "k", 3, warps=True) is None  # a run that needs them recomputes


def _damage(folder: Path, **changes) -> None:
    """``folder``'s meta.npz written again with ``changes`` (None: the array removed)."""
    with np.load(folder / "meta.npz") as z:
        meta = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            meta.pop(k)
        else:
            meta[k] = v
    np.savez(folder / "meta.npz", **meta)


WARP = np.tile(IDENTITY_WARP, (4, 1, 1))


def _warps(**at) -> np.ndarray:
    w = WARP.copy()
    for name, value in at.items():
        w[2][np.unravel_index(int(name[1:]), (2, 3))] = value
    return w


@pytest.mark.parametrize(
    "changes",
    [
        {"fps": np.array(np.nan)},
        {"fps": np.array(np.inf)},
        {"fps": np.array(0.0)},
        {"frames": np.array(-1)},
        {"embedded": np.zeros(3, bool)},
        {"frames_without_image": np.array(5)},
        {"frames_without_image": np.array(-1)},
        {"score": np.zeros(5, np.float32)},
        {"class_id": np.zeros(7, np.int64)},
        {"xyxy": np.zeros((6, 5), np.float32)},
        {"frame": np.array([0, 0, 2, 3, 3, 4])},  # past the last frame
        {"frame": np.array([-1, 0, 2, 3, 3, 3])},
        {"frame": np.array([0, 2, 0, 3, 3, 3])},  # out of order
        {"warp": WARP[:3]},
        {"warp": WARP.astype(np.int64)},
        {"warp": _warps(w0=0.001, w4=0.001)},  # shrinks a thousandfold
        {"warp": _warps(w0=1000.0, w4=1000.0)},
        {"warp": _warps(w2=1e6)},
        {"warp": _warps(w2=np.nan)},
    ],
    ids=lambda c: ",".join(c),
)
def test_a_cache_whose_arrays_disagree_is_not_replayed(tmp_path, changes):
    """A cache whose key matches but whose arrays are out of range or disagree (edited, or written by a buggy
    version) is recomputed, never replayed."""
    rec = CacheRecorder(tmp_path / "c", "k", 3)
    for i, n in enumerate((1, 0, 2, 3)):
        rec(i, _dets(n), np.ones((n, 3), np.float32))
        rec.warp(i, IDENTITY_WARP)
    rec.save(fps=10.0, frames=4)
    assert load_cache(tmp_path / "c", "k", 3, warps=True) is not None
    _damage(tmp_path / "c", **changes)
    assert load_cache(tmp_path / "c", "k", 3, warps=True) is None


def test_embeddings_changed_or_cut_short_are_not_replayed(tmp_path):
    """embedding.f32 changed since it was written (the checksum), longer or shorter than recorded (also in an
    older cache without a checksum), or gone: recomputed."""
    folder = tmp_path / "c"
    emb = folder / "embedding.f32"
    _record(folder)
    good = emb.read_bytes()
    for data in (good[:-4] + b"\0\0\0\0", good[:-4], good + b"\0" * 12):
        emb.write_bytes(data)
        assert load_cache(folder, "k", 3) is None, len(data)
    _damage(folder, embedding_crc32=None)
    emb.write_bytes(good + b"\0" * 12)  # one more detection's worth
    assert load_cache(folder, "k", 3) is None
    emb.write_bytes(good)
    assert load_cache(folder, "k", 3) is not None
    emb.unlink()
    assert load_cache(folder, "k", 3) is None
