from __future__ import annotations

import logging

import cv2
from pathlib import Path

import numpy as np
import pytest

from mctrack.detect import MotFileDetector
from mctrack.errors import InputError
from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo
from mctrack.io.video import (
    AnnotatedVideoWriter,
    ImageFolderSource,
    SequenceSource,
    VideoFileSource,
    has_images,
    open_source,
)
from mctrack.track import Tracker
from mctrack.track.driver import DetectAndEmbed, drive
from mctrack.types import Frame, Tracks


def make_video(path, n=8, size=(64, 48)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert w.isOpened()
    for i in range(n):
        img = np.full((size[1], size[0], 3), 20 * i, np.uint8)
        w.write(img)
    w.release()
    return path


def test_video_file_source(tmp_path):
    src = open_source(make_video(tmp_path / "clip.avi"))
    assert isinstance(src, VideoFileSource) and src.name == "clip" and src.size == (64, 48)
    frames = list(src)
    assert [f.index for f in frames] == list(range(8))
    assert all(f.image is not None and f.image.shape == (48, 64, 3) for f in frames)


class FakeCapture:
    """Frames 0..n-1, with the reads in ``bad`` failing (a corrupt frame mid-video)."""

    def __init__(self, n, bad):
        self.n, self.bad, self.i = n, set(bad), 0

    def read(self):
        i = self.i
        self.i += 1
        if i >= self.n or i in self.bad:
            return False, None
        return True, np.full((48, 64, 3), i, np.uint8)

    def release(self):
        pass


def test_unreadable_frame_mid_video(tmp_path, monkeypatch, caplog):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"))
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(8, bad={3}))
    with caplog.at_level(logging.WARNING):
        frames = list(src)
    assert [f.index for f in frames] == list(range(8))  # indices stay aligned with detection files
    assert frames[3].image is None and frames[4].image[0, 0, 0] == 4
    assert src.bad_frames == [3]
    assert "frame 4 cannot be decoded" in caplog.text  # counted from 1, as the detection and result files


def test_video_ending_early(tmp_path, monkeypatch, caplog):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"), max_bad_frames=3)
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(5, bad=set()))  # header says 8, stream has 5
    with caplog.at_level(logging.WARNING):
        frames = list(src)
    assert len(frames) == 5 and all(f.image is not None for f in frames)
    assert "ends early: 3 unreadable frames in a row from frame 6 " in caplog.text  # after frames 1-5, from 1


