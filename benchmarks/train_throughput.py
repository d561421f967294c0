"""Training throughput (images/s, forward + loss + backward + optimiser step) per network, backbone, input size
and precision, to choose the CPU recipes by measurement.

    python benchmarks/train_throughput.py                                  # CPU defaults below
    python benchmarks/train_throughput.py --archs laga --backbones resnet18 resnet34 \
        --sizes 128x64 256x128 --precisions fp32 bf16 --batch 20
    python benchmarks/train_throughput.py --device cuda --backbones resnet50 --sizes 384x128 --precisions bf16 fp16

Random weights and random inputs (speed does not depend on them); nothing is downloaded. Data loading is not
included: on CPU the JPEG decode and augmentation of a 64x128 Market crop costs well under 1 ms, see the
epoch times of a real run in its metrics.csv. Prints one row per case and, with --json, writes them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reid_models.losses import build_criterion  # noqa: E402
from reid_models.models import build_model  # noqa: E402
from reid_models.train.schedule import build_optimizer  # noqa: E402

_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def measure(
    arch: str,
    backbone: str,
    size: tuple[int, int],
    precision: str,
    *,
    batch: int,
    steps: int,
    device: torch.device,
    num_classes: int = 751,
    model_kwargs: dict | None = None,
) -> dict:
    torch.manual_seed(0)
    model = (
        build_model(
            arch, num_classes=num_classes, backbone=backbone, pretrained=None, input_size=size, **(model_kwargs or {})
        )
        .to(device)
        .train()
    )
    criterion = build_criterion(model).to(device)
    optimizer = build_optimizer(model, name="adam", lr=1e-4, weight_decay=5e-4, backbone_lr_mult=0.1)
    images = torch.randn(batch, 3, *size, device=device)
    labels = torch.arange(batch, device=device) // 4
    dtype = _DTYPES[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16" and device.type == "cuda")

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            output = model(images)
        from reid_models.train.engine import _float_output

        total, _ = criterion(_float_output(output), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.step(optimizer)
        scaler.update()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    step()
    step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    seconds = (time.perf_counter() - start) / steps
    return {
        "arch": arch,
        "backbone": backbone,
        "size": f"{size[0]}x{size[1]}",
        "precision": precision,
        "batch": batch,
        "model_kwargs": model_kwargs or {},
        "ms_per_step": round(seconds * 1e3, 1),
        "images_per_s": round(batch / seconds, 1),
        "epoch_s_market": round(12936 / (batch / seconds), 1),
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", nargs="+", default=["laga", "can", "global"])
    ap.add_argument("--backbones", nargs="+", default=["resnet18"])
    ap.add_argument("--sizes", nargs="+", default=["128x64", "256x128"], help="HxW")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=tuple(_DTYPES))
    ap.add_argument("--batch", type=int, default=32, help="P x K images per step")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model keyword argument, e.g. share_layer4=false (YAML value)",
    )
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    from reid_models.yaml_safe import load_bounded

    # as reid train --set reads its values (012 refused, not read as the octal 10)
    kwargs = {k: load_bounded(v) for k, _, v in (item.partition("=") for item in args.set)}
    device = torch.device(args.device)
    rows = []
    print(
        f"{'arch':<7}{'backbone':<10}{'size':<9}{'prec':<6}{'batch':>6}{'ms/step':>10}{'img/s':>9}"
        f"{'s/epoch':>9}{'params M':>10}"
    )
    for arch in args.archs:
        for backbone in args.backbones:
            for text in args.sizes:
                h, w = (int(v) for v in text.lower().split("x"))
                for precision in args.precisions:
                    row = measure(
                        arch,
                        backbone,
                        (h, w),
                        precision,
                        batch=args.batch,
                        steps=args.steps,
                        device=device,
                        model_kwargs=kwargs,
                    )
                    rows.append(row)
                    print(
                        f"{arch:<7}{backbone:<10}{row['size']:<9}{precision:<6}{args.batch:>6}"
                        f"{row['ms_per_step']:>10}{row['images_per_s']:>9}{row['epoch_s_market']:>9}"
                        f"{row['params_m']:>10}",
                        flush=True,
                    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
