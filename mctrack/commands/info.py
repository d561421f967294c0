"""``mctrack info``: what is installed and registered; ``--check`` exercises every embedder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..embed import build_embedder
from ..errors import first_line
from ..registry import DETECTORS, EMBEDDERS, LINKERS, TRACKERS
from ..types import Detections
from ..weights import DEFAULTS, FOLDER, default_weights
from ._common import TORCH_EMBEDDERS

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="versions, devices and registered components; --check runs each embedder",
        description="Print versions, devices and the registered components. With --check, build "
        "every embedder as --reid does (a network with its bundled checkpoint, e.g. laga_market1501) and embed a "
        "few synthetic person boxes, reporting each one's checkpoint and feature size, and say where the YOLO "
        "detector's default weights come from (a local file, a download on first use, or neither: offline).",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="build every embedder as --reid does (networks with their bundled checkpoints) and embed synthetic boxes",
    )
    p.add_argument(
        "--backbone",
        help="check untrained networks with this backbone instead of the bundled checkpoints (e.g. resnet50)",
    )
    p.add_argument(
        "--pretrained",
        help="check untrained networks whose backbone starts from: imagenet (torchvision download), a torchvision "
        "state_dict path, or none (default with --backbone: none)",
    )
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import numba
    import torch

    print(
        f"mctrack {__version__}  torch {torch.__version__}  numpy {np.__version__}  numba {numba.__version__}  "
        f"cuda: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}"
    )
    for reg in (DETECTORS, EMBEDDERS, TRACKERS, LINKERS):
        described = reg.describe()
        print(f"{reg.kind}s:" + ("" if described else " (none yet)"))
        for name, text in described.items():
            print(f"  {name:<10} {text}")
    if not args.check:
        return 0
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    dets = Detections(
        np.array([[100, 50, 180, 290], [300, 120, 360, 300], [600, 200, 700, 460]], np.float32),
        np.array([0.9, 0.8, 0.7], np.float32),
    )
    untrained = args.backbone is not None or args.pretrained is not None
    pretrained = None if str(args.pretrained).lower() == "none" else args.pretrained
    print("embedder check (3 synthetic boxes, one partly outside the image):")
    failed = []  # every embedder is checked; the exit status says whether any failed
    for name in EMBEDDERS.names():
        if name == "onnx":
            print(f"  {name:<10} (needs a model file: mctrack reid export writes one)")
            continue
        try:
            if name not in TORCH_EMBEDDERS:
                embedder, source = build_embedder(name), "-"
            elif untrained:  # what --weights none --backbone ... builds
                backbone = args.backbone or "resnet50"
                embedder = build_embedder(name, backbone=backbone, pretrained=pretrained, device=args.device)
                source = f"untrained {backbone}"
            else:  # as --reid NAME without --weights: its bundled checkpoint
                if default_weights(name) is None:  # an incomplete install: --reid NAME would run untrained
                    wanted = ", ".join(f"{n}.pt" for n in DEFAULTS.get(name, ()))
                    raise FileNotFoundError(f"no bundled checkpoint ({wanted} in {FOLDER}): the install is incomplete")
                embedder = build_embedder(name, device=args.device)
                source = Path(embedder.weights).stem
            embedder(image, dets)  # warm-up
            t0 = time.perf_counter()
            feats = embedder(image, dets)
        except Exception as exc:  # noqa: BLE001 - reported per embedder, the others still checked
            print(f"  {name:<10} FAILED: {first_line(exc)}")
            failed.append(name)
            continue
        ms = (time.perf_counter() - t0) * 1e3 / len(dets)
        norms = np.linalg.norm(feats, axis=1)
        ok = feats.shape == (len(dets), embedder.dim) and np.allclose(norms, 1, atol=1e-4)
        device = getattr(embedder, "device", "cpu")
        print(
            f"  {name:<10} {source:<20} dim {embedder.dim:>6}  {ms:8.1f} ms/crop on {device}  "
            f"unit-norm {'ok' if ok else 'FAILED'}"
        )
        if not ok:
            failed.append(name)
    from ..detect.yolo import DEFAULT_WEIGHTS, weights_status

    print("detector weights (--detector yolo without --yolo-weights):")
    print(f"  yolo       {DEFAULT_WEIGHTS}: {weights_status()}")
    if failed:
        print(f"mctrack info: error: the check failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
