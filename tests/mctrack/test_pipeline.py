"""End to end: the pipeline and ``mctrack run`` on the samples generator's ``tiny`` preset (2 cameras, 6 s)."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from mctrack.cli import main
from mctrack.config import load_cams
from mctrack.detect import build_detector
from mctrack.embed import ColorHistogramEmbedder
from mctrack.errors import ConfigError
from mctrack.io.mot import load_mot_txt, save_mot_txt
from mctrack.link import OfflineLinker
from mctrack.parallel import auto_workers
from mctrack.pipeline import Pipeline, constraints_from_cams, default_source, feature_cache_key
from mctrack.synth import make_scene
from mctrack.track import Tracker

SEED = 1  # measured: colorhist offline cross-camera IDF1 0.871, motion only 0.552, motion-only bound 0.776


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return make_scene("tiny", tmp_path_factory.mktemp("tiny"), seed=SEED, progress=False)


class CountingEmbedder(ColorHistogramEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, image, dets):
        self.calls += 1
        return super().__call__(image, dets)


def make_pipeline(cams, embedder=None, **kwargs) -> Pipeline:
    linker = OfflineLinker(thresh=0.12, constraints=constraints_from_cams(cams), min_len=3) if embedder else None
    args = dict(
        detector_factory=lambda cam: build_detector("mot", path=cam.detections),
        tracker_factory=lambda cam, fps: Tracker(camera=cam, frame_rate=fps, high_thresh=0.5, new_track_thresh=0.6),
        embedder=embedder,
        linker=linker,
        cache_key=lambda cam: feature_cache_key(
            cam, embedder=getattr(embedder, "name", "none"), weights_hash=None, detector={"name": "mot"}
        ),
        video=False,
        detector_needs_images=False,
        progress=False,
    )
    args.update(kwargs)
    return Pipeline(**args)


def _cams_with_absolute_paths(scene: Path) -> dict:
    """The scene's cams.yaml as a mapping, its paths made absolute: a copy to change and write elsewhere."""
    raw = yaml.safe_load((scene / "cams.yaml").read_text())
    for cam in raw["cameras"]:
        for key in ("source", "detections", "ground_truth", "calibration"):
            if cam.get(key):
                cam[key] = str((scene / cam[key]).resolve())
    return raw


def _with_first_ground_truth(scene: Path, tmp_path: Path, gt_file: Path):
    """The scene's camera set with its first camera's ground truth replaced by ``gt_file`` (written to tmp_path)."""
    raw = _cams_with_absolute_paths(scene)
    raw["cameras"][0]["ground_truth"] = str(gt_file)
    (tmp_path / "cams.yaml").write_text(yaml.safe_dump(raw))
    return load_cams(tmp_path / "cams.yaml")


def motion_only_bound(cams) -> float:
    """The best cross-camera IDF1 any result can reach without cross-camera links: each GT identity can be matched
    to at most one camera's part of it, so IDTP <= sum over people of their largest per-camera box count B, and
    IDF1 = 2 IDTP / (GT + predictions) <= 2 B / (GT + B)."""
    per: dict[int, list[int]] = {}
    n_gt = 0
    for cam in cams.cameras:
        gt = load_mot_txt(cam.ground_truth)
        n_gt += len(gt)
        ids, counts = np.unique(gt[:, 1].astype(int), return_counts=True)
        for i, c in zip(ids, counts):
            per.setdefault(int(i), []).append(int(c))
    b = sum(max(v) for v in per.values())
    return 2 * b / (n_gt + b)


