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
