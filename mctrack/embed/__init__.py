"""Appearance embedders: ``(image, Detections) -> (N, D)`` unit-length float32 features.

Registered names (``mctrack.registry.EMBEDDERS``):

- ``laga``: LAGA-Net (Baisa); 12288-D with ResNet-50 at the paper's sizes, 3072-D as bundled (``laga_market1501``,
  ResNet-18).
- ``can``: Collaborative Attention Network (Li et al.), 4096-D (``can_market1501``, ResNet-18).
- ``global``: ResNet global-feature baseline with BNNeck (LAGA's "Global" row), 2048-D with ResNet-50, 512-D as
  bundled (``global_market1501``, ResNet-18).

The dimension of an embedder as built is ``embedder.dim``.
- ``colorhist``: HSV colour histograms of body stripes, the floor every learned embedder must beat.
- ``onnx``: any ONNX Re-ID model (``weights=model.onnx``), e.g. one written by ``mctrack reid export``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..registry import EMBEDDERS
from .base import Embedder, clip_boxes, extract_crops, l2_normalize
from .baselines import ColorHistogramEmbedder
from .batching import BatchingEmbedder

if TYPE_CHECKING:
    from .reid import ReidEmbedder, select_device

log = logging.getLogger(__name__)


_LAZY = ("ReidEmbedder", "select_device")


def __getattr__(name: str):
    """``ReidEmbedder`` and ``select_device`` are imported on first use: their module imports torch (seconds), which
    the command line's start, the trackers and the colour histogram do not need; so is a submodule used as an
    attribute (``mctrack.embed.reid``), as when the package imported it."""
    if name in _LAZY:
        from . import reid

        value = globals()[name] = getattr(reid, name)  # later lookups (and patches of it) do not come here
        return value
    if name.isidentifier() and not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "NETWORK_FACTS",
    "NETWORK_OPTIONS",
    "BatchingEmbedder",
    "Embedder",
    "ReidEmbedder",
    "ColorHistogramEmbedder",
    "clip_boxes",
    "extract_crops",
    "l2_normalize",
    "select_device",
    "build_embedder",
    "embed_policy",
    "embedder_link_thresh",
    "embedder_track_appearance",
    "appearance_centre",
    "tracker_appearance",
    "valid_track_appearance",
    "link_thresh",
    "track_appearance",
]


#: facts of the trained networks (see mctrack.registry): the tracker's appearance weight / threshold and the linker's
#: threshold assume centred features (checkpoints with extra.feature_mean); chosen with benchmarks/link_sweep.py and
#: benchmarks/mot15.py --grid (docs/run.md, docs/reid_training.md). ``embed``: which detections ``mctrack track`` and
#: ``mctrack run`` embed by default: a network's crops are most of a run's cost, so only those the boxes cannot decide
#: plus a refresh per track ("needed"; measured in the README: the demo 1.6x faster, the bundled laga_market1501
#: within 0.7 IDF1 of every-detection on the real videos); cheap embedders embed all.
#: the keyword arguments of a network embedder (``ReidEmbedder``), named where a baseline is given one
NETWORK_OPTIONS = (
    "weights",
    "pretrained",
    "backbone",
    "device",
    "batch_size",
    "precision",
    "channels_last",
    "flip",
    "input_size",
    "crop_on_device",
    "compile",
)
NETWORK_FACTS = {"takes_weights": True, "track_appearance": (0.5, 0.8), "link_thresh": 0.5, "embed": "needed"}


def _reid_builder(arch: str, help: str):
    def build(**kwargs) -> ReidEmbedder:
        weights = kwargs.get("weights")
        if weights is not None and not Path(weights).is_file():  # a bundled name (laga_market1501) as on the CLI
            from ..weights import resolve_weights

            kwargs["weights"] = resolve_weights(weights)
        # through the package, as a user who patches mctrack.embed.ReidEmbedder expects
        return sys.modules[__name__].ReidEmbedder(arch, **kwargs)

    build.__name__ = f"build_{arch}"
    EMBEDDERS.register(arch, help, **NETWORK_FACTS)(build)


_reid_builder("laga", "LAGA-Net: spatial (SAM-RPE), channel, global and 3-stripe local branches")
_reid_builder("can", "CAN: global/part-3/part-5/part-7 branches with collaborative attention")
_reid_builder("global", "ResNet global-feature baseline with BNNeck (LAGA's 'Global' row)")
EMBEDDERS.register(
    "colorhist",
    "HSV colour histograms of 3 body stripes (baseline floor)",
    takes_weights=False,
    # the tracker compares histograms centred on the mean of the people seen beside each track (they share the
    # scene's background and light: as given, two people of TUD-Stadtmitte were 0.05 apart), at the networks' weight
    # and threshold: docs/tracking.md, "Features centred on the scene"
    track_appearance=(0.5, 0.8),
    track_centre="scene",
    link_thresh=0.1,
    embed="all",
)(ColorHistogramEmbedder)


@EMBEDDERS.register("onnx", "any ONNX Re-ID model (--weights model.onnx), run with onnxruntime", **NETWORK_FACTS)
def build_onnx(**kwargs) -> Embedder:
    from .onnx import OnnxEmbedder  # onnxruntime is optional: imported only when asked for

    return OnnxEmbedder(**kwargs)


def track_appearance(name: str) -> tuple[float, float]:
    """The per-camera tracker's (appearance weight, appearance threshold) for embedder ``name``, from its registered
    facts (the cosine distances of two crops of one person differ between embedders)."""
    return tuple(EMBEDDERS.facts(name).get("track_appearance", (0.5, 0.25))) if name in EMBEDDERS else (0.5, 0.25)


def appearance_centre(name: str) -> str:
    """What the per-camera tracker centres embedder ``name``'s features on before comparing them
    (``Tracker(appearance_centre=...)``): ``"scene"`` for features that share a large common component and carry
    no training mean of their own (the colour histogram), ``"none"`` for the rest (the networks' features come
    centred on their training crops' mean)."""
    return str(EMBEDDERS.facts(name).get("track_centre", "none")) if name in EMBEDDERS else "none"


def link_thresh(name: str) -> float:
    """The cross-camera linker's cosine threshold for embedder ``name``, from its registered facts."""
    return float(EMBEDDERS.facts(name).get("link_thresh", 0.5)) if name in EMBEDDERS else 0.5


def embed_policy(name: str) -> str:
    """Which detections are embedded by default for embedder ``name`` (``"all"`` or ``"needed"``, see
    ``mctrack.track.driver.DetectAndEmbed``), from its registered facts; ``"all"`` when it registered none."""
    policy = EMBEDDERS.facts(name).get("embed", "all") if name in EMBEDDERS else "all"
    return policy if policy in ("all", "needed") else "all"


def embedder_track_appearance(embedder, name: str) -> tuple[float, float]:
    """The per-camera tracker's (appearance weight, appearance threshold) for ``embedder`` (built as ``name``): its
    checkpoint's own recommendation (``extra.track_appearance``) when it has a valid one, else the embedder's
    registered fact (:func:`track_appearance`)."""
    _say_if_recommended_missing(embedder)
    recommended = getattr(embedder, "recommended", {}).get("track_appearance")
    if recommended is None:
        return track_appearance(name)
    values = list(recommended) if isinstance(recommended, (list, tuple)) else []
    if not valid_track_appearance(values):
        raise ValueError(
            f"{getattr(embedder, 'weights', name)}: the track_appearance it recommends (a checkpoint's extra, an "
            f"export's recommended) must be [weight in 0-1, threshold in "
            f"(0, 2]], got {recommended!r}"
        )
    return float(values[0]), float(values[1])


def tracker_appearance(embedder, name: str) -> dict[str, float | str]:
    """The per-camera tracker's appearance keyword arguments for ``embedder`` (built as ``name``):
    ``appearance_weight`` and ``appearance_thresh`` (:func:`embedder_track_appearance`) and ``appearance_centre``
    (:func:`appearance_centre`), as ``mctrack track --reid NAME`` takes them."""
    weight, thresh = embedder_track_appearance(embedder, name)
    return {"appearance_weight": weight, "appearance_thresh": thresh, "appearance_centre": appearance_centre(name)}


def valid_track_appearance(values) -> bool:
    """Whether ``values`` is a usable (appearance weight in [0, 1], threshold in (0, 2]) pair of finite numbers."""
    return len(values) == 2 and all(_is_number(v) for v in values) and 0 <= values[0] <= 1 and 0 < values[1] <= 2


def _say_if_recommended_missing(embedder) -> None:
    """Once per embedder: an ONNX export made before exports carried its checkpoint's settings, whose generic
    settings are about to be used for tracking or linking."""
    if getattr(embedder, "recommended_missing", False):
        embedder.recommended_missing = False
        log.warning(
            "%s: exported before exports carried the checkpoint's tracker and linker settings; the generic ones "
            "are used (if the checkpoint recommends its own, as the bundled ones do, export it again with 'mctrack "
            "reid export' to carry them)",
            getattr(embedder, "weights", "the ONNX model"),
        )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def embedder_link_thresh(embedder, name: str) -> float:
    """The cosine distance up to which two tracklets of ``embedder`` (built as ``name``) are one person: its
    checkpoint's own recommendation (``extra.link_thresh``) when it has one, else the embedder's registered fact.
    Used by the cross-camera linker and by within-camera stitching."""
    _say_if_recommended_missing(embedder)
    recommended = getattr(embedder, "recommended", {}).get("link_thresh")
    if recommended is None:
        return link_thresh(name)
    if not _is_number(recommended) or not 0 < recommended <= 2:
        raise ValueError(
            f"{getattr(embedder, 'weights', name)}: the link_thresh it recommends (a checkpoint's extra.link_thresh, "
            f"an export's recommended.link_thresh) must be in (0, 2], got {recommended!r}"
        )
    return float(recommended)


def build_embedder(name: str, **kwargs) -> Embedder | None:
    """The embedder registered as ``name``; ``"none"`` gives ``None`` (motion-only tracking).

    A network (``laga``, ``can``, ``global``) takes ``weights`` as a checkpoint file or a bundled name
    (``laga_market1501``...); without ``weights``, ``backbone`` and ``pretrained`` it gets its bundled checkpoint
    (real-trained first), as ``--reid`` does on the command line. ``weights=None`` asks for an untrained network
    (backbone from ``pretrained``). Keyword arguments a hand-made baseline does not take (weights, device...) are
    an error for it.
    """
    if name == "none":
        return None
    from ..weights import DEFAULTS, default_weights, resolve_weights

    if name in DEFAULTS:
        weights = kwargs.get("weights")
        if not {"weights", "backbone", "pretrained"} & kwargs.keys():
            kwargs["weights"] = default_weights(name)
        elif isinstance(weights, (str, Path)):  # a file or a bundled name; neither: one error naming the names
            kwargs["weights"] = resolve_weights(weights)
    params = inspect.signature(EMBEDDERS.get(name)).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):  # helper-87: a bare TypeError from __init__
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            why = " (only the networks do)" if set(unknown) <= set(NETWORK_OPTIONS) else ""
            raise ValueError(f"{name}: takes no {', '.join(unknown)}{why}; its options: {', '.join(params) or 'none'}")
    return EMBEDDERS.build(name, **kwargs)
