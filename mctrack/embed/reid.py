"""Embedders backed by the ``reid_models`` networks (LAGA-Net, CAN, the global baseline)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from ..types import Detections
from .base import (
    COMPILE_MODES,
    PRECISIONS,
    CropBatchEmbedder,
    check_image,
    clip_boxes,
    extract_crops,
    l2_normalize,
    require_detections,
)

__all__ = ["ReidEmbedder", "select_device", "PRECISIONS", "COMPILE_MODES", "auto_precision", "recommended_settings"]

log = logging.getLogger(__name__)
_WARNED: set[str] = set()  # the backbone warnings said again after being caught

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def recommended_settings(extra: dict | None) -> dict:
    """The tracker and linker settings a checkpoint recommends for its features (``link_thresh``,
    ``track_appearance``), picked from its manifest's ``extra`` (or an export contract's ``recommended``)."""
    return {k: v for k, v in (extra or {}).items() if k in ("link_thresh", "track_appearance")}


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX): bf16 autocast is then faster than fp32
    (1.7x for the bundled LAGA-Net on an AVX512-BF16 EPYC); without it, it is emulated and slower."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # noqa: BLE001 - a private probe that changed: fall back to fp32
            pass
    return False


def auto_precision(device: torch.device) -> str:
    """``precision="auto"``: bf16 on a CPU with native bf16 (features within cosine 0.9997 of fp32, Market-1501
    rank-1 and mAP unchanged: ``benchmarks/precision_check.py``), fp32 elsewhere (GPU precisions are chosen by
    the device check, ``benchmarks/device_check.py``, not yet measured)."""
    return "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"


def select_device(device: str | None) -> torch.device:
    """``None``/``"auto"`` picks CUDA when present, else CPU; an unavailable CUDA request is an error."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device: not a torch device: {device!r} (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but no CUDA GPU is available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= (count := torch.cuda.device_count()):
        # torch's own "invalid device ordinal" came only at the first forward pass, after the run had started
        raise ValueError(
            f"device: {device!r} requested but only {count} CUDA GPU{'s' if count != 1 else ''} "
            f"(cuda:0{f'-{count - 1}' if count > 1 else ''}) {'are' if count != 1 else 'is'} available"
        )
    if dev.type not in ("cpu", "cuda"):  # mps, xpu, ...: torch's own error comes at the first forward pass
        raise ValueError(f"device: {device!r} is not supported here (use cpu, cuda or cuda:N)")
    return dev


