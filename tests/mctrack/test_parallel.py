"""Cameras in worker processes: same outputs as one process, dead workers retried once, faults per camera."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from mctrack.config import load_cams
from mctrack.embed import ColorHistogramEmbedder
import mctrack.parallel as parallel
from mctrack.signals import interrupts_deferred
from mctrack.parallel import MAX_AUTO_WORKERS, auto_workers, run_cameras, worker_threads
from mctrack.pipeline import default_source
from tests.mctrack.test_pipeline import make_pipeline
from tests.mctrack.test_pipeline import scene  # noqa: F401 - pytest fixture

OUTPUTS = ("cam1.txt", "cam2.txt", "local/cam1.txt", "local/cam2.txt", "identities.csv", "eval.json")


def test_workers_give_the_same_outputs(scene, tmp_path):  # noqa: F811
    cams = load_cams(scene / "cams.yaml")
    one = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None).run(cams, tmp_path / "one")
    two = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None, workers=2).run(cams, tmp_path / "two")
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert list(two.cameras) == ["cam1", "cam2"]  # camera order, not finishing order
    assert two.summary["workers"] == 2 and not two.failed
    assert two.identities.lookup() == one.identities.lookup()
    assert two.summary["counts"]["multi_camera_ids"] >= 2  # the linker really joined cameras
    assert {c: r.frames for c, r in two.cameras.items()} == {c: r.frames for c, r in one.cameras.items()}


def cam1_cannot_open(cam, need_images):
    """Source factory whose cam1 fails to open."""
    if cam.id == "cam1":
        raise OSError(f"{cam.source}: cannot open")
    return default_source(cam, need_images)


@pytest.mark.parametrize("threads", [False, True])
def test_a_failing_camera_in_a_worker_is_reported_and_the_other_finishes(scene, tmp_path, threads):  # noqa: F811
    cams = load_cams(scene / "cams.yaml")
    r = make_pipeline(
        cams,
        ColorHistogramEmbedder(),
        source_factory=cam1_cannot_open,
        cache_key=None,
        workers=2,
        worker_threads=threads,
    ).run(cams, tmp_path)
    assert r.failed == ["cam1"] and "cannot open" in r.cameras["cam1"].error
    assert r.cameras["cam2"].frames == 60 and (tmp_path / "cam2.txt").stat().st_size > 0


def planned_job():
    """A job for run_cameras that dies by SIGKILL, raises or returns per the camera's plan (a marker file counts
    the attempts). A nested function, so that Ray ships it by value (a test module is not importable there)."""

    def job(cam):
        plan, marker = cam
        n = len(list(Path(marker).parent.glob(Path(marker).name + "*")))
        Path(f"{marker}{n}").touch()
        if plan == "die" or (plan == "die-once" and n == 0):
            os.kill(os.getpid(), signal.SIGKILL)
        if plan == "raise":
            raise ValueError("bad frame\nsecond line")
        return f"ok {plan} after {n + 1} attempt(s)"

    return job


def test_dead_worker_is_retried_once_then_reported(tmp_path):
    cams = [(plan, tmp_path / plan) for plan in ("fine", "die-once", "die", "raise")]
    results, interrupted = run_cameras(planned_job(), cams, 2, failed=lambda cam, why: f"failed: {why}")
    assert not interrupted
    assert results[0] == "ok fine after 1 attempt(s)"
    assert results[1] == "ok die-once after 2 attempt(s)"
    assert results[2] == "failed: worker process died (exit status -9)"
    assert len(list(tmp_path.glob("die[0-9]"))) == 2  # retried exactly once
    assert results[3] == "failed: ValueError: bad frame"


def test_worker_threads_share_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(parallel, "usable_cores", lambda: 8)
    assert worker_threads(2) == 4 and worker_threads(16) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert worker_threads(2) == 3
    with pytest.raises(ValueError, match="workers"):
        run_cameras(planned_job(), [], 0, failed=lambda c, w: None)


def test_auto_workers_one_per_core_and_camera(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert auto_workers(3, cores=2) == 2 and auto_workers(1, cores=16) == 1 and auto_workers(5, cores=16) == 5
    assert auto_workers(100, cores=64) == MAX_AUTO_WORKERS and auto_workers(0, cores=4) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert parallel.usable_cores() == 3 and auto_workers(4) == 3  # the affinity mask, not the machine's count
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # each worker will use 4 threads: 16 cores fit 4 of them
    assert auto_workers(10, cores=16) == 4 and auto_workers(10, cores=3) == 1


FORKED_AFTER_TORCH = """
import sys
import torch, torchvision  # imported first, as mctrack's command line does
from mctrack import parallel
if sys.argv[1] == "kept":
    parallel.torch_imported_unused()  # the command line says nothing ran torch yet
    parallel.keep_torch_single_threaded()  # what mctrack run calls before it builds the embedder
