"""Presets and the scene generator: cameras, people and motion in, MOTChallenge sequences and crops out.

Output layout of ``make_scene(preset, out)``::

    out/cams.yaml                 camera set for ``mctrack run`` (paths relative to it)
    out/manifest.json             preset, seed, generator version, cameras, counts, people
    out/world.txt                 ground-truth ground positions: frame,id,x,y,heading (metres, radians)
    out/<cam>/video.mp4           the camera's video (mp4v)
    out/<cam>/gt/gt.txt           frame,id,left,top,width,height,1,1,visibility (global person ids)
    out/<cam>/det/det.txt         frame,-1,left,top,width,height,score,-1,-1,-1 (noisy public detections)
    out/<cam>/seqinfo.ini         MOTChallenge sequence info
    out/<cam>/calib.json          intrinsics, extrinsics, ground homographies, colour response
    out/reid/{bounding_box_train,query,bounding_box_test}/   Market-1501 style crops
    out/preview.png               with ``preview=True``: frames of every camera with ground-truth boxes
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import InputError
from ..io.mot import SeqInfo, save_mot_txt, write_seqinfo
from .camera import ColorResponse, PinholeCamera
from .detections import DetectionNoise
from .export import CropCollector, annotate, contact_sheet, write_cams_yaml
from .motion import plan_trajectories
from .person import pose_points, sample_appearance
from .render import CameraRenderer
from .world import default_world

__all__ = ["CameraSpec", "Preset", "PRESETS", "GENERATOR_VERSION", "get_preset", "make_scene", "build_cameras"]

GENERATOR_VERSION = "1.0"


@dataclass(frozen=True)
class CameraSpec:
    """Where a camera hangs: world ``position`` (x, y, z m), the ground ``target`` it looks at, size, field of view."""

    id: str
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    width: int
    height: int
    hfov_deg: float


@dataclass(frozen=True)
class Preset:
    """A scene recipe.

    ``color_variation`` scales how far camera colour responses (white balance, gamma, brightness, contrast) stray
    from neutral: 0 gives identical cameras, 1 gains of +-16 %. Blur sigma and noise std (grey levels) are drawn
    per camera from ``blur_range`` and ``noise_range``. Sensor noise makes the mp4 files much larger.
    """

    name: str
    duration: float
    fps: float
    n_people: int
    cameras: tuple[CameraSpec, ...]
    group_prob: float = 0.3
    stop_prob: float = 0.2
    cross_prob: float = 0.75
    lead: float = 20.0
    color_variation: float = 0.3
    blur_range: tuple[float, float] = (0.7, 1.2)
    noise_range: tuple[float, float] = (0.8, 2.0)
    detection_noise: DetectionNoise = field(default_factory=DetectionNoise)
    crop_every_s: float = 1.0
    crop_min_height: float = 40.0
    crop_min_visibility: float = 0.6
    test_fraction: float = 0.5
    preview_times: tuple[float, ...] = (0.2, 0.5, 0.8)

    def __post_init__(self) -> None:
        if not 1 <= len(self.cameras) <= 9:
            raise ValueError(f"cameras: need 1 to 9, got {len(self.cameras)}")
        if self.duration <= 0 or self.fps <= 0:
            raise ValueError(f"duration, fps: must be > 0, got {self.duration}, {self.fps}")

    @property
    def n_frames(self) -> int:
        return int(round(self.duration * self.fps))


# Plaza cameras overlap (cam1 from the south-west corner, cam2 from the north); the court camera(s) see another
# region, reached through an unwatched passage.
_PLAZA_SW = ((1.0, 1.0, 4.2), (12.0, 12.5, 0.0))
_PLAZA_N = ((19.0, 23.5, 5.0), (10.0, 9.0, 0.0))
_COURT_SE = ((39.5, 1.0, 4.5), (31.5, 14.0, 0.0))
_COURT_NW = ((26.0, 23.5, 5.5), (35.0, 9.0, 0.0))

PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny",
        duration=6.0,
        fps=10,
        n_people=8,
        lead=14.0,
        cameras=(CameraSpec("cam1", *_PLAZA_SW, 320, 180, 62), CameraSpec("cam2", *_PLAZA_N, 288, 192, 66)),
        crop_every_s=0.5,
        crop_min_height=24.0,
        preview_times=(0.3, 0.8),
    ),
    "small": Preset(
        "small",
        duration=20.0,
        fps=10,
        n_people=30,
        lead=24.0,
        test_fraction=0.6,
        cameras=(
            CameraSpec("cam1", *_PLAZA_SW, 640, 360, 62),
            CameraSpec("cam2", *_PLAZA_N, 640, 360, 66),
            CameraSpec("cam3", *_COURT_SE, 480, 360, 58),
        ),
    ),
    "large": Preset(
        "large",
        duration=240.0,
        fps=15,
        n_people=140,
        lead=25.0,
        cameras=(
            CameraSpec("cam1", *_PLAZA_SW, 960, 540, 62),
            CameraSpec("cam2", *_PLAZA_N, 1280, 720, 66),
            CameraSpec("cam3", *_COURT_SE, 960, 540, 58),
            CameraSpec("cam4", *_COURT_NW, 800, 600, 64),
        ),
        crop_min_height=56.0,
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a ValueError listing the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def _color_response(rng: np.random.Generator, p: Preset) -> ColorResponse:
    s = p.color_variation
    gains = tuple(float(g) for g in 1 + s * rng.uniform(-0.16, 0.16, 3))
    return ColorResponse(
        gains=gains,
        gamma=float(np.exp(s * rng.uniform(-0.25, 0.25))),
        brightness=float(s * rng.uniform(-0.07, 0.07)),
        contrast=float(1 + s * rng.uniform(-0.15, 0.1)),
        blur=float(rng.uniform(*p.blur_range)),
        noise=float(rng.uniform(*p.noise_range)),
    )


def build_cameras(preset: Preset, rng: np.random.Generator) -> list[PinholeCamera]:
    """The preset's cameras with colour responses drawn from ``rng``."""
    return [
        PinholeCamera.look_at(
            c.id,
            c.position,
            c.target,
            width=c.width,
            height=c.height,
            hfov_deg=c.hfov_deg,
            color=_color_response(rng, preset),
        )
        for c in preset.cameras
    ]