def test_colorhist_linking_beats_what_motion_only_can_reach(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")
    bound = motion_only_bound(cams)
    linked = make_pipeline(cams, ColorHistogramEmbedder()).run(cams, tmp_path / "linked")
    motion = make_pipeline(cams).run(cams, tmp_path / "motion")
    cross_linked = linked.evaluation["cross_camera"]["IDF1"]
    cross_motion = motion.evaluation["cross_camera"]["IDF1"]
    assert cross_motion <= bound + 1e-9
    assert cross_linked > bound + 0.05  # measured 0.871 vs bound 0.776
    assert cross_linked >= 0.82
    # motion only: every local track its own global id
    assert motion.summary["counts"]["global_ids"] == motion.summary["counts"]["tracklets"]
    assert linked.summary["counts"]["multi_camera_ids"] >= 2
    # per-camera MOT files with global ids: a global id shared by cameras appears in both files
    ids1 = set(load_mot_txt(tmp_path / "linked" / "cam1.txt")[:, 1].astype(int))
    ids2 = set(load_mot_txt(tmp_path / "linked" / "cam2.txt")[:, 1].astype(int))
    assert len(ids1 & ids2) >= 2


def test_cache_is_hit_on_a_rerun(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")
    first = CountingEmbedder()
    r1 = make_pipeline(cams, first).run(cams, tmp_path)
    assert first.calls > 50 and {r.cache for r in r1.cameras.values()} == {"miss"}
    assert len(list((tmp_path / "cache").glob("cam*-colorhist-*/meta.npz"))) == 2
    assert not list((tmp_path / "cache").glob("*.partial"))
    second = CountingEmbedder()
    r2 = make_pipeline(cams, second).run(cams, tmp_path)
    assert second.calls == 0 and {r.cache for r in r2.cameras.values()} == {"hit"}
    assert {c: r.frames_without_image for c, r in r2.cameras.items()} == {
        c: r.frames_without_image for c, r in r1.cameras.items()
    }
    assert r2.identities.lookup() == r1.identities.lookup()
    assert r2.evaluation["cross_camera"] == r1.evaluation["cross_camera"]
    # another embedder (other key) does not reuse it
    third = CountingEmbedder()
    make_pipeline(cams, third, cache_key=lambda cam: {"other": cam.id}).run(cams, tmp_path)
    assert third.calls > 0


def _cam1_fails_at(index: int):
    """A source factory whose cam1 stream raises ``OSError("connection lost")`` at frame ``index``."""

    def factory(cam, need_images):
        src = default_source(cam, need_images)
        if cam.id != "cam1":
            return src

        class Broken:
            def __getattr__(self, name):
                return getattr(src, name)

            def __iter__(self):
                for frame in src:
                    if frame.index == index:
                        raise OSError("connection lost")
                    yield frame

        return Broken()

    return factory


def test_a_camera_failing_mid_stream_is_reported_and_the_others_finish(scene, tmp_path, caplog):
    cams = load_cams(scene / "cams.yaml")
    failing = _cam1_fails_at(20)
    with caplog.at_level(logging.ERROR):
        r = make_pipeline(cams, ColorHistogramEmbedder(), source_factory=failing, cache_key=None, video=True).run(
            cams, tmp_path
        )
    lines = [m for m in caplog.messages if "cam1" in m]
    assert len(lines) == 1 and "video.mp4" in lines[0] and "connection lost" in lines[0]
    assert (tmp_path / "cam2.mp4").is_file() and not (tmp_path / "cam1.mp4").exists()
    assert r.summary["videos"] == ["cam2"]  # what the closing "outputs in" line lists
    assert r.failed == ["cam1"] and r.cameras["cam1"].frames == 20 and r.cameras["cam2"].frames == 60
    local = load_mot_txt(tmp_path / "local" / "cam1.txt")
    assert len(local) and local[:, 0].max() == 20  # what it finished is kept
    assert len(load_mot_txt(tmp_path / "cam2.txt"))
    assert json.loads((tmp_path / "summary.json").read_text())["failed_cameras"]["cam1"].startswith("OSError")


def test_a_camera_failing_in_a_run_of_max_seconds_is_scored_on_the_same_span(scene, tmp_path):
    """With ``max_seconds`` every camera is evaluated on the span the run covers; one that failed inside it counts
    its misses up to there, not over all of its ground truth (which would compare different spans)."""
    cams = load_cams(scene / "cams.yaml")
    pipe = make_pipeline(
        cams, ColorHistogramEmbedder(), source_factory=_cam1_fails_at(10), cache_key=None, max_seconds=3.0
    )
    r = pipe.run(cams, tmp_path)
    assert r.failed == ["cam1"] and r.cameras["cam1"].frames == 10
    span = r.cameras["cam2"].frames
    assert 10 < span < 60  # the run stopped before the videos' end
    assert r.evaluation["frames_evaluated"] == {"cam1": span, "cam2": span}


def _sources_calling(camera: str, at_frame: int, action):
    """A source factory whose camera ``camera`` calls ``action()`` when it reaches frame ``at_frame``, before handing
    it on (``action`` may raise KeyboardInterrupt, as Ctrl-C does)."""

    def factory(cam, need_images):
        src = default_source(cam, need_images)
        if cam.id != camera:
            return src

        class Wrapped:
            def __getattr__(self, name):
                return getattr(src, name)

            def __iter__(self):
                for frame in src:
                    if frame.index == at_frame:
                        action()
                    yield frame

        return Wrapped()

    return factory


def _ctrl_c() -> None:
    raise KeyboardInterrupt


def _interrupting_at_frame_5(camera: str):
    """A source factory whose camera ``camera`` raises KeyboardInterrupt (Ctrl-C) at its frame 5."""
    return _sources_calling(camera, 5, _ctrl_c)


def _summary_after_ctrl_c(scene: Path, out: Path, camera: str) -> dict:
    """summary.json of a run of the scene (cameras in turn) that Ctrl-C stops at ``camera``'s frame 5."""
    cams = load_cams(scene / "cams.yaml")
    with pytest.raises(KeyboardInterrupt):
        make_pipeline(cams, ColorHistogramEmbedder(), source_factory=_interrupting_at_frame_5(camera)).run(cams, out)
    return json.loads((out / "summary.json").read_text())


def test_an_output_folder_that_is_a_file_or_a_link_to_nothing_is_refused_before_any_camera(scene, tmp_path):
    from mctrack.errors import InputError

    cams = load_cams(scene / "cams.yaml")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="the output folder is a file$"):
        make_pipeline(cams).run(cams, tmp_path / "afile")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")  # used to end in a bare FileExistsError
    with pytest.raises(InputError, match=rf"link: the output folder is a symbolic link to {tmp_path / 'nowhere'}, "):
        make_pipeline(cams).run(cams, tmp_path / "link")
    assert not (tmp_path / "nowhere").exists()


def test_interrupted_run_keeps_what_it_finished(scene, tmp_path):
    summary = _summary_after_ctrl_c(scene, tmp_path, "cam2")
    assert summary["interrupted"] and summary["cameras"]["cam1"]["frames"] == 60
    assert summary["cameras"]["cam2"]["frames"] == 5  # the interrupted camera's frames are kept too
    assert summary["cameras_not_run"] == []
    # stopped, not broken: listed apart from the failed cameras (it was a failure with the error "interrupted")
    assert summary["interrupted_cameras"] == ["cam2"] and summary["failed_cameras"] == {}
    cams = load_cams(scene / "cams.yaml")  # the same in the Python API's result
    result = make_pipeline(cams, ColorHistogramEmbedder(), source_factory=_interrupting_at_frame_5("cam2")).run(
        cams, tmp_path / "api", raise_on_interrupt=False
    )
    assert result.interrupted and result.interrupted_cameras == ["cam2"] and result.failed == []
    assert len(load_mot_txt(tmp_path / "cam1.txt")) > 100
    assert load_mot_txt(tmp_path / "cam2.txt")[:, 0].max() <= 5
    assert (tmp_path / "identities.csv").is_file()


def test_ctrl_c_with_cameras_in_threads_counts_the_frames_the_results_hold(scene, tmp_path):
    """The stop was checked before a frame's rows were written, so each camera counted one frame without rows."""
    cams = load_cams(scene / "cams.yaml")
    holder = {}
    stopping = _sources_calling("cam1", 10, lambda: holder["pipe"]._stop.set())  # Ctrl-C with cameras in threads
    holder["pipe"] = make_pipeline(
        cams, ColorHistogramEmbedder(), workers=2, worker_threads=True, source_factory=stopping
    )
    result = holder["pipe"].run(cams, tmp_path, raise_on_interrupt=False)
    assert result.interrupted
    for cam, entry in result.summary["cameras"].items():
        rows = load_mot_txt(tmp_path / "local" / f"{cam}.txt")
        assert entry["frames"] == rows[:, 0].max() < 60, cam  # rows in every frame here (people throughout)


def test_ctrl_c_while_linking_and_writing_still_writes_the_results(scene, tmp_path, monkeypatch):
    """A Ctrl-C after every camera finished, while the tracklets were linked and the results written, ended the
    run with nothing but local/ (the earlier run's results already removed)."""
    import os
    import signal

    import mctrack.pipeline as pipeline

    write = pipeline.write_identities

    def ctrl_c_then_write(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # as the user's Ctrl-C, in the middle of the writing
        return write(*args, **kwargs)

    monkeypatch.setattr(pipeline, "write_identities", ctrl_c_then_write)
    cams = load_cams(scene / "cams.yaml")
    result = make_pipeline(cams, ColorHistogramEmbedder()).run(cams, tmp_path, raise_on_interrupt=False)
    assert result.interrupted and result.summary["interrupted"]
    assert {c: r.frames for c, r in result.cameras.items()} == {"cam1": 60, "cam2": 60}
    for name in ("cam1.txt", "cam2.txt", "identities.csv", "aicity.txt", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert len(load_mot_txt(tmp_path / "cam1.txt")) == len(load_mot_txt(tmp_path / "local" / "cam1.txt"))


def test_ctrl_c_as_a_camera_ends_keeps_its_last_tracklets(scene, tmp_path, monkeypatch):
    """A Ctrl-C while a finished camera's open tracks were closed lost them (fewer rows than a whole run)."""
    import os
    import signal

    import mctrack.pipeline as pipeline

    cams = load_cams(scene / "cams.yaml")
    whole = make_pipeline(cams, ColorHistogramEmbedder()).run(cams, tmp_path / "whole")
    pop_all = pipeline.TrackletBuilder.pop_all

    def ctrl_c_then_pop(self):
        os.kill(os.getpid(), signal.SIGINT)
        return pop_all(self)

    monkeypatch.setattr(pipeline.TrackletBuilder, "pop_all", ctrl_c_then_pop)
    cut = make_pipeline(cams, ColorHistogramEmbedder()).run(cams, tmp_path / "cut", raise_on_interrupt=False)
    assert cut.interrupted and list(cut.cameras) == ["cam1"]  # stopped after cam1, cam2 not started
    assert len(cut.cameras["cam1"].tracklets) == len(whole.cameras["cam1"].tracklets) > 0
    assert len(load_mot_txt(tmp_path / "cut" / "cam1.txt")) == len(load_mot_txt(tmp_path / "whole" / "cam1.txt"))


def test_a_camera_stopped_before_its_first_frame_is_not_scored(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")

    def ctrl_c():
        raise KeyboardInterrupt

    pipe = make_pipeline(cams, ColorHistogramEmbedder(), source_factory=_sources_calling("cam2", 0, ctrl_c))
    result = pipe.run(cams, tmp_path, raise_on_interrupt=False)
    assert result.interrupted and result.summary["cameras"]["cam2"]["frames"] == 0
    # it covered no frame: scored on one, its first frame's people were all misses (FN) in the per-camera mean
    assert result.evaluation["frames_evaluated"] == {"cam1": 60}
    assert set(result.evaluation["per_camera"]) == {"cam1"}


def test_a_camera_that_never_started_before_ctrl_c_is_named_in_the_summary(scene, tmp_path):
    summary = _summary_after_ctrl_c(scene, tmp_path, "cam1")
    assert summary["interrupted"] and summary["cameras"]["cam1"]["frames"] == 5
    assert "cam2" not in summary["cameras"] and summary["cameras_not_run"] == ["cam2"]


def test_camera_order_in_cams_yaml_does_not_change_the_result(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")
    flipped = dataclasses.replace(cams, cameras=list(reversed(cams.cameras)))
    for linker in ("offline", "online"):
        results = []
        for c, name in ((cams, "a"), (flipped, "b")):
            kw = {}
            if linker == "online":
                from mctrack.link import OnlineLinker

                kw["linker"] = OnlineLinker(thresh=0.12, constraints=constraints_from_cams(c), min_len=10)
            results.append(make_pipeline(c, ColorHistogramEmbedder(), **kw).run(c, tmp_path / linker / name))
        assert results[0].identities.lookup() == results[1].identities.lookup()
        assert results[0].evaluation["cross_camera"] == results[1].evaluation["cross_camera"]


#: summary.json settings added on 2026-12-06 (checked apart in the test below)
NEWER_SETTINGS = ("detector", "embedder", "tracker", "cmc", "offline", "linker", "provenance")


def test_cli_run_end_to_end(scene, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "colorhist",
                "--detector",
                "mot",
                "--out",
                str(out),
                "--no-progress",
                "--link-thresh",
                "0.12",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "cross-camera" in printed and str(out) in printed
    for name in ("cam1.txt", "cam2.txt", "identities.csv", "summary.json", "eval.json", "cam1.mp4", "cam2.mp4"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    with (out / "identities.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert set(table[0]) >= {"camera", "local_id", "global_id", "first_time", "last_time"}
    gids = {(r["camera"], int(r["local_id"])): int(r["global_id"]) for r in table}
    assert len(set(gids.values())) < len(gids)  # something was linked across cameras
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["cameras"] == 2 and summary["frames_per_second"] > 0
    # defaults: a cheap embedder embeds every detection; one camera per core (at most one per camera)
    assert summary["embed"]["policy"] == "all" and "(--embed all)" in printed
    assert summary["workers"] == auto_workers(2)
    assert {"detect", "embed", "track", "link"} <= set(summary["timings_s"])
    # the settings the command resolved (colour histogram: its registered facts; --link-thresh as given)
    recorded = {k: summary["settings"][k] for k in summary["settings"] if k not in NEWER_SETTINGS}
    assert recorded == {
        "weights": None,
        "precision": None,  # a network's: fp32, bf16 or fp16 as resolved
        "appearance_weight": 0.5,
        "appearance_thresh": 0.8,
        "appearance_centre": "scene",
        "link_thresh": 0.12,
        "track_score": "mean",  # recorded cameras: tracks also judged by their mean detection score
        "min_hits": 2,  # with an embedder the tracker keeps its online rule
        "min_length_s": 0.5,  # recorded cameras: tracks seen for less than 0.5 s are dropped
        "track_thresholds": {c: {"high": 0.5, "new": 0.6, "low": 0.1} for c in ("cam1", "cam2")},  # for a detector
    }
    newer = summary["settings"]
    assert newer["detector"] == {"name": "mot", "min_score": None} and newer["embedder"]["name"] == "colorhist"
    assert newer["tracker"]["max_lost_s"] == 1.5 and newer["offline"] == {
        "smooth": 2.0,
        "stitch_s": 4.0,
        "backfill": True,
    }
    assert newer["linker"]["name"] == "offline" and newer["provenance"]["command"].startswith("mctrack run --cams")
    ev = json.loads((out / "eval.json").read_text())
    assert ev["cross_camera"]["IDF1"] > 0.8
    # every camera's global rows in one file (AI City format), with ground positions from each calib.json
    aicity = np.loadtxt(out / "aicity.txt", ndmin=2)
    global_rows = {c: load_mot_txt(out / f"{c}.txt") for c in ("cam1", "cam2")}
    assert len(aicity) == sum(len(r) for r in global_rows.values())
    cam2 = aicity[aicity[:, 0] == 2]
    assert sorted(cam2[:, [2, 1]].tolist()) == sorted(global_rows["cam2"][:, [0, 1]].tolist())
    assert (cam2[:, 7:9] != -1).all()  # the tiny scene's cameras are calibrated
    # the identity gallery: a row per global id (multi-camera ones first), a column per camera
    gallery = cv2.imread(str(out / "gallery.jpg"))
    assert summary["gallery_ids"] == len(set(gids.values())) and gallery.shape[0] == 24 + summary["gallery_ids"] * 132
    assert f"gallery.jpg ({summary['gallery_ids']} identities)" in printed
    # online linker, reusing the cache of the run above
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "colorhist",
                "--detector",
                "mot",
                "--out",
                str(out),
                "--no-progress",
                "--no-video",
                "--linker",
                "online",
                "--link-thresh",
                "0.12",
            ]
        )
        == 0
    )
    online = json.loads((out / "summary.json").read_text())
    assert online["linker"] == "OnlineLinker" and {c["cache"] for c in online["cameras"].values()} == {"hit"}
    assert online["workers"] == 1  # the online linker runs the cameras interleaved in one process, whatever auto says
    assert json.loads((out / "eval.json").read_text())["cross_camera"]["IDF1"] > 0.7
    # motion only, no video: each local track its own global id
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "none",
                "--detector",
                "mot",
                "--out",
                str(tmp_path / "none"),
                "--no-progress",
                "--no-video",
            ]
        )
        == 0
    )
    s = json.loads((tmp_path / "none" / "summary.json").read_text())
    assert s["counts"]["global_ids"] == s["counts"]["tracklets"] and not (tmp_path / "none" / "cam1.mp4").exists()
    assert s["settings"]["appearance_thresh"] is None and s["settings"]["link_thresh"] is None
    # motion only, run keeps the online confirmation (mctrack track confirms at once): measured worse at 0.6
    assert s["settings"]["min_hits"] == 2 and s["settings"]["min_length_s"] == 0.5


def test_cli_run_bad_input(scene, tmp_path, capsys):
    assert main(["run", "--cams", str(tmp_path / "missing.yaml"), "--reid", "none", "--detector", "mot"]) == 1
    assert "missing.yaml" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "colorhist",
                "--linker",
                "psychic",
                "--detector",
                "mot",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "offline, online" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "colorhist",
                "--app-weight",
                "3",
                "--detector",
                "mot",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "tracker settings: appearance_weight" in capsys.readouterr().err
    assert not (tmp_path / "summary.json").exists()  # failed before any camera ran
    args = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--out", str(tmp_path)]
    assert main([*args, "--reid", "colorhist", "--compile", "default"]) == 1  # not silently ignored
    assert "--compile: only for the torch networks" in capsys.readouterr().err
    # nor a device or batch size with nothing to run on them (public detections, no network)
    assert main([*args, "--reid", "none", "--device", "cuda"]) == 1
    assert "--device cuda: nothing runs on a device with --reid none and --detector mot" in capsys.readouterr().err
    assert main([*args, "--reid", "colorhist", "--batch-size", "64"]) == 1
    assert "--batch-size: only for the networks" in capsys.readouterr().err
    # options of what does not run are refused as --address is (helper-81: accepted without a word)
    for ray_option in (["--ray-cpus", "2"], ["--ray-gpus", "1"], ["--address", "auto"]):
        assert main([*args, "--reid", "none", *ray_option]) == 1
        assert f"{ray_option[0]}: only with --engine ray" in capsys.readouterr().err
    assert main([*args, "--reid", "none", "--linker", "psychic"]) == 1  # misspelt, if unused with --reid none
    assert "offline, online" in capsys.readouterr().err
    assert not (tmp_path / "summary.json").exists()
    for bad in ("0", "two"):  # argparse's one-line usage error, exit 2
        with pytest.raises(SystemExit) as exc:
            main(["run", "--cams", str(scene / "cams.yaml"), "--reid", "none", "--detector", "mot", "--workers", bad])
        assert exc.value.code == 2 and "--workers" in capsys.readouterr().err


def test_transit_windows_in_cams_yaml(scene, tmp_path):
    text = (scene / "cams.yaml").read_text()
    good = tmp_path / "good.yaml"
    good.write_text(
        text.replace("cam1/", f"{scene}/cam1/").replace("cam2/", f"{scene}/cam2/")
        + "transit:\n- between: [cam1, cam2]\n  min_s: 0.5\n  max_s: 30\n"
    )
    cams = load_cams(good)
    c = constraints_from_cams(cams)
    assert c.transit[0].a == "cam1" and c.transit[0].max_s == 30 and set(c.homographies) == {"cam1", "cam2"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("between: [cam1, cam2]", "between: [cam1, cam9]"))
    with pytest.raises(ConfigError, match="cam9"):
        load_cams(bad)


def test_time_offset_and_fps_give_scene_times(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")
    shifted = dataclasses.replace(
        cams, cameras=[cams.cameras[0], dataclasses.replace(cams.cameras[1], time_offset=100.0, fps=5.0)]
    )
    r = make_pipeline(shifted, ColorHistogramEmbedder()).run(shifted, tmp_path)
    with (tmp_path / "identities.csv").open() as fh:
        table = list(csv.DictReader(fh))
    cam2 = [row for row in table if row["camera"] == "cam2"]
    assert cam2 and all(
        100.0 <= float(row["first_time"]) <= float(row["last_time"]) <= 100.0 + 59 / 5.0 for row in cam2
    )
    for row in cam2:  # frame f of cam2 is at 100 + (f - 1) / 5 s
        assert float(row["first_time"]) == pytest.approx(100.0 + (int(row["first_frame"]) - 1) / 5.0, abs=1e-3)
    # cam2 now starts 100 s after cam1 ended: people seen by both at once are no longer simultaneous, and the
    # walking-speed check still allows links (100 s is enough to cross the courtyard)
    assert r.summary["cameras"]["cam2"]["fps"] == 5.0


def test_online_linker_writes_global_ids_as_the_run_goes(scene, tmp_path, monkeypatch):
    import mctrack.pipeline as pipeline_module
    from mctrack.link import OnlineLinker

    cams = load_cams(scene / "cams.yaml")
    # keep what was streamed: the end-of-run rewrite of OUT/<camera>.txt is switched off
    monkeypatch.setattr(pipeline_module, "write_global_rows", lambda *a, **k: None)
    linker = OnlineLinker(thresh=0.12, constraints=constraints_from_cams(cams), min_len=10)
    r = make_pipeline(cams, ColorHistogramEmbedder(), linker=linker).run(cams, tmp_path)
    lookup = r.identities.lookup()
    assert len(set(lookup.values())) < len(lookup)  # linked across cameras
    from mctrack.link import load_tracklets

    stored = load_tracklets(tmp_path / "tracklets")  # every finished tracklet's summary went to disk
    assert len(stored) == len(lookup) and all(lookup[(t.camera, int(t.track_id))] == g for t, g in stored)
    for cam in ("cam1", "cam2"):
        streamed = load_mot_txt(tmp_path / f"{cam}.txt")
        local = load_mot_txt(tmp_path / "local" / f"{cam}.txt")
        assert len(streamed) == len(local) > 50
        expected = local.copy()
        expected[:, 1] = [lookup[(cam, int(t))] for t in local[:, 1]]
        order = np.lexsort((expected[:, 2], expected[:, 1], expected[:, 0]))
        got = np.lexsort((streamed[:, 2], streamed[:, 1], streamed[:, 0]))
        np.testing.assert_allclose(streamed[got][:, :6], expected[order][:, :6], atol=0.01)


def test_online_interrupted_run_keeps_what_it_finished(scene, tmp_path):
    from mctrack.link import OnlineLinker

    cams = load_cams(scene / "cams.yaml")
    interrupting = _sources_calling("cam2", 30, _ctrl_c)
    linker = OnlineLinker(thresh=0.12, constraints=constraints_from_cams(cams), min_len=10)
    with pytest.raises(KeyboardInterrupt):
        make_pipeline(cams, ColorHistogramEmbedder(), linker=linker, source_factory=interrupting).run(cams, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] and summary["cameras"]["cam2"]["frames"] == 30
    assert 29 <= summary["cameras"]["cam1"]["frames"] <= 31
    with (tmp_path / "identities.csv").open() as fh:
        assert {row["camera"] for row in csv.DictReader(fh)} == {"cam1", "cam2"}
    rows = load_mot_txt(tmp_path / "cam1.txt")
    assert len(rows) > 20 and rows[:, 0].max() <= 31  # cameras advance together: cam1 stopped near frame 30


def test_bundled_weights_lookup(tmp_path):
    from mctrack.weights import WeightsError, bundled, default_weights, describe, resolve_weights

    assert default_weights("laga", tmp_path) is None and bundled(tmp_path) == {}
    (tmp_path / "laga_samples.pt").write_bytes(b"x")
    assert default_weights("laga", tmp_path) == tmp_path / "laga_samples.pt"
    (tmp_path / "laga_market1501.pt").write_bytes(b"x")
    (tmp_path / "laga_market1501.json").write_text('{"summary": "trained on Market-1501"}')
    assert default_weights("laga", tmp_path) == tmp_path / "laga_market1501.pt"  # real-trained first
    assert describe(tmp_path / "laga_market1501.pt") == "trained on Market-1501"
    assert default_weights("can", tmp_path) is None
    assert resolve_weights("laga_samples", tmp_path) == tmp_path / "laga_samples.pt"
    assert resolve_weights(tmp_path / "laga_samples.pt", tmp_path) == tmp_path / "laga_samples.pt"
    with pytest.raises(WeightsError, match="nope.*laga_market1501, laga_samples"):
        resolve_weights("nope", tmp_path)
    with pytest.raises(WeightsError, match=rf"^weights {tmp_path}: a folder, not a checkpoint file"):
        resolve_weights(tmp_path, tmp_path)  # used to say "no such file" of a folder that is there
    # the Python API's errors name its keyword argument, the command line's its option
    with pytest.raises(WeightsError, match="^weights nope: no such file"):
        resolve_weights("nope", tmp_path)
    with pytest.raises(WeightsError, match="^--weights nope: no such file"):
        resolve_weights("nope", tmp_path, option="--weights")
    # the bundled file's own name, as docs/reid_training.md wrote it (the current folder has no such file)
    assert resolve_weights("laga_market1501.pt", tmp_path) == tmp_path / "laga_market1501.pt"
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(b"x")
    with pytest.raises(WeightsError, match=rf"a folder, not a checkpoint file; the training run's checkpoint is {run}"):
        resolve_weights(run, tmp_path)


def test_bundled_checkpoints_are_package_data():
    """A non-editable install keeps them: they live inside the package and pyproject names them."""
    from mctrack.weights import FOLDER, bundled

    assert FOLDER.parent.name == "mctrack" and "laga_samples" in bundled()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"mctrack.weights" = ["*.pt", "*.json"]' in pyproject


def test_embed_every_n_frames(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")
    every = CountingEmbedder()
    r = make_pipeline(cams, every, embed_every=3).run(cams, tmp_path / "a")
    assert 35 <= every.calls <= 40  # 20 of 60 frames per camera, minus frames without detections
    again = CountingEmbedder()
    r2 = make_pipeline(cams, again, embed_every=3).run(cams, tmp_path / "a")  # cache replays the same frames
    assert again.calls == 0 and r2.identities.lookup() == r.identities.lookup()
    assert r.evaluation["cross_camera"]["IDF1"] > 0.7
    with pytest.raises(ValueError, match="embed_every"):
        make_pipeline(cams, every, embed_every=0)


def _live_cams(cams):
    """The scene's cameras presented as RTSP streams (the sources below map them back to the video files)."""
    return dataclasses.replace(
        cams, cameras=[dataclasses.replace(c, source=f"rtsp://test/{c.id}") for c in cams.cameras]
    )


def _paced_clock(fps: float):
    """Capture times of a stream running at ``fps`` (one clock reading per frame, plus one at the start)."""
    import itertools

    counter = itertools.count()
    return lambda: next(counter) / fps


def test_live_streams_run_together_are_recorded_and_never_cached(scene, tmp_path, caplog):
    import cv2

    from mctrack.io.video import LiveSource, VideoFileSource

    cams = load_cams(scene / "cams.yaml")
    files = {c.id: c.source for c in cams.cameras}
    live = _live_cams(cams)

    def live_source(cam, need_images):
        opened = []

        def capture(_url):  # the first connection plays the file; cam2's drops after 25 frames, reconnects fail
            opened.append(cam.id)
            if len(opened) > 1:
                return _DeadCapture()
            return _Limited(cv2.VideoCapture(files[cam.id]), 25 if cam.id == "cam2" else 10**6)

        return LiveSource(
            cam.source,
            camera=cam.id,
            fps=cam.fps,
            drop=False,
            reconnect_s=0.3,
            capture_factory=capture,
            clock=_paced_clock(cam.fps),
        )

    with caplog.at_level(logging.ERROR):
        r = make_pipeline(
            live,
            ColorHistogramEmbedder(),
            source_factory=live_source,
            video=True,
            max_seconds=4.0,
            record_segment_s=1.5,
        ).run(live, tmp_path / "live")
    # cam1 ran 4 s of capture time (frames stamped 0.1 .. 3.9 s at 10 fps), cam2's stream was lost after 25 frames
    assert r.cameras["cam1"].frames == 39 and r.cameras["cam1"].error is None
    assert r.cameras["cam2"].frames == 25 and "live stream lost" in r.cameras["cam2"].error
    assert any("rtsp://test/cam2" in m and "live stream lost" in m for m in caplog.messages)
    assert not (tmp_path / "live" / "cache").exists()  # a URL says nothing about what it shows: never cached
    # recordings hold every frame received: cam1's 40th arrived (and ended the run at 4.0 s) but was not tracked;
    # a new file every 1.5 s of capture time (frames stamped 0.1 s, 0.2 s, ...: 15 frames a file)
    summary = json.loads((tmp_path / "live" / "summary.json").read_text())
    for cam, lengths in (("cam1", [15, 15, 10]), ("cam2", [15, 10])):
        files = [Path(f) for f in summary["cameras"][cam]["recordings"]]
        assert sorted(files) == sorted((tmp_path / "live" / "recordings").glob(f"{cam}-*.mkv"))
        assert [VideoFileSource(f).length for f in files] == lengths
        # annotated from the recording's files in order: every frame tracked, once
        assert VideoFileSource(tmp_path / "live" / f"{cam}.mp4").length == r.cameras[cam].frames
    # the same frames from the files give the same local tracks (tracking does not depend on the source kind)
    ref = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None, max_seconds=3.9).run(cams, tmp_path / "f")
    a = load_mot_txt(tmp_path / "live" / "local" / "cam1.txt")
    b = load_mot_txt(tmp_path / "f" / "local" / "cam1.txt")
    np.testing.assert_allclose(a[:, :6], b[:, :6], atol=1e-3)
    assert ref.cameras["cam1"].frames == 39
    assert r.summary["counts"]["multi_camera_ids"] >= 1  # linked across the two live cameras


class _DeadCapture:
    def isOpened(self):  # noqa: N802
        return True

    def read(self):
        return False, None

    def get(self, prop):
        return 0

    def release(self):
        pass


class _Limited:
    """A capture that delivers ``n`` frames and then none (a stream that drops)."""

    def __init__(self, cap, n: int) -> None:
        self.cap, self.n = cap, n

    def isOpened(self):  # noqa: N802
        return self.cap.isOpened()

    def read(self):
        if self.n <= 0:
            return False, None
        self.n -= 1
        return self.cap.read()

    def get(self, prop):
        return self.cap.get(prop)

    def release(self):
        self.cap.release()


def test_cli_run_duration(scene, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "none",
                "--detector",
                "mot",
                "--out",
                str(out),
                "--no-progress",
                "--no-video",
                "--duration",
                "2.5",
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert {c["frames"] for c in s["cameras"].values()} == {25}
    assert load_mot_txt(out / "cam1.txt")[:, 0].max() <= 25
    # scored on the 25 frames it covered, not on the full ground truth
    assert json.loads((out / "eval.json").read_text())["frames_evaluated"] == {"cam1": 25, "cam2": 25}
    # the shortened run left no cache behind: a full run into the same folder runs every frame
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "none",
                "--detector",
                "mot",
                "--out",
                str(out),
                "--no-progress",
                "--no-video",
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert {c["frames"] for c in s["cameras"].values()} == {60}
    assert json.loads((out / "eval.json").read_text())["frames_evaluated"] == {"cam1": 60, "cam2": 60}
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "none",
                "--detector",
                "mot",
                "--out",
                str(out),
                "--duration",
                "0",
            ]
        )
        == 1
    )
    assert "--duration" in capsys.readouterr().err


def test_bundled_laga_checkpoint_with_default_settings_links_unseen_people(tmp_path, capsys):
    """The README's main job on a scene of people the bundled checkpoint never saw (tiny seed 6; it was trained on
    small seeds 1-3): every default (centred features, tracker and linker thresholds) must give cross-camera links
    that motion-only tracking cannot reach. Measured: cross-camera IDF1 0.895, motion only 0.533."""
    from mctrack.weights import bundled

    if "laga_samples" not in bundled():
        pytest.skip("mctrack/weights/laga_samples.pt is not in this checkout")
    scene = make_scene("tiny", tmp_path / "scene", seed=6, progress=False)
    cams = load_cams(scene / "cams.yaml")
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                "--cams",
                str(scene / "cams.yaml"),
                "--detector",
                "mot",
                "--reid",
                "laga",
                "--out",
                str(out),
                "--no-video",
                "--no-progress",
                "--weights",
                "laga_samples",
            ]
        )
        == 0
    )
    ev = json.loads((out / "eval.json").read_text())
    bound = motion_only_bound(cams)
    assert ev["cross_camera"]["IDF1"] > bound + 0.05 and ev["cross_camera"]["IDF1"] >= 0.85
    s = json.loads((out / "summary.json").read_text())
    assert s["counts"]["multi_camera_ids"] >= 3
    # a network embeds by default only what the boxes cannot decide (the registered fact), and says so
    assert s["embed"]["policy"] == "needed" and "(--embed needed)" in capsys.readouterr().out
    cams_s = s["cameras"].values()
    assert 0 < sum(c["embedded_detections"] for c in cams_s) < sum(c["detections"] for c in cams_s)


