"""Self-contained exports (ONNX via onnxruntime, TorchScript) against the in-process embedder."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mctrack.cache import file_sha1
from mctrack.cli import main
from mctrack.embed import ReidEmbedder
from mctrack.embed.export import contract_path, export_embedder, load_exported, verify_export
from tests.conftest import export_onnx

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))


def _smooth_crops(n: int, seed: int = 0) -> list[np.ndarray]:
    from mctrack.embed.export import check_crops

    return check_crops(n, seed)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import reid_models

    torch.manual_seed(0)
    model = reid_models.build_model(
        "laga",
        num_classes=0,
        backbone="resnet18",
        pretrained=None,
        input_size=(64, 32),
        branches=("global", "local", "channel"),
    )
    path = tmp_path_factory.mktemp("ckpt") / "laga.pt"
    reid_models.save_checkpoint(path, model)
    emb = ReidEmbedder("laga", weights=path, device="cpu").embed_crops(_smooth_crops(12, seed=9))
    reid_models.save_checkpoint(path, model, extra={"feature_mean": emb.mean(axis=0).tolist()})
    return path


RANGES = ("0-255", "0-1")


@pytest.fixture(scope="module")
def onnx_exports(checkpoint, tmp_path_factory) -> dict[str, tuple]:
    """``checkpoint`` exported to ONNX once per input range, ``{range: (file, contract)}``: an export takes seconds,
    so the tests that only use one copy these (``_onnx_copy``)."""
    if not HAS_ONNX:
        pytest.skip("onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
    folder = tmp_path_factory.mktemp("onnx")
    return {r: (folder / f"{r}.onnx", export_embedder(checkpoint, folder / f"{r}.onnx", input_range=r)) for r in RANGES}


def _onnx_copy(onnx_exports: dict, out, input_range: str = "0-255") -> dict:
    """A copy at ``out`` of ``onnx_exports``' export for ``input_range`` with its contract beside it; the contract."""
    import shutil

    made, contract = onnx_exports[input_range]
    shutil.copyfile(made, out)
    shutil.copyfile(contract_path(made), contract_path(out))
    return contract


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param(
            "onnx",
            marks=pytest.mark.skipif(
                not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')"
            ),
        ),
        "torchscript",
    ],
)
def test_export_matches_the_in_process_embedder(tmp_path, checkpoint, fmt, request):
    out = tmp_path / ("e.onnx" if fmt == "onnx" else "e.ts")
    if fmt == "onnx":  # made by export_embedder(checkpoint, ..., fmt="onnx") once for the module
        contract = _onnx_copy(request.getfixturevalue("onnx_exports"), out)
    else:
        contract = export_embedder(checkpoint, out, fmt=fmt)
    assert json.loads(contract_path(out).read_text()) == contract
    assert contract["input"]["shape"] == ["batch", 3, 64, 32] and contract["output"]["shape"] == ["batch", 5 * 512]
    # which checkpoint was exported, wherever the export ran (it was recorded as typed: a relative path, or a name)
    assert contract["source"] == str(Path(checkpoint).resolve()) and contract["source_sha1"] == file_sha1(checkpoint)
    crops = _smooth_crops(7)
    cosine = verify_export(checkpoint, out, crops)
    assert cosine.shape == (7,) and cosine.min() >= 0.999
    run = load_exported(out)
    batch = np.stack([cv2.resize(c, (32, 64))[:, :, ::-1].transpose(2, 0, 1) for c in crops]).astype(np.float32)
    one, many = run(batch[:1]), run(batch)  # dynamic batch
    np.testing.assert_allclose(one[0], many[0], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    # the checkpoint's centring is inside: the exported features equal the centred in-process ones
    centred = ReidEmbedder("laga", weights=checkpoint, device="cpu").embed_crops(crops)
    np.testing.assert_allclose(many, centred, atol=2e-3)
    if fmt == "torchscript":  # helper-60: its outputs required grad, so .numpy() failed outside torch.no_grad()
        features = torch.jit.load(str(out))(torch.from_numpy(batch[:2]))
        assert not features.requires_grad and features.numpy().shape == (2, 5 * 512)


def test_export_at_another_input_size(tmp_path, checkpoint):
    out = tmp_path / "e128.ts"
    assert export_embedder(checkpoint, out, fmt="torchscript", input_hw=(128, 64))["input"]["shape"][2:] == [128, 64]
    # the export resizes its input to the network's inside; the reference embeds the same resized crops, so the
    # check holds at the command's default threshold (it compared against crops resized once, and failed there)
    assert verify_export(checkpoint, out, _smooth_crops(5)).min() >= 0.999
    odd = tmp_path / "e100.ts"
    export_embedder(checkpoint, odd, fmt="torchscript", input_hw=(100, 40))
    assert verify_export(checkpoint, odd, _smooth_crops(5)).min() >= 0.999
    with pytest.raises(ValueError, match="fmt"):
        export_embedder(checkpoint, tmp_path / "x", fmt="tflite")


def test_cli_export_checks_and_reports(tmp_path, checkpoint, capsys):
    crops = tmp_path / "crops"
    crops.mkdir()
    for i, c in enumerate(_smooth_crops(4, seed=3)):
        cv2.imwrite(str(crops / f"{i}.png"), c)
    out = tmp_path / "cli.ts"
    assert (
        main(
            [
                "reid",
                "export",
                "--weights",
                str(checkpoint),
                "--format",
                "torchscript",
                "--out",
                str(out),
                "--check-images",
                str(crops),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "check on 4 crops" in printed and contract_path(out).is_file()
    assert main(["reid", "export", "--weights", "nope_ckpt", "--out", str(tmp_path / "n.ts")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope_ckpt" in err[0]
    # an impossible --min-cosine is refused before anything is written (a failing check removing the file:
    # tests/mctrack/test_cli_reid.py)
    bad = tmp_path / "bad.ts"
    assert (
        main(
            [
                "reid",
                "export",
                "--weights",
                str(checkpoint),
                "--format",
                "torchscript",
                "--out",
                str(bad),
                "--check-images",
                str(crops),
                "--min-cosine",
                "1.01",
            ]
        )
        == 1
    )
    assert not bad.exists() and not contract_path(bad).exists()
    assert "--min-cosine: must be a finite number in [-1, 1], got 1.01" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_onnx_embedder_runs_an_export_like_the_network(tmp_path, checkpoint, onnx_exports):
    from mctrack.embed import build_embedder
    from mctrack.types import Detections

    out = tmp_path / "m.onnx"
    _onnx_copy(onnx_exports, out)
    onnx = build_embedder("onnx", weights=out)
    assert onnx.preprocess == "mctrack" and onnx.input_size == (64, 32) and onnx.dim == 5 * 512
    reference = ReidEmbedder("laga", weights=checkpoint, device="cpu")
    image = np.zeros((240, 320, 3), np.uint8)
    for i, crop in enumerate(_smooth_crops(3, seed=4)):
        image[10 : 10 + crop.shape[0], 10 + 100 * i : 10 + 100 * i + crop.shape[1]] = crop
    dets = Detections(
        np.array([[10, 10, 60, 150], [110, 10, 170, 200], [210, 10, 250, 100]], np.float32), np.ones(3, np.float32)
    )
    np.testing.assert_allclose(onnx(image, dets), reference(image, dets), atol=2e-3)
    assert onnx(image, dets[np.zeros(3, bool)]).shape == (0, 5 * 512)
    # a copy without the .json beside it reads the contract inside the file (0-255 and 0-1 inputs alike)
    (tmp_path / "m.onnx.json").unlink()
    copy = build_embedder("onnx", weights=out)
    assert copy.preprocess == "mctrack"
    np.testing.assert_allclose(copy(image, dets), reference(image, dets), atol=2e-3)
    _onnx_copy(onnx_exports, tmp_path / "unit.onnx", "0-1")
    (tmp_path / "unit.onnx.json").unlink()
    np.testing.assert_allclose(
        build_embedder("onnx", weights=tmp_path / "unit.onnx")(image, dets), reference(image, dets), atol=2e-3
    )
    # a third-party model without the contract: ImageNet preprocessing, optional centring from a .npy
    import onnx as onnx_lib

    model = onnx_lib.load(str(out))
    del model.metadata_props[:]
    onnx_lib.save(model, str(out))
    mean = np.ones(5 * 512, np.float32) / np.sqrt(5 * 512)
    np.save(tmp_path / "mean.npy", mean)
    plain = build_embedder("onnx", weights=out, feature_mean=tmp_path / "mean.npy")
    assert plain.preprocess == "imagenet" and np.allclose(np.linalg.norm(plain(image, dets), axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="feature_mean: 3 values"):
        build_embedder("onnx", weights=out, feature_mean=np.zeros(3))
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="bad.onnx: not a loadable ONNX model") as info:
        build_embedder("onnx", weights=tmp_path / "bad.onnx")
    assert "PyTorch" not in str(info.value)
    # a checkpoint given to --reid onnx (helper-81: said only "InvalidProtobuf")
    with pytest.raises(ValueError, match="a PyTorch file. a checkpoint runs with the laga, can or global embedder"):
        build_embedder("onnx", weights=checkpoint)
    with pytest.raises(ValueError, match=r"needs a model file \(weights=MODEL.onnx"):
        build_embedder("onnx")


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_export_carries_the_checkpoints_tracker_and_linker_settings(tmp_path, checkpoint, capsys):
    """helper-60: `--reid onnx` with an export of laga_market1501 stitched with the generic gate 0.5 instead of the
    checkpoint's 0.2 (and `track` has no --link-thresh): an export now carries what the checkpoint recommends."""
    import reid_models

    from mctrack.embed import build_embedder, embedder_link_thresh, embedder_track_appearance

    model, manifest = reid_models.load_checkpoint(checkpoint, map_location="cpu")
    ckpt = tmp_path / "tuned.pt"
    extra = {**manifest["extra"], "link_thresh": 0.2, "track_appearance": [0.3, 0.7]}
    reid_models.save_checkpoint(ckpt, model, extra=extra)
    out = tmp_path / "tuned.onnx"
    assert main(["reid", "export", "--weights", str(ckpt), "--out", str(out), "--min-cosine", "0.99"]) == 0
    printed = capsys.readouterr().out
    assert "use: --reid onnx" in printed and "--input-range 0-1" in printed and "BoxmotReID" in printed
    assert json.loads(contract_path(out).read_text())["recommended"] == {
        "link_thresh": 0.2,
        "track_appearance": [0.3, 0.7],
    }
    for beside in (True, False):  # from the .json beside it, else from the copy inside the file
        if not beside:
            contract_path(out).unlink()
        onnx = build_embedder("onnx", weights=out)
        assert embedder_link_thresh(onnx, "onnx") == 0.2
        assert tuple(embedder_track_appearance(onnx, "onnx")) == (0.3, 0.7)


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_onnx_model_that_gives_no_features_is_refused_when_loaded(tmp_path):
    """helper-60: a detector's ONNX export given as --reid onnx failed on the first frame with "could not broadcast
    input array from shape (1,28224) into shape (1,84)", after writing an empty result."""
    from mctrack.embed import build_embedder

    detector_like = torch.nn.Conv2d(3, 84, 8, stride=8).eval()  # (B, 84, h/8, w/8): a map, not (B, D) features
    path = export_onnx(detector_like, tmp_path / "det.onnx")
    with pytest.raises(
        ValueError, match=r"det.onnx: not a Re-ID model: its output for one crop has shape \(1, 84, 16, 8\)"
    ):
        build_embedder("onnx", weights=path)
    # a Re-ID network that ends in its pooling gives (B, D, 1, 1): features all the same (helper-61)
    pooled = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.AdaptiveAvgPool2d(1)).eval()
    assert build_embedder("onnx", weights=export_onnx(pooled, tmp_path / "pooled.onnx")).dim == 16


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_exports_recommended_settings_that_are_not_usable_are_named(tmp_path, onnx_exports, caplog):
    """helper-61: a malformed 'recommended' in an export's contract was blamed on a checkpoint's 'extra', or ignored."""
    from mctrack.embed import build_embedder, embedder_link_thresh

    out = tmp_path / "m.onnx"
    _onnx_copy(onnx_exports, out)
    contract = json.loads(contract_path(out).read_text())
    contract_path(out).write_text(json.dumps({**contract, "recommended": {"link_thresh": "abc"}}))
    with pytest.raises(
        ValueError, match=r"m.onnx: the link_thresh it recommends .* an export's recommended.link_thresh"
    ):
        embedder_link_thresh(build_embedder("onnx", weights=out), "onnx")
    contract_path(out).write_text(json.dumps({**contract, "recommended": [0.2]}))
    with pytest.raises(ValueError, match=r"m.onnx.json: 'recommended' must be a mapping"):
        build_embedder("onnx", weights=out)
    # an export made before exports carried them: said, the generic settings used
    del contract["recommended"]
    contract_path(out).write_text(json.dumps(contract))
    caplog.clear()
    with caplog.at_level("WARNING", logger="mctrack"):
        old = build_embedder("onnx", weights=out)
        assert not caplog.messages  # only where the settings are taken (not by reid embed or BoxMOT; helper-62)
        assert embedder_link_thresh(old, "onnx") == 0.5 and embedder_link_thresh(old, "onnx") == 0.5
    said = [m for m in caplog.messages if "m.onnx: exported before exports carried the checkpoint's tracker" in m]
    assert len(said) == 1
    for empty in (None, {}):  # no settings to carry: nothing to say
        contract_path(out).write_text(json.dumps({**contract, "recommended": empty}))
        assert build_embedder("onnx", weights=out).recommended == {}
    for wrong in ([], 0, False, ""):  # not a mapping, even an empty one (helper-62)
        contract_path(out).write_text(json.dumps({**contract, "recommended": wrong}))
        with pytest.raises(ValueError, match="'recommended' must be a mapping"):
            build_embedder("onnx", weights=out)


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_can_exports_to_onnx_with_stripes_that_do_not_divide_the_feature_map(tmp_path):
    import reid_models

    # CAN's stripe max pooling (3, 5, 7 stripes of a 4-row feature map here) had no ONNX function: the export
    # failed; it is now expressed as maxima over each stripe's rows, the same bins as adaptive pooling
    torch.manual_seed(0)
    model = reid_models.build_model("can", num_classes=0, backbone="resnet18", pretrained=None, input_size=(64, 32))
    path = tmp_path / "can.pt"
    reid_models.save_checkpoint(path, model)
    out = tmp_path / "can.onnx"
    export_embedder(path, out, fmt="onnx")
    cosine = verify_export(path, out, _smooth_crops(5))
    assert cosine.min() >= 0.9999


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
@pytest.mark.parametrize("beside", [True, False])
def test_load_exported_takes_0_255_pixels_whatever_range_the_export_was_made_for(tmp_path, onnx_exports, beside):
    crops = _smooth_crops(4, seed=3)
    batch = np.stack([cv2.resize(c, (32, 64))[:, :, ::-1].transpose(2, 0, 1) for c in crops]).astype(np.float32)
    _onnx_copy(onnx_exports, tmp_path / "a.onnx")
    _onnx_copy(onnx_exports, tmp_path / "b.onnx", "0-1")
    if not beside:  # the contract inside the ONNX file says the range too
        (tmp_path / "b.onnx.json").unlink()
    a, b = load_exported(tmp_path / "a.onnx")(batch), load_exported(tmp_path / "b.onnx")(batch)
    np.testing.assert_allclose(a, b, atol=1e-4)  # a 0-1 export given 0-255 pixels used to give other features


def test_export_failures_name_their_root_cause(tmp_path, checkpoint, monkeypatch):
    def failing_export(*args, **kwargs):
        try:
            raise KeyError("No ONNX function found for aten.some_op")
        except KeyError as inner:
            raise RuntimeError("Failed to convert. \x1b[96mThis is step 3/3\x1b[0m. Next steps:\n- ...") from inner

    monkeypatch.setattr(torch.onnx, "export", failing_export)
    monkeypatch.setitem(__import__("sys").modules, "onnxscript", __import__("types").ModuleType("onnxscript"))
    with pytest.raises(RuntimeError) as info:
        export_embedder(checkpoint, tmp_path / "x.onnx", fmt="onnx")
    message = str(info.value)
    assert "No ONNX function found for aten.some_op" in message and "--format torchscript" in message
    assert "\x1b" not in message and "\n" not in message


def test_export_takes_a_bundled_checkpoint_name(tmp_path):
    from mctrack.weights import bundled

    names = sorted(bundled())
    if not names:
        pytest.skip("no bundled checkpoint")
    name = "laga_market1501" if "laga_market1501" in names else names[0]
    contract = export_embedder(name, tmp_path / "m.pt", fmt="torchscript")
    assert contract["format"] == "torchscript" and (tmp_path / "m.pt").is_file()
    with pytest.raises(ValueError, match="no_such_checkpoint"):
        export_embedder("no_such_checkpoint", tmp_path / "n.pt", fmt="torchscript")


def test_export_refuses_to_replace_a_file_it_did_not_write(tmp_path, checkpoint, capsys, request):
    """helper-83: --format torchscript --out <another run>/model.pt replaced that run's trained checkpoint (.pt is
    both a checkpoint's and a TorchScript export's ending)."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    model = run / "model.pt"
    shutil.copy(checkpoint, model)
    before = model.read_bytes()
    argv = ["reid", "export", "--weights", str(checkpoint), "--format", "torchscript"]
    assert main([*argv, "--out", str(model)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"mctrack reid export: error: --out {model}: exists and is not an earlier export (no export contract, "
        "model.pt.json beside it or inside an ONNX file); remove it or choose another file"
    )
    assert model.read_bytes() == before and not contract_path(model).exists()
    from mctrack.embed.export import ExportError

    with pytest.raises(ExportError, match=r"model.pt: exists and is not an earlier export"):  # the API refuses too
        export_embedder(checkpoint, model, fmt="torchscript")
    assert model.read_bytes() == before
    export = tmp_path / "e.ts"  # an earlier export (its contract beside it) is replaced, as before
    assert main([*argv, "--out", str(export)]) == 0
    export.write_bytes(b"stale")
    assert main([*argv, "--out", str(export)]) == 0
    assert export.read_bytes().startswith(b"PK")  # a TorchScript archive again
    if HAS_ONNX:  # helper-84: an ONNX export carries its contract inside: a copy without the .json is one too
        from mctrack.embed.export import is_export, refuse_to_replace

        onnx_out = tmp_path / "e.onnx"
        _onnx_copy(request.getfixturevalue("onnx_exports"), onnx_out)
        contract_path(onnx_out).unlink()
        assert is_export(onnx_out) and not is_export(model)
        refuse_to_replace(onnx_out)  # replaced without a word


def test_an_export_is_scored_on_a_dataset_as_deployed(tmp_path, checkpoint, capsys):
    """helper-83: reid eval refused an export ('not a readable checkpoint'): no way to score what is deployed."""
    import json as json_

    from reid_models.data import load_dataset
    from reid_models.data.synthetic import write_synthetic_market
    from reid_models.evaluation import cosine_distance, evaluate_rank

    data = write_synthetic_market(tmp_path / "market", train_ids=2, test_ids=5, per_camera=2, seed=3)
    export = tmp_path / "e.ts"
    export_embedder(checkpoint, export, fmt="torchscript")
    assert (
        main(["reid", "eval", "--weights", str(export), "--data", str(data), "--json", str(tmp_path / "r.json")]) == 0
    )
    got = json_.loads((tmp_path / "r.json").read_text())
    # what deployment gives: the in-process embedder's centred features of the same crops (fp32), same protocol
    ds = load_dataset("market1501", data, train=False, verbose=False)
    embedder = ReidEmbedder("laga", weights=checkpoint, device="cpu", precision="fp32")
    q = embedder.embed_crops([cv2.imread(str(s.path)) for s in ds.query])
    g = embedder.embed_crops([cv2.imread(str(s.path)) for s in ds.gallery])
    ids = [np.array([getattr(s, k) for s in split]) for k in ("pid", "camid") for split in (ds.query, ds.gallery)]
    expected = evaluate_rank(cosine_distance(q, g), ids[0], ids[1], ids[2], ids[3]).summary()
    assert abs(got["mAP"] - expected["mAP"]) < 1e-4 and abs(got["rank1"] - expected["rank1"]) < 1e-9
    assert got["export"]["format"] == "torchscript" and got["weights"] == str(export.resolve())
    assert got["export"]["source_sha1"] == file_sha1(checkpoint)  # the checkpoint behind the deployed file
    assert "scored as exported: unit-length features, centred" in capsys.readouterr().err
    contract_path(export).unlink()  # a TorchScript file without its contract is taken for a checkpoint
    assert main(["reid", "eval", "--weights", str(export), "--data", str(data)]) == 1
    assert "a TorchScript export" in capsys.readouterr().err


def _embed_in_a_forked_worker(embedder, crops, conn) -> None:
    """A camera worker's part: its thread share set as mctrack.parallel's worker sets it, then crops embedded."""
    torch.set_num_threads(2)
    before = embedder.session
    feats = embedder.embed_crops(crops)
    options = embedder.session.get_session_options()
    conn.send((feats, embedder.session is not before, embedder._inherited == [before], options.intra_op_num_threads))
    conn.close()


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_onnx_embedder_makes_its_session_anew_in_a_forked_worker(tmp_path):
    """An onnxruntime session's thread pool does not survive a fork (`mctrack run --reid onnx --workers N`): a
    forked worker makes its own session, with the worker's thread share, and embeds as the parent does; the
    inherited session is kept, never torn down in the child, and the parent keeps its own."""
    import multiprocessing as mp

    from mctrack.embed import build_embedder

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1)).eval()
    embedder = build_embedder("onnx", weights=export_onnx(net, tmp_path / "net.onnx"))
    assert embedder.device.type == "cpu"  # camera workers are processes, not threads (a CUDA embedder's are)
    crops = _smooth_crops(5, seed=3)
    expected, session = embedder.embed_crops(crops), embedder.session
    ctx = mp.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_embed_in_a_forked_worker, args=(embedder, crops, child_end))
    worker.start()
    child_end.close()
    assert parent_end.poll(60), "the forked worker gave no answer"
    feats, made_anew, kept, threads = parent_end.recv()
    worker.join(10)
    assert worker.exitcode == 0
    assert made_anew and kept and threads == 2
    np.testing.assert_allclose(feats, expected, atol=1e-5)
    assert embedder.session is session and embedder._inherited == []  # the parent's session is untouched


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_onnx_embedder_pickles_with_its_model_for_workers_without_the_file(tmp_path):
    """`mctrack run --engine ray --reid onnx` ships the embedder to Ray's workers by pickling it: an onnxruntime
    session cannot be pickled (the run failed with Ray's "non-serializable" report), so the model's bytes go
    instead and the worker makes its own session, one that a machine without the file can run."""
    import pickle

    from mctrack.embed import build_embedder

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1)).eval()
    path = export_onnx(net, tmp_path / "net.onnx")
    embedder = build_embedder("onnx", weights=path)
    crops = _smooth_crops(4, seed=5)
    expected = embedder.embed_crops(crops)
    data = pickle.dumps(embedder)
    path.unlink()  # the worker's machine has no copy of the file
    copy = pickle.loads(data)
    np.testing.assert_allclose(copy.embed_crops(crops), expected, atol=1e-5)
    assert copy.dim == embedder.dim and copy.weights == embedder.weights
    assert copy.session.get_session_options().intra_op_num_threads == torch.get_num_threads()
    with pytest.raises(ValueError, match=r"net.onnx: not readable to send to the workers"):
        pickle.dumps(embedder)  # the parent's file is gone too: said, not a traceback


@pytest.mark.skipif(not HAS_ONNX, reason="onnx/onnxscript/onnxruntime not installed (pip install -e '.[export]')")
def test_an_onnx_embedder_averages_a_crop_and_its_mirror_image_with_flip(tmp_path):
    """helper-100: `--reid onnx --flip` gave the features without the mirror image (and summary.json said flip)."""
    from mctrack.embed import build_embedder

    torch.manual_seed(0)
    pool = (torch.nn.AdaptiveAvgPool2d((2, 2)), torch.nn.Flatten())  # left and right halves: a mirror swaps them
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), *pool).eval()
    path = export_onnx(net, tmp_path / "net.onnx")
    plain, flipped = build_embedder("onnx", weights=path), build_embedder("onnx", weights=path, flip=True)
    crops = _smooth_crops(4, seed=7)
    mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    a, b = plain.embed_crops(crops), plain.embed_crops(mirrored)
    expected = (a + b) / np.linalg.norm(a + b, axis=1, keepdims=True)
    got = flipped.embed_crops(crops)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - a).max() > 1e-3  # the mirror image changed them
    np.testing.assert_allclose(flipped.embed_crops(mirrored), got, atol=1e-5)  # a crop and its mirror: one feature


def test_an_export_that_fails_or_is_stopped_leaves_no_folder_it_made(tmp_path, checkpoint, monkeypatch, capsys):
    """helper-101: an interrupted `reid export --out new/dir/m.onnx` left new/dir/ behind, empty."""
    import mctrack.embed.export as export

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "new" / "dir" / "m.pt"
    argv = ["reid", "export", "--weights", str(checkpoint), "--format", "torchscript", "--out", str(out)]
    monkeypatch.setattr(export, "verify_export", stopped)
    assert main(argv) == 130  # as Ctrl-C ends a command
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # new/ and new/dir/ removed
    monkeypatch.setattr(export, "verify_export", lambda *args, **kwargs: np.array([0.5]))  # a failed check
    assert main(argv) == 1
    assert "cosine 0.50000 below --min-cosine" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "new").mkdir()  # a folder that was there stays
    assert main(argv) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["new"]


def test_reid_eval_of_an_export_says_how_the_run_that_trained_its_checkpoint_evaluated(tmp_path, checkpoint, capsys):
    """reid eval of an export recorded trained_with: null, so it could not say (as it does for the checkpoint) that
    the run's eval.json was made with --flip; the contract now carries it."""
    import json as json_

    from reid_models.data.synthetic import write_synthetic_market

    data = write_synthetic_market(tmp_path / "market", train_ids=2, test_ids=3, per_camera=2, seed=3)
    export = tmp_path / "samples.ts"
    assert export_embedder("laga_samples", export, fmt="torchscript")["trained_with"] == {
        "flip_eval": True,
        "rerank": False,
    }
    report = tmp_path / "r.json"
    assert main(["reid", "eval", "--weights", str(export), "--data", str(data), "--json", str(report)]) == 0
    assert f"note: the run that trained {export} evaluated with --flip; add it" in capsys.readouterr().err
    assert json_.loads(report.read_text())["trained_with"] == {"flip_eval": True, "rerank": False}
    # a checkpoint no training run made (no recipe recorded): null (and reid eval has nothing to say)
    assert export_embedder(checkpoint, tmp_path / "plain.ts", fmt="torchscript")["trained_with"] is None
