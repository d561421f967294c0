"""Cameras on a Ray cluster (``mctrack run --engine ray``): one Ray task per camera, tracklets back to the linker.

:func:`run_cameras` has the contract of :func:`mctrack.parallel.run_cameras` (``job(camera) -> result`` for every
camera, ``({index: result}, interrupted)``), with Ray instead of forked processes: the job (the pipeline's
per-camera driver with its detector, embedder and settings) is shipped to the workers by Ray's serialiser, runs
there, and returns the camera's result (tracklet summaries and counts, never per-frame embeddings) together with
its MOT rows, so the machines need no shared folder. The caller links after all cameras finished, so the
identities are those of a local run.

- ``address``: ``None`` starts a local Ray instance (``num_cpus`` of this machine); ``"auto"`` joins the cluster
  this machine belongs to; ``"ray://host:10001"`` connects as a Ray client.
- Resources per camera: ``num_cpus`` (default 1; the worker's torch uses that many threads) and ``num_gpus``
  (fractions share a GPU between cameras).
- A worker process that dies (killed, out of memory) makes Ray run the camera's task once more
  (``max_retries=1``); when it dies again, the camera is reported failed with Ray's reason while the others
  finish, as in the local run. An exception raised by the job is not retried (it would fail again).
- Ctrl-C cancels the cameras still running; those that finished are kept (the run reports itself interrupted).

Live cameras and the online linker need results while cameras run: :class:`StreamSession` runs each camera as a
Ray generator task whose steps stream back (the pipeline merges them in scene-time order and links as tracks
mature).

Ray is an optional extra (``pip install -e ".[ray]"``), imported only here and only when asked for.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np

from .errors import error_line, first_line, optional_import

__all__ = ["run_cameras", "import_ray", "StreamSession", "WorkerLost"]

log = logging.getLogger(__name__)


def import_ray():
    """The ``ray`` module, or an ImportError saying how to install it."""
    return optional_import("ray", '--engine ray needs Ray: pip install -e ".[ray]" (or pip install "ray>=2.9")')


@contextmanager
def _sigint_deferred():
    """Ctrl-C during the block is held back and raised as KeyboardInterrupt when the block ends (main thread only;
    elsewhere a no-op). Ray's start-up crashes the process when interrupted half-way."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
        signal.SIG_IGN,
        None,
    ):  # not the main thread, or Ctrl-C ignored anyway (e.g. a background job of a script)
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _connect(address: str | None, num_cpus: float, num_gpus: float, local_cpus: int | None):
    """``(ray, started)``: Ray initialised (``started``: by this call, so the caller shuts it down), after checking
    that the cluster could run one camera with ``num_cpus`` / ``num_gpus``."""
    ray = import_ray()
    if not num_cpus > 0 or num_gpus < 0:
        raise ValueError(f"num_cpus, num_gpus: need num_cpus > 0 and num_gpus >= 0, got {num_cpus}, {num_gpus}")
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address, "log_to_driver": True, "include_dashboard": False}
        if address is None:
            kwargs["num_cpus"] = local_cpus
        main = threading.current_thread() is threading.main_thread()
        term = signal.getsignal(signal.SIGTERM) if main else None
        try:
            with _sigint_deferred():  # Ctrl-C inside ray.init can crash the process; it is taken once Ray is up
                ray.init(**{k: v for k, v in kwargs.items() if v is not None or k == "address"})
            if term is not None and signal.getsignal(signal.SIGTERM) is not term:
                # ray.init installs its own SIGTERM handler, which ended the process without the hand-over that
                # Ctrl-C gets (no summary.json; helper-57/59): the command's own goes back
                signal.signal(signal.SIGTERM, term)
        except KeyboardInterrupt:
            if ray.is_initialized():
                ray.shutdown()
            raise
        started = True
    total = ray.cluster_resources()
    for name, want in (("CPU", num_cpus), ("GPU", num_gpus)):
        if want > total.get(name, 0.0):
            if started:
                ray.shutdown()
            raise ValueError(
                f"each camera asks for {want:g} {name}(s) but the Ray cluster has {total.get(name, 0.0):g}: "
                "no camera could ever start (lower --ray-cpus/--ray-gpus or add machines)"
            )
    return ray, started


