from __future__ import annotations

import numpy as np
import pytest

from mctrack.track.matching import INFEASIBLE, cosine_distance, fuse_costs, iou_matrix, linear_assignment


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0)])
def test_assignment_empty(shape):
    m, ua, ub = linear_assignment(np.zeros(shape), 0.5)
    assert m.shape == (0, 2)
    np.testing.assert_array_equal(ua, np.arange(shape[0]))
    np.testing.assert_array_equal(ub, np.arange(shape[1]))


def test_assignment_rectangular_wide():
    cost = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8]])
    m, ua, ub = linear_assignment(cost, 0.5)
    assert m.tolist() == [[0, 1], [1, 0]]
    assert ua.tolist() == [] and ub.tolist() == [2]


def test_assignment_rectangular_tall_is_global_optimum():
    # greedy would take (0, 0) = 0.1 and leave row 1 with 0.9; the optimum pairs (0, 1) and (1, 0)
    cost = np.array([[0.1, 0.2], [0.3, 0.9], [0.95, 0.95]])
    m, ua, ub = linear_assignment(cost, 1.0)
    assert m.tolist() == [[0, 1], [1, 0]]
    assert ua.tolist() == [2] and ub.tolist() == []


def test_assignment_threshold_and_infeasible():
    cost = np.array([[0.6, INFEASIBLE], [INFEASIBLE, 0.2], [np.nan, 0.1]])
    m, ua, ub = linear_assignment(cost, 0.5)
    assert m.tolist() == [[2, 1]]
    assert ua.tolist() == [0, 1] and ub.tolist() == [0]


def test_assignment_rejects_1d():
    with pytest.raises(ValueError, match="cost"):
        linear_assignment(np.zeros(3), 0.5)


def test_linear_assignment_odd_costs_and_threshold():
    m, ua, ub = linear_assignment(np.array([[-np.inf, 0.1], [0.2, 0.3]]), 0.5)
    assert m.tolist() == [[0, 0], [1, 1]] and ua.tolist() == [] and ub.tolist() == []
    m, _, _ = linear_assignment(np.array([[np.nan, 0.1], [np.inf, np.nan]]), 0.5)
    assert m.tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="thresh"):
        linear_assignment(np.zeros((2, 2)), float("nan"))
    with pytest.raises(ValueError, match="thresh: must be a finite number"):  # inf would keep +inf pairs
        linear_assignment(np.array([[np.inf, np.inf], [0.2, np.inf]]), float("inf"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # costs whose sum overflows are neither a warning nor a wrong result
        m, _, _ = linear_assignment(np.array([[1e308, 0.1], [0.2, 1e308]]), 0.5)
    assert m.tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (7, 7), (30, 34), (34, 30)])
def test_linear_assignment_is_optimal_against_lap(shape):
    """Same total cost as an independent solver (lap's Jonker-Volgenant with its cost limit), on random costs with
    infeasible pairs and NaNs; every kept pair within the threshold; one-to-one."""
    lap = pytest.importorskip("lap")
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        cost = rng.random(shape)
        cost[rng.random(shape) < 0.3] = INFEASIBLE
        cost[rng.random(shape) < 0.05] = np.nan
        thresh = 0.6
        m, ua, ub = linear_assignment(cost, thresh)
        clean = np.where(np.isnan(cost), INFEASIBLE, cost)
        assert (clean[m[:, 0], m[:, 1]] <= thresh).all()
        assert len(set(m[:, 0])) == len(m) and len(set(m[:, 1])) == len(m)
        assert sorted([*m[:, 0], *ua]) == list(range(shape[0])) and sorted([*m[:, 1], *ub]) == list(range(shape[1]))
        # the objective: matched costs plus thresh for every pair left open (unmatched ends cost the limit)
        _, x, _ = lap.lapjv(clean, extend_cost=True, cost_limit=thresh)
        ref_rows = np.flatnonzero(x >= 0)
        ref = clean[ref_rows, x[ref_rows]].sum() - thresh * len(ref_rows)
        got = clean[m[:, 0], m[:, 1]].sum() - thresh * len(m)
        assert got == pytest.approx(ref, abs=1e-9)


def test_iou_matrix_known_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 10]], float)  # second box has zero area
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]], float)
    iou = iou_matrix(a, b)
    np.testing.assert_allclose(iou[0], [50 / 150, 1.0, 0.0])
    np.testing.assert_allclose(iou[1], [0, 0, 0])
    # boxes that all have an area take the plain division: the same values as the guarded one above
    np.testing.assert_array_equal(iou_matrix(a[:1], b), iou[:1])
    assert iou_matrix(a, np.zeros((0, 4))).shape == (2, 0)