#: written into the output folder first and removed once manifest.json is written: a folder that holds it is a
#: scene whose making was cut short
MAKING_MARK = ".mctrack-samples-making"


def _holds_a_scene(out: Path) -> bool:
    """A scene of this generator, finished (its manifest.json says so) or cut short (:data:`MAKING_MARK`)."""
    if (out / MAKING_MARK).is_file():
        return True
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("generator") == "mctrack.synth"
    except (OSError, ValueError, AttributeError):
        return False


def _prepare_output(out: Path, overwrite: bool) -> Path:
    """``out`` made ready, empty, as an absolute path: a new or empty folder, or one that holds a scene and
    ``overwrite`` (everything in it is removed, so that no file of the earlier scene, such as a camera the new one
    lacks, is left beside it; the folder itself stays, so that ``.`` or a folder the shell is in can be given)."""
    out = Path(os.path.abspath(out))  # ".." taken away too: the working folder may be one emptied below
    if out.is_symlink() and not out.exists():
        raise InputError(f"{out}: the output folder is a symbolic link to {out.readlink()}, which does not exist")
    if out.is_dir() and any(out.iterdir()):
        if _being_made(out):
            raise InputError(
                f"{out}: another mctrack samples make is writing a scene into this folder (it holds {MAKING_MARK}); "
                "wait for it to end or choose another --out"
            )
        if not _holds_a_scene(out):
            raise InputError(
                f"{out}: the output folder is not empty and holds no scene made by mctrack samples make; choose a "
                "new or empty folder"
            )
        if not overwrite:
            which = "a scene whose making was cut short" if (out / MAKING_MARK).is_file() else "a scene already"
            raise InputError(
                f"{out}: holds {which}; pass --overwrite to replace it (the folder's contents are removed first)"
            )
        for entry in out.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    elif out.exists() and not out.is_dir():
        raise InputError(f"{out}: the output folder is a file")
    out.mkdir(parents=True, exist_ok=True)
    (out / MAKING_MARK).write_text("a scene of mctrack samples make is being written here\n", encoding="utf-8")
    return out