class _Stalling:
    """A live capture at ``fps`` (real time) whose ``stall_at``-th read hangs ``stall_s`` seconds (a TCP stall or a
    camera rebooting)."""

    def __init__(self, fps: float, stall_at: int | None = None, stall_s: float = 0.0) -> None:
        self.fps, self.stall_at, self.stall_s, self.i = fps, stall_at, stall_s, 0

    def isOpened(self):  # noqa: N802
        return True

    def read(self):
        import time

        time.sleep(self.stall_s if self.i == self.stall_at else 1.0 / self.fps)
        self.i += 1
        return True, np.full((48, 64, 3), 80, np.uint8)

    def get(self, prop):
        return 0

    def release(self):
        pass


def _live_pipeline(source, **kwargs) -> Pipeline:
    """A pipeline for live cameras given by ``source`` (``(camera, need_images) -> LiveSource``): no detections, no
    embedder or linker, no videos; ``kwargs`` as :class:`Pipeline`'s (and in their place)."""
    from mctrack.types import Detections

    args = dict(
        detector_factory=lambda cam: lambda frame: Detections.empty(),
        tracker_factory=lambda c, f: Tracker(camera=c, frame_rate=f),
        embedder=None,
        linker=None,
        cache_key=None,
        video=False,
        progress=False,
        source_factory=source,
    )
    return Pipeline(**{**args, **kwargs})


