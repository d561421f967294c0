"""Make the shipped default Re-ID checkpoint (`mctrack/weights/<arch>_samples.pt`), reproducibly.

The checkpoint `mctrack run` uses when no `--weights` are given must not have seen the people of the committed
scene `samples/small`. So it is trained on OTHER synthetic people:

1. generate `small` scenes with seeds 1..N (each seed draws new people; seed 0 is the committed scene),
2. pool ALL their Re-ID crops (train, query and gallery identities) into one Market-1501 training split, with
   identities renumbered per seed,
3. use the committed scene's query/gallery (`samples/small/reid`) as the evaluation split: every evaluated person
   is unseen in training,
4. train the `<arch>_samples` recipe, evaluate, and write the final weights without the training-only
   classifier heads, in float16, with the manifest (architecture, input size, recipe, data fingerprint).

    python benchmarks/train_default_embedder.py                  # laga, seeds 1-3
    python benchmarks/train_default_embedder.py --recenter       # only (re)compute the stored feature mean
    python benchmarks/train_default_embedder.py --arch can --seeds 1 2 3 4 --set epochs=16
    python benchmarks/train_default_embedder.py --seeds $(seq 1 40) --work runs/synth_many --pool-only
        # only steps 1-2: about 1,150 generated people in WORK/pooled_reid, e.g. to pretrain on before Market-1501
    python benchmarks/train_default_embedder.py --track-appearance 0.3 0.8 --annotate
        # only store the tracker appearance settings recommended with the existing checkpoint (how laga_samples'
        # were chosen: docs/tracking.md, "Per-checkpoint appearance settings")
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.embed import valid_track_appearance  # noqa: E402
from mctrack.synth import make_scene  # noqa: E402
from reid_models.checkpoint import CheckpointError, export_for_inference, load_checkpoint, update_extra  # noqa: E402
from reid_models.recipe import load_recipe  # noqa: E402
from reid_models.train import evaluate_checkpoint, store_feature_mean, train  # noqa: E402


def pool_crops(scenes: list[Path], eval_split: Path, out: Path) -> dict[str, int]:
    """Market-1501 folder: every crop of ``scenes`` as training data (ids renumbered), ``eval_split``'s
    query/gallery for evaluation. Returns counts."""
    if out.exists():
        shutil.rmtree(out)
    train_dir = out / "bounding_box_train"
    train_dir.mkdir(parents=True)
    ids = set()
    for i, scene in enumerate(scenes, 1):
        for split in ("bounding_box_train", "query", "bounding_box_test"):
            for img in sorted((scene / "reid" / split).glob("*.jpg")):
                pid, rest = img.name.split("_", 1)
                new_pid = i * 100 + int(pid)  # scenes have < 100 people
                if new_pid > 9999:
                    raise ValueError(f"too many scenes for 4-digit ids: {scene}")
                ids.add(new_pid)
                shutil.copyfile(img, train_dir / f"{new_pid:04d}_{rest}")
    for split in ("query", "bounding_box_test"):
        shutil.copytree(eval_split / split, out / split)
    return {"train_ids": len(ids), "train_images": len(list(train_dir.glob("*.jpg")))}


def _annotate(ap: argparse.ArgumentParser, args: argparse.Namespace, out: Path, extra: dict) -> int:
    """--annotate: merge ``extra`` into the existing checkpoint ``out`` and its ``.json``, checking both first."""
    if not args.track_appearance:
        ap.error("--annotate: needs --track-appearance WEIGHT THRESH")
    if args.recenter or args.pool_only:
        ap.error("--annotate: cannot be combined with --recenter or --pool-only")
    if not out.is_file():
        ap.error(f"--annotate: {out} {'is a folder' if out.is_dir() else 'does not exist'}, not a checkpoint")
    try:
        _, manifest = load_checkpoint(out)
    except CheckpointError as err:
        ap.error(f"--annotate: {err}")
    if manifest["arch"] != args.arch:
        ap.error(f"--annotate: {out} holds a {manifest['arch']!r} network, not {args.arch!r} (--arch)")
    info_path = out.with_suffix(".json")
    try:
        if info_path.is_file():
            json.loads(info_path.read_text())
    except (OSError, ValueError) as err:
        ap.error(f"--annotate: {info_path}: not readable JSON ({err})")
    update_extra(out, extra)
    _update_info(out, extra)
    print(f"stored {extra} in {out}")
    return 0


def _update_info(out: Path, fields: dict) -> None:
    """Merge ``fields`` (and the checkpoint's new size) into the checkpoint's ``.json`` description, if any."""
    info_path = out.with_suffix(".json")
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        info.update(fields, size_mb=round(out.stat().st_size / 2**20, 2))
        info_path.write_text(json.dumps(info, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="laga", choices=("laga", "can", "global"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="training scene seeds (not 0)")
    ap.add_argument("--work", default="runs/default_embedder", help="scratch folder (scenes, pooled crops, run)")
    ap.add_argument("--eval-split", default=str(ROOT / "samples" / "small" / "reid"))
    ap.add_argument("--out", help="checkpoint to write (default: mctrack/weights/<arch>_samples.pt)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    ap.add_argument(
        "--recenter",
        action="store_true",
        help="do not train: store the training crops' mean unit feature in the existing --out checkpoint "
        "(checkpoints made before centring existed)",
    )
    ap.add_argument(
        "--track-appearance",
        nargs=2,
        type=float,
        metavar=("WEIGHT", "THRESH"),
        help="tracker appearance weight and threshold recommended with the checkpoint (extra.track_appearance)",
    )
    ap.add_argument(
        "--annotate",
        action="store_true",
        help="do not train: only store --track-appearance in the existing --out checkpoint",
    )
    ap.add_argument(
        "--pool-only",
        action="store_true",
        help="generate the scenes and pool their crops into WORK/pooled_reid, no training",
    )
    args = ap.parse_args(argv)
    if args.track_appearance and not valid_track_appearance(args.track_appearance):
        ap.error(f"--track-appearance: weight in [0, 1] and threshold in (0, 2], got {args.track_appearance}")
    out = Path(args.out) if args.out else ROOT / "mctrack" / "weights" / f"{args.arch}_samples.pt"
    extra = {"track_appearance": args.track_appearance} if args.track_appearance else {}
    if args.annotate:
        return _annotate(ap, args, out, extra)
    if 0 in args.seeds:
        ap.error("--seeds: seed 0 is the committed evaluation scene; train on other seeds")
    work = Path(args.work)
    scenes = []
    for seed in args.seeds:
        scene = work / f"small_seed{seed}"
        if not (scene / "manifest.json").is_file():
            make_scene("small", scene, seed=seed, progress=True, overwrite=True)  # one cut short before
        scenes.append(scene)
    data = work / "pooled_reid"
    counts = pool_crops(scenes, Path(args.eval_split), data)
    if args.pool_only:
        print(f"pooled {counts['train_ids']} identities, {counts['train_images']} images into {data}")
        return 0
    if args.recenter:
        paths = sorted((data / "bounding_box_train").glob("*.jpg"))
        store_feature_mean(out, paths)
        _update_info(out, {"feature_mean": f"mean unit feature of {len(paths)} training crops"})
        print(f"stored the feature mean of {len(paths)} training crops in {out}")
        return 0
    print(
        f"pooled training crops: {counts['train_ids']} identities, {counts['train_images']} images "
        f"from seeds {args.seeds}; evaluation: {args.eval_split}"
    )
    recipe = load_recipe(ROOT / "configs" / "reid" / f"{args.arch}_samples.yaml", args.set)
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    run_dir = train(recipe, data=data, out=work / "runs")
    result = evaluate_checkpoint(run_dir / "model.pt", data, dataset_format="samples", flip=True)
    export_for_inference(run_dir / "model.pt", out, extra=extra)
    info = {
        **extra,
        "arch": args.arch,
        "seeds": args.seeds,
        "overrides": args.set,
        **counts,
        "eval_split": str(args.eval_split),
        "run_dir": str(run_dir),
        "eval": result,
        "size_mb": round(out.stat().st_size / 2**20, 2),
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2, default=str))
    print(
        f"wrote {out} ({info['size_mb']} MB); eval on unseen people: rank-1 {result['rank1']:.3f}, "
        f"mAP {result['mAP']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
