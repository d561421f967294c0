"""``python -m mctrack.commands._torchrun ARGS``: torchrun (``torch.distributed.run``, same arguments) as ``mctrack
reid train --nproc N`` starts it, ending quietly when a signal stops it: torchrun's agent raises
``SignalException`` on Ctrl-C or SIGTERM, which printed a 30-line traceback after the workers had saved and said
where the run can be resumed. Other failures (a worker that crashed) keep torchrun's own report."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """torchrun's exit status: 0, or 128 + the signal's number when a signal stopped it (a worker's failure
    raises as torchrun does)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.run import main as torchrun

    try:
        torchrun(argv)
    except SignalException as exc:
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by reid train --nproc
    sys.exit(main())
