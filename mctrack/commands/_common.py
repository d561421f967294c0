"""Options shared by the subcommands that build an embedder."""

from __future__ import annotations

import argparse
import math
import logging
import sys
from pathlib import Path

from ..detect import build_detector
from ..detect.yolo import DEFAULT_WEIGHTS
from ..embed.base import COMPILE_MODES
from ..embed import (
    Embedder,
    appearance_centre,
    build_embedder,
    embed_policy,
    embedder_track_appearance,
    link_thresh,
    track_appearance,
)
from ..errors import InputError
from ..registry import EMBEDDERS
from ..track.driver import EMBED_POLICIES, EMBED_REFRESH_S, refresh_frames
from ..track.postprocess import RECORDED_MIN_HITS, RECORDED_MIN_TRACK_S, TRACK_SCORES
from ..track.tracker import APPEARANCE_CENTRES, Tracker
from ..weights import WeightsError, default_weights, describe, resolve_weights

log = logging.getLogger(__name__)

__all__ = [
    "add_embedder_args",
    "check_embedder_args",
    "embedder_from_args",
    "features_record",
    "weights_from_args",
    "add_yolo_args",
    "yolo_from_args",
    "TORCH_EMBEDDERS",
    "add_appearance_args",
    "appearance_from_args",
    "defaults_text",
    "link_thresh",
    "track_appearance",
    "check_stream_args",
    "add_cmc_arg",
    "add_kalman_adapt_args",
    "warn_if_stitching_on_motion_alone",
]

TORCH_EMBEDDERS = ("laga", "can", "global")
DEFAULT_BATCH_SIZE = 32  # crops per forward pass of a network embedder


def warn_if_stitching_on_motion_alone(args: argparse.Namespace) -> None:
    """``--stitch`` asked for without an embedder: said, as measured (TUD-Stadtmitte IDF1 82.1 -> 71.4 at 4 s)."""
    if args.stitch and args.reid == "none":
        log.warning("--stitch without an embedder joins tracklets on motion alone: wrong joins are likely in crowds")


def defaults_text(pick) -> str:
    return ", ".join(f"{n} {pick(n)}" for n in EMBEDDERS.names())


def add_embed_policy_args(p) -> None:
    """``--embed-every``, ``--embed`` and ``--embed-refresh``: which detections are embedded."""
    p.add_argument(
        "--embed-every",
        type=int,
        default=1,
        metavar="N",
        help="embed detections on every N-th frame only (N times less Re-ID compute on CPU; default 1)",
    )
    p.add_argument(
        "--embed",
        choices=EMBED_POLICIES,
        default=None,
        help="all: embed every detection; needed: only those whose association the boxes cannot decide (near "
        "several tracks or none, lost tracks' candidates, high scores only) plus each track's detection every "
        "--embed-refresh seconds: fewer crops, a clear box match is then not checked by appearance in between. "
        "Default: the embedder's own (needed for networks: the demo 1.6x faster with 57%% of the crops, the "
        "bundled laga_market1501 within 0.7 IDF1 of all on the real videos, other checkpoints -5.9 to +2.9; all for "
        "colorhist; see the README)",
    )
    p.add_argument(
        "--embed-refresh",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --embed needed, each track's detection is embedded at least this often "
        f"(default: {EMBED_REFRESH_S})",
    )


def resolve_embed_policy(args) -> str:
    """``args.embed`` with its default filled in from the embedder's registered facts (``none``: ``all``)."""
    typed = args.embed is not None
    if args.embed is None:
        args.embed = embed_policy(args.reid)
    if args.embed_refresh is None:
        args.embed_refresh = EMBED_REFRESH_S
    elif args.embed == "all" and args.reid != "none":  # none: check_stream_args said so
        policy = "--embed all" if typed else f"--embed all (the default of --reid {args.reid})"
        log.warning("--embed-refresh: no effect with %s, which embeds every detection of a frame it embeds", policy)
    return args.embed


def embed_refresh_frames(seconds: float, fps: float) -> int:
    """``--embed-refresh`` in frames (at least 1); a value out of range is an InputError."""
    try:
        return refresh_frames(seconds, fps)
    except ValueError:
        raise InputError(f"--embed-refresh: must be in (0, 3600] seconds, got {seconds}") from None


