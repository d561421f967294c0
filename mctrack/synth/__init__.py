"""Synthetic multi-camera scenes with exact ground truth: ``make_scene("small", "samples/small", seed=0)``.

Modules: ``camera`` (pinhole cameras, homographies), ``world`` (courtyard, background, props), ``person``
(appearance, skeleton, renderer), ``motion`` (routes, groups, stops), ``render`` (depth-ordered compositing,
visibility, camera effects), ``detections`` (noisy public detections), ``export`` (Re-ID crops, preview),
``scene`` (presets and the generator).
"""

from __future__ import annotations

from .camera import ColorResponse, PinholeCamera
from .detections import DetectionNoise
from .scene import GENERATOR_VERSION, PRESETS, CameraSpec, Preset, get_preset, make_scene

__all__ = [
    "make_scene",
    "PRESETS",
    "Preset",
    "CameraSpec",
    "get_preset",
    "GENERATOR_VERSION",
    "PinholeCamera",
    "ColorResponse",
    "DetectionNoise",
]
