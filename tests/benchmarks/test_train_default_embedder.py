from __future__ import annotations

import json

import pytest

from mctrack.embed import build_embedder, embedder_track_appearance
from reid_models.checkpoint import load_checkpoint, save_checkpoint
from reid_models.models import build_model
from tests.conftest import load_benchmark


def _script():
    return load_benchmark("train_default_embedder")


def _tiny_checkpoint(path):
    model = build_model("laga", backbone="resnet18", pretrained=None, num_classes=0, input_size=(64, 32))
    save_checkpoint(path, model, extra={"link_thresh": 0.4}, half=True)
    path.with_suffix(".json").write_text(json.dumps({"arch": "laga", "size_mb": 0}))


def test_annotate_stores_the_tracker_settings_the_embedder_then_uses(tmp_path):
    ckpt = tmp_path / "laga_test.pt"
    _tiny_checkpoint(ckpt)
    embedder = build_embedder("laga", weights=str(ckpt), device="cpu")
    assert embedder_track_appearance(embedder, "laga") == (0.5, 0.8)  # the network default before
    assert _script().main(["--out", str(ckpt), "--track-appearance", "0.3", "0.8", "--annotate"]) == 0
    _, manifest = load_checkpoint(ckpt)
    assert manifest["extra"]["track_appearance"] == [0.3, 0.8]
    assert manifest["extra"]["link_thresh"] == 0.4  # the rest of extra kept
    info = json.loads(ckpt.with_suffix(".json").read_text())
    assert info["track_appearance"] == [0.3, 0.8] and info["size_mb"] > 0
    embedder = build_embedder("laga", weights=str(ckpt), device="cpu")
    assert embedder_track_appearance(embedder, "laga") == (0.3, 0.8)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--annotate"], "needs --track-appearance"),
        (["--track-appearance", "1.5", "0.8", "--annotate"], "weight in [0, 1]"),
        (["--out", "missing.pt"], "missing.pt does not exist"),
        (["--out", "."], "is a folder"),
        (["--out", "text.pt"], "not a readable checkpoint"),
        (["--out", "laga_test.pt", "--arch", "can"], "holds a 'laga' network, not 'can'"),
        (["--out", "laga_test.pt", "--recenter"], "cannot be combined"),
        (["--out", "bad_json.pt"], "bad_json.json: not readable JSON"),
    ],
)
def test_annotate_rejects_bad_arguments_before_writing(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _tiny_checkpoint(tmp_path / "laga_test.pt")
    _tiny_checkpoint(tmp_path / "bad_json.pt")
    (tmp_path / "bad_json.json").write_text("{not json")
    (tmp_path / "text.pt").write_text("hello")
    before = (tmp_path / "bad_json.pt").read_bytes()
    if "--annotate" not in argv:
        argv = [*argv, "--track-appearance", "0.3", "0.8", "--annotate"]
    with pytest.raises(SystemExit) as exc:
        _script().main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "bad_json.pt").read_bytes() == before  # nothing written on an error