def add_kalman_adapt_args(g) -> None:
    """``--noise-adapt RATE`` and ``--meas-adapt RATE``: the tracker's process- and measurement-noise calibrations
    (``Tracker(noise_adapt=..., meas_adapt=...)``)."""
    defaults = Tracker.__init__.__kwdefaults__
    for flag, what in (
        ("--noise-adapt", "Kalman process noise calibrates itself to the scene's motion"),
        ("--meas-adapt", "Kalman measurement noise of box centres calibrates itself to jittery detections"),
    ):
        default = defaults[flag[2:].replace("-", "_")]
        g.add_argument(
            flag,
            type=float,
            default=None,
            metavar="RATE",
            help=f"rate at which the {what} (tracker default {default:g}; 0 = the fixed noise model)",
        )


def add_backfill_arg(g, what: str) -> None:
    """``--backfill/--no-backfill``: add the confirmed tracks' tentative first frames offline."""
    g.add_argument(
        "--backfill",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"{what}: once tracking ends, report each confirmed track from its first detection (the tracker "
        "reports a track only once it is confirmed, from its second match, so that a false positive seen once never "
        "becomes one; afterwards the first frame is known to be the person's) (default: on for recorded video; "
        "not for live streams)",
    )


def add_track_score_arg(g) -> None:
    """``--track-score first|mean``: how a track's detection scores are judged against the new-track threshold."""
    g.add_argument(
        "--track-score",
        choices=TRACK_SCORES,
        default=None,
        help="how a track is judged against --track-new: by its first detection only (first: a track starts there; "
        "what a live tracker must do) or, once tracking ended, also by the mean score of all its detections (mean: "
        "drops the false tracks one confident box started; default for recorded video)",
    )


def add_confirmation_args(g, what: str, min_hits_default: str) -> None:
    """``--min-hits N`` (the tracker's online confirmation) and ``--min-length SECONDS`` (offline: least time a
    track is seen)."""
    g.add_argument(
        "--min-hits",
        type=int,
        default=None,
        metavar="N",
        help=f"consecutive matches before the tracker confirms a track; tracks that start in the first frame are "
        f"confirmed at once ({min_hits_default})",
    )
    g.add_argument(
        "--min-length",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"{what}: once tracking ends, drop the tracks seen in fewer frames than SECONDS hold at the frame rate "
        "(0 = off; default: 0.5 for recorded video, off for live streams)",
    )


def check_confirmation_args(args: argparse.Namespace, recorded: bool, at_once: bool) -> tuple[int | None, float]:
    """``(min_hits for the tracker or None for its default, min_length seconds)`` from ``--min-hits`` and
    ``--min-length`` with the recorded-video defaults (``at_once``: the tracker confirms a track at its first match,
    ``RECORDED_MIN_HITS``, unless ``--min-hits`` says otherwise); a bad value is an :class:`InputError`."""
    if args.min_hits is not None and not 1 <= args.min_hits <= 1000:
        raise InputError(f"--min-hits: must be an integer from 1 to 1000, got {args.min_hits}")
    if args.min_length is not None and not (math.isfinite(args.min_length) and 0 <= args.min_length <= 3600):
        raise InputError(f"--min-length: must be >= 0 and at most 3600 seconds, got {args.min_length}")
    min_hits = args.min_hits
    if min_hits is None and at_once:
        min_hits = RECORDED_MIN_HITS
    length = args.min_length if args.min_length is not None else RECORDED_MIN_TRACK_S
    return min_hits, length if recorded else 0.0


def new_track_score(track_new: float, track_high: float) -> float:
    """The tracker's new-track threshold for ``--track-new``/``--track-high``: a track starts only at a detection
    of the main association, so the higher of the two, with a warning when ``--track-new`` is raised."""
    if track_new < track_high:
        log.warning(
            "--track-new %g is below --track-high %g: a track starts only at a detection scoring at least "
            "--track-high, so %g is used; lower --track-high too to start tracks at lower scores",
            track_new,
            track_high,
            track_high,
        )
    return max(track_new, track_high)


