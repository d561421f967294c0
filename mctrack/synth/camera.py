"""Calibrated pinhole cameras looking at the ground plane.

World frame: metres, ground plane ``z = 0``, ``z`` up. Camera frame (OpenCV): ``x`` right, ``y`` down, ``z``
forward. A world point ``X`` maps to the camera frame as ``R @ X + t`` and to pixels as ``K @ (R @ X + t)``
followed by division by depth. No lens distortion (the saved distortion coefficients are zeros).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["PinholeCamera", "ColorResponse"]


@dataclass(frozen=True)
class ColorResponse:
    """How one camera renders colour: applied to every rendered frame (people and background alike).

    Attributes:
        gains: per-channel (B, G, R) white-balance gains, 1 = neutral.
        gamma: tone curve exponent on [0, 1] intensities (< 1 brightens shadows).
        brightness: offset added after the gains, in [0, 1] units.
        contrast: slope around mid-grey.
        blur: Gaussian blur sigma in pixels (0 = sharp).
        noise: standard deviation of additive sensor noise, in grey levels.
    """

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gamma: float = 1.0
    brightness: float = 0.0
    contrast: float = 1.0
    blur: float = 0.0
    noise: float = 0.0

    def __post_init__(self) -> None:
        if len(self.gains) != 3 or min(self.gains) <= 0:
            raise ValueError(f"gains: expected three positive values, got {self.gains}")
        for name in ("gamma", "contrast"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")
        for name in ("blur", "noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")

    def lut(self) -> np.ndarray:
        """``(1, 256, 3)`` uint8 look-up table for ``cv2.LUT``."""
        v = np.linspace(0.0, 1.0, 256)[:, None] ** self.gamma * np.asarray(self.gains)[None, :]
        v = (v - 0.5) * self.contrast + 0.5 + self.brightness
        return np.clip(np.round(v * 255), 0, 255).astype(np.uint8)[None]


@dataclass(frozen=True)
class PinholeCamera:
    """A pinhole camera: intrinsics ``K`` (3x3), rotation ``R`` (3x3, world -> camera), translation ``t`` (3,).

    Attributes:
        id: camera id (as written to ``cams.yaml``).
        width, height: image size in pixels.
        color: the camera's colour response, blur and noise.
    """

    id: str
    width: int
    height: int
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    color: ColorResponse = field(default_factory=ColorResponse)

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise ValueError(f"width, height: must be >= 16, got {self.width}x{self.height}")
        K, R, t = (np.asarray(a, np.float64) for a in (self.K, self.R, self.t))
        if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,):
            raise ValueError(f"K, R, t: expected shapes (3,3), (3,3), (3,), got {K.shape}, {R.shape}, {t.shape}")
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-6):
            raise ValueError("R: must be a rotation matrix")
        for name, arr in (("K", K), ("R", R), ("t", t)):
            object.__setattr__(self, name, arr)

    @classmethod
    def look_at(
        cls, id: str, position, target, *, width: int, height: int, hfov_deg: float, color: ColorResponse | None = None
    ) -> PinholeCamera:
        """A camera at world ``position`` looking at world ``target``, horizontal field of view ``hfov_deg``."""
        if not 10 <= hfov_deg <= 150:
            raise ValueError(f"hfov_deg: must be in [10, 150], got {hfov_deg}")
        c, tgt = np.asarray(position, np.float64), np.asarray(target, np.float64)
        fwd = tgt - c
        if np.linalg.norm(fwd) < 1e-9:
            raise ValueError("target: must differ from position")
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        if np.linalg.norm(right) < 1e-6:
            raise ValueError("target: the camera must not look straight up or down")
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        R = np.stack([right, down, fwd])
        f = width / 2 / np.tan(np.radians(hfov_deg) / 2)
        K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
        return cls(id, width, height, K, R, -R @ c, color or ColorResponse())

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points in the camera frame."""
        return np.asarray(points, np.float64) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(..., 3)`` world points -> ``(..., 2)`` pixels and ``(...)`` depths (<= 0: behind the camera)."""
        pc = self.to_camera(points)
        z = pc[..., 2]
        uvw = pc @ self.K.T
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = uvw[..., :2] / np.where(np.abs(z) < 1e-9, 1e-9, z)[..., None]
        return uv, z

    @property
    def ground_to_image(self) -> np.ndarray:
        """3x3 homography from ground-plane (x, y) metres to pixels."""
        H = self.K @ np.column_stack([self.R[:, 0], self.R[:, 1], self.t])
        return H / H[2, 2]

    @property
    def image_to_ground(self) -> np.ndarray:
        """3x3 homography from pixels to ground-plane (x, y) metres (valid below the horizon)."""
        H = np.linalg.inv(self.ground_to_image)
        return H / H[2, 2]

    def pixel_rays(self) -> np.ndarray:
        """``(H, W, 3)`` world-frame ray directions through every pixel centre (not normalised)."""
        u, v = np.meshgrid(np.arange(self.width) + 0.5, np.arange(self.height) + 0.5)
        pix = np.stack([u, v, np.ones_like(u)], axis=-1)
        return pix @ np.linalg.inv(self.K).T @ self.R

    def to_dict(self) -> dict:
        """The calibration as saved in ``calib.json``."""
        c = self.color
        return {
            "camera": self.id,
            "image_size": [self.width, self.height],
            "units": "metres",
            "convention": "x_cam = R @ X_world + t; pixel = K @ x_cam / z; ground plane z = 0, z up",
            "K": self.K.tolist(),
            "dist": [0.0] * 5,
            "R": self.R.tolist(),
            "t": self.t.tolist(),
            "position": self.center.tolist(),
            "H_ground_to_image": self.ground_to_image.tolist(),
            "H_image_to_ground": self.image_to_ground.tolist(),
            "color_response": {
                "gains_bgr": list(c.gains),
                "gamma": c.gamma,
                "brightness": c.brightness,
                "contrast": c.contrast,
                "blur_sigma": c.blur,
                "noise_std": c.noise,
            },
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> PinholeCamera:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        c = d.get("color_response", {})
        color = ColorResponse(
            tuple(c.get("gains_bgr", (1, 1, 1))),
            c.get("gamma", 1.0),
            c.get("brightness", 0.0),
            c.get("contrast", 1.0),
            c.get("blur_sigma", 0.0),
            c.get("noise_std", 0.0),
        )
        return cls(d["camera"], *d["image_size"], np.array(d["K"]), np.array(d["R"]), np.array(d["t"]), color)
