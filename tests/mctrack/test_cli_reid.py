"""Bad input to ``mctrack reid export|eval|embed``: one clear line naming the option or file, exit 1, checked before
any work, never a silently wrong result."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mctrack.cli import main
from mctrack.embed.export import contract_path

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error" in line]  # skip progress bars


@pytest.fixture(scope="module")
def laga_ckpt(tmp_path_factory) -> Path:
    """A small LAGA-Net checkpoint (ResNet-18, global branch, 64x32 input, untrained)."""
    import reid_models

    torch.manual_seed(0)
    model = reid_models.build_model(
        "laga", num_classes=0, backbone="resnet18", pretrained=None, input_size=(64, 32), branches=("global",)
    )
    path = tmp_path_factory.mktemp("ckpt") / "laga.pt"
    reid_models.save_checkpoint(path, model)
    return path


@pytest.fixture
def crops(tmp_path) -> Path:
    folder = tmp_path / "crops"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (64, 32, 3), dtype=np.uint8))
    return folder


@pytest.fixture
def no_export(monkeypatch):
    """Fails the test if the exporter is reached: the arguments must be refused before."""

    def refuse(*args, **kwargs):
        raise AssertionError("export_embedder called although the arguments are bad")

    monkeypatch.setattr("mctrack.embed.export.export_embedder", refuse)


def _export(ckpt, out, *extra) -> int:
    return main(["reid", "export", "--weights", str(ckpt), "--out", str(out), *extra])


# ---------------------------------------------------------------------------------------------------- export


@pytest.mark.parametrize("fmt, name", [("onnx", "a.onnx"), ("torchscript", "a.ts")])
def test_export_reid_must_match_the_checkpoint_network(tmp_path, laga_ckpt, capsys, fmt, name):
    out = tmp_path / name
    assert _export(laga_ckpt, out, "--reid", "can", "--format", fmt) == 1
    errors = _errors(capsys)
    assert (
        len(errors) == 1 and "checkpoint holds a 'laga' network, not 'can'" in errors[0] and str(laga_ckpt) in errors[0]
    )
    assert "(use --reid laga)" in errors[0]
    assert not out.exists() and not contract_path(out).exists()


def test_export_with_the_matching_reid_succeeds(tmp_path, laga_ckpt, crops, capsys):
    out = tmp_path / "ok.pt"
    assert _export(laga_ckpt, out, "--reid", "laga", "--format", "torchscript", "--check-images", str(crops)) == 0
    assert out.is_file() and json.loads(contract_path(out).read_text())["arch"] == "laga"
    assert "check on 3 crops" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["nan", "inf", "2", "-1.5"])
def test_export_min_cosine_is_range_checked_first(tmp_path, laga_ckpt, capsys, no_export, value):
    out = tmp_path / "a.ts"
    assert _export(laga_ckpt, out, "--format", "torchscript", "--min-cosine", value) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--min-cosine" in errors[0] and "[-1, 1]" in errors[0]
    assert not out.exists()


@pytest.mark.parametrize("cosine", [[0.5, 1.0], [float("nan"), 1.0]])
def test_export_failing_check_removes_the_file(tmp_path, laga_ckpt, crops, capsys, monkeypatch, cosine):
    monkeypatch.setattr("mctrack.embed.export.verify_export", lambda *a, **k: np.array(cosine))
    out = tmp_path / "bad.ts"
    assert _export(laga_ckpt, out, "--format", "torchscript", "--check-images", str(crops)) == 1
    assert not out.exists() and not contract_path(out).exists()
    assert "below --min-cosine 0.999; not written" in capsys.readouterr().err
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staged file left


def test_a_failing_export_keeps_the_earlier_export_at_out(tmp_path, laga_ckpt, crops, capsys, monkeypatch):
    """helper-67: a good export followed by one that a stricter --min-cosine refused removed both (out and its
    .json): the earlier, good file was lost."""
    out = tmp_path / "a.ts"
    assert _export(laga_ckpt, out, "--format", "torchscript", "--check-images", str(crops)) == 0
    before = (out.read_bytes(), contract_path(out).read_text())
    monkeypatch.setattr("mctrack.embed.export.verify_export", lambda *a, **k: np.array([0.5, 1.0]))
    capsys.readouterr()
    assert _export(laga_ckpt, out, "--format", "torchscript", "--check-images", str(crops)) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"{out}: cosine 0.50000 below --min-cosine 0.999; not written; the file there before is kept")
    assert err.startswith("mctrack reid export: error: ")
    assert (out.read_bytes(), contract_path(out).read_text()) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staged file left


def test_an_export_through_a_link_replaces_the_linked_file(tmp_path, laga_ckpt, crops, capsys):
    """helper-70: staging the export beside --out replaced a link (current.ts -> store/v1.ts) with a file."""
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "v1.ts").write_bytes(b"old")
    link = tmp_path / "current.ts"
    link.symlink_to(tmp_path / "store" / "v1.ts")
    contract_path(link).write_text("{}")  # an earlier export's contract: a file export did not write is refused
    assert _export(laga_ckpt, link, "--format", "torchscript", "--check-images", str(crops)) == 0
    assert link.is_symlink() and (tmp_path / "store" / "v1.ts").read_bytes() != b"old"
    assert contract_path(link).is_file() and not list((tmp_path / "store").glob(".*"))


@pytest.mark.parametrize(
    "fmt, name, message",
    [
        ("onnx", "a.pt", "must end in .onnx"),
        ("onnx", "a.txt", "must end in .onnx"),
        ("torchscript", "a.onnx", "must end in .pt or .pth or .ts"),
        ("torchscript", "a", "must end in .pt or .pth or .ts"),
        ("onnx", "file.txt/a.onnx", "is a file, not a folder"),
        ("onnx", "folder.onnx", "is a folder"),
    ],
)
def test_export_out_must_fit_the_format(tmp_path, laga_ckpt, capsys, no_export, fmt, name, message):
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "file.txt").write_text("x")
    assert _export(laga_ckpt, tmp_path / name, "--format", fmt) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and f"--out {tmp_path / name}" in errors[0] and message in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder.onnx"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_export_out_where_no_file_can_be_made_is_refused_before_the_export(laga_ckpt, capsys, no_export):
    # os.access says /proc is writable to root; the check must not rest on it alone
    assert _export(laga_ckpt, "/proc/mctrack-test.onnx") == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--out /proc/mctrack-test.onnx: not writable" in errors[0]


def test_output_check_leaves_no_file_behind(tmp_path):
    from mctrack.errors import InputError
    from mctrack.outputs import output_file, output_folder

    out = output_file("--out", str(tmp_path / "sub" / "a.onnx"), (".onnx",))
    assert out == tmp_path / "sub" / "a.onnx"
    assert list((tmp_path / "sub").iterdir()) == []  # the write check's file is gone
    assert output_folder("--work", tmp_path / "w" / "x") == tmp_path / "w" / "x"
    assert list((tmp_path / "w" / "x").iterdir()) == []
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    with pytest.raises(InputError, match="--work .*a.txt: a file is there, not a folder"):
        output_folder("--work", afile)
    with pytest.raises(InputError, match="--work /proc/mctrack-test: cannot create the folder"):
        output_folder("--work", "/proc/mctrack-test")


def test_export_names_a_bad_weights_file_not_out(tmp_path, capsys, no_export):
    video = tmp_path / "text.mp4"
    video.write_bytes(b"not a checkpoint")
    assert _export(video, tmp_path / "a.onnx") == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and str(video) in errors[0] and "--out" not in errors[0] and "checkpoint" in errors[0]


@pytest.mark.parametrize("size", [("100000", "100000"), ("4", "64"), ("256", "0")])
def test_export_input_size_is_range_checked(tmp_path, laga_ckpt, capsys, no_export, size):
    assert _export(laga_ckpt, tmp_path / "a.onnx", "--input-size", *size) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--input-size" in errors[0] and "[8, 2048]" in errors[0]


# ------------------------------------------------------------------------------------------------------ eval


def _market(root: Path, **splits: list[str]) -> Path:
    """Market-1501 layout with the named images (``PPPP_cC``) in the given splits."""
    rng = np.random.default_rng(1)
    for split, names in splits.items():
        (root / split).mkdir(parents=True)
        for name in names:
            cv2.imwrite(str(root / split / f"{name}s1_000001_00.jpg"), rng.integers(0, 255, (64, 32, 3), np.uint8))
    return root


def _eval(ckpt, data, *extra) -> int:
    return main(["reid", "eval", "--weights", str(ckpt), "--data", str(data), "--device", "cpu", *extra])


def test_eval_without_any_match_is_an_error(tmp_path, laga_ckpt, capsys):
    # query 1 appears in the gallery only in its own camera (removed by the protocol), query 2 not at all
    data = _market(
        tmp_path / "d",
        bounding_box_train=["0005_c1", "0005_c2"],
        query=["0001_c1", "0002_c1"],
        bounding_box_test=["0001_c1", "0003_c2"],
    )
    assert _eval(laga_ckpt, data, "--json", str(tmp_path / "r.json")) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and str(data) in errors[0] and "no query (of 2) has a match in the gallery" in errors[0]
    assert "nan" not in errors[0] and not (tmp_path / "r.json").exists()


def test_eval_needs_no_train_split_and_reports_skipped_queries(tmp_path, laga_ckpt, capsys):
    data = _market(tmp_path / "d", query=["0001_c1", "0002_c1"], bounding_box_test=["0001_c2"])
    assert _eval(laga_ckpt, data, "--json", str(tmp_path / "r.json")) == 0
    out = capsys.readouterr().out
    assert "rank-1 100.00" in out and "1 of 2 queries skipped" in out
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["skipped"] == 1
    # which files made the number (helper-54: relative paths only): absolute paths, the checkpoint's content hash,
    # the query and gallery images' fingerprint, the code and package versions
    import hashlib

    from reid_models.data import load_dataset
    from reid_models.data.datasets import dataset_fingerprint

    assert record["weights"] == str(laga_ckpt.resolve()) and record["data"] == str(data.resolve())
    assert record["weights_sha1"] == hashlib.sha1(laga_ckpt.read_bytes()).hexdigest()
    split = load_dataset("market1501", data, train=False)
    assert record["query_gallery_fingerprint"] == dataset_fingerprint(split, ("query", "gallery"))
    (data / "query" / "0002_c1s1_000001_00.jpg").unlink()  # another query set: another fingerprint
    assert _eval(laga_ckpt, data, "--json", str(tmp_path / "r2.json")) == 0
    assert (
        json.loads((tmp_path / "r2.json").read_text())["query_gallery_fingerprint"]
        != record["query_gallery_fingerprint"]
    )
    assert {"git_commit", "command", "versions"} <= record["provenance"].keys()
    assert "reid eval" in record["provenance"]["command"]


def test_eval_takes_bundled_names(tmp_path, laga_ckpt, capsys, monkeypatch):
    import shutil

    import mctrack.weights

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copy(laga_ckpt, bundle / "tiny_laga.pt")
    monkeypatch.setattr(mctrack.weights, "FOLDER", bundle)
    data = _market(tmp_path / "d", query=["0001_c1"], bounding_box_test=["0001_c2"])
    assert _eval("tiny_laga", data) == 0
    assert "rank-1 100.00" in capsys.readouterr().out
    assert _eval("nope_laga", data) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "nope_laga" in errors[0] and "tiny_laga" in errors[0]


def test_eval_json_is_checked_before_evaluating(tmp_path, laga_ckpt, capsys, monkeypatch):
    monkeypatch.setattr("reid_models.train.evaluate_checkpoint", lambda *a, **k: pytest.fail("evaluated"))
    (tmp_path / "file.txt").write_text("x")
    assert _eval(laga_ckpt, tmp_path, "--json", str(tmp_path / "file.txt" / "r.json")) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--json" in errors[0] and "is a file, not a folder" in errors[0]


# ----------------------------------------------------------------------------------------------------- embed


@pytest.mark.parametrize(
    "name, message",
    [
        ("folder", "is a folder"),
        ("f.csv", "must end in .npz"),
        ("f", "must end in .npz"),
        ("file.txt/f.npz", "is a file, not a folder"),
    ],
)
def test_embed_out_is_checked_before_embedding(tmp_path, crops, capsys, monkeypatch, name, message):
    monkeypatch.setattr("mctrack.commands.reid.embedder_from_args", lambda args: pytest.fail("embedded"))
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    out = tmp_path / name
    assert main(["reid", "embed", "--reid", "colorhist", "--images", str(crops), "--out", str(out)]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and f"--out {out}" in errors[0] and message in errors[0]
    assert sorted(tmp_path.rglob("*")) == before  # nothing written (no f.csv.npz, no folder.npz)


def test_embed_help_says_what_is_written(capsys):
    with pytest.raises(SystemExit):
        main(["reid", "embed", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "ending in .npz" in text and "names, features, embedder" in text


def _nan_onnx(path: Path) -> Path:
    """An ONNX Re-ID model (input (B, 3, 16, 8)) whose every output is NaN."""
    import onnx
    from onnx import TensorProto, helper

    nan = helper.make_tensor("nan", TensorProto.FLOAT, [], [float("nan")])
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["images"], ["flat"], axis=1), helper.make_node("Mul", ["flat", "nan"], ["out"])],
        "nan_reid",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 16, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 384])],
        initializer=[nan],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxruntime not installed")
def test_embed_refuses_non_finite_features(tmp_path, crops, capsys):
    model = _nan_onnx(tmp_path / "nan.onnx")
    out = tmp_path / "f.npz"
    rc = main(["reid", "embed", "--reid", "onnx", "--weights", str(model), "--images", str(crops), "--out", str(out)])
    errors = _errors(capsys)
    assert rc == 1 and len(errors) == 1 and str(model) in errors[0] and "non-finite features" in errors[0]
    assert not out.exists()


def test_embed_refuses_a_cut_short_crop_naming_it(tmp_path, crops, capsys):
    """helper-67: a JPEG cut to 700 bytes was embedded (the rest grey), said only by libjpeg's "Premature end of JPEG
    file", which names no file."""
    good = tmp_path / "g.jpg"
    cv2.imwrite(str(good), np.random.default_rng(1).integers(0, 255, (64, 32, 3), dtype=np.uint8))
    (crops / "cut.jpg").write_bytes(good.read_bytes()[:700])
    out = tmp_path / "f.npz"
    rc = main(["reid", "embed", "--reid", "colorhist", "--images", str(crops), "--out", str(out)])
    errors = _errors(capsys)
    assert (
        rc == 1
        and len(errors) == 1
        and errors[0].endswith(f"{crops / 'cut.jpg'}: cut short (a JPEG or PNG without its end marker: a damaged copy)")
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--reid", "colorhist", "--input-size", "5", "5"], "--input-size: only for --reid onnx, not --reid colorhist"),
        (
            ["--reid", "laga", "--weights", "laga_samples", "--feature-mean", "m.npy"],
            "--feature-mean: only for --reid onnx",
        ),
        (
            ["--reid", "laga", "--weights", "laga_samples", "--backbone", "resnet999", "--pretrained", "/nonexist"],
            "--backbone and --pretrained: ask for an untrained network, no effect with --weights",
        ),
        # helper-100: these were accepted and dropped without a word (and recorded in summary.json as applied)
        (
            ["--reid", "colorhist", "--flip"],
            "--flip: only for the networks (laga, can, global, onnx), not --reid colorhist",
        ),
        (
            ["--reid", "colorhist", "--precision", "fp16"],
            "--precision fp16: only for the torch networks (laga, can, global), not --reid colorhist",
        ),
        (
            ["--reid", "onnx", "--weights", "m.onnx", "--precision", "bf16"],
            "--precision bf16: only for the torch networks (laga, can, global), not --reid onnx (an ONNX model runs "
            "in the precision it was exported in)",
        ),
        (
            ["--reid", "onnx", "--weights", "m.onnx", "--backbone", "resnet18"],
            "--backbone: only for the torch networks (laga, can, global), not --reid onnx",
        ),
        # accepted and dropped without a word until 2026-12-08
        (["--reid", "colorhist", "--batch-size", "8"], "--batch-size: only for the networks (laga, can, global, onnx)"),
        (
            ["--reid", "colorhist", "--device", "cuda"],
            "--device cuda: nothing runs on a device with --reid colorhist (it places YOLO and the networks)",
        ),
    ],
)
def test_embedder_options_without_effect_are_refused(tmp_path, crops, capsys, extra, message):
    out = tmp_path / "f.npz"
    if "m.onnx" in extra:  # a file is there (the options are checked before the model is loaded)
        (tmp_path / "m.onnx").write_bytes(b"")
        extra = [str(tmp_path / "m.onnx") if a == "m.onnx" else a for a in extra]
    assert main(["reid", "embed", "--images", str(crops), "--out", str(out), *extra]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and message in errors[0] and not out.exists()


def test_a_bad_set_value_names_the_recipe_once(capsys):
    recipe = str(Path(__file__).resolve().parents[2] / "configs" / "reid" / "laga_market1501_cpu.yaml")
    assert main(["reid", "train", "--config", recipe, "--set", "milestones=[1"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and errors[0].count(recipe) == 1
    assert f"{recipe}: --set: milestones: value is not valid YAML" in errors[0]


def test_embed_images_that_is_a_file_says_so(tmp_path, crops, capsys):
    image = next(crops.iterdir())
    assert main(["reid", "embed", "--reid", "colorhist", "--images", str(image), "--out", str(tmp_path / "f.npz")]) == 1
    errors = _errors(capsys)
    assert errors == [f"mctrack reid embed: error: {image}: a file, not a folder of images"]


# ---------------------------------------------------------------------------------------------------- center


def test_center_refuses_non_finite_features_and_keeps_the_checkpoint(tmp_path, crops, capsys):
    import reid_models

    model = reid_models.build_model(
        "laga", num_classes=0, backbone="resnet18", pretrained=None, input_size=(64, 32), branches=("global",)
    )
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    ckpt = tmp_path / "nan.pt"
    reid_models.save_checkpoint(ckpt, model)
    before = ckpt.read_bytes()
    out = tmp_path / "centred.pt"
    for extra in (["--out", str(out)], []):  # a new file, or in place
        assert main(["reid", "center", "--weights", str(ckpt), "--images", str(crops), *extra]) == 1
        errors = _errors(capsys)
        assert len(errors) == 1 and errors[0].startswith(f"mctrack reid center: error: {ckpt}: ")
        assert "its weights are not finite" in errors[0]  # refused when loaded, before any feature is computed
        assert not out.exists() and ckpt.read_bytes() == before


def test_center_out_is_checked_before_embedding(tmp_path, laga_ckpt, crops, capsys, monkeypatch):
    monkeypatch.setattr("reid_models.train.feature_mean", lambda *a, **k: pytest.fail("embedded"))
    (tmp_path / "folder").mkdir()
    out = tmp_path / "folder"
    assert main(["reid", "center", "--weights", str(laga_ckpt), "--images", str(crops), "--out", str(out)]) == 1
    assert _errors(capsys) == [f"mctrack reid center: error: --out {out}: is a folder, not a file"]
    assert list(out.iterdir()) == []
    # helper-67: --out m.onnx wrote a PyTorch checkpoint under that name
    assert main(["reid", "center", "--weights", str(laga_ckpt), "--images", str(crops), "--out", "m.onnx"]) == 1
    assert _errors(capsys) == ["mctrack reid center: error: --out m.onnx: must end in .pt or .pth"]
    # ... and a bundled name, which other commands take, was "checkpoint not found"
    assert main(["reid", "center", "--weights", "laga_samples", "--images", str(crops)]) == 1
    assert _errors(capsys) == [
        "mctrack reid center: error: --weights laga_samples: a bundled checkpoint is not updated in place; give "
        "--out FILE.pt"
    ]


def test_center_stores_a_finite_mean(tmp_path, laga_ckpt, crops, capsys):
    import reid_models

    out = tmp_path / "c.pt"
    assert main(["reid", "center", "--weights", str(laga_ckpt), "--images", str(crops), "--out", str(out)]) == 0
    _, manifest = reid_models.load_checkpoint(out)
    mean = np.asarray(manifest["extra"]["feature_mean"])
    assert mean.shape == (manifest["feature_dim"],) and np.isfinite(mean).all()
    assert manifest["extra"]["feature_mean_images"] == 3


def test_export_onto_its_own_checkpoint_is_refused_and_keeps_it(tmp_path, laga_ckpt, capsys, no_export):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(laga_ckpt.read_bytes())
    assert _export(ckpt, ckpt, "--format", "torchscript") == 1  # a failed export used to delete it
    errors = _errors(capsys)
    assert len(errors) == 1 and "is the checkpoint being exported" in errors[0]
    assert ckpt.read_bytes() == laga_ckpt.read_bytes()


@pytest.mark.parametrize("device", ["tpu", "cuda:0"])
def test_center_names_a_bad_device_not_the_checkpoint(tmp_path, laga_ckpt, crops, capsys, device):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here")
    args = ["reid", "center", "--weights", str(laga_ckpt), "--images", str(crops), "--out", str(tmp_path / "c.pt")]
    assert main([*args, "--device", device]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--device" in errors[0] and "checkpoint" not in errors[0]
    assert not (tmp_path / "c.pt").exists()


# ---------------------------------------------------------------------------------------------------- train

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "reid" / "global_market1501_cpu.yaml"


def test_train_resume_without_run_dir_names_the_options(tmp_path, capsys):
    assert main(["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--resume"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--resume: needs --run-dir" in errors[0]  # was "run_dir: resume needs ..."


def test_train_with_both_out_and_run_dir_is_refused(tmp_path, capsys):
    """helper-83: --out was ignored without a word when --run-dir was given."""
    argv = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path)]
    assert main([*argv, "--out", str(tmp_path / "x"), "--run-dir", str(tmp_path / "y")]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--out and --run-dir: give one" in errors[0]
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_train_takes_a_bundled_checkpoint_name_as_pretrained(tmp_path, monkeypatch, capsys):
    """helper-83: --set pretrained=laga_samples was 'no such file', while --weights takes bundled names everywhere."""
    import reid_models.train

    from mctrack.weights import bundled

    seen = []

    def fake_train(recipe, **kwargs):
        seen.append(recipe.pretrained)
        raise ValueError("stopped before training")

    monkeypatch.setattr(reid_models.train, "train", fake_train)
    argv = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--run-dir", str(tmp_path / "r")]
    assert main([*argv, "--set", "pretrained=laga_samples"]) == 1
    assert _errors(capsys) == ["mctrack reid train: error: stopped before training"]
    assert seen == [str(bundled()["laga_samples"])]
    assert main([*argv, "--set", "pretrained=laga_samples.pt"]) == 1  # the bundled file's own name (helper-84)
    assert seen[-1] == str(bundled()["laga_samples"]) and len(_errors(capsys)) == 1
    assert main([*argv[:-1], str(tmp_path / "s"), "--set", "pretrained=no_such_name"]) == 1
    err = _errors(capsys)[0]
    assert "pretrained: no_such_name: no such file, nor a bundled checkpoint name (bundled: " in err
    assert err.endswith("; or 'imagenet', or null (random weights)")


def test_an_interrupted_training_says_how_to_continue(tmp_path, monkeypatch, caplog, capsys):
    import logging

    import reid_models.train

    def interrupted(recipe, *, data, run_dir, resume, progress):  # Ctrl-C after the first epoch was saved
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "last.pt").write_bytes(b"state")
        raise KeyboardInterrupt

    monkeypatch.setattr(reid_models.train, "train", interrupted)
    with caplog.at_level(logging.WARNING):
        rc = main(["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert rc == 130
    run = next((tmp_path / "o").iterdir())
    assert f"continue with the same command and --run-dir {run} --resume" in caplog.text
    assert "mctrack reid train: interrupted" in capsys.readouterr().err
    # a worker of `reid train --nproc N`: its launcher says "interrupted" once, not every process
    monkeypatch.setenv("MCTRACK_QUIET_INTERRUPT", "1")
    argv = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--run-dir", str(tmp_path / "w")]
    assert main(argv) == 130
    assert "interrupted" not in capsys.readouterr().err


def test_embed_with_the_wrong_network_says_which_one_the_checkpoint_needs(tmp_path, laga_ckpt, crops, capsys):
    args = ["reid", "embed", "--images", str(crops), "--out", str(tmp_path / "f.npz"), "--weights", str(laga_ckpt)]
    assert main([*args, "--reid", "global"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "holds a 'laga' network, not 'global' (the 'laga' embedder: --reid laga)" in errors[0]


def test_option_errors_name_the_option_not_the_parameter(tmp_path, crops, laga_ckpt, capsys):
    embed = ["reid", "embed", "--images", str(crops), "--out", str(tmp_path / "f.npz"), "--weights", str(laga_ckpt)]
    assert main([*embed, "--batch-size", "0"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--batch-size: must be >= 1, got 0" in errors[0]  # was "batch_size: ..."
    assert main(["reid", "eval", "--weights", str(laga_ckpt), "--data", str(tmp_path), "--format", "foo"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "--format: unknown dataset layout 'foo'; valid: market1501" in errors[0]


def test_train_run_dir_that_cannot_be_a_run_folder_is_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    base = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path)]
    assert main([*base, "--run-dir", str(afile)]) == 1  # was "afile: File exists", after reading the dataset
    errors = _errors(capsys)
    assert len(errors) == 1 and f"--run-dir {afile}: a file is there, not a folder" in errors[0]
    assert main([*base, "--run-dir", str(tmp_path / "nope"), "--resume"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "no run folder there to resume" in errors[0] and not (tmp_path / "nope").exists()


def test_train_with_a_pretrained_file_that_is_not_there_says_so_before_reading_the_dataset(tmp_path, capsys):
    """helper-71: '--set pretrained=imagnet' failed after the dataset was read and checked, naming neither the key
    nor the recipe."""
    base = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path / "no-such-dataset")]
    assert main([*base, "--set", "pretrained=imagnet", "--run-dir", str(tmp_path / "r")]) == 1
    errors = _errors(capsys)
    assert (
        len(errors) == 1
        and f"{RECIPE} --set: pretrained: imagnet: no such file, nor a bundled checkpoint name" in errors[0]
        and errors[0].endswith("or 'imagenet', or null (random weights)")
    )
    assert not (tmp_path / "r").exists()


def test_train_into_a_folder_another_run_trains_in_says_so(tmp_path, capsys):
    """A second run into a busy folder named the first one's files ('the folder holds .last.pt.tmp'; with its
    last.pt, 'an earlier run: add --resume') instead of saying that a run is training there."""
    import fcntl

    busy = tmp_path / "busy"
    busy.mkdir()
    base = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--run-dir", str(busy)]
    with open(busy / ".train.lock", "a") as held:  # as the first run holds it while it trains
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for saving in (".last.pt.tmp", "last.pt"):  # mid-save, then after its first epoch
            (busy / saving).write_bytes(b"state")
            for resume in ([], ["--resume"]):
                assert main(base + resume) == 1
                errors = _errors(capsys)
                assert len(errors) == 1 and f"{busy}: another reid train is running in this folder" in errors[0]
    assert sorted(p.name for p in busy.iterdir()) == [".last.pt.tmp", ".train.lock", "last.pt"]  # left alone
    assert main(base) == 1  # free again: judged by its files
    errors = _errors(capsys)
    assert len(errors) == 1 and "holds an earlier run (last.pt)" in errors[0]


def test_train_refuses_a_folder_that_holds_other_files_and_leaves_no_folder_when_it_fails(tmp_path, capsys):
    """helper-54: --run-dir a folder holding a finished run's model.pt (its last.pt deleted) or a user's files was
    trained into, model.pt replaced; a run that failed on its data left an empty folder behind."""
    base = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path / "empty")]
    (tmp_path / "empty").mkdir()
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "model.pt").write_bytes(b"weights")
    (keep / "notes.txt").write_text("n")
    assert main([*base, "--run-dir", str(keep)]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and f"{keep}: the folder holds model.pt, notes.txt and no run to continue" in errors[0]
    assert (keep / "model.pt").read_bytes() == b"weights" and sorted(p.name for p in keep.iterdir()) == [
        "model.pt",
        "notes.txt",
    ]
    # a user's config.yaml is not a run's
    user = tmp_path / "user"
    user.mkdir()
    (user / "config.yaml").write_text("lr: 1\n")
    assert main([*base, "--run-dir", str(user)]) == 1
    assert "the folder holds config.yaml and no run to continue" in _errors(capsys)[0]
    # a recipe named config.yaml in the run folder, given as --config, is no run's: refused, never deleted
    # (the first version of the cleanup deleted it when the run then failed on its data)
    recipe_there = tmp_path / "mine"
    recipe_there.mkdir()
    (recipe_there / "config.yaml").write_text(RECIPE.read_text())
    argv = ["reid", "train", "--config", str(recipe_there / "config.yaml"), "--data", str(tmp_path / "nope")]
    assert main([*argv, "--run-dir", str(recipe_there)]) == 1
    assert "the folder holds config.yaml and no run to continue" in _errors(capsys)[0]
    assert (recipe_there / "config.yaml").read_text() == RECIPE.read_text()
    # a run that fails before its first epoch ends leaves nothing: not its folder, not an auto-named one
    assert main([*base, "--run-dir", str(tmp_path / "new")]) == 1
    assert len(_errors(capsys)) == 1 and not (tmp_path / "new").exists()
    assert main([*base, "--out", str(tmp_path / "runs")]) == 1
    assert len(_errors(capsys)) == 1 and not (tmp_path / "runs").exists()  # --out made for the run: gone too
    # every folder made on the way to it too (helper-87: the recipe's runs/reid left runs/ behind)
    assert main([*base, "--out", str(tmp_path / "runs" / "reid")]) == 1
    assert len(_errors(capsys)) == 1 and not (tmp_path / "runs").exists()


def test_train_says_lr_milestones_a_shortened_run_never_reaches_before_reading_the_dataset(tmp_path, caplog, capsys):
    argv = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*argv, "--set", "epochs=70"]) == 1  # the recipe's milestones are 60 and 85
    assert "milestone 85 lies at or beyond epochs=70" in caplog.text
    assert "bounding_box_train: folder not found" in _errors(capsys)[0]  # said first, then the dataset read
    caplog.clear()
    assert main([*argv, "--set", "epochs=90"]) == 1
    assert "milestone" not in caplog.text


def test_a_run_stopped_before_its_first_epoch_may_start_again_but_not_resume(tmp_path, capsys):
    from reid_models.train.engine import check_new_run_dir, new_run_dir

    started = tmp_path / "started"
    started.mkdir()
    (started / "config.yaml").write_text("arch: global\nseed: 0\nepochs: 2\ndata: /d\n")
    (started / "manifest.json").write_text('{"dataset": {}, "seed": 0, "resumed": [], "git_commit": null}')
    check_new_run_dir(started)  # nothing to lose: a new run may start there
    argv = ["reid", "train", "--config", str(RECIPE), "--data", str(tmp_path), "--run-dir", str(started), "--resume"]
    assert main(argv) == 1
    errors = _errors(capsys)
    assert (
        len(errors) == 1 and "no epoch of this run ended, so there is nothing to continue; start it again" in errors[0]
    )
    (started / "model.pt").write_bytes(b"")  # helper-67: a finished run whose last.pt was removed was told the same,
    assert main(argv) == 1  # and a start without --resume then refused the folder
    assert "last.pt not found: the run finished (its model.pt is there)" in _errors(capsys)[0]
    # two runs started in the same second get two folders
    a, b = new_run_dir(tmp_path / "runs", "laga"), new_run_dir(tmp_path / "runs", "laga")
    assert a != b and a.is_dir() and b.is_dir() and b.name.startswith(a.name[:13])


def test_train_names_the_recipe_whose_dataset_folder_is_missing(tmp_path, capsys, monkeypatch):
    """helper-101: a recipe's relative `data:` is read from the current folder, and the error named only the
    folder it made of it (`/mini: dataset folder not found`), not the recipe or the value as written."""
    recipe = tmp_path / "rec" / "sub" / "d.yaml"
    recipe.parent.mkdir(parents=True)
    recipe.write_text(RECIPE.read_text() + "\ndata: ../../mini\n")
    monkeypatch.chdir(tmp_path)
    run = ["reid", "train", "--config", str(recipe), "--run-dir", str(tmp_path / "run")]
    assert main(run) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and errors[0].endswith(
        f"{recipe}: data: ../../mini: dataset folder not found (read from the current folder, {tmp_path})"
    )
    assert main([*run, "--set", f"data={tmp_path / 'none'}"]) == 1
    assert _errors(capsys)[0].endswith(f"{recipe} --set: data: {tmp_path / 'none'}: dataset folder not found")
    assert not (tmp_path / "run").exists()
