"""``mctrack reid``: Re-ID feature extraction, training and evaluation."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import QUIET_INTERRUPT_ENV, ConfigError, InputError, error_line, missing_file
from ..outputs import check_output_folder, output_file
from ._common import TORCH_EMBEDDERS, add_embedder_args, embedder_from_args, features_record, weights_record
from .reid_crops import add_crops_parser

__all__ = ["register", "list_images"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
#: the file name endings ``reid export --out`` takes per format
EXPORT_SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".pth", ".ts")}
#: largest crop side ``reid export --input-size`` takes (the networks' inputs are 384x128 or 324x324)
MAX_INPUT_SIDE = 2048


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reid",
        help="extract, train and evaluate Re-ID features",
        description="Re-ID feature extraction (embed), training and evaluation.",
    )
    s = p.add_subparsers(dest="reid_command", metavar="ACTION", required=True)

    e = s.add_parser(
        "embed",
        help="features of every image in a folder of person crops",
        description="Embed every image of a folder (e.g. a Market-1501 split) and write an .npz "
        "with 'names' (paths relative to the folder), 'features' (N, D) unit rows and 'embedder' (its name).",
    )
    e.add_argument("--images", required=True, help="folder of person crops (searched recursively)")
    e.add_argument(
        "--out",
        required=True,
        help="output file, ending in .npz (a NumPy archive: names, features, embedder; its folder is created); "
        "checked before embedding, overwritten when present",
    )
    add_embedder_args(e, motion_only=False)  # features are what it writes
    e.set_defaults(func=embed_main)

    t = s.add_parser(
        "train",
        help="train a Re-ID model from a recipe",
        description="Train a Re-ID model from a recipe YAML; writes a run directory (checkpoint "
        "model.pt, config, manifest, metrics, eval.json, plots).",
    )
    t.add_argument("--config", required=True, help="recipe YAML, e.g. configs/reid/laga_market1501.yaml")
    t.add_argument("--data", help="dataset folder (overrides the recipe's data)")
    t.add_argument("--out", help="parent folder of the run directory (default: the recipe's out, runs/reid)")
    t.add_argument(
        "--run-dir",
        help="exact run directory: new, empty, or one whose run stopped before its first epoch ended "
        "(default: OUT/ARCH-TIMESTAMP)",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its last.pt; give the same --config, --data and --set as when it "
        "started (a different recipe is refused)",
    )
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value (YAML syntax), repeatable, e.g. --set epochs=5; one key of a mapping: "
        "--set model_kwargs.share_layer4=false (--set 'model_kwargs={...}' replaces the whole mapping)",
    )
    t.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="train with N processes on this machine (torch.distributed through torchrun; gloo on CPU, NCCL on "
        "GPU: one GPU per process); the recipe's p is the global batch, each process takes p/N identities "
        "(default: 1)",
    )
    t.add_argument(
        "--quiet", action="store_true", help="no progress bars and no per-epoch lines (warnings and the result stay)"
    )
    t.set_defaults(func=train_main)

    v = s.add_parser(
        "eval",
        help="evaluate a Re-ID checkpoint, Market-1501 protocol",
        description="Rank-1/5/10, mAP, mINP of a checkpoint on a dataset's query/gallery split (the training "
        "split is not needed); queries without a match in the gallery are skipped and counted.",
    )
    v.add_argument(
        "--weights",
        required=True,
        help="checkpoint (model.pt of a run) or bundled name (e.g. laga_market1501), or an export of reid export "
        "(.onnx, or TorchScript with its .json; scored as deployed, features centred, on the CPU)",
    )
    v.add_argument("--data", required=True, help="dataset folder")
    v.add_argument(
        "--format",
        default="market1501",
        dest="dataset_format",
        help="dataset layout: market1501, dukemtmc, cuhk03np, msmt17, samples (default: market1501)",
    )
    v.add_argument("--flip", action="store_true", help="average features of each crop and its mirror image")
    v.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking (k1=20, k2=6, lambda=0.3)")
    v.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    v.add_argument("--batch-size", type=int, default=128, help="images per forward pass (default: 128)")
    v.add_argument(
        "--workers", type=int, default=None, help="image-decoding processes (default: 4 on CUDA, 0 on the CPU)"
    )
    v.add_argument("--json", help="also write the result to this JSON file")
    v.set_defaults(func=eval_main)

    x = s.add_parser(
        "export",
        help="export a checkpoint as a self-contained ONNX or TorchScript embedder",
        description="Write a checkpoint as one model file that takes RGB crops (B, 3, H, W, 0-255) and "
        "returns unit, centred features (B, D): resize, normalisation, network and centring "
        "inside. It is checked against the in-process embedder (cosine per crop) before the "
        "command succeeds. Contract: FILE.json.",
    )
    x.add_argument(
        "--weights",
        default=None,
        help="checkpoint file or bundled name (default: the --reid network's bundled checkpoint)",
    )
    x.add_argument(
        "--reid",
        default=None,
        choices=TORCH_EMBEDDERS,
        help="network: without --weights its bundled checkpoint is exported (default: laga); with --weights the "
        "network the checkpoint holds (given, it must match)",
    )
    x.add_argument(
        "--format",
        default="onnx",
        choices=("onnx", "torchscript"),
        dest="export_format",
        help="onnx or torchscript (default: onnx). The ONNX file runs in onnxruntime and with --reid onnx; "
        "Ultralytics' BoT-SORT needs --input-range 0-1; BoxMOT feeds its own preprocessing to an .onnx (wrong "
        "features): in BoxMOT use mctrack.integrations.boxmot.BoxmotReID instead",
    )
    x.add_argument(
        "--out",
        required=True,
        help="output file, ending in .onnx (onnx) or .pt, .pth, .ts (torchscript; its folder is created); "
        "its contract is written to FILE.json",
    )
    x.add_argument(
        "--input-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help=f"crop size the exported model takes, 8-{MAX_INPUT_SIDE} each (default: the network input)",
    )
    x.add_argument(
        "--input-range",
        default="0-255",
        choices=("0-255", "0-1"),
        help="pixel range the exported model takes: 0-255, or 0-1 as Ultralytics' BoT-SORT ReID feeds "
        "an ONNX model (default: 0-255)",
    )
    x.add_argument("--check-images", help="folder of person crops for the check (default: crops of samples/small)")
    x.add_argument(
        "--min-cosine",
        type=float,
        default=0.999,
        help="smallest per-crop cosine accepted, in [-1, 1] (default: 0.999)",
    )
    x.set_defaults(func=export_main)

    add_crops_parser(s)

    c = s.add_parser(
        "center",
        help="store the feature mean that centres a checkpoint's features",
        description="Compute the mean unit feature of a folder of training crops (a seeded sample of "
        "at most --max-images) and store it in the checkpoint (extra.feature_mean); "
        "mctrack's embedder then centres features with it, which the default tracker and "
        "linker thresholds assume. 'mctrack reid train' does this itself; use this for "
        "checkpoints made without it.",
    )
    c.add_argument("--weights", required=True, help="checkpoint to update")
    c.add_argument(
        "--images",
        required=True,
        help="training crops (e.g. DATA/bounding_box_train), searched recursively; never the people you evaluate on",
    )
    c.add_argument("--out", help="write the updated checkpoint here (default: overwrite --weights)")
    c.add_argument("--max-images", type=int, default=1000, help="images sampled for the mean (default: 1000)")
    c.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    c.set_defaults(func=center_main)


def _check_export_args(args: argparse.Namespace) -> Path:
    """``--min-cosine``, ``--input-size`` and ``--out`` of ``reid export``, before anything is loaded or written."""
    if not (math.isfinite(args.min_cosine) and -1.0 <= args.min_cosine <= 1.0):
        raise InputError(f"--min-cosine: must be a finite number in [-1, 1], got {args.min_cosine}")
    if args.input_size is not None and not all(8 <= v <= MAX_INPUT_SIDE for v in args.input_size):
        h, w = args.input_size
        raise InputError(f"--input-size: H and W must be in [8, {MAX_INPUT_SIDE}], got {h} {w}")
    return output_file("--out", args.out, EXPORT_SUFFIXES[args.export_format])


def export_main(args: argparse.Namespace) -> int:
    """``reid export``; a failed or stopped export leaves no folder it made for ``--out`` (helper-101)."""
    here = Path(os.path.abspath(args.out)).parent
    made = [p for p in (here, *here.parents) if not p.exists()]  # deepest first
    try:
        code = _export(args)
    except BaseException:
        _remove_empty(made)
        raise
    if code:
        _remove_empty(made)
    return code


def _export(args: argparse.Namespace) -> int:
    import reid_models

    from ..embed.export import (
        ExportError,
        check_crops,
        contract_path,
        export_embedder,
        refuse_to_replace,
        verify_export,
    )
    from ..weights import WeightsError, default_weights, resolve_weights

    reid = args.reid or "laga"
    try:
        weights = resolve_weights(args.weights, option="--weights") if args.weights else default_weights(reid)
    except WeightsError as err:
        raise InputError(str(err)) from None
    if weights is None:
        raise InputError(f"--reid {reid}: no bundled checkpoint; pass --weights")
    out = _check_export_args(args)
    if out.exists() and out.resolve() == Path(weights).resolve():  # the export would overwrite its own source
        raise InputError(f"--out {args.out}: is the checkpoint being exported (--weights); choose another file")
    try:  # helper-83: a training run's model.pt was replaced (the export below is staged under another name)
        refuse_to_replace(out)
    except ExportError as err:
        raise InputError(f"--out {err}") from None
    try:  # the checkpoint's own problems name it, not --out
        _, manifest = reid_models.load_checkpoint(weights, map_location="cpu")
    except reid_models.CheckpointError:
        raise
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        raise InputError(f"{weights}: not a usable checkpoint ({error_line(err)})") from None
    if args.reid is not None and manifest.get("arch") != args.reid:  # as the embedder of track/run reports it
        raise InputError(
            f"{weights}: checkpoint holds a {manifest.get('arch')!r} network, not {args.reid!r} (use --reid "
            f"{manifest.get('arch')})"
        )
    samples = Path(__file__).resolve().parents[2] / "samples" / "small" / "reid" / "query"
    if args.check_images or samples.is_dir():  # a non-editable install has no samples/: generated crops then
        folder = Path(args.check_images) if args.check_images else samples
        files = list_images(folder)[:32]
        crops = [_read_crop(f) for f in files]
        source = f"crops of {folder}"
    else:
        crops, source = check_crops(16), "generated person-like crops"

    # written beside --out and moved there once checked: a failed export or check leaves the file that was there
    # (it removed a good earlier export at --out when a stricter --min-cosine refused the new one)
    # (through a link: its file is replaced, not the link; helper-70 saw a current.onnx link stop updating)
    target = out.resolve() if out.is_symlink() else out
    staged = target.with_name(f".{target.stem}.exporting-{os.getpid()}{target.suffix}")

    def remove() -> None:
        for leftover in (staged, contract_path(staged)):
            leftover.unlink(missing_ok=True)

    try:
        contract = export_embedder(
            weights, staged, fmt=args.export_format, input_hw=args.input_size, input_range=args.input_range
        )
        cosine = verify_export(weights, staged, crops)
        if cosine.min() >= args.min_cosine:  # NaN cosines fail too
            os.replace(staged, target)  # the model first: an ONNX file carries its contract inside too
            os.replace(contract_path(staged), contract_path(out))
    except BaseException as err:  # exporter/runtime failures of any kind, Ctrl-C: no half-written file is left
        remove()
        if isinstance(err, (ExportError, ValueError, RuntimeError)):
            first = str(err).splitlines()[0].replace(str(staged), str(out))  # not the hidden file's name
            raise InputError(f"--out {args.out}: {type(err).__name__}: {first}") from None
        raise
    remove()
    print(
        f"check on {len(crops)} {source}: cosine to the in-process embedder min {cosine.min():.5f}, "
        f"mean {cosine.mean():.5f}"
    )
    if not cosine.min() >= args.min_cosine:
        kept = "; the file there before is kept" if out.exists() else ""
        low = cosine.min()  # with the digits that show it below the threshold ("1.00000 below 1.0" said nothing)
        shown = f"{low:.5f}" if not round(float(low), 5) >= args.min_cosine else f"{low:.8f}"
        print(
            f"mctrack reid export: error: {args.out}: cosine {shown} below --min-cosine "
            f"{args.min_cosine}; not written{kept}",
            file=sys.stderr,
        )
        return 1
    print(
        f"wrote {args.out} ({args.export_format}, input {contract['input']['shape']}, "
        f"output {contract['output']['shape']}) from {weights}"
    )
    if args.export_format == "onnx":  # where it gives the features checked above, and where it does not
        where = (
            "Ultralytics' BoT-SORT ReID (model: FILE)"
            if args.input_range == "0-1"
            else "not in Ultralytics' BoT-SORT, which feeds 0-1 pixels (export with --input-range 0-1 for it)"
        )
        print(
            f"use: --reid onnx --weights {args.out}; {where}; in BoxMOT through "
            "mctrack.integrations.boxmot.BoxmotReID (BoxMOT's own loading of an .onnx rescales the crops)"
        )
    return 0


def center_main(args: argparse.Namespace) -> int:
    from reid_models.train import store_feature_mean

    from ..embed.reid import select_device
    from ..weights import bundled

    weights = Path(args.weights)
    if not weights.is_file():
        named = bundled().get(str(args.weights))  # other commands take the name: here only with --out
        if named is None:
            raise InputError(f"{weights}: {missing_file(weights, 'checkpoint')}")
        if not args.out:
            raise InputError(
                f"--weights {args.weights}: a bundled checkpoint is not updated in place; give --out FILE.pt"
            )
        weights = named
    try:  # before the checkpoint is loaded onto it: a bad device is not the checkpoint's fault
        select_device(args.device)
    except ValueError as err:
        raise InputError(f"--{err}") from None
    # before embedding every crop; a checkpoint is a PyTorch file (--out m.onnx wrote one under that name)
    out = output_file("--out", args.out, (".pt", ".pth")) if args.out else weights
    paths = list_images(args.images)
    if args.max_images < 1:
        raise InputError(f"--max-images: must be >= 1, got {args.max_images}")
    n = store_feature_mean(weights, paths, out=out, max_images=args.max_images, device=args.device)
    print(f"stored the mean unit feature of {n} crops of {args.images} in {out}")
    return 0


def train_main(args: argparse.Namespace) -> int:
    from reid_models.recipe import RecipeError, load_recipe
    from reid_models.train import train
    from reid_models.train.engine import (
        check_new_run_dir,
        check_not_busy,
        is_weights_path,
        nothing_to_resume,
        world,
    )

    from ..weights import WeightsError, resolve_weights

    try:
        recipe = load_recipe(args.config, args.set)
    except RecipeError as err:
        # the recipe names itself ("PATH: key: ..." or "PATH --set: key: ..."): say the path once
        raise ConfigError(args.config, None, str(err).removeprefix(str(args.config)).lstrip(": ")) from None
    if args.nproc < 1:
        raise InputError(f"--nproc: must be >= 1, got {args.nproc}")
    if args.resume and not args.run_dir:
        raise InputError("--resume: needs --run-dir (the run to continue)")
    if args.out and args.run_dir:  # helper-83: --out was ignored without a word
        raise InputError(
            "--out and --run-dir: give one (--run-dir is the run's folder itself, --out the parent of a new "
            "ARCH-TIMESTAMP one)"
        )
    if args.resume and not Path(args.run_dir).is_dir():
        raise InputError(f"--run-dir {args.run_dir}: no run folder there to resume")
    lead = world()[0] == 0
    if args.run_dir and lead and Path(args.run_dir).is_dir():  # a run training there changes its files
        try:
            check_not_busy(Path(args.run_dir))
        except ValueError as err:
            raise InputError(str(err)) from None
    if args.resume and (problem := nothing_to_resume(Path(args.run_dir))):  # before the dataset is read
        raise InputError(problem)
    if not args.resume and lead:  # before the dataset is read: a file in the way, a folder that cannot be made,
        # a folder whose files a new run would replace (it used to overwrite a finished run's model.pt)
        option, folder = ("--run-dir", args.run_dir) if args.run_dir else ("--out", args.out or recipe.out)
        check_output_folder(option, folder)
        if args.run_dir:
            try:
                check_new_run_dir(Path(args.run_dir))
            except ValueError as err:
                raise InputError(str(err)) from None
    if is_weights_path(recipe.pretrained):  # a file, or a bundled checkpoint's name as --weights takes (helper-83)
        try:
            recipe = dataclasses.replace(
                recipe, pretrained=str(resolve_weights(recipe.pretrained, option="pretrained"))
            )
        except WeightsError as err:
            # said before the dataset is read and its images checked (a resume takes its weights from last.pt)
            if not args.resume:
                given = f"{args.config} --set" if any(kv.startswith("pretrained=") for kv in args.set) else args.config
                problem = str(err).removeprefix("pretrained ")
                raise ConfigError(given, "pretrained", f"{problem}; or 'imagenet', or null (random weights)") from None
    if not args.data and recipe.data:  # the recipe's folder: named with the recipe (helper-101)
        from reid_models.data.datasets import dataset_folder_problem

        if problem := dataset_folder_problem(recipe.data):
            given = f"{args.config} --set" if any(kv.startswith("data=") for kv in args.set) else args.config
            relative = "" if Path(recipe.data).is_absolute() else f" (read from the current folder, {Path.cwd()})"
            raise ConfigError(given, "data", f"{recipe.data}: {problem}{relative}")
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return _launch(args, recipe)
    # fixed here so that an interrupted run can say where it is; train() removes a --run-dir it made itself
    run_dir, made = _run_dir(args, recipe)
    try:
        run_dir = train(recipe, data=args.data, run_dir=run_dir, resume=args.resume, progress=not args.quiet)
    except BaseException as err:
        if lead and (run_dir / "last.pt").is_file():
            if isinstance(err, KeyboardInterrupt):
                log.warning(
                    "the finished epochs are in %s; continue with the same command and --run-dir %s --resume",
                    run_dir / "last.pt",
                    run_dir,
                )
        elif lead:  # no epoch ended: train() removed what it wrote; the folders made here go too
            _remove_empty(made)
        raise
    if world()[0] != 0:  # a torchrun worker: rank 0 reports
        return 0
    result = json.loads((run_dir / "eval.json").read_text())
    print(f"run directory: {run_dir}")
    print(_format_result(result) if result.get("rank1") is not None else "not evaluated (evaluate: false)")
    return 0


def _launch(args: argparse.Namespace, recipe) -> int:
    """``--nproc N``: the same command in N processes under torchrun (``torch.distributed.run``, single node);
    the run directory is fixed here so that every process writes to (rank 0) and reads from the same one."""
    import subprocess

    from reid_models.data.datasets import dataset_folder_problem
    from reid_models.provenance import COMMAND_ENV

    from ._torchrun import LAUNCHER_PID_ENV

    if recipe.p % args.nproc:
        raise InputError(f"--nproc {args.nproc}: the recipe's p = {recipe.p} identities do not split evenly")
    if recipe.p // args.nproc < 2:
        raise InputError(
            f"--nproc {args.nproc}: p = {recipe.p} leaves {recipe.p // args.nproc} identity per process; the "
            "triplet loss is mined within each process and needs at least 2 (raise p or lower --nproc)"
        )
    data = args.data or recipe.data
    if not data:
        raise InputError("no dataset folder (give --data)")
    if problem := dataset_folder_problem(data):
        raise InputError(f"{data}: {problem}")
    run_dir, made = _run_dir(args, recipe)
    # torchrun (torch.distributed.run) without its traceback when Ctrl-C or SIGTERM stops it
    cmd = [sys.executable, "-m", "mctrack.commands._torchrun", "--standalone", f"--nproc_per_node={args.nproc}"]
    cmd += ["-m", "mctrack.cli", "reid", "train", "--config", str(args.config), "--run-dir", str(run_dir)]
    cmd += ["--data", str(args.data)] if args.data else []
    cmd += ["--resume"] if args.resume else []
    cmd += [f"--set={kv}" for kv in args.set]
    cmd += ["--quiet"] if args.quiet else []
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc)))
    env[QUIET_INTERRUPT_ENV] = "1"  # an interrupt reaches every worker too (through torchrun): this one says it
    env[LAUNCHER_PID_ENV] = str(os.getpid())  # torchrun stops when this process dies, even killed
    env[COMMAND_ENV] = getattr(args, "command_line", "")  # what the workers record: this command, with --nproc
    print(f"training with {args.nproc} processes: {' '.join(cmd)}", file=sys.stderr, flush=True)
    try:
        # a session of its own: a terminal's Ctrl-C reaches the launcher alone, which passes it on (below)
        return _wait_for_torchrun(subprocess.Popen(cmd, env=env, start_new_session=True))
    finally:  # a run that failed before its first epoch ended: the folders made here go, when empty
        _remove_empty(made)


def _run_dir(args: argparse.Namespace, recipe) -> tuple[Path, list[Path]]:
    """The run folder (--run-dir, else a new ``OUT/ARCH-TIMESTAMP`` made now) and the folders made here for it,
    innermost first (the new run folder, and --out when it did not exist)."""
    from reid_models.train.engine import new_run_dir

    if args.run_dir:
        return Path(args.run_dir), []
    parent = Path(args.out or recipe.out)
    missing = [p for p in (parent, *parent.parents) if not p.exists()]  # innermost first (runs/reid, then runs)
    run_dir = new_run_dir(parent, recipe.arch)
    return run_dir, [run_dir, *missing]


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):  # only when empty: a run that wrote anything keeps its folder
            folder.rmdir()


def _wait_for_torchrun(proc) -> int:
    """torchrun's exit status, waiting for it to end however the launcher is stopped: torchrun runs in a session
    of its own, so Ctrl-C and SIGTERM (kill, docker stop) reach the launcher alone, which passes each on to
    torchrun, which passes it to its workers, and waits while they save and stop (a SIGTERM used to kill torchrun
    at once and leave the workers running; a SIGINT sent to the launcher alone was not passed on, the workers
    trained to the end and the finished run was said to be interrupted). Raises KeyboardInterrupt after either."""
    import signal
    import threading

    from ..signals import note_interrupt

    caught: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        caught.append(signum)
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {}
    # SIGHUP (the terminal closed) and SIGQUIT reach the launcher alone too since torchrun has a session of its
    # own: passed on as well, else the launcher died and torchrun trained on as an orphan (helper-70)
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    passed = [getattr(signal, name) for name in names if hasattr(signal, name)]
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, on_signal) for signum in passed}
    try:
        code = proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        note_interrupt(caught[0])  # the command's exit code: 128 + the signal's number
        raise KeyboardInterrupt
    return code


def eval_main(args: argparse.Namespace) -> int:
    from reid_models.recipe import DATASET_FORMATS
    from reid_models.train import evaluate_checkpoint

    from ..embed import select_device
    from ..embed.export import ExportError, contract_path, evaluate_export
    from ..weights import WeightsError, resolve_weights

    try:
        weights = resolve_weights(args.weights, option="--weights")
    except WeightsError as err:
        raise InputError(str(err)) from None
    if args.batch_size < 1:
        raise InputError(f"--batch-size: must be >= 1, got {args.batch_size}")
    if args.dataset_format not in DATASET_FORMATS:
        raise InputError(
            f"--format: unknown dataset layout {args.dataset_format!r}; valid: {', '.join(DATASET_FORMATS)}"
        )
    if args.workers is not None and args.workers < 0:
        raise InputError(f"--workers: must be >= 0, got {args.workers}")
    json_out = output_file("--json", args.json) if args.json else None
    # the same protocol for a checkpoint and an export (the latter on the CPU, as deployed)
    scoring = dict(dataset_format=args.dataset_format, flip=args.flip, rerank=args.rerank, progress=True)
    scoring["batch_size"] = args.batch_size
    if Path(weights).suffix.lower() == ".onnx" or contract_path(weights).is_file():  # an export of reid export
        if args.device not in (None, "cpu"):
            log.warning("--device %s: an export is scored on the CPU", args.device)
        try:
            result = evaluate_export(weights, args.data, num_workers=args.workers or 0, **scoring)
        except ExportError as err:
            raise InputError(str(err)) from None
        if result["export"]["features"]:  # centred, unlike reid eval of the checkpoint: its scores differ a little
            print(f"note: {args.weights} scored as exported: {result['export']['features']}", file=sys.stderr)
    else:
        device = select_device(args.device)
        workers = args.workers if args.workers is not None else (4 if device.type == "cuda" else 0)
        result = evaluate_checkpoint(weights, args.data, device=str(device), num_workers=workers, **scoring)
    if not result.get("queries"):
        raise InputError(
            f"{args.data}: no query (of {result.get('skipped', 0)}) has a match in the gallery (the same identity "
            "seen by another camera): nothing to score"
        )
    print(_format_result(result))
    run = result.get("trained_with") or {}
    differs = [
        f"--{k}" for k, was in (("flip", run.get("flip_eval")), ("rerank", run.get("rerank"))) if was and not result[k]
    ]
    if differs:  # a run's eval.json is not reproduced without them (the *_samples recipes evaluate with flip)
        print(
            f"note: the run that trained {args.weights} evaluated with {' and '.join(differs)}; add "
            f"{'them' if len(differs) > 1 else 'it'} to score as its eval.json does",
            file=sys.stderr,
        )
    if json_out is not None:
        from reid_models.provenance import provenance

        result = {**result, "provenance": provenance(getattr(args, "command_line", None))}
        json_out.write_text(json.dumps(result, indent=1))
    return 0


def _format_result(result: dict) -> str:
    skipped = int(result.get("skipped") or 0)
    return (
        "rank-1 {:.2f}  rank-5 {:.2f}  rank-10 {:.2f}  mAP {:.2f}  mINP {:.2f}".format(
            *(100 * result[k] for k in ("rank1", "rank5", "rank10", "mAP", "mINP"))
        )
        + f"  (flip={result['flip']}, rerank={result['rerank']})"
        + (
            f"  {skipped} of {skipped + int(result.get('queries') or 0)} queries skipped (no match in the gallery)"
            if skipped
            else ""
        )
    )


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder``, sorted; a missing or empty folder is an InputError."""
    root = Path(folder)
    if root.is_file():
        raise InputError(f"{root}: a file, not a folder of images")
    if not root.is_dir():
        raise InputError(f"{root}: folder not found")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def _read_crop(path: Path) -> np.ndarray:
    """A crop image, BGR; an unreadable or cut-short file (cv2.imread decodes one, the rest grey, with a libjpeg
    line that names no file) is an :class:`InputError` naming it, as for training and evaluation."""
    from reid_models.data import DatasetError, read_image

    try:
        return read_image(path)
    except DatasetError as err:
        raise InputError(str(err)) from None