def test_a_stalled_live_camera_holds_the_others_up_no_more(tmp_path):
    """helper-57: the run took the next frame of each camera in turn and waited for it, so one camera's 2 s stall
    (or a reconnect, up to 10 s) froze every other camera, whose frames were dropped meanwhile and blamed on slow
    processing. Now the others go on while it has no frame."""
    from mctrack.config import CameraConfig, CamsConfig
    from mctrack.io.video import LiveSource

    captures = {"fast": lambda: _Stalling(50.0), "stall": lambda: _Stalling(10.0, stall_at=5, stall_s=2.0)}

    def source(cam, need):
        return LiveSource(cam.source, camera=cam.id, fps=50.0, buffer=32, capture_factory=lambda _: captures[cam.id]())

    cams = CamsConfig(
        cameras=[CameraConfig(id=c, source=f"rtsp://test/{c}") for c in ("fast", "stall")], path=str(tmp_path / "c")
    )
    r = _live_pipeline(source, max_seconds=3.0).run(cams, tmp_path / "out")
    assert r.cameras["stall"].frames >= 5 and r.cameras["stall"].error is None
    # 50 fps for 3 s with a 0.64 s buffer: frozen for 2 s it dropped ~70 frames; now none (or a stray few)
    assert r.cameras["fast"].dropped <= 5, r.cameras["fast"].dropped
    assert r.cameras["fast"].frames >= 100
    assert r.summary["cameras"]["stall"]["reconnects"] == 0 and "outage_s" in r.summary["cameras"]["stall"]


def test_a_slow_live_camera_does_not_split_a_track_the_tracker_resumes(tmp_path):
    """Live frames processed more slowly than the stream's nominal rate: the hand-over of finished tracks counts
    processed frames, as the tracker does, so a track lost for 2.4 s of capture time (12 processed frames, within
    the tracker's 1.5 s x 25 fps budget) and resumed stays one tracklet (it used to become two and crash linking)."""
    from mctrack.config import CameraConfig, CamsConfig
    from mctrack.io.video import LiveSource
    from mctrack.link import OnlineLinker
    from mctrack.types import Detections, Frame

    class FakeLive(LiveSource):
        def __init__(self, cam):
            self.camera = self.name = cam
            self.source = "rtsp://fake/" + cam
            self.fps, self.length, self.size, self.dropped = 25.0, None, (320, 180), 0
            self.record_to, self.epoch, self.has_images = None, 0.0, True

        def clock(self):
            return 0.0

        def close(self):
            pass

        def __iter__(self):
            for i in range(60):  # 5 processed frames per second of capture time
                yield Frame(self.camera, i, i * 0.2, np.full((180, 320, 3), 90, np.uint8))

    def detector_factory(cam):
        def detect(frame):
            if 20 <= frame.index < 32:
                return Detections.empty()
            return Detections(np.array([[100, 40, 140, 130]], np.float32), np.array([0.95], np.float32))

        return detect

    for linker in (OnlineLinker(thresh=0.3, min_len=5), None):
        cams = CamsConfig(cameras=[CameraConfig(id="cam1", source="rtsp://fake/cam1")], path="x")
        pipe = Pipeline(
            detector_factory=detector_factory,
            tracker_factory=lambda c, f: Tracker(camera=c, frame_rate=f),
            embedder=ColorHistogramEmbedder(),
            linker=linker,
            cache_key=None,
            video=False,
            progress=False,
            source_factory=lambda cam, need: FakeLive(cam.id),
        )
        out = tmp_path / ("online" if linker else "none")
        r = pipe.run(cams, out)
        assert r.identities.track_id.tolist() == [1]
        rows = (out / "identities.csv").read_text().splitlines()
        assert len(rows) == 2 and rows[1].startswith("cam1,1,1,") and rows[1].endswith(",1,60,48")
        assert len(load_mot_txt(out / "cam1.txt")) == 48


def test_smoothing_moves_boxes_but_not_identities(scene, tmp_path, capsys):
    cams = load_cams(scene / "cams.yaml")
    raw = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None).run(cams, tmp_path / "raw")
    smooth = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None, smooth=2.0).run(cams, tmp_path / "s")
    assert smooth.identities.lookup() == raw.identities.lookup()
    a, b = load_mot_txt(tmp_path / "raw" / "cam1.txt"), load_mot_txt(tmp_path / "s" / "cam1.txt")
    assert a[:, :2].tolist() == b[:, :2].tolist()  # same frames and ids
    moved = np.abs(a[:, 2:6] - b[:, 2:6]).max(axis=1)
    assert (moved > 0.01).mean() > 0.5 and moved.max() < 20  # most boxes move a little, none far
    assert "smooth" in smooth.summary["timings_s"]
    with pytest.raises(ValueError, match="smooth"):
        make_pipeline(cams, smooth=-1.0)
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "none", "--out", str(tmp_path)]
    assert main([*base, "--smooth", "nan"]) == 1
    assert "--smooth: must be >= 0" in capsys.readouterr().err


def test_backfill_adds_each_confirmed_tracks_first_frames(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")

    def tracker(cam, fps):  # confirmed after 3 matches: the first two frames of each later track are backfilled
        return Tracker(camera=cam, frame_rate=fps, high_thresh=0.5, new_track_thresh=0.6, min_hits=3)

    plain = make_pipeline(cams, tracker_factory=tracker, cache_key=None).run(cams, tmp_path / "plain")
    filled = make_pipeline(cams, tracker_factory=tracker, cache_key=None, backfill=True).run(cams, tmp_path / "fill")
    for cam in cams.cameras:
        a, b = load_mot_txt(tmp_path / "plain" / f"{cam.id}.txt"), load_mot_txt(tmp_path / "fill" / f"{cam.id}.txt")
        assert set(a[:, 1].tolist()) == set(b[:, 1].tolist())  # the same identities, none from unconfirmed tracks
        rows_a = {tuple(r) for r in a[:, :6].round(2).tolist()}
        assert rows_a <= {tuple(r) for r in b[:, :6].round(2).tolist()}  # every reported row is kept
        late = [i for i in set(a[:, 1].tolist()) if a[a[:, 1] == i][:, 0].min() > 3]
        assert late  # tracks born after the first frame
        for i in late:  # each starts two frames earlier
            assert b[b[:, 1] == i][:, 0].min() == a[a[:, 1] == i][:, 0].min() - 2
        assert not (tmp_path / "fill" / "local" / "tentative" / f"{cam.id}.txt").exists()
    assert not (tmp_path / "fill" / "local" / "tentative").exists()  # the rows' folder goes with them
    assert filled.identities.lookup() == plain.identities.lookup()
    # identities.csv describes the rows as written: it used to leave out every track's backfilled first frames
    with open(tmp_path / "fill" / "identities.csv", newline="") as fh:
        listed = list(csv.DictReader(fh))
    assert listed
    for row in listed:
        rows = load_mot_txt(tmp_path / "fill" / "local" / f"{row['camera']}.txt")
        frames = rows[rows[:, 1] == int(row["local_id"]), 0]
        assert (int(row["first_frame"]), int(row["last_frame"]), int(row["frames"])) == (
            frames.min(),
            frames.max(),
            len(frames),
        )
        fps = filled.cameras[row["camera"]].fps
        span = float(row["last_time"]) - float(row["first_time"])
        assert span == pytest.approx((frames.max() - frames.min()) / fps, abs=1e-3)


def test_tracks_with_a_low_mean_score_are_dropped_before_linking(scene, tmp_path):
    cams = load_cams(scene / "cams.yaml")
    make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None).run(cams, tmp_path / "plain")
    rows = {c.id: load_mot_txt(tmp_path / "plain" / "local" / f"{c.id}.txt") for c in cams.cameras}
    means = {c: {int(i): r[r[:, 1] == i, 6].mean() for i in np.unique(r[:, 1])} for c, r in rows.items()}
    least = float(np.median([m for per in means.values() for m in per.values()]))  # about half the tracks fall
    weak = {c: {i for i, m in per.items() if m < least} for c, per in means.items()}
    run = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None, min_track_score=least)
    result = run.run(cams, tmp_path / "filtered")
    for cam in cams.cameras:
        kept = load_mot_txt(tmp_path / "filtered" / "local" / f"{cam.id}.txt")
        assert set(np.unique(kept[:, 1]).astype(int).tolist()) == set(means[cam.id]) - weak[cam.id]
        assert result.cameras[cam.id].weak_tracks == len(weak[cam.id]) > 0
        linked = {k[1] for k in result.identities.lookup() if k[0] == cam.id}  # only the kept tracks are linked
        assert linked == set(means[cam.id]) - weak[cam.id]
    assert result.summary["cameras"]["cam1"]["weak_tracks_dropped"] == len(weak["cam1"])
    with pytest.raises(ValueError, match="min_track_score"):
        make_pipeline(cams, min_track_score=-1.0)


