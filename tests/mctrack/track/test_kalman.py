from __future__ import annotations

import numpy as np
import pytest

from mctrack.track.kalman import CHI2_95, BoxKalman, cxcywh_to_xyxy, xyxy_to_cxcywh

Z = np.array([[50.0, 100.0, 20.0, 40.0]])  # cx, cy, w, h


def test_initiate_known_values():
    kf = BoxKalman()
    mean, cov = kf.initiate(Z)
    np.testing.assert_allclose(mean, [[50, 100, 20, 40, 0, 0, 0, 0]])
    # 2 * (1/20) * (w, h, w, h) and 10 * (1/160) * (w, h, w, h)
    np.testing.assert_allclose(np.sqrt(np.diag(cov[0])), [2, 4, 2, 4, 1.25, 2.5, 1.25, 2.5])
    assert np.count_nonzero(cov[0] - np.diag(np.diag(cov[0]))) == 0


def test_predict_known_values():
    kf = BoxKalman()
    mean, cov = kf.initiate(Z)
    mean[0, 4:6] = [1.0, 2.0]
    pm, pc = kf.predict(mean, cov)
    np.testing.assert_allclose(pm[0], [51, 102, 20, 40, 1, 2, 0, 0])
    # P' = F P F^T + Q: position var = 4 + 1.5625 + (0.05 * 20)^2
    assert pc[0, 0, 0] == pytest.approx(4 + 1.5625 + 1.0)
    assert pc[0, 0, 4] == pytest.approx(1.5625)
    assert pc[0, 4, 4] == pytest.approx(1.5625 + (20 / 160) ** 2)
    assert mean[0, 0] == 50  # input untouched


def test_update_known_values():
    kf = BoxKalman()
    mean, cov = kf.predict(*kf.initiate(Z))
    # S_00 = 6.5625 + R (0.05 * 20)^2 = 7.5625, so the gain on cx is 6.5625 / 7.5625
    z = Z.copy()
    z[0, 0] += 7.5625
    um, uc = kf.update(mean, cov, z)
    assert um[0, 0] == pytest.approx(50 + 6.5625)
    np.testing.assert_allclose(um[0, 1:4], Z[0, 1:])
    assert uc[0, 0, 0] == pytest.approx(6.5625 * 1.0 / 7.5625)  # (1 - K) P
    assert np.all(np.diag(uc[0]) <= np.diag(cov[0]) + 1e-12)


def test_update_matches_filterpy():
    filterpy = pytest.importorskip("filterpy.kalman")
    kf = BoxKalman()
    mean, cov = kf.initiate(Z)
    mean, cov = kf.predict(mean, cov)
    z = np.array([[53.0, 97.0, 22.0, 41.0]])
    um, uc = kf.update(mean, cov, z)
    ref = filterpy.KalmanFilter(dim_x=8, dim_z=4)
    ref.x, ref.P = mean[0].copy(), cov[0].copy()
    ref.H = np.eye(4, 8)
    ref.R = np.diag((0.05 * np.array([20.0, 40.0, 20.0, 40.0])) ** 2)
    ref.update(z[0])
    np.testing.assert_allclose(um[0], ref.x, rtol=1e-9)
    np.testing.assert_allclose(uc[0], ref.P, rtol=1e-6, atol=1e-9)


def test_batched_equals_rows():
    kf = BoxKalman(nsa=True)
    rng = np.random.default_rng(0)
    z = np.c_[rng.uniform(0, 500, (5, 2)), rng.uniform(10, 80, (5, 2))]
    mean, cov = kf.predict(*kf.initiate(z))
    meas = z + rng.normal(0, 2, z.shape)
    score = rng.uniform(0.3, 1.0, 5)
    bm, bc = kf.update(mean, cov, meas, score)
    for i in range(5):
        m1, c1 = kf.update(mean[i : i + 1], cov[i : i + 1], meas[i : i + 1], score[i : i + 1])
        np.testing.assert_allclose(bm[i], m1[0])
        np.testing.assert_allclose(bc[i], c1[0])