def warn_if_nothing_started(camera: str, detections: int, tracks: int, new_thresh: float) -> None:
    """Warns when a camera had detections but the tracker never confirmed a track (every score below the
    new-track threshold, usually a detector scored on another scale than the thresholds assume)."""
    if detections and not tracks:
        log.warning(
            "%s: %d detections but no track was started: a track starts only at a detection scoring at least %g "
            "(--track-new, --track-high); if this detector's people score lower, lower both",
            camera,
            detections,
            new_thresh,
        )


def add_cmc_arg(g, default_text: str) -> None:
    """``--cmc [auto|on|off]``: camera-motion compensation (a bare ``--cmc`` means ``on``)."""
    g.add_argument(
        "--cmc",
        nargs="?",
        const="on",
        choices=("auto", "on", "off"),
        default=None,
        help="camera-motion compensation: on (every frame), auto (only while the camera is found to move; "
        f"fixed cameras are left alone) or off; needs the frames' images ({default_text})",
    )


def weights_record(weights: str | Path | None, sha1: str | None = None) -> dict:
    """How a result records the embedder's checkpoint: its absolute path and the SHA-1 of its content (a path alone
    does not say which file made a number once the file was retrained or moved); ``sha1`` when already known."""
    if not weights:
        return {"weights": None}
    path = Path(weights).resolve()
    if sha1 is None and path.is_file():
        from ..cache import file_sha1

        sha1 = file_sha1(path)
    return {"weights": str(path), "weights_sha1": sha1}


def features_record(args: argparse.Namespace) -> dict:
    """The embedder options besides its name, weights and precision that change its features (``--flip``, and for
    an ONNX model ``--input-size`` and the content of ``--feature-mean``): a result or cache made with others is
    not this run's."""
    mean = getattr(args, "feature_mean", None)
    if mean:
        from ..cache import file_sha1

        mean = file_sha1(mean) if Path(mean).is_file() else str(mean)
    size = getattr(args, "input_size", None)
    return {
        "flip": bool(getattr(args, "flip", False)),
        "input_size": list(size) if size else None,
        "feature_mean": mean,
    }


def add_appearance_args(g) -> None:
    """``--app-weight``, ``--app-thresh`` and ``--app-centre`` (tracker appearance settings) on a parser or argument
    group."""
    g.add_argument(
        "--app-weight",
        type=float,
        default=None,
        help="weight of appearance in the tracker's fused cost, 0-1 (default: the setting a checkpoint carries in "
        "extra.track_appearance, as can_market1501 (0.5) and laga_samples (0.3) do, else per embedder: "
        + defaults_text(lambda n: track_appearance(n)[0])
        + ")",
    )
    g.add_argument(
        "--app-thresh",
        type=float,
        default=None,
        help="largest cosine distance the tracker still matches on (default: the setting a checkpoint carries in "
        "extra.track_appearance, as can_market1501 (0.6) and laga_samples (0.8) do, else per embedder: "
        + defaults_text(lambda n: track_appearance(n)[1])
        + ")",
    )
    g.add_argument(
        "--app-centre",
        choices=APPEARANCE_CENTRES,
        default=None,
        help="what the tracker centres features on before comparing them: scene (the mean feature of the people "
        "seen beside each track: for features that share the scene's background and light) or none (default per "
        "embedder: " + defaults_text(appearance_centre) + ")",
    )


def appearance_from_args(args: argparse.Namespace, embedder=None) -> dict[str, float | str]:
    """Tracker keyword arguments ``appearance_weight``, ``appearance_thresh`` and ``appearance_centre`` for
    ``args.reid`` (and its ``embedder``'s checkpoint, which may recommend its own weight and threshold), unless
    ``--app-weight``/``--app-thresh``/``--app-centre`` set them."""
    centre = getattr(args, "app_centre", None) or appearance_centre(args.reid)
    both = args.app_weight is not None and args.app_thresh is not None
    if both:  # the checkpoint's value is not even read
        weight, thresh = args.app_weight, args.app_thresh
    else:
        weight, thresh = embedder_track_appearance(embedder, args.reid)
    chosen = {
        "appearance_weight": weight if args.app_weight is None else args.app_weight,
        "appearance_thresh": thresh if args.app_thresh is None else args.app_thresh,
        "appearance_centre": centre,
    }
    if getattr(args, "app_centre", None) is None and centre == "scene" and {args.app_weight, args.app_thresh} != {None}:
        # a threshold from before the histogram was centred (0.25) vetoes a person's own changes of look once centred
        print(
            f"--reid {args.reid}: features compared centred on the scene (--app-centre scene, the default since "
            "2026-12-06), at the --app-weight/--app-thresh given; --app-centre none --app-thresh 0.25 compares them "
            "as before",
            file=sys.stderr,
        )
    if not both and embedder is not None and "track_appearance" in getattr(embedder, "recommended", {}):
        print(
            f"--reid {args.reid}: tracker appearance weight {chosen['appearance_weight']:g}, threshold "
            f"{chosen['appearance_thresh']:g} (the checkpoint recommends {weight:g} / {thresh:g})",
            file=sys.stderr,
        )
    return chosen


