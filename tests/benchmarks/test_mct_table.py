from __future__ import annotations

import json

from tests.conftest import load_benchmark


def test_mct_table_on_the_tiny_preset(tmp_path, capsys):
    table = load_benchmark("mct_table")
    out = tmp_path / "out"
    assert (
        table.main(
            [
                "--scenes",
                "tiny",
                "--seed",
                "1",
                "--methods",
                "motion",
                "colorhist",
                "--data",
                str(tmp_path / "scenes"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads((out / "results.json").read_text())["rows"]
    by = {r["method"]: r for r in rows}
    assert set(by) == {"motion only", "colorhist"}
    assert by["colorhist"]["cross_IDF1"] > by["motion only"]["cross_IDF1"] + 0.1
    assert "| tiny | colorhist |" in capsys.readouterr().out
