"""Where people walk: routes through doors and waypoints, speeds, stops, groups, sampled at the frame times.

A route starts at a door, visits one or two jittered waypoints of that door's region, crosses to another
region through a link waypoint (no camera needs to see it, so people re-appear in another camera after a
transit time) or stays, and leaves through a door. People start at staggered times, some before the first
frame, so the scene is already populated when the videos begin. Small groups share a route and walk side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .world import World

__all__ = ["Trajectory", "plan_trajectories"]


@dataclass(frozen=True)
class Trajectory:
    """One person's motion at every frame of the scene.

    Attributes:
        pid: global person id (>= 1).
        group: id of the group the person walks with (equal to ``pid``'s leader; singles are their own group).
        pos: ``(T, 2)`` ground position in metres.
        heading: ``(T,)`` walking direction, radians from +x.
        phase: ``(T,)`` gait phase in radians (advances with distance walked).
        amp: ``(T,)`` swing amplitude in [0, 1] (0 = standing).
        active: ``(T,)`` bool, True between entering and leaving the courtyard.
    """

    pid: int
    group: int
    pos: np.ndarray
    heading: np.ndarray
    phase: np.ndarray
    amp: np.ndarray
    active: np.ndarray


def _route(world: World, rng: np.random.Generator, cross_prob: float) -> list[np.ndarray]:
    doors = world.doors
    d_in = doors[int(rng.integers(len(doors)))]
    other = [d for d in doors if d is not d_in and d.region != d_in.region]
    same = [d for d in doors if d is not d_in and d.region == d_in.region]
    pool = other if other and (rng.random() < cross_prob or not same) else same
    d_out = pool[int(rng.integers(len(pool)))]

    def jitter(w):
        r, a = w.spread * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
        return np.array([w.x + r * np.cos(a), w.y + r * np.sin(a)])

    def inward(d):
        p = np.array([d.x, d.y])
        return p + 0.3 * np.sign(np.array([world.width / 2, world.depth / 2]) - p) * (
            np.isclose(p, 0) | np.isclose(p, [world.width, world.depth])
        )

    pts = [inward(d_in)]
    w_in = [w for w in world.waypoints if w.region == d_in.region]
    for w in rng.permutation(len(w_in))[: int(rng.integers(1, 3))] if w_in else []:
        pts.append(jitter(w_in[w]))
    if d_out.region != d_in.region:
        pts.append(jitter(world.links[int(rng.integers(len(world.links)))]))
        w_out = [w for w in world.waypoints if w.region == d_out.region]
        if w_out:
            pts.append(jitter(w_out[int(rng.integers(len(w_out)))]))
    pts.append(inward(d_out))
    return pts


def _knots(pts: list[np.ndarray], dwell: list[float], speed: float, rng: np.random.Generator, t0: float):
    times, where = [t0], [pts[0]]
    t = t0
    for i in range(1, len(pts)):
        t += np.linalg.norm(pts[i] - pts[i - 1]) / (speed * rng.uniform(0.85, 1.15))
        times.append(t)
        where.append(pts[i])
        if dwell[i] > 0:
            t += dwell[i]
            times.append(t)
            where.append(pts[i])
    return np.asarray(times), np.asarray(where)


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    if k <= 1:
        return x
    pad = np.concatenate([np.repeat(x[:1], k, 0), x, np.repeat(x[-1:], k, 0)])
    c = np.cumsum(pad, axis=0)
    out = (c[k:] - c[:-k]) / k
    return out[k // 2 : k // 2 + len(x)]


def plan_trajectories(
    world: World,
    *,
    n_people: int,
    duration: float,
    fps: float,
    rng: np.random.Generator,
    group_prob: float = 0.25,
    stop_prob: float = 0.2,
    cross_prob: float = 0.7,
    lead: float = 20.0,
) -> list[Trajectory]:
    """Trajectories of ``n_people`` people over ``duration`` seconds sampled at ``fps``.

    ``group_prob`` is the chance that a new arrival brings one or two companions; ``stop_prob`` the chance of a
    2-6 s stop at each waypoint; ``cross_prob`` the chance a route leads to another region; arrivals are spread
    over ``[-lead, duration - 2]`` seconds.
    """
    if n_people < 1:
        raise ValueError(f"n_people: must be >= 1, got {n_people}")
    if duration <= 0 or fps <= 0:
        raise ValueError(f"duration, fps: must be > 0, got {duration}, {fps}")
    n_frames = int(round(duration * fps))
    times = np.arange(n_frames) / fps
    out: list[Trajectory] = []
    sub = max(1, int(np.ceil(20 / fps)))  # integrate motion at >= 20 Hz, then keep every sub-th sample
    fine = np.arange(n_frames * sub) / (fps * sub)
    while len(out) < n_people:
        size = 1 if rng.random() >= group_prob else int(rng.integers(2, 4))
        size = min(size, n_people - len(out))
        pts = _route(world, rng, cross_prob)
        dwell = [0.0] + [float(rng.uniform(2, 6)) if rng.random() < stop_prob else 0.0 for _ in pts[1:-1]] + [0.0]
        speed = float(np.clip(rng.normal(1.3, 0.2), 0.8, 1.8)) * (0.85 if size > 1 else 1.0)
        kt, kp = _knots(pts, dwell, speed, rng, float(rng.uniform(-lead, duration - 2)))
        x = np.interp(fine, kt, kp[:, 0])
        y = np.interp(fine, kt, kp[:, 1])
        active = (fine >= kt[0]) & (fine <= kt[-1])
        k = max(1, int(0.8 * fps * sub))
        base = _smooth(np.stack([x, y], 1), k)
        vel = np.gradient(base, axis=0) * fps * sub
        speed_t = np.linalg.norm(vel, axis=1)
        unit = _smooth(np.where(speed_t[:, None] > 0.05, vel / np.maximum(speed_t, 1e-9)[:, None], 0.0), k)
        lead_pid = len(out) + 1
        offsets = {1: [0.0], 2: [-0.32, 0.32], 3: [-0.62, 0.0, 0.62]}[size]
        for off in offsets:
            normal = np.stack([-unit[:, 1], unit[:, 0]], 1)
            pos = base + off * normal
            step = np.linalg.norm(np.diff(pos, axis=0, prepend=pos[:1]), axis=1) * active
            stride = float(rng.uniform(1.3, 1.6))
            phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(step) / stride
            amp = np.clip(_smooth(speed_t, k) / 1.1, 0, 1)
            heading = np.arctan2(unit[:, 1], unit[:, 0])
            moving = np.linalg.norm(unit, axis=1) > 1e-3
            idx = np.maximum.accumulate(np.where(moving, np.arange(len(moving)), 0))
            heading = heading[idx]  # standing people keep the direction they were walking in
            out.append(
                Trajectory(len(out) + 1, lead_pid, pos[::sub], heading[::sub], phase[::sub], amp[::sub], active[::sub])
            )
    assert len(times) == len(out[0].pos)
    return out
