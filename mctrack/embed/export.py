"""Export a Re-ID checkpoint as a self-contained embedder (ONNX or TorchScript) for other tools.

The exported graph does everything ``ReidEmbedder`` does to a batch of crops, so a peer (BoxMOT, Ultralytics,
supervision, a C++ service) only cuts person boxes out of a frame:

    input  "images":   (B, 3, h, w) float32 RGB, 0-255 (or 0-1 with ``input_range="0-1"``, what Ultralytics'
                       BoT-SORT ReID feeds an ONNX model); any batch, a fixed (h, w) chosen at export (default
                       the network input; e.g. 256x128 for tools that cut crops at that size)
    resize             bilinear to the network input (H, W), half-pixel centres (cv2.INTER_LINEAR's convention)
    normalise          ImageNet mean / std
    network            LAGA-Net / CAN / global baseline test feature
    L2 normalise, subtract the checkpoint's feature mean (when it has one), L2 normalise again
    output "features": (B, D) float32 unit rows: compare by dot product (cosine)

``export_embedder`` writes the file and ``<file>.json`` beside it (input/output contract, source checkpoint), and
``verify_export`` compares the exported model with the in-process ``ReidEmbedder`` on crops (cosine per crop).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import optional_import
from .reid import IMAGENET_MEAN, IMAGENET_STD, recommended_settings

__all__ = [
    "CONTRACT_KEY",
    "FORMATS",
    "ExportError",
    "SelfContainedEmbedder",
    "check_crops",
    "contract_path",
    "evaluate_export",
    "export_embedder",
    "is_export",
    "load_exported",
    "onnx_metadata",
    "read_contract",
    "refuse_to_replace",
    "verify_export",
]

FORMATS = ("onnx", "torchscript")


class ExportError(RuntimeError):
    """An export that could not be written or does not match the in-process embedder."""


class SelfContainedEmbedder(nn.Module):
    """Preprocessing + network + normalisation + centring in one module (see the module doc)."""

    def __init__(
        self, model: nn.Module, *, input_size: Sequence[int], feature_mean: np.ndarray | None, input_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.input_scale = float(input_scale)
        self.model = model.eval()
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)
        dim = int(model.feature_dim)
        centre = np.zeros(dim, np.float32) if feature_mean is None else np.asarray(feature_mean, np.float32)
        self.register_buffer("feature_mean", torch.from_numpy(centre.reshape(1, dim).copy()))
        self.centred = feature_mean is not None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images.float() * self.input_scale, size=self.input_size, mode="bilinear", align_corners=False)
        x = (x - self.mean) / self.std
        feature = F.normalize(self.model(x).feature.float(), dim=1)
        if self.centred:
            feature = F.normalize(feature - self.feature_mean, dim=1)
        return feature


INPUT_RANGES = {"0-255": 1.0, "0-1": 255.0}


def _self_contained(weights: Path, input_range: str = "0-255") -> tuple[SelfContainedEmbedder, dict]:
    """The checkpoint file ``weights`` (resolved) as one module taking crops in ``input_range``, and its manifest."""
    import reid_models

    if input_range not in INPUT_RANGES:
        raise ValueError(f"input_range: expected one of {', '.join(INPUT_RANGES)}, got {input_range!r}")
    model, manifest = reid_models.load_checkpoint(weights, map_location="cpu")
    model = model.float().eval()
    fm = (manifest.get("extra") or {}).get("feature_mean")
    return SelfContainedEmbedder(
        model, input_size=model.input_size, feature_mean=fm, input_scale=INPUT_RANGES[input_range]
    ), manifest


def export_embedder(
    weights: str | Path,
    out: str | Path,
    *,
    fmt: str = "onnx",
    input_hw: Sequence[int] | None = None,
    input_range: str = "0-255",
    opset: int = 18,
) -> dict:
    """Write ``weights`` (a reid_models checkpoint file or a bundled name) as a self-contained embedder in ``fmt``
    taking RGB crops of ``input_hw`` (default: the network input) with pixel values in ``input_range``; returns
    the contract also written to ``<out>.json``. An existing ``out`` is replaced only when it is an earlier export
    (:func:`is_export`): a training run's ``model.pt`` given as a TorchScript ``out`` is an :class:`ExportError`."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    refuse_to_replace(out)
    if fmt == "onnx":
        try:
            import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
        except ImportError:
            raise ExportError("ONNX export needs onnx and onnxscript: pip install -e '.[export]'") from None
    from reid_models.checkpoint import trained_with

    from ..cache import file_sha1
    from ..weights import resolve_weights

    source = resolve_weights(weights).resolve()  # the checkpoint exported, wherever the command ran
    wrapper, manifest = _self_contained(source, input_range)
    wrapper.requires_grad_(False)  # an inference module: a TorchScript export's outputs then need no torch.no_grad()
    h, w = wrapper.input_size
    in_h, in_w = (int(input_hw[0]), int(input_hw[1])) if input_hw is not None else (h, w)
    if min(in_h, in_w) < 8:
        raise ValueError(f"input_hw: expected (H, W) >= 8, got {(in_h, in_w)}")
    example = torch.randint(0, 256, (2, 3, in_h, in_w), dtype=torch.uint8).float()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer/exporter chatter; the result is verified instead
        if fmt == "onnx":
            try:
                torch.onnx.export(
                    wrapper,
                    (example,),
                    str(out),
                    input_names=["images"],
                    output_names=["features"],
                    dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
                    opset_version=opset,
                    dynamo=True,
                    external_data=False,
                    verbose=False,  # no progress lines on stdout: the result is verified instead
                )
            except TypeError as err:  # torch too old for the dynamo exporter's arguments
                raise ExportError(f"ONNX export needs torch >= 2.6 (this is {torch.__version__}): {err}") from None
            except Exception as err:  # the exporter's own errors: their first lines are a generic banner
                raise ExportError(
                    f"ONNX export of {manifest.get('arch') or 'the network'} failed: {_root_cause(err)}; "
                    "--format torchscript may still work"
                ) from err
        else:
            torch.jit.save(torch.jit.trace(wrapper, example, check_trace=False), str(out))
    contract = {
        "format": fmt,
        "source": str(source),
        "source_sha1": file_sha1(source),
        "arch": manifest.get("arch"),
        "network_input_hw": [h, w],
        "input": {
            "name": "images",
            "shape": ["batch", 3, in_h, in_w],
            "dtype": f"float32 ({input_range})",
            "range": input_range,
            "channels": "RGB",
        },
        "output": {
            "name": "features",
            "shape": ["batch", int(wrapper.model.feature_dim)],
            "meaning": "unit-length features, centred by the checkpoint's feature mean"
            if wrapper.centred
            else "unit-length features (the checkpoint has no feature mean: not centred)",
        },
    }
    # the checkpoint's tracker and linker settings for its features, which --reid onnx then takes (empty: it has none;
    # a contract without the key predates 2026-12-06)
    contract["recommended"] = recommended_settings(manifest.get("extra"))
    # how the run that trained the checkpoint evaluated, so that reid eval of the export can say what reproduces
    # its eval.json (null: not a training run's checkpoint; a contract without the key predates 2026-12-08)
    contract["trained_with"] = trained_with(manifest)
    contract_path(out).write_text(json.dumps(contract, indent=2) + "\n")
    if fmt == "onnx":  # the contract also travels inside the file, for copies that lose the .json beside them
        import onnx

        model = onnx.load(str(out))
        entry = model.metadata_props.add()
        entry.key, entry.value = CONTRACT_KEY, json.dumps(contract)
        onnx.save(model, str(out))
    return contract


