from __future__ import annotations

import json

from mctrack.synth import make_scene
from tests.conftest import load_benchmark


def test_link_sweep_grid_on_the_tiny_preset(tmp_path, capsys):
    sweep = load_benchmark("link_sweep")
    scene = make_scene("tiny", tmp_path / "tiny", seed=1, progress=False)
    out = tmp_path / "sweep"
    assert (
        sweep.main(
            [
                "--cams",
                str(scene / "cams.yaml"),
                "--reid",
                "colorhist",
                "--grid",
                "link-thresh=0.0,0.3",
                "--grid",
                "linker=offline,online",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert [r["settings"] for r in rows] == [
        {"link-thresh": t, "linker": k} for t in ("0.0", "0.3") for k in ("offline", "online")
    ]
    by = {(r["settings"]["link-thresh"], r["settings"]["linker"]): r for r in rows}
    for linker in ("offline", "online"):
        # threshold 0 links nothing (colour histograms of two crops are never identical): as many ids as tracks
        assert by[("0.3", linker)]["global_ids"] < by[("0.0", linker)]["global_ids"]
        assert by[("0.3", linker)]["cross_IDF1"] > by[("0.0", linker)]["cross_IDF1"]
    assert len(list((out / "cache").glob("*/meta.npz"))) == 2  # features computed once, reused by every setting
    assert "best cross-camera IDF1" in capsys.readouterr().out
