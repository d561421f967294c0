"""Training recipes: one YAML file -> a typed, validated `Recipe` (reid_models' own loader; no mctrack).

Unknown keys and bad values raise `RecipeError` naming the file and the key. `--set key=value` overrides are
parsed as YAML scalars (`--set epochs=3`, `--set milestones=[2,4]`, `--set pretrained=null`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import os
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .yaml_safe import TooLarge, load_bounded, short_repr, yaml_problem

__all__ = ["DATASET_FORMATS", "Recipe", "RecipeError", "apply_overrides", "load_recipe"]

DATASET_FORMATS = ("market1501", "dukemtmc", "cuhk03np", "msmt17", "samples")


class RecipeError(ValueError):
    """A recipe is wrong: reads ``FILE: KEY: problem``."""

    def __init__(self, source: object, key: str | None, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


@dataclass
class Recipe:
    """Everything a training run depends on. Knobs:

    arch/backbone/pretrained/input_size/model_kwargs: the network (`build_model`); model_kwargs e.g. branches.
    dataset/data: dataset format (DATASET_FORMATS) and root folder (the CLI's --data overrides it).
    p, k: identities per batch and images per identity (batch = p * k).
    epochs: passes over the P x K sampler (about one pass over the training images each).
    optimizer ("adam"|"sgd"), lr, weight_decay, backbone_lr_mult: the backbone (trunk + layer4) trains at
        lr * backbone_lr_mult, everything else at lr.
    warmup_epochs, warmup_start_lr: linear warm-up from warmup_start_lr to lr over the first warmup_epochs.
    milestones, gammas: at epoch milestones[i] the lr becomes lr * gammas[i] (LAGA: 0.5, 0.25; CAN 0.1, 0.01...).
    center_lr: SGD lr of the center-loss centres (CAN only; own optimiser, not scheduled).
    pad, flip, color_jitter, random_erasing: augmentation: zero padding before the random crop (pixels),
        horizontal flip (p=0.5), colour jitter strength (0 = off; brightness/contrast/saturation +-x),
        random erasing probability.
    seed, deterministic, num_workers: reproducibility (same seed on CPU -> bit-identical weights).
    data_pipeline ("auto"|"loader"|"decoded"): how training images reach the network: "loader" decodes and
        augments each image per epoch in DataLoader workers (num_workers); "decoded" decodes every image once into
        memory on the training device and augments whole batches there (the GPU data path; same augmentations);
        "auto": decoded on CUDA, loader on the CPU. Does not change results (to float rounding), so a run may
        be resumed with another value.
    device ("auto"|"cpu"|"cuda"), amp, amp_dtype ("float16"|"bfloat16"): mixed precision: autocast to amp_dtype
        on CUDA; on the CPU only bfloat16 is used (amp with float16 trains in float32 there).
    eval_every: evaluate every N epochs (0: only at the end); flip_eval, rerank: evaluation options.
    evaluate: false trains without any evaluation: the dataset's query and gallery are neither needed nor read
        (a set cut from one camera by ``mctrack reid crops`` has none); eval.json then holds no figures.
    eval_batch_size: images per forward pass at evaluation; out: parent folder of run directories.
    """

    arch: str = "laga"
    backbone: str = "resnet50"
    pretrained: str | None = "imagenet"
    input_size: list[int] = field(default_factory=lambda: [384, 128])
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    dataset: str = "market1501"
    data: str | None = None
    p: int = 8
    k: int = 4
    epochs: int = 60
    optimizer: str = "adam"
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    backbone_lr_mult: float = 1.0
    warmup_epochs: int = 0
    warmup_start_lr: float = 0.0
    milestones: list[int] = field(default_factory=list)
    gammas: list[float] = field(default_factory=list)
    center_lr: float = 0.5
    pad: int = 10
    flip: bool = True
    color_jitter: float = 0.0
    random_erasing: float = 0.5
    seed: int = 0
    deterministic: bool = True
    num_workers: int = 0
    data_pipeline: str = "auto"
    device: str = "auto"
    amp: bool = True
    amp_dtype: str = "float16"
    eval_every: int = 0
    evaluate: bool = True
    flip_eval: bool = True
    rerank: bool = False
    eval_batch_size: int = 64
    out: str = "runs/reid"

    def __post_init__(self) -> None:
        self.validate("<recipe>")

    def validate(self, source: object) -> None:
        def bad(key: str, problem: str) -> RecipeError:
            return RecipeError(source, key, f"{problem}, got {short_repr(getattr(self, key))}")

        from reid_models.models import BACKBONES, MODELS

        if self.arch not in MODELS:
            raise bad("arch", f"expected one of {', '.join(MODELS)}")
        set_by_training = {"num_classes", "backbone", "pretrained", "input_size"}  # recipe keys of their own
        options = set(inspect.signature(MODELS[self.arch]).parameters) - set_by_training
        if unknown := sorted(set(self.model_kwargs) - options):
            known = ", ".join(sorted(options)) or "none"
            raise bad("model_kwargs", f"{unknown[0]!r} is not an option of {self.arch} (options: {known})")
        for f in fields(self):  # inf and NaN pass the range checks below and train to NaN weights
            values = getattr(self, f.name) if f.type == "list[float]" else [getattr(self, f.name)]
            if f.type in ("float", "list[float]") and not all(math.isfinite(v) for v in values):
                raise bad(f.name, "must be finite")
        if not 0 <= self.seed < 2**32:
            raise bad("seed", "must be in [0, 2**32)")
        if self.backbone not in BACKBONES:
            raise bad("backbone", f"expected one of {', '.join(BACKBONES)}")
        if self.dataset not in DATASET_FORMATS:
            raise bad("dataset", f"expected one of {', '.join(DATASET_FORMATS)}")
        if len(self.input_size) != 2 or any(not isinstance(v, int) or v < 32 for v in self.input_size):
            raise bad("input_size", "expected [H, W], ints >= 32")
        for key in ("epochs", "eval_batch_size"):
            if getattr(self, key) < 1:
                raise bad(key, "must be >= 1")
        if self.p < 2:  # one identity per batch gives the triplet loss no negative: it would be 0 throughout
            raise bad("p", "must be >= 2 (identities per batch: the triplet loss needs a different person)")
        if self.k < 2:  # one image per identity gives it no positive: 0 throughout as well (helper-71)
            raise bad("k", "must be >= 2 (images per identity: the triplet loss needs a second image of a person)")
        for key in ("warmup_epochs", "pad", "num_workers", "eval_every"):
            if getattr(self, key) < 0:
                raise bad(key, "must be >= 0")
        for key in ("lr", "backbone_lr_mult", "center_lr"):
            if not getattr(self, key) > 0:
                raise bad(key, "must be > 0")
        if self.weight_decay < 0 or self.warmup_start_lr < 0:
            raise bad("weight_decay" if self.weight_decay < 0 else "warmup_start_lr", "must be >= 0")
        if self.amp_dtype not in ("float16", "bfloat16"):
            raise bad("amp_dtype", "expected float16 or bfloat16")
        if self.data_pipeline not in ("auto", "loader", "decoded"):
            raise bad("data_pipeline", "expected auto, loader or decoded")
        if self.optimizer not in ("adam", "sgd"):
            raise bad("optimizer", "expected adam or sgd")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise bad("device", "expected auto, cpu, cuda or cuda:N")
        if list(self.milestones) != sorted(set(self.milestones)) or any(m < 1 for m in self.milestones):
            raise bad("milestones", "expected increasing epochs >= 1 (0-based: the lr changes from that epoch on)")
        if len(self.gammas) != len(self.milestones):
            raise bad("gammas", f"expected one lr factor per milestone ({len(self.milestones)})")
        if any(not v > 0 for v in self.gammas):
            raise bad("gammas", "each lr factor must be > 0")
        if not 0 <= self.random_erasing <= 1 or not 0 <= self.color_jitter < 1:
            raise bad("random_erasing" if not 0 <= self.random_erasing <= 1 else "color_jitter", "must be in [0, 1)")
        self._validate_model_kwargs(source)

    def unreached_milestones(self) -> str | None:
        """What to say when some lr milestones lie at or beyond the last epoch (a recipe's epochs shortened with
        ``--set epochs=N``): those lr steps never happen, which is allowed but should not go unsaid."""
        late = [m for m in self.milestones if m >= self.epochs]
        if not late:
            return None
        one = len(late) == 1
        return (
            f"{'milestone' if one else 'milestones'} {', '.join(map(str, late))} {'lies' if one else 'lie'} at or "
            f"beyond epochs={self.epochs}: {'that lr step is' if one else 'those lr steps are'} never taken "
            "(shorten milestones with --set milestones=[...] to decay the lr in a shorter run)"
        )

    def _validate_model_kwargs(self, source: object) -> None:
        """Each ``model_kwargs`` value of the type the network's argument says (``share_layer4: flase`` was a
        truthy string: a network of 15M parameters for one of 40M), and the network's own checks of their values
        (built on the meta device: no memory, no weights, ~50 ms), before any dataset is read."""
        if not self.model_kwargs:
            return
        import typing

        import torch

        from reid_models.models import MODELS

        hints = typing.get_type_hints(MODELS[self.arch].__init__)
        for key, value in list(self.model_kwargs.items()):
            if hints.get(key) is float and isinstance(value, str):  # YAML 1.1 reads 3e1 as a string
                with contextlib.suppress(ValueError):
                    self.model_kwargs[key] = value = float(value)
            if problem := _kind_problem(value, hints.get(key)):
                raise RecipeError(source, f"model_kwargs.{key}", f"{problem}, got {short_repr(value)}")
        try:
            with torch.device("meta"):
                MODELS[self.arch](
                    num_classes=2,
                    backbone=self.backbone,
                    pretrained=None,
                    input_size=tuple(self.input_size),
                    **self.model_kwargs,
                )
        except (ValueError, TypeError) as exc:  # the network names the argument: "metric_features: expected ..."
            key, _, problem = str(exc).partition(": ")
            if key in self.model_kwargs and problem:
                raise RecipeError(source, f"model_kwargs.{key}", problem) from None
            raise RecipeError(source, "model_kwargs", str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_TYPES = {f.name: f.type for f in fields(Recipe)}


def _kind_problem(value: Any, hint: Any) -> str | None:
    """Why ``value`` is not of the type ``hint`` (bool, int, float, str, or a sequence of int or str), else None."""
    import collections.abc
    import typing

    def one(v: Any, kind: Any) -> bool:
        if kind is bool:
            return isinstance(v, bool)
        if kind is int:
            return isinstance(v, int) and not isinstance(v, bool)
        if kind is float:
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        if kind is str:
            return isinstance(v, str)
        return True  # a type not checked here: the network's own checks apply

    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if hint in names:
        return None if one(value, hint) else f"expected {names[hint]}"
    if typing.get_origin(hint) in (collections.abc.Sequence, list, tuple) and len(typing.get_args(hint)) == 1:
        (kind,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)) or not all(one(v, kind) for v in value):
            plural = {int: "whole numbers", float: "numbers", str: "strings"}.get(kind, "values")
            return f"expected a list of {plural}"
    return None


def _check_type(source: object, key: str, value: Any) -> Any:
    kind = _TYPES.get(key, "float")
    if kind == "float" and isinstance(value, str):  # YAML 1.1 reads 3e-4 (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            pass
    if kind == "list[float]" and isinstance(value, list):
        value = [_check_type(source, key + f"[{i}]", v) if isinstance(v, str) else v for i, v in enumerate(value)]
    ok = {
        "str": isinstance(value, str),
        "str | None": value is None or isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list[int]": isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
        "list[float]": isinstance(value, list) and all(isinstance(v, (int, float)) for v in value),
        "dict[str, Any]": isinstance(value, dict),
    }[kind]
    if not ok:
        raise RecipeError(source, key, f"expected {kind}, got {short_repr(value)}")
    return float(value) if kind == "float" else value


def _build(source: object, raw: dict[str, Any]) -> Recipe:
    if unknown := sorted(set(raw) - set(_TYPES)):
        raise RecipeError(source, unknown[0], f"unknown key; valid: {', '.join(_TYPES)}")
    values = {key: _check_type(source, key, value) for key, value in raw.items()}
    recipe = Recipe.__new__(Recipe)
    defaults = Recipe.__dataclass_fields__
    for name, f in defaults.items():
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        setattr(recipe, name, values.get(name, default))
    recipe.validate(source)
    return recipe


#: recipe keys whose value is a mapping: ``--set`` merges into them (see :func:`apply_overrides`)
_MAPPING_KEYS = frozenset(f.name for f in fields(Recipe) if str(f.type).startswith("dict"))


def apply_overrides(recipe: Recipe | dict[str, Any], overrides: list[str], source: object = "--set") -> Recipe:
    """A copy of `recipe` with `key=value` overrides (values parsed as YAML). `model_kwargs.share_layer4=false` sets
    one key of a mapping and keeps the others; `model_kwargs={...}` replaces the whole mapping, with a warning that
    names the recipe's keys it drops (they were dropped without a word: the paper recipe's metric_features)."""
    raw = recipe.to_dict() if isinstance(recipe, Recipe) else dict(recipe)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(source, item, "expected key=value")
        try:
            value = load_bounded(text) if text.strip() else None
        except TooLarge as err:
            raise RecipeError(source, key, f"value {err}") from None
        except yaml.YAMLError as err:
            raise RecipeError(source, key, f"value is not valid YAML ({yaml_problem(err)[2]})") from None
        top, dot, sub = key.partition(".")
        if dot:  # one key of a mapping
            if top not in _TYPES:  # said "foo is not a mapping" for a key no recipe has
                raise RecipeError(source, top, f"unknown key; valid: {', '.join(_TYPES)}")
            if not isinstance(raw.get(top, {}), dict) or top not in _MAPPING_KEYS:
                raise RecipeError(source, key, f"{top} is not a mapping: set it whole ({top}=...)")
            if not sub or "." in sub:
                raise RecipeError(source, key, f"expected {top}.NAME=value")
            raw[top] = {**(raw.get(top) or {}), sub: value}
        else:
            dropped = (
                sorted(set(raw[key]) - set(value))
                if key in _MAPPING_KEYS and isinstance(value, dict) and (isinstance(raw.get(key), dict))
                else []
            )
            if dropped:
                warnings.warn(
                    f"{source}: {key}={text.strip()} replaces the recipe's {key}, dropping "
                    f"{', '.join(f'{k}: {raw[key][k]!r}' for k in dropped)}; to change one key and keep the others: "
                    f"--set {key}.NAME=VALUE",
                    UserWarning,
                    stacklevel=2,
                )
            raw[key] = value
    return _build(source, raw)


def load_recipe(path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe YAML; unknown keys, wrong types and bad values raise RecipeError naming file and key."""
    path = Path(path)
    if path.is_dir():
        raise RecipeError(path, None, "a folder, not a recipe file (configs/reid/*.yaml)")
    if not path.is_file():
        raise FileNotFoundError(f"recipe not found: {path}")
    try:
        raw = load_bounded(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RecipeError(path, None, "not a text file (a recipe is YAML)") from None
    except yaml.YAMLError as err:
        line, _, problem = yaml_problem(err)
        raise RecipeError(path, None, f"not valid YAML ({f'line {line}: ' if line else ''}{problem})") from None
    except TooLarge as err:
        raise RecipeError(path, None, str(err)) from None
    if raw is None:  # an empty file would train every default without a word
        raise RecipeError(path, None, "empty: a recipe holds key: value lines (see configs/reid/*.yaml)")
    if not isinstance(raw, dict):
        raise RecipeError(path, None, "expected a mapping of key: value")
    recipe = _build(path, raw)
    return apply_overrides(raw, list(overrides), f"{path} --set") if overrides else recipe
