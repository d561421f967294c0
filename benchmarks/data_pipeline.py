"""Training data path speed: augmented P x K batches per second from each pipeline, without the network.

    python benchmarks/data_pipeline.py --data DATA/market1501                        # CPU, 256x128 and 128x64
    python benchmarks/data_pipeline.py --data DATA/market1501 --device cuda --sizes 384x128 --workers 0 8
    python benchmarks/data_pipeline.py                                               # a generated folder

`loader` is the DataLoader path (each image decoded and augmented per epoch, `--workers` processes); `decoded`
decodes every training image once (timed separately: `decode_s`) and augments whole batches on `--device`
(recipe key `data_pipeline`). Prints images/s per case; with a GPU the decoded path should outrun any training
step, which is the point of it. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reid_models.data import DecodedImages, ImageDataset, PKBatchSampler, ReidTransform, load_dataset  # noqa: E402
from reid_models.data.synthetic import write_synthetic_market  # noqa: E402


def measure(paths, labels, size, pipeline, *, device, workers, batches, p, k) -> dict:
    """Images/s of ``batches`` augmented batches (after one warm-up batch), over as many epochs as that takes."""
    transform = ReidTransform(size, train=True, pad=10, color_jitter=0.2, random_erasing=0.5)
    sampler = PKBatchSampler(labels, p, k, seed=0)
    row = {"pipeline": pipeline, "size": f"{size[0]}x{size[1]}", "device": str(device), "workers": workers}
    if pipeline == "decoded":
        t0 = time.perf_counter()
        data = DecodedImages(paths, labels, transform, device=device, threads=os.cpu_count() or 1)
        row["decode_s"] = round(time.perf_counter() - t0, 2)

        def epoch():
            return (data.batch(items) for items in sampler)
    else:
        dataset = ImageDataset(paths, labels, transform)
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            persistent_workers=workers > 0,
        )

        def epoch():
            return ((x.to(device, non_blocking=True), y) for x, y, _ in loader)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    done = images_seen = 0
    t0 = None
    for e in itertools.count():
        sampler.set_epoch(e)
        for images, _ in epoch():
            if t0 is None:  # the first batch warms up (workers start, kernels load): not timed
                sync()
                t0 = time.perf_counter()
                continue
            images_seen += len(images)
            done += 1
            if done >= batches:
                break
        if done >= batches:
            break
    sync()
    row["batches"] = done
    row["img_per_s"] = round(images_seen / (time.perf_counter() - t0), 1)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="a Market-1501 folder (default: a generated 100-identity one)")
    ap.add_argument("--format", default="market1501")
    ap.add_argument("--sizes", nargs="+", default=["256x128", "128x64"], help="HxW")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers to try")
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--p", type=int, default=16)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    try:
        device = torch.device(args.device)
        sizes = [tuple(int(v) for v in text.lower().split("x")) for text in args.sizes]
        if any(len(hw) != 2 or min(hw) < 1 for hw in sizes):
            raise ValueError
    except (RuntimeError, ValueError):
        ap.error(f"--device {args.device} / --sizes {' '.join(args.sizes)}: expected cpu|cuda[:N] and HxW sizes")
    if args.batches < 1:
        ap.error("--batches: must be >= 1")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or write_synthetic_market(Path(tmp), train_ids=100, test_ids=2, cameras=2, per_camera=4)
        dataset = load_dataset(args.format, root, verbose=False)
        paths, labels = [s.path for s in dataset.train], dataset.train_labels()
        print(f"{len(paths)} training images of {dataset.num_train_ids} ids from {root}; batches of {args.p}x{args.k}")
        rows = []
        if dataset.num_train_ids < args.p:
            ap.error(f"--p {args.p}: the data has only {dataset.num_train_ids} training identities")
        for size in sizes:
            cases = [("loader", w) for w in args.workers] + [("decoded", 0)]
            for pipeline, workers in cases:
                row = measure(
                    paths,
                    labels,
                    size,
                    pipeline,
                    device=device,
                    workers=workers,
                    batches=args.batches,
                    p=args.p,
                    k=args.k,
                )
                rows.append(row)
                print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
