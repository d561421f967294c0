"""Pretrained weights: a local torchvision state_dict, bad paths, the ImageNet cache and the offline fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18

from reid_models import build_model
from reid_models.models import build_resnet

SMALL = {"backbone": "resnet18", "input_size": (128, 64)}


@pytest.fixture
def torchvision_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return resnet18(weights=None).state_dict()


def _assert_trunk_equals(parts_state: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    for key, value in parts_state.items():
        torch.testing.assert_close(value, reference[key.removeprefix("trunk.")], rtol=0, atol=0)


def test_loads_torchvision_state_dict_from_path(tmp_path: Path, torchvision_state: dict) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision_state, path)
    for pretrained in (path, str(path)):
        model = build_model("laga", pretrained=pretrained, share_layer4=False, **SMALL)
        _assert_trunk_equals({f"trunk.{k}": v for k, v in model.trunk.state_dict().items()}, torchvision_state)
        for copy in model.layer4.values():
            for key, value in copy.state_dict().items():
                torch.testing.assert_close(value, torchvision_state[f"layer4.{key}"], rtol=0, atol=0)


def test_state_dict_without_fc_is_accepted(tmp_path: Path, torchvision_state: dict) -> None:
    path = tmp_path / "trunk.pth"
    torch.save({k: v for k, v in torchvision_state.items() if not k.startswith("fc.")}, path)
    parts = build_resnet("resnet18", pretrained=path)
    torch.testing.assert_close(parts.trunk.conv1.weight, torchvision_state["conv1.weight"], rtol=0, atol=0)


def test_missing_pretrained_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent-resnet18.pth"
    with pytest.raises(FileNotFoundError, match="absent-resnet18.pth"):
        build_model("global", pretrained=path, **SMALL)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda sd: {f"module.{k}": v for k, v in sd.items()}, "missing.*unexpected"),
        (lambda sd: {**sd, "conv1.weight": torch.zeros(8, 3, 7, 7)}, "size mismatch for conv1.weight"),
        (lambda sd: [1, 2], "does not hold a state_dict"),
        (None, r"not a readable state_dict \(not a PyTorch file\)"),  # it said "(KeyError)"
    ],
    ids=["prefixed-keys", "wrong-shape", "not-a-dict", "garbage"],
)
def test_wrong_pretrained_file_is_named(tmp_path: Path, torchvision_state: dict, content, message: str) -> None:
    path = tmp_path / "weird.pth"
    if content is None:
        path.write_bytes(b"not a torch file")
    else:
        torch.save(content(torchvision_state), path)
    with pytest.raises(ValueError, match=message) as info:
        build_resnet("resnet18", pretrained=path)
    assert "weird.pth" in str(info.value) and "\n" not in str(info.value)


def test_resnet50_file_does_not_fit_resnet18(tmp_path: Path) -> None:
    path = tmp_path / "r50.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "layer1.0.conv3.weight": torch.zeros(256, 64, 1, 1)}, path)
    with pytest.raises(ValueError, match="r50.pth.*missing"):
        build_resnet("resnet18", pretrained=path)


def test_weights_of_another_resnet_name_both_depths(tmp_path: Path, torchvision_state: dict) -> None:
    """helper-83: resnet18 weights for a resnet50 recipe gave torch's 'size mismatch for layer1.0.conv1.weight'."""
    path = tmp_path / "r18.pth"
    torch.save(torchvision_state, path)  # a torchvision resnet18's
    with pytest.raises(ValueError, match=r"r18.pth holds a resnet18 backbone, the recipe's is resnet34 \(set backbone"):
        build_resnet("resnet34", pretrained=path)
    build_resnet("resnet18", pretrained=path)  # its own depth loads
    deeper = {f"layer3.{i}.conv3.weight": torch.zeros(1) for i in range(23)}  # a resnet101's keys (helper-84)
    torch.save(deeper, tmp_path / "r101.pth")
    with pytest.raises(
        ValueError, match=r"holds a resnet101 backbone, the recipe's is resnet34 \(give resnet34 weights"
    ):
        build_resnet("resnet34", pretrained=tmp_path / "r101.pth")  # not 'set backbone: resnet101': none here


