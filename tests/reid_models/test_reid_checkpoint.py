"""Checkpoint round trips and the one-line errors for files that do not fit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from reid_models import CheckpointError, build_model, load_checkpoint, load_weights_into, save_checkpoint
from reid_models.checkpoint import FORMAT_VERSION

SMALL = {"backbone": "resnet18", "pretrained": None, "input_size": (128, 64)}


def _trained_looking(arch: str, **kwargs: object) -> torch.nn.Module:
    """A model whose BN statistics and gammas are not at their initial values."""
    torch.manual_seed(0)
    model = build_model(arch, **{**SMALL, "num_classes": 3, **kwargs}).train()
    with torch.no_grad():
        model(torch.rand(4, 3, 128, 64))
        for name, parameter in model.named_parameters():
            if name.endswith("gamma"):
                parameter.fill_(0.5)
    return model.eval()


@pytest.mark.parametrize(
    ("arch", "kwargs"), [("laga", {}), ("laga", {"share_layer4": False}), ("can", {"parts": [2, 3]}), ("global", {})]
)
@pytest.mark.parametrize("half", [False, True])
def test_round_trip(tmp_path: Path, arch: str, kwargs: dict, half: bool) -> None:
    model = _trained_looking(arch, **kwargs)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, extra={"lr": 8e-4, "epochs": 70, "milestones": [40, 60]}, half=half)
    loaded, manifest = load_checkpoint(path)
    assert not loaded.training and loaded.config == model.config
    assert manifest["arch"] == arch and manifest["extra"]["milestones"] == [40, 60]
    assert manifest["feature_dim"] == model.feature_dim and manifest["input_size"] == [128, 64]
    assert manifest["num_classes"] == 3 and manifest["torch_version"] == torch.__version__
    assert all(v.dtype != torch.float16 for v in loaded.state_dict().values())
    x = torch.rand(2, 3, 128, 64)
    with torch.no_grad():
        expected, got = model(x).feature, loaded(x).feature
    if half:
        torch.testing.assert_close(got, expected, rtol=2e-2, atol=2e-2)
    else:
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_weights_that_are_not_finite_are_refused_naming_the_file(tmp_path: Path) -> None:
    """Such a checkpoint used to load: every crop's feature was NaN, and mctrack run exited 0 tracking on motion
    alone after one warning."""
    model = _trained_looking("global")
    with torch.no_grad():
        next(model.parameters())[0].fill_(float("nan"))
    path = tmp_path / "nan.pt"
    save_checkpoint(path, model)
    with pytest.raises(CheckpointError, match=rf"^{path}: its weights are not finite \(NaN or infinite values in "):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="its weights are not finite"):
        load_weights_into(build_model("global", **SMALL, num_classes=3), path)


def test_half_checkpoint_is_smaller(tmp_path: Path) -> None:
    model = _trained_looking("global")
    save_checkpoint(tmp_path / "full.pt", model)
    save_checkpoint(tmp_path / "half.pt", model, half=True)
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * (tmp_path / "full.pt").stat().st_size


def test_load_weights_into_existing_model(tmp_path: Path) -> None:
    source = _trained_looking("laga")
    save_checkpoint(tmp_path / "laga.pt", source)
    target = build_model("laga", **SMALL, num_classes=3).eval()
    manifest = load_weights_into(target, tmp_path / "laga.pt")
    assert manifest["arch"] == "laga"
    x = torch.rand(1, 3, 128, 64)
    with torch.no_grad():
        torch.testing.assert_close(target(x).feature, source(x).feature)


@pytest.mark.parametrize(
    ("saved", "target", "message"),
    [
        (("laga", {}), ("laga", {"num_classes": 5}), r"num_classes=3, the model has 5"),
        (("laga", {}), ("can", {}), r"arch='laga', the model has 'can'"),
        (("global", {}), ("global", {"input_size": (256, 128)}), r"input_size=\[128, 64\]"),
        (("laga", {}), ("laga", {"relative_positions": False}), r"unexpected keys \['sam3.rel_h'"),
        (("laga", {}), ("laga", {"share_layer4": False}), r"missing keys \['layer4.global"),
        (("global", {}), ("global", {"backbone": "resnet34"}), r"missing keys.*unexpected keys|missing keys"),
        (("can", {"parts": [2]}), ("can", {"parts": [2], "embedding_dim": 64}), r"shape mismatches \['embedding"),
    ],
)
def test_mismatch_errors_name_the_file(tmp_path: Path, saved: tuple, target: tuple, message: str) -> None:
    path = tmp_path / "saved-model.pt"
    save_checkpoint(path, build_model(saved[0], **{**SMALL, "num_classes": 3, **saved[1]}))
    model = build_model(target[0], **{**SMALL, "num_classes": 3, **target[1]})
    with pytest.raises(CheckpointError, match=message) as info:
        load_weights_into(model, path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: {"conv1.weight": torch.zeros(1)}, "no manifest"),
        (lambda: {"manifest": {"format": "other"}, "state_dict": {}}, "manifest format 'other'"),
        (lambda: {"manifest": {"format": "reid_models.checkpoint", "format_version": 99}, "state_dict": {}}, "newer"),
        (lambda: [1, 2, 3], "no manifest"),
    ],
    ids=["plain-state-dict", "foreign-manifest", "future-version", "a-list"],
)
def test_non_checkpoints_are_rejected(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "weights.pth"
    torch.save(content(), path)
    for load in (load_checkpoint, lambda p: load_weights_into(build_model("global", **SMALL), p)):
        with pytest.raises(CheckpointError, match=message) as info:
            load(path)
        assert str(path) in str(info.value)


def test_garbage_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointError, match="not a readable checkpoint") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


@pytest.mark.filterwarnings("ignore:`torch.jit.s:FutureWarning")  # making the TorchScript file
def test_unreadable_files_say_why(tmp_path: Path) -> None:
    """helper-54: a truncated checkpoint said '(RuntimeError)', a text file '(KeyError)'."""
    good = tmp_path / "good.pt"
    save_checkpoint(good, build_model("global", **SMALL))
    cases = {
        "truncated.pt": (good.read_bytes()[: good.stat().st_size // 2], "truncated or damaged"),
        "text.pt": (b"hello world\n", "not a PyTorch file"),
        "empty.pt": (b"", "an empty file"),
        # helper-68: an exported model given to --reid laga (ONNX files open with a protobuf varint, not a zip)
        "model.onnx": (
            b"\x08\x08\x12\x07pytorch\x1a\x032.1",
            "not a PyTorch file; an ONNX model runs in mctrack track and run with --reid onnx",
        ),
    }
    # helper-81: a TorchScript export said "(RuntimeError: Cannot use ``weights_only=True`` with TorchScript archives
    # ... In PyTorch 2.6,)", cut mid-sentence; a pickle that calls os.system "not a PyTorch file"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "export.ts")
    cases["export.ts"] = ((tmp_path / "export.ts").read_bytes(), "a TorchScript export, not a checkpoint")

    class Calls:
        def __reduce__(self):
            return os.system, ("true",)  # never run: the load refuses it

    torch.save({"manifest": Calls()}, tmp_path / "evil.pt")
    cases["evil.pt"] = ((tmp_path / "evil.pt").read_bytes(), "it needs posix.system, which unpickling could use")
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=rf"{name}: not a readable checkpoint \({reason}"):
            load_checkpoint(tmp_path / name)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "model.pt"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_weights_into(build_model("global", **SMALL), path)
    # helper-87: a folder was "not found"; saving into a missing folder named the temporary file
    with pytest.raises(CheckpointError, match=f"{tmp_path}: a folder, not a checkpoint file"):
        load_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nowhere/model.pt: its folder .*nowhere does not exist"):
        save_checkpoint(path, build_model("global", **SMALL))


def test_extra_must_be_plain(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extra"):
        save_checkpoint(tmp_path / "m.pt", build_model("global", **SMALL), extra={"path": Path("/tmp")})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arch": "resnet"}, "arch 'resnet' is not one of"),
        ({"arch": ["laga"]}, "arch"),
        ({"config": "laga"}, "config is not a mapping"),
        ({"config": {"arch": "global"}}, "config has no kwargs mapping"),
        ({"num_classes": "ten"}, "num_classes is not an integer"),
        ({"input_size": [256]}, r"input_size is not \[height, width\]"),
        ({"input_size": "256x128"}, r"input_size is not \[height, width\]"),
        ({"extra": [1]}, "extra is not a mapping"),
    ],
)
def test_malformed_manifest_is_one_line(tmp_path: Path, change: dict, message: str) -> None:
    good = tmp_path / "good.pt"
    save_checkpoint(good, build_model("global", **SMALL))
    data = torch.load(good, weights_only=True)
    data["manifest"].update(change)
    bad = tmp_path / "bad.pt"
    torch.save(data, bad)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(bad)
    assert str(info.value).startswith(f"{bad}: malformed manifest") and "\n" not in str(info.value)


def test_atomic_save_keeps_the_old_file_when_the_save_fails(tmp_path: Path, monkeypatch) -> None:
    from reid_models.checkpoint import atomic_save

    path = tmp_path / "last.pt"
    atomic_save({"epoch": 1}, path)

    def killed(obj, fh):  # a save that dies half-way (kill, full disk)
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(OSError):
        atomic_save({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_ctrl_c_during_a_save_is_raised_once_the_file_is_in_place(tmp_path: Path, monkeypatch, signum: str) -> None:
    # torch's zip writer turns a KeyboardInterrupt raised inside it into a RuntimeError with a traceback; the save
    # holds the signal back and raises it after the rename, so the CLI says "interrupted" and how to resume
    import os
    import signal

    from reid_models.checkpoint import atomic_save

    def as_interrupt(*_):
        raise KeyboardInterrupt

    # mctrack's CLI turns SIGTERM into KeyboardInterrupt; SIGINT raises it by default
    previous = signal.signal(signal.SIGTERM, as_interrupt)
    real_save = torch.save

    def interrupted_save(obj, fh):
        os.kill(os.getpid(), getattr(signal, signum))
        real_save(obj, fh)

    path = tmp_path / "last.pt"
    try:
        atomic_save({"epoch": 1}, path)
        monkeypatch.setattr(torch, "save", interrupted_save)
        with pytest.raises(KeyboardInterrupt):
            atomic_save({"epoch": 2}, path)
    finally:
        signal.signal(signal.SIGTERM, previous)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize(
    "kwargs", [{"num_stripes": 3}, {"feature_dim": "wide"}, {"backbone": "vgg11"}], ids=["unknown", "type", "value"]
)
def test_a_manifest_whose_configuration_builds_no_network_is_one_line(tmp_path: Path, kwargs: dict) -> None:
    # a manifest from another version, or edited by hand: load, and export through it, name the file, no traceback
    from reid_models.checkpoint import export_for_inference

    good = tmp_path / "good.pt"
    save_checkpoint(good, build_model("global", **SMALL))
    data = torch.load(good, weights_only=True)
    data["manifest"]["config"]["kwargs"].update(kwargs)
    bad = tmp_path / "bad.pt"
    torch.save(data, bad)
    for attempt in (lambda: load_checkpoint(bad), lambda: export_for_inference(bad, tmp_path / "out.pt")):
        with pytest.raises(CheckpointError, match="configuration does not build a network") as info:
            attempt()
        assert str(info.value).startswith(f"{bad}: ") and "\n" not in str(info.value)


def test_a_training_state_given_as_weights_says_to_use_model_pt(tmp_path: Path) -> None:
    last = tmp_path / "last.pt"
    torch.save({"epoch": 3, "model": build_model("global", **SMALL).state_dict(), "optimizer": {}}, last)
    with pytest.raises(CheckpointError, match=r"a training run's state .*not a checkpoint: use the run's model.pt"):
        load_checkpoint(last)


def _with_version(tmp_path: Path, version: object, drop: bool = False) -> Path:
    """A saved checkpoint whose manifest's format_version is replaced (or dropped)."""
    good = tmp_path / "good.pt"
    save_checkpoint(good, build_model("global", **SMALL))
    data = torch.load(good, weights_only=True)
    if drop:
        del data["manifest"]["format_version"]
    else:
        data["manifest"]["format_version"] = version
    path = tmp_path / "versioned.pt"
    torch.save(data, path)
    return path