def _root_cause(err: BaseException) -> str:
    """The innermost exception of ``err``'s chain as one plain line (no terminal colour codes), e.g. the ONNX
    exporter's "No ONNX function found for aten.adaptive_max_pool2d" under its generic "Failed to convert"."""
    seen = {id(err)}
    while (inner := err.__cause__ or err.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        err = inner
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _input_scale(contract: dict | None) -> float:
    """What 0-255 pixels are multiplied by for an export with ``contract``: 1/255 for a 0-1 input, else 1."""
    return 1.0 / INPUT_RANGES[(contract or {}).get("input", {}).get("range", "0-255")]


def load_exported(path: str | Path):
    """A callable ``(B, 3, h, w) float32 RGB 0-255 numpy -> (B, D) numpy`` for an exported file (its format from
    the contract ``<file>.json`` or, for ONNX, the copy inside the file, else from the suffix: ``.onnx`` or
    TorchScript). The pixels are scaled to the input range the contract names (an export made with
    ``input_range="0-1"`` gets them divided by 255), so every export takes the same 0-255 batches."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: exported model not found")
    beside = contract_path(path)
    contract = json.loads(beside.read_text()) if beside.is_file() else None
    fmt = contract.get("format") if contract else None
    if fmt == "onnx" or (fmt is None and path.suffix == ".onnx"):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ExportError("onnxruntime is needed to run an ONNX export: pip install onnxruntime") from None
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        if contract is None and (inside := session.get_modelmeta().custom_metadata_map.get(CONTRACT_KEY)):
            contract = json.loads(inside)
        scale = _input_scale(contract)
        return lambda batch: session.run(["features"], {"images": np.asarray(batch, np.float32) * scale})[0]
    with warnings.catch_warnings():  # recent torch marks TorchScript deprecated; the format is still what we write
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(path), map_location="cpu").eval()
    scale = _input_scale(contract)

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(np.asarray(batch, np.float32) * scale)).numpy()

    return run


def read_contract(path: str | Path) -> dict | None:
    """The export contract of an exported file: ``<file>.json`` beside it, else (ONNX) the copy in its metadata;
    None when it has neither (not an export of :func:`export_embedder`, or a copy that lost its ``.json`` from
    before contracts travelled inside ONNX files)."""
    path = Path(path)
    beside = contract_path(path)
    if beside.is_file():
        return json.loads(beside.read_text())
    if path.suffix.lower() != ".onnx":
        return None
    inside = onnx_metadata(path).get(CONTRACT_KEY)
    return json.loads(inside) if inside is not None else None


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """An ONNX file's custom metadata (an export's contract under :data:`CONTRACT_KEY`, an ultralytics export's
    ``names``, ``stride``, ...); onnxruntime's own error for a file that is no ONNX model."""
    ort = optional_import("onnxruntime", f"{path}: onnxruntime is needed to read an ONNX file: pip install onnxruntime")
    return dict(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map)


