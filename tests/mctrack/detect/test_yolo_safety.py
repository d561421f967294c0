"""YOLO weights never run code from a crafted pickle, and a bare name never picks up a file from the working folder."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from mctrack.cli import main
from mctrack.detect import YoloDetector
from mctrack.detect import yolo as yolo_mod
from mctrack.detect.safe_pickle import UnsafePickle, allowed_global, checked_weights_bytes
from mctrack.errors import InputError
from mctrack.types import Frame
from tests.conftest import export_onnx

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))


class _Payload:
    """Unpickling this writes a marker file: the stand-in for an attacker's code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _evil(path, marker):
    torch.save({"model": _Payload(marker), "date": "2026-01-01"}, path)
    return path


def test_allow_list_policy():
    assert allowed_global("torch.nn.modules.conv.Conv2d") is torch.nn.Conv2d
    assert allowed_global("ultralytics.nn.tasks.DetectionModel") is not None
    for name in (
        "os.system",
        "builtins.exec",
        "builtins.eval",
        "subprocess.Popen",
        "posix.system",
        "ultralytics.nn.autobackend.AutoBackend",  # a layer whose constructor loads weights files
        "ultralytics.nn.tasks.torch_safe_load",  # a function, not a layer class
        "ultralytics.nn.tasks.__builtins__",
        "torch.nn.modules.conv.__import__",
    ):
        assert allowed_global(name) is None, name


def test_crafted_pickle_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = _evil(tmp_path / "best.pt", marker)
    with pytest.raises(UnsafePickle, match="builtins.exec"):
        checked_weights_bytes(evil)
    with pytest.raises(InputError, match="refusing to load YOLO weights") as exc:
        YoloDetector(evil)
    assert str(evil) in str(exc.value) and "\n" not in str(exc.value)
    assert not marker.exists()