def test_nsa_trusts_confident_detections_more():
    mean, cov = BoxKalman().predict(*BoxKalman().initiate(Z))
    z = Z + [[10.0, 0, 0, 0]]
    plain = BoxKalman().update(mean, cov, z, np.array([0.95]))[0][0, 0]
    nsa = BoxKalman(nsa=True).update(mean, cov, z, np.array([0.95]))[0][0, 0]
    assert nsa > plain
    # the factor (1 - score) is floored at 0.1: a score of 1 does not make the detection exact
    kf = BoxKalman(nsa=True)
    at = {s: kf.update(mean, cov, z, np.array([s]))[0][0, 0] for s in (1.0, 0.95, 0.85)}
    assert at[1.0] == at[0.95] != at[0.85] and at[1.0] < z[0, 0]


def test_gating_distance():
    kf = BoxKalman()
    mean, cov = kf.predict(*kf.initiate(Z))
    d = kf.gating_distance(mean, cov, np.array([Z[0], Z[0] + [200, 0, 0, 0]]))
    assert d.shape == (1, 2)
    assert d[0, 0] == pytest.approx(0.0)
    assert d[0, 1] == pytest.approx(200**2 / 7.5625)
    assert d[0, 1] > CHI2_95[4]
    assert kf.gating_distance(mean, cov, np.zeros((0, 4))).shape == (1, 0)
    # only_position: the centre alone, against the centre block of the innovation covariance
    resized = Z[0] + [3.0, -2.0, 15.0, 30.0]
    proj, s_cov = kf.project(mean, cov)
    diff = resized[:2] - proj[0, :2]
    expected = diff @ np.linalg.inv(s_cov[0, :2, :2]) @ diff
    assert kf.gating_distance(mean, cov, resized[None], only_position=True)[0, 0] == pytest.approx(expected)
    assert kf.gating_distance(mean, cov, resized[None])[0, 0] > 2 * expected  # the size counts in the full one


def test_pair_distance_is_the_gating_distance_of_each_pair():
    """Each track against its own measurement gives the same number as the full matrix's entry, for one pair, a
    few and many."""
    kf = BoxKalman()
    rng = np.random.default_rng(0)
    for n in (1, 5, 40):
        z0 = np.c_[rng.uniform(50, 500, (n, 2)), rng.uniform(20, 80, (n, 1)), rng.uniform(40, 200, (n, 1))]
        mean, cov = kf.predict(*kf.initiate(z0))
        mean[:, :2] += rng.normal(0, 5, (n, 2))
        z = z0 + rng.normal(0, 10, (n, 4))
        full = kf.gating_distance(mean, cov, z)
        np.testing.assert_allclose(kf.pair_distance(mean, cov, z), np.diag(full), rtol=1e-10)
    from mctrack.track.tracker import apply_warp

    # a rotating warp couples cx with cy (the closed form's 2x2 blocks); a covariance that couples centre and
    # size takes the general inverse
    wmean, wcov = apply_warp(mean, cov, np.array([[0.99, 0.05, 3.0], [-0.05, 0.99, -2.0]]))
    wmean, wcov = kf.update(*kf.predict(wmean, wcov), z)
    assert np.abs(wcov[:, 0, 1]).max() > 0.1
    coupled = wcov.copy()
    coupled[:, 0, 2] = coupled[:, 2, 0] = 0.3 * np.sqrt(coupled[:, 0, 0] * coupled[:, 2, 2])
    for m, c in ((wmean, wcov), (wmean, coupled)):
        np.testing.assert_allclose(kf.pair_distance(m, c, z), np.diag(kf.gating_distance(m, c, z)), rtol=1e-10)
    assert not np.allclose(kf.pair_distance(wmean, coupled, z), kf.pair_distance(wmean, wcov, z))
    assert kf.pair_distance(mean[:0], cov[:0], np.zeros((0, 4))).shape == (0,)
    with pytest.raises(ValueError, match="2 tracks but 1 measurements"):
        kf.pair_distance(mean[:2], cov[:2], z[:1])


def test_box_conversions_roundtrip():
    b = np.array([[10.0, 20.0, 30.0, 60.0]])
    np.testing.assert_allclose(xyxy_to_cxcywh(b), [[20, 40, 20, 40]])
    np.testing.assert_allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(b)), b)