def is_export(path: str | Path) -> bool:
    """Whether ``path`` is an export of :func:`export_embedder`: it has a contract (:func:`read_contract`; a file
    that cannot be read as one is not)."""
    try:
        return read_contract(path) is not None
    except Exception:  # noqa: BLE001 - unreadable, not JSON, not a model: not an export
        return False


def refuse_to_replace(out: str | Path) -> None:
    """An :class:`ExportError` when ``out`` exists and is not an earlier export, which an export would replace
    (helper-83: a training run's model.pt given as a TorchScript --out)."""
    if Path(out).exists() and not is_export(out):
        raise ExportError(
            f"{out}: exists and is not an earlier export (no export contract, {contract_path(out).name} beside it "
            "or inside an ONNX file); remove it or choose another file"
        )


class _ExportAsNetwork(nn.Module):
    """An export run as reid_models' evaluation runs a network: it takes the evaluation's ImageNet-normalised
    batches, gives them to the export as the 0-255 RGB pixels it declares, and returns its features as
    ``.feature``."""

    def __init__(self, run) -> None:
        super().__init__()
        self._run = run
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def forward(self, images: torch.Tensor) -> SimpleNamespace:
        pixels = (images.float().cpu() * self.std + self.mean).numpy()
        return SimpleNamespace(feature=torch.from_numpy(np.asarray(self._run(pixels), np.float32)))


