"""The training loop and its run directory.

run_dir/
  config.yaml      the fully resolved recipe (data path made absolute)
  manifest.json    git commit, package versions, seed, dataset fingerprint and counts, device, times
  last.pt          resumable state after the latest epoch (model, optimisers, GradScaler, history)
  metrics.json / metrics.csv   one row per epoch: lr, loss terms, time, and rank-1/mAP/... when evaluated
  model.pt         final weights (reid_models checkpoint, loadable by `mctrack reid eval` and the embedder)
  eval.json        final evaluation (Market-1501 protocol)
  curves.png, retrieval.png

Reproducibility: the model is built right after `torch.manual_seed(seed)`; each epoch reseeds torch (dropout)
from (seed, epoch); the sampler and the augmentations depend only on (seed, epoch) and per-sample seeds. With
`deterministic` on CPU, the same recipe gives bit-identical weights, and resuming from last.pt after an
interruption gives the same weights as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as tdist
import yaml
from torch.utils.data import DataLoader
from tqdm import tqdm

from reid_models.checkpoint import atomic_save, save_checkpoint, unreadable_reason
from reid_models.evaluation import count_matchable_queries
from reid_models.data import (
    DatasetError,
    DecodedImages,
    check_images,
    dataset_errors_unwrapped,
    ImageDataset,
    PKBatchSampler,
    ReidTransform,
    content_fingerprint,
    dataset_fingerprint,
    load_dataset,
)
from reid_models.losses import build_criterion
from reid_models.models import build_model
from reid_models.models.backbones import PretrainedUnavailable
from reid_models.provenance import command, git_commit, versions
from reid_models.recipe import Recipe, RecipeError
from reid_models.train.evaluate import evaluate, feature_mean
from reid_models.train.plots import plot_curves, plot_retrieval
from reid_models.train.schedule import build_optimizer, lr_at, set_lr

__all__ = ["train"]

log = logging.getLogger(__name__)


# how the images are fed, not what is learned (per-sample seeds make the batches the same): a run may resume with others
_FEEDING_KEYS = ("data_pipeline", "num_workers")


def _usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells, else the count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} asked for but CUDA is not available")
    return torch.device(name)


def world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` of this process: from torchrun's environment, else ``(0, 1, 0)``."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0"))


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and a rename (a kill mid-write leaves the previous file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


RANK_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP")  # the evaluation figures a metrics row and eval.json hold


#: what a run writes in its folder before its first epoch ends (a folder holding only these is a run that stopped
#: before it had anything to keep)
_STARTED_FILES = ("config.yaml", "manifest.json")


#: held (an advisory lock) by the process that trains in a run folder: a second run into it stops at once
_LOCK = ".train.lock"


@contextlib.contextmanager
def _run_lock(run_dir: Path, wrote: list[Path]) -> Iterator[None]:
    """Hold ``run_dir``'s lock while training there, else a ``ValueError``: two runs in one folder (a sweep that
    gave two jobs the same --run-dir) would overwrite each other's config, manifest and last.pt. Where the system
    has no such locks (Windows, some network file systems) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / _LOCK
    if not path.exists():
        wrote.append(path)  # removed with the rest when the run stops before its first epoch ends
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if path in wrote:  # the other run's: never removed by this one
                wrote.remove(path)
            raise ValueError(_busy(run_dir)) from None
        except OSError as exc:
            log.warning("%s: cannot lock the run folder (%s); a second run into it would not be stopped", run_dir, exc)
        yield


def _busy(run_dir: Path) -> str:
    return f"{run_dir}: another reid train is running in this folder; wait for it to end or choose another --run-dir"