@pytest.mark.parametrize("name", ["std_position", "std_velocity", "std_measurement"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan")])
def test_bad_noise_rejected(name, value):
    with pytest.raises(ValueError, match=name):
        BoxKalman(**{name: value})


def test_block_inverse_equals_lapack_and_falls_back_for_coupled_matrices():
    from mctrack.track.kalman import _inverse4
    from mctrack.track.tracker import apply_warp

    kf = BoxKalman()
    rng = np.random.default_rng(1)
    z = np.c_[rng.uniform(0, 900, (30, 2)), rng.uniform(20, 150, (30, 2))]
    mean, cov = kf.initiate(z)
    for _ in range(4):  # rotating warps couple cx with cy (the closed form's 2x2 blocks), never centre with size
        mean, cov = apply_warp(mean, cov, np.array([[0.99, 0.05, 3.0], [-0.05, 0.99, -2.0]]))
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, z + rng.normal(0, 2, z.shape))
    _, s = kf.project(mean, cov)
    assert np.abs(s[:, 0, 1]).max() > 0.1  # the blocks are really 2x2, not diagonal
    for rows in (slice(None), slice(0, 1), slice(3, 6)):  # many, and the gate's one or few
        np.testing.assert_allclose(_inverse4(s[rows]), np.linalg.inv(s[rows]), rtol=1e-12, atol=1e-15)
    g = rng.normal(size=(30, 4, 4))
    g = g @ g.transpose(0, 2, 1) + np.eye(4)  # centre and size coupled: the general inverse
    np.testing.assert_allclose(_inverse4(g), np.linalg.inv(g), rtol=1e-10)


def test_update_with_coupled_covariance_matches_filterpy():
    filterpy = pytest.importorskip("filterpy.kalman")
    kf = BoxKalman()
    rng = np.random.default_rng(2)
    a = rng.normal(size=(30, 8, 8))
    cov = a @ a.transpose(0, 2, 1) + 5 * np.eye(8)  # every entry coupled, 30 tracks (the batched path)
    mean = np.c_[rng.uniform(0, 500, (30, 2)), rng.uniform(20, 80, (30, 2)), rng.normal(size=(30, 4))]
    z = mean[:, :4] + rng.normal(0, 3, (30, 4))
    um, uc = kf.update(mean, cov, z)
    for i in (0, 17, 29):
        ref = filterpy.KalmanFilter(dim_x=8, dim_z=4)
        ref.x, ref.P = mean[i].copy(), cov[i].copy()
        ref.H = np.eye(4, 8)
        ref.R = np.diag((0.05 * np.r_[mean[i, 2:4], mean[i, 2:4]]) ** 2)
        ref.update(z[i])
        np.testing.assert_allclose(um[i], ref.x, rtol=1e-9)
        np.testing.assert_allclose(uc[i], ref.P, rtol=1e-6, atol=1e-9)


def test_predict_noise_scale_multiplies_the_process_noise():
    kf = BoxKalman()
    mean, cov = kf.initiate(Z)
    _, plain = kf.predict(mean, cov)
    _, doubled = kf.predict(mean, cov, 2.0)
    _, per_track = kf.predict(np.r_[mean, mean], np.r_[cov, cov], np.array([1.0, 3.0]))
    q = np.diag(kf.predict(mean, np.zeros_like(cov))[1][0])  # the process noise alone
    np.testing.assert_allclose(np.diag(doubled[0]) - np.diag(plain[0]), q)
    np.testing.assert_allclose(per_track[0], plain[0])
    np.testing.assert_allclose(np.diag(per_track[1]) - np.diag(plain[0]), 2 * q)


def test_update_returns_the_normalised_innovation_squared():
    kf = BoxKalman()
    mean, cov = kf.predict(*kf.initiate(np.r_[Z, Z + [[40.0, 0, 5, 5]]]))
    z = np.r_[Z, Z + [[40.0, 0, 5, 5]]] + [[7.5625, 0, 0, 0], [0, 3.0, 1.0, 0]]
    m2, c2 = kf.update(mean, cov, z)
    m3, c3, nis = kf.update(mean, cov, z, return_nis=True)
    np.testing.assert_array_equal(m2, m3)
    _, s = kf.project(mean, cov)
    d = z - mean[:, :4]
    np.testing.assert_allclose(nis, [d[i] @ np.linalg.solve(s[i], d[i]) for i in range(2)])
    assert nis[0] == pytest.approx(7.5625**2 / 7.5625)  # S_00 = 7.5625 (see test_update_known_values)
    assert kf.update(mean[:0], cov[:0], z[:0], return_nis=True)[2].shape == (0,)


def test_centre_scale_and_standardised_centre_innovations():
    kf = BoxKalman()
    mean, cov = kf.predict(*kf.initiate(np.r_[Z, Z + [[40.0, 0, 5, 5]]]))
    _, s1 = kf.project(mean, cov)
    _, s3 = kf.project(mean, cov, centre_scale=3.0)
    r = s3 - s1  # twice the centre's measurement variances, nothing else
    var = (kf.std_measurement * mean[:, 2:4]) ** 2
    np.testing.assert_allclose(np.diagonal(r, axis1=1, axis2=2), np.c_[2 * var, 0 * var])
    np.testing.assert_array_equal(r - np.stack([np.diag(d) for d in np.diagonal(r, axis1=1, axis2=2)]), 0)
    z = np.r_[Z, Z + [[40.0, 0, 5, 5]]] + [[7.5625, 0, 0, 0], [0, 3.0, 1.0, 0]]
    m, c, nis, e = kf.update(mean, cov, z, return_nis=True, return_centre=True, centre_scale=3.0)
    d = z - mean[:, :4]
    np.testing.assert_allclose(e, d[:, :2] / np.sqrt(np.diagonal(s3, axis1=1, axis2=2)[:, :2]))
    m1, c1, e1 = kf.update(mean, cov, z, return_centre=True)  # without the NIS: the innovations third
    np.testing.assert_allclose(e1, d[:, :2] / np.sqrt(np.diagonal(s1, axis1=1, axis2=2)[:, :2]))
    assert abs(m[0, 0] - mean[0, 0]) < abs(m1[0, 0] - mean[0, 0])  # noisier measurement: a smaller correction
    assert kf.update(mean[:0], cov[:0], z[:0], return_nis=True, return_centre=True)[3].shape == (0, 2)


def _dense_warp(warp: np.ndarray) -> np.ndarray:
    """The 8x8 state map of a (2, 3) warp, written out: r on the centre and its velocity, the area scale on sizes."""
    r = warp[:, :2]
    m = np.zeros((8, 8))
    m[0:2, 0:2] = m[4:6, 4:6] = r
    m[2, 2] = m[3, 3] = m[6, 6] = m[7, 7] = np.sqrt(abs(np.linalg.det(r)))
    return m


def test_compiled_predict_with_warp_and_held_sizes_equals_dense_matrices():
    from mctrack.track.kalman import warp_states

    kf = BoxKalman(std_velocity=1 / 80)
    rng = np.random.default_rng(4)
    n = 7
    mean = np.c_[rng.uniform(0, 900, (n, 2)), rng.uniform(0.2, 150, (n, 2)), rng.normal(0, 3, (n, 4))]
    g = rng.normal(size=(n, 8, 8))
    cov = g @ g.transpose(0, 2, 1) + np.eye(8)  # dense: every entry moves (the tracker's are block-structured)
    warp = np.array([[0.98, 0.07, 3.0], [-0.05, 1.02, -2.0]])
    hold = rng.random(n) < 0.5
    scale = rng.uniform(0.5, 2.0, n)
    m = _dense_warp(warp)
    ref_mean = mean @ m.T
    ref_mean[:, :2] += warp[:, 2]
    ref_cov = m @ cov @ m.T
    got_mean, got_cov = warp_states(mean, cov, warp)
    np.testing.assert_allclose(got_mean, ref_mean, rtol=1e-12)
    np.testing.assert_allclose(got_cov, ref_cov, rtol=1e-12, atol=1e-12)
    f = np.eye(8) + np.eye(8, k=4)
    ref_mean[hold, 6:8] = 0.0
    wh = np.maximum(ref_mean[:, 2:4], 1.0)  # Q from the warped sizes, floored at 1 pixel
    q = np.c_[kf.std_position * wh, kf.std_position * wh, kf.std_velocity * wh, kf.std_velocity * wh] ** 2
    ref_cov = f @ ref_cov @ f.T + np.einsum("ti,ij->tij", q * scale[:, None], np.eye(8))
    pm, pc = kf.predict(mean, cov, scale, warp=warp, hold_size=hold)
    np.testing.assert_allclose(pm, ref_mean @ f.T, rtol=1e-12)
    np.testing.assert_allclose(pc, ref_cov, rtol=1e-12, atol=1e-12)
    # one scale for all, no warp, no held sizes: the plain prediction, its process noise times the scale
    fpf = f @ cov @ f.T
    pm, pc = kf.predict(mean, cov, 1.5)
    np.testing.assert_allclose(pc - fpf, 1.5 * (kf.predict(mean, cov)[1] - fpf), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pm, mean @ f.T)
    np.testing.assert_array_equal(cov, g @ g.transpose(0, 2, 1) + np.eye(8))  # inputs untouched


def test_compiled_filter_takes_views_and_refuses_wrong_shapes():
    kf = BoxKalman()
    mean, cov = kf.initiate(np.c_[np.arange(6.0) * 50, np.full(6, 80.0), np.full(6, 30.0), np.full(6, 90.0)])
    # strided views and float32 give the same result as contiguous float64 copies
    pm, pc = kf.predict(mean[::2], cov[::2])
    np.testing.assert_array_equal(pm, kf.predict(mean[::2].copy(), cov[::2].copy())[0])
    z = (mean[:, :4] + 1.0).astype(np.float32)
    np.testing.assert_array_equal(kf.update(pm, pc, z[::2])[0], kf.update(pm, pc, z[::2].astype(np.float64))[0])
    with pytest.raises(ValueError, match="expected mean"):
        kf.predict(mean[:, :4], cov)
    with pytest.raises(ValueError, match="expected mean"):
        kf.update(mean, cov[:3], mean[:, :4])
    with pytest.raises(ValueError, match="6 tracks but 2 measurements"):
        kf.update(mean, cov, mean[:2, :4])
    nsa = BoxKalman(nsa=True)
    with pytest.raises(ValueError, match="6 tracks but 2 scores"):
        nsa.update(mean, cov, mean[:, :4], np.array([0.5, 0.6]))
    # one measurement or score for every track broadcasts, as before the kernels (numpy broadcasting)
    np.testing.assert_array_equal(
        nsa.update(mean, cov, mean[:1, :4], 0.8)[1],
        nsa.update(mean, cov, np.repeat(mean[:1, :4], 6, 0), np.full(6, 0.8))[1],
    )
    assert kf.update(mean[:0], cov[:0], mean[:, :4])[0].shape == (0, 8)  # no tracks: nothing to correct
    # read-only arrays (another argument type for numba) are taken as they are
    frozen = [a.copy() for a in (mean, cov)]
    for a in frozen:
        a.flags.writeable = False
    np.testing.assert_array_equal(kf.predict(*frozen)[1], kf.predict(mean, cov)[1])
    with pytest.raises(ValueError, match="noise_scale"):
        kf.predict(mean, cov, np.ones(4))
    with pytest.raises(ValueError, match="hold_size"):
        kf.predict(mean, cov, hold_size=np.ones(2, bool))
    with pytest.raises(ValueError, match=r"warp: expected a finite \(2, 3\) affine matrix, got shape \(3, 3\)"):
        kf.predict(mean, cov, warp=np.eye(3))


def test_compiled_filter_divides_by_zero_as_numpy_does():
    """numba's default error model raised ZeroDivisionError where the numpy filter gave inf or NaN."""
    kf = BoxKalman()
    mean = np.array([[50.0, 60.0, 20.0, 40.0, 0, 0, 0, 0]])
    cov = np.zeros((1, 8, 8))  # no uncertainty left in the centre, and no measurement noise counted for it
    with np.errstate(divide="ignore", invalid="ignore"):
        um, uc, nis, centre = kf.update(
            mean, cov, mean[:, :4] + 1.0, return_nis=True, return_centre=True, centre_scale=0.0
        )
    assert np.isinf(centre).all() and not np.isfinite(nis).any()


def test_warps_that_are_not_finite_are_refused_everywhere():
    from mctrack.track import Tracker
    from mctrack.track.kalman import warp_states
    from mctrack.types import Detections

    kf = BoxKalman()
    mean, cov = kf.initiate(Z)
    bad = np.array([[1.0, 0.0, np.nan], [0.0, 1.0, 0.0]])
    for call in (lambda: warp_states(mean, cov, bad), lambda: kf.predict(mean, cov, warp=bad)):
        with pytest.raises(ValueError, match="finite"):
            call()
    with pytest.raises(ValueError, match="finite"):
        kf.predict(mean, cov, warp="x")
    tracker = Tracker()
    dets = Detections(np.array([[10.0, 10.0, 50.0, 90.0]]), np.array([0.9]))
    for _ in range(3):
        tracker.update(dets)
    with pytest.raises(ValueError, match="finite"):  # it marked every detection as needed instead
        tracker.appearance_needed(dets, warp=bad)


def test_chi_square_constants_are_the_quantiles_they_name():
    """CHI2_95[k] is the 95% quantile and CHI2_MEDIAN_4 the median of the chi-square distribution with k dof:
    checked against the closed-form CDFs (1 and 3 dof through erf, 2 and 4 dof through the exponential), so a
    mistyped gate threshold would move every tracker's gating."""
    from math import erf, exp, pi, sqrt

    from mctrack.track.kalman import CHI2_MEDIAN_4

    cdf = {
        1: lambda x: erf(sqrt(x / 2)),
        2: lambda x: 1 - exp(-x / 2),
        3: lambda x: erf(sqrt(x / 2)) - sqrt(2 * x / pi) * exp(-x / 2),
        4: lambda x: 1 - exp(-x / 2) * (1 + x / 2),
    }
    assert sorted(CHI2_95) == [1, 2, 3, 4]
    for k, q in CHI2_95.items():
        assert cdf[k](q) == pytest.approx(0.95, abs=1e-5), k
    assert cdf[4](CHI2_MEDIAN_4) == pytest.approx(0.5, abs=1e-5)


def test_boxes_smaller_than_a_pixel_get_the_noise_of_a_one_pixel_box():
    """Every noise term scales with the box size floored at 1 pixel (module docstring, ``_scale``): a degenerate
    0.2 x 0.5 box starts, projects and gates with the noise of a 1 x 1 box, not with (near) zero noise that would
    make its first detection look impossibly far away."""
    kf = BoxKalman()
    tiny = np.array([[30.0, 40.0, 0.2, 0.5]])
    _, cov = kf.initiate(tiny)
    # 2 * (1/20) * 1 pixel for positions and sizes, 10 * (1/160) * 1 pixel for their velocities
    np.testing.assert_allclose(np.sqrt(np.diag(cov[0])), [0.1] * 4 + [0.0625] * 4)
    mean = np.r_[tiny[0], np.zeros(4)][None]
    _, s = kf.project(mean, np.zeros((1, 8, 8)))
    np.testing.assert_allclose(s[0], np.diag([0.05**2] * 4))  # R alone: (1/20 * 1 pixel)^2 on every dimension
    # the pair gate with no state uncertainty: |d|^2 / R
    d = np.array([0.1, -0.2, 0.05, 0.0])
    assert kf.pair_distance(mean, np.zeros((1, 8, 8)), tiny + d)[0] == pytest.approx(d @ d / 0.05**2)


def test_nsa_project_scales_the_measurement_noise_by_one_minus_the_score_floored_at_a_tenth():
    """StrongSORT's NSA measurement noise (class docstring): R is multiplied by (1 - score)^2, with 1 - score
    floored at 0.1, so a 0.5 detection gets a quarter of R and a 0.95 one a hundredth, not 0.05^2; without a score
    or without nsa, R is unchanged."""
    mean = np.r_[Z[0], np.zeros(4)][None]
    zero = np.zeros((1, 8, 8))
    r = np.diag((0.05 * np.array([20.0, 40.0, 20.0, 40.0])) ** 2)
    nsa = BoxKalman(nsa=True)
    np.testing.assert_allclose(nsa.project(mean, zero, np.array([0.5]))[1][0], 0.25 * r)
    np.testing.assert_allclose(nsa.project(mean, zero, np.array([0.95]))[1][0], 0.01 * r)
    np.testing.assert_allclose(nsa.project(mean, zero)[1][0], r)
    np.testing.assert_allclose(BoxKalman().project(mean, zero, np.array([0.5]))[1][0], r)


def test_nsa_filter_without_scores_updates_like_the_plain_filter():
    """``score`` is used only with nsa, and nsa needs a score: an nsa filter given no scores corrects exactly as
    the plain filter does (finite numbers, not NaN from a missing score)."""
    kf = BoxKalman()
    mean, cov = kf.predict(*kf.initiate(np.r_[Z, Z + [[40.0, 0, 5, 5]]]))
    z = np.r_[Z, Z + [[40.0, 0, 5, 5]]] + [[3.0, -1.0, 1.0, 2.0], [0, 3.0, 1.0, 0]]
    for got, want in zip(BoxKalman(nsa=True).update(mean, cov, z), kf.update(mean, cov, z)):
        np.testing.assert_allclose(got, want)


def _reference_update(mean, cov, z, r):
    """Textbook Kalman correction of one state with H = [I 0] and measurement noise ``r``: the new mean and
    covariance, the normalised innovation squared and the centre's standardised innovations."""
    h = np.eye(4, 8)
    s = h @ cov @ h.T + r
    k = cov @ h.T @ np.linalg.inv(s)
    y = z - h @ mean
    return mean + k @ y, (np.eye(8) - k @ h) @ cov, y @ np.linalg.solve(s, y), y[:2] / np.sqrt(np.diag(s)[:2])


def test_update_of_coupled_covariances_honours_centre_scale_nsa_and_returns_nis_and_centre_innovations():
    """A covariance coupling centre and size takes the general-inverse path of ``update``: it too must scale the
    centre's measurement noise by centre_scale, apply the NSA score factor, and return the NIS and the centre's
    standardised innovations, all as the textbook correction with the same R does."""
    rng = np.random.default_rng(7)
    n = 6
    a = rng.normal(size=(n, 8, 8))
    cov = a @ a.transpose(0, 2, 1) + 5 * np.eye(8)
    mean = np.c_[rng.uniform(0, 500, (n, 2)), rng.uniform(20, 80, (n, 2)), rng.normal(size=(n, 4))]
    z = mean[:, :4] + rng.normal(0, 3, (n, 4))
    score = rng.uniform(0.3, 0.99, n)
    for kf, sc, centre_scale in ((BoxKalman(), None, 3.0), (BoxKalman(nsa=True), score, 1.0)):
        um, uc, nis, centre = kf.update(
            mean, cov, z, sc, return_nis=True, return_centre=True, centre_scale=centre_scale
        )
        for i in range(n):
            var = (0.05 * np.r_[mean[i, 2:4], mean[i, 2:4]]) ** 2
            if sc is not None:
                var *= max(1 - sc[i], 0.1) ** 2
            var[:2] *= centre_scale
            ref = _reference_update(mean[i], cov[i], z[i], np.diag(var))
            np.testing.assert_allclose(um[i], ref[0], rtol=1e-9)
            np.testing.assert_allclose(uc[i], ref[1], rtol=1e-6, atol=1e-9)
            assert nis[i] == pytest.approx(ref[2], rel=1e-9)
            np.testing.assert_allclose(centre[i], ref[3], rtol=1e-9)


def test_project_returns_new_arrays_that_do_not_alias_the_state():
    """Every function returns new arrays and never mutates its inputs (module docstring): editing the projected
    measurement or innovation covariance (as a caller gating by hand might) leaves the track's state as it was."""
    kf = BoxKalman()
    mean, cov = kf.predict(*kf.initiate(Z))
    keep = mean.copy(), cov.copy()
    proj, s = kf.project(mean, cov)
    proj += 100.0
    s += 100.0
    np.testing.assert_array_equal(mean, keep[0])
    np.testing.assert_array_equal(cov, keep[1])
