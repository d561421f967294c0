"""Our exported LAGA-Net inside Ultralytics' own ReID encoder (the one BoT-SORT calls with `with_reid: True`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mctrack.embed import ReidEmbedder
from mctrack.embed.export import check_crops, export_embedder
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime", "ultralytics")),
    reason="needs ultralytics and the 'export' extra (onnx, onnxscript, onnxruntime)",
)


def test_ultralytics_reid_encoder_runs_our_export(tmp_path):
    import reid_models
    from ultralytics.trackers.utils.reid import ReID

    torch.manual_seed(0)
    model = reid_models.build_model(
        "laga", num_classes=0, backbone="resnet18", pretrained=None, input_size=(64, 32), branches=("global", "local")
    )
    ckpt = tmp_path / "laga.pt"
    reid_models.save_checkpoint(ckpt, model, extra={"feature_mean": [0.01] * model.feature_dim})
    onnx_path = tmp_path / "laga_ul.onnx"
    export_embedder(ckpt, onnx_path, fmt="onnx", input_range="0-1")  # Ultralytics feeds RGB scaled to 0-1
    encoder = ReID(str(onnx_path), device="cpu")
    assert encoder.imgsz == (64, 32)  # read from the export's fixed input
    image = np.full((240, 320, 3), 70, np.uint8)
    for i, crop in enumerate(check_crops(3, seed=2)):
        h, w = min(crop.shape[0], 200), crop.shape[1]
        image[20 : 20 + h, 20 + 100 * i : 20 + 100 * i + w] = crop[:h]
    xywh = np.array([[60, 110, 50, 160], [160, 110, 60, 170], [250, 80, 40, 110]], np.float32)
    theirs = np.stack(encoder(image, xywh))
    crops = ReID._crop_detections(image, xywh)  # exactly the crops Ultralytics cut (box gain 1.02, pad 10)
    ours = ReidEmbedder("laga", weights=ckpt, device="cpu").embed_crops(crops)
    cosine = (theirs * ours).sum(1) / np.linalg.norm(theirs, axis=1)
    assert theirs.shape == ours.shape == (3, model.feature_dim) and cosine.min() >= 0.999


def test_botsort_config_asks_for_our_reid_model():
    import ultralytics

    config = yaml.safe_load((ROOT / "configs" / "trackers" / "botsort_laga.yaml").read_text())
    theirs = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg" / "trackers" / "botsort.yaml").read_text())
    assert set(config) == set(theirs)  # every key Ultralytics' BoT-SORT reads, and no misspelt extra one
    assert config["tracker_type"] == "botsort" and config["with_reid"] is True
    assert config["model"].endswith(".onnx") and 0 < config["appearance_thresh"] < 1
