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
