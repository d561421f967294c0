"""Ultralytics YOLO person detector. ``ultralytics`` is imported only when a detector is built.

Weights are an explicit file or an ultralytics model name (e.g. ``yolo11n.pt``). A name that is not on disk is
downloaded by ultralytics when online; offline (``YOLO_OFFLINE=1`` or no network) it is a one-line
:class:`~mctrack.errors.InputError` at once, never a hang.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..types import Detections, Frame

__all__ = ["YoloDetector", "resolve_weights"]

PERSON = 0  # COCO class id


def _offline() -> bool:
    if os.environ.get("YOLO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    from ultralytics.utils import is_online

    return not is_online()


def resolve_weights(weights: str | Path) -> str:
    """A local weights file for ``weights``, or the bare model name when ultralytics may download it.

    A path (anything with a folder part) must exist. A bare name is looked for in the working folder and in
    ultralytics' weights folder; otherwise it is returned for download only when online.
    """
    w = str(weights)
    p = Path(w).expanduser()
    if p.is_file():
        return str(p)
    if p.parent != Path(".") or p.suffix not in (".pt", ".onnx", ".engine", ".torchscript", ".yaml", ""):
        raise InputError(f"{w}: YOLO weights file not found")
    try:
        from ultralytics.utils import SETTINGS

        cached = Path(SETTINGS.get("weights_dir", "")) / p.name
        if cached.is_file():
            return str(cached)
    except Exception:  # noqa: BLE001 - a broken settings file only means no cache to look in
        pass
    if _offline():
        raise InputError(f"{w}: YOLO weights not found locally and cannot be downloaded (offline); "
                         "pass a weights file path")
    return w


def _load_model(weights: str) -> Any:
    from ultralytics import YOLO

    try:
        return YOLO(weights)
    except Exception as exc:  # noqa: BLE001 - ultralytics raises many types for bad/missing files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{weights}: cannot load YOLO weights: {first}") from None


class YoloDetector:
    """Person detections from an ultralytics YOLO model.

    Args:
        weights: weights file path or ultralytics model name (downloaded only when online).
        device: ``cpu``, ``cuda``, ``cuda:N``; None lets ultralytics pick (CUDA when present).
        conf: minimum confidence of a returned box; keep it low (e.g. 0.1) so the tracker's second, low-score
            association has boxes to recover occluded people with.
        iou: NMS IoU threshold; lower merges more overlapping boxes (fewer duplicates, more missed people in
            crowds).
        imgsz: inference image size (pixels, multiple of 32); larger finds smaller people, slower.
        half: fp16 inference (CUDA only).
        max_det: at most this many boxes per frame.
    """

    def __init__(self, weights: str | Path = "yolo11n.pt", *, device: str | None = None, conf: float = 0.1,
                 iou: float = 0.7, imgsz: int = 640, half: bool = False, max_det: int = 300) -> None:
        for name, v in (("conf", conf), ("iou", iou)):
            if not (np.isfinite(v) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name}: must be in [0, 1], got {v}")
        if int(imgsz) != imgsz or imgsz < 32 or imgsz % 32:
            raise ValueError(f"imgsz: must be a positive multiple of 32, got {imgsz}")
        if max_det < 1:
            raise ValueError(f"max_det: must be >= 1, got {max_det}")
        if half and not (device or "").startswith("cuda"):
            raise ValueError("half: fp16 inference needs device='cuda' (or 'cuda:N')")
        self.name = "yolo"
        self.conf, self.iou, self.imgsz, self.half, self.max_det = conf, iou, int(imgsz), half, int(max_det)
        self.device = device
        self.weights = resolve_weights(weights)
        self.model = _load_model(self.weights)

    def __call__(self, frame: Frame) -> Detections:
        if frame.image is None:
            raise ValueError("frame.image: the yolo detector needs images (the source has none)")
        kwargs: dict[str, Any] = dict(conf=self.conf, iou=self.iou, imgsz=self.imgsz, classes=[PERSON],
                                      max_det=self.max_det, verbose=False)
        if self.half:  # ultralytics >= 8.4 calls it quantize=16 and warns on every call given 'half'
            kwargs.update({"quantize": 16} if _has_quantize() else {"half": True})
        if self.device is not None:
            kwargs["device"] = self.device
        result = self.model.predict(frame.image, **kwargs)[0]
        boxes = result.boxes
        xyxy = _numpy(boxes.xyxy).reshape(-1, 4)
        score = _numpy(boxes.conf).reshape(-1)
        cls = _numpy(boxes.cls).reshape(-1).astype(np.int64)
        keep = cls == PERSON  # the model may ignore `classes` (e.g. exported formats)
        return Detections(xyxy[keep], score[keep], np.zeros(int(keep.sum()), np.int64))


def _has_quantize() -> bool:
    """Whether this ultralytics takes ``quantize`` (8.4+) rather than the deprecated ``half``."""
    try:
        from ultralytics.cfg import DEFAULT_CFG_DICT
    except ImportError:
        return False
    return "quantize" in DEFAULT_CFG_DICT


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, np.float32)