def test_tracks_seen_too_briefly_are_dropped_before_linking(scene, tmp_path, caplog):
    cams = load_cams(scene / "cams.yaml")
    make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None).run(cams, tmp_path / "plain")
    rows = {c.id: load_mot_txt(tmp_path / "plain" / "local" / f"{c.id}.txt") for c in cams.cameras}
    lengths = {c: dict(zip(*np.unique(r[:, 1].astype(int), return_counts=True), strict=True)) for c, r in rows.items()}
    fps = {c.id: c.fps or 10.0 for c in cams.cameras}
    least = float(np.median([n for per in lengths.values() for n in per.values()]))  # about half the tracks fall
    seconds = {c: least / fps[c] for c in lengths}
    assert len(set(seconds.values())) == 1, "the scene's cameras share a frame rate"
    run = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None, min_track_s=seconds["cam1"])
    result = run.run(cams, tmp_path / "filtered")
    for cam in cams.cameras:
        short = {int(i) for i, n in lengths[cam.id].items() if n < least}
        kept = load_mot_txt(tmp_path / "filtered" / "local" / f"{cam.id}.txt")
        assert set(np.unique(kept[:, 1]).astype(int).tolist()) == set(lengths[cam.id]) - short
        assert result.cameras[cam.id].short_tracks == len(short) > 0 and result.cameras[cam.id].weak_tracks == 0
        linked = {k[1] for k in result.identities.lookup() if k[0] == cam.id}  # only the kept tracks are linked
        assert linked == set(lengths[cam.id]) - short
        assert result.summary["cameras"][cam.id]["short_tracks_dropped"] == len(short)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="min_track_s"):
            make_pipeline(cams, min_track_s=bad)
    assert "seen for less than" not in caplog.text  # about half dropped: no warning
    everything = make_pipeline(cams, cache_key=None, min_track_s=3600.0).run(cams, tmp_path / "all")
    assert not len(everything.identities.lookup())
    assert "tracks were dropped once tracking ended (" in caplog.text
    assert "seen for less than 3600 s); if people are seen that briefly here, lower --min-length" in caplog.text


def test_files_of_an_earlier_run_are_named_but_not_a_users_or_an_input(scene, tmp_path, caplog):
    """helper-72: the warning about an earlier run's files named every *.txt and *.mp4 in --out (a user's
    README.txt, the input video of a sequence folder given as --out) as an earlier run's."""
    cams = load_cams(scene / "cams.yaml")
    out = tmp_path / "out"
    make_pipeline(cams).run(cams, out)
    (out / "README.txt").write_text("my notes")
    (out / "input.mp4").write_bytes(b"a video")
    one = dataclasses.replace(cams, cameras=cams.cameras[:1])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mctrack.pipeline"):
        make_pipeline(one).run(one, out)
    said = [m for m in caplog.messages if "holds files of an earlier run" in m]
    gone = cams.cameras[1].id
    assert len(said) == 1 and said[0].endswith(f"does not replace: {gone}.txt, local/{gone}.txt")


def test_a_run_that_drops_most_tracks_says_so_and_stray_tentative_files_go(scene, tmp_path, caplog):
    cams = load_cams(scene / "cams.yaml")
    stray = tmp_path / "all" / "local" / "tentative" / "cam1.txt"  # as a worker killed mid-camera leaves it
    stray.parent.mkdir(parents=True)
    stray.write_text("1,1,0,0,10,10,1,-1,-1,-1\n")
    result = make_pipeline(cams, cache_key=None, min_track_score=1.01).run(cams, tmp_path / "all")
    assert all(r.weak_tracks > 0 for r in result.cameras.values()) and not len(result.identities.lookup())
    assert "with a mean detection score below 1.01); if the detector's people score lower than that" in caplog.text
    assert "holds files of an earlier run" not in caplog.text and not stray.exists()


def test_run_counts_the_tracklets_before_joining_and_dropping(scene, tmp_path, capsys, caplog):
    """The console line starts from the tracklets the tracker made, whatever is judged away after."""
    import re

    def first_count(*extra: str, code: int = 0) -> tuple[int, str]:
        argv = ["run", "--cams", str(scene / "cams.yaml"), "--reid", "colorhist", "--detector", "mot"]
        argv += ["--out", str(tmp_path / str(len(extra))), "--no-progress", "--no-video", "--no-gallery", *extra]
        assert main(argv) == code
        line = next(x for x in capsys.readouterr().out.splitlines() if " tracklets " in x)
        return int(re.search(r"frames, (\d+) tracklets", line).group(1)), line

    kept_all, line = first_count("--min-length", "0", "--track-score", "first")
    assert "dropped" not in line
    # every track judged away: an empty result, exit 1 (test_a_run_whose_every_track_is_dropped_... below)
    none_kept, line = first_count("--min-length", "3600", "--track-score", "first", code=1)
    assert none_kept == kept_all > 0 and "-> 0 global ids" in line
    joined = re.search(r"\((\d+) after joining", line)
    short = int(re.search(r"[( ](\d+) seen for less than", line).group(1))
    assert short == (int(joined.group(1)) if joined else kept_all)  # every tracklet left after joining is dropped
    assert "seen for less than 3600 s dropped" in line
    assert "tracks were dropped once tracking ended" in caplog.text


def test_stitching_joins_a_cameras_fragments_before_linking(scene, tmp_path, capsys):
    """A tracker that gives up on a person after 2 frames fragments the tracks; stitching (2 s) joins the
    fragments of each camera again before the cross-camera linker sees them."""
    cams = load_cams(scene / "cams.yaml")

    def brittle(cam, fps):
        return Tracker(camera=cam, frame_rate=fps, high_thresh=0.5, new_track_thresh=0.6, max_lost_s=2 / fps)

    kw = dict(cache_key=None, tracker_factory=brittle)
    raw = make_pipeline(cams, ColorHistogramEmbedder(), **kw).run(cams, tmp_path / "raw")
    joined = make_pipeline(cams, ColorHistogramEmbedder(), stitch=2.0, **kw).run(cams, tmp_path / "st")
    for cam in ("cam1", "cam2"):
        a, b = (
            load_mot_txt(tmp_path / "raw" / "local" / f"{cam}.txt"),
            load_mot_txt(tmp_path / "st" / "local" / f"{cam}.txt"),
        )
        assert sorted(a[:, [0, 2, 3, 4, 5]].tolist()) == sorted(b[:, [0, 2, 3, 4, 5]].tolist())  # same boxes
        n_raw, n_joined = len(np.unique(a[:, 1])), len(np.unique(b[:, 1]))
        r = joined.cameras[cam]
        assert r.stitched == n_raw - n_joined == joined.summary["cameras"][cam]["stitched_tracklets"]
        assert sorted(t.track_id for t in r.tracklets) == sorted(np.unique(b[:, 1]).astype(int).tolist())
        for t in r.tracklets:  # every merged tracklet holds exactly its rows
            assert t.frames.tolist() == (b[b[:, 1] == t.track_id, 0].astype(int) - 1).tolist()
    assert sum(r.stitched for r in joined.cameras.values()) >= 1  # measured: 1 (cam2), IDF1 0.780 -> 0.788
    assert joined.evaluation["cross_camera"]["IDF1"] > raw.evaluation["cross_camera"]["IDF1"]
    assert "stitch" in joined.summary["timings_s"]
    with pytest.raises(ValueError, match="stitch"):
        make_pipeline(cams, stitch=-1.0)
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "none", "--out", str(tmp_path)]
    assert main([*base, "--stitch", "inf"]) == 1
    assert "--stitch: must be >= 0" in capsys.readouterr().err


def test_a_stitching_window_under_half_a_frame_joins_nothing_and_says_so_per_camera(scene, tmp_path, caplog):
    cams = load_cams(scene / "cams.yaml")

    def brittle(cam, fps):
        return Tracker(camera=cam, frame_rate=fps, high_thresh=0.5, new_track_thresh=0.6, max_lost_s=2 / fps)

    kw = dict(cache_key=None, tracker_factory=brittle)
    raw = make_pipeline(cams, ColorHistogramEmbedder(), **kw).run(cams, tmp_path / "raw")
    with caplog.at_level(logging.WARNING):
        tiny = make_pipeline(cams, ColorHistogramEmbedder(), stitch=0.04, **kw).run(cams, tmp_path / "tiny")
    said = [m for m in caplog.messages if "under half a frame" in m]  # 0.04 s at 10 fps is 0.4 frames
    assert sorted(m.split(":")[0] for m in said) == ["camera cam1", "camera cam2"]
    assert "--stitch 0.04 s is under half a frame at 10 fps: no tracklets are joined" in said[0]
    for cam in ("cam1", "cam2"):
        assert tiny.cameras[cam].stitched == 0
        same = load_mot_txt(tmp_path / "raw" / "local" / f"{cam}.txt")
        np.testing.assert_array_equal(load_mot_txt(tmp_path / "tiny" / "local" / f"{cam}.txt"), same)
    assert raw.evaluation["cross_camera"]["IDF1"] == tiny.evaluation["cross_camera"]["IDF1"]


def test_camera_motion_warps_are_cached_and_replayed(scene, tmp_path):
    from mctrack.track import CameraMotion

    cams = load_cams(scene / "cams.yaml")

    class Drift(CameraMotion):  # a camera said to pan 3 px a frame: the warps change the tracks
        def _estimate(self, image, boxes):
            return np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]])

    made = []

    def drift(cam):
        made.append(Drift())
        return made[-1]

    first = make_pipeline(cams, cmc_factory=drift).run(cams, tmp_path / "a")  # motion only, public detections
    assert {r.cache for r in first.cameras.values()} == {"miss"} and len(made) == 2
    assert all(m.compensated > 0 for m in made) and first.cameras["cam1"].cmc_frames == made[0].compensated
    again = make_pipeline(cams, cmc_factory=drift).run(cams, tmp_path / "a")
    assert {r.cache for r in again.cameras.values()} == {"hit"}  # no images decoded, the warps come from the cache
    assert all(m._prev is None for m in made[2:])  # the estimator never saw a frame
    plain = make_pipeline(cams).run(cams, tmp_path / "a")  # without CMC: another cache entry, other tracks
    assert {r.cache for r in plain.cameras.values()} == {"miss"}
    plain_rows = load_mot_txt(tmp_path / "a" / "cam1.txt")
    replay = make_pipeline(cams, cmc_factory=drift, smooth=2.0).run(cams, tmp_path / "a")
    assert replay.cameras["cam1"].cmc_frames == first.cameras["cam1"].cmc_frames  # counted from the cached warps
    # the warps applied are kept for the offline refinements, which run in stabilised coordinates
    assert len(replay.cameras["cam1"].warps) == replay.cameras["cam1"].cmc_frames > 0
    replayed = load_mot_txt(tmp_path / "a" / "cam1.txt")
    fresh = make_pipeline(cams, cmc_factory=drift, cache_key=None, smooth=2.0).run(cams, tmp_path / "b")
    assert fresh.cameras["cam1"].cache == "off"
    assert fresh.cameras["cam1"].warps.keys() == replay.cameras["cam1"].warps.keys()
    assert replayed.tolist() == load_mot_txt(tmp_path / "b" / "cam1.txt").tolist()  # replay == computing it
    assert replayed.tolist() != plain_rows.tolist()
    # a damaged cache is recomputed, never trusted: warps removed, or no longer plausible maps
    import glob

    for damage in ("drop", "zero"):
        for meta_path in glob.glob(str(tmp_path / "a" / "cache" / "*" / "meta.npz")):
            with np.load(meta_path) as z:
                meta = {k: z[k] for k in z.files}
            if "warp" not in meta and damage == "zero":
                continue
            if damage == "drop":
                meta.pop("warp", None)
            else:
                meta["warp"] = np.zeros_like(meta["warp"])
            np.savez(meta_path, **meta)
        again = make_pipeline(cams, cmc_factory=drift, smooth=2.0).run(cams, tmp_path / "a")
        assert {r.cache for r in again.cameras.values()} == {"miss"}, damage
        assert load_mot_txt(tmp_path / "a" / "cam1.txt").tolist() == replayed.tolist()


