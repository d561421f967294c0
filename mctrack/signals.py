"""Signals while work must not be cut in half: :func:`interrupts_deferred`."""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["interrupts_deferred", "note_interrupt", "interrupt_exit_code", "ignore"]

#: the signal that interrupted the command (SIGINT unless a SIGTERM did): its exit code is 128 + its number
_LAST = [signal.SIGINT]


def ignore(signum, frame) -> None:
    """A signal handler that does nothing. Use it, not ``signal.SIG_IGN``, to stop taking a signal that may already
    be on its way: Python then runs this for it, where with SIG_IGN it reports "Signal N ignored due to race
    condition" with a traceback."""


def note_interrupt(signum: int) -> None:
    """Remember ``signum`` as what interrupts the command (the command line's signal handler calls it)."""
    _LAST[0] = signum


def interrupt_exit_code() -> int:
    """The exit code of an interrupted command: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM; a
    systemd unit counts 143 as a clean stop with ``SuccessExitStatus=143``)."""
    return 128 + int(_LAST[0])


@contextlib.contextmanager
def interrupts_deferred(again: bool = True):
    """Within: SIGINT and SIGTERM are noted (the list yielded) instead of raising, so that work such as receiving a
    result or writing the outputs is not cut in half (and lost); at the end, with ``again``, the first one noted is
    raised again, as if it came then (through the handler in place, which may take it for a repeat:
    :data:`mctrack.errors.DUPLICATE_SIGNAL_S`). Main thread only (where Python runs signal handlers); elsewhere
    nothing is deferred."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    # a signal the process ignores (SIGINT under nohup, or in a non-interactive shell's background job) stays
    # ignored: noted here, it ended the process during the imports and not later (helper-87)
    previous = {k: v for k, v in previous.items() if v not in (signal.SIG_IGN, ignore)}
    for signum in previous:
        signal.signal(signum, lambda signum, frame: noted.append(signum))
    try:
        yield noted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if noted:
            note_interrupt(noted[0])
        if noted and again:
            signal.raise_signal(noted[0])
