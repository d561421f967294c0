from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from mctrack.cli import COMMANDS, main


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "track", "eval", "reid", "samples", "info"):
        assert name in COMMANDS and f"    {name}" in out


def test_reid_embed_writes_unit_features(tmp_path):
    rng = np.random.default_rng(0)
    imgs = tmp_path / "crops"
    imgs.mkdir()
    for i in range(5):
        cv2.imwrite(str(imgs / f"000{i}_c1s1_000001_00.jpg"), rng.integers(0, 255, (64 + i, 32, 3), dtype=np.uint8))
    out = tmp_path / "feats.npz"
    assert main(["reid", "embed", "--reid", "colorhist", "--images", str(imgs), "--out", str(out)]) == 0
    data = np.load(out)
    assert data["features"].shape[0] == 5
    np.testing.assert_allclose(np.linalg.norm(data["features"], axis=1), 1.0, atol=1e-5)
    assert sorted(data["names"].tolist()) == [f"000{i}_c1s1_000001_00.jpg" for i in range(5)]


@pytest.mark.parametrize("setup, message", [
    ("missing", "folder not found"),
    ("empty", "no images"),
    ("corrupt", "not a readable image"),
])
def test_reid_embed_bad_input_is_one_line_exit_1(tmp_path, capsys, setup, message):
    imgs = tmp_path / "crops"
    if setup != "missing":
        imgs.mkdir()
    if setup == "corrupt":
        (imgs / "bad.jpg").write_bytes(b"not a jpeg")
    rc = main(["reid", "embed", "--reid", "colorhist", "--images", str(imgs), "--out", str(tmp_path / "f.npz")])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]  # skip progress bars
    assert rc == 1 and len(errors) == 1 and message in errors[0] and str(imgs) in errors[0]


def test_unknown_embedder_lists_valid_names(tmp_path, capsys):
    (tmp_path / "a.jpg").write_bytes(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    rc = main(["reid", "embed", "--reid", "nope", "--images", str(tmp_path), "--out", str(tmp_path / "f.npz")])
    err = capsys.readouterr().err
    assert rc == 1 and "unknown embedder 'nope'; valid names:" in err and "laga" in err


def test_console_entry_point_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "mctrack.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("mctrack ")
