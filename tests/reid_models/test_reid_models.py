"""Output contract of every Re-ID network: shapes in train and eval, ablations, empty batches, arguments."""

from __future__ import annotations

import json

import pytest
import torch

from reid_models import MODELS, ReidOutput, build_model
from reid_models.models import feature_map_size

SMALL = {"backbone": "resnet18", "pretrained": None, "input_size": (128, 64)}

# (arch, extra kwargs, heads, per-head embedding width, feature_dim) on resnet18 (512 channels after layer4).
CASES = [
    ("laga", {}, 6, 512, 6 * 512),
    ("laga", {"branches": ["global"]}, 1, 512, 512),
    ("laga", {"branches": ["global", "local"]}, 4, 512, 4 * 512),
    ("laga", {"branches": ["local", "global", "channel"]}, 5, 512, 5 * 512),
    ("laga", {"relative_positions": False}, 6, 512, 6 * 512),
    ("laga", {"share_layer4": False}, 6, 512, 6 * 512),
    ("laga", {"branches": ["spatial"], "share_layer4": False}, 1, 512, 512),
    ("can", {}, 16, 256, 16 * 256),
    ("can", {"parts": [2], "embedding_dim": 32}, 3, 32, 3 * 32),
    ("can", {"share_layer4": True}, 16, 256, 16 * 256),
    ("global", {}, 1, 512, 512),
]
IDS = [f"{arch}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for arch, kw, *_ in CASES]


@pytest.mark.parametrize(("arch", "kwargs", "heads", "width", "dim"), CASES, ids=IDS)
def test_train_output_shapes(seeded: None, arch: str, kwargs: dict, heads: int, width: int, dim: int) -> None:
    model = build_model(arch, num_classes=4, **SMALL, **kwargs).train()
    out = model(torch.rand(4, 3, 128, 64))
    assert isinstance(out, ReidOutput)
    assert model.feature_dim == dim
    assert out.feature.shape == (4, dim)
    assert len(out.embeddings) == len(out.logits) == len(model.head_names) == heads
    assert all(e.shape == (4, width) for e in out.embeddings)
    assert all(logit.shape == (4, 4) for logit in out.logits)


@pytest.mark.parametrize(("arch", "kwargs", "heads", "width", "dim"), CASES, ids=IDS)
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_eval_output_shapes(
    seeded: None, arch: str, kwargs: dict, heads: int, width: int, dim: int, batch: int
) -> None:
    model = build_model(arch, num_classes=4, **SMALL, **kwargs).eval()
    with torch.no_grad():
        out = model(torch.rand(batch, 3, 128, 64))
    assert out.feature.shape == (batch, dim)
    assert out.logits == ()
    assert len(out.embeddings) == heads and all(e.shape == (batch, width) for e in out.embeddings)
    assert torch.isfinite(out.feature).all()


@pytest.mark.parametrize("arch", list(MODELS))
def test_no_classes_gives_no_logits_in_train_mode(arch: str) -> None:
    model = build_model(arch, num_classes=0, **SMALL).train()
    out = model(torch.rand(2, 3, 128, 64))
    assert out.logits == () and out.feature.shape == (2, model.feature_dim)


def test_can_feature_is_concatenation_of_unit_embeddings(seeded: None) -> None:
    model = build_model("can", num_classes=4, **SMALL).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 128, 64))
    blocks = out.feature.view(2, 16, 256)
    torch.testing.assert_close(blocks.norm(dim=2), torch.ones(2, 16))
    torch.testing.assert_close(blocks[:, 5], torch.nn.functional.normalize(out.embeddings[5], dim=1))


def test_laga_feature_is_concatenation_of_embeddings(seeded: None) -> None:
    model = build_model("laga", num_classes=4, **SMALL).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 128, 64))
    torch.testing.assert_close(out.feature, torch.cat(out.embeddings, dim=1))
    assert model.head_names == ("global", "stripe0", "stripe1", "stripe2", "channel", "spatial")


@pytest.mark.parametrize(("arch", "dim", "heads"), [("laga", 12288, 6), ("can", 4096, 16), ("global", 2048, 1)])
def test_resnet50_paper_input_eval_dims(arch: str, dim: int, heads: int) -> None:
    model = build_model(arch, num_classes=751, backbone="resnet50", pretrained=None).eval()
    assert model.input_size == (384, 128)
    with torch.no_grad():
        out = model(torch.rand(1, 3, 384, 128))
    assert model.feature_dim == dim and out.feature.shape == (1, dim) and len(out.embeddings) == heads


