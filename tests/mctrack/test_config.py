from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mctrack.config import load_cams
from mctrack.errors import ConfigError


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "video.mp4").write_bytes(b"x")
    (tmp_path / "c1" / "det.txt").write_text("")
    (tmp_path / "c1" / "gt.txt").write_text("")
    (tmp_path / "calib.json").write_text("{}")
    return tmp_path


def _write(root: Path, text: str) -> Path:
    p = root / "cams.yaml"
    p.write_text(text)
    return p


def test_valid_cams_resolves_relative_paths(scene):
    p = _write(
        scene,
        """
name: demo
cameras:
  - id: c1
    source: c1/video.mp4
    fps: 12.5
    time_offset: -0.5
    calibration: calib.json
    detections: c1/det.txt
    ground_truth: c1/gt.txt
  - id: c2
    source: rtsp://10.0.0.1/stream
  - id: 3
    source: 0
""",
    )
    cfg = load_cams(p)
    assert cfg.name == "demo" and [c.id for c in cfg.cameras] == ["c1", "c2", "3"]
    c1 = cfg.cameras[0]
    assert c1.source == str(scene.resolve() / "c1" / "video.mp4")
    assert c1.fps == 12.5 and c1.time_offset == -0.5
    assert Path(c1.detections).is_file() and Path(c1.ground_truth).is_file() and Path(c1.calibration).is_file()
    assert cfg.cameras[1].source == "rtsp://10.0.0.1/stream" and cfg.cameras[2].source == "0"
    assert cfg.cameras[1].fps is None and cfg.cameras[1].time_offset == 0.0
    assert c1.track_high is None and c1.track_new is None  # the run's thresholds


