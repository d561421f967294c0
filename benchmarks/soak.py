"""Soak test: does a long run's memory stay flat? Prints RSS every 1,000 frames and the growth after warm-up.

Two cameras of an endless synthetic stream (people walk across small frames, leave and come back in the other
camera) run through the real pipeline (``mctrack.pipeline.Pipeline``: per-camera driver, tracker, tracklet
builder, online linker, MOT writers) with ``--linker online``, hours of stream compressed by running as fast as
the CPU allows. Embedders: ``colorhist`` (the real colour-histogram embedder on the synthetic images) and
``wide`` (a stand-in with LAGA-Net's 12,288 dimensions: each person's fixed random unit vector plus noise; the
memory a run keeps depends on the feature size, not on the network that made it, and a real network would make
the soak days long on a CPU).

    python benchmarks/soak.py --embedder wide --frames 20000        # ~2 minutes on 2 cores
    python benchmarks/soak.py --embedder colorhist --frames 20000

Target (issue 13): RSS growth <= 1 MB per 1,000 frames after warm-up, online linker included.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mctrack.config import CameraConfig, CamsConfig  # noqa: E402
from mctrack.embed import build_embedder  # noqa: E402
from mctrack.io.video import FrameSource  # noqa: E402
from mctrack.link import OnlineLinker  # noqa: E402
from mctrack.pipeline import Pipeline  # noqa: E402
from mctrack.track import Tracker  # noqa: E402
from mctrack.types import Detections, Frame  # noqa: E402

W, H = 320, 180


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class World:
    """People crossing two cameras: each walks across camera A, then (usually) across camera B a little later,
    then leaves for a while and comes back; about five people are in each view at any time."""

    def __init__(self, seed: int = 0, people: int = 40, crossing: int = 120) -> None:
        rng = np.random.default_rng(seed)
        self.people, self.crossing = people, crossing
        self.colour = rng.integers(40, 255, (people, 3))
        self.period = rng.integers(6 * crossing, 10 * crossing, people)  # frames between two visits
        self.phase = rng.integers(0, 10 * crossing, people)
        self.lane = rng.uniform(20, H - 100, people)
        self.direction = rng.choice([-1, 1], people)

    def boxes(self, cam: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(person ids, xyxy boxes) visible in camera ``cam`` at frame ``index``."""
        t = (index + self.phase + cam * self.crossing * 2) % self.period
        visible = np.flatnonzero(t < self.crossing)
        if not len(visible):
            return visible, np.zeros((0, 4), np.float32)
        u = t[visible] / self.crossing
        u = np.where(self.direction[visible] > 0, u, 1 - u)
        x = -40 + u * (W + 40)
        y = self.lane[visible]
        return visible, np.stack([x, y, x + 40, y + 90], axis=1).astype(np.float32)


class SyntheticSource(FrameSource):
    def __init__(self, world: World, cam: int, frames: int, fps: float = 10.0) -> None:
        self.world, self.cam, self.frames = world, cam, frames
        self.camera = self.name = f"cam{cam + 1}"
        self.fps, self.length, self.size = fps, None, (W, H)  # length None: an endless stream as far as it knows

    def __iter__(self):
        for i in range(self.frames):
            img = np.full((H, W, 3), 90, np.uint8)
            _, boxes = self.world.boxes(self.cam, i)
            ids, _ = self.world.boxes(self.cam, i)
            for p, b in zip(ids, boxes):
                x0, y0, x1, y1 = np.clip(b, 0, [W, H, W, H]).astype(int)
                img[y0:y1, x0:x1] = self.world.colour[p]
            yield Frame(self.camera, i, i / self.fps, img)


class WideEmbedder:
    """12,288-D features: a person's fixed unit vector plus noise (see the module docstring)."""

    name, dim = "wide", 12288

    def __init__(self, world: World, cam_of: dict[int, int]) -> None:
        self.world, self.rng = world, np.random.default_rng(1)
        self.base = self.rng.standard_normal((world.people, self.dim)).astype(np.float32)
        self.base /= np.linalg.norm(self.base, axis=1, keepdims=True)
        self.current: np.ndarray = np.zeros(0, np.int64)

    def __call__(self, image, dets: Detections) -> np.ndarray:
        e = self.base[self.current[: len(dets)]] + 0.3 * self.rng.standard_normal((len(dets), self.dim)).astype(
            np.float32
        ) / np.sqrt(self.dim)
        return e / np.linalg.norm(e, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--embedder", default="wide", choices=("wide", "colorhist"))
    ap.add_argument("--frames", type=int, default=20000, help="frames per camera (default 20000)")
    ap.add_argument("--every", type=int, default=1000, help="print RSS every N frames of each camera")
    ap.add_argument("--warmup", type=int, default=4000, help="frames per camera before the growth is measured")
    args = ap.parse_args(argv)
    world = World()
    embedder = WideEmbedder(world, {}) if args.embedder == "wide" else build_embedder("colorhist")
    samples: list[tuple[int, float]] = []
    seen = {"n": 0}

    def detector_factory(cam: CameraConfig):
        k = int(cam.id[3:]) - 1

        def detect(frame: Frame) -> Detections:
            ids, boxes = world.boxes(k, frame.index)
            if isinstance(embedder, WideEmbedder):
                embedder.current = ids
            seen["n"] += 1
            if seen["n"] % (2 * args.every) == 0:
                samples.append((seen["n"] // 2, rss_mb()))
                print(f"{seen['n'] // 2:>8} frames/camera  RSS {samples[-1][1]:8.1f} MB", flush=True)
            return Detections(boxes, np.full(len(boxes), 0.95, np.float32))

        return detect

    cams = CamsConfig(cameras=[CameraConfig(id=f"cam{i + 1}", source=f"synthetic:{i}") for i in range(2)], path="soak")
    linker = OnlineLinker(thresh=0.3, min_len=10)
    pipe = Pipeline(
        detector_factory=detector_factory,
        tracker_factory=lambda cam, fps: Tracker(camera=cam, frame_rate=fps),
        embedder=embedder,
        linker=linker,
        cache_key=None,
        source_factory=lambda cam, need: SyntheticSource(world, int(cam.id[3:]) - 1, args.frames),
        video=False,
        progress=False,
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = pipe.run(cams, out)
    wall = time.perf_counter() - t0
    after = [(f, r) for f, r in samples if f >= args.warmup]
    slope = np.polyfit([f for f, _ in after], [r for _, r in after], 1)[0] * 1000 if len(after) >= 2 else float("nan")
    total = sum(r.frames for r in result.cameras.values())
    print(
        f"embedder {args.embedder} ({getattr(embedder, 'dim', '?')}-D), 2 cameras x {args.frames} frames, "
        f"{total} frames in {wall:.0f} s ({total / wall:.0f} frames/s), {len(result.identities)} tracklets -> "
        f"{len(set(result.identities.global_id.tolist()))} global ids, gallery {len(linker)} tracklets at the end"
    )
    print(
        f"RSS growth after {args.warmup} frames/camera: {slope:+.3f} MB per 1,000 frames per camera "
        f"({slope / 2:+.3f} MB per 1,000 frames of the run); target <= 1 MB"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