def check_not_busy(run_dir: Path) -> None:
    """A ``ValueError`` when another process trains in ``run_dir`` (holds its lock): said before the folder's files
    are judged, which a running run changes (its ``.last.pt.tmp`` mid-save was named as a stranger's file, its
    last.pt as "an earlier run: add --resume"). Never call it while this process holds the lock (a second open
    file's lock would conflict with it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        return
    try:
        handle = open(Path(run_dir) / _LOCK)  # noqa: SIM115 - closed below; read-only: no file made
    except OSError:  # no lock file (no run started here) or unreadable: the lock itself decides later
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(_busy(run_dir)) from None
        except OSError:
            return
        fcntl.flock(handle, fcntl.LOCK_UN)


def new_run_dir(parent: str | Path, arch: str) -> Path:
    """A new, empty run folder ``parent/ARCH-YYYYmmdd-HHMMSS``, created here (``-2``, ``-3``, ... appended when
    that name is taken: two runs started in the same second never share a folder)."""
    base = Path(parent) / f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}"
    Path(parent).mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        run_dir = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise FileExistsError(f"{base}: a thousand runs of this name already exist")


def check_new_run_dir(run_dir: Path) -> None:
    """A ``ValueError`` unless a new run may start in ``run_dir``: missing, empty, or a run that stopped before its
    first epoch ended (only its manifest.json and config.yaml, both a run's). Anything else there (an earlier run's
    last.pt or model.pt, a user's files, a recipe named config.yaml) would be replaced or mixed with this run's."""
    if (run_dir / "last.pt").exists():  # a run that finished an epoch
        raise ValueError(
            f"{run_dir}: holds an earlier run (last.pt); add --resume to continue it, or choose another --run-dir"
        )
    if not run_dir.is_dir():
        return
    names = sorted(p.name for p in run_dir.iterdir())
    others = [n for n in names if n not in (*_STARTED_FILES, _LOCK)]
    if others or (set(names) - {_LOCK} and not _is_started_run(run_dir)):
        shown = ", ".join((others or names)[:4]) + (" and more" if len(others or names) > 4 else "")
        raise ValueError(
            f"{run_dir}: the folder holds {shown} and no run to continue; a new run would replace or mix with them: "
            "choose a new or empty --run-dir"
        )


def _is_started_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a training run's manifest.json and, if any, its config.yaml (a run writes the
    manifest first; a config.yaml without it may be a user's recipe, which is not replaced)."""
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        config_path = run_dir / "config.yaml"
        config = yaml.safe_load(config_path.read_text()) if config_path.exists() else None
    except Exception:  # noqa: BLE001 - unreadable or not YAML/JSON: not a run's
        return False
    return (
        isinstance(manifest, dict)
        and {"dataset", "seed", "resumed", "git_commit"} <= manifest.keys()
        and (config is None or (isinstance(config, dict) and {"arch", "seed", "epochs", "data"} <= config.keys()))
    )


def check_resume_recipe(run_dir: Path, resolved: dict[str, Any]) -> bool:
    """A ``ValueError`` unless the recipe ``resolved`` is the one the run in ``run_dir`` started with (its
    config.yaml), naming the keys that differ: a resumed run must train on as it began (``--set`` values included).
    A config.yaml that is missing is checked against the recipe last.pt records instead; then True is returned:
    the caller writes config.yaml again."""
    config = run_dir / "config.yaml"
    if not config.exists() and not config.is_symlink():
        last = run_dir / "last.pt"
        try:
            recipe = torch.load(last, map_location="cpu", weights_only=True).get("recipe")
            stored = json.loads(recipe) if isinstance(recipe, str) else None
        except Exception:  # noqa: BLE001 - unreadable: said below as having no recipe
            stored = None
        if not isinstance(stored, dict):
            raise ValueError(
                f"resume: {config} is missing and {last} records no recipe to check the run against (an unreadable "
                "file, or one written before 2026-12-06); restore config.yaml, or start a new run in another "
                "--run-dir"
            )
        changed = _recipe_changes(stored, json.loads(json.dumps(resolved)))
        if changed:
            raise ValueError(
                f"resume: {config} is missing, and the recipe differs from the one {last} records in {changed[:3]}"
                f"{' ...' if len(changed) > 3 else ''}; give the --config and --set values the run started with"
            )
        return True
    try:
        stored = yaml.safe_load(config.read_text())
        if not isinstance(stored, dict):
            raise ValueError("not a mapping")
    except Exception as err:  # noqa: BLE001 - one line naming the file, whatever is wrong with it
        raise ValueError(
            f"resume: {config} is damaged ({type(err).__name__}); restore it, or start a new run in another --run-dir"
        ) from None
    changed = _recipe_changes(stored, resolved)
    if changed:
        shown = ", ".join(f"{k}: {stored.get(k)!r} there, {resolved.get(k)!r} now" for k in changed[:3])
        raise ValueError(
            f"resume: the recipe differs from {run_dir / 'config.yaml'} in {changed} ({shown}"
            f"{', ...' if len(changed) > 3 else ''}); give the --config and --set values the run started with"
        )
    return False


def _recipe_changes(stored: dict[str, Any], resolved: dict[str, Any]) -> list[str]:
    """The recipe keys whose values differ between a run's ``stored`` recipe and ``resolved``, sorted; keys added
    to Recipe after the run started count as their defaults, and where the dataset and runs are kept may move (the
    dataset's fingerprint, paths relative to its root, says whether it is the same)."""
    stored = {**{k: v for k, v in Recipe().to_dict().items() if k not in stored}, **stored}
    keys = (set(stored) | set(resolved)) - set(_FEEDING_KEYS) - {"data", "out"}
    # a pretrained weights file may move too: a resume takes the weights from last.pt, not from it (a run started
    # with a relative path resumed only from the same folder, with the file unmoved)
    if is_weights_path(stored.get("pretrained")) and is_weights_path(resolved.get("pretrained")):
        keys.discard("pretrained")
    return sorted(k for k in keys if stored.get(k) != resolved.get(k))


def is_weights_path(value: Any) -> bool:
    """Whether a recipe's ``pretrained`` names a weights file (not ``imagenet`` or none)."""
    return isinstance(value, str) and bool(value) and value != "imagenet"


def nothing_to_resume(run_dir: Path) -> str | None:
    """Why ``run_dir`` cannot be resumed for want of its last.pt, or None when it has one."""
    last = Path(run_dir) / "last.pt"
    if last.is_file():
        return None
    if (Path(run_dir) / "model.pt").is_file():  # it said "no epoch ended ... start it again without --resume",
        # which then refused the folder
        why = "the run finished (its model.pt is there) and its training state was removed; nothing to continue"
    elif any((Path(run_dir) / name).is_file() for name in _STARTED_FILES):
        why = "no epoch of this run ended, so there is nothing to continue; start it again without --resume"
    else:
        why = "this is no training run's folder"
    return f"resume: {last} not found: {why}"


def _is_complete(run_dir: Path, epochs: int) -> bool:
    """Whether the run in ``run_dir`` finished: its manifest says so (written after model.pt and eval.json) and its
    eval.json is for ``epochs`` epochs."""
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        result = json.loads((run_dir / "eval.json").read_text())
    except Exception:  # noqa: BLE001 - missing or damaged: not complete, the resume finishes it
        return False
    return (
        isinstance(manifest, dict)
        and "finished" in manifest
        and isinstance(result, dict)
        and result.get("epochs") == epochs
        and (run_dir / "model.pt").is_file()
    )


def _redraw_curves(run_dir: Path) -> None:
    """A complete run stopped while it drew its pictures (SIGTERM, a full disk) has no curves.png: drawn again
    from metrics.json (retrieval.png needs an evaluation: ``mctrack reid eval`` scores the model again)."""
    path = run_dir / "curves.png"
    if path.is_file():
        return
    try:
        history = json.loads((run_dir / "metrics.json").read_text())
        plot_curves(history, path)
    except (OSError, ValueError, KeyError, TypeError, ImportError) as err:
        log.warning("resume: %s has no curves.png and it cannot be drawn again (%s)", run_dir, err)
    else:
        print(f"resume: drew the missing {path}")


def remove_unstarted_run(run_dir: Path, wrote: list[Path], made: bool) -> None:
    """After a new run stopped before its first epoch ended: remove the files it ``wrote`` (nothing to continue
    from; never a file it did not write, such as the recipe it was given or another run's), and its folder when it
    ``made`` it and the folder is empty."""
    for path in wrote:
        path.unlink(missing_ok=True)
    if made:
        with contextlib.suppress(OSError):  # not empty (files that came from elsewhere): left as it is
            run_dir.rmdir()


def _train_test_overlap(dataset) -> str | None:
    """Why the evaluation would not score unseen people: training images that are also query or gallery images
    (the same file names) or identities in both (Market-1501's splits share none); None when disjoint. A run
    trained on the test split's images was scored as if on new people (helper-71)."""
    test = (*dataset.query, *dataset.gallery)
    names = {s.path.name for s in dataset.train} & {s.path.name for s in test}
    # MSMT17's list files number each split's people from 0: its ids are not comparable across splits
    ids = set() if dataset.name == "msmt17" else {s.pid for s in dataset.train} & {s.pid for s in test if s.pid > 0}
    if not names and not ids:
        return None
    parts = [f"{len(names)} training image(s) are also query or gallery images (e.g. {min(names)})"] if names else []
    if ids:
        parts.append(f"{len(ids)} identit{'y is' if len(ids) == 1 else 'ies are'} in both the training and test split")
    return f"{'; '.join(parts)}: the evaluation does not score unseen people (a Re-ID protocol keeps them disjoint)"


def _write_metrics(run_dir: Path, history: list[dict[str, Any]]) -> None:
    _write_text(run_dir / "metrics.json", json.dumps(history, indent=1))
    keys = list(dict.fromkeys(key for row in history for key in row))
    with (run_dir / "metrics.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)


def train(
    recipe: Recipe,
    *,
    data: str | Path | None = None,
    out: str | Path | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
) -> Path:
    """Train `recipe` and return the run directory.

    Args:
        data: dataset root (default: recipe.data).
        out: parent of the run directory (default: recipe.out); ignored when run_dir is given.
        run_dir: the run directory (default: out/ARCH-YYYYmmdd-HHMMSS).
        resume: continue the run in run_dir from its last.pt (the recipe must be the same).
        stop_after: stop after this many epochs in total without finishing the run (simulates an interruption;
            last.pt is written, model.pt is not).
        progress: show the tqdm bar.
    """
    data = data if data is not None else recipe.data
    if data is None:
        raise RecipeError("recipe", "data", "no dataset folder (give --data or set data in the recipe)")
    resolved = {**recipe.to_dict(), "data": str(Path(data).resolve())}
    if is_weights_path(recipe.pretrained) and Path(recipe.pretrained).is_file():  # recorded wherever it ran from
        resolved["pretrained"] = str(Path(recipe.pretrained).resolve())
    if run_dir is None:
        if resume:
            raise ValueError("run_dir: resume needs the run directory")
        run_dir, made = new_run_dir(out or recipe.out, recipe.arch), True
    else:
        run_dir = Path(run_dir)
        made = not run_dir.exists()
    device = _device(recipe.device)
    rank, size, local_rank = world()
    started_group = False
    if size > 1:
        if recipe.p % size:
            raise RecipeError("recipe", "p", f"{recipe.p} identities per batch do not split over {size} processes")
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not tdist.is_initialized():
            # rank 0 evaluates and saves while the others wait at a barrier: allow it hours, not NCCL's default
            tdist.init_process_group(
                backend="nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(hours=4)
            )
            started_group = True
    amp_dtype = getattr(torch, recipe.amp_dtype)
    use_amp = recipe.amp and (device.type == "cuda" or amp_dtype == torch.bfloat16)
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    wrote: list[Path] = []
    try:
        if recipe.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
        with _run_lock(run_dir, wrote) if rank == 0 else contextlib.nullcontext():
            return _train(
                recipe,
                resolved,
                run_dir,
                device,
                amp_dtype if use_amp else None,
                resume,
                stop_after,
                progress and rank == 0,
                rank,
                size,
                wrote,
            )
    except BaseException:
        if rank == 0 and not resume and not (run_dir / "last.pt").exists():  # no epoch ended: nothing to continue
            remove_unstarted_run(run_dir, wrote, made)
        raise
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
        if started_group:
            tdist.destroy_process_group()


def _train(
    recipe: Recipe,
    resolved: dict[str, Any],
    run_dir: Path,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    resume: bool,
    stop_after: int | None,
    progress: bool,
    rank: int = 0,
    size: int = 1,
    wrote: list[Path] | None = None,
) -> Path:
    """One process's training; with ``size`` > 1 processes (torch.distributed, initialised by the caller) the
    model is wrapped in DistributedDataParallel, each rank takes its share of every P x K batch, centre-loss
    gradients are averaged by hand (they are the criterion's, not the model's), and rank 0 alone writes files
    (the others wait for it at the end of every epoch)."""
    lead = rank == 0
    wrote = [] if wrote is None else wrote  # the run's files this call wrote before its first epoch ended
    if resume:  # before the dataset is read and decoded (minutes on Market-1501)
        problem = nothing_to_resume(run_dir)
        if problem:
            raise FileNotFoundError(problem)
        if check_resume_recipe(run_dir, resolved) and lead:  # said and written once, by the first process
            log.warning(
                "resume: %s was missing; the recipe is the one last.pt records, and it is written again",
                run_dir / "config.yaml",
            )
            _write_text(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
        if _is_complete(run_dir, recipe.epochs):  # nothing to train or evaluate again (minutes on Market-1501)
            log.warning(
                "resume: %s is a complete run (%d epochs, model.pt and eval.json); nothing to do",
                run_dir,
                recipe.epochs,
            )
            if lead:
                _redraw_curves(run_dir)
            return run_dir
    if lead and not resume and (late := recipe.unreached_milestones()):
        log.warning("%s", late)
    try:
        dataset = load_dataset(recipe.dataset, resolved["data"], verbose=lead, test=recipe.evaluate)
    except DatasetError as exc:
        if exc.folder is not None and exc.folder.name in ("query", "bounding_box_test"):  # no test split
            raise DatasetError(f"{exc}; to train without evaluation: --set evaluate=false") from None
        raise
    q, g = dataset.query, dataset.gallery
    if not recipe.evaluate:
        if lead:
            log.warning("evaluate: false: trained without evaluation (no rank-1 or mAP is measured)")
    elif not count_matchable_queries(
        [s.pid for s in q], [s.pid for s in g], [s.camid for s in q], [s.camid for s in g]
    ):
        raise ValueError(
            f"{resolved['data']}: no query has a match in the gallery (the same identity from another camera), so "
            f"the run's evaluations would have nothing to score ({len(q)} queries, {len(g)} gallery images)"
        )
    if lead and recipe.evaluate and (leak := _train_test_overlap(dataset)):
        log.warning("%s: %s", resolved["data"], leak)
    # an unreadable image is reported now, not after the epochs that happened not to sample it (P x K batches
    # need not visit every training image), or before the first evaluation, or when the feature mean of every
    # training image is taken at the end (which left a finished run without its model.pt)
    digests = check_images(
        [s.path for s in (*dataset.train, *q, *g)],
        what="training, query and gallery images",
        threads=_usable_cores(),
        progress=progress,
    )
    pipeline = recipe.data_pipeline
    if pipeline == "auto":
        pipeline = "decoded" if device.type == "cuda" else "loader"
    state: dict[str, Any] | None = None
    if resume:
        last = run_dir / "last.pt"
        try:
            state = torch.load(last, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or "epoch" not in state:
                raise ValueError("not a training state")
        except Exception as err:  # noqa: BLE001 - one line, whatever torch raises for a damaged file
            why = str(err) if isinstance(err, ValueError) else unreadable_reason(last, err)
            raise ValueError(
                f"resume: {last} is damaged or not a training state ({why}); start a new run or restore the file"
            ) from None
        # a last.pt copied from another run of the same network loaded, and trained on mixed weights and curves
        # (states written before 2026-12-06 hold no recipe and are taken as they are)
        theirs, ours = state.get("recipe"), json.loads(json.dumps(resolved))  # both as JSON has them (lists)
        if isinstance(theirs, str) and (changed := _recipe_changes(json.loads(theirs), ours)):
            raise ValueError(
                f"resume: {last} is another run's training state (its recipe differs from this run's in {changed[:3]}"
                f"{' ...' if len(changed) > 3 else ''}); restore this run's last.pt or start a new run"
            )
    elif lead:
        check_new_run_dir(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = run_dir / "manifest.json"
    fingerprint = dataset_fingerprint(dataset)
    train_fingerprint = dataset_fingerprint(dataset, ("train",))  # what the weights depend on
    # the same over the files' bytes: an image changed at the same size is seen too (runs before 2026-12-06 have
    # the name-and-size fingerprints only, which their resumes compare)
    train_content = content_fingerprint(dataset, ("train",), digests=digests)  # from the bytes checked above
    test_content = content_fingerprint(dataset, ("query", "gallery"), digests=digests)  # as reid eval's
    content = hashlib.sha256(f"{train_content}\n{test_content}".encode()).hexdigest()
    if state is None:
        manifest = {
            "git_commit": git_commit(),
            "command": command(),
            "versions": versions(),
            "seed": recipe.seed,
            "dataset": {
                "format": recipe.dataset,
                "root": resolved["data"],
                "fingerprint": fingerprint,
                "train_fingerprint": train_fingerprint,
                "content_fingerprint": content,
                "train_content_fingerprint": train_content,
                "counts": dataset.summary(),
            },
            "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
            "amp": str(amp_dtype).removeprefix("torch.") if amp_dtype else False,
            "deterministic": recipe.deterministic,
            "torch_threads": torch.get_num_threads(),
            "world_size": size,
            "data_pipeline": pipeline,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "resumed": [],
        }
    else:
        try:
            manifest = json.loads(manifest_path.read_text())
            manifest["dataset"]["fingerprint"], manifest["resumed"]  # noqa: B018 - the keys resume needs
        except Exception as err:  # noqa: BLE001 - one line naming the file
            raise ValueError(
                f"resume: {manifest_path} is damaged ({type(err).__name__}: "
                f"{str(err).splitlines()[0][:80] if str(err) else ''}); start a new run"
            ) from None
        began_with = manifest["dataset"]
        if began_with["fingerprint"] != fingerprint or began_with.get("content_fingerprint", content) != content:
            if began_with.get("train_fingerprint") != train_fingerprint or (  # runs before it: the whole set
                began_with.get("train_content_fingerprint", train_content) != train_content
            ):
                began = manifest["dataset"].get("root")
                raise ValueError(
                    f"resume: the training images at {resolved['data']} are not the ones the run started with"
                    + (f" (at {began})" if began and began != resolved["data"] else "")
                    + ": resume with --data pointing at those (moved or copied whole is fine)"
                )
            log.warning(  # a damaged query or gallery image replaced: training continues, evaluation uses them
                "resume: the query or gallery images at %s changed since the run started; the training images "
                "did not: the evaluation scores the images as they are now (the epochs evaluated before, in "
                "metrics.csv, scored the earlier ones; manifest.json records both)",
                resolved["data"],
            )
            # the dataset entry says what the final evaluation scores; what the earlier evaluations scored is kept
            # with this resume's entry (it was overwritten, the counts left stale)
            changed = {
                "fingerprint_before": manifest["dataset"]["fingerprint"],
                "content_fingerprint_before": manifest["dataset"].get("content_fingerprint"),
                "counts_before": manifest["dataset"].get("counts"),
            }
            manifest["dataset"]["fingerprint"] = fingerprint
            manifest["dataset"]["content_fingerprint"] = content
            manifest["dataset"]["counts"] = dataset.summary()
        else:
            changed = None
        # a run started before the content fingerprints: checked from this resume on
        manifest["dataset"].setdefault("content_fingerprint", content)
        manifest["dataset"].setdefault("train_content_fingerprint", train_content)
        last = manifest["resumed"][-1] if manifest["resumed"] else manifest
        threads = torch.get_num_threads()
        if lead and last.get("torch_threads", threads) != threads:
            log.warning(  # CPU kernels split their sums by thread: bit-identical results need the same count
                "resume: %s was trained with %d CPU thread(s) and continues with %d: float sums split differently, "
                "so the weights will not be bit-identical to an uninterrupted run (set OMP_NUM_THREADS=%d to "
                "continue it as it started)",
                run_dir,
                last["torch_threads"],
                threads,
                last["torch_threads"],
            )
        before = last.get("world_size", 1)
        if before != size and lead:
            log.warning(  # the global batches are the same; what each process computes on its share is not
                "resume: %s was trained by %d process(es) and continues with %d: each process mines its triplets "
                "and keeps BatchNorm statistics on its own share of the batch, so the result will differ from an "
                "uninterrupted run (resume with --nproc %d to continue it as it started)",
                run_dir,
                before,
                size,
                before,
            )
        resumed = {
            "at_epoch": state["epoch"],
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "world_size": size,
            "data_pipeline": pipeline,
            "num_workers": recipe.num_workers,
            "data": resolved["data"],
            "torch_threads": threads,
            "command": command(),
            "git_commit": git_commit(),
            "versions": versions(),
        }
        if changed is not None:
            resumed["query_gallery_changed"] = changed
        manifest["resumed"].append(resumed)
    if lead:
        _write_text(manifest_path, json.dumps(manifest, indent=1))
        if state is None:  # the manifest first: a run killed between the two is still known as a run (a lone
            # config.yaml may be a user's recipe)
            wrote.append(manifest_path)
            _write_text(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
            wrote.append(run_dir / "config.yaml")

    torch.manual_seed(recipe.seed)
    with warnings.catch_warnings(record=True) as caught:  # what the backbone really started from is recorded
        warnings.simplefilter("always", PretrainedUnavailable)
        model = build_model(
            recipe.arch,
            num_classes=dataset.num_train_ids,
            backbone=recipe.backbone,
            # a resume's weights come from last.pt: the file the backbone started from is not read again (it may
            # have moved) nor are ImageNet weights fetched
            pretrained=recipe.pretrained if state is None else None,
            input_size=recipe.input_size,
            **recipe.model_kwargs,
        ).to(device)
    unavailable = [w.message for w in caught if isinstance(w.message, PretrainedUnavailable)]
    for w in caught:
        if not isinstance(w.message, PretrainedUnavailable):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if state is None:  # resumed: the weights come from last.pt, whatever the backbone started from
        if unavailable:
            log.warning("%s", unavailable[0])
        if lead:  # the recipe says imagenet either way: what the backbone really started from
            manifest["backbone_init"] = (
                f"random: {unavailable[0].reason}" if unavailable else str(recipe.pretrained or "random")
            )
            _write_text(manifest_path, json.dumps(manifest, indent=1))
    criterion = build_criterion(model).to(device)
    optimizer = build_optimizer(
        model,
        name=recipe.optimizer,
        lr=recipe.lr,
        weight_decay=recipe.weight_decay,
        backbone_lr_mult=recipe.backbone_lr_mult,
    )
    center_params = list(criterion.parameters())
    center_optimizer = torch.optim.SGD(center_params, lr=recipe.center_lr) if center_params else None
    center_weight = getattr(criterion, "center_weight", 1.0)
    # loss scaling only for float16 (bfloat16 has float32's range)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16 and device.type == "cuda")
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            criterion.load_state_dict(state["criterion"])
            optimizer.load_state_dict(state["optimizer"])
            if center_optimizer is not None:
                center_optimizer.load_state_dict(state["center_optimizer"])
            scaler.load_state_dict(state["scaler"])
            history = json.loads(state["history"])
            start_epoch = int(state["epoch"])
        except Exception as err:  # noqa: BLE001 - a state of another recipe or version, in one line
            first = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
            raise ValueError(
                f"resume: {run_dir / 'last.pt'} does not fit this run ({type(err).__name__}: {first})"
            ) from None

    core = model  # the network itself (its state is what is saved and evaluated)
    if size > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    paths, labels = [s.path for s in dataset.train], dataset.train_labels()
    sampler = PKBatchSampler(labels, recipe.p, recipe.k, seed=recipe.seed, rank=rank, world_size=size)
    transform = ReidTransform(
        recipe.input_size,
        train=True,
        pad=recipe.pad,
        flip=recipe.flip,
        color_jitter=recipe.color_jitter,
        random_erasing=recipe.random_erasing,
    )
    if pipeline == "decoded":  # every rank decodes all images (a rank's batches may hold any of them)
        threads = max(1, _usable_cores() // size)
        decoded = DecodedImages(paths, labels, transform, device=device, threads=threads, progress=progress)

        def epoch_batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            return (decoded.batch(items) for items in sampler)
    else:
        loader = DataLoader(
            ImageDataset(paths, labels, transform),
            batch_sampler=sampler,
            num_workers=recipe.num_workers,
            pin_memory=device.type == "cuda",
        )

        def epoch_batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            return ((images, targets) for images, targets, _ in dataset_errors_unwrapped(loader))

    eval_options = {
        "flip": recipe.flip_eval,
        "rerank": recipe.rerank,
        "batch_size": recipe.eval_batch_size,
        "progress": progress,
        "device": device,
    }
    dist = None
    summary: dict[str, Any] = {}  # the last evaluation's (its query counts go to eval.json)

    def save_state(epochs_done: int, hist: list[dict[str, Any]]) -> None:
        atomic_save(
            {
                "epoch": epochs_done,
                "model": core.state_dict(),
                "criterion": criterion.state_dict(),
                "optimizer": optimizer.state_dict(),
                "center_optimizer": center_optimizer.state_dict() if center_optimizer is not None else {},
                "scaler": scaler.state_dict(),
                "history": json.dumps(hist),
                "recipe": json.dumps(resolved),  # whose state it is: a resume checks it against its config.yaml
            },
            run_dir / "last.pt",
        )

    def scored(row: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """Evaluates the model as it is now; its figures go into ``row``: ``(summary, distance matrix)``."""
        result = evaluate(core, dataset, **eval_options)
        row.update({k: result[0][k] for k in RANK_KEYS})
        return result

    def due_evaluation(epochs_done: int) -> bool:
        final = epochs_done == recipe.epochs
        return recipe.evaluate and (final or bool(recipe.eval_every and epochs_done % recipe.eval_every == 0))

    # a resumed run whose last evaluation was cut short (Ctrl-C, an unreadable gallery image): its epoch's weights
    # were saved before it, so it is made now (the final epoch's after the loop, with the model's)
    if (
        lead
        and history
        and start_epoch < recipe.epochs
        and history[-1].get("rank1") is None
        and due_evaluation(start_epoch)
    ):
        summary, dist = scored(history[-1])
        save_state(start_epoch, history)
        _write_metrics(run_dir, history)
    for epoch in range(start_epoch, recipe.epochs):
        sampler.set_epoch(epoch)
        torch.manual_seed(recipe.seed * 1_000_003 + epoch + rank * 104_729)  # rank 0: the single-process seed
        base_lr = lr_at(
            epoch,
            lr=recipe.lr,
            warmup_epochs=recipe.warmup_epochs,
            warmup_start_lr=recipe.warmup_start_lr,
            milestones=recipe.milestones,
            gammas=recipe.gammas,
        )
        set_lr(optimizer, base_lr)
        model.train()
        started = time.perf_counter()
        sums: dict[str, float] = {}
        batches = 0
        bar = tqdm(
            epoch_batches(),
            total=len(sampler),
            desc=f"epoch {epoch + 1}/{recipe.epochs}",
            disable=not progress,
            leave=False,
        )
        for images, targets in bar:
            images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                output = model(images)
            total, terms = criterion(_float_output(output), targets)
            optimizer.zero_grad(set_to_none=True)
            if center_optimizer is not None:
                center_optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            if size > 1:  # the centres are the criterion's: DDP does not average their gradients
                for param in center_params:
                    if param.grad is not None:
                        tdist.all_reduce(param.grad)
                        param.grad.div_(size)
            scaler.step(optimizer)
            if center_optimizer is not None:
                scaler.unscale_(center_optimizer)
                for param in center_params:  # undo the loss weight: the centres move at center_lr (BoT)
                    if param.grad is not None:
                        param.grad.mul_(1.0 / center_weight)
                scaler.step(center_optimizer)
            scaler.update()
            batches += 1
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value
            # shown at the bar's own next refresh, with its count: refreshed here, a bar written to a log (mctrack's
            # TQDM_MININTERVAL 30 there) showed the losses with a count and rate that stayed at 0 all epoch
            postfix = {**{k: f"{v / batches:.3f}" for k, v in sums.items()}, "lr": f"{base_lr:.2e}"}
            bar.set_postfix(postfix, refresh=False)
        bar.close()
        if size > 1:  # the epoch's losses averaged over every rank's batches
            keys = sorted(sums)
            totals = torch.tensor([sums[k] for k in keys], dtype=torch.float64)
            tdist.all_reduce(totals)  # every rank ran the same number of batches
            sums = {k: float(v) / size for k, v in zip(keys, totals.tolist(), strict=True)}
        if not all(bool(torch.isfinite(p).all()) for p in core.parameters()):  # not saved: last.pt keeps the last good
            losses = ", ".join(f"{k} {v / max(batches, 1):.4g}" for k, v in sums.items())
            raise ValueError(
                f"training diverged in epoch {epoch + 1}: the weights are no longer finite (mean loss {losses}); "
                "lower lr" + (f"; {run_dir / 'last.pt'} holds epoch {epoch}" if epoch else "")
            )
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": float(f"{base_lr:.10g}"),  # 6e-05, not 5.9999999999999995e-05, in metrics.csv
            "lr_backbone": float(f"{optimizer.param_groups[0]['lr']:.10g}"),
            **{f"loss_{k}": v / max(batches, 1) for k, v in sums.items()},
            "batches": batches,
            "time_s": round(time.perf_counter() - started, 3),
        }
        final = epoch + 1 == recipe.epochs

        if lead and due_evaluation(epoch + 1):
            # the trained weights are kept whatever the evaluation meets (Ctrl-C, an unreadable gallery image): a
            # resume evaluates them then (only the final epoch's were saved first; the others' were lost, a first
            # epoch's with the run folder)
            save_state(epoch + 1, [*history, row])
            _write_metrics(run_dir, [*history, row])
            summary, dist = scored(row)
        history.append(row)
        if size > 1:
            for buffer in core.buffers():  # BatchNorm statistics: rank 0's, as DDP gives every rank at each forward
                tdist.broadcast(buffer, 0)
            _check_in_sync(core, criterion, epoch + 1, size)
        if not lead:  # rank 0 writes the epoch's files; the others wait for it
            tdist.barrier()
            if stop_after is not None and epoch + 1 >= stop_after and not final:
                return run_dir
            continue
        if progress:  # scores in percent, as the final line and `reid eval` print them
            shown = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k.startswith("loss_"))
            scores = [(label, row.get(k)) for k, label in (("rank1", "rank-1"), ("rank5", "rank-5"), ("mAP", "mAP"))]
            shown += "".join(f", {label} {100 * v:.2f}" for label, v in scores if v is not None)
            print(f"epoch {epoch + 1}/{recipe.epochs}: {shown}, lr={base_lr:.2e}, {row['time_s']:.1f}s", flush=True)
        save_state(epoch + 1, history)
        _write_metrics(run_dir, history)
        if size > 1:
            tdist.barrier()
        if stop_after is not None and epoch + 1 >= stop_after and not final:
            return run_dir

    if not lead:
        tdist.barrier()  # rank 0 saves the model and evaluates it
        return run_dir
    model = core
    model_path = run_dir / "model.pt"
    # the training crops' mean unit feature: inference centres features with it (see mctrack.embed.ReidEmbedder)
    mean = feature_mean(
        model, [s.path for s in dataset.train], input_size=model.input_size, seed=recipe.seed, device=device
    )
    save_checkpoint(
        model_path,
        model,
        extra={
            "recipe": resolved,
            "backbone_init": manifest.get("backbone_init"),
            "dataset_fingerprint": fingerprint,
            "epochs": recipe.epochs,
            "feature_mean": mean,
        },
    )
    if dist is None and recipe.evaluate:  # the run was already complete when resumed
        summary, dist = evaluate(model, dataset, **eval_options)
        if history and history[-1].get("rank1") is None:  # its final evaluation never finished (Ctrl-C, an error)
            history[-1].update({k: summary[k] for k in RANK_KEYS})
            save_state(recipe.epochs, history)
            _write_metrics(run_dir, history)
    final_eval = {
        # the last evaluation made: the final epoch's, or the one just made of a run complete when resumed (on the
        # query and gallery images as they are now, which may not be those its metrics.csv row scored)
        **{k: summary.get(k, history[-1].get(k)) for k in RANK_KEYS},
        "flip": recipe.flip_eval,
        "rerank": recipe.rerank,
        "evaluated": recipe.evaluate,
        "epochs": recipe.epochs,
        "train_time_s": round(sum(r["time_s"] for r in history), 2),
        "checkpoint": str(model_path),
        # queries scored and skipped (no true match in the gallery), as reid eval says them (a resumed run's
        # evaluation that had finished before holds none)
        **{k: summary[k] for k in ("queries", "skipped") if k in summary},
    }
    _write_text(run_dir / "eval.json", json.dumps(final_eval, indent=1))
    manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _write_text(manifest_path, json.dumps(manifest, indent=1))
    try:
        plot_curves(history, run_dir / "curves.png")
        if dist is not None:
            plot_retrieval(dataset, np.asarray(dist), run_dir / "retrieval.png")
    except ImportError as err:  # matplotlib missing: the run is still complete
        print(f"warning: no plots ({err})")
    if size > 1:
        tdist.barrier()
    return run_dir


def _check_in_sync(model: torch.nn.Module, criterion: torch.nn.Module, epoch: int, size: int) -> None:
    """Raise when the ranks' weights (model, its buffers, loss centres) are no longer identical: a checksum per
    rank, gathered and compared after every epoch (a cheap guard against a rank that silently went its own way)."""
    with torch.no_grad():
        tensors = [t for t in (*model.state_dict().values(), *criterion.state_dict().values()) if t.is_floating_point()]
        local = torch.stack([torch.stack([t.double().sum(), t.double().abs().sum()]) for t in tensors]).sum(0)
    gathered = [torch.zeros_like(local) for _ in range(size)]
    tdist.all_gather(gathered, local)
    values = [tuple(g.tolist()) for g in gathered]
    if any(v != values[0] for v in values):
        raise RuntimeError(f"distributed training: the ranks' weights differ after epoch {epoch} (checksums {values})")


def _float_output(output: Any) -> Any:
    """Losses in float32 under autocast."""
    from reid_models.models.output import ReidOutput

    return ReidOutput(
        feature=output.feature.float(),
        embeddings=tuple(e.float() for e in output.embeddings),
        logits=tuple(x.float() for x in output.logits),
    )
