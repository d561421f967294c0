from __future__ import annotations

import numpy as np
import pytest

from mctrack.synth.camera import PinholeCamera
from mctrack.synth.motion import plan_trajectories
from mctrack.synth.person import pose_points, sample_appearance
from mctrack.synth.render import CameraRenderer
from mctrack.synth.world import default_world

WORLD = default_world()


@pytest.fixture(scope="module")
def renderer() -> CameraRenderer:
    cam = PinholeCamera.look_at("c", (1.0, 1.0, 4.2), (12.0, 12.5, 0.0), width=320, height=180, hfov_deg=62)
    return CameraRenderer(cam, WORLD, np.random.default_rng(0))


def _person(pid: int, x: float, y: float, heading: float = 0.0, seed: int = 0):
    app = sample_appearance(np.random.default_rng(seed))
    pos = np.array([x, y])
    return pid, app, pose_points(app, pos, heading, 0.3, 1.0), pos


def test_empty_scene_is_the_background(renderer):
    fr = renderer.render([])
    assert fr.image.shape == (180, 320, 3) and fr.image.dtype == np.uint8
    assert len(fr.pids) == 0 and fr.xyxy.shape == (0, 4)


def test_person_in_full_view_is_fully_visible_and_inside_the_image(renderer):
    fr = renderer.render([_person(7, 9.0, 13.0)])
    assert fr.pids.tolist() == [7]
    x1, y1, x2, y2 = fr.xyxy[0]
    assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 180
    assert 1.5 < (y2 - y1) / (x2 - x1) < 6  # person-shaped
    assert fr.visibility[0] > 0.99
    np.testing.assert_allclose(fr.visible_xyxy[0], fr.xyxy[0])


def test_person_behind_another_is_occluded(renderer):
    cam = renderer.cam
    near_xy = np.array([9.0, 13.0])
    direction = (near_xy - cam.center[:2]) / np.linalg.norm(near_xy - cam.center[:2])
    far_xy = near_xy + 1.5 * direction  # same line of sight, further away
    fr = renderer.render([_person(2, *far_xy, seed=2), _person(1, *near_xy, seed=1)])
    vis = dict(zip(fr.pids.tolist(), fr.visibility.tolist()))
    assert vis[1] > 0.99 and vis[2] < 0.6
    # the renderer orders by depth, not by input order
    fr2 = renderer.render([_person(1, *near_xy, seed=1), _person(2, *far_xy, seed=2)])
    assert np.array_equal(fr2.image, fr.image)


def test_lamp_post_between_camera_and_person_occludes(renderer):
    fr = renderer.render([_person(5, 12.0, 12.5)])  # the post at (11, 11.5) is on the line of sight
    assert fr.pids.tolist() == [5] and 0.1 < fr.visibility[0] < 0.9


def test_person_at_the_image_border_is_clipped_with_reduced_visibility(renderer):
    g = renderer.cam.image_to_ground @ np.array([10.0, 150.0, 1.0])  # feet 10 px from the left border
    xy = g[:2] / g[2]
    fr = renderer.render([_person(3, *xy)])
    assert fr.pids.tolist() == [3]
    assert fr.xyxy[0, 0] == 0 and 0.2 < fr.visibility[0] < 0.9


def test_person_behind_the_camera_is_not_reported(renderer):
    fr = renderer.render([_person(4, -5.0, -5.0)])
    assert len(fr.pids) == 0


def test_trajectories_enter_walk_and_stay_in_the_world():
    rng = np.random.default_rng(0)
    trajs = plan_trajectories(WORLD, n_people=12, duration=20, fps=10, rng=rng, group_prob=0.5)
    assert len(trajs) == 12 and len({t.pid for t in trajs}) == 12
    assert any(t.group != t.pid for t in trajs)  # someone walks in a group
    for t in trajs:
        p = t.pos[t.active]
        if len(p) == 0:
            continue
        assert p[:, 0].min() > -1 and p[:, 0].max() < WORLD.width + 1
        assert p[:, 1].min() > -1 and p[:, 1].max() < WORLD.depth + 1
        speed = np.linalg.norm(np.diff(p, axis=0), axis=1) * 10
        assert speed.max() < 2.5
    with pytest.raises(ValueError, match="n_people"):
        plan_trajectories(WORLD, n_people=0, duration=5, fps=10, rng=rng)
