"""k-reciprocal re-ranking (Zhong et al., CVPR 2017).

final = (1 - lambda) * Jaccard(k-reciprocal sets, k1, with local query expansion over k2) + lambda * original,
where the squared original distances are divided by each row's maximum over all (query + gallery) items.

Two implementations of the same maths:
- ``k_reciprocal_rerank_dense``: the authors' reference formulation on dense (N, N) matrices, N = queries +
  gallery; memory and time grow with N^2 (Market-1501: N = 23,100, a 4 GB float64 matrix per copy and a Jaccard
  step that takes hours). Kept as the reference the tests compare against.
- ``k_reciprocal_rerank`` (distance matrices) and ``rerank_features`` (features, cosine distance): the sparse
  formulation with an inverted index, as in the authors' later code and torchreid/fast-reid: only each item's
  k1+1 nearest neighbours are kept (found block by block), the k-reciprocal weights form a sparse (N, N) matrix V,
  and the Jaccard distance of query i to every gallery item is accumulated from the columns where V[i] is non-zero
  (the inverted index: for column c, the items j with V[j, c] > 0). Memory is O(N k1) plus one (block, N) distance
  block and the (Q, G) result. Same results as the dense version up to ties in distance (neighbour order among
  exactly equal distances may differ).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["k_reciprocal_rerank", "k_reciprocal_rerank_dense", "rerank_features"]


def _check(k1: int, k2: int, lambda_value: float) -> None:
    if k1 < 1 or k2 < 1:
        raise ValueError(f"k1, k2: must be >= 1, got {k1}, {k2}")
    if not 0 <= lambda_value <= 1:
        raise ValueError(f"lambda_value: must be in [0, 1], got {lambda_value}")


def _check_shapes(q_g: np.ndarray, q_q: np.ndarray, g_g: np.ndarray) -> tuple[int, int]:
    nq, ng = q_g.shape
    if q_q.shape != (nq, nq) or g_g.shape != (ng, ng):
        raise ValueError(f"q_q, g_g: expected shapes {(nq, nq)} and {(ng, ng)}, got {q_q.shape} and {g_g.shape}")
    return nq, ng


def k_reciprocal_rerank_dense(
    q_g: np.ndarray, q_q: np.ndarray, g_g: np.ndarray, *, k1: int = 20, k2: int = 6, lambda_value: float = 0.3
) -> np.ndarray:
    """(Q, G) re-ranked distances from query-gallery, query-query and gallery-gallery distances (>= 0); dense
    reference (quadratic memory: small inputs only)."""
    _check(k1, k2, lambda_value)
    q_g, q_q, g_g = (np.asarray(a, np.float64) for a in (q_g, q_q, g_g))
    nq, ng = _check_shapes(q_g, q_q, g_g)
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


def _sparse_rerank(
    rows: Callable[[int, int], np.ndarray],
    pairs: Callable[[np.ndarray, np.ndarray], np.ndarray],
    nq: int,
    n: int,
    *,
    k1: int,
    k2: int,
    lambda_value: float,
    block: int,
    progress: Callable[[str], None] | None,
) -> np.ndarray:
    """The sparse algorithm. rows(a, b): (b - a, n) original distances of items a..b-1 to all n items (queries
    first); pairs(i, j): distances of the item pairs (i[t], j[t])."""
    k1 = min(k1, n - 1)
    k2 = min(k2, n)
    top = min(n, max(k1 + 1, k2))
    neighbours = np.empty((n, top), np.int64)
    row_max = np.empty(n, np.float64)
    if progress:
        progress("neighbours")
    for start in range(0, n, block):
        d = np.asarray(rows(start, min(start + block, n)), np.float64)
        row_max[start : start + len(d)] = np.maximum(np.square(d).max(axis=1), 1e-12)
        if top < n:
            part = np.argpartition(d, top - 1, axis=1)[:, :top]
        else:
            part = np.broadcast_to(np.arange(n), d.shape).copy()
        order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
        neighbours[start : start + len(d)] = np.take_along_axis(part, order, axis=1)
    # k-reciprocal neighbours: j in top-(k1+1) of i and i in top-(k1+1) of j; the same with about k1/2 for the
    # expansion candidates.
    half = int(np.around(k1 / 2))
    items = np.arange(n)
    forward = neighbours[:, : k1 + 1]
    is_reciprocal = (forward[forward] == items[:, None, None]).any(axis=2)
    h_forward = neighbours[:, : half + 1]
    h_reciprocal = (h_forward[h_forward] == items[:, None, None]).any(axis=2)
    if progress:
        progress("k-reciprocal sets")
    indptr = [0]
    indices: list[np.ndarray] = []
    for i in range(n):
        reciprocal = forward[i][is_reciprocal[i]]
        parts = [reciprocal]
        for candidate in reciprocal:
            c_reciprocal = h_forward[candidate][h_reciprocal[candidate]]
            if np.isin(c_reciprocal, reciprocal).sum() > 2 / 3 * len(c_reciprocal):
                parts.append(c_reciprocal)
        expansion = np.unique(np.concatenate(parts))
        indices.append(expansion)
        indptr.append(indptr[-1] + len(expansion))
    cols = np.concatenate(indices)
    row_of = np.repeat(items, np.diff(indptr))
    original = np.square(np.asarray(pairs(row_of, cols), np.float64)) / row_max[row_of]
    weight = np.exp(-original)
    weight /= np.bincount(row_of, weights=weight, minlength=n)[row_of]
    v = sp.csr_matrix((weight, cols, np.asarray(indptr)), shape=(n, n))
    if k2 > 1:  # local query expansion: each row becomes the mean of its k2 nearest items' rows
        qe = sp.csr_matrix(
            (np.full(n * k2, 1.0 / k2), neighbours[:, :k2].ravel(), np.arange(0, n * k2 + 1, k2)), shape=(n, n)
        )
        v = (qe @ v).tocsr()
    v.sum_duplicates()
    row_sum = np.asarray(v.sum(axis=1)).ravel()
    inverted = v.T.tocsr()  # row c: the items j with v[j, c] > 0 (and their weights)
    if progress:
        progress("Jaccard distances")
    final = np.empty((nq, n - nq), np.float64)
    for start in range(0, nq, block):
        stop = min(start + block, nq)
        original_block = np.square(np.asarray(rows(start, stop), np.float64)) / row_max[start:stop, None]
        for i in range(start, stop):
            lo, hi = v.indptr[i], v.indptr[i + 1]
            sub = inverted[v.indices[lo:hi]]
            sub.data = np.minimum(sub.data, np.repeat(v.data[lo:hi], np.diff(sub.indptr)))
            common = np.asarray(sub.sum(axis=0)).ravel()[nq:]
            union = np.maximum(row_sum[i] + row_sum[nq:] - common, 1e-12)
            final[i] = (1 - common / union) * (1 - lambda_value) + original_block[i - start, nq:] * lambda_value
    return final


def k_reciprocal_rerank(
    q_g: np.ndarray,
    q_q: np.ndarray,
    g_g: np.ndarray,
    *,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    block: int = 1024,
) -> np.ndarray:
    """(Q, G) re-ranked distances from query-gallery, query-query and gallery-gallery distances (>= 0), sparse
    formulation (module doc); equal to `k_reciprocal_rerank_dense` up to ties."""
    _check(k1, k2, lambda_value)
    q_g, q_q, g_g = (np.asarray(a) for a in (q_g, q_q, g_g))
    nq, ng = _check_shapes(q_g, q_q, g_g)

    def rows(a: int, b: int) -> np.ndarray:
        top = np.concatenate([q_q[a : min(b, nq)], q_g[a : min(b, nq)]], axis=1) if a < nq else np.zeros((0, nq + ng))
        ga, gb = max(a, nq) - nq, max(b, nq) - nq
        bottom = np.concatenate([q_g[:, ga:gb].T, g_g[ga:gb]], axis=1) if gb > ga else np.zeros((0, nq + ng))
        return np.concatenate([top, bottom], axis=0)

    def pairs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.empty(len(i), np.float64)
        for qi, qj, m in ((True, True, q_q), (True, False, q_g), (False, True, q_g.T), (False, False, g_g)):
            sel = ((i < nq) == qi) & ((j < nq) == qj)
            out[sel] = m[i[sel] - (0 if qi else nq), j[sel] - (0 if qj else nq)]
        return out

    return _sparse_rerank(rows, pairs, nq, nq + ng, k1=k1, k2=k2, lambda_value=lambda_value, block=block, progress=None)


def rerank_features(
    query: np.ndarray,
    gallery: np.ndarray,
    *,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    block: int = 1024,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """(Q, G) re-ranked cosine distances of (Q, D) query and (G, D) gallery features (normalised here), without
    ever holding an (N, N) matrix: distances are computed block by block. ``progress`` receives stage names."""
    _check(k1, k2, lambda_value)
    feats = np.concatenate([np.asarray(query, np.float32), np.asarray(gallery, np.float32)])
    if feats.ndim != 2 or len(query) == 0 or len(gallery) == 0:
        raise ValueError(
            f"query, gallery: expected non-empty (N, D) arrays, got {np.shape(query)}, {np.shape(gallery)}"
        )
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)

    def rows(a: int, b: int) -> np.ndarray:
        return np.clip(1.0 - feats[a:b] @ feats.T, 0.0, 2.0)

    chunk = max(1, (1 << 24) // feats.shape[1])  # pairs per step: two (chunk, D) float32 copies of 64 MB each

    def pairs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.empty(len(i), np.float64)
        for s in range(0, len(i), chunk):
            out[s : s + chunk] = 1.0 - np.einsum("nd,nd->n", feats[i[s : s + chunk]], feats[j[s : s + chunk]])
        return np.clip(out, 0.0, 2.0)

    return _sparse_rerank(
        rows, pairs, len(query), len(feats), k1=k1, k2=k2, lambda_value=lambda_value, block=block, progress=progress
    )
