"""Ultralytics YOLO person detector. ``ultralytics`` is imported only when a detector is built.

Weights are an explicit file or an ultralytics model name (e.g. ``yolo11n.pt``). A bare name means ultralytics'
weights folder (``yolo settings``), never the working folder (``./yolo11n.pt`` names a file there): a file dropped
into the folder a user runs in must not be picked up unasked. A name not in the weights folder is downloaded there
when online; offline (``YOLO_OFFLINE=1`` or no network) it is a one-line :class:`~mctrack.errors.InputError` at
once, never a hang.

PyTorch ``.pt`` weights are pickles that ultralytics unpickles without restrictions, so a crafted file would run its
own code: every ``.pt`` file is first checked by :mod:`mctrack.detect.safe_pickle` (a restricted load against an
allow-list of layer classes) and ultralytics then loads the very bytes that were checked, from a private copy.
``trusted=True`` (``--yolo-trusted``) skips the check for a file its user vouches for.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..types import Detections, Frame
from .safe_pickle import UnsafePickle, checked_weights_bytes

__all__ = ["DEFAULT_WEIGHTS", "YoloDetector", "resolve_weights", "weights_status"]

DEFAULT_WEIGHTS = "yolo11n.pt"  # what --detector yolo loads without --yolo-weights


def _drop_settings_banner(record: logging.LogRecord) -> bool:
    """False for ultralytics' banner on creating its settings file (three lines on stdout on a fresh
    ``YOLO_CONFIG_DIR``, printed into ``mctrack info --check``'s report and between a command's own lines)."""
    return not str(record.msg).startswith("Creating new Ultralytics Settings")


# on ultralytics' logger before ultralytics is imported (it says the banner while being imported); its own set-up
# replaces the logger's handlers, not its filters
if _drop_settings_banner not in logging.getLogger("ultralytics").filters:
    logging.getLogger("ultralytics").addFilter(_drop_settings_banner)

PERSON = 0  # COCO class id


def _offline() -> bool:
    if os.environ.get("YOLO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    from ultralytics.utils import is_online

    return not is_online()


def _weights_dir() -> Path | None:
    try:
        from ultralytics.utils import SETTINGS

        folder = Path(SETTINGS.get("weights_dir", ""))
        # a relative folder (ultralytics' default outside a git checkout is "weights") would be the working
        # folder's: a bare name must never resolve to a file there
        return folder if folder.is_absolute() else None
    except Exception:  # noqa: BLE001 - a broken settings file only means no folder to look in
        return None


def weights_status(name: str = DEFAULT_WEIGHTS) -> str:
    """Where the bare weights name ``name`` would come from, without downloading anything: the file in ultralytics'
    weights folder, or that it will be downloaded on first use, or that it cannot be (offline)."""
    folder = _weights_dir()
    if folder is not None and (folder / name).is_file():
        return f"{folder / name}"
    where = f"ultralytics' weights folder {folder or '(none: not set, or not an absolute path)'}"
    if _offline():
        return f"not in {where} and cannot be fetched here (offline): pass --yolo-weights PATH"
    return f"not in {where} yet: ultralytics fetches it on first use"


def resolve_weights(weights: str | Path) -> str:
    """A local weights file (or exported model folder) for ``weights``.

    A path (anything with a folder part, ``./name`` included) must exist. A bare name is looked for in ultralytics'
    weights folder only, and downloaded there when online.
    """
    w = str(weights)
    p = Path(w).expanduser()
    bare = p.parent == Path(".") and not w.startswith(("./", ".\\"))
    if not bare:
        if p.exists():
            return str(p.absolute())  # absolute: ultralytics must not read it as a bare name
        raise InputError(f"{w}: YOLO weights file not found")
    if p.suffix == ".yaml":  # a model definition (untrained), resolved by ultralytics from its own configs
        return w
    if p.suffix not in (".pt", ".onnx", ".engine", ".torchscript", ""):
        raise InputError(f"{w}: not a YOLO weights file name")
    folder = _weights_dir()
    here = "" if not Path(w).is_file() else f" (./{w} in this folder is not used unless named as ./{w})"
    if folder is not None and (folder / p.name).is_file():
        return str(folder / p.name)
    if _offline():
        raise InputError(
            f"{w}: YOLO weights not in ultralytics' weights folder "
            f"{folder if folder is not None else '(none set)'} and cannot be downloaded (offline); pass a weights "
            f"file path{here}"
        )
    from ultralytics.utils.downloads import attempt_download_asset

    target = (folder or Path(".")) / p.name
    got = Path(attempt_download_asset(target if folder is not None else p.name))
    if not got.is_file():
        raise InputError(f"{w}: YOLO weights could not be downloaded{here}")
    return str(got)


# formats ultralytics loads without unpickling (a file of another name is treated as a PyTorch pickle and checked)
NON_PICKLE_SUFFIXES = (".onnx", ".engine", ".yaml", ".yml", ".tflite", ".mnn", ".rknn", ".pb")


def _is_pickle_candidate(path: Path) -> bool:
    """Whether ultralytics could unpickle this file: anything but a known non-pickle format (ultralytics picks the
    format by looking for ``.pt`` anywhere in the name, so ``x.pt.``, ``x.pt.bin`` or a file without a suffix are
    checked too)."""
    name = path.name.lower()
    return path.is_file() and (".pt" in name or path.suffix.lower() not in NON_PICKLE_SUFFIXES)


def _load_model(weights: str, trusted: bool = False) -> Any:
    from ultralytics import YOLO

    try:
        if trusted or not _is_pickle_candidate(Path(weights)):
            return YOLO(weights)
        with open(weights, "rb") as fh:
            head = fh.read(4)
        if not (head.startswith(b"PK") or head.startswith(b"\x80")):  # torch.save's zip archive, or a bare pickle
            raise InputError(
                f"{weights}: not a PyTorch checkpoint (neither a zip archive nor a pickle); YOLO weights are "
                "ultralytics .pt files (or an exported .onnx)"
            )
        try:
            data = checked_weights_bytes(weights)
        except UnsafePickle as exc:
            raise InputError(
                f"{weights}: refusing to load YOLO weights: {exc}; export the model to ONNX, or pass "
                "--yolo-trusted if you trust the file"
            ) from None
        with tempfile.TemporaryDirectory(prefix="mctrack-yolo-") as tmp:  # private (0700): the checked bytes only
            stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(weights).name.split(".")[0]) or "weights"
            copy = Path(tmp) / f"{stem}.pt"  # a name ultralytics reads as a PyTorch checkpoint, nothing else
            copy.write_bytes(data)
            return YOLO(str(copy))
    except InputError:
        raise
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
        trusted: load a ``.pt`` file without the safety check (only for files whose origin you trust).
    """

    def __init__(
        self,
        weights: str | Path = DEFAULT_WEIGHTS,
        *,
        device: str | None = None,
        conf: float = 0.1,
        iou: float = 0.7,
        imgsz: int = 640,
        half: bool = False,
        max_det: int = 300,
        trusted: bool = False,
    ) -> None:
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
        self.model = _load_model(self.weights, trusted)

    def check_readable(self) -> None:
        """Read an exported model (``.onnx``, ``.engine``) now by predicting on one blank image: ultralytics reads it
        only at its first prediction, so a broken file was found at the first frame, after ``mctrack track`` had
        emptied the result it was to replace. The backend it made is dropped again: it cannot be pickled (Ray
        workers) and must not carry CUDA state into forked workers. A ``.pt`` file was read when it was loaded."""
        if Path(self.weights).is_file() and not _is_pickle_candidate(Path(self.weights)):
            self._predict([np.zeros((self.imgsz, self.imgsz, 3), np.uint8)])
            self.model.predictor = None

    def __call__(self, frame: Frame) -> Detections:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: list[Frame]) -> list[Detections]:
        """The detections of several frames (e.g. one per camera) with one forward per image size: the frames are
        grouped by shape, as ultralytics letterboxes a batch of one shape exactly as each of its images alone
        (the same boxes as frame by frame, up to float rounding), a batch of mixed shapes otherwise."""
        for f in frames:
            if f.image is None:
                raise ValueError("frame.image: the yolo detector needs images (the source has none)")
        groups: dict[tuple, list[int]] = {}
        for i, f in enumerate(frames):
            groups.setdefault(f.image.shape, []).append(i)
        out: list[Detections | None] = [None] * len(frames)
        for idx in groups.values():
            for i, result in zip(idx, self._predict([frames[i].image for i in idx])):
                out[i] = _person_detections(result)
        return out  # type: ignore[return-value]

    def _predict(self, images: list[np.ndarray]) -> list:
        kwargs: dict[str, Any] = dict(
            conf=self.conf, iou=self.iou, imgsz=self.imgsz, classes=[PERSON], max_det=self.max_det, verbose=False
        )
        if self.half:  # ultralytics >= 8.4 calls it quantize=16 and warns on every call given 'half'
            kwargs.update({"quantize": 16} if _has_quantize() else {"half": True})
        if self.device is not None:
            kwargs["device"] = self.device
        # ultralytics sets torch's thread count (cores - 1, at most 8) when its predictor starts: a camera worker's
        # share (mctrack.parallel) is put back after the prediction
        import torch  # imported with ultralytics already

        threads = torch.get_num_threads()
        try:
            results = self.model.predict(images if len(images) > 1 else images[0], **kwargs)
        except Exception as exc:  # noqa: BLE001 - a model that cannot predict is a bad weights file, in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            what = _not_a_yolo_export(Path(self.weights))
            if what:
                raise InputError(f"{self.weights}: {what}") from None
            raise InputError(f"{self.weights}: YOLO prediction failed: {first[:200]}") from None
        finally:
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
        if len(results) != len(images):
            raise InputError(f"{self.weights}: YOLO gave {len(results)} results for {len(images)} images")
        return results


def _not_a_yolo_export(path: Path) -> str | None:
    """Why an ONNX file that failed to predict is not a YOLO detector, where its metadata says so (None: it may
    be one): a Re-ID model exported by ``mctrack reid export`` (its contract beside it or inside), or a model
    without the metadata every ultralytics export carries (``names``, ``stride``). Read on failure only."""
    if path.suffix.lower() != ".onnx" or not path.is_file():
        return None
    from ..embed.export import CONTRACT_KEY, contract_path, onnx_metadata

    try:
        keys = onnx_metadata(path)
    except Exception:  # noqa: BLE001 - unreadable: the prediction's own error says more
        return None
    if contract_path(path).is_file() or CONTRACT_KEY in keys:
        return (
            "a Re-ID model exported by 'mctrack reid export', not a YOLO detector; give it to the embedder "
            "(--reid onnx --weights FILE) and a YOLO .pt/.onnx to --yolo-weights"
        )
    if not {"names", "stride"} <= set(keys):
        return "not an ultralytics YOLO export (its metadata lacks 'names' and 'stride'); --yolo-weights takes one"
    return None


def _person_detections(result: Any) -> Detections:
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
