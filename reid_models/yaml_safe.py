"""YAML that cannot blow up: aliases are not expanded past a bound, and values in messages are shortened.

``yaml.safe_load`` shares an aliased node instead of copying it, so a 600-byte "billion laughs" file loads at once;
it is whatever walks or prints the result afterwards (an error message, ``json.dumps``) that expands it to billions
of values. :func:`load_bounded` measures the expanded size without expanding (each distinct node once) and refuses
a document beyond ``max_values``; :func:`short_repr` is the ``repr`` for error messages. A key given twice in one
mapping is an error too (plain ``safe_load`` silently keeps the last value, so a pasted line would quietly change a
setting).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

import yaml

__all__ = ["TooLarge", "WrittenInt", "load_bounded", "octal_problem", "short_repr", "yaml_problem", "MAX_VALUES"]

MAX_VALUES = 100_000  # a camera set or recipe holds hundreds of values; a million would be an attack or a mistake

_repr = reprlib.Repr()
_repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict, _repr.maxlevel = 60, 60, 6, 6, 3


class TooLarge(ValueError):
    """The document expands to more values than allowed."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping (merged ``<<`` keys may be overridden).

    The check runs in ``flatten_mapping``, before PyYAML copies merged keys into a node (which it does in place,
    so a merge source that itself overrides a merged key must be checked before anything merges it)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._checked: set[int] = set()

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        if id(node) not in self._checked:
            self._checked.add(id(node))
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # an unhashable key: the base constructor reports it
                    continue
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {short_repr(key)} (first on line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
        super().flatten_mapping(node)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """YAML 1.1's integer, except one written with a leading zero (``012``), which it reads as octal (10): a
        recipe's ``epochs: 012`` trained 10 epochs without a word. Refused, naming the decimal meant."""
        value = super().construct_yaml_int(node)
        if problem := octal_problem(node.value, value):
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
        return value


def octal_problem(text: str, value: int) -> str | None:
    """Why the integer written ``text`` (read by YAML 1.1 as ``value``) is not what its writer meant, when it has a
    leading zero and the octal reading differs from the decimal one (``010`` is the octal 8; ``0``, ``00`` and
    ``07`` are what they look like), else None."""
    if not re.fullmatch(r"[-+]?0[0-7_]+", text):
        return None
    meant = ("-" if text.startswith("-") else "") + (text.replace("_", "").lstrip("+-0") or "0")
    if int(meant) == value:  # 00, 07: the same number either way
        return None
    return f"write {meant} (or '{text}' in quotes for a name): YAML reads {text} as the octal number {value}"


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)


class WrittenInt(int):
    """An integer that keeps its text as written (``010``, ``0x1F``, ``1_000``): YAML 1.1 reads ``id: 010`` as 8, so a
    value meant as a name (a camera id) must come from the text, not the number."""

    text: str

    def __new__(cls, value: int, text: str) -> WrittenInt:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class _WrittenIntLoader(_UniqueKeyLoader):
    """:class:`_UniqueKeyLoader` whose integers are :class:`WrittenInt`."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> WrittenInt:
        # any integer, octal-looking ones too: the caller decides (a camera id ``010`` is a name, kept as written)
        return WrittenInt(yaml.SafeLoader.construct_yaml_int(self, node), node.value)


_WrittenIntLoader.add_constructor("tag:yaml.org,2002:int", _WrittenIntLoader.construct_yaml_int)


def short_repr(value: Any) -> str:
    """``repr`` of a value cut to a line (strings to 60 characters, containers to 6 items and 3 levels, the whole to
    120 characters)."""
    text = _repr.repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def yaml_problem(err: yaml.YAMLError) -> tuple[int | None, int | None, str]:
    """``(line, column, problem)`` of a YAML error for a one-line message (1-based; None where PyYAML has no mark)."""
    mark = getattr(err, "problem_mark", None)
    problem = (getattr(err, "problem", None) or str(err).splitlines()[0])[:200]
    return (mark.line + 1, mark.column + 1, problem) if mark else (None, None, problem)


def _expanded_size(data: Any, limit: int) -> int:
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (list, dict)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = limit + 1  # a cycle (a node containing itself) counts as too large
        items = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        total = 1
        for item in items:
            total += size(item)
            if total > limit:
                break
        sizes[key] = total
        return total

    return size(data)


def load_bounded(text: str, max_values: int = MAX_VALUES, *, written_ints: bool = False) -> Any:
    """``yaml.safe_load(text)``, refusing (:class:`TooLarge`) a document that expands to more than ``max_values``
    values once its aliases are expanded, and (``yaml.YAMLError`` with the line) a key repeated in a mapping.
    ``written_ints``: integers are :class:`WrittenInt` (the caller turns them into plain ints or their text)."""
    loader = _WrittenIntLoader if written_ints else _UniqueKeyLoader
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
        n = _expanded_size(data, max_values)
    except RecursionError:
        raise TooLarge("is nested too deeply (refused)") from None
    if n > max_values:
        raise TooLarge(f"expands to more than {max_values:,} values once its YAML aliases are expanded (refused)")
    return data
