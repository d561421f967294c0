"""The ``mctrack`` command line. Each subcommand lives in ``mctrack.commands.<name>`` and returns an exit code.

Exit codes: 0 success, 1 a clear error (bad input, missing file), 2 usage errors and features not built yet,
130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import shlex
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .errors import DUPLICATE_SIGNAL_S, QUIET_INTERRUPT_ENV, MctrackError, NotImplementedYet
from .signals import ignore, interrupt_exit_code, interrupts_deferred, note_interrupt

__all__ = ["main", "build_parser"]

# Order is the order shown in --help.
COMMANDS = ("run", "track", "eval", "reid", "samples", "info")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mctrack",
        description="Multi-camera person tracking with pluggable Re-ID embedders (LAGA-Net, CAN).",
        epilog="Run 'mctrack COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"mctrack {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"mctrack.commands.{name}").register(sub)
    return parser


_LAST_INTERRUPT = [float("-inf")]  # when the command's handler last raised (time.monotonic)


def _interrupt_once_per_signal(signum, frame) -> None:
    """A command's SIGINT and SIGTERM: a KeyboardInterrupt, as Ctrl-C gives, except for a repeat within
    ``DUPLICATE_SIGNAL_S`` of the last one raised, which is the same signal delivered again (``timeout`` passes
    its signal on to a process group that already got it) and would otherwise cut short the very hand-over of
    finished work that the first one started."""
    now = time.monotonic()
    if now - _LAST_INTERRUPT[0] < DUPLICATE_SIGNAL_S:
        return
    _LAST_INTERRUPT[0] = now
    note_interrupt(signum)
    raise KeyboardInterrupt


class _UntilItsReaderLeaves:
    """``sys.stdout`` or ``sys.stderr`` for a command's time: once the program reading it has gone (``mctrack eval
    | head -1``, ``... 2>&1 | head -1``), what is written after is dropped, and the command goes on writing its
    files (the pipe's BrokenPipeError used to end it half way, before its ``--json`` was written, with "error:
    Broken pipe"). The stream's descriptor then points at the null device, so that Python's own last flush at exit
    does not fail either. Worker processes started by fork (``run --workers N``) inherit it (checked: ``run
    --workers 2 ... 2>&1 | head -1`` used to hang); spawned ones (Ray's) write to streams of their own."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.reader_left = False

    def _left(self) -> None:
        self.reader_left = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._stream.fileno())
            finally:
                os.close(null)

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._left()
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._left()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class _ProgressAsLines:
    """``sys.stderr`` when it is not a terminal (a log file, journald, a pipe): a progress bar's updates, which tqdm
    writes as a carriage return and the bar to be drawn over the last one (with cursor-up codes when several bars
    are shown), become one line each, so that a log holds one readable line per update (every 30 s: see
    :func:`_main`) rather than one endless line of overdrawn bars and control codes. A bar drawn again at the same
    count (after a log line, when it closes), tqdm's clearing of a bar and empty lines are left out; all other text
    passes as it is."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._at_line_start = True
        self._shown: dict[str, str] = {}  # per bar (its description), its count as last written

    def write(self, text: str) -> int:
        n = len(text)
        text = text.replace("\x1b[A", "")
        if text.startswith("\r"):  # a bar's update: "\r" + bar + spaces over the end of a longer one
            bar = text.lstrip("\r").rstrip(" ")
            count = bar.split(" [", 1)[0]  # "cam1:  40%|####      | 80/200", without times and rate
            desc = count.split(":", 1)[0] if ":" in count else ""
            if bar and "\r" not in bar and self._shown.get(desc) != count:
                self._stream.write(("" if self._at_line_start else "\n") + bar + "\n")
                self._at_line_start = True
                self._shown[desc] = count
            return n
        if text and not text.strip("\n") and self._at_line_start:
            return n  # tqdm's newline after a bar or moving to another bar's row (an empty line of stderr's too)
        if text:
            self._stream.write(text)
            self._at_line_start = text.endswith("\n")
        return n

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _unwrapped(stream):
    """The stream a :class:`_UntilItsReaderLeaves` (and :class:`_ProgressAsLines`) wraps, else ``stream``."""
    while isinstance(stream, _UntilItsReaderLeaves | _ProgressAsLines):
        stream = stream._stream
    return stream


@contextlib.contextmanager
def _log_lines_beside_progress_bars():
    """Log lines written through tqdm while a command runs, each on a line of its own rather than appended to a
    progress bar's line; only where the log goes to the console (stderr or stdout) now, as basicConfig sets it up."""
    console = {id(_unwrapped(sys.stdout)), id(_unwrapped(sys.stderr)), id(sys.stdout), id(sys.stderr)}
    handlers = logging.getLogger().handlers
    if not any(isinstance(h, logging.StreamHandler) and id(h.stream) in console for h in handlers):
        yield
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    tqdm.get_lock()  # made now: made by the first log line, a Ctrl-C during its import broke tqdm for the run
    with logging_redirect_tqdm():
        yield


def console() -> NoReturn:
    """The ``mctrack`` command (the console script): :func:`main` on the process's arguments, then exit with its code.
    A SIGINT or SIGTERM once the command has ended ends the process at once with that code, without a traceback:
    the command's work is complete, and what is left is Python's shutdown (its atexit work, such as waiting for a
    live stream's blocked reader, threads joined)."""
    code = main(restore_signals=False)

    def leave(signum, frame) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, leave)
    sys.exit(code)


