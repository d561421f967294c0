"""Frames per second of the synthetic scene generator, on one core.

    python benchmarks/synth_bench.py [--preset small] [--frames 200] [--full]

Prints, for each camera of the preset: frames/s of rendering alone (people, props, shadows, visibility, camera
colour/blur/noise) and of rendering plus mp4v encoding plus detection noise (what `make_scene` does per camera
frame). With --full, also times a whole `make_scene` run (crops, files) and prints camera-frames/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's mctrack, installed or not

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mctrack.synth.motion import plan_trajectories  # noqa: E402
from mctrack.synth.person import pose_points, sample_appearance  # noqa: E402
from mctrack.synth.render import CameraRenderer  # noqa: E402
from mctrack.synth.scene import build_cameras, get_preset, make_scene  # noqa: E402
from mctrack.synth.world import default_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="small")
    ap.add_argument("--frames", type=int, default=200, help="frames per camera to time")
    ap.add_argument("--full", action="store_true", help="also time a whole make_scene run")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    p = get_preset(args.preset)
    rng = np.random.default_rng(0)
    world = default_world()
    cams = build_cameras(p, rng)
    n = min(args.frames, p.n_frames)
    trajs = plan_trajectories(world, n_people=p.n_people, duration=p.duration, fps=p.fps, rng=rng, lead=p.lead)
    apps = [sample_appearance(rng) for _ in trajs]
    frames = [
        [
            (t.pid, a, pose_points(a, t.pos[f], t.heading[f], t.phase[f], t.amp[f]), t.pos[f])
            for t, a in zip(trajs, apps)
            if t.active[f]
        ]
        for f in range(n)
    ]
    print(
        f"preset {p.name}: {n} frames per camera, {np.mean([len(f) for f in frames]):.1f} people active per frame, "
        f"cv2 threads {cv2.getNumThreads()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for cam in cams:
            ren = CameraRenderer(cam, world, np.random.default_rng(1))
            t0 = time.perf_counter()
            for people in frames:
                ren.render(people)
            render_fps = n / (time.perf_counter() - t0)
            writer = cv2.VideoWriter(
                os.path.join(tmp, f"{cam.id}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), p.fps, (cam.width, cam.height)
            )
            det_rng = np.random.default_rng(2)
            shown = 0
            t0 = time.perf_counter()
            for people in frames:
                fr = ren.render(people)
                writer.write(fr.image)
                p.detection_noise.apply(
                    fr.xyxy, fr.visibility, det_rng, image_size=(cam.width, cam.height), visible_xyxy=fr.visible_xyxy
                )
                shown += len(fr.pids)
            full_fps = n / (time.perf_counter() - t0)
            writer.release()
            print(
                f"  {cam.id} {cam.width}x{cam.height}: {shown / n:4.1f} people in view, render {render_fps:6.1f} "
                f"frames/s, render+encode+detections {full_fps:6.1f} frames/s"
            )
        if args.full:
            t0 = time.perf_counter()
            make_scene(p, os.path.join(tmp, "scene"), seed=0, progress=False)
            dt = time.perf_counter() - t0
            print(
                f"  make_scene({p.name!r}): {dt:.1f} s for {p.n_frames} frames x {len(cams)} cameras = "
                f"{p.n_frames * len(cams) / dt:.1f} camera-frames/s"
            )


if __name__ == "__main__":
    main()