def test_cli_refuses_crafted_weights_flag_and_bare_name_in_cwd(tmp_path, monkeypatch, capsys):
    marker = tmp_path / "pwned"
    seq = tmp_path / "frames"
    seq.mkdir()
    import cv2

    cv2.imwrite(str(seq / "000001.jpg"), np.zeros((64, 64, 3), np.uint8))
    monkeypatch.chdir(tmp_path)
    _evil(tmp_path / "yolo11n.pt", marker)  # a booby-trapped file where the user runs mctrack
    # no flags: the default bare name is ultralytics' weights folder, never ./yolo11n.pt
    assert main(["track", "--source", str(seq), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "yolo11n.pt" in err and "not used" in err
    # named explicitly: checked and refused
    assert (
        main(
            [
                "track",
                "--source",
                str(seq),
                "--yolo-weights",
                "./yolo11n.pt",
                "--out",
                str(tmp_path / "out"),
                "--no-progress",
            ]
        )
        == 1
    )
    assert "refusing to load YOLO weights" in capsys.readouterr().err
    assert not marker.exists()


def test_bare_name_uses_the_weights_folder(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "yolo11n.pt").write_bytes(b"x")
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: folder)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yolo11n.pt").write_bytes(b"y")
    assert yolo_mod.resolve_weights("yolo11n.pt") == str(folder / "yolo11n.pt")
    assert yolo_mod.resolve_weights("./yolo11n.pt") == str(tmp_path / "yolo11n.pt")


def test_trusted_flag_reaches_the_loader(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(yolo_mod, "_load_model", lambda w, trusted=False: seen.setdefault("trusted", trusted))
    w = tmp_path / "w.pt"
    w.write_bytes(b"x")
    YoloDetector(w, trusted=True)
    assert seen["trusted"] is True


def test_a_real_ultralytics_checkpoint_passes_and_detects(tmp_path):
    from ultralytics import YOLO

    path = tmp_path / "tiny.pt"
    YOLO("yolo11n.yaml").save(str(path))  # an untrained model saved the way ultralytics saves checkpoints
    assert checked_weights_bytes(path) == path.read_bytes()
    det = YoloDetector(path, conf=0.0, imgsz=64)
    out = det(Frame("cam", 0, 0.0, np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)))
    assert out.xyxy.shape[1] == 4 and len(out.score) == len(out.xyxy)
    assert (out.class_id == 0).all()


def test_a_pickle_that_calls_a_model_class_is_refused(tmp_path):
    from ultralytics.nn.tasks import DetectionModel

    marker = tmp_path / "pwned"
    cfg = {
        "activation": f"__import__('os').system('touch {marker}') or torch.nn.SiLU()",
        "nc": 1,
        "backbone": [[-1, 1, "Conv", [16, 3, 2]]],
        "head": [[-1, 1, "Conv", [16, 3, 1]]],
    }

    class Call:
        def __reduce__(self):
            return (DetectionModel, (cfg,))

    path = tmp_path / "act.pt"
    torch.save({"model": Call()}, path)
    with pytest.raises(UnsafePickle, match=r"calls ultralytics.nn.tasks.DetectionModel"):
        checked_weights_bytes(path)
    with pytest.raises(InputError, match="refusing"):
        YoloDetector(path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["evil.pt.", "evil.pt.bin", "evil.pt.onnx", "evil", "evil.weights"])
def test_odd_file_names_are_checked_too(tmp_path, name):
    marker = tmp_path / "pwned"
    evil = _evil(tmp_path / name, marker)
    with pytest.raises(InputError, match="refusing to load YOLO weights"):
        YoloDetector(evil)
    assert not marker.exists()


def test_a_relative_weights_folder_is_not_used(tmp_path, monkeypatch):
    from ultralytics.utils import SETTINGS

    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights").mkdir()
    _evil(tmp_path / "weights" / "yolo11n.pt", tmp_path / "pwned")
    monkeypatch.setitem(SETTINGS, "weights_dir", "weights")
    assert yolo_mod._weights_dir() is None
    with pytest.raises(InputError, match="cannot be downloaded"):
        YoloDetector("yolo11n.pt")
    assert not (tmp_path / "pwned").exists()


def test_reid_weights_never_unpickle_code(tmp_path, monkeypatch, capsys):
    """Re-ID checkpoints are read with torch.load(weights_only=True): a crafted --weights file is refused."""
    marker = tmp_path / "pwned"
    evil = _evil(tmp_path / "laga_evil.pt", marker)
    img = tmp_path / "crops"
    img.mkdir()
    import cv2

    cv2.imwrite(str(img / "0001_c1s1_000001_00.jpg"), np.zeros((128, 64, 3), np.uint8))
    assert (
        main(
            [
                "reid",
                "embed",
                "--reid",
                "laga",
                "--weights",
                str(evil),
                "--images",
                str(img),
                "--out",
                str(tmp_path / "f.npz"),
            ]
        )
        == 1
    )
    assert "not a readable checkpoint" in capsys.readouterr().err and not marker.exists()


def test_a_file_that_is_no_checkpoint_says_so(tmp_path):
    """A text file given as weights said 'cannot load YOLO weights: 101' (101: the byte 'e' the scan stopped at)."""
    text = tmp_path / "text.pt"
    text.write_text("eleven lines of notes\n")
    with pytest.raises(InputError, match=r"text.pt: not a PyTorch checkpoint \(neither a zip archive nor a pickle\)"):
        YoloDetector(text)


def test_a_broken_exported_model_is_found_when_the_detector_is_made(tmp_path, capsys):
    """helper-75: an .onnx that is no model failed at the first frame, after track had emptied the earlier result
    file it was to replace."""
    junk = tmp_path / "junk.onnx"
    junk.write_text("x\n")
    with pytest.raises(InputError, match=r"junk.onnx: YOLO prediction failed"):
        YoloDetector(junk).check_readable()
    from mctrack.io.mot import save_mot_txt

    out = tmp_path / "out"
    out.mkdir()
    earlier = np.array([[1, 1, 10, 10, 20, 40, 1, -1, -1, -1]], float)
    save_mot_txt(out / "SEQ.txt", earlier)
    seq = tmp_path / "SEQ"
    (seq / "img1").mkdir(parents=True)
    import cv2

    cv2.imwrite(str(seq / "img1" / "000001.jpg"), np.zeros((64, 64, 3), np.uint8))
    argv = ["track", "--source", str(seq / "img1"), "--yolo-weights", str(junk), "--reid", "none", "--out", str(out)]
    assert main([*argv, "--name", "SEQ", "--no-progress"]) == 1
    assert "junk.onnx: YOLO prediction failed" in capsys.readouterr().err
    np.testing.assert_array_equal(np.loadtxt(out / "SEQ.txt", delimiter=",", ndmin=2), earlier)


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_onnx_model_that_is_no_yolo_export_is_named_as_such(tmp_path):
    """helper-81: a Re-ID export given as --yolo-weights failed with onnxruntime's 'Got invalid dimensions for
    input: images' after ultralytics' 'Unable to automatically guess model task'."""
    import onnx

    from mctrack.embed.export import CONTRACT_KEY, contract_path

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    path = export_onnx(net, tmp_path / "net.onnx")
    with pytest.raises(InputError, match=r"net.onnx: not an ultralytics YOLO export \(its metadata lacks 'names'"):
        YoloDetector(path).check_readable()
    contract_path(path).write_text("{}")  # an export's contract beside it
    with pytest.raises(InputError, match=r"net.onnx: a Re-ID model exported by 'mctrack reid export', not a YOLO"):
        YoloDetector(path).check_readable()
    contract_path(path).unlink()
    model = onnx.load(str(path))  # or inside it, as exports since 2026-12-04 carry it
    entry = model.metadata_props.add()
    entry.key, entry.value = CONTRACT_KEY, "{}"
    onnx.save(model, str(path))
    with pytest.raises(InputError, match=r"--reid onnx --weights FILE\) and a YOLO .pt/.onnx to --yolo-weights"):
        YoloDetector(path).check_readable()


def _fake_ultralytics(monkeypatch, fail=None):
    """ultralytics.YOLO replaced by a recorder of what it was given: the path, and the bytes there at that moment."""
    import ultralytics

    seen = []

    def yolo(path):
        if fail is not None:
            raise fail
        p = Path(path)
        seen.append((str(path), p.read_bytes() if p.is_file() else None))
        return "model"

    monkeypatch.setattr(ultralytics, "YOLO", yolo)
    return seen


def test_ultralytics_loads_a_private_copy_of_the_checked_bytes(tmp_path, monkeypatch):
    """The file is swapped for a crafted one right after the check: ultralytics still reads the checked bytes, from
    a copy whose name it reads as a PyTorch checkpoint."""
    seen = _fake_ultralytics(monkeypatch)
    crafted = _evil(tmp_path / "crafted.pt", tmp_path / "pwned").read_bytes()
    for name, copy_name in (("my model.v2.pt", "my_model.pt"), (".pt", "weights.pt")):
        path = tmp_path / name
        buf = io.BytesIO()  # torch's zip writer refuses the file name ".pt"
        torch.save({"epoch": 3, "date": "2026-01-01"}, buf)
        path.write_bytes(buf.getvalue())
        good = path.read_bytes()

        def check_then_swap(p):
            data = checked_weights_bytes(p)
            Path(p).write_bytes(crafted)  # swapped for a crafted file right after the check
            return data

        monkeypatch.setattr(yolo_mod, "checked_weights_bytes", check_then_swap)
        assert YoloDetector(path).model == "model"
        loaded, data = seen[-1]
        assert Path(loaded).name == copy_name and Path(loaded).parent != tmp_path and data == good
        assert not Path(loaded).exists()  # the private copy is gone again


def test_trusted_weights_are_given_to_ultralytics_unchecked(tmp_path, monkeypatch):
    seen = _fake_ultralytics(monkeypatch)
    evil = _evil(tmp_path / "mine.pt", tmp_path / "pwned")
    assert yolo_mod._load_model(str(evil), trusted=True) == "model"
    assert seen == [(str(evil), evil.read_bytes())]


def test_an_exported_model_folder_and_upper_case_exports_are_given_to_ultralytics(tmp_path, monkeypatch):
    """A folder (an OpenVINO or TF export) exists as a path and is no pickle; nor is ``M.ONNX``."""
    seen = _fake_ultralytics(monkeypatch)
    folder = tmp_path / "yolo11n_openvino_model"
    folder.mkdir()
    assert YoloDetector(folder).model == "model" and seen[-1] == (str(folder), None)
    upper = tmp_path / "M.ONNX"
    upper.write_text("onnx bytes")
    assert YoloDetector(upper).model == "model" and seen[-1][0] == str(upper)


def test_an_upper_case_pt_before_another_suffix_is_checked(tmp_path):
    marker = tmp_path / "pwned"
    evil = _evil(tmp_path / "evil.PT.onnx", marker)
    with pytest.raises(InputError, match="refusing to load YOLO weights"):
        YoloDetector(evil)
    assert not marker.exists()


def test_a_legacy_bare_pickle_is_checked_not_called_no_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "old.pt"
    torch.save({"model": _Payload(marker)}, evil, _use_new_zipfile_serialization=False)
    assert evil.read_bytes()[:1] == b"\x80"  # torch's legacy format: a bare pickle
    with pytest.raises(InputError, match=r"old.pt: refusing to load YOLO weights"):
        YoloDetector(evil)
    assert not marker.exists()


def test_the_refusal_names_the_file_the_reason_and_the_ways_out(tmp_path):
    evil = _evil(tmp_path / "best.pt", tmp_path / "pwned")
    with pytest.raises(InputError) as exc:
        YoloDetector(evil)
    said = str(exc.value)
    assert said.startswith(f"{evil}: refusing to load YOLO weights: ") and "builtins.exec" in said
    assert said.endswith("; export the model to ONNX, or pass --yolo-trusted if you trust the file")


def test_load_errors_are_one_line_naming_the_weights(tmp_path, monkeypatch):
    text = tmp_path / "text.pt"
    text.write_text("eleven lines of notes\n")
    with pytest.raises(InputError) as exc:
        YoloDetector(text)
    assert str(exc.value) == (
        f"{text}: not a PyTorch checkpoint (neither a zip archive nor a pickle); YOLO weights are ultralytics .pt "
        "files (or an exported .onnx)"
    )
    w = tmp_path / "w.pt"
    w.write_bytes(b"x")
    _fake_ultralytics(monkeypatch, fail=RuntimeError("bad file\nsecond line"))
    with pytest.raises(InputError) as exc:
        YoloDetector(w, trusted=True)
    assert str(exc.value) == f"{w}: cannot load YOLO weights: bad file"
    _fake_ultralytics(monkeypatch, fail=KeyError())
    with pytest.raises(InputError) as exc:
        YoloDetector(w, trusted=True)
    assert str(exc.value) == f"{w}: cannot load YOLO weights: KeyError"


def test_a_missing_weights_path_is_named(tmp_path):
    missing = tmp_path / "nope" / "yolo.pt"
    with pytest.raises(InputError) as exc:
        yolo_mod.resolve_weights(missing)
    assert str(exc.value) == f"{missing}: YOLO weights file not found"
    with pytest.raises(InputError, match=r"^\.\\yolo11n\.pt: YOLO weights file not found$"):
        yolo_mod.resolve_weights(".\\yolo11n.pt")  # Windows' spelling of ./yolo11n.pt: a path, never a bare name


def test_bare_names_of_every_weights_format_and_none_other(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: folder)
    for name in ("a.pt", "a.onnx", "a.engine", "a.torchscript", "a"):
        (folder / name).write_bytes(b"x")
        assert yolo_mod.resolve_weights(name) == str(folder / name)
    assert yolo_mod.resolve_weights("yolo11n.yaml") == "yolo11n.yaml"  # ultralytics' own model definition
    (folder / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=r"^notes.txt: not a YOLO weights file name$"):
        yolo_mod.resolve_weights("notes.txt")


def test_offline_bare_name_names_the_folder_and_ignores_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    (tmp_path / "yolo11n.pt").write_bytes(b"x")  # where the user runs: not used for a bare name
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: None)
    with pytest.raises(InputError) as exc:
        yolo_mod.resolve_weights("yolo11n.pt")
    said = str(exc.value)  # helper-109: the missing folder was spelled "folder None"
    assert (
        said.startswith("yolo11n.pt: YOLO weights not in ultralytics' weights folder (none set) and")
        and "\n" not in said
    )
    assert said.endswith(
        "cannot be downloaded (offline); pass a weights file path (./yolo11n.pt in this folder is not used unless "
        "named as ./yolo11n.pt)"
    )


