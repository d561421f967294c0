"""Re-ID retrieval metrics, Market-1501 protocol.

For each query, gallery items with the same identity AND the same camera are removed (they are too easy), and
so are junk items (ids in ``junk_ids``; Market-1501 names junk images with id -1, while its distractors, id 0,
stay in the gallery as negatives).
CMC counts a hit at rank k when the first true match is within the first k results. AP is the non-interpolated
average precision. mINP (Ye et al. 2021) is the mean of (number of true matches) / (rank of the hardest match).
Queries without any valid true match in the gallery are skipped and counted.

Ties in distance are broken by gallery order (a stable sort), so results are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RankResult", "evaluate_rank", "cosine_distance", "count_matchable_queries"]


@dataclass(frozen=True)
class RankResult:
    """CMC curve (``cmc[k-1]`` = rank-k accuracy, in [0, 1]), mAP, mINP and query counts."""

    cmc: np.ndarray
    mAP: float
    mINP: float
    num_valid_queries: int
    num_skipped_queries: int

    def rank(self, k: int) -> float:
        return float(self.cmc[k - 1]) if len(self.cmc) >= k else float("nan")

    def summary(self) -> dict[str, float]:
        return {
            "rank1": self.rank(1),
            "rank5": self.rank(5),
            "rank10": self.rank(10),
            "mAP": self.mAP,
            "mINP": self.mINP,
            "queries": self.num_valid_queries,
            "skipped": self.num_skipped_queries,
        }


def cosine_distance(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """``(Q, G)`` 1 - cosine similarity (rows need not be normalised)."""
    q = np.asarray(query, np.float64)
    g = np.asarray(gallery, np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return 1.0 - q @ g.T


def count_matchable_queries(
    q_ids: np.ndarray, g_ids: np.ndarray, q_cams: np.ndarray, g_cams: np.ndarray, *, junk_ids: tuple[int, ...] = (-1,)
) -> int:
    """How many queries :func:`evaluate_rank` would score: those whose identity the gallery holds from another
    camera (junk ids excluded). Zero means every metric would be NaN."""
    q_ids, g_ids = np.asarray(q_ids), np.asarray(g_ids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    keep = ~np.isin(g_ids, junk_ids)
    pairs = set(zip(g_ids[keep].tolist(), g_cams[keep].tolist(), strict=True))
    cams_of: dict[object, set] = {}
    for pid, cam in pairs:
        cams_of.setdefault(pid, set()).add(cam)
    return sum(1 for pid, cam in zip(q_ids.tolist(), q_cams.tolist(), strict=True) if cams_of.get(pid, set()) - {cam})


def evaluate_rank(
    dist: np.ndarray,
    q_ids: np.ndarray,
    g_ids: np.ndarray,
    q_cams: np.ndarray,
    g_cams: np.ndarray,
    *,
    max_rank: int = 50,
    junk_ids: tuple[int, ...] = (-1,),
) -> RankResult:
    """Market-1501 protocol metrics from a ``(Q, G)`` distance matrix (smaller = more similar).

    Args:
        dist: query-to-gallery distances.
        q_ids, g_ids: identity labels. Gallery items whose id is in ``junk_ids`` are ignored (Market-1501's
            "junk" images carry id -1; its "distractors", id 0, stay in the gallery as negatives).
        q_cams, g_cams: camera labels; same id + same camera as the query is removed from its ranking.
        max_rank: length of the returned CMC curve.
    """
    dist = np.asarray(dist, np.float64)
    q_ids, g_ids = np.asarray(q_ids), np.asarray(g_ids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    nq, ng = dist.shape
    if len(q_ids) != nq or len(q_cams) != nq or len(g_ids) != ng or len(g_cams) != ng:
        raise ValueError(
            f"dist is {dist.shape} but got {len(q_ids)} query ids, {len(q_cams)} query cams, "
            f"{len(g_ids)} gallery ids, {len(g_cams)} gallery cams"
        )
    order = np.argsort(dist, axis=1, kind="stable")
    junk_gallery = np.isin(g_ids, junk_ids)
    cmc_sum = np.zeros(max_rank)
    aps, inps = [], []
    skipped = 0
    for i in range(nq):
        o = order[i]
        remove = ((g_ids[o] == q_ids[i]) & (g_cams[o] == q_cams[i])) | junk_gallery[o]
        matches = (g_ids[o] == q_ids[i])[~remove]
        if not matches.any():
            skipped += 1
            continue
        hits = np.flatnonzero(matches)  # 0-based ranks of true matches
        first = hits[0]
        if first < max_rank:
            cmc_sum[first:] += 1
        precision_at_hits = np.arange(1, len(hits) + 1) / (hits + 1)
        aps.append(precision_at_hits.mean())
        inps.append(len(hits) / (hits[-1] + 1))
    valid = len(aps)
    if valid == 0:
        return RankResult(np.full(max_rank, np.nan), float("nan"), float("nan"), 0, skipped)
    return RankResult(cmc_sum / valid, float(np.mean(aps)), float(np.mean(inps)), valid, skipped)