class ReidEmbedder(CropBatchEmbedder):
    """Re-ID features from a ``reid_models`` network.

    Crops are clipped to the image, resized to the network's input size (bilinear), converted BGR -> RGB,
    normalised with the ImageNet mean/std and embedded in batches under ``torch.inference_mode``.

    **Centring.** When the checkpoint's manifest holds ``extra.feature_mean`` (the mean unit feature of its
    training crops, see :func:`reid_models.train.feature_mean`), features are unit-normalised, that mean is
    subtracted and they are normalised again. Pooled post-ReLU features share a large common component, so raw
    cosine distances are all small (bundled LAGA-Net on unseen people: same person across cameras median 0.017,
    different people median 0.046); centred, they spread over [0, 2] (0.37 vs 1.05), so the tracker's and
    linker's cosine thresholds mean the same thing for every network.

    Args:
        arch: network name in ``reid_models.MODELS`` (``laga``, ``can``, ``global``).
        weights: a checkpoint written by ``reid_models.save_checkpoint``; its manifest decides the architecture
            and input size, and it must be a checkpoint of ``arch``. Without weights the network starts from
            ``pretrained`` backbone weights and untrained heads: features then reflect ImageNet appearance only.
        pretrained: backbone initialisation without ``weights``: ``"imagenet"`` (torchvision cache or download,
            random weights with a warning when neither works), a path to a torchvision state_dict, or ``None``.
        backbone: without ``weights``: ``resnet50`` (the papers', the default) or ``resnet18``/``resnet34`` for fast
            CPU experiments; with ``weights``, the checkpoint's (given, it must be that one).
        device: ``"cuda"``, ``"cpu"``, ``"cuda:1"``...; ``None`` picks CUDA when available.
        batch_size: crops per forward pass; larger batches are faster on a GPU and use more memory.
        precision: ``fp32``; ``fp16`` (CUDA only) or ``bf16`` run the network under autocast; ``auto``:
            :func:`auto_precision` (bf16 on a CPU with native bf16, else fp32). ``self.precision`` is the one used.
        channels_last: NHWC memory layout, faster for convolutions on recent GPUs and CPUs.
        flip: average the features of each crop and its mirror image (twice the compute, usually a little
            more robust).
        input_size: (H, W) network input without ``weights``; default (384, 128), the papers' body size.
        crop_on_device: cut and resize the crops of a frame on the embedder's device (each frame uploaded once,
            one ``grid_sample`` at the sample points of OpenCV's bilinear resize, edge pixels repeated as OpenCV
            does) instead of N OpenCV resizes and N uploads; ``None`` = on CUDA devices only. Only OpenCV's uint8
            rounding of the resized crop differs.
        compile: ``None`` (eager) or a ``torch.compile`` mode (:data:`COMPILE_MODES`): the network is compiled on
            its first batches (seconds to minutes), and every batch is then padded to a power of two (at most
            ``batch_size``) so that only a few shapes are ever compiled; ``reduce-overhead`` also replays CUDA
            graphs on a GPU. Padding rows are zeros and are dropped (the network treats crops independently).
            Whether it pays is a property of the device: ``benchmarks/device_check.py`` measures it.
        model_kwargs: architecture switches passed to the network (e.g. LAGA ablation branches).
    """

    def __init__(
        self,
        arch: str = "laga",
        *,
        weights: str | Path | None = None,
        pretrained: str | None = "imagenet",
        backbone: str | None = None,
        device: str | None = None,
        batch_size: int = 32,
        precision: str = "fp32",
        channels_last: bool = True,
        flip: bool = False,
        input_size: tuple[int, int] | None = None,
        crop_on_device: bool | None = None,
        compile: str | None = None,
        **model_kwargs,
    ) -> None:
        import reid_models

        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        if compile is not None and compile not in COMPILE_MODES:
            raise ValueError(f"compile: must be one of {', '.join(COMPILE_MODES)} or None, got {compile!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision: must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = select_device(device)
        if precision == "auto":
            precision = auto_precision(self.device)
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("precision: fp16 needs a CUDA device; use fp32 or bf16 on CPU")
        if weights is not None and model_kwargs:  # a typo (devcie=) or an architecture switch the checkpoint fixes
            raise ValueError(
                f"{', '.join(sorted(model_kwargs))}: not an option of an embedder loaded from a checkpoint (its "
                "network is fixed by the file); options: device, batch_size, precision, channels_last, flip, "
                "crop_on_device, compile"
            )
        if weights is not None:
            model, manifest = reid_models.load_checkpoint(weights, map_location="cpu")
            if manifest.get("arch") != arch:
                raise reid_models.CheckpointError(
                    f"{weights}: checkpoint holds a {manifest.get('arch')!r} network, not {arch!r} (the "
                    f"{manifest.get('arch')!r} embedder: --reid {manifest.get('arch')})"
                )
            held = ((manifest.get("config") or {}).get("kwargs") or {}).get("backbone")
            if backbone is not None and held is not None and backbone != held:  # helper-87: ignored before
                raise ValueError(
                    f"backbone: {backbone}, but {weights} holds a {held} network (a checkpoint's network is fixed by "
                    "the file; leave backbone out)"
                )
            if pretrained not in (None, "imagenet"):
                raise ValueError(
                    f"pretrained: {pretrained} is not used with weights ({weights}): the checkpoint's weights are "
                    "loaded; leave pretrained out"
                )
            self.weights = str(weights)
            self.backbone_init = None  # the checkpoint's weights, whatever its backbone started from
            #: settings the checkpoint recommends for its features (``extra.link_thresh``, ``extra.track_appearance``),
            #: which override the embedder's registered facts: a network's distances depend on what it was trained on
            self.recommended = recommended_settings(manifest.get("extra"))
            fm = (manifest.get("extra") or {}).get("feature_mean")
            if fm is not None:
                fm = np.asarray(fm, np.float32).reshape(-1)
                if fm.shape[0] != int(model.feature_dim):
                    raise reid_models.CheckpointError(
                        f"{weights}: extra.feature_mean has {fm.shape[0]} values, the network gives "
                        f"{int(model.feature_dim)}-D features"
                    )
                if not np.isfinite(fm).all():
                    raise reid_models.CheckpointError(
                        f"{weights}: extra.feature_mean has {int((~np.isfinite(fm)).sum())} non-finite values "
                        "(NaN/inf); store a new one with 'mctrack reid center'"
                    )
            else:
                log.warning(
                    "%s: no feature mean in the checkpoint, so features are not centred; the default tracker "
                    "and linker thresholds assume centred features (add it with 'mctrack reid center')",
                    weights,
                )
        else:
            fm = None
            self.recommended = {}
            backbone = backbone or "resnet50"
            kwargs = dict(model_kwargs, backbone=backbone, pretrained=pretrained)
            if input_size is not None:
                kwargs["input_size"] = tuple(input_size)
            from reid_models.models.backbones import PretrainedUnavailable

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", PretrainedUnavailable)
                model = reid_models.build_model(arch, num_classes=0, **kwargs)
            unavailable = [w.message for w in caught if isinstance(w.message, PretrainedUnavailable)]
            for w in caught:  # said as before, once per process and text (several embedders are built at times)
                if str(w.message) not in _WARNED:
                    _WARNED.add(str(w.message))
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            self.weights = None
            #: what an untrained network's backbone started from, as loaded (ImageNet asked for offline: random)
            self.backbone_init = (
                f"{backbone}: random ({unavailable[0].reason})"
                if unavailable
                else f"{backbone}: {pretrained or 'random'}"
            )
        if weights is not None and input_size is not None and tuple(input_size) != tuple(model.input_size):
            raise ValueError(
                f"input_size: {tuple(input_size)}, but {weights} was trained at {tuple(model.input_size)}; a network "
                "loaded from a checkpoint runs at its own input size ('mctrack reid export --input-size' resizes)"
            )
        model.eval()
        # inference only: BatchNorm folded into the convolutions, and under fp16/bf16 the convolutions keep their
        # weights in that dtype (autocast would otherwise cast every weight on every call)
        reid_models.fold_batchnorm(model)
        if precision in ("bf16", "fp16"):
            low = torch.bfloat16 if precision == "bf16" else torch.float16
            for mod in model.modules():
                if isinstance(mod, torch.nn.Conv2d):
                    mod.to(low)
        model.to(self.device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        #: the torch.compile mode (None: eager)
        self.compile = compile
        self._net = self._compiled()
        self.name = arch
        self.dim = int(model.feature_dim)
        self.input_size = tuple(int(v) for v in model.input_size)
        self.batch_size = int(batch_size)
        self.precision = precision
        self.channels_last = channels_last
        self.flip = flip
        self._crop_on_device = crop_on_device
        #: mean unit feature subtracted before the final normalisation (None: features are not centred)
        self.feature_mean = fm
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255.0

    def to(self, device: str | torch.device) -> ReidEmbedder:
        """Move the network to ``device`` (in place; returns self), e.g. on a worker whose devices differ."""
        device = torch.device(device)
        if self.precision == "fp16" and device.type != "cuda":
            raise ValueError("precision: fp16 needs a CUDA device; use fp32 or bf16 on CPU")
        self.model = self.model.to(device)
        self._net = self._compiled()
        self._mean, self._std = self._mean.to(device), self._std.to(device)
        self.device = device
        return self

    def _compiled(self) -> torch.nn.Module:
        """The network as called: ``torch.compile``d with :attr:`compile`'s mode, or the module itself."""
        return torch.compile(self.model, mode=self.compile, dynamic=False) if self.compile else self.model

    @property
    def crop_on_device(self) -> bool:
        """Whether frames' crops are cut and resized on the device (see the class docstring)."""
        return self.device.type == "cuda" if self._crop_on_device is None else bool(self._crop_on_device)

    def __call__(self, image: np.ndarray, dets: Detections) -> np.ndarray:
        require_detections(dets)
        if len(dets) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_boxes([(image, dets.xyxy)])

    def embed_boxes(self, items) -> np.ndarray:
        """Features of the boxes of several images in one pass, ``items`` = ``[(image, xyxy), ...]`` (e.g. one frame
        per camera; boxes clipped as :func:`~mctrack.embed.base.extract_crops` clips them): ``(sum of boxes, D)``
        rows in order. With :attr:`crop_on_device` every image is uploaded once and its crops are cut there,
        ``batch_size`` crops at a time (memory stays bounded by the batch, however many boxes)."""
        if not self.crop_on_device:
            return self.embed_crops([c for image, xyxy in items for c in extract_crops(image, xyxy)])
        boxes, owner = [], []
        for i, (image, xyxy) in enumerate(items):
            check_image(image)
            if len(xyxy):
                boxes.append(clip_boxes(xyxy, image.shape[1], image.shape[0]))
                owner += [i] * len(xyxy)
        n = len(owner)
        out = np.zeros((n, self.dim), np.float32)
        if n:
            boxes_all, owner = np.concatenate(boxes), np.asarray(owner)
            uploaded: dict[int, torch.Tensor] = {}
            for start in range(0, n, self.batch_size):
                sel = slice(start, min(start + self.batch_size, n))
                parts = []
                for i in np.unique(owner[sel]):  # consecutive: rows keep their order
                    if i not in uploaded:
                        uploaded[i] = _upload(items[i][0], self.device)
                    rows = boxes_all[sel][owner[sel] == i]
                    parts.append(_crop_resize(uploaded[i], rows, self.input_size))
                out[sel] = self._forward_tensor(torch.cat(parts) if len(parts) > 1 else parts[0])
        out = l2_normalize(out)
        if self.feature_mean is not None and len(out):
            out = l2_normalize(out - self.feature_mean)
        return out

    def _to_tensor(self, batch: np.ndarray) -> torch.Tensor:
        x = _host_tensor(batch, self.device).to(self.device, non_blocking=True)
        return x.permute(0, 3, 1, 2).float()  # NHWC BGR uint8 -> NCHW BGR float

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self._forward_tensor(self._to_tensor(batch))

    @torch.inference_mode()
    def _forward_tensor(self, x: torch.Tensor) -> np.ndarray:
        """``(B, 3, H, W)`` float BGR 0-255 on the device -> ``(B, D)`` raw features."""
        n = len(x)
        if self.compile and n:  # a few fixed shapes: powers of two up to batch_size, padded with zero crops
            size = min(1 << (n - 1).bit_length(), max(self.batch_size, n))
            if size > n:
                x = torch.cat([x, x.new_zeros((size - n, *x.shape[1:]))])
        x = (x.flip(1) - self._mean) / self._std  # BGR -> RGB, ImageNet normalisation
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
        with torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            feat = self._net(x).feature.float()
            if self.flip:
                feat = torch.nn.functional.normalize(feat, dim=1)
                feat = feat + torch.nn.functional.normalize(self._net(x.flip(3)).feature.float(), dim=1)
        return feat[:n].cpu().numpy()


def _upload(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(1, 3, H, W)`` uint8 BGR on ``device`` (the frame is only read: a read-only array is fine)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "not writable": never written to
        img = _host_tensor(np.ascontiguousarray(image), device)
    return img.to(device, non_blocking=True).permute(2, 0, 1).unsqueeze(0)


def _host_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as a CPU tensor to copy to ``device``: in pinned (page-locked) memory for a CUDA device, so the
    copy is a real asynchronous DMA (torch's caching host allocator reuses the pinned blocks, and keeps each one
    until the copies that read it are done)."""
    t = torch.from_numpy(array)
    return t.pin_memory() if device.type == "cuda" else t


def _crop_resize(img: torch.Tensor, boxes: np.ndarray, size_hw: tuple[int, int]) -> torch.Tensor:
    """``(N, 3, H, W)`` float: the integer boxes ``[x1, y1, x2, y2)`` of ``img`` (``(1, 3, h, w)`` uint8) resized
    bilinearly to ``size_hw`` exactly as OpenCV's INTER_LINEAR resizes the cut crop: output pixel ``j`` samples
    ``x1 + (j + 0.5) * (x2 - x1) / W - 0.5``, clamped to the crop (OpenCV repeats a crop's edge pixels), in one
    ``grid_sample`` call for all boxes (only the uint8 rounding of OpenCV's result differs)."""
    out_h, out_w = size_hw
    b = torch.as_tensor(boxes, dtype=torch.float32, device=img.device)
    x1, y1, x2, y2 = b[:, 0:1], b[:, 1:2], b[:, 2:3], b[:, 3:4]
    j = torch.arange(out_w, device=img.device, dtype=torch.float32)[None] + 0.5
    i = torch.arange(out_h, device=img.device, dtype=torch.float32)[None] + 0.5
    xs = torch.minimum(torch.maximum(x1 + j * (x2 - x1) / out_w - 0.5, x1), x2 - 1)  # (N, W)
    ys = torch.minimum(torch.maximum(y1 + i * (y2 - y1) / out_h - 0.5, y1), y2 - 1)  # (N, H)
    h, w = img.shape[2:]
    gx = (2 * xs + 1) / w - 1  # grid_sample's pixel-centre convention (align_corners=False)
    gy = (2 * ys + 1) / h - 1
    n = len(b)
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)  # (N, H, W, 2)
    crops = torch.nn.functional.grid_sample(
        img.float(), grid.reshape(1, n * out_h, out_w, 2), mode="bilinear", padding_mode="border", align_corners=False
    )  # (1, 3, N * H, W): every box's crop stacked in one sample call
    return crops.reshape(3, n, out_h, out_w).permute(1, 0, 2, 3)
