"""Names that become file names: camera ids and sequence names must not leave the output folder."""

from __future__ import annotations

import re

__all__ = ["file_name_problem", "check_file_name", "safe_file_name"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as a file name inside an output folder, or None when it can.

    Allowed: 1-128 letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit (so never ``..``, a
    path separator, an absolute path, a drive, a hidden file or an empty name).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit (it names output files)"
    return None


def check_file_name(name: str, what: str) -> str:
    """``name`` when it is a safe file name, else ``ValueError`` naming ``what`` and the problem."""
    if problem := file_name_problem(name):
        raise ValueError(f"{what} {name[:80]!r}: {problem}")
    return name


def safe_file_name(name: str) -> str:
    """``name`` with every character a file name may not hold replaced by ``_`` (for names derived from a source,
    e.g. a video called ``my clip.mp4``)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:128].lstrip("._-")
    return name or "sequence"
