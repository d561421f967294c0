"""The Market-1501 retrieval protocol of ``evaluate_rank``, worked out by hand on a small gallery."""

from __future__ import annotations

import numpy as np
import pytest

from reid_models.evaluation import count_matchable_queries, evaluate_rank

# gallery: (identity, camera)
GALLERY = [
    (5, 1),  # 0: query A's identity in query A's camera: removed from A's ranking
    (-1, 2),  # 1: junk: ignored
    (0, 2),  # 2: a distractor: stays, a negative
    (9, 1),  # 3: another person in A's camera: stays, a negative
    (5, 2),  # 4: A, another camera: a true match
    (7, 3),  # 5: query B's identity in B's camera only: B has nothing to find
    (5, 3),  # 6: A, a third camera: a true match
    (4, 2),  # 7: as close to C as C's own match, and earlier in the gallery
    (8, 2),  # 8: C, another camera: a true match
]
QUERIES = [(5, 1), (7, 3), (8, 1)]  # A, B, C
DIST = np.array(
    [
        [0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8],  # A: ranked in gallery order
        [0.5] * 9,  # B
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1],  # C: a tie, broken by gallery order
    ]
)


def _evaluate(max_rank: int = 3):
    g_ids, g_cams = np.array(GALLERY).T
    q_ids, q_cams = np.array(QUERIES).T
    return evaluate_rank(DIST, q_ids, g_ids, q_cams, g_cams, max_rank=max_rank)


def test_market1501_protocol_by_hand():
    r = _evaluate()
    # A's ranking without item 0 (same identity, same camera) and item 1 (junk): 2 (distractor), 3 (another person in
    # A's camera), 4 (hit), 5, 6 (hit), 7, 8: first hit at rank 3, AP = (1/3 + 2/5) / 2, INP = 2 / 5.
    # B's only match is in B's own camera: skipped, not scored as a miss.
    # C: items 7 and 8 tie; 7 comes first (gallery order), so C's hit is at rank 2: AP = 1/2, INP = 1/2.
    assert (r.num_valid_queries, r.num_skipped_queries) == (2, 1)
    np.testing.assert_allclose(r.cmc, [0.0, 0.5, 1.0])  # a hit at rank 3 = max_rank counts
    assert (r.rank(1), r.rank(2), r.rank(3)) == (0.0, 0.5, 1.0)
    assert r.mAP == pytest.approx(((1 / 3 + 2 / 5) / 2 + 1 / 2) / 2)
    assert r.mINP == pytest.approx((2 / 5 + 1 / 2) / 2)
    assert r.summary()["rank1"] == 0.0 and r.summary()["skipped"] == 1
    assert np.isnan(r.rank(4))  # beyond the curve
    # a shorter curve: A's first hit lies beyond it
    np.testing.assert_allclose(_evaluate(max_rank=2).cmc, [0.0, 0.5])


def test_matchable_queries_are_those_the_protocol_scores():
    g_ids, g_cams = np.array(GALLERY).T
    q_ids, q_cams = np.array([*QUERIES, (-1, 1)]).T  # a junk query: junk gallery items are no match for it
    assert count_matchable_queries(q_ids, g_ids, q_cams, g_cams) == 2
    r = evaluate_rank(np.vstack([DIST, DIST[:1]]), q_ids, g_ids, q_cams, g_cams, max_rank=3)
    assert r.num_valid_queries == 2 and r.num_skipped_queries == 2