def test_cosine_distance():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(cosine_distance(a, b), [[0, 1], [1, 1]])
    with pytest.raises(ValueError, match="dims"):
        cosine_distance(a, np.ones((1, 3)))
    # float32 features (multiplied in float32) agree with the float64 result; the output is float64 either way
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 256)), rng.normal(size=(20, 256))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    d32 = cosine_distance(x.astype(np.float32), y.astype(np.float32))
    assert d32.dtype == np.float64 and cosine_distance(x, y).dtype == np.float64
    np.testing.assert_allclose(d32, np.clip(1.0 - x @ y.T, 0, 1), atol=1e-6)
    assert cosine_distance(np.zeros((0, 4), np.float32), y[:, :4]).shape == (0, 20)


def test_fuse_costs_gates():
    iou_d = np.array([[0.1, 1.0, 1.0]])
    app = np.array([[0.05, 0.05, 0.5]])
    cost = fuse_costs(
        iou_d,
        app,
        appearance_weight=0.5,
        max_iou_distance=0.8,
        appearance_thresh=0.25,
        motion_gate=np.array([[True, True, True]]),
    )
    assert cost[0, 0] == pytest.approx(0.075)
    assert cost[0, 1] == pytest.approx(0.525)  # no overlap, but confidently the same person
    assert cost[0, 2] == INFEASIBLE  # looks different
    gated = fuse_costs(
        iou_d,
        app,
        appearance_weight=0.5,
        max_iou_distance=0.8,
        appearance_thresh=0.25,
        motion_gate=np.array([[False, False, True]]),
    )
    assert gated[0, 1] == INFEASIBLE
    assert gated[0, 0] == pytest.approx(0.075)  # overlapping pairs need no gate
    motion_only = fuse_costs(iou_d, None, appearance_weight=0.5, max_iou_distance=0.8, appearance_thresh=0.25)
    assert motion_only[0, 0] == pytest.approx(0.1) and motion_only[0, 1] == INFEASIBLE


def test_fuse_costs_asks_a_lazy_gate_only_for_the_pairs_it_decides():
    """A callable gate gives the same costs as the full matrix and is asked only for the pairs without enough
    overlap but with confident appearance (without appearance: the pairs that overlap enough)."""
    rng = np.random.default_rng(0)
    kw = dict(appearance_weight=0.5, max_iou_distance=0.8, appearance_thresh=0.25)
    for _ in range(50):
        iou_d = rng.choice([0.1, 0.5, 0.9, 1.0], (6, 5))
        app = rng.choice([0.05, 0.1, 0.2, 0.3], (6, 5))
        full = rng.random((6, 5)) < 0.5
        asked = []

        def lazy(rows, cols, full=full, asked=asked):
            asked.append(sorted(zip(rows.tolist(), cols.tolist(), strict=True)))
            return full[rows, cols]

        np.testing.assert_array_equal(
            fuse_costs(iou_d, app, motion_gate=lazy, **kw), fuse_costs(iou_d, app, motion_gate=full, **kw)
        )
        decides = sorted(zip(*((iou_d > 0.8) & (app <= 0.125)).nonzero(), strict=True))
        assert asked == ([[(int(r), int(c)) for r, c in decides]] if decides else [])
        asked.clear()
        np.testing.assert_array_equal(
            fuse_costs(iou_d, None, motion_gate=lazy, **kw), fuse_costs(iou_d, None, motion_gate=full, **kw)
        )
        overlapping = sorted(zip(*(iou_d <= 0.8).nonzero(), strict=True))
        assert asked == ([[(int(r), int(c)) for r, c in overlapping]] if overlapping else [])


def test_iou_matrix_odd_boxes_score_zero_and_views_are_read_right():
    a = np.array([[0, 0, 10, 10], [10, 10, 0, 0], [np.nan, 0, 10, 10]], float)  # a box, an inverted one, a NaN
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10]], float)
    iou = iou_matrix(a, b)
    np.testing.assert_allclose(iou, [[50 / 150, 1.0], [0, 0], [0, 0]])
    # a strided view (every other column of a wider array) and float32 boxes: the same values
    wide = np.zeros((3, 8))
    wide[:, ::2] = a
    np.testing.assert_array_equal(iou_matrix(wide[:, ::2], b.astype(np.float32)), iou)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (40, 2))
    boxes = np.c_[xy, xy + rng.uniform(5, 40, (40, 2))]
    # against the definition, pair by pair
    for i, j in rng.integers(0, 40, (60, 2)):
        w = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
        h = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        assert iou_matrix(boxes, boxes)[i, j] == pytest.approx(w * h / (area[i] + area[j] - w * h), rel=1e-12)