def test_aicity_export_survives_a_bad_calibration_and_numbers_all_cameras(scene, tmp_path, caplog):
    raw = _cams_with_absolute_paths(scene)
    (tmp_path / "empty.json").write_text("{}")
    raw["cameras"][1]["calibration"] = str(tmp_path / "empty.json")  # cam2: unreadable homography
    (tmp_path / "cams.yaml").write_text(yaml.safe_dump(raw))
    cams = load_cams(tmp_path / "cams.yaml")
    with caplog.at_level(logging.WARNING):
        result = make_pipeline(cams, video=False, cache_key=None).run(cams, tmp_path / "out")  # motion only
    assert "camera cam2: no world positions in aicity.txt" in caplog.text
    rows = np.loadtxt(tmp_path / "out" / "aicity.txt", ndmin=2)
    assert (rows[rows[:, 0] == 1][:, 7:9] != -1).all() and (rows[rows[:, 0] == 2][:, 7:9] == -1).all()
    assert result.summary["aicity_cameras"] == {"cam1": 1, "cam2": 2}
    make_pipeline(cams, video=False, cache_key=None, calibration=False).run(cams, tmp_path / "nocal")
    assert (np.loadtxt(tmp_path / "nocal" / "aicity.txt", ndmin=2)[:, 7:9] == -1).all()


def test_a_configured_fps_far_from_the_video_header_is_warned(tmp_path, caplog):
    from mctrack.config import CameraConfig

    video = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(3):
        w.write(np.full((48, 64, 3), 40 * i, np.uint8))
    w.release()
    with caplog.at_level(logging.WARNING):
        src = default_source(CameraConfig(id="c1", source=str(video), fps=30), need_images=True)
    assert src.fps == 30 and "camera c1: fps 30 from the camera set overrides the 10 fps of" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the run opens the same source again (gallery, video): said once
        default_source(CameraConfig(id="c1", source=str(video), fps=30), need_images=True)
    assert "overrides" not in caplog.text
    with caplog.at_level(logging.WARNING):
        assert default_source(CameraConfig(id="c1", source=str(video), fps=10.2), need_images=True).fps == 10.2
        assert default_source(CameraConfig(id="c1", source=str(video)), need_images=True).fps == 10
    assert "overrides" not in caplog.text


def test_a_run_scores_mot17_ground_truth_under_the_mot17_protocol(scene, tmp_path, caplog):
    gt = load_mot_txt(scene / "cam1" / "gt" / "gt.txt")
    gt[::5, 7] = 7  # every fifth row a MOT17 distractor (class 7)
    mot17 = tmp_path / "mot17_gt.txt"
    np.savetxt(mot17, gt, fmt="%g", delimiter=",")
    yaml_text = (scene / "cams.yaml").read_text()
    yaml_text = yaml_text.replace("ground_truth: cam1/gt/gt.txt", f"ground_truth: {mot17}", 1)
    for key in ("source", "calibration", "detections", "ground_truth"):  # the rest stay beside the scene
        yaml_text = yaml_text.replace(f"{key}: cam", f"{key}: {scene}/cam")
    (tmp_path / "cams.yaml").write_text(yaml_text)
    cams = load_cams(tmp_path / "cams.yaml")
    with caplog.at_level(logging.INFO):
        result = make_pipeline(cams).run(cams, tmp_path / "out")
    assert not [m for m in caplog.messages if "MOT16/17 class ids" in m]  # said when scored under MOT15 only
    assert sum("scored under TrackEval's MOT17 protocol" in m for m in caplog.messages) == 1
    assert result.evaluation["protocol"]["benchmark"] == "MOT17"
    # the distractors are not people to find (before: scored as people, every fifth row of the camera)
    people = int(
        ((gt[:, 7] == 1) & (gt[:, 6] != 0) & (gt[:, 0] <= result.evaluation["frames_evaluated"]["cam1"])).sum()
    )
    assert result.evaluation["per_camera"]["cam1"]["GT_Dets"] == people


def test_a_camera_s_own_score_thresholds_in_cams_yaml_replace_run_s(scene, tmp_path, caplog):
    raw = _cams_with_absolute_paths(scene)
    raw["cameras"][1].update(track_high=0.5, track_new=0.85)  # cam2: only confident detections start tracks
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(raw))
    base = ["--detector", "mot", "--reid", "none", "--no-video", "--no-progress", "--workers", "1"]
    assert main(["run", "--cams", str(scene / "cams.yaml"), *base, "--out", str(tmp_path / "run")]) == 0
    assert main(["run", "--cams", str(tmp_path / "own.yaml"), *base, "--out", str(tmp_path / "own")]) == 0
    settings = json.loads((tmp_path / "own" / "summary.json").read_text())["settings"]
    assert settings["track_thresholds"] == {
        "cam1": {"high": 0.5, "new": 0.6, "low": 0.1},
        "cam2": {"high": 0.5, "new": 0.85, "low": 0.1},
    }
    same, own = (
        load_mot_txt(tmp_path / "run" / "local" / "cam1.txt"),
        load_mot_txt(tmp_path / "own" / "local" / "cam1.txt"),
    )
    assert np.array_equal(same, own)  # the other camera keeps the run's thresholds
    before, after = (
        load_mot_txt(tmp_path / "run" / "local" / "cam2.txt"),
        load_mot_txt(tmp_path / "own" / "local" / "cam2.txt"),
    )
    assert 0 < len(after) < len(before)
    for i in np.unique(after[:, 1]):  # and its tracks are judged by its own threshold (--track-score mean)
        assert after[after[:, 1] == i, 6].mean() >= 0.85
    assert min(before[before[:, 1] == i, 6].mean() for i in np.unique(before[:, 1])) < 0.85

    raw["cameras"][1].update(track_high=0.8, track_new=0.6)  # a camera's new-track score below its high one
    (tmp_path / "low.yaml").write_text(yaml.safe_dump(raw))
    with caplog.at_level(logging.WARNING):
        assert main(["run", "--cams", str(tmp_path / "low.yaml"), *base, "--out", str(tmp_path / "low")]) == 0
    assert "camera cam2's track_new 0.6 is below camera cam2's track_high 0.8" in caplog.text
    settings = json.loads((tmp_path / "low" / "summary.json").read_text())["settings"]
    assert settings["track_thresholds"]["cam2"] == {"high": 0.8, "new": 0.8, "low": 0.1}

    # the command line wins over the file (and the file's values are what a plain run uses)
    args = ["run", "--cams", str(tmp_path / "low.yaml"), *base, "--out", str(tmp_path / "flags")]
    assert main([*args, "--track-high", "0.5", "--track-new", "0.6"]) == 0
    settings = json.loads((tmp_path / "flags" / "summary.json").read_text())["settings"]
    assert settings["track_thresholds"] == {c: {"high": 0.5, "new": 0.6, "low": 0.1} for c in ("cam1", "cam2")}
    assert np.array_equal(
        load_mot_txt(tmp_path / "flags" / "local" / "cam2.txt"), load_mot_txt(tmp_path / "run" / "local" / "cam2.txt")
    )