def run_cameras(
    job: Callable,
    cameras: Sequence,
    *,
    failed: Callable[[object, str], object],
    address: str | None = None,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    local_cpus: int | None = None,
    retries: int = 1,
) -> tuple[dict[int, object], bool]:
    """Run ``job(camera)`` for every camera as a Ray task; see the module docstring."""
    ray, started = _connect(address, num_cpus, num_gpus, local_cpus)
    threads = max(1, int(num_cpus))

    def remote_job(job, camera):
        import torch

        torch.set_num_threads(threads)
        return job(camera)

    task = ray.remote(remote_job).options(
        num_cpus=num_cpus, num_gpus=num_gpus, max_retries=retries, retry_exceptions=False
    )
    results: dict[int, object] = {}
    interrupted = False
    try:
        # the job (and the embedder's weights it holds) goes to the object store once, as an argument that Ray
        # hands every task, instead of travelling inside each task's pickled function
        job_ref = ray.put(job)
        refs = {task.remote(job_ref, cam): i for i, cam in enumerate(cameras)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = refs[ref]
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:  # the job raised
                        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                        results[i] = failed(cameras[i], error_line(cause))
                    except ray.exceptions.RayError as exc:  # the worker died (after the retry) or the task was lost
                        results[i] = failed(cameras[i], f"Ray worker lost ({type(exc).__name__}): {first_line(exc)}")
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted; cancelling the cameras still running on Ray")
            for ref in pending:
                ray.cancel(ref, force=True)
                results[refs[ref]] = failed(cameras[refs[ref]], "interrupted")
    finally:
        if started:
            ray.shutdown()
    return results, interrupted


def camera_slots(nodes: Sequence[dict], num_cpus: float, num_gpus: float) -> int:
    """How many cameras asking ``num_cpus`` / ``num_gpus`` each run at once on machines with these resources."""
    total = 0
    for r in nodes:
        n = int(np.floor(r.get("CPU", 0.0) / num_cpus + 1e-9))
        if num_gpus > 0:
            n = min(n, int(np.floor(r.get("GPU", 0.0) / num_gpus + 1e-9)))
        total += n
    return total


def largest_share(cpus: Sequence[float], cameras: int) -> float:
    """The largest CPUs per camera (rounded down to 0.001) with which ``cameras`` fit on machines of ``cpus``."""
    best = 0.0
    for c in cpus:
        for k in range(1, cameras + 1):
            share = np.floor(c / k * 1000) / 1000
            if share > best and camera_slots([{"CPU": x} for x in cpus], share, 0.0) >= cameras:
                best = share
    return float(best)


class WorkerLost(RuntimeError):
    """A camera's streaming task lost its worker (killed, out of memory, node gone)."""


class StreamSession:
    """Cameras as Ray **generator tasks** whose results stream back while they run (live cameras, the online
    linker): ``start(job, *args)`` runs ``job(*args)`` (a generator function) on a worker with this session's
    resources and returns a handle; ``next(handle)`` blocks for its next yielded item (``StopIteration`` at its
    end, :class:`WorkerLost` when the worker died, the job's own exception re-raised when it raised);
    ``cancel(handle)`` stops it. At most ``backlog`` items wait unconsumed per task (the task pauses beyond that:
    memory stays bounded when one camera runs ahead of the others). Retrying is the caller's choice (a file can
    be replayed, a live stream cannot), so Ray's own retries are off. A context manager: Ray is shut down at the
    end when the session started it."""

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        local_cpus: int | None = None,
        backlog: int = 64,
        cameras: int = 1,
    ) -> None:
        self.ray, self._started = _connect(address, num_cpus, num_gpus, local_cpus)
        self.num_cpus, self.num_gpus, self.backlog = num_cpus, num_gpus, int(backlog)
        # streamed cameras are merged in scene-time order, so all of them must run at once: a camera left waiting
        # for resources would stall the others forever (a live stream never ends to free its slot). A camera runs
        # on one machine, so what counts is how many fit on each machine, not the cluster's sum.
        nodes = [n.get("Resources", {}) for n in self.ray.nodes() if n.get("Alive", True)]
        fit = camera_slots(nodes, num_cpus, num_gpus)
        if fit < cameras:
            self.close()
            cpus = [r.get("CPU", 0.0) for r in nodes]
            best = largest_share(cpus, cameras)
            hint = f"--ray-cpus {best:g} fits" if best > 0 and num_gpus == 0 else "lower --ray-cpus/--ray-gpus"
            raise ValueError(
                f"live cameras and the online linker run every camera at once: {cameras} cameras x {num_cpus:g} "
                f"CPU(s){f' and {num_gpus:g} GPU(s)' if num_gpus else ''} but the Ray cluster's machines "
                f"(CPUs {', '.join(f'{c:g}' for c in cpus)}) fit {fit} ({hint}, Ray's fractions are fine; or add "
                "machines)"
            )

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
        self._started = False

    def start(self, job: Callable, *args):
        threads = max(1, int(self.num_cpus))

        def remote_steps(*a):
            import torch

            torch.set_num_threads(threads)
            yield from job(*a)

        task = self.ray.remote(remote_steps).options(
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            max_retries=0,
            _generator_backpressure_num_objects=self.backlog,
        )
        return task.remote(*args)

    def next(self, handle):
        ray = self.ray
        ref = next(handle)  # StopIteration at the task's end
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the job raised: its own exception
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            raise cause from None
        except ray.exceptions.RayError as exc:
            raise WorkerLost(f"Ray worker lost ({type(exc).__name__}): {first_line(exc)}") from None

    def cancel(self, handle) -> None:
        try:
            self.ray.cancel(handle)  # not forced: the task stops at its next step and cleans up its folder
        except Exception as exc:  # noqa: BLE001 - already finished or gone
            log.debug("cancel: %s", first_line(exc))