x, conv = torch.randn(8, 64, 32, 32), torch.nn.Conv2d(64, 64, 3)
with torch.no_grad():  # this process's own torch work (an embedder built and run) before the workers are forked
    conv(x)
def job(cam):
    with torch.no_grad():
        conv(x)
    return torch.get_num_threads()
print(sorted(parallel.run_cameras(job, [0, 1], 2, failed=lambda c, w: w)[0].values()))
parallel.command_ended()  # the thread count back; the next fork is not trusted any more
print(torch.get_num_threads(), parallel._threads_after_fork(2))
"""


def test_workers_forked_after_torch_ran_on_several_threads_do_not_hang(tmp_path):
    """helper-92: with OMP_NUM_THREADS=2, both workers of `mctrack run --workers 2` hung at their first frame: the
    parent's torch thread pool (started when it built the embedder) is gone in a forked child, whose first
    multi-threaded operation waits for it for ever. A parent that kept torch to one thread gives its workers their
    threads; one that did not gives them one thread each, with a warning."""
    import subprocess
    import sys

    script = tmp_path / "forked.py"
    script.write_text(FORKED_AFTER_TORCH)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "2"}
    runs = {
        mode: subprocess.Popen(
            [sys.executable, str(script), mode], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for mode in ("kept", "not kept")
    }
    out = {}
    try:
        for mode, proc in runs.items():
            stdout, stderr = proc.communicate(timeout=120)
            out[mode] = (proc.returncode, stdout.decode().strip(), stderr.decode())
    finally:
        for proc in runs.values():
            proc.kill()
    assert out["kept"][:2] == (0, "[2, 2]\n2 1") and out["kept"][2].count("thread pool") == 1  # after the end only
    assert out["not kept"][:2] == (0, "[1, 1]\n2 1")
    assert "may have started torch's thread pool before the camera workers were forked" in out["not kept"][2]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_die_with_their_parent(tmp_path):
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from mctrack.parallel import run_cameras\n"
        f"def job(cam):\n    open({str(tmp_path)!r} + f'/pid{{cam}}', 'w').write(str(os.getpid()))\n"
        "    time.sleep(120)\n"
        "run_cameras(job, [0, 1], 2, failed=lambda c, w: w)\n"
    )
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, str(script)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        for _ in range(200):
            pids = [p.read_text() for p in tmp_path.glob("pid*") if p.read_text()]
            if len(pids) == 2:
                break
            time.sleep(0.1)
        assert len(pids) == 2
        parent.kill()  # SIGKILL: no clean-up runs in the parent
        parent.wait()
        time.sleep(1.0)

        def running(pid: int) -> bool:  # a killed worker may linger as a zombie until init reaps it
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                return False
            return state not in ("Z", "X")

        alive = [pid for pid in map(int, pids) if running(pid)]
        assert not alive, f"workers outlived their parent: {alive}"
    finally:
        parent.kill()


def test_worker_threads_give_the_same_outputs_with_one_batched_embedder(scene, tmp_path):  # noqa: F811
    cams = load_cams(scene / "cams.yaml")
    one = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None).run(cams, tmp_path / "one")
    two = make_pipeline(cams, ColorHistogramEmbedder(), cache_key=None, workers=2, worker_threads=True).run(
        cams, tmp_path / "two"
    )
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert two.identities.lookup() == one.identities.lookup()
    batching = two.summary["batched_embedding"]
    frames = sum(r.frames for r in two.cameras.values())
    assert batching["largest"] == 2  # both cameras' crops went through one call
    assert batching["calls"] < frames and batching["crops"] == sum(r.embedded for r in two.cameras.values())
    assert one.summary["batched_embedding"] is None


def test_worker_threads_share_one_image_detector_through_rounds(scene, tmp_path):  # noqa: F811
    """A detector shared by all cameras (as YOLO is) is called in rounds, one frame per camera, from one thread at
    a time; the outputs are those of the one-process run."""
    from mctrack.detect import build_detector

    cams = load_cams(scene / "cams.yaml")

    class SharedReplay:  # one object for every camera, like one YOLO model; replays each camera's detections
        name = "shared"

        def __init__(self):
            self.files = {c.id: build_detector("mot", path=c.detections) for c in cams.cameras}
            self.batches: list[int] = []

        def __call__(self, frame):
            return self.files[frame.camera](frame)

        def detect_batch(self, frames):
            self.batches.append(len(frames))
            return [self(f) for f in frames]

    shared = SharedReplay()
    kwargs = dict(cache_key=None, detector_factory=lambda cam: shared)
    one = make_pipeline(cams, ColorHistogramEmbedder(), **kwargs).run(cams, tmp_path / "one")
    two = make_pipeline(
        cams, ColorHistogramEmbedder(), workers=2, worker_threads=True, shared_detector=shared, **kwargs
    ).run(cams, tmp_path / "two")
    for name in OUTPUTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    rounds = two.summary["batched_detection"]
    assert rounds["frames"] == sum(r.frames for r in two.cameras.values()) and rounds["largest"] == 2
    assert 2 in shared.batches and rounds["calls"] < rounds["frames"]
    assert one.summary["batched_detection"] is None


def test_threaded_cameras_hand_over_partial_results_when_stopped():
    import threading

    from mctrack.parallel import run_cameras_in_threads

    stop = threading.Event()
    both_started = threading.Barrier(2)

    def job(cam):
        if cam == "a":
            both_started.wait(5)
            stop.set()  # as Ctrl-C does
            raise KeyboardInterrupt("a: what was finished")
        if cam == "b":
            both_started.wait(5)
            stop.wait(5)
            raise KeyboardInterrupt("b: what was finished")
        raise AssertionError("c must not start after the stop")

    results, interrupted = run_cameras_in_threads(
        job, ["a", "b", "c"], 2, failed=lambda cam, why: f"{cam} failed: {why}", stop=stop
    )
    assert interrupted
    assert results == {0: "a: what was finished", 1: "b: what was finished"}  # c never started: left out


def _slow_job(cam):
    """Counts frames for up to 60 s; stopped, it hands over how far it got."""
    import time

    frames = 0
    try:
        for _ in range(6000):
            time.sleep(0.01)
            frames += 1
        return ("done", cam, frames)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(("partial", cam, frames)) from None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_parent_alone_reaches_the_workers(sig):
    import threading
    import time

    from mctrack import cli

    # kill PID, docker stop: the signal reaches the parent only (a Ctrl-C reaches the whole process group). The
    # workers used to run their cameras to the end (here 60 s); now the parent passes the interrupt on and they
    # hand over what they finished at once. SIGTERM is turned into that interrupt as the CLI does.
    cli._LAST_INTERRUPT[0] = float("-inf")
    previous = signal.signal(signal.SIGTERM, cli._interrupt_once_per_signal)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), sig))
    try:
        start = time.monotonic()
        timer.start()
        results, interrupted = run_cameras(_slow_job, ["a", "b"], 2, failed=lambda cam, why: ("failed", cam, why))
        took = time.monotonic() - start
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert interrupted and took < 20
    assert sorted(r[:2] for r in results.values()) == [("partial", "a"), ("partial", "b")]
    assert all(r[2] > 0 for r in results.values())  # the frames each had finished


def _slow_job_big_result(cam):
    """As _slow_job, with a partial result of several MB (a camera's tracklets), slow to send through a pipe."""
    import numpy as np

    try:
        return _slow_job(cam)
    except KeyboardInterrupt as stop:
        raise KeyboardInterrupt((*stop.args[0], np.ones(2_000_000))) from None


def test_an_interrupt_delivered_twice_keeps_every_partial_result():
    import threading
    import time

    # `timeout` and process managers pass a signal on to a process group that already got it: the parent sees two
    # SIGINTs a few ms apart. That used to count as a second Ctrl-C ("stop waiting"): the workers were killed
    # while sending and what they had finished was lost (both cameras reported with 0 frames).
    def twice():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(1.5, twice)
    try:
        timer.start()
        results, interrupted = run_cameras(
            _slow_job_big_result, ["a", "b"], 2, failed=lambda cam, why: ("failed", cam, why)
        )
    finally:
        timer.cancel()
    assert interrupted
    assert sorted(r[:2] for r in results.values()) == [("partial", "a"), ("partial", "b")]
    assert all(r[2] > 0 and len(r[3]) == 2_000_000 for r in results.values())


def test_an_interrupt_while_a_result_is_received_waits_for_it():
    previous = signal.getsignal(signal.SIGINT)
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)  # noted, not raised: the receiving goes on
            reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is back
    with interrupts_deferred():  # no signal: nothing raised
        pass