def test_online_bare_name_is_downloaded_into_the_weights_folder(tmp_path, monkeypatch):
    import ultralytics.utils.downloads

    asked = []

    def download(target):
        asked.append(target)
        return str(tmp_path / "got" / Path(str(target)).name)

    monkeypatch.setattr(ultralytics.utils.downloads, "attempt_download_asset", download)
    monkeypatch.setattr(yolo_mod, "_offline", lambda: False)
    folder = tmp_path / "weights"
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: folder)
    (tmp_path / "got").mkdir()
    (tmp_path / "got" / "yolo11n.pt").write_bytes(b"x")
    assert yolo_mod.resolve_weights("yolo11n.pt") == str(tmp_path / "got" / "yolo11n.pt")
    assert asked == [folder / "yolo11n.pt"]
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: None)  # no folder: ultralytics' own place for a name
    assert yolo_mod.resolve_weights("yolo11n.pt") == str(tmp_path / "got" / "yolo11n.pt")
    assert asked[-1] == "yolo11n.pt"
    with pytest.raises(InputError, match=r"^yolo11s.pt: YOLO weights could not be downloaded$"):
        yolo_mod.resolve_weights("yolo11s.pt")


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_onnx_without_stride_is_no_yolo_export(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    def onnx_with(path, **meta):
        graph = helper.make_graph(
            [helper.make_node("Identity", ["images"], ["out"])],
            "g",
            [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 32, 32])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        for k, v in meta.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(model, str(path))
        return path

    lacks = "not an ultralytics YOLO export (its metadata lacks 'names' and 'stride'); --yolo-weights takes one"
    assert yolo_mod._not_a_yolo_export(onnx_with(tmp_path / "a.onnx", names="{0: 'person'}")) == lacks
    assert yolo_mod._not_a_yolo_export(onnx_with(tmp_path / "b.ONNX", stride="32")) == lacks
    assert yolo_mod._not_a_yolo_export(onnx_with(tmp_path / "c.onnx", names="{0: 'person'}", stride="32")) is None