def test_exponents_without_a_dot_are_numbers(scene):
    # YAML 1.1 reads 7e-1 as a string: "expected float, got str '7e-1'" puzzled users
    p = _write(scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    track_new: 9e-1\n    time_offset: 1e3\n")
    cam = load_cams(p).cameras[0]
    assert cam.track_new == 0.9 and cam.time_offset == 1000.0


def test_an_unknown_stream_scheme_is_warned_about(scene, caplog):
    """helper-57: htp:// failed only when the run opened it, as "cannot open the live stream"; helper-59: a refusal
    would shut out FFmpeg's rarer protocols (mmsh://, rist://), so it is a warning."""
    p = _write(scene, "cameras:\n  - id: c1\n    source: htp://10.0.0.1/live\n  - id: c2\n    source: rtsp://a/b\n")
    with caplog.at_level("WARNING", logger="mctrack.config"):
        cfg = load_cams(p)
    assert cfg.cameras[0].source == "htp://10.0.0.1/live"
    assert [m for m in caplog.messages if "no common stream scheme" in m] == [
        f"{p}: cameras[0].source: 'htp':// is no common stream scheme (rtsp://, rtsps://, rtmp://, rtmps://, "
        "rtmpt://, http://, https://, udp://, tcp://, rtp://, srt://, ftp://, hls://); it is tried as it is"
    ]


def test_numeric_camera_ids_are_kept_as_written(scene):
    """helper-58: YAML 1.1 reads 010 as 8 and 0x1F as 31, so `id: 010` wrote 8.txt, and `id: 1` beside `id: 01` was
    a "duplicate camera id '1'" naming neither as written."""
    cams = "".join(f"  - id: {i}\n    source: c1/video.mp4\n" for i in ("010", "0x1F", "1", "01", "1_000"))
    p = _write(scene, f"cameras:\n{cams}transit:\n  - between: [010, 01]\n    max_s: 5\n")
    cfg = load_cams(p)
    assert [c.id for c in cfg.cameras] == ["010", "0x1F", "1", "01", "1_000"]
    assert list(cfg.transit[0].between) == ["010", "01"]
    p = _write(scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: 25\n    time_offset: 2\n")
    cam = load_cams(p).cameras[0]
    assert cam.fps == 25.0 and type(cam.time_offset) is float  # numbers stay numbers


@pytest.mark.parametrize(("written", "meant", "octal"), [("010", "10", 8), ("-010", "-10", -8), ("0_10", "10", 8)])
def test_a_number_with_a_leading_zero_is_refused_not_read_as_octal(scene, written, meant, octal):
    """helper-59: `fps: 010` was tracked at 8 fps (YAML 1.1 octal) without a word."""
    p = _write(scene, f"cameras:\n  - id: c1\n    source: c1/video.mp4\n    time_offset: {written}\n")
    with pytest.raises(
        ConfigError,
        match=rf"cameras\[0\].time_offset: write {meant} \(or '{written}' in quotes for a name\): "
        rf"YAML reads {written} as the octal number {octal}",
    ):
        load_cams(p)


TWO = "cameras:\n  - id: c1\n    source: c1/video.mp4\n  - id: c2\n    source: c1/video.mp4\n"  # two cameras


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    colour: red\n",
            r"cams.yaml: cameras\[0\].colour: unknown key \(valid keys: id, source",
        ),
        ("cameras:\n  - id: c1\n    source: nope.mp4\n", r"cameras\[0\].source: path not found: .*nope.mp4"),
        ("cameras:\n  - id: c1\n    source: ' rtsp://10.0.0.1/live'\n", r"cameras\[0\].source: has spaces around it"),
        (
            "cameras:\n  - id: c1\n    source: -1\n",
            r"cameras\[0\].source: a webcam index is a whole number >= 0, got -1",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    detections: missing.txt\n",
            r"cameras\[0\].detections: file not found: .*missing.txt",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: fast\n",
            r"cameras\[0\].fps: expected float, got str 'fast'",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: -3\n",
            r"cameras\[0\].fps: must be a frame rate in \(0, 10000\]",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: .nan\n",
            r"cameras\[0\].fps: must be a frame rate in",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: .inf\n",
            r"cameras\[0\].fps: must be a frame rate in",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    time_offset: .nan\n",
            r"cameras\[0\].time_offset: must be a finite",
        ),
        ("cameras:\n  - id: ../../escape\n    source: c1/video.mp4\n", r"cameras\[0\].id: '../../escape': must be"),
        ("cameras:\n  - id: /tmp/abs\n    source: c1/video.mp4\n", r"cameras\[0\].id: '/tmp/abs': must be"),
        ("cameras:\n  - id: ..\n    source: c1/video.mp4\n", r"cameras\[0\].id: '..': must be"),
        ("cameras:\n  - id: 'a b'\n    source: c1/video.mp4\n", r"cameras\[0\].id: 'a b': must be"),
        (
            "cameras:\n  - id: AICity\n    source: c1/video.mp4\n",
            r"cameras\[0\].id: 'AICity' is reserved: .*aicity.txt",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n  - id: c1\n    source: c1/video.mp4\n",
            r"cameras\[1\].id: duplicate camera id 'c1'",
        ),
        ("cameras:\n  - source: c1/video.mp4\n", r"cameras\[0\].id: missing required key"),
        ("cameras: []\n", r"cameras: at least one camera"),
        ("cameras: c1\n", r"cameras: expected a list"),
        ("camera:\n  - id: c1\n", r"camera: unknown key"),
        ("cameras:\n  - id: c1\n    source: [c1\n", r"invalid YAML \(line \d+, column \d+\)"),
        ("- just\n- a list\n", r"expected a mapping at the top level"),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    time_offset: true\n",
            r"time_offset: expected float, got bool",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    track_high: 1.5\n",
            r"cameras\[0\].track_high: must be a detection score in \[0, 1\], got 1.5",
        ),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    track_new: .nan\n",
            r"cameras\[0\].track_new: must be a detection score in \[0, 1\], got nan",
        ),
        ("cameras:\n  - id: c1\n    source: c1/video.mp4\n    track_new: high\n", r"track_new: expected float"),
        (  # failed only when the camera started, naming no key
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: 100000.0\n",
            r"cameras\[0\].fps: must be a frame rate in \(0, 10000\], got 100000",
        ),
        ("cameras:\n  - id: c1\n    source: ''\n", r"cameras\[0\].source: must not be empty"),
        (  # FFmpeg opens a text file as a video of its text: tracked and scored silently
            "cameras:\n  - id: c1\n    source: c1/det.txt\n",
            r"cameras\[0\].source: 'c1/det.txt' is not a video file \(.mp4, .*\), an image folder or a sequence",
        ),
        (  # read as a live stream: replayed for ever
            "cameras:\n  - id: c1\n    source: file:///tmp/v.mp4\n",
            r"cameras\[0\].source: write a file's path without file://",
        ),
        (  # every timestamp collapsed into one
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    time_offset: 1.0e+20\n",
            r"cameras\[0\].time_offset: must be a finite number of seconds within",
        ),
        (  # both windows applied: only gaps inside both could link, silently
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n  - id: c2\n    source: c1/video.mp4\n"
            "transit:\n  - between: [c1, c2]\n    min_s: 80\n  - between: [c2, c1]\n    max_s: 30\n",
            r"transit\[1\].between: cameras c2 and c1 already have a window \(transit\[0\]\); a window applies in both",
        ),
        (TWO + "ground_truth_ids: shared\n", r"ground_truth_ids: must be 'global' or 'per_camera', got 'shared'"),
        (TWO + "transit:\n  - between: [c1]\n", r"transit\[0\].between: expected two different camera ids"),
        (TWO + "transit:\n  - between: [c1, c1]\n", r"transit\[0\].between: expected two different camera ids"),
        (TWO + "transit:\n  - between: [c1, c2, c1]\n", r"transit\[0\].between: expected two different camera"),
        (
            TWO + "transit:\n  - between: [c1, c3]\n",
            r"transit\[0\].between: unknown camera id 'c3' \(cameras: c1, c2\)",
        ),
        (TWO + "transit:\n  - between: [c1, c2]\n    min_s: -1\n", r"transit\[0\]: need 0 <= min_s <= max_s"),
        (
            TWO + "transit:\n  - between: [c1, c2]\n    min_s: 30\n    max_s: 10\n",
            r"transit\[0\]: need 0 <= min_s <= max_s, got min_s=30.0, max_s=10.0",
        ),
        ("cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: 0\n", r"cameras\[0\].fps: must be a frame rate in"),
    ],
)
def test_bad_cams_files_give_one_line_naming_file_and_key(scene, text, message):
    p = _write(scene, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_cams(p)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(p))


