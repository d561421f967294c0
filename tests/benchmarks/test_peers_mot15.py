from __future__ import annotations

import pytest

from tests.conftest import load_benchmark


def _module():
    return load_benchmark("peers_mot15")


def test_tracker_names_match_boxmot_classes_without_regard_to_case():
    bench = _module()
    available = ["BoostTrack", "BotSort", "HybridSort"]
    assert bench.tracker_names(["hybridsort", "BOTSORT", "BoostTrack"], available) == [
        "HybridSort",
        "BotSort",
        "BoostTrack",
    ]
    with pytest.raises(ValueError, match=r"--trackers nosuch: not a BoxMOT tracker; choose from BoostTrack, BotSort"):
        bench.tracker_names(["botsort", "nosuch"], available)


def test_missing_sequences_are_one_error_before_anything_runs(tmp_path, capsys):
    pytest.importorskip("boxmot")
    bench = _module()
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "seqinfo.ini").write_text("[Sequence]\n")
    assert bench.main(["--data", str(tmp_path), "--sequences", "A", "B", "--trackers", "ByteTrack"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path}: no MOT15 sequence B there (no seqinfo.ini)" in err
    assert bench.main(["--data", str(tmp_path), "--sequences", "A", "--trackers", "nosuch"]) == 1
    assert "--trackers nosuch: not a BoxMOT tracker" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--stitch", "-1"], "--stitch: must be from 0 (off) to 3600, got -1.0"),
        (["--smooth", "nan"], "--smooth: must be from 0 (off) to 1000, got nan"),
        (["--interpolate", "-1"], "--interpolate: must be from 0 (off)"),
    ],
)
def test_refinement_numbers_are_checked_before_any_tracker_runs(flags, message, tmp_path, capsys):
    pytest.importorskip("boxmot")
    assert _module().main(["--data", str(tmp_path), "--trackers", "ByteTrack", *flags]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--interpolate", "--smooth", "--stitch"])
def test_online_refuses_offline_refinements(flag, tmp_path, capsys):
    assert _module().main(["--data", str(tmp_path), "--online", flag, "1"]) == 1
    assert f"{flag}: an offline refinement, not for --online" in capsys.readouterr().err


def test_online_runs_everyone_unrefined_and_mctrack_with_its_live_rules(tmp_path, monkeypatch, capsys):
    pytest.importorskip("boxmot")
    bench = _module()
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "seqinfo.ini").write_text("[Sequence]\n")
    seen = []

    def compare(data, seqs, names, out, **kwargs):
        seen.append((out, kwargs))
        return [], []

    monkeypatch.setattr(bench, "compare", compare)
    assert bench.main(["--data", str(tmp_path), "--sequences", "A", "--trackers", "ByteTrack", "--online"]) == 0
    assert bench.main(["--data", str(tmp_path), "--sequences", "A", "--trackers", "ByteTrack"]) == 0
    (out_on, on), (out_off, off) = seen
    assert (on["interpolate"], on["smooth"], on["stitch"]) == (0, 0.0, 0.0)
    assert on["settings"] == {"min_hits": 2, "backfill": False, "track_score": "first", "min_length_s": 0.0}
    assert (off["interpolate"], off["smooth"], off["settings"]) == (10, 2.0, None)
    assert out_on.name == "none_online" and out_off.name == "none"  # the offline results are not overwritten
    assert "online: no refinement for anyone" in capsys.readouterr().out
