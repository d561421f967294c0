"""``--engine ray`` on a local Ray instance (2 CPUs): same outputs as the local run, dead workers, bad usage."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from mctrack.cli import main  # noqa: E402
from mctrack.config import load_cams  # noqa: E402
from mctrack.embed import ColorHistogramEmbedder  # noqa: E402
from mctrack.io.mot import load_mot_txt  # noqa: E402
from mctrack.pipeline import constraints_from_cams  # noqa: E402
from mctrack.pipeline import default_source  # noqa: E402
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


def test_a_job_holding_large_weights_is_not_pickled_into_the_remote_function(tmp_path, local_ray, monkeypatch):
    weights = np.arange(4_000_000, dtype=np.float32)  # 16 MB, as an embedder's weights held by the job

    def job(camera):
        return f"{camera} {float(weights[-1]):.0f}"

    shipped = []
    real_remote = ray.remote
    monkeypatch.setattr(ray, "remote", lambda fn: shipped.append(fn) or real_remote(fn))
    results, interrupted = run_cameras(job, ["a", "b"], failed=lambda cam, why: f"failed: {why}")
    assert not interrupted and results == {0: "a 3999999", 1: "b 3999999"}
    # Ray pickles a remote function with what it captures and warns when that is large (23 MiB with the bundled
    # LAGA-Net); the job travels once through the object store instead
    assert len(shipped) == 1 and len(ray.cloudpickle.dumps(shipped[0])) < 1_000_000


def test_cli_ray_usage_errors(scene, tmp_path, capsys):  # noqa: F811
    base = ["run", "--cams", str(scene / "cams.yaml"), "--detector", "mot", "--out", str(tmp_path), "--no-video"]
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


def _online(cams):
    from mctrack.link import OnlineLinker

    return OnlineLinker(thresh=0.12, constraints=constraints_from_cams(cams), min_len=10)


def _dying_source(marker, camera: str, frame: int):
    """A source factory (shipped to Ray by value) whose camera ``camera`` kills its worker at ``frame`` the first
    time it runs (a marker file remembers that it did)."""

    def source(cam, need_images):
        src = default_source(cam, need_images)
        if cam.id != camera or Path(marker).exists():
            return src

        class Dying:
            def __getattr__(self, name):
                return getattr(src, name)

            def __iter__(self):
                for f in src:
                    if f.index == frame:
                        Path(marker).touch()
                        os.kill(os.getpid(), signal.SIGKILL)
                    yield f

        return Dying()

    return source


def test_online_linker_on_ray_streams_the_local_outputs_also_when_a_worker_dies(scene, tmp_path, local_ray):  # noqa: F811
    cams = load_cams(scene / "cams.yaml")
    local = make_pipeline(cams, ColorHistogramEmbedder(), linker=_online(cams), cache_key=None)
    ref = local.run(cams, tmp_path / "local")
    assert ref.summary["linker"] == "OnlineLinker"
    # cam2's worker is killed at frame 30: the camera is run again and the 30 frames already received are skipped
    dying = _dying_source(str(tmp_path / "died"), "cam2", 30)
    on_ray = make_pipeline(cams, ColorHistogramEmbedder(), linker=_online(cams), engine="ray", source_factory=dying)
    r = on_ray.run(cams, tmp_path / "ray")
    assert (tmp_path / "died").exists() and not r.failed
    for name in (*OUTPUTS, "tracklets"):
        if name == "tracklets":
            a = sorted(p.name for p in (tmp_path / "local" / name).iterdir())
            assert a and a == sorted(p.name for p in (tmp_path / "ray" / name).iterdir())
            continue
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    assert r.identities.lookup() == ref.identities.lookup()
    assert r.summary["counts"]["multi_camera_ids"] >= 1
    assert r.cameras["cam2"].frames == ref.cameras["cam2"].frames and r.cameras["cam2"].detections > 0


def test_live_cameras_on_ray_link_as_they_run_and_a_lost_worker_fails_only_its_camera(scene, tmp_path, local_ray):  # noqa: F811
    import dataclasses

    cams = load_cams(scene / "cams.yaml")
    files = {c.id: c.source for c in cams.cameras}
    live = dataclasses.replace(
        cams, cameras=[dataclasses.replace(c, source=f"rtsp://test/{c.id}") for c in cams.cameras]
    )

    def live_source(cam, need_images, die_at=None):
        import cv2

        from mctrack.io.video import LiveSource

        opened, read = [], [0]  # read[0]: frames captured so far (the clock of this stream)

        class Capture:  # plays the file once, then the stream is gone (reconnects fail)
            def __init__(self):
                self.cap = cv2.VideoCapture(files[cam.id]) if not opened else None
                self.n = 0
                opened.append(1)

            def isOpened(self):  # noqa: N802
                return True

            def read(self):
                if self.cap is None:
                    return False, None
                self.n += 1
                read[0] += 1
                if die_at is not None and cam.id == "cam2" and self.n == die_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return self.cap.read()

            def get(self, prop):
                return self.cap.get(prop) if self.cap is not None else 0

            def release(self):
                if self.cap is not None:
                    self.cap.release()

        return LiveSource(
            cam.source,
            camera=cam.id,
            fps=cam.fps,
            drop=False,
            reconnect_s=0.2,
            capture_factory=lambda _url: Capture(),
            clock=lambda: read[0] / cam.fps,  # capture time paced at the camera's rate
        )

    common = dict(linker=_online(live), max_seconds=6.0, cache_key=None)
    ref = make_pipeline(live, ColorHistogramEmbedder(), source_factory=live_source, **common).run(live, tmp_path / "l")
    r = make_pipeline(live, ColorHistogramEmbedder(), source_factory=live_source, engine="ray", **common).run(
        live, tmp_path / "ray"
    )
    assert r.cameras["cam1"].frames == ref.cameras["cam1"].frames > 50 and not r.failed
    for name in ("local/cam1.txt", "local/cam2.txt", "cam1.txt", "cam2.txt", "identities.csv"):
        assert (tmp_path / "l" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    assert r.summary["counts"]["multi_camera_ids"] >= 1  # linked across the two live cameras, on Ray

    # a live stream cannot be replayed: when its worker dies, its camera fails with what it sent; the other runs on
    def dying(cam, need_images):
        return live_source(cam, need_images, die_at=40)

    r = make_pipeline(live, ColorHistogramEmbedder(), source_factory=dying, engine="ray", **common).run(
        live, tmp_path / "dead"
    )
    assert r.failed == ["cam2"] and "Ray worker lost" in r.cameras["cam2"].error
    assert 0 < r.cameras["cam2"].frames < 40 and r.cameras["cam1"].frames == ref.cameras["cam1"].frames
    assert len(load_mot_txt(tmp_path / "dead" / "cam2.txt")) > 0  # what it sent before it died is kept


def test_streamed_cameras_that_cannot_all_run_at_once_are_one_clear_error(local_ray):
    from mctrack.ray_engine import StreamSession

    with pytest.raises(
        ValueError, match=r"3 cameras x 1 CPU\(s\) but .*machines \(CPUs 2\) fit 2 \(--ray-cpus 0.666 fits"
    ):
        StreamSession(num_cpus=1, cameras=3)
    StreamSession(num_cpus=0.666, cameras=3).close()  # the suggested share fits; the test's Ray keeps running
    assert ray.is_initialized()


def test_cameras_fit_per_machine_not_by_the_cluster_sum():
    from mctrack.ray_engine import camera_slots, largest_share

    two_machines = [{"CPU": 2.0}, {"CPU": 2.0}]
    assert camera_slots(two_machines, 1.2, 0.0) == 2  # 3.6 of 4 CPUs, but only one camera of 1.2 per machine
    assert camera_slots(two_machines, 1.0, 0.0) == 4
    assert camera_slots([{"CPU": 8.0, "GPU": 1.0}], 1.0, 0.25) == 4  # the GPU share is the limit
    assert largest_share([2.0, 2.0], 3) == 1.0 and largest_share([2.0], 3) == 0.666
    assert camera_slots([{"CPU": 2.0}], largest_share([2.0], 3), 0.0) == 3


def test_a_streamed_camera_whose_task_raises_fails_alone(scene, tmp_path, local_ray):  # noqa: F811
    cams = load_cams(scene / "cams.yaml")

    def cmc(cam):  # raises on the worker, outside the camera's own error handling
        if cam.id == "cam2":
            raise ValueError(f"camera {cam.id}: no motion model")
        return None

    r = make_pipeline(cams, ColorHistogramEmbedder(), linker=_online(cams), engine="ray", cmc_factory=cmc).run(
        cams, tmp_path
    )
    assert r.failed == ["cam2"] and r.cameras["cam2"].error == "ValueError: camera cam2: no motion model"
    assert r.cameras["cam1"].frames > 50 and r.cameras["cam1"].detections > 0
    assert len(load_mot_txt(tmp_path / "cam1.txt")) > 50 and (tmp_path / "identities.csv").is_file()
    assert r.summary["engine"] == "ray"
