from __future__ import annotations

import json

from tests.conftest import load_benchmark


def test_embed_bench_reports_every_embedder_against_resnet50(tmp_path):
    bench = load_benchmark("embed_bench")
    out = tmp_path / "b.json"
    assert (
        bench.main(
            [
                "--device",
                "cpu",
                "--batches",
                "1",
                "2",
                "--rounds",
                "1",
                "--embedders",
                "global",
                "colorhist",
                "--backbone",
                "resnet18",
                "--input-size",
                "64",
                "32",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads(out.read_text())["results"]
    assert {(r["embedder"], r["batch"]) for r in rows} == {
        (name, b) for name in ("resnet50 (bare torchvision)", "global", "colorhist") for b in (1, 2)
    }
    for r in rows:
        assert r["crops_per_s"] > 0 and r["ms_per_crop"] > 0
        if r["embedder"].startswith("resnet50"):
            assert r["ratio"] == 1.0 and r["params_m"] > 25
        if r["embedder"] == "global":
            assert r["dim"] == 512 and 10 < r["params_m"] < 12  # resnet18 trunk + BNNeck
