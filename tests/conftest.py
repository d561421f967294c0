"""Test-wide settings: no network, no writes to the home folder, few threads, skip CUDA tests without a GPU."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """The script ``benchmarks/<name>.py`` imported as a module (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_onnx(module, path: Path, shape: tuple[int, ...] = (1, 3, 128, 64)) -> Path:
    """``module`` (a small torch network) exported to ONNX at ``path``, its input named ``images`` as ours and
    Ultralytics' are; needs onnx and onnxscript."""
    import torch

    with torch.no_grad():
        torch.onnx.export(
            module.eval(),
            (torch.zeros(*shape),),
            str(path),
            input_names=["images"],
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    return path


# Ultralytics reads these at import time: never reach the network, never write to ~/.config.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / ".yolo_config"))
os.environ.setdefault("TORCH_HOME", str(ROOT / ".yolo_config" / "torch"))  # no ImageNet weights are fetched

SHARED_DATA = ROOT.parent / "shared" / "data"


def _refuse_download(url: str, *args: object, **kwargs: object) -> None:
    raise RuntimeError(f"tests never download ({url})")


@pytest.fixture(autouse=True)
def _no_weight_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test downloads weights (the networks' default backbone start is ImageNet's): torch.hub's loader and
    downloader refuse, so a network asked for ImageNet weights starts from random ones, with the warning, also on
    a machine that is online (tests/reid_models/conftest.py gives the loader back to a test that filled the cache)."""
    import torch

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", _refuse_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", _refuse_download)


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; none is available")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that use it skip when it is absent (as on a user's machine)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
