from __future__ import annotations

import re

import numpy as np

from mctrack.track import Tracker
from tests.conftest import load_benchmark


def _load():
    return load_benchmark("tracker_bench")


def test_tracker_bench_reports_every_walker_with_appearance_and_warp(capsys):
    bench = _load()
    assert bench.main(["--tracks", "6", "--frames", "120", "--dim", "16", "--warp", "--repeats", "1"]) == 0
    line = capsys.readouterr().out
    m = re.search(r"([\d.]+) ms/frame with 6 tracks \(16-D appearance, warped; ([\d.]+) reported", line)
    assert m, line
    assert float(m.group(1)) > 0
    # the scene is tracked, not just timed: nearly every walker is reported each frame (5% are missed)
    assert 5.0 <= float(m.group(2)) <= 6.0
    # the offline refinements are timed apart, over the tracked scene's rows (6 walkers x 120 frames, gaps filled)
    m = re.search(r"offline refinements .*: ([\d.]+) ms for the 120 frames \(([\d.]+) ms/frame, (\d+) rows", line)
    assert m, line
    assert float(m.group(1)) > 0 and 600 <= int(m.group(3)) <= 6 * 120


def test_tracker_bench_scene_keeps_ids_without_warp():
    bench = _load()
    scene = bench.make_scene(4, 80, 8, seed=3)
    t = Tracker(frame_rate=30)
    ids = set()
    for dets, emb in scene:
        ids.update(t.update(dets, emb).track_id.tolist())
    assert len(ids) <= 6  # four walkers (wrapping round the image may restart one) and no id churn
    assert all(e is None or np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5) for _, e in scene)


def test_tracker_bench_rejects_too_few_frames_with_a_message(capsys):
    bench = _load()
    try:
        bench.main(["--frames", "10"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("--frames 10 was accepted")
    assert "--frames: must be more than the 50 warm-up frames" in capsys.readouterr().err


def test_tracker_bench_against_a_commit_times_both_and_prints_the_ratio(capsys):
    import subprocess

    from tests.conftest import ROOT

    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        import pytest

        pytest.skip("not a git checkout")
    bench = _load()
    assert bench.main(["--tracks", "6", "--frames", "70", "--dim", "8", "--repeats", "2", "--against", "HEAD"]) == 0
    line = capsys.readouterr().out
    m = re.search(r"this tree ([\d.]+) ms/frame, HEAD ([\d.]+) ms/frame .*median paired ratio ([\d.]+)", line)
    assert m, line
    assert all(float(g) > 0 for g in m.groups())
    for bad, message in (
        ("no-such-commit", "--against no-such-commit: not a commit"),
        ("--output=x.tar", "not a commit (a commit does not start with '-')"),  # never handed to git as an option
    ):
        try:
            bench.main(["--frames", "60", "--repeats", "1", f"--against={bad}"])
        except SystemExit as exc:
            assert message in str(exc.code)
        else:
            raise AssertionError(f"--against {bad} was accepted")
    first = subprocess.run(
        ["git", "-C", str(ROOT), "rev-list", "--max-parents=0", "HEAD"], capture_output=True, text=True
    )
    try:  # the project's first commit has no tracker: one error line, not a traceback
        bench.main(["--frames", "60", "--repeats", "1", "--against", first.stdout.split()[0]])
    except SystemExit as exc:
        assert "its mctrack has no usable tracker" in str(exc.code)
    else:
        raise AssertionError("a commit without a tracker was accepted")


def test_tracker_bench_against_a_commit_centres_both_trackers_where_it_can(capsys, monkeypatch):
    """--centre scene --against COMMIT timed the commit's tracker comparing features as given: a scene-centring
    change could not be timed against its predecessor."""
    import subprocess

    from tests.conftest import ROOT

    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        import pytest

        pytest.skip("not a git checkout")
    bench = _load()
    centres = []
    real = bench.time_run

    def spy(tracker_cls, scene, warp):
        centres.append(tracker_cls(frame_rate=30).appearance_centre)
        return real(tracker_cls, scene, warp)

    monkeypatch.setattr(bench, "time_run", spy)
    argv = ["--tracks", "6", "--frames", "60", "--dim", "8", "--repeats", "2", "--centre", "scene"]
    assert bench.main([*argv, "--against", "HEAD"]) == 0
    assert centres == ["scene"] * 4
    assert "note:" not in capsys.readouterr().err
    centres.clear()
    # the commit before the option: its tracker compares as given, and the output says so
    before = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--format=%h", "-S", "appearance_centre", "--reverse", "--", "mctrack/track"],
        capture_output=True,
        text=True,
    ).stdout.split()
    if not before:
        import pytest

        pytest.skip("shallow checkout: the history of the option is not here")
    monkeypatch.setattr(bench, "time_run", lambda cls, scene, warp: (1.0, 0.0))
    assert bench.main([*argv, "--against", f"{before[0]}~1"]) == 0
    assert "has no appearance_centre: it compares the features as given" in capsys.readouterr().err
