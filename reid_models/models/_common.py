"""Argument checks shared by the model constructors."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["check_input_size", "check_num_classes"]


def check_num_classes(num_classes: int) -> int:
    """num_classes >= 0 (0: no classifiers, a feature extractor only)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes: expected an int >= 0, got {num_classes!r}")
    return num_classes


def check_input_size(input_size: Sequence[int]) -> tuple[int, int]:
    """(H, W) of the network input, two ints >= 32 (one pixel after the /16 trunk and more)."""
    if len(input_size) != 2 or any(isinstance(n, bool) or not isinstance(n, int) or n < 32 for n in input_size):
        raise ValueError(f"input_size: expected (H, W), two ints >= 32, got {input_size!r}")
    return int(input_size[0]), int(input_size[1])
