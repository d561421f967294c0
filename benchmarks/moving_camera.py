"""Camera-motion compensation on real footage filmed again by a virtual moving camera.

The MOT15 sequences with video here (PETS09-S2L1, TUD-Stadtmitte) come from fixed cameras, and the moving-camera
ones (ETH-Bahnhof, KITTI-13) have no images here, so ``--cmc`` could not be measured on real moving footage. This
script makes moving-camera versions of the fixed ones: every output frame is a window of the original frame that
pans, zooms and shakes along a known path (``cv2.warpAffine``, a scale-and-shift map), resized to 70% of the
original size; the ground truth and the public detections go through the same map, boxes are clipped to the new
frame and dropped when less than half of them is still inside. The people, their motion, the image content the
compensation has to track and the detections are real; only the camera's motion is made, so the control
(``static``: the same 0.7 window, never moving) tells exactly what the motion costs and what compensation wins back.

Camera paths, in seconds (the same on a 7 fps and a 25 fps sequence), the window's scale ``s`` (fraction of the
original frame it shows) and centre:

- ``static``: s = 0.7, centred (the control);
- ``pan``: s = 0.7, the centre sweeps the whole free width and back every 12 s (hand-held pan / turning robot);
- ``walk``: s swings 0.55-0.85 every 10 s (walking towards and away) with a 1.8 Hz, 1% vertical bob (steps);
- ``shake``: s = 0.7 with smooth random jitter of the centre (sum of sines of 0.3-2.5 Hz, about 3% of the
  frame; a hand-held camera).

Then every sequence is tracked on its public detections with ``--cmc off``, ``auto`` and ``on`` (as
``benchmarks/mot15.py``: tracker defaults, interpolation 10, smoothing 2, motion only unless ``--reid``; the
offline refinements run in stabilised coordinates with the warps the compensation applied) and one table of
HOTA / IDF1 / MOTA is printed. The generated sequences (MOTChallenge folders: ``img1/``, ``gt/``, ``det/``,
``seqinfo.ini``) stay under ``--work`` and are reused by the next run.

    python benchmarks/moving_camera.py                          # motion only, both videos, four camera paths
    python benchmarks/moving_camera.py --reid laga --modes off,auto
    python benchmarks/mot15.py --data runs/moving_camera/sequences --sequences PETS09-S2L1-shake --cmc auto
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mot15 import WITH_VIDEO, embedder_defaults, make_embedder, run_sequence  # noqa: E402

from mctrack.embed import embed_policy  # noqa: E402

from mctrack.errors import InputError  # noqa: E402
from mctrack.eval.mot import evaluate_folders  # noqa: E402
from mctrack.io.mot import read_seqinfo, save_mot_txt  # noqa: E402

PROFILES = ("static", "pan", "walk", "shake")
OUT_SCALE = 0.7  # output frame size as a fraction of the original
MIN_VISIBLE = 0.5  # a mapped box is kept when at least this fraction of it lies inside the new frame


def camera_path(profile: str, n_frames: int, fps: float, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``(n_frames, 3)`` window per frame: scale s (fraction of the original shown), centre x, centre y (pixels
    of the original). The window always lies inside the original frame."""
    w, h = size
    t = np.arange(n_frames) / fps
    s = np.full(n_frames, OUT_SCALE)
    u = np.zeros(n_frames)  # centre offsets as fractions of the free room on each side (-1..1)
    v = np.zeros(n_frames)
    if profile == "pan":
        u = np.sin(2 * np.pi * t / 12.0)
    elif profile == "walk":
        s = 0.7 + 0.15 * np.sin(2 * np.pi * t / 10.0)
        v = 0.01 * h * np.sin(2 * np.pi * 1.8 * t)  # pixels, converted below
    elif profile == "shake":
        rng = np.random.default_rng(seed)
        for freq in (0.3, 0.7, 1.3, 2.5):
            u += rng.uniform(0.2, 0.4) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            v += rng.uniform(0.2, 0.4) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
        u *= 0.03 * w / ((1 - OUT_SCALE) * w / 2)  # about 3% of the frame
        v *= 0.03 * h / ((1 - OUT_SCALE) * h / 2)
    elif profile != "static":
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    room_x, room_y = (1 - s) * w / 2, (1 - s) * h / 2
    cx = w / 2 + np.clip(u, -1, 1) * room_x
    if profile == "walk":
        cy = h / 2 + np.clip(v, -room_y, room_y)
    else:
        cy = h / 2 + np.clip(v, -1, 1) * room_y
    return np.c_[s, cx, cy]


