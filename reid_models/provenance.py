"""Where a result came from, as recorded beside it (a training run's manifest, a tracking run's summary): the code's
git commit, the command line and the versions of the packages that make the numbers."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["command", "git_commit", "provenance", "versions"]


def git_commit() -> str | None:
    """The commit of the checkout this code runs from, ``-dirty`` appended when it has changes; None when it is no
    git checkout (an installed package) or git is missing."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


#: set by a launcher (``mctrack reid train --nproc N``) to the command it was given, which its worker processes
#: record instead of their own (``cli.py reid train ... --run-dir ...``, without ``--nproc``: re-running that trained
#: in one process, to other numbers)
COMMAND_ENV = "REID_MODELS_COMMAND"


def command() -> str:
    """The command line of this process, as a shell would take it (``mctrack reid train ...`` or a script), or its
    launcher's (:data:`COMMAND_ENV`)."""
    if os.environ.get(COMMAND_ENV):
        return os.environ[COMMAND_ENV]
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else ""


# what computes the numbers: the networks (torch), image decoding (OpenCV), the assignment and distance code of
# tracking, linking and re-ranking (SciPy, lap), detection (Ultralytics), the scores (TrackEval where installed)
_RECORDED = (
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "lap",
    "opencv-python",
    "opencv-python-headless",
    "ultralytics",
    "trackeval",
    "pyyaml",
    "mctrack",
)


def versions() -> dict[str, str | None]:
    """Python's version and the installed versions of the packages behind the numbers (None: not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in _RECORDED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def provenance(command_line: str | None = None) -> dict:
    """The three together, as results record them: ``{"git_commit", "command", "versions"}`` (``command_line``: the
    command as its caller knows it, else this process's)."""
    return {"git_commit": git_commit(), "command": command_line or command(), "versions": versions()}