def test_imagenet_offline_warns_once_and_uses_random_weights() -> None:
    with pytest.warns(UserWarning, match=r"resnet18-f37072fd\.pth.*random weights") as record:
        model = build_model("global", pretrained="imagenet", **SMALL)
    assert len(record) == 1
    assert model(torch.rand(2, 3, 128, 64)).feature.shape == (2, 512)


def test_imagenet_download_attempt_says_only_the_outcome(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
    torchvision_state: dict,
    real_load_state_dict_from_url: object,
) -> None:
    """torch's loader says 'Downloading: ...' before it tries, also offline, just ahead of our warning (helper-81);
    the file is fetched by us instead, torch's loader reads it from the cache (no redirected stderr: helper-84)."""
    import logging
    import urllib.error

    def offline(url, dst, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", real_load_state_dict_from_url)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.warns(UserWarning, match="random weights"):
        build_resnet("resnet18", pretrained="imagenet")
    assert "Downloading" not in capsys.readouterr().err

    def online(url, dst, **kwargs):
        torch.save(torchvision_state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", online)
    with caplog.at_level(logging.INFO, logger="reid_models"):
        parts = build_resnet("resnet18", pretrained="imagenet")
    assert "Downloading" not in capsys.readouterr().err
    assert "ImageNet weights for resnet18 downloaded to" in caplog.text and "resnet18-f37072fd.pth" in caplog.text
    torch.testing.assert_close(parts.layer4[1].conv2.weight, torchvision_state["layer4.1.conv2.weight"], rtol=0, atol=0)


def test_imagenet_from_torch_hub_cache(
    monkeypatch: pytest.MonkeyPatch, torchvision_state: dict, real_load_state_dict_from_url: object
) -> None:
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"  # TORCH_HOME is a per-test temporary folder
    checkpoints.mkdir(parents=True)
    torch.save(torchvision_state, checkpoints / "resnet18-f37072fd.pth")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", real_load_state_dict_from_url)  # cache hit: no network
    parts = build_resnet("resnet18", pretrained="imagenet")
    torch.testing.assert_close(parts.layer4[1].conv2.weight, torchvision_state["layer4.1.conv2.weight"], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("arch", "kwargs"),
    [
        ("laga", {}),
        ("laga", {"share_layer4": False}),
        ("can", {}),
        ("global", {}),
        ("laga", {"share_layer4": False, "branches": ["local", "channel"]}),
    ],
)
def test_backbone_from_a_reid_checkpoint(tmp_path: Path, arch: str, kwargs: dict) -> None:
    """A network trained elsewhere (e.g. on synthetic people) initialises another network's backbone."""
    from reid_models import build_model, save_checkpoint

    torch.manual_seed(0)
    source = build_model(arch, num_classes=3, backbone="resnet18", pretrained=None, input_size=(128, 64), **kwargs)
    path = tmp_path / "pre.pt"
    save_checkpoint(path, source, half=True)
    target = build_model("global", num_classes=5, backbone="resnet18", pretrained=path, input_size=(128, 64))
    got = target.state_dict()
    for key, value in source.state_dict().items():
        if key.startswith("trunk.") and value.is_floating_point():
            torch.testing.assert_close(got[key], value.half().float())
    unshared = "layer4.global." if "branches" not in kwargs else "layer4.channel."  # no global: the first copy
    layer4 = {
        "laga": "layer4." if kwargs.get("share_layer4", True) else unshared,
        "can": "layer4.0.",
        "global": "layer4.",
    }[arch]
    name = layer4 + "0.conv1.weight"
    torch.testing.assert_close(got["layer4.0.conv1.weight"], source.state_dict()[name].half().float())


def test_reid_checkpoint_of_another_resnet_does_not_fit(tmp_path: Path) -> None:
    from reid_models import build_model, save_checkpoint

    save_checkpoint(tmp_path / "r18.pt", build_model("global", backbone="resnet18", pretrained=None))
    with pytest.raises(ValueError, match="r18.pt"):
        build_model("global", backbone="resnet34", pretrained=tmp_path / "r18.pt")