def test_missing_cams_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere.yaml: file not found"):
        load_cams(tmp_path / "nothere.yaml")


def test_shipped_mot15_camera_set_loads(shared_data):
    from tests.conftest import ROOT

    cfg = load_cams(ROOT / "configs" / "cams" / "mot15_shared.yaml")
    assert [c.id for c in cfg.cameras] == ["PETS09-S2L1", "TUD-Stadtmitte"]
    assert all(Path(c.source).is_file() and Path(c.ground_truth).is_file() for c in cfg.cameras)
    # public detection files: their own score thresholds, not run's (for a detector's scores)
    assert [(c.track_high, c.track_new) for c in cfg.cameras] == [(0.7, 0.9), (0.7, 0.9)]


LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]"
        for i in range(8)
    ]
)


def test_billion_laughs_is_refused_quickly_and_briefly(scene):
    import time

    p = _write(scene, LAUGHS + "\ncameras: *i\n")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than") as info:
        load_cams(p)
    assert time.perf_counter() - t0 < 2.0 and len(str(info.value)) < 300


def test_long_values_are_shortened_in_messages(scene):
    p = _write(scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: '" + "x" * 100_000 + "'\n")
    with pytest.raises(ConfigError, match="fps: expected float") as info:
        load_cams(p)
    assert len(str(info.value)) < 400


def test_deeply_nested_yaml_is_one_line(scene):
    p = _write(scene, "cameras: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply|expected") as info:
        load_cams(p)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_a_key_given_twice_is_refused_with_both_lines(scene):
    p = _write(scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: 10\n    fps: 25\n")
    with pytest.raises(ConfigError, match=r"line 5, column 5\): duplicate key 'fps' \(first on line 4\)"):
        load_cams(p)


def test_merged_keys_may_be_overridden_but_not_repeated():
    from reid_models.yaml_safe import load_bounded

    assert load_bounded("d: &d {a: 1, b: 2}\ne:\n  <<: *d\n  a: 3\n")["e"] == {"a": 3, "b": 2}
    with pytest.raises(yaml.YAMLError, match="duplicate key 'a'"):
        load_bounded("e:\n  a: 1\n  b: {a: 1}\n  a: 2\n")
    # a merge source that overrides a key it merged itself, merged again elsewhere (PyYAML rewrites it in place)
    text = "base: &b {fps: 10, x: 1}\na:\n  d: &d\n    <<: *b\n    fps: 25\nc:\n  <<: *d\n"
    assert load_bounded(text)["c"] == {"fps": 25, "x": 1}


def test_two_cameras_naming_the_same_file_are_warned_about(scene, caplog):
    import logging

    cams = (
        "cameras:\n"
        "  - id: c1\n    source: c1/video.mp4\n    detections: c1/det.txt\n    ground_truth: c1/gt.txt\n"
        "  - id: c2\n    source: c1/../c1/video.mp4\n    detections: c1/det.txt\n"
        "  - id: c3\n    source: '0'\n  - id: c4\n    source: '0'\n"  # one webcam twice: not a file
    )
    with caplog.at_level(logging.WARNING):
        load_cams(_write(scene, cams))
    said = [m for m in caplog.messages if "a camera block copied and not edited?" in m]
    assert len(said) == 2 and all("cameras c1 and c2 have the same" in m for m in said)
    assert {m.split(" have the same ")[1].split()[0] for m in said} == {"source", "detections"}


def test_the_bundled_camera_sets_name_each_file_once(caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        load_cams(Path(__file__).resolve().parents[2] / "samples" / "small" / "cams.yaml")
    assert "have the same" not in caplog.text
    assert "number their people each from 1" not in caplog.text  # one synchronised recording: its ids are shared


def test_unrelated_sequences_scored_as_sharing_their_ids_are_warned_about(tmp_path, caplog):
    """Two MOTChallenge sequences in one camera set without ground_truth_ids: the default (global) scored person 1
    of one and person 1 of the other as one person, and the cross-camera numbers were wrong without a word."""
    import logging

    from mctrack.io.mot import SeqInfo, write_seqinfo

    for name, fps, n in (("A", 7, 795), ("B", 25, 179), ("C", 25, 179)):
        (tmp_path / name / "gt").mkdir(parents=True)
        (tmp_path / name / "gt" / "gt.txt").write_text("")
        (tmp_path / name / "video.mp4").write_bytes(b"x")
        write_seqinfo(tmp_path / name / "seqinfo.ini", SeqInfo(name, fps, n, 64, 48))

    def cams(names, ids=""):
        blocks = "".join(f"  - id: {n}\n    source: {n}/video.mp4\n    ground_truth: {n}/gt/gt.txt\n" for n in names)
        return _write(tmp_path, f"{ids}cameras:\n{blocks}")

    with caplog.at_level(logging.WARNING, logger="mctrack.config"):
        load_cams(cams("AB"))
    said = [m for m in caplog.messages if "number their people each from 1" in m]
    assert len(said) == 1 and "(A: 7 fps, 795 frames; B: 25 fps, 179 frames)" in said[0]
    assert "set ground_truth_ids: per_camera" in said[0]
    for quiet in (cams("BC"), cams("AB", "ground_truth_ids: per_camera\n"), cams("AB", "ground_truth_ids: global\n")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="mctrack.config"):
            load_cams(quiet)  # one rate and length (a synchronised set), or the ids' meaning stated
        assert "number their people" not in caplog.text


def test_an_empty_cams_file_says_cameras_are_missing(scene):
    with pytest.raises(ConfigError, match=r"cams.yaml: cameras: missing required key"):
        load_cams(_write(scene, "# nothing here yet\n"))


def test_a_binary_cams_file_is_one_config_error(scene):
    p = scene / "cams.yaml"
    p.write_bytes(b"\xff\xfe\x00cameras\x80\x81")
    with pytest.raises(ConfigError, match=r"cams.yaml: not a text file"):
        load_cams(p)


def test_optional_keys_given_as_null_are_left_out(scene):
    p = _write(
        scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    fps: null\n    track_high:\n    detections:\n"
    )
    cam = load_cams(p).cameras[0]
    assert cam.fps is None and cam.track_high is None and cam.detections is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("cameras:\n  - id: true\n    source: c1/video.mp4\n", r"cameras\[0\].id: expected str, got bool True"),
        ("cameras:\n  - c1\n", r"cameras\[0\]: expected a mapping, got str"),
        ("cameras:\n  - id: ''\n    source: c1/video.mp4\n", r"cameras\[0\].id: must not be empty"),
        ("cameras:\n  - id: c1\n    source: '   '\n", r"cameras\[0\].source: must not be empty"),
        ("cameras:\n  - id: c1\n    source: FILE:///tmp/v.mp4\n", r"cameras\[0\].source: write a file's path without"),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    calibration: c1\n",
            r"calibration: is a folder, expected",
        ),
        ("cameras:\n  - id: c1\n    source: c1/video.mp4\n    detections: c1\n", r"detections: is a folder, expected"),
        (
            "cameras:\n  - id: c1\n    source: c1/video.mp4\n    time_offset: -1.0e+20\n",
            r"time_offset: must be a finite",
        ),
        (TWO + "transit:\n  - between: [c1, c2]\n    min_s: .inf\n", r"transit\[0\]: need 0 <= min_s <= max_s"),
    ],
)
def test_more_bad_cams_files_name_the_key_and_the_problem(scene, text, message):
    p = _write(scene, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_cams(p)
    assert str(info.value).startswith(str(p))


def test_values_at_the_ends_of_their_ranges_are_accepted(scene):
    p = _write(
        scene,
        "cameras:\n"
        "  - id: c1\n    source: c1/video.mp4\n    fps: 10000\n    time_offset: 1.0e+9\n    track_high: 0\n"
        "    track_new: 1\n"
        "  - id: c2\n    source: rtsp://a/b\n    time_offset: -1.0e+9\n"
        "transit:\n  - between: [c1, c2]\n    min_s: 5\n    max_s: 5\n",
    )
    cfg = load_cams(p)
    c1, c2 = cfg.cameras
    assert (c1.fps, c1.time_offset, c1.track_high, c1.track_new, c2.time_offset) == (10000.0, 1e9, 0.0, 1.0, -1e9)
    assert (cfg.transit[0].min_s, cfg.transit[0].max_s) == (5.0, 5.0)


def test_sources_that_are_folders_or_unusual_file_names_are_accepted(scene):
    (scene / "c1" / "frames").mkdir()
    (scene / "c1" / "LOUD.MP4").write_bytes(b"x")
    (scene / "-1.mp4").write_bytes(b"x")  # a name starting like a negative webcam index
    cams = "".join(f"  - id: c{i}\n    source: {s}\n" for i, s in enumerate(("c1/frames", "c1/LOUD.MP4", "-1.mp4")))
    cfg = load_cams(_write(scene, f"cameras:\n{cams}"))
    root = scene.resolve()
    assert [c.source for c in cfg.cameras] == [
        str(root / "c1" / "frames"),
        str(root / "c1" / "LOUD.MP4"),
        str(root / "-1.mp4"),
    ]


def test_a_home_relative_path_is_expanded(scene, monkeypatch):
    monkeypatch.setenv("HOME", str(scene))
    p = _write(scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    calibration: ~/calib.json\n")
    assert load_cams(p).cameras[0].calibration == str(scene / "calib.json")


def test_upper_case_schemes_and_gstreamer_pipelines_are_not_warned_about(scene, caplog):
    gst = "rtspsrc location=rtsp://10.0.0.1/live ! decodebin ! videoconvert ! appsink"
    p = _write(scene, f"cameras:\n  - id: c1\n    source: RTSP://10.0.0.1/live\n  - id: c2\n    source: '{gst}'\n")
    with caplog.at_level("WARNING", logger="mctrack.config"):
        cfg = load_cams(p)
    assert [c.source for c in cfg.cameras] == ["RTSP://10.0.0.1/live", gst]
    assert "no common stream scheme" not in caplog.text


def test_the_loaded_camera_set_keeps_its_ground_truth_ids_and_path(scene):
    p = _write(scene, TWO + "ground_truth_ids: per_camera\n")
    cfg = load_cams(p)
    assert cfg.ground_truth_ids == "per_camera" and cfg.path == str(p)
    assert load_cams(_write(scene, TWO)).ground_truth_ids == "global"


def test_an_unknown_long_key_is_shortened_in_the_message(scene):
    p = _write(scene, "cameras:\n  - id: c1\n    source: c1/video.mp4\n    " + "k" * 500 + ": 1\n")
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.k+: unknown key") as info:
        load_cams(p)
    assert "k" * 60 in str(info.value) and "k" * 61 not in str(info.value)


def test_ground_truth_outside_a_gt_folder_is_not_read_as_a_motchallenge_sequence(tmp_path, caplog):
    """Only SEQ/gt/gt.txt beside SEQ/seqinfo.ini is a MOTChallenge sequence's ground truth: another layout that
    happens to have a seqinfo.ini two folders up is not warned about."""
    from mctrack.io.mot import SeqInfo, write_seqinfo

    for name, fps in (("A", 7), ("B", 25)):
        (tmp_path / name / "labels").mkdir(parents=True)
        (tmp_path / name / "labels" / "gt.txt").write_text("")
        (tmp_path / name / "video.mp4").write_bytes(b"x")
        write_seqinfo(tmp_path / name / "seqinfo.ini", SeqInfo(name, fps, 100, 64, 48))
    blocks = "".join(f"  - id: {n}\n    source: {n}/video.mp4\n    ground_truth: {n}/labels/gt.txt\n" for n in "AB")
    with caplog.at_level("WARNING", logger="mctrack.config"):
        load_cams(_write(tmp_path, f"cameras:\n{blocks}"))
    assert "number their people" not in caplog.text