def _run_in_two_workers(cams: Path, reid: str, out: Path):
    """``mctrack run`` in a subprocess with two worker processes (their warnings reach its stderr, which caplog
    cannot see): a worker runs each camera, then the main process reads the frames again for the gallery and the
    annotated videos."""
    import subprocess
    import sys

    args = ["run", "--cams", str(cams), "--detector", "mot", "--reid", reid, "--no-progress", "--workers", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "mctrack.cli", *args, "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_configured_fps_override_is_warned_once_with_workers(scene, tmp_path):
    raw = _cams_with_absolute_paths(scene)
    raw["cameras"][0]["fps"] = 7  # the video says 10
    (tmp_path / "fps.yaml").write_text(yaml.safe_dump(raw))
    done = _run_in_two_workers(tmp_path / "fps.yaml", "none", tmp_path / "out")
    assert done.stderr.count("camera cam1: fps 7 from the camera set overrides the 10 fps") == 1


def test_a_seqinfo_beside_a_video_is_warned_about_once_with_workers(scene, tmp_path):
    """helper-76: said by the worker that tracked the camera, then again by this process opening the video for the
    annotated video (the workers' warnings were not passed back)."""
    import shutil

    raw = _cams_with_absolute_paths(scene)
    folder = tmp_path / "cam1"
    folder.mkdir()
    video = Path(raw["cameras"][0]["source"])
    shutil.copy(video, folder / video.name)
    info = (video.parent / "seqinfo.ini").read_text()
    (folder / "seqinfo.ini").write_text(info.replace("frameRate=10", "frameRate=7"))
    raw["cameras"][0]["source"] = str(folder / video.name)
    raw["cameras"][0].pop("fps", None)
    (tmp_path / "beside.yaml").write_text(yaml.safe_dump(raw))
    done = _run_in_two_workers(tmp_path / "beside.yaml", "none", tmp_path / "out")
    assert done.stderr.count("but the seqinfo.ini beside it says 7") == 1, done.stderr
    assert (tmp_path / "out" / "cam1.mp4").is_file()


def test_an_unreadable_image_is_warned_about_once_with_workers(scene, tmp_path):
    """The worker process said it while tracking, and this one again when it read the frames for the gallery and
    the annotated video."""
    raw = _cams_with_absolute_paths(scene)
    frames = tmp_path / "cam1_frames"
    frames.mkdir()
    video = cv2.VideoCapture(raw["cameras"][0]["source"])
    i = 0
    while True:
        ok, image = video.read()
        if not ok:
            break
        i += 1
        cv2.imwrite(str(frames / f"{i:06d}.jpg"), image)
    video.release()
    (frames / "000010.jpg").write_bytes(b"not a jpeg")
    raw["cameras"][0].update(source=str(frames), fps=10)
    (tmp_path / "img.yaml").write_text(yaml.safe_dump(raw))
    done = _run_in_two_workers(tmp_path / "img.yaml", "colorhist", tmp_path / "out")
    assert done.stderr.count("000010.jpg: cannot be read as an image; frame 10") == 1, done.stderr
    assert (tmp_path / "out" / "cam1.mp4").is_file() and (tmp_path / "out" / "gallery.jpg").is_file()


def test_an_unreadable_image_is_warned_about_by_the_video_pass_when_tracking_did_not_read_the_images(
    scene, tmp_path, caplog
):
    """Motion only on detections without camera-motion compensation, tracking reads no image: the annotated
    video's pass is the first to meet the unreadable one and must say so."""
    raw = _cams_with_absolute_paths(scene)
    frames = tmp_path / "cam1_frames"
    frames.mkdir()
    video = cv2.VideoCapture(raw["cameras"][0]["source"])
    for i in range(1, 31):
        ok, image = video.read()
        cv2.imwrite(str(frames / f"{i:06d}.jpg"), image)
    video.release()
    (frames / "000010.jpg").write_bytes(b"not a jpeg")
    raw["cameras"] = [{**raw["cameras"][0], "source": str(frames), "fps": 10}]
    (tmp_path / "img.yaml").write_text(yaml.safe_dump(raw))
    args = ["run", "--cams", str(tmp_path / "img.yaml"), "--detector", "mot", "--reid", "none", "--cmc", "off"]
    with caplog.at_level(logging.WARNING):
        assert main([*args, "--no-progress", "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    assert caplog.text.count("000010.jpg: cannot be read as an image; frame 10") == 1
    assert (tmp_path / "out" / "cam1.mp4").is_file()


def test_a_detection_file_s_problems_are_warned_about_once(scene, tmp_path, caplog):
    raw = _cams_with_absolute_paths(scene)
    det = tmp_path / "det.txt"
    lines = Path(raw["cameras"][0]["detections"]).read_text().splitlines()
    det.write_text("\n".join([*lines, lines[0]]) + "\n")  # one row twice
    raw["cameras"][0]["detections"] = str(det)
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump(raw))
    args = ["run", "--cams", str(tmp_path / "dup.yaml"), "--detector", "mot", "--reid", "none", "--no-video"]
    with caplog.at_level(logging.WARNING):
        assert main([*args, "--no-progress", "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    assert caplog.text.count("1 exact duplicate row(s)") == 1  # was twice: the file was read before and in the run


def test_the_cache_key_of_an_image_folder_follows_its_images(tmp_path):
    """Overwriting one image leaves the folder's own modification time alone; the key used to be that time, so a
    rerun replayed the old image's detections and features."""
    import os

    from mctrack.config import CameraConfig

    folder = tmp_path / "frames"
    (folder / "img1").mkdir(parents=True)
    for i in (1, 2):
        (folder / "img1" / f"{i:06d}.jpg").write_bytes(b"first")
    cam = CameraConfig(id="c", source=str(folder))

    def key():
        return feature_cache_key(cam, embedder="colorhist", weights_hash=None, detector={"name": "mot"})

    before, folder_time = key(), (folder / "img1").stat().st_mtime_ns
    image = folder / "img1" / "000002.jpg"
    image.write_bytes(b"fixed")  # same size, new content
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    assert (folder / "img1").stat().st_mtime_ns == folder_time  # the folders' own stamps did not move
    assert key() != before
    after = key()
    (folder / "img1" / "notes.txt").write_text("x")  # a file the source does not read
    (folder / "out").mkdir()  # a run's outputs written into the folder
    (folder / "out" / "summary.json").write_text("{}")
    assert key() == after


def test_the_cache_key_follows_a_files_content_whatever_its_size_and_time(tmp_path):
    """helper-58: a detection file edited in place (``sed 's/,0.9/,0.3/'``: same size) and given its old time back
    (``touch -r``, as ``cp -p`` and ``rsync -a`` keep times) replayed the old detections' cache."""
    import os

    from mctrack.config import CameraConfig

    det, video = tmp_path / "det.txt", tmp_path / "v.mp4"
    det.write_text("1,-1,10,10,20,40,0.9,-1,-1,-1\n" * 1000)
    video.write_bytes(b"\0" * (5 << 20))
    cam = CameraConfig(id="c", source=str(video), detections=str(det))

    def key():
        return feature_cache_key(cam, embedder="colorhist", weights_hash=None, detector={"name": "mot"})

    def rewrite(path, data):  # same size, same modification time
        stamp = path.stat()
        path.write_bytes(data)
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

    before = key()
    text = det.read_bytes()
    rewrite(det, text.replace(b"0.9", b"0.3", 1))
    assert key()["detections"] != before["detections"] and key()["source"] == before["source"]
    rewrite(det, text)
    assert key() == before
    for at in (0, (5 << 20) // 2, (5 << 20) - 10):  # a video changed at its start, middle or end
        data = bytearray(b"\0" * (5 << 20))
        data[at] = 1
        rewrite(video, bytes(data))
        assert key()["source"] != before["source"], at


@pytest.mark.parametrize("gt_text", ["", "5000,1,10,10,20,40,1,1,1\n"], ids=["empty", "beyond_the_video"])
def test_a_camera_without_ground_truth_to_score_is_warned_about(scene, tmp_path, caplog, gt_text):
    """Every box is then a false positive (MOTA minus thousands) and the camera drags the cross-camera scores:
    `mctrack eval` said so, a run did not."""
    empty = tmp_path / "gt_empty.txt"
    empty.write_text(gt_text)
    cams = _with_first_ground_truth(scene, tmp_path, empty)
    with caplog.at_level(logging.WARNING):
        make_pipeline(cams).run(cams, tmp_path / "out")
    said = [m for m in caplog.messages if "no ground-truth row to score against" in m]
    assert len(said) == 1 and said[0].startswith("camera cam1: ") and str(empty) in said[0]
    assert ("an empty file" if not gt_text else "none of its 1 rows") in said[0]


def test_a_camera_whose_ground_truth_is_written_as_corners_is_warned_about(scene, tmp_path, caplog):
    """helper-58: ground truth of x1,y1,x2,y2 rows scored the camera IDF1 0.0, MOTA -93 without a word (detection
    files got this check, ground truth did not)."""
    rows = load_mot_txt(_cams_with_absolute_paths(scene)["cameras"][0]["ground_truth"])
    rows[:, 4:6] += rows[:, 2:4]
    corners = tmp_path / "gt_corners.txt"
    save_mot_txt(corners, rows)
    cams = _with_first_ground_truth(scene, tmp_path, corners)
    with caplog.at_level(logging.WARNING):
        make_pipeline(cams).run(cams, tmp_path / "out")
    said = [m for m in caplog.messages if "x1,y1,x2,y2" in m]
    assert len(said) == 1 and said[0].startswith(f"camera {cams.cameras[0].id}: {corners}: 100% of the boxes")


def test_a_run_whose_every_track_is_dropped_once_tracking_ended_fails(scene, tmp_path, capsys):
    """An empty result that the offline judgement made is not a success (``mctrack track`` exits 1 too)."""
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "none", "--no-video"]
    base += ["--no-progress", "--workers", "1"]
    assert main([*base, "--out", str(tmp_path / "all"), "--min-length", "3600"]) == 1
    err = capsys.readouterr().err
    assert "mctrack run: error: all " in err and "tracks were dropped once tracking ended" in err
    assert main([*base, "--out", str(tmp_path / "kept")]) == 0


def _scene_with_first_detections_changed(scene, tmp_path, change):
    """A copy of ``scene`` whose first camera's det rows are ``change(rows)``: (cams, det file, rows)."""
    import shutil

    copy = tmp_path / "scene"
    shutil.copytree(scene, copy)
    cams = load_cams(copy / "cams.yaml")
    det = cams.cameras[0].detections
    rows = load_mot_txt(det)
    change(rows)
    save_mot_txt(det, rows)
    return cams, det, rows


def test_a_camera_whose_detection_file_misses_every_frame_fails(scene, tmp_path, caplog):
    """A det file numbered for another video gave its camera no detection, tracked as an empty scene unsaid; then
    (helper-72) said but scored as an empty scene with exit 0, where `track` refuses it: now the camera fails."""

    def later(rows):
        rows[:, 0] += 5000

    cams, det, rows = _scene_with_first_detections_changed(scene, tmp_path, later)
    first = cams.cameras[0].id
    for _ in range(2):  # the second run too: such a camera is not cached (its replay has no file to check)
        caplog.clear()
        with caplog.at_level("WARNING", logger="mctrack.pipeline"):
            result = make_pipeline(cams).run(cams, tmp_path / "out")
        assert result.summary["cameras"][first]["detections"] == 0
        assert result.failed == [first] and "is it this source's detection file?" in result.cameras[first].error
        said = [m for m in caplog.messages if "lies in the" in m]
        assert len(said) == 1
        assert said[0].startswith(f"camera {first}: {det}: none of its {len(rows)} detections lies in")
        assert str(cams.cameras[1].detections) not in caplog.text
    assert result.summary["cameras"][cams.cameras[1].id]["cache"] == "hit"  # the other camera was cached


def test_a_camera_whose_detection_file_is_written_as_corners_is_warned_about(scene, tmp_path, caplog):
    """`track` warned about a det file of x1,y1,x2,y2 boxes; `run` scored such a camera at MOTA -83 unsaid."""

    def corners(rows):
        rows[:, 4:6] += rows[:, 2:4]  # x1, y1, x2, y2 where width and height belong

    cams, det, _ = _scene_with_first_detections_changed(scene, tmp_path, corners)
    for cache in ("miss", "hit"):  # a replay opens no detection file: it says what the cache kept (helper-72)
        caplog.clear()
        with caplog.at_level("WARNING", logger="mctrack.pipeline"):
            result = make_pipeline(cams).run(cams, tmp_path / "out")
        assert result.cameras[cams.cameras[0].id].cache == cache
        said = [m for m in caplog.messages if "x1,y1,x2,y2" in m]
        assert len(said) == 1 and said[0].startswith(f"camera {cams.cameras[0].id}: {det}: ")


def test_a_replay_takes_the_frame_rate_the_camera_set_gives_now(scene, tmp_path, caplog):
    """helper-72: a rerun replaying the cache kept the fps a camera set had given and no longer gives (the
    cache's rate was used, not the video's own), silently changing every time window and timestamp."""
    import shutil

    copy = tmp_path / "scene"
    shutil.copytree(scene, copy)
    spec = yaml.safe_load((copy / "cams.yaml").read_text())
    own = load_cams(copy / "cams.yaml").cameras[0].fps
    spec["cameras"][0]["fps"] = own / 2
    (copy / "slow.yaml").write_text(yaml.safe_dump(spec))
    del spec["cameras"][0]["fps"]
    (copy / "own.yaml").write_text(yaml.safe_dump(spec))
    first = spec["cameras"][0]["id"]
    rates = {}
    for name in ("slow", "own", "slow"):
        cams = load_cams(copy / f"{name}.yaml")
        caplog.clear()
        with caplog.at_level("WARNING", logger="mctrack.pipeline"):
            result = make_pipeline(cams).run(cams, tmp_path / "out")
        rates[name] = (result.summary["cameras"][first]["fps"], result.cameras[first].cache)
        if name == "slow":  # said by the source, then again by the replay of its cache
            assert sum("overrides the" in m for m in caplog.messages) == 1
    video_fps = default_source(load_cams(copy / "own.yaml").cameras[0], False).fps
    assert rates["own"] == (video_fps, "miss") and rates["slow"] == (own / 2, "hit")


def test_eval_cams_leaves_out_the_cameras_an_interrupted_run_never_tracked(scene, tmp_path, capsys, caplog):
    """helper-78: a camera an interrupted run never started (cameras_not_run, no result file) stopped eval --cams
    with 'result file not found', and one that tracked no frame (a Ray task cut short) was scored on frame 1; the
    run's own eval.json leaves both out (not_scored). An interrupted camera was said to have failed."""
    out = tmp_path / "out"
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "colorhist", "--no-video"]
    assert main([*base, "--no-progress", "--no-gallery", "--workers", "1", "--out", str(out)]) == 0
    first, second, *rest = [c.id for c in load_cams(scene / "cams.yaml").cameras]
    summary = json.loads((out / "summary.json").read_text())
    summary.update(interrupted=True, interrupted_cameras=[first], cameras_not_run=[second])
    summary["cameras"][first]["frames"] = 10
    del summary["cameras"][second]
    (out / "summary.json").write_text(json.dumps(summary))
    (out / f"{second}.txt").unlink()
    (out / "eval.json").unlink()
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert (
            main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out), "--json", str(tmp_path / "e.json")])
            == 0
        )
    assert f"camera {second} tracked no frame in the interrupted run (summary.json): not scored" in caplog.text
    assert f"camera {first}: interrupted in the run; scored on the frames it covered" in caplog.text
    assert "failed in the run" not in caplog.text
    scored = json.loads((tmp_path / "e.json").read_text())["frames_evaluated"]
    assert second not in scored and scored[first] == 10


