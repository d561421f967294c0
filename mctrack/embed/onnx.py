"""Any ONNX Re-ID model as an embedder (``--reid onnx --weights model.onnx``), run with onnxruntime.

Two input conventions, picked per file:
- ``mctrack``: a file written by ``mctrack reid export`` (its contract in ``<file>.json`` beside it or, for files
  exported since 2026-12-04, in the file's metadata): RGB 0-255 in (or 0-1, as the contract says),
  resize/normalisation/centring inside, unit features out.
- ``imagenet``: every other model (torchreid/BoxMOT-style exports such as OSNet): RGB scaled to [0, 1] and
  normalised with the ImageNet mean/std, at the model's input size (from the graph, or ``input_size``).
Outputs are L2-normalised here either way. Third-party models carry no feature mean, so their features are not
centred: pass ``feature_mean`` (a ``.npy`` of the mean unit feature of training crops, e.g. computed with
``mctrack reid embed`` on them) to centre them as ours are, which the default tracker/linker thresholds assume.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import optional_import
from .base import CropBatchEmbedder, l2_normalize
from .export import CONTRACT_KEY, contract_path
from .reid import IMAGENET_MEAN, IMAGENET_STD, recommended_settings

__all__ = ["OnnxEmbedder"]

log = logging.getLogger(__name__)


class OnnxEmbedder(CropBatchEmbedder):
    """Re-ID features from an ONNX model (see the module doc).

    Args:
        weights: the ``.onnx`` file.
        input_size: (H, W) crops are resized to; required when the graph's input size is dynamic.
        preprocess: ``"auto"`` (``mctrack`` when the file has an export contract, beside it or in its metadata,
            else ``imagenet``),
            ``"mctrack"`` or ``"imagenet"``.
        feature_mean: optional ``.npy`` (or array) subtracted from unit features before re-normalising.
        batch_size: crops per run (dynamic-batch models; a fixed-batch model is run one crop at a time).
        device: ``cpu`` or ``cuda`` (onnxruntime's CUDA provider when installed).
        flip: average the unit features of each crop and its mirror image, as the model gives them (twice the
            compute; an ``mctrack`` export's features are centred inside it, so they are averaged after its
            centring, where the network's ``--flip`` averages before it: close, not equal).
    """

    def __init__(
        self,
        weights: str | Path | None = None,
        *,
        input_size: Sequence[int] | None = None,
        preprocess: str = "auto",
        feature_mean: str | Path | np.ndarray | None = None,
        batch_size: int = 32,
        device: str | None = None,
        flip: bool = False,
    ) -> None:
        if weights is None:
            raise ValueError("weights: the onnx embedder needs a model file (weights=MODEL.onnx, --weights on the CLI)")
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: ONNX model not found")
        if preprocess not in ("auto", "mctrack", "imagenet"):
            raise ValueError(f"preprocess: expected auto, mctrack or imagenet, got {preprocess!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        ort = optional_import(
            "onnxruntime",
            "the onnx embedder needs onnxruntime: pip install onnxruntime (or the export extra: "
            'pip install -e ".[export]")',
        )
        providers = ["CPUExecutionProvider"]
        if device and device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ValueError(
                    f"device: {device!r} but onnxruntime has no CUDA provider (pip install onnxruntime-gpu)"
                )
            providers.insert(0, "CUDAExecutionProvider")
        self._ort, self._providers = ort, providers
        self._model: bytes | None = None  # the model's bytes, in a copy unpickled elsewhere (a Ray worker)
        #: ``cuda`` when onnxruntime runs the model on the GPU (camera workers then run as threads: a CUDA context
        #: does not survive a fork), else ``cpu``; a torch device, as :class:`~mctrack.embed.reid.ReidEmbedder`'s
        self.device = _torch_device(providers[0])
        #: sessions this process inherited from the one that forked it, kept so that none is torn down here
        self._inherited: list = []
        try:
            self.session = ort.InferenceSession(str(path), providers=providers)
            self._pid = os.getpid()
        except Exception as err:  # onnxruntime raises its own exception types for corrupt files
            with open(path, "rb") as fh:  # a PyTorch file is a zip archive, or a pickle in the legacy format
                torch_file = fh.read(2) in (b"PK", b"\x80\x02")
            hint = (
                "; a PyTorch file? a checkpoint runs with the laga, can or global embedder (--reid laga/can/global)"
                if torch_file
                else ""
            )
            raise ValueError(f"{path}: not a loadable ONNX model ({type(err).__name__}){hint}") from None
        spec = self.session.get_inputs()[0]
        self.input_name = spec.name
        shape = list(spec.shape)
        if len(shape) != 4 or shape[1] != 3:
            raise ValueError(f"{path}: expected an input of shape (batch, 3, H, W), got {shape}")
        graph_hw = tuple(v if isinstance(v, int) else None for v in shape[2:])
        if input_size is not None:
            size = (int(input_size[0]), int(input_size[1]))
            if None not in graph_hw and graph_hw != size:
                raise ValueError(f"input_size: {size} but {path} takes {graph_hw}")
        elif None in graph_hw:
            raise ValueError(f"{path}: the input size is dynamic; give input_size (--input-size H W)")
        else:
            size = graph_hw
        self.input_size = size
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        contract = contract_path(path)
        # the contract: the .json beside the file, else the copy inside it (exports since 2026-12-04)
        where, text = contract, None
        if contract.is_file():
            try:
                text = contract.read_text()
            except OSError:
                raise ValueError(f"{contract}: not a readable export contract") from None
        else:
            where = f"{path} (metadata {CONTRACT_KEY})"
            text = self.session.get_modelmeta().custom_metadata_map.get(CONTRACT_KEY)
        self.preprocess = ("mctrack" if text is not None else "imagenet") if preprocess == "auto" else preprocess
        #: pixel scale for mctrack exports: 1 for a 0-255 input, 1/255 for one exported with --input-range 0-1
        self._scale = 1.0
        #: settings the exported checkpoint recommends for its features (``link_thresh``, ``track_appearance``; from
        #: the export's contract), as :class:`~mctrack.embed.reid.ReidEmbedder` takes them from a checkpoint
        self.recommended: dict = {}
        if self.preprocess == "mctrack" and text is not None:
            try:
                spec_json = json.loads(text)
                rng = spec_json["input"].get("range", "0-255")
                recommended = spec_json.get("recommended", {})
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ValueError(f"{where}: not a readable export contract") from None
            if recommended is None:
                recommended = {}
            if not isinstance(recommended, dict):
                raise ValueError(
                    f"{where}: 'recommended' must be a mapping (link_thresh, track_appearance), got "
                    f"{type(recommended).__name__}"
                )
            self._scale = 1.0 / 255.0 if rng == "0-1" else 1.0
            self.recommended = recommended_settings(recommended)
            #: an export made before exports carried them: said where the settings are taken (tracking, linking)
            self.recommended_missing = "recommended" not in spec_json
        self.batch_size = 1 if self.fixed_batch == 1 else int(batch_size)
        self.flip = bool(flip)
        self.weights = str(path)
        self.name = "onnx"
        self._mean = (np.asarray(IMAGENET_MEAN, np.float32) * 255.0).reshape(1, 3, 1, 1)
        self._std = (np.asarray(IMAGENET_STD, np.float32) * 255.0).reshape(1, 3, 1, 1)
        fm = np.load(feature_mean) if isinstance(feature_mean, (str, Path)) else feature_mean
        try:
            probe = self._run(np.zeros((1, size[0], size[1], 3), np.uint8))
        except Exception as err:  # noqa: BLE001 - onnxruntime's own exception types
            raise ValueError(f"{path}: the model does not run on a crop ({type(err).__name__}: {err})") from None
        # (1, D) features, or (1, D, 1, 1) from a network that ends in its pooling
        if probe.ndim < 2 or probe.shape[0] != 1 or probe.shape[1] < 1 or any(d != 1 for d in probe.shape[2:]):
            raise ValueError(
                f"{path}: not a Re-ID model: its output for one crop has shape {tuple(probe.shape)}, expected (1, D) "
                "features (a detector's export, for one, gives boxes)"
            )
        self.dim = int(probe.shape[1])
        if fm is not None:
            fm = np.asarray(fm, np.float32).reshape(-1)
            if fm.shape[0] != self.dim:
                raise ValueError(f"feature_mean: {fm.shape[0]} values for {self.dim}-D features of {path}")
        self.feature_mean = fm

    def _forward(self, batch_bgr: np.ndarray) -> np.ndarray:
        feats = self._run(batch_bgr)
        if self.flip:  # the mirror image's features added, both unit length (embed_crops normalises the sum)
            mirrored = self._run(np.ascontiguousarray(batch_bgr[:, :, ::-1]))
            feats = l2_normalize(feats.reshape(len(feats), -1)) + l2_normalize(mirrored.reshape(len(mirrored), -1))
        return feats

    def _run(self, batch_bgr: np.ndarray) -> np.ndarray:
        x = batch_bgr[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)  # NHWC BGR -> NCHW RGB
        if self.preprocess == "imagenet":
            x = (x - self._mean) / self._std
        elif self._scale != 1.0:
            x = x * self._scale
        feed = {self.input_name: np.ascontiguousarray(x)}
        return np.asarray(self._live_session().run(None, feed)[0], np.float32)

    def _live_session(self):
        """The session, made anew in a process forked after it was made (a camera worker of ``mctrack run``) or
        that unpickled this embedder (a Ray worker).

        An inherited session's thread pool stayed in the parent (onnxruntime's pools are not usable after a fork):
        it would run on one thread at best. The new one uses as many threads as torch does in this process (a
        camera worker's share of the cores, :func:`mctrack.parallel.worker_threads`; a Ray task's CPUs). The
        inherited one is kept, never destroyed here: its teardown would join threads of the parent."""
        if self._pid != os.getpid():
            import torch

            options = self._ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            model = self._model if self._model is not None else self.weights
            if self.session is not None:
                self._inherited.append(self.session)
            self._pid = os.getpid()
            try:
                self.session = self._ort.InferenceSession(model, options, providers=self._providers)
            except Exception as err:  # noqa: BLE001 - onnxruntime's own types; e.g. the file was removed meanwhile
                if self.session is None:
                    raise ValueError(f"{self.weights}: not loadable here ({type(err).__name__}: {err})") from None
                log.warning(
                    "%s: not reloaded in this process (%s): the session made before the fork runs on one thread",
                    self.weights,
                    type(err).__name__,
                )
        return self.session

    def __getstate__(self) -> dict:
        """Pickled (Ray ships the embedder to its workers) with the model's bytes, not its session, so that a
        machine without the file runs it too; the session is made where it is unpickled, on first use."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("session", "_ort", "_inherited", "_pid")}
        if state["_model"] is None:
            try:
                state["_model"] = Path(self.weights).read_bytes()
            except OSError as err:
                raise ValueError(f"{self.weights}: not readable to send to the workers ({err.strerror})") from None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._ort = optional_import("onnxruntime", "the onnx embedder needs onnxruntime: pip install onnxruntime")
        self.session, self._inherited, self._pid = None, [], None


def _torch_device(provider: str):
    """The torch device that stands for an onnxruntime execution provider."""
    import torch

    return torch.device("cuda" if provider == "CUDAExecutionProvider" else "cpu")
