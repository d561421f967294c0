"""Errors the command line turns into one clear line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "MctrackError",
    "ConfigError",
    "InputError",
    "MissingDependency",
    "optional_import",
    "NotImplementedYet",
    "first_line",
    "error_line",
    "missing_file",
    "QUIET_INTERRUPT_ENV",
    "DUPLICATE_SIGNAL_S",
]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def error_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (just ``Type`` without a message): how a camera's failure is reported."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def missing_file(path: object, what: str = "file") -> str:
    """Why ``path`` is not an existing file, for a message: ``"<what> not found"``, ``"is a folder, expected a
    <what>"`` when a folder was given where a file belongs, or ``"not a regular file"`` (a device, a pipe)."""
    p = Path(str(path))
    return (
        f"is a folder, expected a {what}" if p.is_dir() else "not a regular file" if p.exists() else f"{what} not found"
    )


class MctrackError(Exception):
    """Base class: the message is one line that names the file or parameter and the problem."""


class ConfigError(MctrackError, ValueError):
    """A configuration file is wrong: ``ConfigError(path, key, problem)`` reads ``path: key: problem``."""

    def __init__(self, path: object, key: str | None, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {problem}")


class InputError(MctrackError):
    """An input file or stream is missing, unreadable or malformed."""


class MissingDependency(MctrackError, ImportError):
    """An optional package a feature needs is not installed; the message says how to install it. An ImportError
    too, so code that catches those for optional packages still does."""


def optional_import(name: str, missing: str):
    """The module ``name`` of an optional package, or a :class:`MissingDependency` saying ``missing`` (what needs
    it and how to install it) when the package is not installed; an installed package whose own import fails
    raises its own error (helper-84: it was told to install what it had)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if exc.name != name:
            raise
        raise MissingDependency(missing) from None


class NotImplementedYet(MctrackError):
    """A feature that is planned but not built yet (the CLI exits 2)."""


#: set in the environment of the processes a command starts (``reid train --nproc``'s workers) when the command
#: reports their Ctrl-C itself: one "interrupted" line, not one per process
QUIET_INTERRUPT_ENV = "MCTRACK_QUIET_INTERRUPT"

#: a SIGINT or SIGTERM this soon after the last one acted on is the same interrupt delivered again (``timeout`` and
#: process managers pass a signal on to a process group that already got it), not a user asking to stop at once
DUPLICATE_SIGNAL_S = 1.0