def window_map(window: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The ``(2, 3)`` affine map from original pixels to output pixels for one window."""
    w, h = size
    s, cx, cy = window
    k = OUT_SCALE / s  # output pixels per original pixel
    out_w, out_h = round(w * OUT_SCALE), round(h * OUT_SCALE)
    return np.array([[k, 0.0, out_w / 2 - k * cx], [0.0, k, out_h / 2 - k * cy]])


def map_rows(rows: np.ndarray, path: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """MOT rows (1-based frames, x, y, w, h in columns 2-5) through each frame's window: scaled, shifted, clipped
    to the output frame; rows with less than MIN_VISIBLE of their box inside are dropped."""
    out_w, out_h = round(size[0] * OUT_SCALE), round(size[1] * OUT_SCALE)
    rows = rows.copy()
    f = rows[:, 0].astype(int) - 1
    ok = (f >= 0) & (f < len(path))
    rows, f = rows[ok], f[ok]
    s, cx, cy = path[f].T
    k = OUT_SCALE / s
    x1 = (rows[:, 2] - cx) * k + out_w / 2
    y1 = (rows[:, 3] - cy) * k + out_h / 2
    x2, y2 = x1 + rows[:, 4] * k, y1 + rows[:, 5] * k
    cx1, cy1 = np.clip(x1, 0, out_w), np.clip(y1, 0, out_h)
    cx2, cy2 = np.clip(x2, 0, out_w), np.clip(y2, 0, out_h)
    inside = np.maximum(cx2 - cx1, 0) * np.maximum(cy2 - cy1, 0)
    keep = inside >= MIN_VISIBLE * (x2 - x1) * (y2 - y1)
    rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5] = cx1, cy1, cx2 - cx1, cy2 - cy1
    return rows[keep]


def make_sequence(src: Path, profile: str, dest: Path) -> Path:
    """Write the moving-camera version of sequence ``src`` as a MOTChallenge folder ``dest`` (skipped when it
    is already complete)."""
    info = read_seqinfo(src / "seqinfo.ini")
    size = (info.im_width, info.im_height)
    out_w, out_h = round(size[0] * OUT_SCALE), round(size[1] * OUT_SCALE)
    done = dest / "seqinfo.ini"
    if done.is_file():
        return dest
    videos = sorted(p for p in src.iterdir() if p.suffix.lower() in (".avi", ".mp4"))
    if not videos:
        raise SystemExit(f"{src}: no video to film again")
    path = camera_path(profile, info.seq_length, info.frame_rate, size)
    (dest / "img1").mkdir(parents=True, exist_ok=True)
    (dest / "gt").mkdir(exist_ok=True)
    (dest / "det").mkdir(exist_ok=True)
    cap = cv2.VideoCapture(str(videos[0]))
    for i in range(info.seq_length):
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"{videos[0]}: ends at frame {i}, seqinfo.ini says {info.seq_length}")
        if frame.shape[1] != size[0] or frame.shape[0] != size[1]:
            raise SystemExit(f"{videos[0]}: frames are {frame.shape[1]}x{frame.shape[0]}, seqinfo.ini {size}")
        img = cv2.warpAffine(frame, window_map(path[i], size), (out_w, out_h), flags=cv2.INTER_AREA)
        cv2.imwrite(str(dest / "img1" / f"{i + 1:06d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    cap.release()
    for part in ("gt/gt.txt", "det/det.txt"):
        rows = np.loadtxt(src / part, delimiter=",", ndmin=2)
        np.savetxt(dest / part, map_rows(rows, path, size), delimiter=",", fmt="%.6g")
    done.write_text(
        f"[Sequence]\nname={dest.name}\nimDir=img1\nframeRate={info.frame_rate:g}\nseqLength={info.seq_length}\n"
        f"imWidth={out_w}\nimHeight={out_h}\nimExt=.jpg\n"
    )
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"), help="MOT15 folder")
    ap.add_argument("--work", default=str(ROOT / "runs" / "moving_camera"), help="generated sequences and results")
    ap.add_argument("--sequences", nargs="*", default=list(WITH_VIDEO), help="sequences with video to film again")
    ap.add_argument("--profiles", default=",".join(PROFILES), help=f"camera paths (default: {','.join(PROFILES)})")
    ap.add_argument("--modes", default="off,auto,on", help="--cmc modes compared (default: off,auto,on)")
    ap.add_argument("--reid", default="none", help="embedder (default: none = motion only)")
    ap.add_argument("--weights", help="checkpoint of a network (default: the bundled one)")
    ap.add_argument("--interpolate", type=int, default=10, help="as benchmarks/mot15.py (default 10)")
    ap.add_argument("--smooth", type=float, default=2.0, help="as benchmarks/mot15.py (default 2)")
    args = ap.parse_args(argv)
    data, work = Path(args.data), Path(args.work)
    profiles = [p for p in args.profiles.split(",") if p]
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in ("off", "auto", "on"):
            raise SystemExit(f"--modes: {m!r} is not off, auto or on")
    seqs = work / "sequences"
    names = []
    t0 = time.perf_counter()
    for seq in args.sequences:
        for profile in profiles:
            names.append(make_sequence(data / seq, profile, seqs / f"{seq}-{profile}").name)
    print(f"{len(names)} sequences ready under {seqs} ({time.perf_counter() - t0:.0f} s)", flush=True)
    embedder = make_embedder(args.reid, args.weights)
    # mctrack track's settings for this embedder: its --embed policy, appearance weight/threshold, stitching gate
    kwargs, post = embedder_defaults(embedder, args.reid)
    kwargs["embed"] = embed_policy(args.reid)
    post.update(smooth=args.smooth, stitch_s=4.0 * (args.reid != "none"))
    results = {}
    for mode in modes:
        out = work / f"results-{args.reid}-cmc-{mode}"
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        for name in names:
            rows = run_sequence(
                seqs / name,
                reid=args.reid,
                interpolate=args.interpolate,
                post=post,
                embedder=embedder,
                cmc=mode,
                **kwargs,
            )
            save_mot_txt(out / f"{name}.txt", rows)
        secs = time.perf_counter() - t0
        results[mode] = evaluate_folders(seqs, out, sequences=names)
        print(f"--cmc {mode}: tracked {len(names)} sequences in {secs:.0f} s", flush=True)
    head = f"{'sequence':<28}" + "".join(f"{'cmc ' + m + ': HOTA / IDF1 / MOTA':>32}" for m in modes)
    print(head)
    for name in [*names, "COMBINED"]:
        cells = []
        for m in modes:
            r = results[m][name]
            cells.append(f"{100 * r['HOTA']:.1f} / {100 * r['IDF1']:.1f} / {100 * r['MOTA']:.1f}".rjust(32))
        print(f"{name:<28}" + "".join(cells))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (InputError, ValueError) as exc:  # e.g. an unknown --reid, an unreadable sequence: one line
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
