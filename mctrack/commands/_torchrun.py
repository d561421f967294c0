"""``python -m mctrack.commands._torchrun ARGS``: torchrun (``torch.distributed.run``, same arguments) as ``mctrack
reid train --nproc N`` starts it, ending quietly when a signal stops it: torchrun's agent raises
``SignalException`` on Ctrl-C or SIGTERM, which printed a 30-line traceback after the workers had saved and said
where the run can be resumed. Other failures (a worker that crashed) keep torchrun's own report."""

from __future__ import annotations

import sys

#: the launcher's process id, set by ``mctrack reid train --nproc N`` (a launcher that died before torchrun asked
#: to be stopped with it is found by it)
LAUNCHER_PID_ENV = "MCTRACK_LAUNCHER_PID"


def _stop_with_the_launcher() -> None:
    """On Linux, ask for a SIGTERM when the process that started this one (``mctrack reid train``, which gives
    torchrun a session of its own) dies, even by SIGKILL: torchrun then stops its workers as on any SIGTERM instead
    of training on as an orphan. Elsewhere nothing (the launcher passes on the signals it can catch)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import os
    import signal

    launcher = os.environ.get(LAUNCHER_PID_ENV)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if launcher and str(os.getppid()) != launcher:  # it died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """torchrun's exit status: 0, or 128 + the signal's number when a signal stopped it (a worker's failure
    raises as torchrun does)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.run import main as torchrun

    _stop_with_the_launcher()

    try:
        torchrun(argv)
    except SignalException as exc:
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by reid train --nproc
    sys.exit(main())
