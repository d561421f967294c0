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


def build_plugin_embedder(**kwargs):
    """A third-party embedder for the entry-point test."""
    return ("plugin", kwargs)


build_plugin_embedder.mctrack_facts = {"takes_weights": False, "track_appearance": (0.3, 0.4), "link_thresh": 0.2}


def test_components_carry_their_facts():
    from mctrack.commands._common import link_thresh, track_appearance
    from mctrack.registry import EMBEDDERS

    assert EMBEDDERS.facts("laga")["takes_weights"] and not EMBEDDERS.facts("colorhist")["takes_weights"]
    assert track_appearance("colorhist") == (0.5, 0.8) and link_thresh("colorhist") == 0.1
    assert track_appearance("laga") == tuple(EMBEDDERS.facts("laga")["track_appearance"])
    # the histograms are compared centred on the scene's mean; the networks' features come centred already
    from mctrack.embed import appearance_centre

    assert appearance_centre("colorhist") == "scene"
    assert [appearance_centre(n) for n in ("laga", "can", "global", "onnx", "none")] == ["none"] * 5
    # which detections track/run embed by default: networks the undecided ones, the cheap histogram all of them
    from mctrack.embed import embed_policy

    assert [embed_policy(n) for n in ("laga", "can", "global", "onnx")] == ["needed"] * 4
    assert embed_policy("colorhist") == "all" and embed_policy("none") == "all"
    with pytest.raises(UnknownNameError, match="valid names"):
        EMBEDDERS.facts("nope")


def test_entry_point_plugins_register_with_their_facts(monkeypatch, caplog):
    from importlib import metadata

    import mctrack.registry as registry

    eps = [
        metadata.EntryPoint("fancy", f"{__name__}:build_plugin_embedder", "mctrack.embedders"),
        metadata.EntryPoint("laga", f"{__name__}:build_plugin_embedder", "mctrack.embedders"),  # taken
        metadata.EntryPoint("broken", "no_such_module_xyz:build", "mctrack.embedders"),
    ]
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [e for e in eps if e.group == group])
    reg = registry.Registry("embedder", "mctrack.embed")
    reg.register("laga")(lambda **kw: None)
    assert "fancy" in reg and "broken" not in reg
    assert reg.build("fancy", weights=None) == ("plugin", {"weights": None})
    assert reg.facts("fancy")["link_thresh"] == 0.2
    assert "'laga'" in caplog.text and "name is taken" in caplog.text and "could not be loaded" in caplog.text
