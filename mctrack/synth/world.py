"""The walled courtyard the people walk in: ground, facades with doors, static props, and the route graph.

Coordinates are metres on the ground plane ``z = 0``; the courtyard is ``[0, width] x [0, depth]``. Doors sit in
the walls (people enter and leave through them); waypoints are interior points labelled with a region, and
routes that change region pass through a ``link`` waypoint that no camera needs to see, which makes people
re-appear in another camera after a transit time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .camera import PinholeCamera

__all__ = ["Door", "Waypoint", "Prop", "World", "default_world", "render_background", "render_prop"]


@dataclass(frozen=True)
class Door:
    """An opening in a wall at ground point ``(x, y)``; ``region`` is the area it leads into."""

    name: str
    x: float
    y: float
    region: str


@dataclass(frozen=True)
class Waypoint:
    """An interior point routes pass near (each person jitters it by up to ``spread`` metres)."""

    name: str
    x: float
    y: float
    region: str
    spread: float = 1.5


@dataclass(frozen=True)
class Prop:
    """A static vertical cylinder that occludes people: a lamp post (thin, tall) or a planter (wide, low, bush).

    ``color`` is BGR; ``kind`` is ``"post"`` or ``"planter"``.
    """

    kind: str
    x: float
    y: float
    radius: float
    height: float
    color: tuple[int, int, int]

    def __post_init__(self) -> None:
        if self.kind not in ("post", "planter"):
            raise ValueError(f"kind: expected 'post' or 'planter', got {self.kind!r}")
        if self.radius <= 0 or self.height <= 0:
            raise ValueError(f"radius, height: must be > 0, got {self.radius}, {self.height}")


@dataclass(frozen=True)
class World:
    """The courtyard: size, wall height, doors, waypoints, link waypoints between regions, props, grass areas.

    ``grass`` holds ``(x0, y0, x1, y1)`` rectangles drawn as lawn instead of paving.
    """

    width: float
    depth: float
    wall_height: float
    doors: tuple[Door, ...]
    waypoints: tuple[Waypoint, ...]
    links: tuple[Waypoint, ...]
    props: tuple[Prop, ...] = ()
    grass: tuple[tuple[float, float, float, float], ...] = ()
    wall_colors: tuple[tuple[int, int, int], ...] = ((150, 170, 190), (120, 130, 150), (170, 165, 160), (110, 140, 170))
    regions: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.depth <= 0 or self.wall_height <= 0:
            raise ValueError(
                f"width, depth, wall_height: must be > 0, got {self.width}, {self.depth}, {self.wall_height}"
            )
        if len(self.doors) < 2:
            raise ValueError(f"doors: need at least 2, got {len(self.doors)}")
        regions = tuple(sorted({d.region for d in self.doors}))
        for w in self.waypoints:
            if w.region not in regions:
                raise ValueError(f"waypoints: {w.name} is in region {w.region!r}, which has no door")
        if len(regions) > 1 and not self.links:
            raise ValueError("links: a world with several regions needs at least one link waypoint")
        object.__setattr__(self, "regions", regions)


def default_world(scale: float = 1.0) -> World:
    """A 40 x 24 m courtyard (times ``scale``): a plaza in the west, a street court in the east, a passage between."""
    s = scale
    doors = (
        Door("west", 0.0, 12 * s, "plaza"),
        Door("south-west", 7 * s, 0.0, "plaza"),
        Door("north-west", 13 * s, 24 * s, "plaza"),
        Door("east", 40 * s, 15 * s, "court"),
        Door("south-east", 34 * s, 0.0, "court"),
        Door("north-east", 31 * s, 24 * s, "court"),
    )
    waypoints = (
        Waypoint("p1", 6 * s, 8 * s, "plaza"),
        Waypoint("p2", 14 * s, 7 * s, "plaza"),
        Waypoint("p3", 9 * s, 16 * s, "plaza"),
        Waypoint("p4", 17 * s, 15 * s, "plaza"),
        Waypoint("c1", 32 * s, 9 * s, "court"),
        Waypoint("c2", 35 * s, 16 * s, "court"),
    )
    links = (Waypoint("passage", 24.5 * s, 12 * s, "link", 2.0),)
    post, stone = (70, 70, 75), (120, 125, 130)
    props = (
        Prop("post", 11 * s, 11.5 * s, 0.09, 3.8, post),
        Prop("post", 20 * s, 9 * s, 0.09, 3.8, post),
        Prop("planter", 15 * s, 11 * s, 0.6, 0.55, stone),
        Prop("planter", 8 * s, 5 * s, 0.5, 0.55, stone),
        Prop("post", 33 * s, 13 * s, 0.09, 3.8, post),
        Prop("planter", 36.5 * s, 10 * s, 0.55, 0.55, stone),
    )
    grass = ((2 * s, 18 * s, 8 * s, 22.5 * s), (21 * s, 2 * s, 28 * s, 6 * s), (22 * s, 18 * s, 28 * s, 22.5 * s))
    return World(40 * s, 24 * s, 4.5, doors, waypoints, links, props, grass)


def _hash01(i: np.ndarray, j: np.ndarray, salt: int) -> np.ndarray:
    """A fixed pseudo-random value in [0, 1) per integer cell (no global random state)."""
    h = (i.astype(np.int64) * 73856093) ^ (j.astype(np.int64) * 19349663) ^ (salt * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF) / 65536.0


def _ground_colour(x: np.ndarray, y: np.ndarray, world: World) -> np.ndarray:
    tile = 0.6
    i, j = np.floor(x / tile), np.floor(y / tile)
    base = 150 + 16 * _hash01(i, j, 1) - 15 * np.sin(x * 0.35) * np.cos(y * 0.27)
    fx, fy = x / tile - i, y / tile - j
    grout = (np.minimum(fx, 1 - fx) < 0.05) | (np.minimum(fy, 1 - fy) < 0.05)
    v = np.where(grout, base * 0.82, base)
    col = np.stack([v * 0.95, v * 0.98, v * 1.02], axis=-1)
    for x0, y0, x1, y1 in world.grass:
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        g = 0.75 + 0.25 * _hash01(np.floor(x / 0.15), np.floor(y / 0.15), 2)
        col[inside] = np.stack([45 * g, 120 * g, 70 * g], axis=-1)[inside]
    return col


def _wall_colour(s: np.ndarray, z: np.ndarray, wall: int, doors_s: list[float], world: World) -> np.ndarray:
    base = np.asarray(world.wall_colors[wall % len(world.wall_colors)], np.float64)
    shade = 0.9 + 0.1 * _hash01(np.floor(s / 0.25), np.floor(z / 0.08), 3 + wall)  # brick-like grain
    col = base * shade[..., None]
    bay = (s / 3.2) % 1.0
    window = (bay > 0.3) & (bay < 0.7) & (z > 1.4) & (z < 3.4)
    col[window] = (95, 80, 70)
    col[window & (z > 2.35) & (z < 2.45)] = (200, 200, 200)
    col[(z < 0.35)] *= 0.75  # plinth
    for ds in doors_s:
        door = (np.abs(s - ds) < 0.9) & (z < 2.4)
        col[door] = (35, 35, 40)
    return col


def render_background(world: World, cam: PinholeCamera, supersample: int = 2) -> np.ndarray:
    """The empty courtyard as ``cam`` sees it: ``(H, W, 3)`` uint8 BGR, ray-cast once per camera."""
    ss = supersample
    big = PinholeCamera(cam.id, cam.width * ss, cam.height * ss, np.diag([ss, ss, 1.0]) @ cam.K, cam.R, cam.t)
    d = big.pixel_rays()
    c = cam.center
    out = np.zeros(d.shape, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        tg = np.where(d[..., 2] < 0, -c[2] / d[..., 2], np.inf)
        walls = [(0, 0.0), (0, world.width), (1, 0.0), (1, world.depth)]  # (axis, plane value)
        tw = np.full(d.shape[:2], np.inf)
        wall_id = np.full(d.shape[:2], -1)
        for k, (axis, val) in enumerate(walls):
            t = (val - c[axis]) / d[..., axis]
            t = np.where(t > 1e-6, t, np.inf)
            better = t < tw
            tw, wall_id = np.where(better, t, tw), np.where(better, k, wall_id)
    ground = tg <= tw
    p = c + d * np.where(ground, tg, tw)[..., None]
    out[ground] = _ground_colour(p[..., 0][ground], p[..., 1][ground], world)
    for k, (axis, val) in enumerate(walls):
        sel = (~ground) & (wall_id == k) & (p[..., 2] <= world.wall_height)
        s = p[..., 1 - axis][sel]
        doors_s = [
            (dr.y if axis == 0 else dr.x) for dr in world.doors if abs((dr.x if axis == 0 else dr.y) - val) < 1e-6
        ]
        out[sel] = _wall_colour(s, p[..., 2][sel], k, doors_s, world)
    sky = (~ground) & ~(p[..., 2] <= world.wall_height)
    rows = np.broadcast_to(np.linspace(0, 1, d.shape[0])[:, None], d.shape[:2])
    out[sky] = np.stack([235 - 40 * rows[sky], 200 - 30 * rows[sky], 170 - 30 * rows[sky]], axis=-1)
    img = np.clip(out, 0, 255).astype(np.uint8)
    return cv2.resize(img, (cam.width, cam.height), interpolation=cv2.INTER_AREA)


def render_prop(prop: Prop, cam: PinholeCamera) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """A prop's sprite in ``cam``: ``(x0, y0, bgr, mask)`` with the sprite's top-left pixel, or None if unseen."""
    ang = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    ring = np.stack([prop.x + prop.radius * np.cos(ang), prop.y + prop.radius * np.sin(ang), np.zeros_like(ang)], 1)
    top = ring + [0, 0, prop.height]
    pts = np.concatenate([ring, top])
    if prop.kind == "planter":
        bush = np.concatenate([ring * [1, 1, 0] + [0, 0, prop.height + 0.45 * z] for z in (0.2, 0.7, 1.0)])
        bush[:, :2] = (bush[:, :2] - [prop.x, prop.y]) * np.repeat([0.95, 0.8, 0.45], 20)[:, None] + [prop.x, prop.y]
        pts = np.concatenate([pts, bush])
    uv, z = cam.project(pts)
    if np.any(z < 0.3):
        return None
    x0, y0 = np.floor(uv.min(0)).astype(int) - 2
    x1, y1 = np.ceil(uv.max(0)).astype(int) + 2
    if x1 < 0 or y1 < 0 or x0 >= cam.width or y0 >= cam.height or (x1 - x0) * (y1 - y0) > 4 * cam.width * cam.height:
        return None
    bgr = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    q = np.round(uv - [x0, y0]).astype(np.int32)
    body = cv2.convexHull(q[:40])
    cv2.fillConvexPoly(bgr, body, prop.color)
    cv2.polylines(bgr, [cv2.convexHull(q[20:40])], True, tuple(int(c * 0.75) for c in prop.color), 1)
    if prop.kind == "planter":
        cv2.fillConvexPoly(bgr, cv2.convexHull(q[40:]), (40, 100, 55))
        cv2.polylines(bgr, [cv2.convexHull(q[40:])], True, (30, 80, 45), 1)
    mask = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) > 0
    return int(x0), int(y0), bgr, mask