def main(argv: Sequence[str] | None = None, *, restore_signals: bool = True) -> int:
    """Run the command line ``argv`` (default: the process's arguments); returns the exit code. The caller's SIGINT
    and SIGTERM handlers are put back at the end, unless ``restore_signals`` is False (the console script, whose
    process is about to exit: signals are then taken and ignored)."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}  # the handlers to give back
    if on_main_thread:
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        for signum, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
            if previous[signum] == default:
                signal.signal(signum, _interrupt_once_per_signal)
    _LAST_INTERRUPT[0] = float("-inf")
    note_interrupt(signal.SIGINT)  # until a SIGTERM says otherwise (main() may be called again in-process)
    streams = sys.stdout, sys.stderr
    err = sys.stderr if getattr(sys.stderr, "isatty", lambda: False)() else _ProgressAsLines(sys.stderr)
    sys.stdout, sys.stderr = _UntilItsReaderLeaves(sys.stdout), _UntilItsReaderLeaves(err)
    try:
        return _main(argv)
    except KeyboardInterrupt:  # outside the command's own handling: as its result was handed back (or before)
        print("mctrack: interrupted", file=sys.stderr)
        return interrupt_exit_code()
    finally:
        # from here on a signal is ignored, not raised: the command has ended, and only flushing and restoring are
        # left (a KeyboardInterrupt here used to end the process with a traceback, killed by the signal)
        for signum in previous:
            signal.signal(signum, ignore)
        for wrapped in (sys.stdout, sys.stderr):  # what is still buffered, while a closed pipe is still caught
            with contextlib.suppress(Exception):
                wrapped.flush()
        sys.stdout, sys.stderr = streams
        if restore_signals:
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _main(argv: Sequence[str] | None) -> int:
    # progress bars written to a log file rather than a terminal: one update every 30 s, not ten a second (tqdm
    # reads TQDM_* once, when the commands import it below; a value the user set stays)
    if not getattr(sys.stderr, "isatty", lambda: False)():
        os.environ.setdefault("TQDM_MININTERVAL", "30")
    code, parser = _importing(build_parser, argv)
    if code is not None:
        return code
    for token in sys.argv[1:] if argv is None else argv:  # mctrack's own options, before the command's name
        if not token.startswith("-"):
            break
        if token not in ("-h", "--help", "--version", "-v", "--verbose"):  # was blamed on the command ('mctrack
            parser.error(f"unrecognized arguments: {token}")  # --bogus run': 'run: --cams is required')
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser (argparse's top parser would say 'mctrack: error: ...')
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    # as typed, for the records results keep of what made them (main() may be called in-process, with its own argv)
    args.command_line = shlex.join(["mctrack", *(sys.argv[1:] if argv is None else argv)])
    # our own messages from INFO (DEBUG with -v); other libraries' only from WARNING (INFO with -v): the ONNX
    # exporter's optimiser, for one, logs dozens of INFO lines per export
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    for ours in ("mctrack", "reid_models"):
        logging.getLogger(ours).setLevel(logging.DEBUG if args.verbose else logging.INFO)
    # FFmpeg's own lines ("moov atom not found") beside our one-line errors about the same file: off unless -v
    # (read by OpenCV when it opens its first video; a value set by the user stays)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "24" if args.verbose else "-8")
    # Library warnings (e.g. "ImageNet weights could not be obtained") as one plain line each.
    warnings.formatwarning = lambda message, category, *rest, **kw: f"mctrack: warning: {message}\n"
    # torch and torchvision are imported here rather than with the commands (--help and usage errors answer in under
    # a second without them, instead of 3-5 s): the networks and YOLO need them, and a Ctrl-C inside their native
    # imports (triton's, for one) was swallowed, the command going on as if not interrupted (helper-88); a command
    # that never needs them says so (uses_torch=False: eval)
    fresh = "torch" not in sys.modules
    if getattr(args, "uses_torch", True):
        code, _ = _importing(lambda: [importlib.import_module(m) for m in ("torch", "torchvision")], argv)
        if code is not None:
            return code
    # imported here and run by nothing yet: mctrack run can still keep torch to one thread before it forks camera
    # workers, which then use their share of the cores (mctrack.parallel.keep_torch_single_threaded)
    from .parallel import command_ended, torch_imported_unused

    torch_imported_unused(fresh and "torch" in sys.modules)
    try:
        with _log_lines_beside_progress_bars():
            return _command(args)
    finally:
        command_ended()  # torch's thread count back, if mctrack run kept it to one


def _importing(step, argv: Sequence[str] | None):
    """``(None, step())`` with a Ctrl-C or SIGTERM held until ``step`` (imports taking seconds) is done: raised inside
    a native extension's import, a KeyboardInterrupt can abort the process ("terminate called after throwing an
    instance of 'pybind11::error_already_set'") or be swallowed. ``(exit code, None)`` when it was interrupted
    ("mctrack: interrupted") or a dependency does not import (numpy upgraded past what numba supports, a missing
    library: one line and exit 1, or the traceback with -v)."""
    try:
        with interrupts_deferred(again=False) as held:
            result = step()
    except KeyboardInterrupt:  # not the main thread: nothing was deferred
        held = [signal.SIGINT]
    except ImportError as exc:
        words = sys.argv[1:] if argv is None else list(argv)
        if "-v" in words or "--verbose" in words:
            raise
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"mctrack: error: a package mctrack needs does not import: {what} (pip install -e . installs a working "
            "set again; -v shows the traceback)",
            file=sys.stderr,
        )
        return 1, None
    if held:
        print("mctrack: interrupted", file=sys.stderr)
        return interrupt_exit_code(), None
    return None, result


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command ``args`` were parsed for (``mctrack reid train``'s for ``reid train ...``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = getattr(args, action.dest, None)
            if chosen in action.choices:
                return _command_parser(action.choices[chosen], args)
    return parser


def _command(args: argparse.Namespace) -> int:
    """``args.func(args)`` with the CLI's error reporting: one line and exit 1 for a user's mistake, named after the
    command as typed (``mctrack reid crops: error: ...``)."""
    name = " ".join(filter(None, (args.command, getattr(args, f"{args.command}_command", None))))
    try:
        return int(args.func(args) or 0)
    except NotImplementedYet as exc:
        print(f"mctrack {name}: {exc}", file=sys.stderr)
        return 2
    except (MctrackError, FileNotFoundError, ValueError, KeyError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in msg:
            msg = f"{exc.filename}: {msg}"
        print(f"mctrack {name}: error: {msg}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file system: --out is a file, a read-only folder, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mctrack {name}: error: {where}{exc.strerror or str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if not os.environ.get(QUIET_INTERRUPT_ENV):  # a worker whose launcher says it (reid train --nproc)
            print(f"mctrack {name}: interrupted", file=sys.stderr)
        return interrupt_exit_code()


if __name__ == "__main__":  # pragma: no cover
    console()