def _being_made(out: Path) -> bool:
    """Whether another process holds the lock on ``out``'s :data:`MAKING_MARK` (it is making a scene there)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: nothing is locked
        return False
    try:
        with open(out / MAKING_MARK, "rb") as fh:  # not created when absent
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:  # no marker, or a file system without such locks
        return False
    return False


@contextlib.contextmanager
def _making(out: Path) -> Iterator[None]:
    """Holds an advisory lock on ``out``'s :data:`MAKING_MARK` while the scene is made: a second make into the same
    folder stops at once (two makes into one folder left one scene's files with the other's videos, and the one
    that said it wrote its scene had lost it). Released when the make ends or its process dies."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    with open(out / MAKING_MARK, "a") as fh:
        with contextlib.suppress(OSError):  # a file system without such locks: nothing is locked
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def make_scene(
    preset: str | Preset,
    out: str | Path,
    seed: int = 0,
    preview: bool = False,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Generate a scene into ``out`` and return ``out``.

    ``out`` must be new or empty, or hold a scene of this generator (finished or cut short) and ``overwrite``: its
    contents are then removed first. Anything else is an :class:`~mctrack.errors.InputError` naming the folder.
    The same preset and seed give byte-identical ground truth, detections, crops and manifest; videos are
    encoded by OpenCV and may differ between OpenCV builds.
    """
    p = preset if isinstance(preset, Preset) else get_preset(preset)
    if int(seed) < 0:
        raise ValueError(f"seed: must be >= 0, got {seed}")
    out = _prepare_output(Path(out), overwrite)
    with _making(out):
        return _make_into(out, p, int(seed), preview, progress)


def _make_into(out: Path, p: Preset, seed: int, preview: bool, progress: bool) -> Path:
    """:func:`make_scene`'s work, into the prepared ``out``."""
    ss = np.random.SeedSequence([int(seed), 3])
    r_cam, r_people, r_app, r_split, *r_per_cam = (np.random.default_rng(s) for s in ss.spawn(4 + 2 * len(p.cameras)))
    world = default_world()
    cams = build_cameras(p, r_cam)
    trajs = plan_trajectories(
        world,
        n_people=p.n_people,
        duration=p.duration,
        fps=p.fps,
        rng=r_people,
        group_prob=p.group_prob,
        stop_prob=p.stop_prob,
        cross_prob=p.cross_prob,
        lead=p.lead,
    )
    apps = [sample_appearance(r_app) for _ in trajs]
    renderers = [CameraRenderer(c, world, r_per_cam[2 * i]) for i, c in enumerate(cams)]
    det_rngs = [r_per_cam[2 * i + 1] for i in range(len(cams))]
    writers = []
    for c in cams:
        (out / c.id).mkdir(exist_ok=True)
        w = cv2.VideoWriter(str(out / c.id / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), p.fps, (c.width, c.height))
        if not w.isOpened():
            raise RuntimeError(f"{out / c.id / 'video.mp4'}: OpenCV cannot write mp4v video here")
        writers.append(w)
    gt_rows: list[list[np.ndarray]] = [[] for _ in cams]
    det_rows: list[list[np.ndarray]] = [[] for _ in cams]
    world_rows = []
    crops = CropCollector(
        min_visibility=p.crop_min_visibility,
        min_height=p.crop_min_height,
        every=max(1, int(round(p.crop_every_s * p.fps))),
        test_fraction=p.test_fraction,
    )
    n = p.n_frames
    preview_frames = sorted({min(n - 1, int(t * n)) for t in p.preview_times})
    tiles: list[list[np.ndarray]] = [[] for _ in cams]
    try:
        for f in tqdm(range(n), desc=f"samples {p.name}", unit="frame", disable=not progress):
            people = []
            for tr, app in zip(trajs, apps):
                if tr.active[f]:
                    people.append(
                        (tr.pid, app, pose_points(app, tr.pos[f], tr.heading[f], tr.phase[f], tr.amp[f]), tr.pos[f])
                    )
                    world_rows.append((f + 1, tr.pid, tr.pos[f][0], tr.pos[f][1], tr.heading[f]))
            for ci, (cam, ren) in enumerate(zip(cams, renderers)):
                fr = ren.render(people)
                writers[ci].write(fr.image)
                k = len(fr.pids)
                if k:
                    wh = fr.xyxy[:, 2:] - fr.xyxy[:, :2]
                    gt_rows[ci].append(
                        np.column_stack(
                            [np.full(k, f + 1), fr.pids, fr.xyxy[:, :2], wh, np.ones(k), np.ones(k), fr.visibility]
                        )
                    )
                det, score, _ = p.detection_noise.apply(
                    fr.xyxy,
                    fr.visibility,
                    det_rngs[ci],
                    image_size=(cam.width, cam.height),
                    visible_xyxy=fr.visible_xyxy,
                    fp_heights=(0.08 * cam.height, 0.35 * cam.height),
                )
                if len(det):
                    m = len(det)
                    det_rows[ci].append(
                        np.column_stack(
                            [
                                np.full(m, f + 1),
                                -np.ones(m),
                                det[:, :2],
                                det[:, 2:] - det[:, :2],
                                score,
                                -np.ones((m, 3)),
                            ]
                        )
                    )
                crops.add(ci + 1, f + 1, fr.image, fr.pids, fr.xyxy, fr.visibility)
                if preview and f in preview_frames:
                    tiles[ci].append(annotate(fr.image, fr.pids, fr.xyxy, fr.visibility))
    finally:
        for w in writers:
            w.release()
    yaml_cams, cam_info = [], []
    for ci, cam in enumerate(cams):
        d = out / cam.id
        gt = np.concatenate(gt_rows[ci]) if gt_rows[ci] else np.zeros((0, 9))
        gt = gt[np.lexsort((gt[:, 1], gt[:, 0]))]
        save_mot_txt(d / "gt" / "gt.txt", gt)
        det = np.concatenate(det_rows[ci]) if det_rows[ci] else np.zeros((0, 10))
        save_mot_txt(d / "det" / "det.txt", det)
        write_seqinfo(
            d / "seqinfo.ini",
            SeqInfo(
                name=cam.id, frame_rate=p.fps, seq_length=n, im_width=cam.width, im_height=cam.height, video="video.mp4"
            ),
        )
        cam.save(d / "calib.json")
        yaml_cams.append(
            {
                "id": cam.id,
                "source": f"{cam.id}/video.mp4",
                "fps": p.fps,
                "time_offset": 0.0,
                "calibration": f"{cam.id}/calib.json",
                "detections": f"{cam.id}/det/det.txt",
                "ground_truth": f"{cam.id}/gt/gt.txt",
            }
        )
        cam_info.append(
            {
                "id": cam.id,
                "index": ci + 1,
                "width": cam.width,
                "height": cam.height,
                "frames": n,
                "position": [round(v, 3) for v in cam.center.tolist()],
                "gt_boxes": len(gt),
                "det_boxes": len(det),
                "identities": sorted(int(i) for i in np.unique(gt[:, 1])),
            }
        )
    # the Re-ID export under a temporary name, then cams.yaml: a make cut short leaves no camera set to run and no
    # reid/ folder that looks whole (it left both, with a part of the crops)
    partial = out / ".reid.partial"
    reid = crops.write(partial, r_split)
    partial.rename(out / "reid")
    wr = np.asarray(world_rows, np.float64).reshape(-1, 5)
    (out / "world.txt").write_text(
        "".join(f"{int(a)},{int(b)},{c:.3f},{d:.3f},{e:.4f}\n" for a, b, c, d, e in wr), encoding="utf-8"
    )
    write_cams_yaml(out / "cams.yaml", f"{p.name}-seed{seed}", yaml_cams)
    seen = sorted({i for c in cam_info for i in c["identities"]})
    multi = sorted(i for i in seen if sum(i in c["identities"] for c in cam_info) >= 2)
    manifest = {
        "generator": "mctrack.synth",
        "generator_version": GENERATOR_VERSION,
        "preset": p.name,
        "seed": int(seed),
        "duration_s": p.duration,
        "fps": p.fps,
        "frames_per_camera": n,
        "cameras": cam_info,
        "counts": {
            "people": len(trajs),
            "identities_seen": len(seen),
            "identities_multi_camera": len(multi),
            "gt_boxes": sum(c["gt_boxes"] for c in cam_info),
            "det_boxes": sum(c["det_boxes"] for c in cam_info),
            "reid": reid,
        },
        "people": [{"id": tr.pid, "group": tr.group, **app.describe()} for tr, app in zip(trajs, apps)],
        # what the files are reproduced with byte for byte (the renderer's rounding follows them)
        "versions": {"numpy": np.__version__, "opencv": cv2.__version__},
    }
    if preview and any(tiles):
        sheet = contact_sheet(tiles, [c.id for c in cams])
        cv2.imwrite(str(out / "preview.png"), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (out / MAKING_MARK).unlink()
    return out
