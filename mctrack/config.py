"""The only place YAML is read: typed dataclasses, unknown keys and bad values are errors.

Every error is a :class:`~mctrack.errors.ConfigError` whose message is one line ``FILE: KEY: problem``.

The camera-set file ``cams.yaml``::

    name: my-scene                 # optional
    ground_truth_ids: global       # optional: 'global' (default: a person has one id in every camera's
                                   # ground truth) or 'per_camera' (ids are per sequence, nobody is shared);
                                   # left out with MOTChallenge sequences of different rates or lengths: warned
    cameras:
      - id: cam1                   # unique, required
        source: cam1/video.mp4     # video file, image folder, MOTChallenge sequence folder,
                                   # rtsp://... / http://... stream, or a webcam index (0, 1, ...)
        fps: 25                    # optional: overrides the stream's own rate
        time_offset: 0.0           # optional: seconds added to this camera's timestamps (clock alignment)
        calibration: cam1/calib.json  # optional: intrinsics/extrinsics/ground homography file
        detections: cam1/det/det.txt  # optional: MOTChallenge public detections
        ground_truth: cam1/gt/gt.txt  # optional: MOTChallenge ground truth
        track_high: 0.7            # optional: this camera's tracker thresholds, detection scores in [0, 1], used
        track_new: 0.9             # unless run's --track-high / --track-new are given (e.g. 0.7 / 0.9 for the
                                   # public detection files of MOTChallenge, whose scores run higher than a detector's)
    transit:                       # optional: how long people take between cameras (cross-camera linking)
      - between: [cam1, cam3]      # two camera ids (the window applies in both directions)
        min_s: 2.0                 # at least this many seconds from leaving one view to entering the other
        max_s: 60.0                # at most this many (omit for no upper bound)

Relative paths are resolved against the folder of ``cams.yaml``. Files must exist when the file is loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reid_models.yaml_safe import TooLarge, WrittenInt, load_bounded, octal_problem, short_repr, yaml_problem

from .errors import ConfigError, missing_file
from .io.paths import file_name_problem
from .io.video import VIDEO_SUFFIXES
from .types import MAX_FPS

log = logging.getLogger(__name__)

__all__ = ["CameraConfig", "TransitWindow", "CamsConfig", "load_yaml", "from_dict", "load_cams", "is_live_source"]


MAX_TIME_OFFSET_S = 1e9  # about 30 years: float64 timestamps keep sub-millisecond precision within it


@dataclass(frozen=True)
class CameraConfig:
    """One camera of a camera set (see the module docstring for the meaning of each key)."""

    id: str
    source: str
    fps: float | None = None
    time_offset: float = 0.0
    calibration: str | None = None
    detections: str | None = None
    ground_truth: str | None = None
    track_high: float | None = None
    track_new: float | None = None


@dataclass(frozen=True)
class TransitWindow:
    """Seconds a person may take between leaving one camera's view and entering the other's (either direction).

    Two tracklets of these cameras that do not overlap in time may share a global id only when the gap between
    them lies in ``[min_s, max_s]``; pairs of cameras without a window are not constrained.
    """

    between: list[str]
    min_s: float = 0.0
    max_s: float | None = None


@dataclass(frozen=True)
class CamsConfig:
    """A camera set: the ``cams.yaml`` file, with paths resolved."""

    cameras: list[CameraConfig]
    name: str | None = None
    ground_truth_ids: str = "global"
    transit: list[TransitWindow] = dataclasses.field(default_factory=list)
    path: str | None = dataclasses.field(default=None, metadata={"yaml": False})  # set by the loader


#: URL schemes of the common streams OpenCV's FFmpeg backend reads (another is warned about: most often a typo)
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "rtmpt", "http", "https", "udp", "tcp", "rtp", "srt", "ftp", "hls")

#: camera ids that would overwrite another output of `mctrack run` (mctrack/outputs.py), and why
RESERVED_CAMERA_IDS = {"aicity": "mctrack run writes all cameras' rows to aicity.txt"}


def load_yaml(path: str | Path, *, written_ints: bool = False) -> dict[str, Any]:
    """Read a YAML mapping; missing file, syntax error or a non-mapping top level is a ConfigError.
    ``written_ints``: integers keep their text (:class:`~reid_models.yaml_safe.WrittenInt`, for :func:`from_dict`)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(p, None, missing_file(p))
    try:
        data = load_bounded(p.read_text(encoding="utf-8"), written_ints=written_ints)
    except TooLarge as exc:
        raise ConfigError(p, None, str(exc)) from None
    except yaml.YAMLError as exc:
        line, column, problem = yaml_problem(exc)
        where = f" (line {line}, column {column})" if line else ""
        raise ConfigError(p, None, f"invalid YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(p, None, "not a text file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(p, None, f"expected a mapping at the top level, got {type(data).__name__}")
    return data if written_ints else _plain(data)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _as_text(value: Any) -> str:
    """A value meant as text: an integer as it was written in the YAML file, anything else ``str``."""
    return value.text if isinstance(value, WrittenInt) else str(value)


def _plain(value: Any) -> Any:
    """``value`` with its :class:`WrittenInt` integers made plain ``int``."""
    if isinstance(value, WrittenInt):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _convert(value: Any, tp: Any, path: str, key: str) -> Any:
    """Check and convert ``value`` against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, path, key)
            except ConfigError as exc:
                errors.append(exc.problem)
        raise ConfigError(path, key, errors[0] if len(errors) == 1 else " or ".join(errors))
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path, key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, key, f"expected a list, got {type(value).__name__} {short_repr(value)}")
        item_tp = args[0] if args else Any
        items = [_convert(v, item_tp, path, f"{key}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, key, f"expected a mapping, got {type(value).__name__}")
        vt = args[1] if len(args) == 2 else Any
        return {_as_text(k): _convert(v, vt, path, f"{key}.{k}") for k, v in value.items()}
    if tp is Any:
        return _plain(value)
    if tp in (int, float) and isinstance(value, WrittenInt) and (problem := octal_problem(value.text, int(value))):
        raise ConfigError(path, key, problem)  # a number, not a name: 010 is not the octal 8
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
    elif tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e20 and 7e-1 (no dot) as strings
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return _as_text(value)  # as written: YAML reads id: 010 as 8 and 0x1F as 31
    elif isinstance(value, tp):
        return value
    raise ConfigError(path, key, f"expected {_type_name(tp)}, got {type(value).__name__} {short_repr(value)}")


def from_dict(cls: type, data: Any, path: str | Path, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys, missing keys and wrong types."""
    path = str(path)
    where = prefix or "(top level)"
    if not isinstance(data, dict):
        raise ConfigError(path, where, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.metadata.get("yaml", True)}
    for k in data:
        if k not in fields:
            valid = ", ".join(fields)
            raise ConfigError(
                path, f"{prefix}.{str(k)[:60]}" if prefix else str(k)[:60], f"unknown key (valid keys: {valid})"
            )
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(path, key, "missing required key")
            continue
        kwargs[name] = _convert(data[name], hints[name], path, key)
    return cls(**kwargs)


def _warn_shared_files(path: Path, cams: list[CameraConfig]) -> None:
    """Warn when two cameras name the same video, detection or ground-truth file: usually a camera block copied
    and not edited, which runs (the same people twice, or one camera scored against another's people) without an
    error."""
    for what in ("source", "detections", "ground_truth"):
        owners: dict[str, list[str]] = {}
        for cam in cams:
            value = getattr(cam, what)
            if value is not None and not (what == "source" and is_live_source(value)):
                owners.setdefault(str(Path(value).resolve()), []).append(cam.id)
        for file, ids in owners.items():
            if len(ids) > 1:
                log.warning(
                    "%s: cameras %s have the same %s %s (a camera block copied and not edited?)",
                    path,
                    " and ".join(ids),
                    what,
                    file,
                )


def _warn_unrelated_ground_truth(path: Path, cams: list[CameraConfig]) -> None:
    """Warn, when ``ground_truth_ids`` is not given, about cameras whose ground truth lies in MOTChallenge sequence
    folders (``SEQ/gt/gt.txt`` beside ``SEQ/seqinfo.ini``) of different frame rates or lengths: separate recordings,
    which number their people from 1 each, so the default (``global``: id N is one person in every camera) scores
    person 1 of one sequence and person 1 of another as the same person, and the cross-camera scores are wrong
    without a word. A synchronised camera set has one rate and length, and gets no warning."""
    from .errors import InputError
    from .io.mot import read_seqinfo

    recordings: dict[tuple[float, int], list[str]] = {}
    for cam in cams:
        gt = Path(cam.ground_truth) if cam.ground_truth else None
        if gt is None or gt.parent.name != "gt" or not (gt.parent.parent / "seqinfo.ini").is_file():
            continue
        try:
            info = read_seqinfo(gt.parent.parent / "seqinfo.ini")
        except (InputError, OSError, ValueError):
            continue  # the source's own reading says what is wrong with it
        recordings.setdefault((info.frame_rate, info.seq_length), []).append(cam.id)
    if len(recordings) > 1:
        kinds = "; ".join(f"{', '.join(ids)}: {fps:g} fps, {n} frames" for (fps, n), ids in recordings.items())
        log.warning(
            "%s: the cameras' ground truth comes from MOTChallenge sequences of different frame rates or lengths "
            "(%s), which number their people each from 1; cross-camera scores take id N in every camera as one "
            "person (ground_truth_ids: global, the default): set ground_truth_ids: per_camera for unrelated "
            "sequences, or ground_truth_ids: global if their ids do name the same people",
            path,
            kinds,
        )


def is_live_source(source: str) -> bool:
    """True for stream URLs and webcam indices, which are not files to check."""
    return source.isdigit() or "://" in source


def _resolve(base: Path, value: str | None, path: str, key: str, *, kind: str = "file") -> str | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    p = p if p.is_absolute() else base / p
    ok = p.exists() if kind == "any" else p.is_file()
    if not ok:
        raise ConfigError(path, key, f"{'path not found' if kind == 'any' else missing_file(p)}: {p}")
    return str(p)


def load_cams(path: str | Path) -> CamsConfig:
    """Load and check a ``cams.yaml`` camera set (see the module docstring)."""
    path = Path(path)
    data = load_yaml(path, written_ints=True)  # camera ids as written: YAML reads 010 as 8
    raw = from_dict(CamsConfig, data, path)
    if not raw.cameras:
        raise ConfigError(path, "cameras", "at least one camera is required")
    base = path.resolve().parent
    seen: set[str] = set()
    cams = []
    for i, cam in enumerate(raw.cameras):
        key = f"cameras[{i}]"
        if not cam.id:
            raise ConfigError(path, f"{key}.id", "must not be empty")
        if cam.id in seen:
            raise ConfigError(path, f"{key}.id", f"duplicate camera id {short_repr(cam.id)}")
        seen.add(cam.id)
        if problem := file_name_problem(cam.id):  # ids name output files: OUT/<id>.txt must stay inside OUT
            raise ConfigError(path, f"{key}.id", f"{short_repr(cam.id)}: {problem}")
        if cam.id.lower() in RESERVED_CAMERA_IDS:
            raise ConfigError(
                path, f"{key}.id", f"{short_repr(cam.id)} is reserved: {RESERVED_CAMERA_IDS[cam.id.lower()]}"
            )
        if cam.fps is not None and not (math.isfinite(cam.fps) and 0 < cam.fps <= MAX_FPS):
            raise ConfigError(path, f"{key}.fps", f"must be a frame rate in (0, {MAX_FPS:g}], got {cam.fps}")
        if not (math.isfinite(cam.time_offset) and abs(cam.time_offset) <= MAX_TIME_OFFSET_S):
            raise ConfigError(
                path,
                f"{key}.time_offset",
                f"must be a finite number of seconds within +-{MAX_TIME_OFFSET_S:g} (timestamps lose their precision "
                f"beyond), got {cam.time_offset}",
            )
        if not cam.source.strip():
            raise ConfigError(path, f"{key}.source", "must not be empty")
        if cam.source != cam.source.strip():  # a pasted URL's space: FFmpeg was blamed for "cannot open"
            raise ConfigError(path, f"{key}.source", f"has spaces around it: {short_repr(cam.source)}")
        if cam.source.lower().startswith("file://"):
            raise ConfigError(
                path, f"{key}.source", f"write a file's path without file:// (got {short_repr(cam.source)})"
            )
        if cam.source.startswith("-") and cam.source[1:].isdigit():  # was looked for as a file named -1
            raise ConfigError(path, f"{key}.source", f"a webcam index is a whole number >= 0, got {cam.source}")
        if "://" in cam.source and " ! " not in cam.source:  # (a GStreamer pipeline goes to OpenCV as it is)
            scheme = cam.source.split("://", 1)[0].lower()
            if scheme not in STREAM_SCHEMES:  # a typo (htp://) more often than one of FFmpeg's rarer protocols
                log.warning(
                    "%s: %s.source: %r:// is no common stream scheme (%s); it is tried as it is",
                    path,
                    key,
                    scheme,
                    ", ".join(s + "://" for s in STREAM_SCHEMES),
                )
        for name in ("track_high", "track_new"):
            value = getattr(cam, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
                raise ConfigError(path, f"{key}.{name}", f"must be a detection score in [0, 1], got {value}")
        source = (
            cam.source
            if is_live_source(cam.source)
            else _resolve(base, cam.source, str(path), f"{key}.source", kind="any")
        )
        if source is not None and Path(source).is_file() and Path(source).suffix.lower() not in VIDEO_SUFFIXES:
            # FFmpeg opens almost any file (a det.txt becomes a video of its text), so the name decides
            raise ConfigError(
                path,
                f"{key}.source",
                f"{short_repr(cam.source)} is not a video file ({', '.join(VIDEO_SUFFIXES)}), an image folder or a "
                "sequence folder",
            )
        cams.append(
            dataclasses.replace(
                cam,
                source=source,
                calibration=_resolve(base, cam.calibration, str(path), f"{key}.calibration"),
                detections=_resolve(base, cam.detections, str(path), f"{key}.detections"),
                ground_truth=_resolve(base, cam.ground_truth, str(path), f"{key}.ground_truth"),
            )
        )
    _warn_shared_files(path, cams)
    if "ground_truth_ids" not in data:
        _warn_unrelated_ground_truth(path, cams)
    if raw.ground_truth_ids not in ("global", "per_camera"):
        raise ConfigError(
            path, "ground_truth_ids", f"must be 'global' or 'per_camera', got {short_repr(raw.ground_truth_ids)}"
        )
    pairs: dict[frozenset, int] = {}
    for i, w in enumerate(raw.transit):
        key = f"transit[{i}]"
        if len(w.between) != 2 or w.between[0] == w.between[1]:
            raise ConfigError(path, f"{key}.between", f"expected two different camera ids, got {short_repr(w.between)}")
        for cam_id in w.between:
            if cam_id not in seen:
                raise ConfigError(
                    path,
                    f"{key}.between",
                    f"unknown camera id {short_repr(cam_id)} (cameras: {', '.join(c.id for c in cams)})",
                )
        pair = frozenset(w.between)
        if pair in pairs:  # both would apply, and only gaps inside both count: say so instead
            raise ConfigError(
                path,
                f"{key}.between",
                f"cameras {' and '.join(w.between)} already have a window (transit[{pairs[pair]}]); a window applies "
                "in both directions, so give one per pair",
            )
        pairs[pair] = i
        if not (math.isfinite(w.min_s) and w.min_s >= 0 and (w.max_s is None or w.max_s >= w.min_s)):
            raise ConfigError(path, key, f"need 0 <= min_s <= max_s, got min_s={w.min_s}, max_s={w.max_s}")
    return CamsConfig(
        cameras=cams, name=raw.name, ground_truth_ids=raw.ground_truth_ids, transit=list(raw.transit), path=str(path)
    )