def embed_main(args: argparse.Namespace) -> int:
    out = output_file("--out", args.out, (".npz",))  # before any work: np.savez would add .npz to other names
    files = list_images(args.images)
    embedder = embedder_from_args(args)
    if embedder is None:
        raise ValueError("--reid: 'none' computes no features")
    model = getattr(embedder, "weights", None) or f"--reid {args.reid}"
    chunk = max(getattr(embedder, "batch_size", 64), 1)
    feats = np.zeros((len(files), embedder.dim), np.float32)
    with tqdm(total=len(files), desc=f"embed ({embedder.name})", unit="crop") as bar:
        for start in range(0, len(files), chunk):
            crops = []
            for f in files[start : start + chunk]:
                crops.append(_read_crop(f))
            batch = np.asarray(embedder.embed_crops(crops), np.float32)
            if not np.isfinite(batch).all():
                first = files[start + int(np.flatnonzero(~np.isfinite(batch).all(axis=1))[0])]
                raise InputError(f"{model}: the model returned non-finite features (NaN/inf), e.g. for {first}")
            feats[start : start + len(crops)] = batch
            bar.update(len(crops))
    names = np.array([str(f.relative_to(args.images)) for f in files])
    try:
        # what made them, so that two feature files can be told apart (helper-101: the embedder's name alone)
        made_by = {
            "reid": args.reid,
            **weights_record(getattr(embedder, "weights", None)),
            "precision": getattr(embedder, "precision", None),
            **features_record(args),
        }
        np.savez(out, names=names, features=feats, embedder=embedder.name, settings=json.dumps(made_by))
    except OSError as err:
        raise InputError(f"--out {args.out}: {err.strerror or error_line(err)}") from None
    print(f"wrote {len(files)} x {embedder.dim} features to {out}")
    return 0
