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


def tiny_laga_export(tmp_path, mean: float):
    """A small random LAGA-Net checkpoint and its ONNX export in the form Ultralytics feeds (RGB scaled to 0-1)."""
    import reid_models

    torch.manual_seed(0)
    model = reid_models.build_model(
        "laga", num_classes=0, backbone="resnet18", pretrained=None, input_size=(64, 32), branches=("global", "local")
    )
    ckpt = tmp_path / "laga.pt"
    reid_models.save_checkpoint(ckpt, model, extra={"feature_mean": [mean] * model.feature_dim})
    onnx_path = tmp_path / "laga_ul.onnx"
    export_embedder(ckpt, onnx_path, fmt="onnx", input_range="0-1")
    return ckpt, onnx_path, model


def test_ultralytics_reid_encoder_runs_our_export(tmp_path):
    from ultralytics.trackers.utils.reid import ReID

    ckpt, onnx_path, model = tiny_laga_export(tmp_path, mean=0.01)
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


def test_ultralytics_botsort_tracks_with_our_export(tmp_path):
    """Ultralytics' BoT-SORT, fed public detections and our exported LAGA-Net as its ReID model (what
    benchmarks/ultralytics_mot15.py compares with mctrack), keeps two walkers' identities."""
    import sys

    import cv2

    from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ultralytics_mot15 import botsort_settings, run_ultralytics_botsort

    _, onnx_path, _ = tiny_laga_export(tmp_path, mean=0.0)
    seq = tmp_path / "SYN-01"
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SYN-01", 10, 20, 320, 240))
    (seq / "img1").mkdir(parents=True)
    people = [check_crops(2, seed=3)[i] for i in range(2)]
    det = []
    for f in range(20):
        image = np.full((240, 320, 3), 90, np.uint8)
        for pid, x in ((1, 20 + 6 * f), (2, 250 - 6 * f)):
            crop = cv2.resize(people[pid - 1], (40, 100))
            image[60:160, x : x + 40] = crop
            det.append([f + 1, -1, x, 60, 40, 100, 0.95])
        cv2.imwrite(str(seq / "img1" / f"{f + 1:06d}.jpg"), image)
    save_mot_txt(seq / "det" / "det.txt", np.array(det, float))
    settings = botsort_settings(ROOT / "configs" / "trackers" / "botsort_laga.yaml", onnx_path, gmc_method="none")
    rows = run_ultralytics_botsort(seq, settings, interpolate=0, smooth=0)
    assert len(rows) >= 36  # both people, nearly every frame
    left = rows[rows[:, 0] <= 5]  # before they meet: person 1 on the left
    first = {int(r[1]): r[2] for r in left}
    assert len(first) == 2 and set(np.unique(rows[:, 1]).astype(int)) == set(first)  # two ids from start to end


def test_model_track_loads_our_export_as_its_reid_model(tmp_path, monkeypatch):
    """The user's path end to end: ``YOLO(...).track(source, tracker=botsort_laga.yaml)`` with ``model:`` naming our
    export. The detector is an untrained yolo11n (no weights are downloaded here), so its boxes mean nothing; what is
    checked is that Ultralytics' BoT-SORT embeds them with our network (the features it computes are our
    embedder's on the crops it cut), keeps them on its tracks and hands out track ids."""
    import cv2
    from ultralytics import YOLO
    from ultralytics.trackers.utils.reid import ReID

    monkeypatch.chdir(tmp_path)  # anything ultralytics writes stays in the test's folder
    ckpt, onnx_path, _ = tiny_laga_export(tmp_path, mean=0.0)
    config = yaml.safe_load((ROOT / "configs" / "trackers" / "botsort_laga.yaml").read_text())
    # every box is a candidate (the untrained detector's scores are tiny), no camera-motion step
    config.update(model=str(onnx_path), gmc_method="none", track_high_thresh=0.0, track_low_thresh=0.0)
    config.update(new_track_thresh=0.0, proximity_thresh=0.0)
    (tmp_path / "botsort_ours.yaml").write_text(yaml.safe_dump(config))
    image = np.full((320, 320, 3), 90, np.uint8)
    for i, crop in enumerate(check_crops(3, seed=4)):
        image[40:240, 20 + 100 * i : 20 + 100 * i + 60] = cv2.resize(crop, (60, 200))
    frames = tmp_path / "frames"
    frames.mkdir()
    for f in range(4):
        cv2.imwrite(str(frames / f"{f:06d}.png"), image)
    calls = []
    original = ReID.__call__

    def recording(self, img, dets):
        feats = original(self, img, dets)
        calls.append((img.copy(), np.array(dets, np.float32), np.stack(feats) if len(feats) else None))
        return feats

    monkeypatch.setattr(ReID, "__call__", recording)
    torch.manual_seed(0)
    results = YOLO("yolo11n.yaml").track(
        str(frames), tracker=str(tmp_path / "botsort_ours.yaml"), conf=0.0, max_det=20, device="cpu", verbose=False
    )
    assert len(results) == 4 and len(calls) >= 3  # the encoder ran on (nearly) every frame
    img, xywh, theirs = next(c for c in calls if c[2] is not None)
    ours = ReidEmbedder("laga", weights=ckpt, device="cpu").embed_crops(ReID._crop_detections(img, xywh))
    cosine = (theirs * ours).sum(1) / np.linalg.norm(theirs, axis=1)
    assert theirs.shape == ours.shape and cosine.min() >= 0.999  # Ultralytics' ReID features are our network's
    assert any(r.boxes.id is not None and len(r.boxes.id) for r in results[1:])  # tracks with ids from frame 2 on