def test_laga_square_hand_input(seeded: None) -> None:
    model = build_model("laga", num_classes=4, backbone="resnet18", pretrained=None, input_size=(324, 324)).eval()
    assert model.sam3.map_size == (21, 21)
    with torch.no_grad():
        assert model(torch.rand(1, 3, 324, 324)).feature.shape == (1, 6 * 512)


def test_laga_spatial_branch_rejects_other_input_size() -> None:
    model = build_model("laga", **SMALL).eval()
    with pytest.raises(ValueError, match=r"input_size \(128, 64\).*got input 96x64"):
        model(torch.rand(1, 3, 96, 64))
    without_spatial = build_model("laga", branches=["global", "channel"], **SMALL).eval()
    with torch.no_grad():
        assert without_spatial(torch.rand(1, 3, 96, 64)).feature.shape == (1, 1024)


@pytest.mark.parametrize(
    ("input_size", "map_size"),
    [((384, 128), (24, 8)), ((324, 324), (21, 21)), ((256, 128), (16, 8)), ((100, 50), (7, 4))],
)
def test_feature_map_size(input_size: tuple[int, int], map_size: tuple[int, int]) -> None:
    assert feature_map_size(input_size) == map_size


@pytest.mark.parametrize("input_size", [(100, 50), (97, 33)])
def test_feature_map_size_matches_resnet_and_last_stride_is_one(input_size: tuple[int, int]) -> None:
    model = build_model("global", backbone="resnet18", pretrained=None, input_size=input_size).eval()
    with torch.no_grad():
        x3 = model.trunk(torch.rand(1, 3, *input_size))
        x4 = model.layer4(x3)
    assert tuple(x3.shape[-2:]) == tuple(x4.shape[-2:]) == feature_map_size(input_size)
    assert (x3.shape[1], x4.shape[1]) == (256, 512)


@pytest.mark.parametrize("share", [True, False])
def test_laga_layer4_sharing(share: bool) -> None:
    model = build_model("laga", share_layer4=share, **SMALL)
    layer4_params = sum(p.numel() for name, p in model.named_parameters() if name.startswith("layer4."))
    single = sum(p.numel() for p in build_model("global", **SMALL).layer4.parameters())
    assert layer4_params == (single if share else 4 * single)


@pytest.mark.parametrize("share", [True, False])
def test_can_layer4_sharing(seeded: None, share: bool) -> None:
    model = build_model("can", share_layer4=share, **SMALL).eval()
    layer4_params = sum(p.numel() for name, p in model.named_parameters() if name.startswith("layer4."))
    single = sum(p.numel() for p in build_model("global", **SMALL).layer4.parameters())
    assert layer4_params == (single if share else 4 * single)
    if share:  # every branch pools the same layer4 maps: copying them into the unshared net gives its features
        unshared = build_model("can", share_layer4=False, **SMALL).eval()
        state = {k: v for k, v in model.state_dict().items() if not k.startswith("layer4.")}
        for i in range(4):
            state.update({f"layer4.{i}.{k}": v for k, v in model.layer4[0].state_dict().items()})
        unshared.load_state_dict(state)
        x = torch.rand(2, 3, 128, 64)
        with torch.no_grad():
            assert torch.allclose(model(x).feature, unshared(x).feature, atol=1e-5)


@pytest.mark.parametrize("arch", list(MODELS))
def test_config_rebuilds_the_same_architecture(arch: str) -> None:
    model = build_model(arch, num_classes=3, **SMALL)
    config = json.loads(json.dumps(model.config))
    assert config["arch"] == arch
    rebuilt = build_model(config["arch"], **config["kwargs"], pretrained=None)
    assert rebuilt.config == model.config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    ("arch", "kwargs", "message"),
    [
        ("laga", {"branches": ["global", "hands"]}, "branches"),
        ("laga", {"branches": []}, "branches"),
        ("laga", {"backbone": "vgg16"}, "backbone.*resnet18, resnet34, resnet50"),
        ("can", {"backbone": "resnet101"}, "backbone.*valid"),
        ("can", {"parts": [3, 1]}, "parts"),
        ("can", {"embedding_dim": 0}, "embedding_dim"),
        ("can", {"classifier": "arcface"}, "classifier"),
        ("can", {"cosine_scale": 0}, "cosine_scale"),
        ("laga", {"metric_features": "logits"}, "metric_features"),
        ("global", {"num_classes": -1}, "num_classes"),
        ("global", {"input_size": (384,)}, "input_size"),
        ("global", {"input_size": (16, 16)}, "input_size"),
    ],
)
def test_bad_arguments_name_the_parameter(arch: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_model(arch, **{**SMALL, **kwargs})


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="laga, can, global"):
        build_model("osnet")


