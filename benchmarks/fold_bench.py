"""What the embedder's inference preparation buys on CPU: the bundled network as loaded, with BatchNorm folded, and
folded with its convolution weights kept in bf16 (what ``ReidEmbedder`` runs under ``--precision bf16``/``auto``).

    python benchmarks/fold_bench.py                       # laga_market1501, batch 8, bf16 autocast, 2 threads
    python benchmarks/fold_bench.py --weights global_market1501 --batch 16 --precision fp32

Prints ms per forward (median of interleaved rounds, so machine load hits every variant alike) and the smallest
cosine of each variant's features to the as-loaded network's.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reid_models  # noqa: E402
from mctrack.weights import resolve_weights  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default="laga_market1501", help="checkpoint file or bundled name")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, _ = reid_models.load_checkpoint(resolve_weights(args.weights, option="--weights"), map_location="cpu")
    model.eval()
    folded = copy.deepcopy(model)
    n = reid_models.fold_batchnorm(folded)
    variants = {"as loaded": model, f"BatchNorm folded ({n})": folded}
    if args.precision == "bf16":
        low = copy.deepcopy(folded)
        for mod in low.modules():
            if isinstance(mod, torch.nn.Conv2d):
                mod.to(torch.bfloat16)
        variants["folded, bf16 conv weights"] = low
    h, w = model.input_size
    x = torch.randn(args.batch, 3, h, w).contiguous(memory_format=torch.channels_last)
    for m in variants.values():
        m.to(memory_format=torch.channels_last)

    def forward(m):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            return m(x).feature.float()

    ref = forward(model)
    cos = {k: float(torch.nn.functional.cosine_similarity(forward(m), ref).min()) for k, m in variants.items()}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.rounds):
        for k, m in variants.items():
            t0 = time.perf_counter()
            forward(m)
            times[k].append(time.perf_counter() - t0)
    base = float(np.median(times["as loaded"]))
    print(f"{args.weights}, batch {args.batch}, {args.precision}, {args.threads} threads, input {h}x{w}")
    print(f"{'variant':32s} {'ms/forward':>10s} {'x as loaded':>11s} {'min cosine':>10s}")
    for k, t in times.items():
        med = float(np.median(t))
        print(f"{k:32s} {1000 * med:10.1f} {med / base:11.2f} {cos[k]:10.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
