"""Cameras in parallel on one machine: each camera of a recorded camera set runs in its own worker process.

:func:`run_cameras` takes a function ``job(camera) -> result`` that runs one camera to its end (in mctrack: the
pipeline's per-camera driver, which writes the camera's local MOT file and cache itself) and runs up to
``workers`` of them at once, each in a process forked from this one, so the job's detector, embedder and settings
are inherited rather than pickled (closures and loaded networks work as they are). A worker sends its camera's
result (tracklet summaries, counts, timings: never per-frame embeddings) back through a pipe; the caller links
them after all cameras finished, so the linked identities do not depend on which worker finished first.

Faults, as in a sequential run:

- a camera whose stream fails is reported by its own job (its result carries the error); the others go on;
- a worker process that dies (killed, out of memory, a crash in native code) is started once more for its
  camera; when it dies again, the camera is reported failed with the exit status, and the others finish;
- Ctrl-C reaches every worker (one process group): each one stops its camera and sends what it finished, and
  cameras not yet started are not started. :func:`run_cameras` then reports the run as interrupted.

Each worker uses ``max(1, cpus // workers)`` torch threads unless ``OMP_NUM_THREADS`` says otherwise, so that N
workers do not each start one thread per core. A worker uses more than one only when this process never started
torch's CPU thread pool (GNU OpenMP in the pip wheels): a pool started before a fork is gone in the child, and the
child's first multi-threaded operation then waits for it for ever (measured: with ``OMP_NUM_THREADS=2`` both
workers of ``mctrack run --workers 2`` hung at their first frame). ``mctrack run``, when it will fork workers,
calls :func:`keep_torch_single_threaded` before it builds the embedder (and the command line restores the thread
count when the command ends, :func:`command_ended`); a program that imported torch before that gets
single-threaded workers, with a warning. (Ultralytics sets its own thread count when its predictor starts;
:class:`~mctrack.detect.YoloDetector` puts the worker's back after each prediction.) OpenCV's thread count is left
alone: ``cv2.setNumThreads`` in a child forked after both OpenCV and torch ran hangs with the pip wheels, measured
here. Forking needs a platform with ``fork`` (Linux, macOS) and an embedder that has not initialised CUDA in this
process (a CUDA context does not survive a fork).
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait

from .errors import DUPLICATE_SIGNAL_S, error_line
from .signals import ignore, interrupts_deferred

__all__ = [
    "auto_workers",
    "command_ended",
    "keep_torch_single_threaded",
    "run_cameras",
    "run_cameras_in_threads",
    "torch_imported_unused",
    "usable_cores",
    "worker_threads",
]

log = logging.getLogger(__name__)

_JOB: Callable | None = None  # the job of the run in progress; set before forking, inherited by the workers
_SINGLE_THREADED = False  # keep_torch_single_threaded was called before torch could run with more threads here
_TORCH_UNUSED = False  # torch was imported by this command's entry point and has run nothing yet (mctrack.cli)
_THREADS_BEFORE: int | None = None  # torch's thread count before keep_torch_single_threaded, for command_ended


#: the most cameras ``auto_workers`` runs at once (each worker holds its own activations and decoder)
MAX_AUTO_WORKERS = 8


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _omp_threads() -> int | None:
    """``OMP_NUM_THREADS`` when it is set to a positive integer, else None."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def worker_threads(workers: int) -> int:
    """Threads each of ``workers`` processes should use: ``OMP_NUM_THREADS`` when set, else the cores shared out."""
    return _omp_threads() or max(1, usable_cores() // max(1, workers))


def keep_torch_single_threaded() -> None:
    """Make this process run torch on one thread, so that it never starts the CPU thread pool that a worker forked
    from it could not use (see the module docstring). Call it before this process runs any torch operation (before
    building an embedder) when it will fork camera workers: the workers then use their share of the cores. Where
    torch was imported before the call it may have run already, and the workers stay at one thread each."""
    global _SINGLE_THREADED, _THREADS_BEFORE
    fresh = "torch" not in sys.modules or _TORCH_UNUSED  # else torch may have run (and started its pool) already
    import torch

    if _THREADS_BEFORE is None:
        _THREADS_BEFORE = torch.get_num_threads()
    # kept since an earlier call only while torch stayed on one thread (a library may have raised it and run)
    _SINGLE_THREADED = fresh or (_SINGLE_THREADED and torch.get_num_threads() == 1)
    torch.set_num_threads(1)


def torch_imported_unused(unused: bool = True) -> None:
    """Tell :func:`keep_torch_single_threaded` that torch, imported already, has run nothing in this process yet
    (mctrack's command line imports it before the command starts)."""
    global _TORCH_UNUSED
    _TORCH_UNUSED = bool(unused)


def command_ended() -> None:
    """The command that may have kept torch to one thread has ended: torch gets its thread count back and nothing
    here is taken as known about its pool any more (mctrack's command line calls it, so that commands run one
    after another in one process, as tests do, neither inherit one thread nor trust a pool they did not see)."""
    global _SINGLE_THREADED, _TORCH_UNUSED, _THREADS_BEFORE
    if _THREADS_BEFORE is not None and "torch" in sys.modules:
        import torch

        torch.set_num_threads(_THREADS_BEFORE)
    _SINGLE_THREADED, _TORCH_UNUSED, _THREADS_BEFORE = False, False, None


def _threads_after_fork(threads: int) -> int:
    """``threads``, or 1 when this process may have started torch's thread pool (it imported torch and did not
    keep it to one thread): a worker forked from it would hang in its first multi-threaded operation."""
    if threads <= 1 or "torch" not in sys.modules:
        return threads
    import torch

    if _SINGLE_THREADED and torch.get_num_threads() == 1:
        return threads
    log.warning(
        "this process may have started torch's thread pool before the camera workers were forked: each worker uses "
        "1 thread instead of %d (a pool started before a fork hangs the forked process; call "
        "mctrack.parallel.keep_torch_single_threaded() before torch is imported to give them more)",
        threads,
    )
    return 1


def auto_workers(cameras: int, cores: int | None = None) -> int:
    """How many recorded cameras to run at once by default: one per core (per ``OMP_NUM_THREADS`` cores when that
    is set, since each worker then uses that many threads), at most one per camera and ``MAX_AUTO_WORKERS``.

    On the 2-core machine of the README, the demo's 3 cameras on 2 workers of one thread each run 1.15x faster than
    one process using both cores (``benchmarks/workers_bench.py``: 9.2 vs 8.0 frames/s), with identical outputs."""
    cores = usable_cores() if cores is None else max(1, int(cores))
    return max(1, min(int(cameras), cores // (_omp_threads() or 1), MAX_AUTO_WORKERS))


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the process that forked it dies (SIGKILL, OOM, SIGTERM), so a
    worker never outlives its run; elsewhere the closed pipe ends it when it tries to send its result."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass


def _interrupt_once(signum, frame) -> None:
    """A worker's SIGINT and SIGTERM handler: the first one stops the camera as Ctrl-C does (it hands over what it
    finished); later ones are ignored, so that the parent's forwarded interrupt, or a second signal of a process
    group, cannot break that hand-over. The parent still ends a worker that overstays with SIGKILL."""
    # not SIG_IGN: a second signal already on its way (a process group's SIGTERM and SIGINT together) then ends
    # without Python's "Signal 15 ignored due to race condition" traceback
    signal.signal(signal.SIGINT, ignore)
    signal.signal(signal.SIGTERM, ignore)
    raise KeyboardInterrupt


def _send(conn, message) -> None:
    """A worker's answer; a parent that stopped listening (a second Ctrl-C, its grace period over) gets none."""
    try:
        conn.send(message)
    except OSError:  # BrokenPipeError: the parent closed its end
        pass


def _own_line() -> None:
    """Ends the line a worker's progress bar may have left open on stderr (this process cannot clear another
    process's bar), so that the next log line of this process starts a line of its own."""
    try:
        sys.stderr.write("\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no usable stderr
        pass


def _worker(conn, camera, threads: int, parent_pid: int, inherited: list) -> None:
    """Runs in the forked process: one camera, its result sent back (or ``("interrupted", partial)``)."""
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    try:  # an interrupt from here on is reported as one (while torch is imported, too), not as a dead worker
        _die_with_parent()
        if os.getppid() != parent_pid:  # the parent died before the death signal was armed
            os._exit(1)
        for other in inherited:  # the parent's ends of this and earlier pipes: a dead parent must close them
            other.close()
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        result = _JOB(camera)
        _send(conn, ("done", result))
    except KeyboardInterrupt as stop:
        _send(conn, ("interrupted", stop.args[0] if stop.args else None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which reports the camera failed
        _send(conn, ("error", error_line(exc)))
    finally:
        conn.close()


def _outcome(message: tuple, camera, failed: Callable[[object, str], object]):
    """A camera's result from its worker's answer: its result (whole, or what an interrupted one finished), else
    ``failed(camera, why)`` (the worker's error, or "interrupted" when it had nothing to hand over)."""
    kind, payload = message
    if kind in ("done", "interrupted") and payload is not None:
        return payload
    _own_line()  # failed() says it in a log line
    return failed(camera, payload if kind == "error" else "interrupted")


def _receive(conn):
    """The worker's answer, or None when it died without one; the connection is closed."""
    try:
        return conn.recv() if conn.poll() else None
    except (EOFError, OSError):
        return None
    finally:
        conn.close()


def run_cameras(
    job: Callable,
    cameras: Sequence,
    workers: int,
    *,
    failed: Callable[[object, str], object],
    retries: int = 1,
    grace_s: float = 60.0,
) -> tuple[dict[int, object], bool]:
    """Run ``job(camera)`` for every camera with up to ``workers`` processes; ``({index: result}, interrupted)``.

    ``failed(camera, message)`` makes the result of a camera whose worker died ``retries + 1`` times or raised.
    A job interrupted by Ctrl-C may raise ``KeyboardInterrupt(partial_result)`` to hand over what it finished.
    After Ctrl-C the running workers get ``grace_s`` seconds to send their partial results, then are terminated; a
    second Ctrl-C ends that wait at once (one that comes within ``DUPLICATE_SIGNAL_S`` of the first is the same
    interrupt delivered twice and is ignored). A result already on its way is received in full either way.
    """
    global _JOB
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    if "fork" not in mp.get_all_start_methods():
        raise RuntimeError("cameras in parallel need the 'fork' start method, which this platform lacks; use 1 worker")
    ctx = mp.get_context("fork")
    threads = worker_threads(min(workers, max(1, len(cameras))))  # fewer cameras than workers: more threads each
    threads = _threads_after_fork(threads)
    todo = list(range(len(cameras)))
    attempts = dict.fromkeys(todo, 0)
    running: dict[object, tuple[int, object, object]] = {}  # connection -> (index, process, connection)
    results: dict[int, object] = {}
    interrupted = False
    sigints = 0  # Ctrl-C seen here (workers may report "interrupted" before this process sees it)
    first_sigint = 0.0
    deadline = None
    _JOB = job
    try:
        while todo or running:
            try:
                while todo and len(running) < workers and not interrupted:
                    i = todo.pop(0)
                    attempts[i] += 1
                    parent, child = ctx.Pipe(duplex=False)
                    inherited = [parent, *running]
                    proc = ctx.Process(
                        target=_worker, args=(child, cameras[i], threads, os.getpid(), inherited), daemon=True
                    )
                    proc.start()
                    child.close()
                    running[parent] = (i, proc, parent)
                if not running:
                    break
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready = wait([*running, *(p.sentinel for _, p, _ in running.values())], timeout=timeout)
                if not ready and deadline is not None:  # Ctrl-C grace period over
                    _own_line()
                    with interrupts_deferred():
                        for i, proc, conn in running.values():
                            message = _receive(conn)  # a result already being sent is taken in full
                            results[i] = _outcome(message or ("interrupted", None), cameras[i], failed)
                            proc.kill()  # a worker ignores signals after its first interrupt
                            proc.join()
                        running.clear()
                    break
                for conn in [c for c in running if c in ready or running[c][1].sentinel in ready]:
                    with interrupts_deferred():  # a Ctrl-C now must not lose the result being received
                        i, proc, _ = running.pop(conn)
                        message = _receive(conn)
                        if message is None:  # the worker died before it could answer
                            proc.join()
                            why = f"worker process died (exit status {proc.exitcode})"
                            _own_line()
                            if attempts[i] <= retries and not interrupted:
                                log.error("camera %s: %s; starting it once more", getattr(cameras[i], "id", i), why)
                                todo.insert(0, i)
                            else:
                                results[i] = failed(cameras[i], why)
                        else:
                            interrupted = interrupted or message[0] == "interrupted"
                            results[i] = _outcome(message, cameras[i], failed)
                    proc.join()
            except KeyboardInterrupt:
                if sigints and time.monotonic() - first_sigint < DUPLICATE_SIGNAL_S:
                    continue  # the same interrupt, delivered again (see DUPLICATE_SIGNAL_S)
                sigints += 1
                interrupted = True
                # a signal while this is handled must not escape the loop (and lose every result): it is noted
                with interrupts_deferred(again=False) as more:
                    if sigints == 1:
                        first_sigint = time.monotonic()
                        deadline = time.monotonic() + grace_s
                        # the workers get the interrupt too: a Ctrl-C reaches the whole process group, but a SIGINT
                        # or SIGTERM sent to this process alone (kill, docker stop) would leave them running
                        for _, proc, _ in running.values():
                            try:
                                os.kill(proc.pid, signal.SIGINT)
                            except (ProcessLookupError, TypeError):  # already gone
                                pass
                        _own_line()
                        log.warning("interrupted; waiting for the running cameras to hand over what they finished")
                    else:  # a second Ctrl-C: stop waiting
                        deadline = time.monotonic()
                if more and time.monotonic() - first_sigint >= DUPLICATE_SIGNAL_S:
                    deadline = time.monotonic()  # a Ctrl-C of its own while the first was handled: stop waiting
    finally:
        _JOB = None
        for _, proc, conn in running.values():  # only after an unexpected error in this loop
            proc.kill()
            conn.close()
    return results, interrupted


def run_cameras_in_threads(
    job: Callable,
    cameras: Sequence,
    workers: int,
    *,
    failed: Callable[[object, str], object],
    stop: threading.Event,
) -> tuple[dict[int, object], bool]:
    """:func:`run_cameras` with threads of this process instead of forked processes: for an embedder on a GPU (a
    CUDA context does not survive a fork), shared by the cameras (:class:`mctrack.embed.BatchingEmbedder`).

    A job that raises is reported failed (``failed(camera, message)``); a thread cannot be killed, so there is no
    retry of a dead worker. Ctrl-C sets ``stop``: jobs must check it (the pipeline does on every frame) and raise
    ``KeyboardInterrupt(partial_result)``; cameras not started yet are left out of the results (as with processes).
    A second Ctrl-C cannot cut the running cameras short: they stop at their next frame.
    """
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    results: dict[int, object] = {}
    interrupted = False

    not_started = object()

    def guarded(camera):
        if stop.is_set():
            return not_started
        return job(camera)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="camera") as pool:
        futures = {pool.submit(guarded, cam): i for i, cam in enumerate(cameras)}
        pending = set(futures)
        while pending:  # (a Ctrl-C outside the wait below is rare; it ends the run without its outputs)
            try:  # a timeout, so that Ctrl-C reaches this thread while the cameras run
                done, pending = concurrent.futures.wait(pending, timeout=0.5)
            except KeyboardInterrupt:
                if not stop.is_set():
                    log.warning("interrupted; waiting for the running cameras to hand over what they finished")
                stop.set()
                interrupted = True
                continue
            for fut in done:
                i = futures[fut]
                try:
                    result = fut.result()
                    if result is not not_started:
                        results[i] = result
                except KeyboardInterrupt as exc:
                    interrupted = True
                    partial = exc.args[0] if exc.args else None
                    results[i] = partial if partial is not None else failed(cameras[i], "interrupted")
                except BaseException as exc:  # noqa: BLE001 - the camera is reported failed, the others go on
                    results[i] = failed(cameras[i], error_line(exc))
    return results, interrupted