@pytest.mark.parametrize("arch", list(MODELS))
def test_channels_last_and_bfloat16_autocast(seeded: None, arch: str) -> None:
    model = build_model(arch, **SMALL).eval()
    x = torch.rand(2, 3, 128, 64)
    with torch.no_grad():
        expected = model(x).feature
        model = model.to(memory_format=torch.channels_last)
        torch.testing.assert_close(model(x.contiguous(memory_format=torch.channels_last)).feature, expected)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x).feature.float()
    assert torch.nn.functional.cosine_similarity(low, expected).min() > 0.98


def test_global_baseline_bnneck_convention(seeded: None) -> None:
    model = build_model("global", num_classes=4, **SMALL).train()
    x = torch.rand(4, 3, 128, 64)
    out = model(x)
    assert not model.neck.bn.bias.requires_grad and model.neck.classifier.bias is None
    torch.testing.assert_close(out.logits[0], model.neck.classifier(out.feature))
    model.eval()
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(out.feature, model.neck.bn(out.embeddings[0]))
    assert not torch.allclose(out.feature, out.embeddings[0])


def test_laga_metric_loss_on_the_reduced_embeddings(seeded: None) -> None:
    """The paper's triplet acts on the 1024-D learned embeddings; the eval feature stays the pooled vectors."""
    model = build_model("laga", num_classes=5, metric_features="reduced", **SMALL).train()
    out = model(torch.rand(4, 3, 128, 64))
    assert len(out.embeddings) == 6 and all(e.shape == (4, 1024) for e in out.embeddings)
    assert out.feature.shape == (4, 6 * 512) and all(x.shape == (4, 5) for x in out.logits)
    from reid_models.losses import build_criterion

    total, _ = build_criterion(model)(out, torch.tensor([0, 0, 1, 1]))
    total.backward()
    assert model.heads[0].reduction[0].weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        evaluated = model(torch.rand(2, 3, 128, 64))
    assert all(e.shape == (2, 512) for e in evaluated.embeddings)
    pooled = build_model("laga", num_classes=5, **SMALL).train()
    assert all(e.shape == (4, 512) for e in pooled(torch.rand(4, 3, 128, 64)).embeddings)


def test_can_cosine_classifier(seeded: None) -> None:
    model = build_model("can", num_classes=7, classifier="cosine", cosine_scale=14.0, **SMALL).train()
    out = model(torch.rand(4, 3, 128, 64))
    assert len(out.logits) == 16
    for logits in out.logits:  # scale x cosine: bounded by the scale whatever the feature norm
        assert logits.shape == (4, 7) and logits.abs().max() <= 14.0 + 1e-4
    from reid_models.models.heads import CosineClassifier

    head = model.classifiers[0]
    assert isinstance(head, CosineClassifier)
    x = torch.randn(3, 256)
    torch.testing.assert_close(head(5 * x), head(x))  # invariant to the feature's norm
    assert model.config["kwargs"]["classifier"] == "cosine"
    rebuilt = build_model("can", **{**model.config["kwargs"], "pretrained": None})
    assert isinstance(rebuilt.classifiers[0], CosineClassifier)


def test_the_package_names_are_imported_on_first_use():
    """``import reid_models`` imported torch and torchvision (2.5 s), also for its torch-free modules (yaml_safe,
    provenance) that mctrack's command line needs to start; its public names are now imported when first used."""
    import subprocess
    import sys

    code = (
        "import importlib, sys\n"
        "import reid_models, reid_models.yaml_safe, reid_models.provenance, mctrack.embed\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "values = [getattr(reid_models, name) for name in reid_models.__all__]\n"
        "assert reid_models.build_model is importlib.import_module('reid_models.models').build_model\n"
        "assert set(reid_models.__all__) <= set(dir(reid_models))\n"
        "import mctrack.embed\n"
        "assert {'ReidEmbedder', 'select_device'} <= set(dir(mctrack.embed))\n"
        "# submodules as attributes, as when the packages imported them (helper-87)\n"
        "assert reid_models.checkpoint.load_checkpoint and reid_models.models.LagaNet\n"
        "assert mctrack.embed.reid.ReidEmbedder is mctrack.embed.ReidEmbedder\n"
        "assert not hasattr(reid_models, 'a.b') and not hasattr(mctrack.embed, 'a.b')  # helper-88: raised\n"
        "from unittest import mock\n"
        "with mock.patch('mctrack.embed.ReidEmbedder', lambda *a, **k: 'patched'):  # helper-88: ignored\n"
        "    assert mctrack.embed.build_embedder('laga', weights=None) == 'patched'\n"
        "try:\n"
        "    reid_models.no_such_name\n"
        "except AttributeError as exc:\n"
        "    print('OK', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "OK module 'reid_models' has no attribute 'no_such_name'" in done.stdout, (
        done.stderr
    )
