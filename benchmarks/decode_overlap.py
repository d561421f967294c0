"""Does decoding overlap the work on earlier frames? A source read plainly and through ``PrefetchSource``, with a
fixed wait per frame standing in for detection and embedding on a GPU (the CPU is free meanwhile).

    python benchmarks/decode_overlap.py                                 # samples/small/cam1, 5 and 20 ms
    python benchmarks/decode_overlap.py --source VIDEO --work-ms 10 30

Prints decode ms/frame, wall seconds plain and prefetched (best of ``--repeats``), and the share of the decode time
hidden behind the work (100% = decoding costs nothing). On a CPU-only machine whose cores the network keeps busy,
there is nothing to overlap with; see the README for end-to-end numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.io.video import PrefetchSource, open_source  # noqa: E402


def _work_fn(ms: float):
    """Stands in for ``ms`` milliseconds of accelerator work (the GIL is released, the CPU idle)."""

    def work() -> None:
        time.sleep(ms / 1000)

    return work


def _wall(frames, work) -> float:
    t0 = time.perf_counter()
    for f in frames:
        if f.image is not None:
            work()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=str(ROOT / "samples" / "small" / "cam1" / "video.mp4"))
    ap.add_argument("--work-ms", type=float, nargs="+", default=[5.0, 20.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--depth", type=int, default=4)
    args = ap.parse_args(argv)
    src = open_source(args.source)
    decode = min(_wall(src, lambda: None) for _ in range(args.repeats))
    n = sum(1 for _ in src)
    print(f"{args.source}: {n} frames, decode {1000 * decode / n:.1f} ms/frame ({decode:.2f} s)")
    print(f"{'work ms/frame':>13s} {'plain s':>8s} {'prefetch s':>10s} {'speed-up':>8s} {'decode hidden':>13s}")
    for ms in args.work_ms:
        work = _work_fn(ms)
        plain = min(_wall(src, work) for _ in range(args.repeats))
        pre = min(_wall(PrefetchSource(src, depth=args.depth), work) for _ in range(args.repeats))
        hidden = (plain - pre) / decode if decode > 0 else 0.0
        print(f"{ms:13.1f} {plain:8.2f} {pre:10.2f} {plain / pre:8.2f} {100 * hidden:12.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
