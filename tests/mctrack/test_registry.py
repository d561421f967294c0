from __future__ import annotations

import pytest

from mctrack.registry import EMBEDDERS, Registry, UnknownNameError


def test_register_build_and_unknown_name_lists_valid():
    reg = Registry("widget", "mctrack")
    reg.register("a", "an a")(lambda x=1: ("a", x))
    reg.register("b")(lambda: "b")
    assert reg.build("a", x=3) == ("a", 3)
    assert reg.names() == ["a", "b"]
    assert "a" in reg and "zzz" not in reg
    with pytest.raises(UnknownNameError, match=r"unknown widget 'zzz'; valid names: a, b"):
        reg.get("zzz")


def test_duplicate_registration_is_an_error():
    reg = Registry("widget", "mctrack")
    reg.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(lambda: 2)


def test_builtin_embedders_are_registered():
    assert {"laga", "can", "global", "colorhist"} <= set(EMBEDDERS.names())