def add_embedder_args(p: argparse.ArgumentParser, default: str = "laga", *, motion_only: bool = True) -> None:
    """The embedder options; ``motion_only``: ``--reid none`` is offered (tracking without appearance)."""
    names = ", ".join(EMBEDDERS.names()) + (", none (motion only)" if motion_only else "")
    g = p.add_argument_group("embedder")
    g.add_argument("--reid", default=default, help=f"embedder: {names} (default: {default})")
    g.add_argument(
        "--weights",
        help="Re-ID checkpoint: a file, a bundled name (laga_market1501, can_market1501, global_market1501, "
        "laga_samples) or "
        "'none' for an untrained network; its manifest fixes architecture and input "
        "size (default: the network's bundled checkpoint, real-trained first)",
    )
    g.add_argument(
        "--backbone",
        default=None,
        help="an untrained network instead of the bundled checkpoint: resnet50 (default), resnet34, resnet18",
    )
    g.add_argument(
        "--pretrained",
        default=None,
        help="an untrained network instead of the bundled checkpoint, its backbone initialised from: "
        "imagenet (default), a torchvision state_dict or reid_models checkpoint path, or none",
    )
    g.add_argument("--device", help="cpu, cuda or cuda:N for YOLO and the networks (default: cuda when available)")
    g.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"the networks and onnx: crops per forward pass (default: {DEFAULT_BATCH_SIZE})",
    )
    g.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "fp16", "bf16"),
        help="network precision: fp16 (CUDA) or bf16 autocast, or fp32; auto (default): bf16 on a CPU that computes "
        "bf16 natively (same Market-1501 accuracy, 1.7x faster), fp32 elsewhere",
    )
    g.add_argument("--flip", action="store_true", help="average features of each crop and its mirror image")
    g.add_argument(
        "--compile",
        choices=COMPILE_MODES,
        help="torch.compile the network with this mode (reduce-overhead: CUDA graphs on a GPU); compiling takes "
        "seconds to minutes at the start, batches are padded to powers of two; off by default",
    )
    g.add_argument(
        "--input-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="onnx: crop size when the model's input size is dynamic",
    )
    g.add_argument(
        "--feature-mean",
        metavar="NPY",
        help="onnx: mean unit feature (.npy) to centre a third-party model's features with",
    )


def weights_from_args(args: argparse.Namespace) -> str | None:
    """The checkpoint path ``--weights`` stands for (a file or a bundled name), the network's bundled default
    when it is not given (announced on stderr with its training data), None for ``--weights none``, when
    ``--backbone``/``--pretrained`` ask for an untrained network, or when no checkpoint is bundled (warned).
    Sets ``args.weights`` to the result, so that cache keys and summaries see the file actually used."""
    if args.reid == "onnx":
        if not args.weights:
            raise InputError("--reid onnx: needs --weights FILE.onnx (the model, e.g. from mctrack reid export)")
        path = Path(args.weights)
        if not path.is_file():
            problem = "is a folder, not a file" if path.is_dir() else "not found"
            raise InputError(f"--weights {args.weights}: {problem} (--reid onnx takes an .onnx model file)")
        return args.weights
    if args.reid not in TORCH_EMBEDDERS:
        if args.weights and str(args.weights).lower() != "none":
            if args.reid == "none":  # --reid left out: motion only is the track default
                raise ValueError(
                    f"--weights {args.weights}: motion only (--reid none) takes no weights; with a network's "
                    f"checkpoint give its --reid ({', '.join(sorted(TORCH_EMBEDDERS))})"
                )
            raise ValueError(f"--weights: the {args.reid!r} embedder takes no weights")
        args.weights = None
        return None
    if args.weights and str(args.weights).lower() != "none":
        try:
            path = resolve_weights(args.weights, option="--weights")
        except WeightsError as err:
            raise InputError(str(err)) from None
    elif (
        args.weights is None
        and args.backbone is None
        and args.pretrained is None
        and (path := default_weights(args.reid)) is not None
    ):
        about = describe(path)
        print(
            f"--reid {args.reid}: using the bundled checkpoint {path.stem}" + (f" ({about})" if about else ""),
            file=sys.stderr,
        )
    else:
        log.warning(
            "--reid %s without a checkpoint: the network is untrained, its features are close to random "
            "and tracking/linking by appearance will be poor",
            args.reid,
        )
        args.weights = None
        return None
    args.weights = str(path)
    return args.weights


