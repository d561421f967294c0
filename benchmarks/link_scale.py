"""Linking at scale: the offline linker on 10,000 tracklets from 100 cameras, the online linker at 100 cameras.

A synthetic site (generated here, seeded): ``--people`` people walk for ``--minutes`` through ``--cameras``
cameras; each visit is a tracklet of ``--frames`` frames at 10 fps whose appearance is the person's fixed random
unit vector (``--dim`` dimensions: 3,072 is the bundled LAGA-Net ResNet-18's feature) plus noise, so that two
tracklets of one person are ~0.1 apart and two people ~1.0, as with a trained network's centred features.

- offline: ``OfflineLinker.link`` on all tracklets (threshold 0.2, the bundled checkpoint's); time, peak memory
  (RSS high-water mark of this process) and the identities' pairwise precision/recall against the truth;
- online: ``OnlineLinker.assign`` for every tracklet as it matures, in time order (100 cameras x 10 fps), with the
  gallery bounds of ``mctrack run`` (600 s, 2,000 tracklets); time per new tracklet (mean, p95, max).

    python benchmarks/link_scale.py                       # 10,000 tracklets, 100 cameras (~1 minute)
    python benchmarks/link_scale.py --tracklets 2000 --dense   # also the old single (N, N) clustering, to compare

Targets (issue 14): offline <= 5 s and <= 2 GB for 10,000 tracklets; online <= 1 ms per new tracklet.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.link import OfflineLinker, OnlineLinker, agglomerate, canonical_order, pairwise_distances  # noqa: E402
from mctrack.link import identities_from_labels  # noqa: E402
from mctrack.types import Tracklet  # noqa: E402


def site(n_tracklets: int, cameras: int, people: int, dim: int, frames: int, minutes: float, seed: int):
    """``(tracklets, person of each)``: visits of people to cameras spread over ``minutes``."""
    rng = np.random.default_rng(seed)
    looks = rng.normal(size=(people, dim)).astype(np.float32)
    looks /= np.linalg.norm(looks, axis=1, keepdims=True)
    who = rng.integers(0, people, n_tracklets)
    cams = rng.integers(0, cameras, n_tracklets)
    starts = np.sort(rng.uniform(0, minutes * 60, n_tracklets))
    noise = 0.25 / np.sqrt(dim)  # per-dimension noise: ~0.03 cosine distance to the person's look
    out, next_id = [], np.zeros(cameras, np.int64)
    for k in range(n_tracklets):
        c = int(cams[k])
        next_id[c] += 1
        f0 = int(starts[k] * 10)
        fr = np.arange(f0, f0 + frames)
        x = float(rng.uniform(0, 1800))
        boxes = np.tile(np.array([x, 400, x + 60, 560], np.float32), (frames, 1))
        mean = looks[who[k]] + noise * rng.normal(size=dim).astype(np.float32)
        mean /= np.linalg.norm(mean)
        out.append(Tracklet(f"c{c:03d}", int(next_id[c]), fr, boxes, fr / 10.0, mean[None], mean))
    return out, who


def pair_scores(ids, tracklets, who) -> tuple[float, float]:
    """Pairwise precision and recall of the identities against the true people."""
    lookup = ids.lookup()
    g = np.array([lookup[(t.camera, int(t.track_id))] for t in tracklets])

    def pairs(labels):
        _, counts = np.unique(labels, return_counts=True)
        return float((counts * (counts - 1) // 2).sum())

    both = pairs(g.astype(np.int64) * (int(who.max()) + 1) + who)
    return both / max(pairs(g), 1), both / max(pairs(who), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracklets", type=int, default=10000)
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=3072)
    ap.add_argument("--frames", type=int, default=30, help="frames per tracklet (default 30)")
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the scene (default 60)")
    ap.add_argument("--thresh", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dense", action="store_true", help="also one clustering of the full (N, N) matrix")
    args = ap.parse_args(argv)
    ts, who = site(args.tracklets, args.cameras, args.people, args.dim, args.frames, args.minutes, args.seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(ts)} tracklets, {args.cameras} cameras, {args.people} people, {args.dim}-D, "
        f"{args.minutes:g} min; RSS after generating: {rss0:.0f} MB"
    )
    linker = OfflineLinker(thresh=args.thresh, min_len=3)
    t0 = time.perf_counter()
    ids = linker.link(ts)
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    groups = linker.groups([ts[i] for i in canonical_order(ts)])
    p, r = pair_scores(ids, ts, who)
    print(
        f"offline: {secs:.2f} s, peak RSS {rss:.0f} MB (+{rss - rss0:.0f}), {len(set(ids.global_id.tolist()))} "
        f"identities, {len(groups)} groups (largest {max(map(len, groups), default=0)}); pair precision "
        f"{p:.3f} recall {r:.3f}"
    )
    if args.dense:
        t0 = time.perf_counter()
        order = canonical_order(ts)
        dense_ts = [ts[i] for i in order]
        dense = identities_from_labels(dense_ts, agglomerate(pairwise_distances(dense_ts), args.thresh))
        print(
            f"dense (N, N) clustering: {time.perf_counter() - t0:.2f} s, peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; same identities: "
            f"{dense.lookup() == OfflineLinker(thresh=args.thresh).link(ts).lookup()}"
        )
    online = OnlineLinker(thresh=args.thresh, min_len=10, gallery_age_s=600.0, max_gallery=2000)
    events = sorted(
        [(t.times[min(9, len(t) - 1)], 0, k) for k, t in enumerate(ts)]
        + [(t.last_time, 1, k) for k, t in enumerate(ts)]
    )
    per = []
    for now, kind, k in events:
        if kind == 0:
            t0 = time.perf_counter()
            online.assign(ts[k], now)
            per.append(time.perf_counter() - t0)
        else:
            online.update(ts[k], finished=True)
    per_ms = 1000 * np.array(per)
    p, r = pair_scores(online.identities(), ts, who)
    print(
        f"online: {len(per)} new tracklets, {1000 * np.mean(per):.3f} ms mean, {np.percentile(per_ms, 95):.3f} ms "
        f"p95, {per_ms.max():.2f} ms max per new tracklet (gallery <= {online.max_gallery}); pair precision {p:.3f} "
        f"recall {r:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
