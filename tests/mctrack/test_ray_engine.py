"""``--engine ray`` on a local Ray instance (2 CPUs): same outputs as the local run, dead workers, bad usage."""

from __future__ import annotations


import pytest

ray = pytest.importorskip("ray")

from mctrack.cli import main  # noqa: E402
from mctrack.config import load_cams  # noqa: E402
from mctrack.embed import ColorHistogramEmbedder  # noqa: E402
from mctrack.ray_engine import run_cameras  # noqa: E402
from tests.mctrack.test_parallel import OUTPUTS, planned_job  # noqa: E402
from tests.mctrack.test_pipeline import make_pipeline  # noqa: E402
from tests.mctrack.test_pipeline import scene  # noqa: E402, F401 - pytest fixture


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_the_same_outputs_as_the_local_run(scene, tmp_path, local_ray):  # noqa: F811
    cams = load_cams(scene / "cams.yaml")
    local = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None).run(cams, tmp_path / "local")
    on_ray = make_pipeline(cams, ColorHistogramEmbedder(), engine="ray").run(cams, tmp_path / "ray")
    for name in OUTPUTS:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    assert on_ray.identities.lookup() == local.identities.lookup() and not on_ray.failed
    assert on_ray.summary["counts"]["multi_camera_ids"] >= 2
    assert not (tmp_path / "ray" / "cache").exists()  # workers never write the driver's cache


def test_a_dead_worker_is_retried_once_then_its_camera_fails_while_the_others_finish(tmp_path, local_ray):
    cams = [(plan, str(tmp_path / plan)) for plan in ("fine", "die-once", "die", "raise")]
    results, interrupted = run_cameras(planned_job(), cams, failed=lambda cam, why: f"failed: {why}")
    assert not interrupted
    assert results[0] == "ok fine after 1 attempt(s)"
    assert results[1] == "ok die-once after 2 attempt(s)"
    assert results[2].startswith("failed: Ray worker lost")
    assert len(list(tmp_path.glob("die[0-9]"))) == 2  # run once more, then given up
    assert results[3] == "failed: ValueError: bad frame"
    assert len(list(tmp_path.glob("raise[0-9]"))) == 1  # an exception is not retried


def test_cli_ray_usage_errors(scene, tmp_path, capsys):  # noqa: F811
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--out", str(tmp_path), "--no-video"]
    assert main([*base, "--reid", "colorhist", "--engine", "ray", "--linker", "online"]) == 1
    assert "--linker online is not supported on Ray yet" in capsys.readouterr().err
    assert main([*base, "--reid", "none", "--engine", "ray", "--workers", "2"]) == 1
    assert "--workers/--worker-threads: for the local engine" in capsys.readouterr().err
    assert main([*base, "--reid", "none", "--engine", "ray", "--worker-threads"]) == 1
    assert "--workers/--worker-threads: for the local engine" in capsys.readouterr().err
    assert main([*base, "--reid", "none", "--engine", "ray", "--ray-cpus", "0"]) == 1
    assert "--ray-cpus must be > 0" in capsys.readouterr().err


def test_resources_no_node_has_are_one_clear_error(tmp_path, local_ray):
    with pytest.raises(ValueError, match="asks for 4 CPU.*cluster has 2"):
        run_cameras(lambda cam: cam, ["a"], failed=lambda cam, why: why, num_cpus=4)
    with pytest.raises(ValueError, match="asks for 1 GPU.*cluster has 0"):
        run_cameras(lambda cam: cam, ["a"], failed=lambda cam, why: why, num_gpus=1)
