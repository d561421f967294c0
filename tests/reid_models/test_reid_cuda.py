"""On a GPU machine: every model gives the same features on CUDA as on the CPU. Skipped without CUDA."""

from __future__ import annotations

import pytest
import torch

from reid_models import MODELS, build_model

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("arch", list(MODELS))
def test_cuda_matches_cpu(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(arch, num_classes=4, backbone="resnet50", pretrained=None).eval()
    x = torch.rand(2, 3, 384, 128)
    with torch.no_grad():
        expected = model(x).feature
        got = model.cuda()(x.cuda()).feature.cpu()
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)
