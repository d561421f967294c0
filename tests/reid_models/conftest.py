"""Fixtures for the reid_models tests: no test may download weights or touch the user's torch cache."""

from __future__ import annotations

import pytest
import torch

REAL_LOAD_STATE_DICT_FROM_URL = torch.hub.load_state_dict_from_url


def _refuse_download(url: str, *args: object, **kwargs: object) -> None:
    raise RuntimeError(f"tests never download ({url})")


@pytest.fixture(autouse=True)
def _offline_torch_hub(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", _refuse_download)


@pytest.fixture
def real_load_state_dict_from_url() -> object:
    """torch.hub's own loader, for a test that has put the file in its (temporary) cache."""
    return REAL_LOAD_STATE_DICT_FROM_URL


@pytest.fixture
def seeded() -> None:
    torch.manual_seed(0)
