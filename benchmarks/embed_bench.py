"""Embedder throughput: crops/s per embedder at several batch sizes, next to a bare torchvision ResNet-50.

    python benchmarks/embed_bench.py                       # CPU (and CUDA when present), batch 1, 8, 32
    python benchmarks/embed_bench.py --device cuda --precision fp16 --json out.json

Each embedder is timed through ``embed_crops`` (median of interleaved rounds) on person crops of mixed sizes (so
crop resizing, normalisation and the host-device copy are included). The reference is
``torchvision.models.resnet50`` (stride-2 layer4, 1000-class head) run on an already-normalised tensor of the same
input size: ``ratio`` = embedder time / bare ResNet-50 time at the same batch size, which is comparable across
machines. ``overhead`` = embedder time / the time of the embedder's own network alone on an already-normalised
tensor of the same batch (what the embedder adds around the network: crop resizing, normalisation, the host-device
copy, L2 normalisation and centring). Weights are random (speed does not depend on them); nothing is downloaded.
With ``--compile MODE`` the embedders run ``torch.compile``d (compiled during the warm-up calls, which are not
timed) and ``overhead`` compares them with their eager network: below 1 is what compiling gains.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mctrack.embed import ColorHistogramEmbedder, ReidEmbedder  # noqa: E402


def _median_times(cases: dict[str, object], rounds: int, sync) -> dict[str, float]:
    """Seconds per call of each case, median over ``rounds`` round-robin passes.

    Cases are interleaved (A B C, A B C, ...) so a slow drift in machine load hits all of them alike and the
    ratios stay meaningful on a busy machine.
    """
    for fn in cases.values():  # warm-up (allocations, cudnn autotune)
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _params(model: torch.nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", action="append", help="cpu and/or cuda (default: cpu, plus cuda when present)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--embedders", nargs="+", default=["laga", "can", "global", "colorhist"])
    ap.add_argument("--backbone", default="resnet50")
    ap.add_argument("--input-size", type=int, nargs=2, default=[384, 128], metavar=("H", "W"))
    ap.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"))
    ap.add_argument(
        "--compile",
        choices=("default", "reduce-overhead", "max-autotune"),
        help="torch.compile the networks with this mode (overhead is then against the eager network)",
    )
    ap.add_argument("--rounds", type=int, default=5, help="timed round-robin passes per batch size (median)")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--json", help="write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    h, w = args.input_size
    rng = np.random.default_rng(0)
    max_batch = max(args.batches)
    crops = [
        rng.integers(0, 256, (int(rng.integers(80, 300)), int(rng.integers(30, 120)), 3), dtype=np.uint8)
        for _ in range(max_batch)
    ]
    results: list[dict] = []
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, input {h}x{w}, "
        f"backbone {args.backbone}, precision {args.precision}"
        + (f", torch.compile mode {args.compile} (compiled on the warm-up calls)" if args.compile else "")
    )
    ref_name = "resnet50 (bare torchvision)"
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(args.precision)
    for device in devices:
        dev = torch.device(device)
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        resnet = torchvision.models.resnet50().eval().to(dev).to(memory_format=torch.channels_last)
        embedders = {}
        for name in args.embedders:
            if name == "colorhist":
                if dev.type == "cpu":
                    embedders[name] = (ColorHistogramEmbedder(), 0.0)
                continue
            emb = ReidEmbedder(
                name,
                pretrained=None,
                backbone=args.backbone,
                device=device,
                batch_size=max_batch,
                precision=args.precision,
                input_size=(h, w),
                compile=args.compile,
            )
            embedders[name] = (emb, _params(emb.model))
        for b in args.batches:
            x = torch.randn(b, 3, h, w, device=dev).contiguous(memory_format=torch.channels_last)

            def ref(net=resnet, x=x, dev=dev):
                with (
                    torch.inference_mode(),
                    torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None),
                ):
                    net(x)

            def bare(e, x=x, dev=dev):
                with (
                    torch.inference_mode(),
                    torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None),
                ):
                    e.model(x).feature.float().cpu()

            cases = {ref_name: ref}
            cases.update({name: (lambda e=e, b=b: e.embed_crops(crops[:b])) for name, (e, _) in embedders.items()})
            cases.update({f"{n} network": (lambda e=e: bare(e)) for n, (e, _) in embedders.items() if n != "colorhist"})
            t = _median_times(cases, args.rounds, sync)
            results.append(
                dict(
                    device=device,
                    embedder=ref_name,
                    batch=b,
                    params_m=_params(resnet),
                    dim=1000,
                    crops_per_s=b / t[ref_name],
                    ms_per_crop=1e3 * t[ref_name] / b,
                    ratio=1.0,
                )
            )
            for name, (e, params) in embedders.items():
                results.append(
                    dict(
                        device=device,
                        embedder=name,
                        batch=b,
                        params_m=params,
                        dim=e.dim,
                        crops_per_s=b / t[name],
                        ms_per_crop=1e3 * t[name] / b,
                        ratio=t[name] / t[ref_name],
                        overhead=t[name] / t[f"{name} network"] if f"{name} network" in t else None,
                    )
                )
        del resnet, embedders
    print(
        f"{'device':<6} {'embedder':<28} {'batch':>5} {'params M':>9} {'dim':>6} {'crops/s':>9} "
        f"{'ms/crop':>8} {'x resnet50':>10} {'overhead':>9}"
    )
    for r in results:
        print(
            f"{r['device']:<6} {r['embedder']:<28} {r['batch']:>5} {r['params_m']:>9.1f} {r['dim']:>6} "
            f"{r['crops_per_s']:>9.1f} {r['ms_per_crop']:>8.2f} {r['ratio']:>10.2f}"
            + (f" {r['overhead']:>9.3f}" if r.get("overhead") else "")
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                dict(
                    torch=torch.__version__,
                    threads=torch.get_num_threads(),
                    precision=args.precision,
                    compile=args.compile,
                    input_size=[h, w],
                    results=results,
                ),
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