def evaluate_export(
    path: str | Path,
    data: str | Path,
    *,
    dataset_format: str = "market1501",
    flip: bool = True,
    rerank: bool = False,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: bool = False,
) -> dict:
    """An export of :func:`export_embedder` (ONNX or TorchScript, with its contract) scored on the query/gallery
    split of the dataset at ``data`` as ``reid_models.train.evaluate_checkpoint`` scores a checkpoint (the same
    protocol, crops resized to the export's declared input as the evaluation resizes them for a network): the
    features the export gives, centred as deployed. On the CPU; the result records the file and the data."""
    from reid_models.train import evaluate_dataset

    from ..cache import file_sha1

    path = Path(path)
    contract = read_contract(path)
    if contract is None:
        raise ExportError(
            f"{path}: no export contract ({contract_path(path).name} beside it, or inside an ONNX file): not an "
            "export of 'mctrack reid export', whose input it could be given"
        )
    summary, scored_on = evaluate_dataset(
        _ExportAsNetwork(load_exported(path)),
        data,
        dataset_format=dataset_format,
        input_size=[int(v) for v in contract["input"]["shape"][2:]],
        flip=flip,
        rerank=rerank,
        batch_size=batch_size,
        num_workers=num_workers,
        progress=progress,
    )
    return {
        **summary,
        "weights": str(path.resolve()),
        "weights_sha1": file_sha1(path),
        **scored_on,
        "arch": contract.get("arch"),
        "export": {
            "format": contract.get("format"),
            "source": contract.get("source"),
            "source_sha1": contract.get("source_sha1"),
            "features": (contract.get("output") or {}).get("meaning"),
        },
        "trained_with": contract.get("trained_with"),
    }


def verify_export(weights: str | Path, exported: str | Path, crops: Sequence[np.ndarray]) -> np.ndarray:
    """Per-crop cosine between the in-process ``ReidEmbedder`` (fp32, CPU) and the exported model on BGR
    ``crops``; the export gets each crop resized to its input size (from its ``.json``), as a peer passes it, and
    so does the reference when that size is not the network's."""
    from .base import resize_batch
    from .reid import ReidEmbedder

    from ..weights import resolve_weights

    weights = resolve_weights(weights)
    path = contract_path(exported)
    contract = json.loads(path.read_text()) if path.is_file() else {}
    reference = ReidEmbedder(weights=weights, arch=contract.get("arch") or _arch(weights), device="cpu")
    size = tuple(contract["input"]["shape"][2:] if contract else reference.input_size)
    resized = resize_batch(list(crops), size)
    # an export for another input size resizes inside to the network's: the reference gets the same resized crops
    expected = reference.embed_crops(list(resized) if size != tuple(reference.input_size) else list(crops))
    batch = resized[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    got = load_exported(exported)(batch)
    if got.shape != expected.shape:
        raise ExportError(f"{exported}: features of shape {got.shape}, expected {expected.shape}")
    return (got * expected).sum(axis=1) / np.maximum(np.linalg.norm(got, axis=1), 1e-12)


def check_crops(n: int = 16, seed: int = 0) -> list[np.ndarray]:
    """Person-like BGR crops (smooth coloured head/torso/legs regions) for checking an export where no real crops
    are at hand; random noise would exaggerate resize differences."""
    import cv2

    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n):
        h = int(rng.integers(70, 200))
        w = int(h * rng.uniform(0.35, 0.5))
        img = np.zeros((h, w, 3), np.uint8)
        img[:] = rng.integers(40, 200, 3)
        img[h // 5 : h // 2] = rng.integers(0, 255, 3)
        img[h // 2 :] = rng.integers(0, 255, 3)
        cv2.circle(img, (w // 2, h // 10), max(2, h // 14), rng.integers(100, 255, 3).tolist(), -1)
        crops.append(cv2.GaussianBlur(img, (5, 5), 0))
    return crops


#: key of the export contract (JSON) in an ONNX file's metadata
CONTRACT_KEY = "mctrack_contract"


def contract_path(exported: str | Path) -> Path:
    """``<exported file>.json``: the export's input/output contract."""
    return Path(str(exported) + ".json")


def _arch(weights: str | Path) -> str:
    import reid_models

    _, manifest = reid_models.load_checkpoint(weights, map_location="cpu")
    return str(manifest["arch"])