def test_the_next_format_version_is_refused_with_its_message(tmp_path: Path) -> None:
    """A file from a newer reid_models says so, naming both versions."""
    path = _with_version(tmp_path, FORMAT_VERSION + 1)
    expected = f"{path}: checkpoint format version {FORMAT_VERSION + 1} is newer than supported ({FORMAT_VERSION})"
    for load in (load_checkpoint, lambda p: load_weights_into(build_model("global", **SMALL), p)):
        with pytest.raises(CheckpointError) as info:
            load(path)
        assert str(info.value) == expected


@pytest.mark.parametrize(
    ("version", "drop"),
    [(None, True), ("1", False), (1.0, False), (None, False), (True, False)],
    ids=["missing", "str", "float", "none", "bool"],
)
def test_a_missing_or_non_integer_format_version_is_refused(tmp_path: Path, version: object, drop: bool) -> None:
    path = _with_version(tmp_path, version, drop)
    with pytest.raises(
        CheckpointError, match=r"not a reid_models checkpoint \(manifest format 'reid_models.checkpoint'\)"
    ):
        load_checkpoint(path)


def test_the_current_format_version_loads(tmp_path: Path) -> None:
    model, manifest = load_checkpoint(_with_version(tmp_path, FORMAT_VERSION))
    assert manifest["format_version"] == FORMAT_VERSION and model.config["arch"] == "global"