def test_corrupted_video_file_on_disk(tmp_path, caplog):
    path = make_video(tmp_path / "clip.avi", n=10)
    data = bytearray(path.read_bytes())
    start = data.find(b"\xff\xd8", len(data) // 2)  # a JPEG frame in the middle
    data[start : start + 200] = b"\x00" * 200
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        frames = list(VideoFileSource(path))
    # OpenCV either drops the frame or decodes garbage; either way we get an aligned, gap-free sequence
    assert [f.index for f in frames] == list(range(len(frames)))
    assert len(frames) >= 8


def test_missing_and_bad_sources(tmp_path):
    with pytest.raises(InputError, match="not found"):
        open_source(tmp_path / "nope.mp4")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not a video"):
        open_source(tmp_path / "notes.txt")
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(InputError, match="cannot open"):
        open_source(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        open_source(tmp_path / "empty")
    seq = tmp_path / "seq"  # a MOTChallenge sequence without its seqinfo.ini: named as such, not "no images"
    (seq / "det").mkdir(parents=True)
    (seq / "det" / "det.txt").write_text("1,-1,10,10,20,40,0.9,-1,-1,-1\n")
    with pytest.raises(InputError, match=r"seq: seqinfo.ini not found"):
        open_source(seq)


def test_image_folder_with_unreadable_image(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in range(3):
        cv2.imwrite(str(d / f"{i + 1:06d}.jpg"), np.full((20, 30, 3), 50, np.uint8))
    (d / "000002.jpg").write_bytes(b"not a jpeg")
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
        again = list(ImageFolderSource(d, fps=5))  # a run reads the frames again for its gallery and video
    assert [f.image is None for f in frames] == [False, True, False] == [f.image is None for f in again]
    said = [m for m in caplog.messages if "000002.jpg" in m]
    assert len(said) == 1 and "frame 2 is passed on without an image" in said[0]  # once, counted from 1


def test_image_folder_numbers_are_compared_as_numbers(tmp_path):
    d = tmp_path / "img1"
    d.mkdir()
    for i in (1, 2, 10, 11):  # unpadded names: plain name order would give 1, 10, 11, 2
        cv2.imwrite(str(d / f"{i}.png"), np.full((20, 30, 3), i, np.uint8))
    frames = list(ImageFolderSource(d, fps=5))
    assert [int(f.image[0, 0, 0]) for f in frames] == [1, 2, 10, 11]
    from mctrack.io.video import _natural_key

    stamps = ["1700000000.5.jpg", "1700000000.125.jpg", "1700000001.jpg", "1700000000.25.jpg"]  # time.time() names
    assert sorted(stamps, key=lambda n: _natural_key(Path(n))) == [stamps[1], stamps[3], stamps[0], stamps[2]]


def test_a_missing_image_leaves_a_frame_without_image_instead_of_shifting_the_later_ones(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in (1, 2, 3, 5, 6):  # 000004.jpg missing: image 5 used to become frame 4 (0-based 3)
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((20, 30, 3), 10 * i, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
        frames = list(src)
    assert src.length == 6 and [f.index for f in frames] == list(range(6))
    assert [None if f.image is None else int(f.image[0, 0, 0]) // 10 for f in frames] == [1, 2, 3, None, 5, 6]
    assert "1 image(s) missing from the numbering (e.g. number 4)" in caplog.text
    # in a MOTChallenge sequence the images are numbered from frame 1: a missing first image is a frame too
    (d / "000001.jpg").unlink()
    seq_like = ImageFolderSource(d, fps=5, first_number=1)
    assert [f.image is None for f in seq_like] == [True, False, False, True, False, False]
    assert ImageFolderSource(d, fps=5).length == 5  # a plain folder starts at its first image


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_an_image_cut_short_is_a_frame_without_image_not_a_grey_one(tmp_path, caplog, ext):
    """OpenCV decodes a truncated JPEG or PNG without an error (the rest grey); the camera-motion estimate took
    that for motion and wrecked the tracks. A whole image with bytes after its end marker is still read."""
    d = tmp_path / "img1"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 5):
        cv2.imwrite(str(d / f"{i:06d}{ext}"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    cut = d / f"000002{ext}"
    cut.write_bytes(cut.read_bytes()[: len(cut.read_bytes()) // 2])
    if ext == ".jpg":
        assert cv2.imread(str(cut)) is not None  # what OpenCV alone gives (a cut PNG it refuses itself)
    padded = d / f"000003{ext}"
    padded.write_bytes(padded.read_bytes() + b"\0" * 200)  # data after the end marker: a whole image
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [f.image is None for f in frames] == [False, True, False, False]
    said = [m for m in caplog.messages if "000002" in m]
    assert len(said) == 1 and "frame 2 is passed on without an image" in said[0]


def test_an_image_is_judged_whole_by_its_bytes_not_its_name(tmp_path, caplog):
    """A whole JPEG named .png was reported as cut short (the end marker looked for was PNG's)."""
    d = tmp_path / "img1"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 4):
        cv2.imwrite(str(d / f"{i:06d}.jpg"), rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    (d / "000002.jpg").rename(d / "000002.png")  # a whole JPEG under a PNG name
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [f.image is None for f in frames] == [False, False, False] and not caplog.messages


def test_an_image_of_another_size_is_warned_about_once(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in range(1, 6):
        size = (48, 64) if i < 3 else (24, 32)
        cv2.imwrite(str(d / f"{i:06d}.png"), np.full((*size, 3), 9, np.uint8))
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert all(f.image is not None for f in frames)
    said = [m for m in caplog.messages if "first image" in m]
    assert len(said) == 1 and "000003.png is 32x24, the folder's first image 64x48" in said[0] and "frame 3" in said[0]


@pytest.mark.parametrize(
    ("numbers", "said"),
    [
        (range(11, 16), "the first image is number 11: it is frame 1"),
        (range(1, 16, 3), "the image numbers (1 to 13, 5 images) are not one per frame"),
        ([1, 2, 2_000_000], "the image numbers (1 to 2000000, 3 images) are not one per frame"),
    ],
)
def test_images_that_are_not_numbered_as_frames_from_1_are_warned_about(tmp_path, caplog, numbers, said):
    """Frames count from a folder's first image, in name order when the numbers skip frames; a detection file
    numbered by the images' names would be paired with the wrong images, so each case is said."""
    d = tmp_path / "img1"
    d.mkdir()
    for n in numbers:
        cv2.imwrite(str(d / f"{n:06d}.png"), np.full((8, 8, 3), 1, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
    assert src.length == len(numbers) and said in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ImageFolderSource(d, fps=5, first_number=numbers[0])  # a sequence's own numbering: nothing to say
    assert ("first image is number" not in caplog.text) or numbers[0] == 1


def test_a_source_without_a_frame_rate_is_warned_about(tmp_path, caplog):
    from mctrack.io.video import warn_assumed_fps

    d = tmp_path / "frames"
    d.mkdir()
    cv2.imwrite(str(d / "1.jpg"), np.full((20, 30, 3), 10, np.uint8))
    with caplog.at_level(logging.WARNING):
        warn_assumed_fps(ImageFolderSource(d, fps=12), "cam", "--fps")
        assert caplog.text == ""  # a rate was given
        src = ImageFolderSource(d)
        warn_assumed_fps(src, "cam", "--fps")
    assert src.fps == 30.0 and "cam: no frame rate of its own" in caplog.text and "assuming 30 fps" in caplog.text


@pytest.mark.parametrize(("bad", "good", "said"), [(2, 0, "no image"), (8, 1, "none of the first 5 images")])
def test_image_folder_of_unreadable_files_is_an_error(tmp_path, bad, good, said):
    d = tmp_path / "img1"
    d.mkdir()
    for i in range(bad):
        (d / f"{i + 1:06d}.jpg").write_bytes(b"not a jpeg")
    for i in range(bad, bad + good):  # a readable image after the first five comes too late
        cv2.imwrite(str(d / f"{i + 1:06d}.jpg"), np.full((20, 30, 3), 50, np.uint8))
    with pytest.raises(InputError, match=rf"img1: {said} can be read"):
        list(ImageFolderSource(d, fps=5))
    cv2.imwrite(str(d / "000000.jpg"), np.full((20, 30, 3), 50, np.uint8))  # one good image first: tolerated
    assert [f.image is None for f in ImageFolderSource(d, fps=5)][:2] == [False, True]


def make_sequence(root, n=20, with_video=False):
    write_seqinfo(root / "seqinfo.ini", SeqInfo(root.name, 10, n, 64, 48))
    rows = [[f, -1, 5 + f, 5, 10, 20, 0.95] for f in range(1, n + 1)]
    save_mot_txt(root / "det" / "det.txt", np.array(rows[::-1], float))  # unordered on purpose
    if with_video:
        make_video(root / f"{root.name}.avi", n=n // 2)  # a video shorter than its det file
    return root


def test_sequence_without_images(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-1", with_video=True)
    src = open_source(seq, need_images=False)
    assert isinstance(src, SequenceSource) and not src.has_images and src.fps == 10
    frames = list(src)
    assert len(frames) == 20 and frames[0].image is None


def test_a_video_longer_than_the_sequence_gives_only_its_frames(tmp_path, caplog):
    seq = make_sequence(tmp_path / "SEQ-1", n=6, with_video=False)
    make_video(seq / "SEQ-1.avi", n=10)  # 10 frames for a 6-frame sequence: its results must fit seqLength
    with caplog.at_level(logging.WARNING):
        src = open_source(seq)
        frames = list(src)
    assert [f.index for f in frames] == list(range(6)) and all(f.image is not None for f in frames)
    assert "only the sequence's first 6 are read" in caplog.text


def test_a_sequence_folder_with_several_videos_reads_its_own_or_says_which(tmp_path):
    """helper-72: the first video by name was read, silently (an annotated copy A_annotated.mp4 beside
    TUD-Stadtmitte.mp4 was tracked instead of the sequence's own)."""
    seq = make_sequence(tmp_path / "SEQ-1", n=6, with_video=False)
    make_video(seq / "SEQ-1.avi", n=6)
    make_video(seq / "A_copy.avi", n=3)
    src = SequenceSource(seq)
    assert src.inner.path.name == "SEQ-1.avi" and len(list(src)) == 6  # the one named after the sequence
    (seq / "SEQ-1.avi").rename(seq / "B_other.avi")
    with pytest.raises(InputError, match=r"SEQ-1: 2 videos \(A_copy.avi, B_other.avi\) and not one named after"):
        SequenceSource(seq)
    assert len(list(SequenceSource(seq, need_images=False))) == 6  # no image is needed: no video is chosen
    # helper-73: the video seqinfo.ini names (as mctrack samples make writes it) comes first, and hidden files are
    # no sequence's video (an annotated copy named after the sequence was read in its place)
    make_video(seq / "SEQ-1.avi", n=6)
    (seq / ".partial.avi").write_bytes(b"")
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-1", 10, 6, 64, 48, video="B_other.avi"))
    assert SequenceSource(seq).inner.path.name == "B_other.avi"
    (seq / "B_other.avi").unlink()
    with pytest.raises(InputError, match=r"seqinfo.ini: video=B_other.avi: no such file"):
        SequenceSource(seq)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-1", 10, 6, 64, 48))
    assert SequenceSource(seq).inner.path.name == "SEQ-1.avi"  # A_copy.avi, SEQ-1.avi and the hidden one


def test_has_images_says_whether_frames_can_be_had(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-1", with_video=True)
    video = seq / "SEQ-1.avi"
    assert has_images(seq) and has_images(video) and has_images(tmp_path)  # sequence with video, file, folder
    video.unlink()
    assert not has_images(seq)  # det.txt only
    (seq / "img1").mkdir()
    assert has_images(seq)
    (seq / "seqinfo.ini").write_text("[Sequence]\nimDir=frames\nframeRate=10\nseqLength=20\n")
    assert not has_images(seq)  # its seqinfo.ini names another image folder
    assert not has_images(tmp_path / "missing") and not has_images(seq / "det" / "det.txt")


def test_video_shorter_than_det_file(tmp_path, caplog):
    seq = make_sequence(tmp_path / "SEQ-2", with_video=True)
    src = SequenceSource(seq, need_images=True)
    det = MotFileDetector(seq / "det" / "det.txt")
    with caplog.at_level(logging.WARNING):
        out = list(
            drive(
                src,
                DetectAndEmbed(det, detector_needs_images=False),
                Tracker(frame_rate=10),
                fps=10,
                source_name="SEQ-2",
            )
        )
    assert len(out) == 10  # tracked as far as the video goes
    assert "has detections up to frame 20" in caplog.text and "10 frame(s) are ignored" in caplog.text
    # helper-68: said as the source's ended_early (track and run exit 1, the record says incomplete), as for a
    # video file given on its own; a sequence folder ended with exit 0 and a record that said complete
    assert src.ended_early == "its video SEQ-2.avi holds 10 of the 20 frames seqinfo.ini declares (seqLength)"


def test_a_sequence_whose_image_folder_or_video_ends_early_says_so_only_when_read_to_its_end(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-3", n=6)
    (seq / "img1").mkdir()
    for i in range(1, 5):  # 4 of the 6 frames
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((48, 64, 3), 30 * i, np.uint8))
    src = SequenceSource(seq)
    assert len(list(src)) == 4
    assert src.ended_early == "its image folder img1 holds 4 of the 6 frames seqinfo.ini declares (seqLength)"
    for _ in zip(range(2), src):  # a consumer that stops (--duration, Ctrl-C) is no early end
        pass
    assert src.ended_early is None
    for i in (5, 6):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((48, 64, 3), 30 * i, np.uint8))
    src = SequenceSource(seq)
    assert len(list(src)) == 6 and src.ended_early is None
    make_video(seq / "SEQ-3.avi", n=6)  # a video of every frame, read before the image folder
    src = SequenceSource(seq)
    assert len(list(src)) == 6 and src.ended_early is None


def test_a_sequence_s_images_are_numbered_from_frame_1_even_when_the_first_is_missing(tmp_path, caplog):
    """MOTChallenge's img1/000001.jpg is frame 1: a folder whose first image is missing must not move every image one
    frame earlier (det.txt and gt.txt would then lie one frame off the images)."""
    seq = make_sequence(tmp_path / "SEQ-9", n=4)
    (seq / "img1").mkdir()
    for i in (2, 3, 4):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((48, 64, 3), 50 * i, np.uint8))
    with caplog.at_level(logging.WARNING):
        frames = [(f.index, None if f.image is None else round(float(f.image.mean()))) for f in SequenceSource(seq)]
    assert frames == [(0, None), (1, 100), (2, 150), (3, 200)]
    assert "1 image(s) missing from the numbering (e.g. number 1)" in caplog.text


def test_a_sequence_video_short_of_a_few_frames_ends_as_a_lone_video_would(tmp_path, caplog):
    """helper-70: a video whose last frame or two do not decode (a header count off by one) ends normally on its own,
    with a warning, but failed its sequence folder (exit 1) once seqLength was checked."""
    seq = make_sequence(tmp_path / "SEQ-4", n=10)
    make_video(seq / "SEQ-4.avi", n=8)
    with caplog.at_level(logging.WARNING):
        src = SequenceSource(seq)
        assert len(list(src)) == 8
    assert src.ended_early is None
    assert "SEQ-4.avi holds 8 of the 10 frames seqinfo.ini declares; the sequence ends at frame 8" in caplog.text


def test_annotated_writer(tmp_path):
    path = tmp_path / "out.avi"
    with AnnotatedVideoWriter(path, 10, (64, 48)) as w:
        t = Tracks(
            "c", 0, np.array([3]), np.array([[5, 5, 20, 30]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int64)
        )
        w.write(Frame("c", 0, 0.0, np.zeros((48, 64, 3), np.uint8)), t)
        w.write(Frame("c", 1, 0.1, None), Tracks.empty("c", 1))
    cap = cv2.VideoCapture(str(path))
    ok, img = cap.read()
    cap.release()
    assert ok and img.shape == (48, 64, 3) and img.max() > 0  # the box was drawn


def test_annotated_mp4_is_h264(tmp_path):
    """Browser-playable: H.264 in yuv420p (OpenCV's mp4v plays in no browser); odd sizes are cut to even."""
    av = pytest.importorskip("av")
    path = tmp_path / "out.mp4"
    with AnnotatedVideoWriter(path, 7, (65, 49)) as w:
        assert w.codec == "h264"
        for i in range(5):
            w.write(Frame("c", i, i / 7, np.full((49, 65, 3), 40 * i, np.uint8)), Tracks.empty("c", i))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 48)
        assert sum(1 for _ in container.decode(stream)) == 5


def test_prefetch_gives_the_same_frames_and_attributes(tmp_path):
    from mctrack.io.video import PrefetchSource

    src = open_source(make_video(tmp_path / "clip.avi", n=12))
    pre = PrefetchSource(src, depth=2)
    assert (pre.name, pre.fps, pre.length, pre.size, pre.has_images) == (src.name, src.fps, src.length, src.size, True)
    a, b = list(src), list(pre)
    assert [f.index for f in b] == list(range(12))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    assert pre.ended_early is None
    with pytest.raises(ValueError, match="depth"):
        PrefetchSource(src, depth=0)


def test_prefetch_raises_the_sources_error_at_its_frame_and_stops_when_closed(tmp_path):
    import threading

    from mctrack.io.video import PrefetchSource

    class Failing(VideoFileSource):
        closed = 0

        def __iter__(self):
            try:
                for f in super().__iter__():
                    if f.index == 5:
                        raise OSError("camera unplugged")
                    yield f
            finally:
                Failing.closed += 1

    src = Failing(make_video(tmp_path / "clip.avi", n=12))
    seen = []
    with pytest.raises(OSError, match="unplugged"):
        for f in PrefetchSource(src):
            seen.append(f.index)
    assert seen == [0, 1, 2, 3, 4]
    # a consumer that stops early: the decoding thread ends and the source's iterator is closed
    it = iter(PrefetchSource(src, depth=1))
    next(it)
    it.close()
    assert Failing.closed == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("decode-") and t.is_alive()]


def test_prefetch_of_a_source_that_fails_before_its_first_frame_raises_instead_of_hanging():
    from mctrack.io.video import PrefetchSource

    class NoGenerator:
        camera = "c"

        def __iter__(self):
            raise OSError("network share gone")

    with pytest.raises(OSError, match="share gone"):
        list(PrefetchSource(NoGenerator()))


def test_a_sequence_whose_video_header_disagrees_on_the_frame_rate_is_warned_about_once(tmp_path, caplog):
    """A wrong frameRate in seqinfo.ini (2.5 for a 25 fps video) was used without a word: every time window of
    tracking counted with it (TUD-Stadtmitte IDF1 82.1 -> 78.1)."""
    seq = make_sequence(tmp_path / "SEQ-R", with_video=True)  # the video's header: 10 fps
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-R", 2.5, 20, 64, 48))
    with caplog.at_level(logging.WARNING):
        first = SequenceSource(seq, need_images=True)
        SequenceSource(seq, need_images=True)  # a second opening (a benchmark's next run) says nothing more
    assert first.fps == 2.5  # the sequence's rate is used, as MOTChallenge tools do
    lines = [r.getMessage() for r in caplog.records if "seqinfo.ini says 2.5 fps" in r.getMessage()]
    assert len(lines) == 1 and "the header of SEQ-R.avi says 10" in lines[0]
    # said again by the replay of a feature cache in another process: not a second time when the source is opened
    import mctrack.io.video as video

    video._RATE_WARNED.clear()  # a new process
    video.note_replayed(lines[0])
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        SequenceSource(seq, need_images=True)
    assert "fps but the header" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        SequenceSource(make_sequence(tmp_path / "SEQ-S", with_video=True), need_images=True)  # both say 10
    assert "fps but the header" not in caplog.text


def test_a_rate_given_for_a_sequence_or_its_video_is_used_and_the_disagreement_said(tmp_path, caplog):
    """helper-75: --fps 10 on a sequence whose seqinfo.ini says 2.5 was warned about as 'the sequence's 2.5 fps is
    used' while 10 ran; its video given on its own ran at the header's rate without a word about the seqinfo.ini
    beside it (PETS09-S2L1: IDF1 62.3 as a folder, 59.1 as its video)."""
    import mctrack.io.video as video

    seq = make_sequence(tmp_path / "SEQ-F", with_video=True)  # the video's header: 10 fps
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-F", 2.5, 20, 64, 48))
    video._RATE_WARNED.clear()
    with caplog.at_level(logging.WARNING):
        given = open_source(seq, fps=10)
    assert (given.fps, given.native_fps, given.inner.fps) == (10, 2.5, 10) and "fps" not in caplog.text
    with caplog.at_level(logging.WARNING):
        alone = open_source(seq / "SEQ-F.avi")
        open_source(seq / "SEQ-F.avi")  # said once
    assert alone.fps == 10
    lines = [m for m in caplog.messages if "beside it says 2.5" in m]
    assert len(lines) == 1 and lines[0].endswith(
        "SEQ-F.avi: its header's 10 fps is used, but the seqinfo.ini beside "
        "it says 2.5: give the folder to track it as that sequence, or set the rate (--fps, or fps: in a camera set)"
    )
    caplog.clear()
    video._RATE_WARNED.clear()
    with caplog.at_level(logging.WARNING):
        assert open_source(seq / "SEQ-F.avi", fps=2.5).fps == 2.5
    assert "beside it" not in caplog.text
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.mp4: empty file \(0 bytes\), not a video"):
        open_source(empty)


@pytest.mark.parametrize(("rate", "warned"), [(10.05, False), (9.95, False), (10.2, True), (9.8, True)])
def test_frame_rates_within_one_percent_of_the_video_header_are_not_warned_about(tmp_path, caplog, rate, warned):
    """seqinfo.ini and the video's header (10 fps) may differ by rounding: 0.5% says nothing, 2% is warned about,
    both when the folder is opened and when its video is given alone."""
    import mctrack.io.video as video

    seq = make_sequence(tmp_path / "SEQ-T", with_video=True)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-T", rate, 20, 64, 48))
    video._RATE_WARNED.clear()
    with caplog.at_level(logging.WARNING):
        assert open_source(seq).fps == rate
        assert open_source(seq / "SEQ-T.avi").fps == 10
    assert ("fps but the header of SEQ-T.avi says 10" in caplog.text) is warned
    assert (f"but the seqinfo.ini beside it says {rate:g}" in caplog.text) is warned


@pytest.mark.parametrize("pattern", ["{:06d}.jpg", "frame_{:06d}.jpg", "img{}.png"])
def test_a_stray_image_or_a_name_prefix_does_not_shift_the_frames(tmp_path, caplog, pattern):
    """A folder of numbered frames with one image missing and a stray image beside them (``cover.jpg``) was read
    in name order: every image after the gap one frame early against its detections, silently."""
    d = tmp_path / "frames"
    d.mkdir()
    for i in (1, 2, 3, 5, 6):  # number 4 missing
        cv2.imwrite(str(d / pattern.format(i)), np.full((20, 30, 3), 10 * i, np.uint8))
    cv2.imwrite(str(d / "cover.jpg"), np.full((20, 30, 3), 250, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
        frames = list(src)
    assert src.length == 6
    assert [None if f.image is None else int(f.image[0, 0, 0]) // 10 for f in frames] == [1, 2, 3, None, 5, 6]
    assert "1 image(s) not named as the frames are" in caplog.text and "e.g. cover.jpg" in caplog.text
    assert "1 image(s) missing from the numbering (e.g. number 4)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # opened again (a run's gallery, its video): said once per process
        assert ImageFolderSource(d, fps=5).length == 6
    assert not caplog.messages


def test_images_without_a_shared_numbering_stay_in_name_order(tmp_path, caplog):
    d = tmp_path / "frames"
    d.mkdir()
    names = ["a.png", "b.png", "c1.png", "d7.png"]  # no numbering shared by most of them
    for k, name in enumerate(names):
        cv2.imwrite(str(d / name), np.full((8, 8, 3), k, np.uint8))
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 3] and not caplog.messages
    # time stamps of one second (the same text before the last digits): their fractions are no frame numbers
    d = tmp_path / "stamps"
    d.mkdir()
    names = ["1700000000.125.jpg", "1700000000.25.jpg", "1700000000.5.jpg", "1700000000.75.jpg"]
    for k, name in enumerate(names):
        cv2.imwrite(str(d / name), np.full((8, 8, 3), 10 * k, np.uint8))
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [int(f.image[0, 0, 0]) // 10 for f in frames] == [0, 1, 2, 3] and not caplog.messages


@pytest.mark.parametrize(
    "names",
    [
        ["20231101_120058.jpg", "20231101_120059.jpg", "20231101_120100.jpg", "20231101_120101.jpg"],  # date_time
        ["2023-11-01_12-05-59.jpg", "2023-11-01_12-06-00.jpg", "2023-11-01_12-06-01.jpg"],  # a new group a minute
        ["cam1_0001.jpg", "cam1_0002.jpg", "cam1_0003.jpg"],  # a camera's number before the frame's
    ],
)
def test_a_number_after_a_digit_and_a_separator_is_no_frame_number(tmp_path, caplog, names):
    """Date-time names were numbered by their last field (40 blank frames a minute for HHMMSS) or split into
    groups a minute each (all but one left out): the images stay frames in name order, as before."""
    d = tmp_path / "stamps"
    d.mkdir()
    for k, name in enumerate(names):
        cv2.imwrite(str(d / name), np.full((8, 8, 3), 10 * k, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
        frames = list(src)
    assert src.length == len(names) and [int(f.image[0, 0, 0]) // 10 for f in frames] == list(range(len(names)))
    assert not caplog.messages


def test_a_camera_numbered_folder_with_a_missing_image_is_warned_about(tmp_path, caplog):
    """cam1_0001.jpg-style names stay in name order (the number may be a time's), so a missing image moves every
    later image one frame earlier than its number: that used to happen silently."""
    d = tmp_path / "cam1"
    d.mkdir()
    numbers = [n for n in range(1, 21) if n != 7]
    for n in numbers:
        cv2.imwrite(str(d / f"cam1_{n:04d}.jpg"), np.full((8, 8, 3), 10 * n, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
        frames = list(src)
    assert src.length == 19 and [round(f.image[0, 0, 0] / 10) for f in frames] == numbers  # name order, as before
    assert len(caplog.messages) == 1
    assert f"{d}: images named cam1_NUMBER with 1 number(s) missing (e.g. 7)" in caplog.text
    assert "rename the images to their numbers alone (cam1_0001.jpg to 0001.jpg)" in caplog.text
    # renamed so, the missing image leaves its frame empty and the later ones keep their numbers
    for n in numbers:
        (d / f"cam1_{n:04d}.jpg").rename(d / f"{n:04d}.jpg")
    src = ImageFolderSource(d, fps=5)
    assert src.length == 20 and src.numbered[7] == d / "0008.jpg"


@pytest.mark.parametrize(
    "numbers",
    [
        [120058, 120059, 120100, 120101, 120102],  # HHMMSS: 40 numbers missing a minute, a time, not a counter
        [120055, 120056, 120058, 120059],  # one second missing: after a date (below), still a time
        [n for n in range(1, 41) if n % 10],  # a camera's every frame but every tenth: no counter either
    ],
)
def test_many_gaps_in_a_camera_numbered_folder_are_no_counter_with_gaps(tmp_path, caplog, numbers):
    d = tmp_path / "stamps"
    d.mkdir()
    for k, n in enumerate(numbers):
        name = f"20231101_{n:06d}.jpg" if n > 120000 else f"cam1_{n:06d}.jpg"
        cv2.imwrite(str(d / name), np.full((8, 8, 3), k, np.uint8))
    with caplog.at_level(logging.WARNING):
        assert ImageFolderSource(d, fps=5).length == len(numbers)
    assert not caplog.messages


def test_frames_mixed_with_as_many_other_images_are_warned_about(tmp_path, caplog):
    d = tmp_path / "mixed"
    d.mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(d / f"{i:04d}.jpg"), np.full((8, 8, 3), i, np.uint8))
        cv2.imwrite(str(d / f"{i:04d}_mask.png"), np.full((8, 8, 3), 0, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
    assert src.length == 6  # every image a frame, as before, but said
    assert "3 of its 6 images are named as numbered frames (NUMBER) and the others are not (e.g. 0001_mask.png)" in (
        caplog.text
    )


def test_a_folder_of_sequences_is_named_as_such_not_as_a_folder_without_images(tmp_path):
    from mctrack.io.video import sequence_folders

    for name in ("SEQ-02", "SEQ-01"):
        write_seqinfo(tmp_path / name / "seqinfo.ini", SeqInfo(name, 10, 5, 64, 48))
    (tmp_path / "other").mkdir()
    assert [p.name for p in sequence_folders(tmp_path)] == ["SEQ-01", "SEQ-02"]
    assert sequence_folders(tmp_path / "SEQ-01") == [] and sequence_folders(tmp_path / "missing") == []
    with pytest.raises(
        InputError, match=r"a folder of 2 MOTChallenge sequence\(s\) \(SEQ-01, SEQ-02\), not one source"
    ):
        open_source(tmp_path, need_images=False)


class FakeHeaderCapture(FakeCapture):
    """A capture whose header gives ``props`` (frame rate, frame count, size) and frames 0..n-1."""

    def __init__(self, props, n=4, bad=()):
        super().__init__(n, bad)
        self.props = props

    def isOpened(self):
        return True

    def get(self, prop):
        return self.props.get(prop, 0.0)


def test_a_missing_video_is_named_by_the_video_source_itself(tmp_path):
    with pytest.raises(InputError, match=r"nope.avi: video file not found"):
        VideoFileSource(tmp_path / "nope.avi")
    (tmp_path / "dir.avi").mkdir()
    with pytest.raises(InputError, match=r"dir.avi: is a folder, expected a video file"):
        VideoFileSource(tmp_path / "dir.avi")


@pytest.mark.parametrize("rate", [0.0, 1000.0, float("nan")])
def test_a_video_header_without_a_rate_or_a_frame_count_runs_at_30_fps_with_a_warning(
    tmp_path, monkeypatch, caplog, rate
):
    from mctrack.io.video import warn_assumed_fps

    path = make_video(tmp_path / "clip.avi")
    props = {cv2.CAP_PROP_FPS: rate, cv2.CAP_PROP_FRAME_COUNT: 0.0, cv2.CAP_PROP_FRAME_WIDTH: 64.0}
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: FakeHeaderCapture(props))
    src = VideoFileSource(path)
    assert (src.native_fps, src.fps, src.length, src.size) == (None, 30.0, None, None)
    with caplog.at_level(logging.WARNING):
        warn_assumed_fps(src, "cam", "--fps")
        frames = list(src)  # no frame count: read to the end of the stream
    assert "cam: no frame rate of its own" in caplog.text and "assuming 30 fps" in caplog.text
    assert [f.index for f in frames] == [0, 1, 2, 3] and all(f.image is not None for f in frames)


def test_max_bad_frames_of_one_is_accepted_and_zero_refused(tmp_path, monkeypatch):
    path = make_video(tmp_path / "clip.avi")
    src = VideoFileSource(path, max_bad_frames=1)
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(5, bad=set()))
    assert len(list(src)) == 5 and src.ended_early.startswith("the video ends after 5 of the 8 frames")
    with pytest.raises(ValueError, match="max_bad_frames: must be >= 1, got 0"):
        VideoFileSource(path, max_bad_frames=0)


def test_a_whole_video_read_to_its_end_says_nothing(tmp_path, caplog):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"))
    with caplog.at_level(logging.WARNING):
        assert len(list(src)) == 8
    assert not caplog.messages and src.bad_frames == [] and src.ended_early is None


def test_a_video_whose_last_frames_do_not_decode_ends_there_with_a_warning(tmp_path, monkeypatch, caplog):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"))  # the header says 8
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(6, bad=set()))  # the last 2 do not decode
    with caplog.at_level(logging.WARNING):
        frames = list(src)
    assert [f.index for f in frames] == list(range(6)) and src.ended_early is None
    assert "clip.avi: the last 2 frame(s) cannot be decoded; the video ends at frame 6" in caplog.text


def test_a_video_ending_early_says_so_in_ended_early(tmp_path, monkeypatch):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"), max_bad_frames=3)
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(5, bad=set()))  # the header says 8
    assert len(list(src)) == 5
    assert src.ended_early.startswith("the video ends after 5 of the 8 frames its header promises")


def test_consecutive_bad_frames_mid_video_keep_their_own_indices(tmp_path, monkeypatch, caplog):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"))
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(8, bad={3, 4}))
    with caplog.at_level(logging.WARNING):
        frames = list(src)
    assert [f.index for f in frames] == list(range(8))
    assert [f.image is None for f in frames] == [False] * 3 + [True] * 2 + [False] * 3
    assert frames[5].image[0, 0, 0] == 5 and src.bad_frames == [3, 4]
    assert "frame 4 cannot be decoded" in caplog.text and "frame 5 cannot be decoded" in caplog.text


def test_a_frame_that_is_not_a_colour_image_is_a_bad_frame(tmp_path, monkeypatch):
    class GreyAt2(FakeCapture):
        def read(self):
            ok, image = super().read()
            return (ok, image[:, :, 0]) if self.i == 3 else (ok, image)  # frame 2 decoded as one channel

    src = VideoFileSource(make_video(tmp_path / "clip.avi"))
    monkeypatch.setattr(src, "_open", lambda: GreyAt2(8, bad=set()))
    frames = list(src)
    assert [f.index for f in frames] == list(range(8)) and frames[2].image is None and src.bad_frames == [2]


def test_video_frames_carry_the_camera_and_their_time_at_the_rate_used(tmp_path, monkeypatch):
    src = VideoFileSource(make_video(tmp_path / "clip.avi"), camera="cam7", fps=4)
    monkeypatch.setattr(src, "_open", lambda: FakeCapture(6, bad={2}))
    list(src)
    frames = list(src)  # read again (a run's gallery and video): the bad frames are the last reading's
    assert src.bad_frames == [2] and {f.camera for f in frames} == {"cam7"}
    assert [f.timestamp for f in frames] == [i / 4 for i in range(6)]
    assert open_source(src.path, camera="cam8").camera == "cam8"


@pytest.mark.parametrize(
    ("fps", "warned"), [(10.4, False), (9.52, False), (10.52, True), (9.4, True), (30, True), (5, True)]
)
def test_a_rate_more_than_5_percent_from_the_sources_own_is_warned_about(tmp_path, caplog, fps, warned):
    from mctrack.io.video import warn_overridden_fps

    src = VideoFileSource(make_video(tmp_path / "clip.avi"))  # its header: 10 fps
    with caplog.at_level(logging.WARNING):
        warn_overridden_fps(src, fps, "cam", "--fps", "its video header")
    assert bool(caplog.messages) is warned
    if warned:
        assert caplog.messages == [
            f"cam: fps {fps:g} from --fps overrides the 10 fps of its video header (time windows such as the "
            f"tracker's max_lost_s and transit times are counted at {fps:g})"
        ]
    caplog.clear()
    d = tmp_path / "frames"
    d.mkdir()
    cv2.imwrite(str(d / "1.jpg"), np.full((8, 8, 3), 1, np.uint8))
    with caplog.at_level(logging.WARNING):  # an image folder has no rate of its own to override
        warn_overridden_fps(ImageFolderSource(d), fps, "cam", "--fps", "none")
    assert not caplog.messages


def test_an_empty_or_undecodable_image_is_said_unreadable_not_cut_short(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in range(1, 5):
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((20, 30, 3), 50, np.uint8))
    (d / "000002.jpg").write_bytes(b"")  # an empty file (a copy that never started)
    (d / "000003.jpg").write_bytes(b"not a jpeg")
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [f.image is None for f in frames] == [False, True, True, False]
    for n in (2, 3):
        said = [m for m in caplog.messages if f"00000{n}.jpg" in m]
        assert said == [f"{d / f'00000{n}.jpg'}: cannot be read as an image; frame {n} is passed on without an image"]


def test_a_bmp_folder_without_end_markers_is_read_whole(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(d / f"{i:06d}.bmp"), np.full((20, 30, 3), 10 * i, np.uint8))
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 20, 30] and not caplog.messages


def test_names_that_compare_equal_as_numbers_sort_the_same_whatever_the_listing_order():
    from mctrack.io.video import _natural_key

    names = [Path("1.jpg"), Path("01.jpg"), Path("001.jpg")]
    assert (
        sorted(names, key=_natural_key)
        == sorted(names[::-1], key=_natural_key)
        == [
            Path("001.jpg"),
            Path("01.jpg"),
            Path("1.jpg"),
        ]
    )


def test_an_image_folder_that_is_missing_or_holds_no_image_files_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"nope: image folder not found"):
        ImageFolderSource(tmp_path / "nope")
    d = tmp_path / "frames"
    (d / "000001.jpg").mkdir(parents=True)  # a folder named as an image is no image
    with pytest.raises(InputError, match=r"frames: no images \(.jpg, .jpeg, .png, .bmp\) found"):
        ImageFolderSource(d)


def test_image_suffixes_are_matched_whatever_their_case(tmp_path):
    d = tmp_path / "frames"
    d.mkdir()
    for i, ext in enumerate([".JPG", ".Png", ".jpeg"], 1):
        cv2.imwrite(str(d / f"tmp{ext.lower()}"), np.full((8, 8, 3), 10 * i, np.uint8))
        (d / f"tmp{ext.lower()}").rename(d / f"{i:06d}{ext}")
    (d / "000004.jpg").mkdir()  # a folder is left out
    frames = list(ImageFolderSource(d, fps=5))
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 20, 30]


@pytest.mark.parametrize("fps", [0, -5, float("nan"), float("inf")])
def test_an_image_folder_refuses_a_rate_that_is_not_positive_and_finite(tmp_path, fps):
    d = tmp_path / "frames"
    d.mkdir()
    cv2.imwrite(str(d / "1.jpg"), np.full((8, 8, 3), 1, np.uint8))
    with pytest.raises(ValueError, match="fps: must be > 0"):
        ImageFolderSource(d, fps=fps)


def test_image_folder_frames_carry_the_camera_and_their_time_gaps_included(tmp_path):
    d = tmp_path / "img1"
    d.mkdir()
    for i in (1, 2, 4, 5):  # number 3 missing: a frame without an image
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((8, 8, 3), 10 * i, np.uint8))
    src = ImageFolderSource(d, camera="c3", fps=4)
    frames = list(src)
    assert (src.name, {f.camera for f in frames}) == ("img1", {"c3"})
    assert [(f.index, f.timestamp, f.image is None) for f in frames] == [
        (0, 0.0, False),
        (1, 0.25, False),
        (2, 0.5, True),
        (3, 0.75, False),
        (4, 1.0, False),
    ]
    assert ImageFolderSource(d, fps=4, name="SEQ").camera == "SEQ"  # the camera defaults to the name


def test_the_warnings_about_a_numbered_folder_name_its_first_stray_image_and_first_gap(tmp_path, caplog):
    d = tmp_path / "frames"
    d.mkdir()
    for i in (1, 2, 4, 5, 7, 8):  # numbers 3 and 6 missing
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((8, 8, 3), 10 * i, np.uint8))
    for name in ("a_cover.jpg", "z_notes.jpg"):
        cv2.imwrite(str(d / name), np.full((8, 8, 3), 1, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
    assert src.length == 8 and [f.name for f in src.files] == [f"{i:06d}.jpg" for i in (1, 2, 4, 5, 7, 8)]
    assert "2 image(s) not named as the frames are (NUMBER), e.g. a_cover.jpg" in caplog.text
    assert "2 image(s) missing from the numbering (e.g. number 3)" in caplog.text


@pytest.mark.parametrize(
    "names",
    [
        ["cam1_0001.jpg", "cam1_0002.jpg", "cam1_0004.jpg", "a.jpg", "b.jpg", "c.jpg"],  # half the images only
        ["cam1_1.jpg", "cam1_01.jpg", "cam1_3.jpg", "cam1_5.jpg"],  # a number twice: no frame counter
    ],
)
def test_a_camera_numbering_of_half_the_images_or_with_repeats_is_no_counter_with_gaps(tmp_path, caplog, names):
    d = tmp_path / "cam1"
    d.mkdir()
    for name in names:
        cv2.imwrite(str(d / name), np.full((8, 8, 3), 1, np.uint8))
    with caplog.at_level(logging.WARNING):
        assert ImageFolderSource(d, fps=5).length == len(names)
    assert "missing" not in caplog.text


def test_a_jpeg_that_decodes_but_lacks_its_end_marker_is_a_frame_without_image(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((16, 16, 3), 60, np.uint8))
    cut = d / "000002.jpg"
    data = cut.read_bytes()
    assert data.endswith(b"\xff\xd9") and data.count(b"\xff\xd9") == 1
    cut.write_bytes(data[:-2] + b"\0" * 64)  # its end lost, zeros in its place (a preallocated copy): decodes
    assert cv2.imdecode(np.fromfile(cut, np.uint8), cv2.IMREAD_COLOR) is not None
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [f.image is None for f in frames] == [False, True, False]
    assert f"{cut}: the file is cut short; frame 2 is passed on without an image" in caplog.messages


def test_images_as_many_frames_apart_as_there_are_images_keep_their_numbers(tmp_path, caplog):
    d = tmp_path / "img1"
    d.mkdir()
    for i in (1, 2, 3, 8):  # 4 frames missing for 4 images: still one image per frame, with gaps
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((8, 8, 3), 10 * i, np.uint8))
    with caplog.at_level(logging.WARNING):
        frames = list(ImageFolderSource(d, fps=5))
    assert [None if f.image is None else int(f.image[0, 0, 0]) // 10 for f in frames] == [1, 2, 3] + [None] * 4 + [8]
    assert "4 image(s) missing from the numbering (e.g. number 4)" in caplog.text


def test_two_images_of_one_frame_number_are_both_read_in_name_order(tmp_path, caplog):
    """000001.jpg beside 000001.png: taken by number, one of the two was dropped without a word."""
    d = tmp_path / "img1"
    d.mkdir()
    for k, name in enumerate(["000001.jpg", "000001.png", "000002.png", "000003.png"]):
        cv2.imwrite(str(d / name), np.full((8, 8, 3), 10 * k, np.uint8))
    with caplog.at_level(logging.WARNING):
        src = ImageFolderSource(d, fps=5)
        frames = list(src)
    assert src.length == 4 and [int(f.image[0, 0, 0]) // 10 for f in frames] == [0, 1, 2, 3]
    assert "the image numbers (1 to 3, 4 images) are not one per frame" in caplog.text


def test_a_sequence_without_a_frame_rate_runs_at_the_rate_given(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-5", n=4)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=SEQ-5\nseqLength=4\nimWidth=64\nimHeight=48\n")
    src = open_source(seq, need_images=False, fps=7)
    assert (src.fps, src.native_fps) == (7, 7) and [f.timestamp for f in src] == [i / 7 for i in range(4)]
    assert open_source(seq, need_images=False, fallback_fps=6).fps == 6
    with pytest.raises(InputError, match="missing key frameRate"):
        open_source(seq, need_images=False)


def test_a_sequence_reads_the_video_named_after_its_folder_when_seqinfo_names_it_otherwise(tmp_path):
    seq = make_sequence(tmp_path / "folder-name", n=6)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-6", 10, 6, 64, 48))
    make_video(seq / "folder-name.avi", n=6)
    make_video(seq / "A_annotated.avi", n=3)
    src = SequenceSource(seq)
    assert src.name == "SEQ-6" and src.inner.path.name == "folder-name.avi" and len(list(src)) == 6


def test_a_sequence_without_images_names_what_needs_them(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-7", n=4)
    with pytest.raises(InputError, match=r"SEQ-7: no video and no img1/ image folder; images are needed for --video$"):
        open_source(seq, images_for="--video")
    with pytest.raises(InputError, match=r"images are needed for this detector or embedder$"):
        open_source(seq)


def test_a_sequence_video_shorter_than_seqinfo_is_warned_about_when_opened(tmp_path, caplog):
    seq = make_sequence(tmp_path / "SEQ-8", with_video=True)  # 20 frames, the video 10
    with caplog.at_level(logging.WARNING):
        SequenceSource(seq)
    assert f"{seq}: seqinfo.ini says 20 frames but {seq / 'SEQ-8.avi'} has 10" in caplog.messages


@pytest.mark.parametrize(("frames", "early"), [(5, True), (6, False)])
def test_a_sequence_video_short_of_max_bad_frames_or_more_ended_early(tmp_path, caplog, frames, early):
    seq = make_sequence(tmp_path / "SEQ-A", n=10)
    make_video(seq / "SEQ-A.avi", n=frames)  # 5 or 4 frames short; VideoFileSource's max_bad_frames is 5
    src = SequenceSource(seq)
    with caplog.at_level(logging.WARNING):
        assert len(list(src)) == frames
    if early:
        assert src.ended_early == "its video SEQ-A.avi holds 5 of the 10 frames seqinfo.ini declares (seqLength)"
    else:
        assert src.ended_early is None and "the sequence ends at frame 6" in caplog.text


def test_a_hidden_video_in_a_sequence_folder_is_not_read_in_place_of_its_images(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-B", n=3)
    (seq / "img1").mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), np.full((48, 64, 3), 50, np.uint8))
    (seq / ".SEQ-B.avi").write_bytes(b"")  # a killed writer's temporary file
    src = SequenceSource(seq)
    assert isinstance(src.inner, ImageFolderSource) and len(list(src)) == 3


def test_a_sequence_video_s_frames_are_timed_at_the_sequence_rate(tmp_path):
    seq = make_sequence(tmp_path / "SEQ-C", n=10, with_video=True)  # the video's header: 10 fps, 5 frames
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-C", 2.5, 5, 64, 48))
    assert [f.timestamp for f in SequenceSource(seq)] == [i / 2.5 for i in range(5)]
    assert [f.timestamp for f in SequenceSource(seq, fps=5)] == [i / 5 for i in range(5)]


def test_prefetch_refuses_a_fractional_depth_and_tells_a_source_without_images(tmp_path):
    from mctrack.io.video import PrefetchSource

    seq = make_sequence(tmp_path / "SEQ-D", n=3)
    pre = PrefetchSource(SequenceSource(seq, need_images=False), depth=1)
    assert pre.has_images is False and [f.index for f in pre] == [0, 1, 2]
    with pytest.raises(ValueError, match="depth: must be an integer >= 1, got 2.5"):
        PrefetchSource(pre.source, depth=2.5)


def test_video_suffixes_are_matched_whatever_their_case(tmp_path):
    video = make_video(tmp_path / "clip.avi").rename(tmp_path / "CLIP.AVI")
    assert has_images(video)
    src = open_source(video)
    assert isinstance(src, VideoFileSource) and src.name == "CLIP" and len(list(src)) == 8


def test_a_folder_with_only_an_img1_subfolder_is_named_a_sequence_without_seqinfo(tmp_path):
    (tmp_path / "SEQ" / "img1").mkdir(parents=True)
    with pytest.raises(InputError, match=r"SEQ: seqinfo.ini not found"):
        open_source(tmp_path / "SEQ")


def test_a_folder_with_images_of_its_own_is_an_image_folder_whatever_its_subfolders(tmp_path):
    from mctrack.io.video import sequence_folders

    d = tmp_path / "frames"
    write_seqinfo(d / "SEQ-01" / "seqinfo.ini", SeqInfo("SEQ-01", 10, 5, 64, 48))
    (d / "gt").mkdir()
    for i in range(1, 3):
        cv2.imwrite(str(d / f"{i:06d}.jpg"), np.full((8, 8, 3), 1, np.uint8))
    assert sequence_folders(d) == []
    src = open_source(d, fps=7, camera="c2")
    assert isinstance(src, ImageFolderSource) and (src.length, src.fps, src.camera) == (2, 7, "c2")


def test_a_sequence_video_given_alone_with_a_rate_says_nothing_of_the_seqinfo_beside_it(tmp_path, caplog):
    import mctrack.io.video as video

    seq = make_sequence(tmp_path / "SEQ-E", with_video=True)  # the video's header: 10 fps
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-E", 2.5, 20, 64, 48))
    video._RATE_WARNED.clear()
    with caplog.at_level(logging.WARNING):
        assert open_source(seq / "SEQ-E.avi", fps=10).fps == 10  # the rate given is used: nothing to say
    assert not caplog.messages


@pytest.mark.parametrize(("count", "listed"), [(3, "SEQ-1, SEQ-2, SEQ-3)"), (4, "SEQ-1, SEQ-2, SEQ-3, ...)")])
def test_a_folder_of_sequences_lists_three_of_them(tmp_path, count, listed):
    for k in range(1, count + 1):
        write_seqinfo(tmp_path / f"SEQ-{k}" / "seqinfo.ini", SeqInfo(f"SEQ-{k}", 10, 5, 64, 48))
    with pytest.raises(InputError) as err:
        open_source(tmp_path)
    assert f"a folder of {count} MOTChallenge sequence(s) ({listed}, not one source" in str(err.value)


def test_a_sequence_video_without_a_header_rate_is_not_said_to_use_its_header_s_rate(tmp_path, monkeypatch, caplog):
    import mctrack.io.video as video

    seq = make_sequence(tmp_path / "SEQ-G", with_video=True)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-G", 7, 20, 64, 48))
    props = {cv2.CAP_PROP_FPS: 0.0, cv2.CAP_PROP_FRAME_COUNT: 10.0}
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: FakeHeaderCapture(props))
    video._RATE_WARNED.clear()
    with caplog.at_level(logging.WARNING):
        src = open_source(seq / "SEQ-G.avi")
    assert (src.native_fps, src.fps) == (None, 30.0)
    assert "header's" not in caplog.text  # the assumed rate is warned about by the caller (warn_assumed_fps)


def test_track_colours_are_fixed_per_id_and_bright_enough_to_see_on_a_black_frame():
    from mctrack.io.video import _colour

    colours = [_colour(i) for i in range(200)]
    assert colours[:50] == [_colour(i) for i in range(50)] and len(set(colours)) == 200
    assert all(min(c) >= 60 and max(c) <= 255 for c in colours)


def test_annotated_writer_draws_ids_and_1_based_frame_numbers_and_skips_boxes_that_are_not_finite(
    tmp_path, monkeypatch
):
    texts = []
    put_text = cv2.putText

    def recording(image, text, *args, **kwargs):
        texts.append(text)
        return put_text(image, text, *args, **kwargs)

    monkeypatch.setattr(cv2, "putText", recording)
    path = tmp_path / "deep" / "er" / "out.avi"  # its folders are made
    boxes = np.array([[5, 5, 20, 30], [np.nan, 0, 10, 10]], np.float32)
    with AnnotatedVideoWriter(path, 10, (64, 48)) as w:
        t = Tracks("c", 4, np.array([3, 9]), boxes, np.ones(2, np.float32), np.zeros(2, np.int64))
        w.write(Frame("c", 4, 0.4, np.zeros((48, 64, 3), np.uint8)), t)
    assert texts == ["3", "5", "5"]  # the id of the finite box, then frame 5 (outline and ink)
    assert path.is_file()


def test_annotated_writer_writes_frames_without_image_black_and_resizes_others(tmp_path):
    path = tmp_path / "out.avi"
    with AnnotatedVideoWriter(path, 10, (64, 48)) as w:
        w.write(Frame("c", 0, 0.0, None), Tracks.empty("c", 0))
        w.write(Frame("c", 1, 0.1, np.full((24, 32, 3), 200, np.uint8)), Tracks.empty("c", 1))  # half the size
    cap = cv2.VideoCapture(str(path))
    images = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        images.append(img)
    cap.release()
    assert [img.shape for img in images] == [(48, 64, 3)] * 2
    assert images[0][30:, 40:].max() < 30 and abs(float(images[1][30:, 40:].mean()) - 200) < 10


def test_annotated_writer_that_cannot_open_its_file_names_it(tmp_path):
    (tmp_path / "taken.avi").mkdir()  # a folder where the video should be
    with pytest.raises(InputError, match=r"final.avi: cannot open for writing a video"):
        AnnotatedVideoWriter(tmp_path / "taken.avi", 10, (64, 48), shown_as=tmp_path / "final.avi")


def test_annotated_mp4_keeps_the_frame_rate_and_any_suffix_case(tmp_path):
    av = pytest.importorskip("av")
    for fps, name in ((7, "out.mp4"), (29.97, "OUT.MP4")):
        with AnnotatedVideoWriter(tmp_path / name, fps, (64, 48)) as w:
            assert w.codec == "h264"
            for i in range(3):
                w.write(Frame("c", i, i / fps, np.full((48, 64, 3), 40 * i, np.uint8)), Tracks.empty("c", i))
        with av.open(str(tmp_path / name)) as container:
            assert abs(float(container.streams.video[0].average_rate) - fps) < 1e-3


def test_a_video_without_a_frame_count_read_to_its_end_is_not_said_to_end_early(tmp_path, monkeypatch, caplog):
    """helper-107: a header without a frame count turned every normal end of stream into "video ends early: 5
    unreadable frames in a row ... (the header promised unknown frames)"."""
    path = make_video(tmp_path / "clip.avi")
    props = {cv2.CAP_PROP_FPS: 10.0, cv2.CAP_PROP_FRAME_COUNT: 0.0}
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: FakeHeaderCapture(props, n=4))
    src = VideoFileSource(path)
    with caplog.at_level(logging.WARNING):
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3] and src.ended_early is None and src.bad_frames == []
    assert caplog.text == ""


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan"), float("inf")])
def test_a_video_or_sequence_refuses_a_rate_that_is_not_positive_and_finite(tmp_path, fps):
    """helper-107: VideoFileSource(fps=-5) timed its frames 0, -0.2, -0.4 s, fps=nan at NaN, fps=0 fell back to
    the header's rate without a word (an image folder refused them already)."""
    path = make_video(tmp_path / "clip.avi")
    with pytest.raises(ValueError, match=r"fps: must be > 0, got"):
        VideoFileSource(path, fps=fps)
    with pytest.raises(ValueError, match=r"fps: must be > 0, got"):
        SequenceSource(make_sequence(tmp_path / "SYN-01"), fps=fps)
    assert VideoFileSource(path, fps=12.5).fps == 12.5
