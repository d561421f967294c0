"""k-reciprocal re-ranking on a small hand-made case."""

from __future__ import annotations

import numpy as np
import pytest

from reid_models.train import k_reciprocal_rerank

# Query 0 (identity A) at the origin; its nearest gallery item (index 3) belongs to the tight cluster around
# query 1 (identity B), while A's gallery items (0-2) are a bit farther but share neighbours with query 0.
Q = np.array([[0.0, 0.0], [3.0, 0.0]])
G = np.array([[0.0, 1.0], [0.3, 1.2], [-0.3, 1.2], [0.9, 0.0], [3.3, 0.2], [2.7, 0.2]])


def _d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))


def test_rerank_fixes_the_distractor() -> None:
    assert _d(Q, G)[0].argmin() == 3  # plain distance: the wrong identity first
    final = k_reciprocal_rerank(_d(Q, G), _d(Q, Q), _d(G, G), k1=3, k2=1, lambda_value=0.3)
    assert final.shape == (2, 6)
    assert final[0].argmin() == 0 and final[0, 1] < final[0, 3]
    assert final[1].argmin() in (4, 5)


def test_lambda_one_keeps_the_original_order() -> None:
    final = k_reciprocal_rerank(_d(Q, G), _d(Q, Q), _d(G, G), k1=3, k2=2, lambda_value=1.0)
    np.testing.assert_array_equal(np.argsort(final, axis=1), np.argsort(_d(Q, G), axis=1))


def test_defaults_on_a_set_smaller_than_k1() -> None:
    final = k_reciprocal_rerank(_d(Q, G), _d(Q, Q), _d(G, G))  # k1=20 > 7 items: clipped
    assert np.isfinite(final).all() and (final >= 0).all()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="g_g"):
        k_reciprocal_rerank(_d(Q, G), _d(Q, Q), _d(Q, Q))
    with pytest.raises(ValueError, match="lambda_value"):
        k_reciprocal_rerank(_d(Q, G), _d(Q, Q), _d(G, G), lambda_value=2)


def _random_case(seed: int, nq: int, ng: int, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, dim))
    q = centres[rng.integers(0, 5, nq)] + 0.6 * rng.normal(size=(nq, dim))
    g = centres[rng.integers(0, 5, ng)] + 0.6 * rng.normal(size=(ng, dim))
    return q, g


@pytest.mark.parametrize(
    ("nq", "ng", "k1", "k2", "lam", "block"),
    [
        (6, 30, 5, 3, 0.3, 7),
        (12, 50, 20, 6, 0.3, 1024),
        (3, 9, 20, 6, 0.3, 4),
        (10, 40, 4, 1, 0.0, 16),
        (1, 12, 3, 12, 0.5, 5),
        (8, 25, 1, 2, 1.0, 3),
    ],
)
def test_sparse_rerank_equals_the_dense_reference(nq, ng, k1, k2, lam, block) -> None:
    from reid_models.train.rerank import k_reciprocal_rerank_dense

    q, g = _random_case(nq * 100 + ng, nq, ng)
    args = (_d(q, g), _d(q, q), _d(g, g))
    dense = k_reciprocal_rerank_dense(*args, k1=k1, k2=k2, lambda_value=lam)
    sparse = k_reciprocal_rerank(*args, k1=k1, k2=k2, lambda_value=lam, block=block)
    np.testing.assert_allclose(sparse, dense, rtol=1e-9, atol=1e-12)


def test_rerank_features_equals_the_dense_reference_on_cosine_distances() -> None:
    from reid_models.evaluation import cosine_distance
    from reid_models.train.rerank import k_reciprocal_rerank_dense, rerank_features

    q, g = _random_case(7, 15, 60, dim=16)
    dense = k_reciprocal_rerank_dense(cosine_distance(q, g), cosine_distance(q, q), cosine_distance(g, g))
    stages: list[str] = []
    np.testing.assert_allclose(rerank_features(q, g, block=8, progress=stages.append), dense, atol=1e-5)
    assert stages == ["neighbours", "k-reciprocal sets", "Jaccard distances"]
    with pytest.raises(ValueError, match="non-empty"):
        rerank_features(q[:0], g)
