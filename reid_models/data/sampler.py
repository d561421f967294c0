"""Identity-balanced P x K batches (Hermans et al.; torchreid's RandomIdentitySampler), seeded per epoch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["PKBatchSampler"]


class PKBatchSampler:
    """Yields batches of `p * k` (index, sample_seed) pairs: p distinct identities, k images each.

    One epoch: every identity's images are shuffled and cut into chunks of k (an identity with fewer than k
    images is drawn with replacement; leftovers below k are dropped), then chunks are grouped into batches of p
    distinct identities until fewer than p identities have chunks left. Everything depends only on
    (seed, epoch): call `set_epoch` before iterating. Each pair carries a per-sample seed for the augmentations,
    so results do not depend on data-loader workers or on resuming mid-run.

    Distributed training (``world_size`` processes): every rank draws the same global batches of ``p`` identities
    and takes its own ``p / world_size`` of them (rank r: identities ``r * p / world_size`` onwards), so that the
    ranks of one step see distinct identities, every rank has the same number of batches, and the images of a
    step are those of the single-process batch. The losses are not: batch-hard triplets are mined within each
    rank's share (and BatchNorm statistics are per rank), so p / world_size should be at least 2.

    Args:
        labels: training label per image index.
        p: identities per (global) batch (needs at least p identities; a multiple of world_size).
        k: images per identity.
        seed: base seed.
        rank, world_size: this process's share of each batch.
    """

    def __init__(
        self, labels: Sequence[int], p: int, k: int, *, seed: int = 0, rank: int = 0, world_size: int = 1
    ) -> None:
        if p < 1:
            raise ValueError(f"p: must be >= 1, got {p}")
        if k < 1:
            raise ValueError(f"k: must be >= 1, got {k}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank, world_size: need 0 <= rank < world_size, got {rank}, {world_size}")
        if p % world_size:
            raise ValueError(f"p: {p} identities per batch do not split evenly over {world_size} processes")
        self.rank, self.world_size = rank, world_size
        self._by_id: dict[int, list[int]] = {}
        for index, label in enumerate(labels):
            self._by_id.setdefault(int(label), []).append(index)
        if len(self._by_id) < p:
            fits = len(self._by_id) - len(self._by_id) % world_size  # at most that, and split evenly over processes
            raise ValueError(
                f"p: {p} identities per batch but the data has only {len(self._by_id)}; set p to at most that"
                + (f" (--set p={fits})" if fits else f" and a multiple of the {world_size} processes")
            )
        self.p, self.k, self.seed, self.epoch = p, k, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[tuple[int, int]]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        chunks: dict[int, list[list[int]]] = {}
        for pid in sorted(self._by_id):
            items = self._by_id[pid]
            picked = (
                rng.choice(items, size=self.k, replace=True).tolist()
                if len(items) < self.k
                else [items[i] for i in rng.permutation(len(items))]
            )
            chunks[pid] = [picked[i : i + self.k] for i in range(0, len(picked) - self.k + 1, self.k)]
        batches = []
        available = [pid for pid in chunks if chunks[pid]]
        while len(available) >= self.p:
            chosen = rng.choice(available, size=self.p, replace=False).tolist()
            batch = [index for pid in chosen for index in chunks[pid].pop()]
            seeds = rng.integers(0, 2**31 - 1, size=len(batch)).tolist()
            batches.append(list(zip(batch, seeds, strict=True)))
            available = [pid for pid in available if chunks[pid]]
        return batches

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        share = self.p // self.world_size * self.k
        return iter(batch[self.rank * share : (self.rank + 1) * share] for batch in self._batches())

    def __len__(self) -> int:
        return len(self._batches())
