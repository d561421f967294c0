from __future__ import annotations

import numpy as np
import pytest

from mctrack.synth.camera import ColorResponse, PinholeCamera


def _cam(**kw) -> PinholeCamera:
    args = dict(position=(1.0, 1.0, 4.2), target=(12.0, 12.5, 0.0), width=640, height=360, hfov_deg=62)
    args.update(kw)
    return PinholeCamera.look_at("cam1", args.pop("position"), args.pop("target"), **args)


def test_target_projects_to_image_centre_and_is_in_front():
    cam = _cam()
    uv, z = cam.project(np.array([[12.0, 12.5, 0.0]]))
    np.testing.assert_allclose(uv[0], [320, 180], atol=1e-6)
    assert z[0] > 0
    np.testing.assert_allclose(cam.center, [1.0, 1.0, 4.2], atol=1e-9)


def test_ground_homography_round_trip():
    cam = _cam()
    rng = np.random.default_rng(0)
    ground = np.column_stack([rng.uniform(6, 20, 50), rng.uniform(6, 20, 50)])
    uv, z = cam.project(np.column_stack([ground, np.zeros(50)]))
    assert np.all(z > 0)
    h = np.column_stack([ground, np.ones(50)]) @ cam.ground_to_image.T
    np.testing.assert_allclose(h[:, :2] / h[:, 2:], uv, atol=1e-6)  # H agrees with the full projection
    back = np.column_stack([uv, np.ones(50)]) @ cam.image_to_ground.T
    np.testing.assert_allclose(back[:, :2] / back[:, 2:], ground, atol=1e-6)


def test_points_above_ground_project_higher_in_the_image():
    cam = _cam()
    uv, _ = cam.project(np.array([[10.0, 10.0, 0.0], [10.0, 10.0, 1.7]]))
    assert uv[1, 1] < uv[0, 1]  # head above feet: smaller row


def test_calibration_file_round_trip(tmp_path):
    cam = _cam(color=ColorResponse(gains=(0.9, 1.0, 1.1), gamma=1.1, blur=0.5, noise=2.0))
    cam.save(tmp_path / "calib.json")
    back = PinholeCamera.load(tmp_path / "calib.json")
    np.testing.assert_allclose(back.K, cam.K)
    np.testing.assert_allclose(back.R, cam.R)
    np.testing.assert_allclose(back.t, cam.t)
    assert back.color == cam.color and (back.width, back.height) == (640, 360)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(hfov_deg=5), "hfov_deg"),
        (dict(target=(1.0, 1.0, 4.2)), "target"),
        (dict(target=(1.0, 1.0, 0.0)), "target"),  # straight down
        (dict(width=8), "width"),
    ],
)
def test_bad_camera_arguments_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        _cam(**kw)


@pytest.mark.parametrize(
    "kw, name",
    [(dict(gains=(1, 0, 1)), "gains"), (dict(gamma=0), "gamma"), (dict(blur=-1), "blur"), (dict(noise=-0.5), "noise")],
)
def test_bad_color_response_names_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        ColorResponse(**kw)


def test_color_lut_is_identity_when_neutral_and_shifts_with_gains():
    assert np.array_equal(ColorResponse().lut()[0, :, 0], np.arange(256))
    warm = ColorResponse(gains=(0.8, 1.0, 1.2)).lut()[0]
    assert warm[128, 0] < 128 < warm[128, 2]
