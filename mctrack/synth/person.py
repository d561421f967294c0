"""People: sampled appearance, an articulated walking skeleton, and a fast OpenCV renderer.

A person is a set of 3D points (joints, torso box, bag boxes) posed from ground position, heading and gait
phase, projected by the camera and drawn with OpenCV primitives on a small sprite canvas, far side first.
The front, back and side of the top garment carry different textures (a print only on the front), a backpack
shows as a box from behind and as straps from the front, and hair covers the back of the head.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .camera import PinholeCamera

__all__ = ["Appearance", "sample_appearance", "pose_points", "render_person", "N_POINTS"]

BGR = tuple[int, int, int]

# Colours are deliberately drawn from a small, neutral-heavy wardrobe: many people share garment colours and
# differ only by pattern, accessories, shoes, hair and build, which is what makes colour histograms fail.
TOPS: tuple[tuple[BGR, float], ...] = (
    ((32, 32, 34), 5),
    ((228, 228, 226), 4),
    ((125, 125, 128), 4),
    ((85, 45, 30), 4),
    ((40, 70, 40), 1),
    ((45, 45, 140), 1),
    ((150, 190, 205), 1),
    ((200, 160, 110), 1),
)
BOTTOMS: tuple[tuple[BGR, float], ...] = (
    ((125, 80, 48), 6),
    ((34, 34, 36), 5),
    ((95, 95, 98), 2),
    ((120, 165, 185), 1),
)
SECOND: tuple[BGR, ...] = ((235, 235, 235), (30, 30, 30), (140, 140, 140), (90, 50, 35), (40, 40, 160))
SKIN: tuple[BGR, ...] = ((170, 195, 235), (140, 170, 215), (105, 140, 190), (75, 100, 145), (50, 70, 105))
HAIR: tuple[BGR, ...] = ((25, 25, 28), (30, 45, 70), (60, 95, 140), (120, 170, 205), (150, 150, 155))
SHOES: tuple[BGR, ...] = ((235, 235, 235), (25, 25, 25), (40, 60, 95), (40, 40, 170), (130, 130, 130))
BAGS: tuple[BGR, ...] = ((30, 30, 30), (60, 80, 110), (130, 70, 40), (50, 50, 150), (70, 110, 70))

# Point indices of the posed body (all in world metres).
HEAD, NECK, LSH, RSH, LEL, REL, LHA, RHA, LHI, RHI, LKN, RKN, LAN, RAN, LTO, RTO, HAT = range(17)
TORSO = slice(17, 25)  # 8 box corners: shoulder level (lf, rf, lb, rb), then hip level (lf, rf, lb, rb)
PACK = slice(25, 33)  # backpack box, same corner order
SBAG = slice(33, 41)  # shoulder bag box
SKIRT = slice(41, 45)  # waist left/right, hem left/right (hem flares out)
N_POINTS = 45


@dataclass(frozen=True)
class Appearance:
    """One person's look. Colours are BGR tuples; lengths in metres.

    ``top_textures`` holds ``(front, back, side)`` uint8 images mapped onto the torso box faces.
    """

    height: float
    build: float
    skin: BGR
    hair: BGR
    hair_style: str  # "short", "long" or "bald"
    hat: BGR | None
    top: BGR
    top_pattern: str  # "solid", "stripes", "checks" or "print"
    top_second: BGR
    long_sleeves: bool
    bottom: BGR
    bottom_kind: str  # "trousers", "shorts" or "skirt"
    shoes: BGR
    bag: str | None  # None, "backpack" or "shoulder"
    bag_color: BGR
    bag_left: bool
    top_textures: tuple[np.ndarray, np.ndarray, np.ndarray]

    def describe(self) -> dict:
        """A JSON-friendly summary (for the manifest)."""
        return {
            "height": round(self.height, 3),
            "build": round(self.build, 3),
            "hair": self.hair_style,
            "hat": self.hat is not None,
            "top": list(self.top),
            "top_pattern": self.top_pattern,
            "long_sleeves": self.long_sleeves,
            "bottom": list(self.bottom),
            "bottom_kind": self.bottom_kind,
            "shoes": list(self.shoes),
            "bag": self.bag,
        }


def _pick(rng: np.random.Generator, table: tuple) -> BGR:
    """A uniform choice from a tuple of colours, or a weighted one from ``((colour, weight), ...)``."""
    if isinstance(table[0][0], tuple):
        w = np.array([t[1] for t in table], np.float64)
        return table[int(rng.choice(len(table), p=w / w.sum()))][0]
    return table[int(rng.integers(len(table)))]


def _textures(rng: np.random.Generator, pattern: str, c1: BGR, c2: BGR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = 40, 32
    base = np.empty((h, w, 3), np.uint8)
    base[:] = c1
    if pattern == "stripes":
        period = int(rng.integers(5, 11))
        thick = max(2, period // 2 - int(rng.integers(0, 2)))
        rows = (np.arange(h) % period) < thick
        base[rows] = c2
    elif pattern == "checks":
        cell = int(rng.integers(5, 9))
        yy, xx = np.mgrid[:h, :w]
        base[((yy // cell) + (xx // cell)) % 2 == 1] = c2
        base[((yy % cell) == 0) | ((xx % cell) == 0)] = tuple(int(0.6 * a + 0.4 * b) for a, b in zip(c1, c2))
    front, back, side = base.copy(), base.copy(), base.copy()
    if pattern == "print":
        shape = int(rng.integers(3))
        cy, cx, r = int(rng.integers(12, 18)), w // 2, int(rng.integers(6, 10))
        if shape == 0:
            cv2.circle(front, (cx, cy), r, c2, -1)
        elif shape == 1:
            cv2.rectangle(front, (cx - r, cy - r + 2), (cx + r, cy + r - 2), c2, -1)
        else:
            for k in range(3):
                cv2.line(front, (cx - r, cy - 5 + 5 * k), (cx + r - 3 * k, cy - 5 + 5 * k), c2, 2)
    for tex in (front, back, side):
        np.maximum(tex, 2, out=tex)
    return front, back, side


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """A random person from the shared wardrobe (see the module constants)."""
    pattern = str(rng.choice(["solid", "stripes", "checks", "print"], p=[0.4, 0.2, 0.2, 0.2]))
    top = _pick(rng, TOPS)
    second = _pick(rng, SECOND)
    if second == top or sum(abs(a - b) for a, b in zip(second, top)) < 120:
        second = (235, 235, 235) if sum(top) < 300 else (30, 30, 30)
    height = float(np.clip(rng.normal(1.72, 0.09), 1.5, 1.98))
    bottom_kind = str(rng.choice(["trousers", "shorts", "skirt"], p=[0.72, 0.16, 0.12]))
    hair_style = str(rng.choice(["short", "long", "bald"], p=[0.55, 0.35, 0.10]))
    bag = rng.choice(3, p=[0.45, 0.3, 0.25])
    hat = _pick(rng, BAGS) if rng.random() < 0.18 else None
    return Appearance(
        height=height,
        build=float(np.clip(rng.normal(1.0, 0.12), 0.78, 1.35)),
        skin=_pick(rng, SKIN),
        hair=_pick(rng, HAIR),
        hair_style=hair_style,
        hat=hat,
        top=top,
        top_pattern=pattern,
        top_second=second,
        long_sleeves=bool(rng.random() < 0.6),
        bottom=_pick(rng, BOTTOMS),
        bottom_kind=bottom_kind,
        shoes=_pick(rng, SHOES),
        bag=(None, "backpack", "shoulder")[int(bag)],
        bag_color=_pick(rng, BAGS),
        bag_left=bool(rng.random() < 0.5),
        top_textures=_textures(rng, pattern, top, second),
    )


def _box(
    c_f: float,
    c_l: float,
    half_f: float,
    half_l: float,
    z0: float,
    z1: float,
    bottom_f: float | None = None,
    bottom_l: float | None = None,
) -> list[tuple]:
    """8 corners (top lf, rf, lb, rb, bottom lf, rf, lb, rb) of a box in a person's (forward, left, up) frame.

    ``bottom_f`` / ``bottom_l`` give the bottom face other half-sizes (a tapered box).
    """
    out = []
    for zz, hf, hl in ((z1, half_f, half_l), (z0, bottom_f or half_f, bottom_l or half_l)):
        for df, dl in ((hf, hl), (hf, -hl), (-hf, hl), (-hf, -hl)):
            out.append((c_f + df, c_l + dl, zz))
    return out


def pose_points(app: Appearance, pos: np.ndarray, heading: float, phase: float, amp: float) -> np.ndarray:
    """``(N_POINTS, 3)`` world points of a person at ground ``pos`` facing ``heading`` (radians from +x).

    ``phase`` is the gait phase in radians, ``amp`` in [0, 1] the swing amplitude (0 = standing still).
    """
    h, b = app.height, app.build
    thigh, shin, uarm, farm = 0.245 * h, 0.25 * h, 0.17 * h, 0.16 * h
    sw = 0.45 * amp * np.sin(phase)
    legs = []
    for a, ph in ((sw, phase), (-sw, phase + np.pi)):
        k = amp * (0.1 + 0.55 * max(0.0, np.sin(ph + 1.3)))
        legs.append((thigh * np.sin(a), thigh * np.cos(a), shin * np.sin(a - k), shin * np.cos(a - k)))
    hip_z = max(t_z + s_z for _, t_z, _, s_z in legs) + 0.045 * h
    hw, sh_w, depth = 0.09 * b * h / 1.72, 0.2 * b * h / 1.72, 0.11 * b * h / 1.72
    sh_z, neck_z = hip_z + 0.29 * h, hip_z + 0.34 * h
    pts = [None] * N_POINTS
    pts[HEAD] = (0.02, 0.0, neck_z + 0.085 * h)
    pts[NECK] = (0.0, 0.0, neck_z)
    pts[HAT] = (0.02, 0.0, neck_z + 0.085 * h + 0.055 * h)
    for side, sh, el, ha, hi, kn, an, to, leg, arm_sign in (
        (1, LSH, LEL, LHA, LHI, LKN, LAN, LTO, legs[0], -1),
        (-1, RSH, REL, RHA, RHI, RKN, RAN, RTO, legs[1], 1),
    ):
        pts[sh] = (0.0, side * (sh_w - 0.03), sh_z)
        a = 0.35 * amp * np.sin(phase) * arm_sign
        e = 0.25 + 0.35 * amp * max(0.0, np.sin(phase) * arm_sign)
        ex, ez = uarm * np.sin(a), sh_z - uarm * np.cos(a)
        pts[el] = (ex, side * (sh_w + 0.01), ez)
        pts[ha] = (ex + farm * np.sin(a + e), side * (sh_w + 0.015), ez - farm * np.cos(a + e))
        tf, tz, sf, sz = leg
        pts[hi] = (0.0, side * hw, hip_z)
        pts[kn] = (tf, side * hw * 0.95, hip_z - tz)
        pts[an] = (tf + sf, side * hw * 0.9, hip_z - tz - sz)
        pts[to] = (tf + sf + 0.13 * h / 1.72, side * hw * 0.9, max(0.0, hip_z - tz - sz - 0.05))
    pts[TORSO] = _box(0.0, 0.0, depth, sh_w - 0.025, hip_z - 0.03 * h, sh_z + 0.02 * h, depth * 0.9, hw * 1.3)
    pts[PACK] = _box(-depth - 0.1, 0.0, 0.1, sh_w * 0.8, sh_z - 0.32 * h / 1.72, sh_z - 0.01)
    bl = 1 if app.bag_left else -1
    pts[SBAG] = _box(0.02, bl * (sh_w + 0.06), 0.13, 0.05, hip_z - 0.08, hip_z + 0.14)
    skirt_len = 0.21 * h
    pts[SKIRT] = [
        (0.0, hw * 1.3, hip_z + 0.03),
        (0.0, -hw * 1.3, hip_z + 0.03),
        (0.0, hw * 2.1, hip_z - skirt_len),
        (0.0, -hw * 2.1, hip_z - skirt_len),
    ]
    local = np.asarray(pts, np.float64)
    c, s = np.cos(heading), np.sin(heading)
    fwd, left = np.array([c, s, 0.0]), np.array([-s, c, 0.0])
    return np.array([pos[0], pos[1], 0.0]) + local[:, :1] * fwd + local[:, 1:2] * left + local[:, 2:3] * [0, 0, 1.0]


def _shade(c: BGR, k: float) -> BGR:
    return tuple(max(2, min(255, int(v * k))) for v in c)


def _paste_face(canvas: np.ndarray, tex: np.ndarray, tl, tr, bl, br, shade: float) -> None:
    """Map ``tex`` onto the quadrilateral with corners top-left, top-right, bottom-left, bottom-right."""
    h, w = tex.shape[:2]
    src = np.float32([[0, 0], [w, 0], [0, h], [w, h]])
    dst = np.float32([tl, tr, bl, br])
    (ax, ay), (bx, by) = dst[1] - dst[0], dst[2] - dst[0]
    if abs(ax * by - ay * bx) < 2.0:  # degenerate: the face is seen edge-on
        return
    if shade != 1.0:
        tex = cv2.convertScaleAbs(tex, alpha=shade)
        np.maximum(tex, 2, out=tex)
    cv2.warpPerspective(
        tex,
        cv2.getPerspectiveTransform(src, dst),
        (canvas.shape[1], canvas.shape[0]),
        dst=canvas,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_TRANSPARENT,
    )


def render_person(
    app: Appearance, points: np.ndarray, cam: PinholeCamera, pad: int = 3
) -> tuple[int, int, np.ndarray] | None:
    """Draw a posed person as ``cam`` sees it: ``(x0, y0, sprite)`` or None when behind the camera or off-image.

    ``sprite`` is ``(h, w, 3)`` uint8 BGR whose pure-black pixels are transparent (person colours are >= 2);
    ``(x0, y0)`` is the image pixel of its top-left corner (may be negative: sprites are not clipped).
    """
    uv, z = cam.project(points)
    if np.any(z < 0.3):
        return None
    depth = float(z[NECK])
    s = cam.K[0, 0] / depth  # pixels per metre at the person
    margin = int(0.25 * s) + pad
    x0, y0 = np.floor(uv.min(0)).astype(int) - margin
    x1, y1 = np.ceil(uv.max(0)).astype(int) + margin
    if x1 <= 0 or y1 <= 0 or x0 >= cam.width or y0 >= cam.height:
        return None
    canvas = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    q = uv - [x0, y0]
    P = lambda i: (int(round(q[i, 0])), int(round(q[i, 1])))  # noqa: E731
    W = lambda m: max(1, int(round(m * s)))  # noqa: E731
    b = app.build * app.height / 1.72
    # Which sides face the camera: positive `front` = we see the chest, positive `lside` = left side is nearer.
    to_cam = cam.center[:2] - points[NECK, :2]
    to_cam /= max(np.linalg.norm(to_cam), 1e-9)
    fwd = points[TORSO][0, :2] - points[TORSO][2, :2]
    fwd /= max(np.linalg.norm(fwd), 1e-9)
    front = float(fwd @ to_cam)
    lside = float(np.array([-fwd[1], fwd[0]]) @ to_cam)
    sleeve_w, fore_w = W(0.085 * b), W(0.07 * b)
    thigh_w, shin_w = W(0.13 * b), W(0.105 * b)

    def arm(sh, el, ha, k):
        cv2.line(canvas, P(sh), P(el), _shade(app.top, k), sleeve_w)
        cv2.line(canvas, P(el), P(ha), _shade(app.top if app.long_sleeves else app.skin, k), fore_w)
        cv2.circle(canvas, P(ha), max(1, fore_w // 2 + 1), _shade(app.skin, k), -1)

    def leg(hi, kn, an, to, k):
        lower = app.bottom if app.bottom_kind == "trousers" else app.skin
        upper = app.bottom if app.bottom_kind != "skirt" else app.skin
        cv2.line(canvas, P(hi), P(kn), _shade(upper, k), thigh_w)
        cv2.line(canvas, P(kn), P(an), _shade(lower, k), shin_w)
        cv2.line(canvas, P(an), P(to), _shade(app.shoes, k), max(1, int(shin_w * 0.75)))

    def backpack():
        hull = cv2.convexHull(np.round(q[PACK]).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, _shade(app.bag_color, 0.95))
        cv2.polylines(canvas, [hull], True, _shade(app.bag_color, 0.6), 1)

    def shoulder_bag():
        hull = cv2.convexHull(np.round(q[SBAG]).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, app.bag_color)

    near_l = lside >= 0
    far_arm, near_arm = ((RSH, REL, RHA), (LSH, LEL, LHA)) if near_l else ((LSH, LEL, LHA), (RSH, REL, RHA))
    far_leg, near_leg = (
        ((RHI, RKN, RAN, RTO), (LHI, LKN, LAN, LTO)) if near_l else ((LHI, LKN, LAN, LTO), (RHI, RKN, RAN, RTO))
    )
    bag_near = app.bag == "shoulder" and (app.bag_left == near_l)
    if app.bag == "backpack" and front > 0.15:
        backpack()
    if app.bag == "shoulder" and not bag_near:
        shoulder_bag()
    if app.hair_style == "long" and front > 0:
        hl = np.round(q[[LSH, RSH, HEAD]]).astype(np.int32)
        cv2.fillConvexPoly(
            canvas,
            np.array(
                [hl[2] + [-W(0.1), 0], hl[2] + [W(0.1), 0], hl[1] * 0.5 + hl[2] * 0.5, hl[0] * 0.5 + hl[2] * 0.5]
            ).astype(np.int32),
            app.hair,
        )
    arm(*far_arm, 0.78)
    leg(*far_leg, 0.8)
    leg(*near_leg, 1.0)
    if app.bottom_kind == "skirt":
        sk = np.round(q[SKIRT]).astype(np.int32)
        cv2.fillConvexPoly(canvas, cv2.convexHull(sk), app.bottom)
    # Torso: the box's silhouette in the base colour, then the textured faces that face the camera.
    tq = q[TORSO]
    cv2.fillConvexPoly(canvas, cv2.convexHull(np.round(tq).astype(np.int32)), _shade(app.top, 0.9))
    tex_front, tex_back, tex_side = app.top_textures
    # Corner order: top lf 0, rf 1, lb 2, rb 3; bottom lf 4, rf 5, lb 6, rb 7. Seen from the front the person's
    # right is on the image's left; seen from the left side their front is on the image's left.
    if front > 0.05:
        _paste_face(canvas, tex_front, tq[1], tq[0], tq[5], tq[4], 1.0)
    elif front < -0.05:
        _paste_face(canvas, tex_back, tq[2], tq[3], tq[6], tq[7], 0.95)
    if abs(lside) > 0.2:
        if near_l:
            _paste_face(canvas, tex_side, tq[0], tq[2], tq[4], tq[6], 0.85)
        else:
            _paste_face(canvas, tex_side, tq[3], tq[1], tq[7], tq[5], 0.85)
    if app.bag == "shoulder":
        opp = RSH if app.bag_left else LSH
        hip = LHI if app.bag_left else RHI
        cv2.line(canvas, P(opp), P(hip), _shade(app.bag_color, 0.7), max(1, W(0.03)))
        if bag_near:
            shoulder_bag()
    if app.bag == "backpack" and front > 0.15:
        for sh, hi in ((LSH, LHI), (RSH, RHI)):
            a = q[sh] * 0.85 + q[hi] * 0.15 + (q[NECK] - q[sh]) * 0.3
            e = q[sh] * 0.35 + q[hi] * 0.65 + (q[NECK] - q[sh]) * 0.25
            cv2.line(
                canvas, (int(a[0]), int(a[1])), (int(e[0]), int(e[1])), _shade(app.bag_color, 0.7), max(1, W(0.04))
            )
    arm(*near_arm, 1.0)
    # Head: neck, hair (back of the head), face toward the front.
    r = max(1, W(0.115 * app.height / 1.72))
    cv2.line(canvas, P(NECK), P(HEAD), _shade(app.skin, 0.85), max(1, W(0.09)))
    hair = app.skin if app.hair_style == "bald" else app.hair
    cv2.circle(canvas, P(HEAD), r, hair, -1)
    if front > -0.35:
        nf = tq[0] - tq[2]  # image direction of the person's forward
        nf = nf / max(np.linalg.norm(nf), 1e-9) * r * 0.35 * (1 - abs(front))
        cf = q[HEAD] + nf + [0, r * 0.22]
        cv2.ellipse(
            canvas,
            (int(round(cf[0])), int(round(cf[1]))),
            (max(1, int(r * 0.78)), max(1, int(r * 0.85))),
            0,
            0,
            360,
            app.skin,
            -1,
        )
    if app.hair_style == "long" and front <= 0:
        hl = q[[LSH, RSH, HEAD]]
        poly = np.array(
            [
                hl[2] + [-r, 0],
                hl[2] + [r, 0],
                hl[1] * 0.45 + hl[2] * 0.55 + [r * 0.3, 0],
                hl[0] * 0.45 + hl[2] * 0.55 - [r * 0.3, 0],
            ]
        )
        cv2.fillConvexPoly(canvas, np.round(poly).astype(np.int32), app.hair)
    if app.hat is not None:
        cv2.ellipse(canvas, P(HEAD), (r + 1, r), 0, 180, 360, app.hat, -1)
        brim = q[HEAD] + (tq[0] - tq[2]) * 0.6 * max(0.0, 1 - abs(front)) + [0, -r * 0.2]
        cv2.line(canvas, P(HEAD), (int(brim[0]), int(brim[1])), _shade(app.hat, 0.8), max(1, r // 2))
    if app.bag == "backpack" and front <= 0.15:
        backpack()
    return int(x0), int(y0), canvas
