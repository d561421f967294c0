"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), after the authors' reference code.

final = (1 - lambda) * Jaccard(k-reciprocal sets, k1, with local query expansion over k2) + lambda * original,
where the squared original distances are divided by each row's maximum over all (query + gallery) items.
"""

from __future__ import annotations

import numpy as np

__all__ = ["k_reciprocal_rerank"]


def k_reciprocal_rerank(
    q_g: np.ndarray, q_q: np.ndarray, g_g: np.ndarray, *, k1: int = 20, k2: int = 6, lambda_value: float = 0.3
) -> np.ndarray:
    """(Q, G) re-ranked distances from query-gallery, query-query and gallery-gallery distances (>= 0)."""
    if k1 < 1 or k2 < 1:
        raise ValueError(f"k1, k2: must be >= 1, got {k1}, {k2}")
    if not 0 <= lambda_value <= 1:
        raise ValueError(f"lambda_value: must be in [0, 1], got {lambda_value}")
    q_g, q_q, g_g = (np.asarray(a, np.float64) for a in (q_g, q_q, g_g))
    nq, ng = q_g.shape
    if q_q.shape != (nq, nq) or g_g.shape != (ng, ng):
        raise ValueError(f"q_q, g_g: expected shapes {(nq, nq)} and {(ng, ng)}, got {q_q.shape} and {g_g.shape}")
    n = nq + ng
    original = np.block([[q_q, q_g], [q_g.T, g_g]])
    original = np.power(original, 2)
    original = original / np.maximum(original.max(axis=1, keepdims=True), 1e-12)  # the reference's transpose
    rank = np.argsort(original, axis=1, kind="stable")
    k1 = min(k1, n - 1)
    v = np.zeros((n, n), np.float64)
    for i in range(n):
        forward = rank[i, : k1 + 1]
        backward = rank[forward, : k1 + 1]
        reciprocal = forward[np.any(backward == i, axis=1)]
        expansion = reciprocal
        half = int(np.around(k1 / 2))
        for candidate in reciprocal:
            c_forward = rank[candidate, : half + 1]
            c_backward = rank[c_forward, : half + 1]
            c_reciprocal = c_forward[np.any(c_backward == candidate, axis=1)]
            if len(np.intersect1d(c_reciprocal, reciprocal)) > 2 / 3 * len(c_reciprocal):
                expansion = np.append(expansion, c_reciprocal)
        expansion = np.unique(expansion)
        weight = np.exp(-original[i, expansion])
        v[i, expansion] = weight / weight.sum()
    if k2 > 1:
        v = np.stack([v[rank[i, :k2]].mean(axis=0) for i in range(n)])
    jaccard = np.zeros((nq, n), np.float64)
    for i in range(nq):
        jaccard[i] = 1 - np.minimum(v[i][None], v).sum(axis=1) / np.maximum(v[i][None], v).sum(axis=1).clip(1e-12)
    final = jaccard * (1 - lambda_value) + original[:nq] * lambda_value
    return final[:, nq:]