def test_an_ignored_signal_stays_ignored_while_interrupts_are_deferred():
    """helper-87: under nohup (SIGINT ignored) a SIGINT during the command line's imports ended the run, later the
    same signal was ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_deferred() as noted:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
        assert noted == [] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_worker_whose_parent_stopped_listening_ends_quietly():
    import multiprocessing as mp

    receiver, sender = mp.Pipe(duplex=False)
    receiver.close()  # the parent gave up (its grace period over)
    parallel._send(sender, ("interrupted", b"x" * 1_000_000))  # no BrokenPipeError traceback for the user
    sender.close()


def test_starting_ray_keeps_the_command_s_sigterm_handler(monkeypatch):
    """helper-57/59: ray.init installs its own SIGTERM handler, so a SIGTERM to `run --engine ray` ended the process
    without the hand-over that Ctrl-C gets (no summary.json). A stand-in for Ray that does the same: the handler in
    place before is back once Ray is up."""
    import signal

    from mctrack import ray_engine

    class FakeRay:
        up = False

        def is_initialized(self):
            return self.up

        def init(self, **kwargs):
            self.up = True
            signal.signal(signal.SIGTERM, lambda *_: None)  # as Ray's driver does

        def cluster_resources(self):
            return {"CPU": 4.0}

    def ours(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        monkeypatch.setattr(ray_engine, "import_ray", FakeRay)
        ray, started = ray_engine._connect(None, 1.0, 0.0, None)
        assert started and signal.getsignal(signal.SIGTERM) is ours
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_stopping_worker_takes_later_signals_without_a_race_message():
    """A worker's first signal set SIG_IGN for both: a second one already on its way (a process group's SIGTERM
    beside the forwarded SIGINT) then made Python print "Signal 15 ignored due to race condition" with a
    traceback. A Python handler that does nothing takes it instead."""
    import signal

    from mctrack import parallel
    from mctrack.signals import ignore

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(KeyboardInterrupt):
            parallel._interrupt_once(signal.SIGINT, None)
        assert signal.getsignal(signal.SIGINT) is ignore and signal.getsignal(signal.SIGTERM) is ignore
        signal.raise_signal(signal.SIGTERM)  # taken and ignored: the test process goes on
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@pytest.mark.parametrize(
    "reid, device, forks",
    [
        ("colorhist", None, True),
        ("colorhist", "cuda", True),  # no embedder on the GPU (a YOLO detector there is built in each worker)
        ("laga", "cpu", True),
        ("laga", "cuda:0", False),  # a CUDA embedder's cameras run as threads
        ("onnx", None, True),  # onnxruntime's CPU provider
        ("onnx", "cuda", False),  # its CUDA provider: threads, as the pipeline runs them
    ],
)
def test_mctrack_run_knows_before_building_the_embedder_whether_it_forks(reid, device, forks):
    """`mctrack run` keeps its process at one torch thread before it builds anything exactly when it will fork camera
    workers (a pool started before the fork hangs them; one thread for a run of threads would waste the cores)."""
    from types import SimpleNamespace

    from mctrack.commands.run import _forks_camera_workers

    args = SimpleNamespace(engine="local", workers=2, worker_threads=False, reid=reid, device=device)
    assert _forks_camera_workers(args, cameras=3, offline=True) is forks
    assert _forks_camera_workers(args, cameras=1, offline=True) is False
    assert _forks_camera_workers(args, cameras=3, offline=False) is False  # the online linker runs in this process
