"""Fixtures for the reid_models tests: no test may download weights or touch the user's torch cache."""

from __future__ import annotations

import pytest
import torch

REAL_LOAD_STATE_DICT_FROM_URL = torch.hub.load_state_dict_from_url


@pytest.fixture(autouse=True)
def _own_torch_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test its own torch cache (downloads are refused for every test: tests/conftest.py)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))


@pytest.fixture
def real_load_state_dict_from_url() -> object:
    """torch.hub's own loader, for a test that has put the file in its (temporary) cache."""
    return REAL_LOAD_STATE_DICT_FROM_URL


@pytest.fixture
def seeded() -> None:
    torch.manual_seed(0)