def _check_unused_embedder_args(args: argparse.Namespace) -> None:
    """Options that would have no effect with this ``--reid``/``--weights`` are an error, not silently dropped."""
    if args.weights and args.reid in TORCH_EMBEDDERS:
        given = [f"--{name}" for name in ("backbone", "pretrained") if getattr(args, name, None) is not None]
        if given:
            raise InputError(
                f"{' and '.join(given)}: ask for an untrained network, no effect with --weights {args.weights} "
                "(its manifest fixes the network); pass --weights none for an untrained one"
            )
    if args.reid != "onnx":
        given = [f"--{name.replace('_', '-')}" for name in ("input_size", "feature_mean") if getattr(args, name, None)]
        if given:
            raise InputError(f"{' and '.join(given)}: only for --reid onnx, not --reid {args.reid}")
    if args.reid not in TORCH_EMBEDDERS:
        given = [f"--{name}" for name in ("backbone", "pretrained") if getattr(args, name, None) is not None]
        if getattr(args, "precision", "auto") != "auto":
            given.append(f"--precision {args.precision}")
        if given:
            raise InputError(
                f"{' and '.join(given)}: only for the torch networks ({', '.join(TORCH_EMBEDDERS)}), not --reid "
                f"{args.reid}"
                + (" (an ONNX model runs in the precision it was exported in)" if args.reid == "onnx" else "")
            )
        if getattr(args, "flip", False) and args.reid != "onnx":
            raise InputError(
                f"--flip: only for the networks ({', '.join(TORCH_EMBEDDERS)}, onnx), not --reid {args.reid}"
            )
    if args.reid not in (*TORCH_EMBEDDERS, "onnx"):
        if getattr(args, "batch_size", None) is not None:
            raise InputError(
                f"--batch-size: only for the networks ({', '.join(TORCH_EMBEDDERS)}, onnx), not --reid {args.reid}"
            )
        device, detector = getattr(args, "device", None), getattr(args, "detector", None)
        if device and not device.startswith("cpu") and detector in (None, "mot"):  # reid embed has no detector
            raise InputError(
                f"--device {device}: nothing runs on a device with --reid {args.reid}"
                + (" and --detector mot" if detector else "")
                + " (it places YOLO and the networks)"
            )


def check_embedder_args(args: argparse.Namespace) -> None:
    """The embedder options checked as :func:`embedder_from_args` checks them, without building it (once for many
    sequences): an unknown name, a missing checkpoint (``args.weights`` resolved), options without effect."""
    if args.reid != "none" and args.reid not in EMBEDDERS.names():  # the registry's message would leave out none
        raise InputError(f"unknown embedder {args.reid!r}; valid names: {', '.join(EMBEDDERS.names())}, none")
    weights_from_args(args)
    _check_unused_embedder_args(args)
    if _batch_size(args) < 1:
        raise InputError(f"--batch-size: must be >= 1, got {args.batch_size}")
    if getattr(args, "compile", None) and args.reid not in TORCH_EMBEDDERS:
        raise InputError(
            f"--compile: only for the torch networks ({', '.join(TORCH_EMBEDDERS)}), not --reid {args.reid}"
        )


