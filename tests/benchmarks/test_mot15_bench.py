from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import ROOT

MOT15 = ROOT.parent / "shared" / "data" / "mot15"


def _module():
    spec = importlib.util.spec_from_file_location("mot15_bench", ROOT / "benchmarks" / "mot15.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (MOT15 / "TUD-Stadtmitte").is_dir(), reason="../shared/data/mot15 not present")
def test_grid_sweep_reuses_features_and_reports_every_setting(tmp_path, capsys, monkeypatch):
    bench = _module()
    made, calls = [], []

    class Counting(bench.CachedEmbedder):
        def __init__(self, embedder) -> None:
            super().__init__(embedder)
            made.append(self)

        def __call__(self, image, dets):
            calls.append(1)
            return super().__call__(image, dets)

    monkeypatch.setattr(bench, "CachedEmbedder", Counting)
    assert (
        bench.main(
            [
                "--reid",
                "colorhist",
                "--sequences",
                "TUD-Stadtmitte",
                "--interpolate",
                "0",
                "--grid",
                "appearance_thresh=0.0,0.25",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "sweep.json").read_text())["rows"]
    assert [r["settings"] for r in rows] == [{"appearance_thresh": 0.0}, {"appearance_thresh": 0.25}]
    # threshold 0 forbids every appearance match: identities fragment, IDF1 drops
    assert rows[1]["sequences"]["TUD-Stadtmitte"]["IDF1"] > rows[0]["sequences"]["TUD-Stadtmitte"]["IDF1"]
    assert len(made) == 1 and len(calls) == 2 * len(made[0]._cache)  # second setting: all from the cache
    assert "best mean IDF1+HOTA" in capsys.readouterr().out
