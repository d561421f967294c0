"""Options shared by the subcommands that build an embedder."""

from __future__ import annotations

import argparse

from ..detect import build_detector
from ..embed import Embedder, build_embedder
from ..registry import EMBEDDERS

__all__ = ["add_embedder_args", "embedder_from_args", "add_yolo_args", "yolo_from_args", "TORCH_EMBEDDERS"]

TORCH_EMBEDDERS = ("laga", "can", "global")


def add_embedder_args(p: argparse.ArgumentParser, default: str = "laga") -> None:
    names = ", ".join(EMBEDDERS.names()) + ", none"
    g = p.add_argument_group("embedder")
    g.add_argument("--reid", default=default, help=f"embedder: {names} (default: {default})")
    g.add_argument("--weights", help="Re-ID checkpoint (its manifest fixes architecture and input size)")
    g.add_argument("--backbone", default="resnet50", help="backbone without --weights: resnet50, resnet34, resnet18")
    g.add_argument("--pretrained", default="imagenet",
                   help="backbone init without --weights: imagenet, a torchvision state_dict path, or none")
    g.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    g.add_argument("--batch-size", type=int, default=32, help="crops per forward pass (default: 32)")
    g.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"),
                   help="fp16 (CUDA) or bf16 autocast; default fp32")
    g.add_argument("--flip", action="store_true", help="average features of each crop and its mirror image")


def embedder_from_args(args: argparse.Namespace) -> Embedder | None:
    """Build the embedder the options ask for; ``--reid none`` gives ``None``."""
    if args.reid not in TORCH_EMBEDDERS:
        if args.weights:
            raise ValueError(f"--weights: the {args.reid!r} embedder takes no weights")
        return build_embedder(args.reid)
    pretrained = None if str(args.pretrained).lower() == "none" else args.pretrained
    return build_embedder(args.reid, weights=args.weights, backbone=args.backbone, pretrained=pretrained,
                          device=args.device, batch_size=args.batch_size, precision=args.precision, flip=args.flip)


def add_yolo_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("yolo")
    g.add_argument("--yolo-weights", default="yolo11n.pt", help="weights file or ultralytics model name")
    g.add_argument("--yolo-imgsz", type=int, default=640, help="inference size (default: 640)")
    g.add_argument("--yolo-iou", type=float, default=0.7, help="NMS IoU threshold (default: 0.7)")
    g.add_argument("--yolo-half", action="store_true", help="fp16 inference (CUDA only)")


def yolo_from_args(args: argparse.Namespace):
    """The YOLO detector the options ask for (``--min-score`` is its confidence threshold, default 0.1)."""
    return build_detector("yolo", weights=args.yolo_weights, device=args.device,
                          conf=0.1 if args.min_score is None else args.min_score, iou=args.yolo_iou,
                          imgsz=args.yolo_imgsz, half=args.yolo_half)