def _batch_size(args: argparse.Namespace) -> int:
    """``--batch-size``, or the default where it was not given (None: refused where no network runs)."""
    size = getattr(args, "batch_size", None)
    return DEFAULT_BATCH_SIZE if size is None else size


def embedder_from_args(args: argparse.Namespace) -> Embedder | None:
    """Build the embedder the options ask for (checkpoint as in ``weights_from_args``); ``--reid none`` gives
    ``None``."""
    check_embedder_args(args)
    if args.reid == "onnx":
        return build_embedder(
            "onnx",
            weights=args.weights,
            input_size=args.input_size,
            device=args.device,
            batch_size=_batch_size(args),
            feature_mean=args.feature_mean,
            flip=getattr(args, "flip", False),
        )
    if args.reid not in TORCH_EMBEDDERS:
        return build_embedder(args.reid)
    pretrained = args.pretrained or "imagenet"
    pretrained = None if str(pretrained).lower() == "none" else pretrained
    return build_embedder(
        args.reid,
        weights=args.weights,
        backbone=args.backbone,
        pretrained=pretrained,
        device=args.device,
        batch_size=_batch_size(args),
        precision=args.precision,
        flip=args.flip,
        compile=args.compile,
    )


def add_yolo_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("yolo")
    g.add_argument(
        "--yolo-weights",
        default=DEFAULT_WEIGHTS,
        help="weights file, or an ultralytics model name looked up in (and downloaded to) ultralytics' "
        f"weights folder, never this folder: ./NAME for a file here (default: {DEFAULT_WEIGHTS})",
    )
    g.add_argument(
        "--yolo-trusted",
        action="store_true",
        help="load a .pt weights file without the safety check (its pickle may run code: only for files "
        "whose origin you trust)",
    )
    g.add_argument("--yolo-imgsz", type=int, default=640, help="inference size (default: 640)")
    g.add_argument("--yolo-iou", type=float, default=0.7, help="NMS IoU threshold (default: 0.7)")
    g.add_argument("--yolo-half", action="store_true", help="fp16 inference (CUDA only)")


def yolo_from_args(args: argparse.Namespace):
    """The YOLO detector the options ask for (``--min-score`` is its confidence threshold, default 0.1)."""
    return build_detector(
        "yolo",
        weights=args.yolo_weights,
        device=args.device,
        conf=0.1 if args.min_score is None else args.min_score,
        iou=args.yolo_iou,
        imgsz=args.yolo_imgsz,
        half=args.yolo_half,
        trusted=args.yolo_trusted,
    )


def check_stream_args(args: argparse.Namespace) -> None:
    """``--duration`` (finite seconds > 0), ``--min-score`` (finite), ``--embed-refresh``, ``--track-high`` and
    ``--track-new`` (scores in [0, 1]) of ``run`` and ``track`` and ``run``'s ``--link-thresh`` ([0, 2]), before
    any work."""
    if args.embed_refresh is not None:
        embed_refresh_frames(args.embed_refresh, 1.0)
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise InputError(f"--duration: must be a finite number of seconds > 0, got {args.duration}")
    if args.min_score is not None and not math.isfinite(args.min_score):
        raise InputError(f"--min-score: must be a finite number, got {args.min_score}")
    if getattr(args, "reid", None) == "none" and {
        getattr(args, "app_weight", None),
        getattr(args, "app_thresh", None),
        getattr(args, "app_centre", None),
    } != {None}:
        log.warning("--app-weight/--app-thresh/--app-centre: no effect with --reid none (motion only)")
    if getattr(args, "reid", None) == "none":
        given = [
            flag
            for flag, value in (
                ("--embed", args.embed is not None),
                ("--embed-every", args.embed_every != 1),
                ("--embed-refresh", args.embed_refresh is not None),
            )
            if value
        ]
        if given:
            log.warning("%s: no effect with --reid none (nothing is embedded)", "/".join(given))
    for option in ("track_high", "track_new"):  # scores; --track-new below --track-high is raised to it
        value = getattr(args, option)
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            raise InputError(f"--{option.replace('_', '-')}: must be a detection score in [0, 1], got {value}")
    link = getattr(args, "link_thresh", None)
    if link is not None and not (math.isfinite(link) and 0 <= link <= 2):
        raise InputError(f"--link-thresh: must be a cosine distance in [0, 2], got {link}")