def test_eval_cams_scores_result_files_as_the_run_did(scene, tmp_path, capsys, caplog):
    """helper-58: the cross-camera metrics existed only inside `mctrack run`, so another method's results, or a run
    re-scored against corrected ground truth, could not be given the row a paper would publish."""
    out = tmp_path / "out"
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "colorhist", "--no-video"]
    assert main([*base, "--no-progress", "--no-gallery", "--workers", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    ran = json.loads((out / "eval.json").read_text())
    assert (
        main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out), "--json", str(tmp_path / "e.json")]) == 0
    )
    printed = capsys.readouterr().out
    again = json.loads((tmp_path / "e.json").read_text())
    for key in ("per_camera", "cross_camera", "mean_per_camera", "frames_evaluated", "protocol"):
        assert again[key] == ran[key], key
    assert "cross-camera" in printed and "mean" in printed
    # the run's local/ files (each camera's own ids) are refused: their cross-camera score was silently wrong
    # (helper-81: 44.3 IDF1 against the run's 85.2)
    assert main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out / "local")]) == 1
    assert "a run's local/ files hold each camera's own track ids, not global ones" in capsys.readouterr().err
    (tmp_path / "linked").symlink_to(out / "local")  # under another name (helper-82: scored)
    assert main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(tmp_path / "linked")]) == 1
    assert "a run's local/ files hold each camera's own track ids" in capsys.readouterr().err
    # one camera's file missing: an error naming it, or scored as empty with --missing-ok
    first = load_cams(scene / "cams.yaml").cameras[0].id
    (out / f"{first}.txt").rename(tmp_path / "kept.txt")
    assert main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out)]) == 1
    assert f"{out / first}.txt: result file not found for camera {first} (use --sequences" in capsys.readouterr().err
    assert main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out), "--sequences", first]) == 1
    assert f"camera {first} (use --missing-ok to score it as tracked with no box)" in capsys.readouterr().err
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out), "--missing-ok"]) == 0
    assert "scored as tracked with no box (--missing-ok)" in caplog.text
    assert main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(out), "--sequences", "nope"]) == 1
    assert "--sequences: no camera nope in" in capsys.readouterr().err
    # a run cut short by --duration is scored again on the frames it covered, as it scored itself (helper-59: on the
    # whole video, MOTA 65.5 against the run's 79.9, without a word)
    short = tmp_path / "short"
    assert main([*base, "--no-progress", "--no-gallery", "--workers", "1", "--duration", "3", "--out", str(short)]) == 0
    capsys.readouterr()
    ran = json.loads((short / "eval.json").read_text())
    assert (
        main(["eval", "--cams", str(scene / "cams.yaml"), "--pred", str(short), "--json", str(tmp_path / "s.json")])
        == 0
    )
    again = json.loads((tmp_path / "s.json").read_text())
    assert again["frames_evaluated"] == ran["frames_evaluated"] and again["cross_camera"] == ran["cross_camera"]
    with pytest.raises(SystemExit) as info:  # one of --gt and --cams
        main(["eval", "--cams", str(scene / "cams.yaml"), "--gt", str(scene), "--pred", str(out)])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_eval_json_and_eval_cams_say_what_the_scores_leave_out(scene, tmp_path, capsys, caplog):
    """helper-72: eval.json left out a camera without ground truth without a word (its without_ground_truth said
    []), and `eval --cams` scored a folder's files as one run's when a camera's file was an earlier run's or the
    run never finished (killed: no summary.json)."""
    import shutil

    copy = tmp_path / "scene"
    shutil.copytree(scene, copy)
    spec = yaml.safe_load((copy / "cams.yaml").read_text())
    first, second = (c["id"] for c in spec["cameras"][:2])
    del spec["cameras"][1]["ground_truth"]
    (copy / "no_gt.yaml").write_text(yaml.safe_dump(spec))
    spec["cameras"] = spec["cameras"][:1]
    (copy / "one.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    base = ["run", "--detector", "mot", "--reid", "none", "--no-video", "--no-progress", "--workers", "1"]
    assert main([*base, "--cams", str(copy / "no_gt.yaml"), "--out", str(out)]) == 0
    ran = json.loads((out / "eval.json").read_text())
    assert ran["not_scored"] == {second: "no ground_truth file in the camera set"}
    assert ran["interrupted"] is False and ran["failed"] == {} and ran["cameras"] == [first]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["evaluation"]["cameras_not_scored"] == ran["not_scored"]
    # the same folder run again with the first camera only: the second's file is the earlier run's
    full = str(copy / "cams.yaml")
    assert main([*base, "--cams", str(copy / "one.yaml"), "--out", str(out)]) == 0
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--cams", full, "--pred", str(out)]) == 0
    said = [m for m in caplog.messages if "not in the run recorded in summary.json" in m]
    assert (
        len(said) == 1 and f"camera {second} not in the run" in said[0] and "its file is from an earlier run" in said[0]
    )
    (out / "summary.json").unlink()  # as a killed run leaves its folder
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--cams", full, "--pred", str(out), "--sequences", first]) == 0
    assert "an mctrack run's folder without its summary.json: the run was killed or is still running" in caplog.text
    other = tmp_path / "other"  # another method's results: no run record expected, nothing said
    other.mkdir()
    shutil.copy(out / f"{first}.txt", other / f"{first}.txt")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["eval", "--cams", full, "--pred", str(other), "--sequences", first]) == 0
    assert "summary.json" not in caplog.text


def test_a_camera_without_images_gets_no_video_and_says_why_without_an_error(scene, tmp_path, caplog):
    """helper-72: a sequence folder of det.txt and seqinfo.ini only (motion only needs no image) logged an ERROR
    'annotated video not written: ... no video and no img1/ image folder' per camera, with exit 0 and no reason
    in summary.json."""
    import shutil

    from mctrack.io.mot import SeqInfo, write_seqinfo

    copy = tmp_path / "scene"
    shutil.copytree(scene, copy)
    spec = yaml.safe_load((copy / "cams.yaml").read_text())
    second = spec["cameras"][1]
    seq = copy / "SEQ-2"
    (seq / "det").mkdir(parents=True)
    shutil.copy(copy / second["detections"], seq / "det" / "det.txt")
    source = default_source(load_cams(copy / "cams.yaml").cameras[1], False)
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SEQ-2", source.fps, source.length, *source.size))
    second["source"], second["detections"] = "SEQ-2", "SEQ-2/det/det.txt"
    (copy / "seq.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    argv = ["run", "--cams", str(copy / "seq.yaml"), "--detector", "mot", "--reid", "none", "--no-progress"]
    with caplog.at_level(logging.WARNING):
        assert main([*argv, "--workers", "1", "--out", str(out)]) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert f"camera {second['id']}: no images to annotate in " in caplog.text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["videos"] == [spec["cameras"][0]["id"]] and (out / f"{spec['cameras'][0]['id']}.mp4").is_file()
    assert summary["videos_not_written"] == {second["id"]: "no images to annotate"}


def test_a_restarted_live_run_keeps_the_earlier_recordings(tmp_path, caplog):
    """helper-57: a service manager restarting a live run into its fixed --out replaced the earlier run's recordings
    (nothing else holds what the cameras showed) and results without a word."""
    from mctrack.config import CameraConfig, CamsConfig
    from mctrack.io.video import LiveSource, VideoFileSource

    def source(cam, need):
        return LiveSource(cam.source, camera=cam.id, fps=50.0, capture_factory=lambda _: _Stalling(50.0))

    cams = CamsConfig(cameras=[CameraConfig(id="door", source="rtsp://test/door")], path=str(tmp_path / "c"))

    def run():
        return _live_pipeline(source, max_seconds=0.5).run(cams, tmp_path / "out")

    def recorded():
        return json.loads((tmp_path / "out" / "summary.json").read_text())["cameras"]["door"]["recordings"]

    run()
    first = recorded()
    with caplog.at_level(logging.INFO, logger="mctrack.pipeline"):
        run()  # within the same second or not: a name of its own
    recordings = sorted((tmp_path / "out" / "recordings").glob("door-*.mkv"))
    assert len(recordings) == 2 and all(VideoFileSource(r).length for r in recordings)
    assert sorted(Path(f) for f in first + recorded()) == recordings  # each run names its own
    said = [m for m in caplog.messages if "replacing an earlier run's results" in m]
    assert len(said) == 1 and "door.txt" in said[0] and "its live recordings are kept" in said[0]


def test_live_cameras_not_recorded_with_no_record(tmp_path, caplog):
    """--no-record: a live run that needs no recording (days of it, no annotated video wanted) writes none, and
    says why its camera gets no annotated video."""
    from mctrack.config import CameraConfig, CamsConfig
    from mctrack.io.video import LiveSource

    def source(cam, need):
        return LiveSource(cam.source, camera=cam.id, fps=50.0, capture_factory=lambda _: _Stalling(50.0))

    cams = CamsConfig(cameras=[CameraConfig(id="door", source="rtsp://test/door")], path=str(tmp_path / "c"))
    with caplog.at_level(logging.WARNING):
        r = _live_pipeline(source, max_seconds=0.5, video=True, record_live=False).run(cams, tmp_path / "out")
    assert r.cameras["door"].frames > 0
    assert not (tmp_path / "out" / "recordings").exists() and not (tmp_path / "out" / "door.mp4").exists()
    assert r.summary["cameras"]["door"]["recordings"] == []
    assert any("door: not recorded (--no-record); no video written" in m for m in caplog.messages)
    with pytest.raises(ValueError, match="record_segment_s"):
        _live_pipeline(source, record_segment_s=0.0)


def test_run_checks_record_segment(scene, tmp_path, capsys):
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--reid", "none", "--out", str(tmp_path)]
    for bad in ("-1", "nan", "inf"):
        assert main([*base, "--record-segment", bad]) == 1
        assert "--record-segment: must be >= 0 minutes" in capsys.readouterr().err


def test_a_live_recording_cut_short_by_sigkill_stays_readable(tmp_path):
    """helper-57: recordings were MP4s written in place, which a killed run (SIGKILL, OOM, power loss) left without
    their closing index: unopenable, the whole run's recording lost."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "record.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            import numpy as np
            from mctrack.io.video import LiveSource

            class Cap:
                def isOpened(self): return True
                def get(self, prop): return 0
                def release(self): pass
                def read(self): return True, np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8)

            src = LiveSource(
                "rtsp://x", camera="c", fps=10, drop=False, record_to=sys.argv[1], capture_factory=lambda _: Cap()
            )
            for frame in src:
                if frame.index == 120:
                    os.kill(os.getpid(), 9)
            """
        )
    )
    rec = tmp_path / "c.mkv"
    proc = subprocess.run([sys.executable, str(script), str(rec)], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-500:]
    cap = cv2.VideoCapture(str(rec))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert cap.isOpened() and frames >= 30, frames  # what reached the disk before the kill


def test_duration_ends_a_live_run_while_a_camera_is_down(tmp_path):
    """helper-59: with streams reconnected until they return, a camera that died kept the run going after
    --duration (the other camera long finished): a stream is only stopped by its frames' timestamps."""
    import math
    import time

    from mctrack.config import CameraConfig, CamsConfig
    from mctrack.io.video import LiveSource

    class Dead(_Stalling):
        def read(self):
            time.sleep(0.02)
            return False, None

    def source(cam, need):
        make = _Stalling if cam.id == "ok" else Dead
        return LiveSource(cam.source, camera=cam.id, fps=20.0, capture_factory=lambda _: make(20.0))

    cams = CamsConfig(
        cameras=[CameraConfig(id=c, source=f"rtsp://test/{c}") for c in ("ok", "down")], path=str(tmp_path / "c")
    )
    pipe = _live_pipeline(source, max_seconds=2.0, reconnect_s=math.inf)
    started = time.monotonic()
    r = pipe.run(cams, tmp_path / "out")
    assert time.monotonic() - started < 15  # it ran on for good
    assert r.cameras["ok"].frames >= 20 and r.cameras["down"].frames == 0 and r.cameras["down"].reconnects >= 1
