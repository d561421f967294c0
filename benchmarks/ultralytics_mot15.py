"""mctrack's tracker next to Ultralytics' BoT-SORT (the tracker behind ``model.track(..., tracker="botsort.yaml")``)
with the same embedder, exported, as BoT-SORT's ReID model: same public detections, same offline gap
interpolation and box smoothing, same evaluation (TrackEval's definitions, MOT15 protocol), on the MOT15 sequences
that have video. A third row is the same BoT-SORT without ReID (``with_reid: False``): what the embedder adds
inside Ultralytics.

    python benchmarks/ultralytics_mot15.py                                  # laga_market1501, both videos
    python benchmarks/ultralytics_mot15.py --weights laga_samples --gmc none

The detector is the only part of ``model.track`` replaced: Ultralytics' ``BOTSORT`` is fed the sequence's public
detections (an ``ultralytics.engine.results.Boxes`` per frame, as its predictor would) and the frame (for its
ReID crops and its camera-motion compensation). Its settings are ``configs/trackers/botsort_laga.yaml`` (the
file a user passes to ``model.track``) with ``model`` pointing at the export that this script writes with
``mctrack.embed.export.export_embedder`` (RGB crops in 0-1, as Ultralytics feeds an ONNX ReID model). Needs
ultralytics and the ``export`` extra (onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mot15 import WITH_VIDEO, make_embedder, run_sequence  # noqa: E402

from mctrack.detect import MotFileDetector  # noqa: E402
from mctrack.embed import embedder_link_thresh, embedder_track_appearance  # noqa: E402
from mctrack.eval.mot import evaluate_folders  # noqa: E402
from mctrack.io.mot import mot_rows, save_mot_txt  # noqa: E402
from mctrack.io.video import SequenceSource  # noqa: E402
from mctrack.track.postprocess import refine  # noqa: E402
from mctrack.weights import resolve_weights  # noqa: E402


def botsort_settings(config: str | Path, onnx: str | Path, **overrides) -> dict:
    """The tracker YAML's settings with ``model`` set to ``onnx`` (and ``overrides``)."""
    cfg = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    return {**cfg, "model": str(onnx), **overrides}


def run_ultralytics_botsort(
    seq_dir: Path, settings: dict, *, interpolate: int = 10, smooth: float = 2.0, device: str = "cpu"
) -> np.ndarray:
    """MOT rows of Ultralytics' BoT-SORT on ``seq_dir``'s public detections, refined as mctrack's rows are."""
    from ultralytics.engine.results import Boxes
    from ultralytics.trackers.bot_sort import BOTSORT
    from ultralytics.utils import IterableSimpleNamespace

    source = SequenceSource(seq_dir, need_images=True)
    det = MotFileDetector(seq_dir / "det" / "det.txt")
    tracker = BOTSORT(IterableSimpleNamespace(**settings, device=device))
    rows = []
    for frame in source:
        if frame.image is None:
            raise SystemExit(f"{seq_dir}: frame {frame.index + 1} has no readable image")
        d = det.detections(frame.index)
        data = np.concatenate([d.xyxy, d.score[:, None], np.zeros((len(d), 1))], axis=1).astype(np.float32)
        out = np.asarray(tracker.update(Boxes(data, frame.image.shape[:2]), frame.image))
        if len(out):  # rows [x1, y1, x2, y2, id, score, ...]
            rows.append(mot_rows(frame.index, out[:, 4], out[:, :4], out[:, 5]))
    rows = np.concatenate(rows) if rows else np.zeros((0, 10))
    return refine(rows, source.fps, interpolate=interpolate, smooth=smooth)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mot15"))
    ap.add_argument("--weights", default="laga_market1501", help="LAGA-Net checkpoint: file or bundled name")
    ap.add_argument("--config", default=str(ROOT / "configs" / "trackers" / "botsort_laga.yaml"))
    ap.add_argument(
        "--gmc", default=None, help="override the YAML's gmc_method (e.g. none; default: the YAML's sparseOptFlow)"
    )
    ap.add_argument("--sequences", nargs="*", default=list(WITH_VIDEO))
    ap.add_argument("--out", default=str(ROOT / "runs" / "ultralytics_mot15"))
    args = ap.parse_args(argv)
    try:
        import ultralytics

        from mctrack.embed.export import export_embedder
    except ImportError as exc:
        print(f"needs ultralytics and the export extra: {exc}", file=sys.stderr)
        return 1
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = resolve_weights(args.weights, option="--weights")
    onnx = out / f"{Path(weights).stem}_ul.onnx"
    export_embedder(weights, onnx, fmt="onnx", input_range="0-1")
    overrides = {} if args.gmc is None else {"gmc_method": args.gmc}
    settings = botsort_settings(args.config, onnx, **overrides)
    embedder = make_embedder("laga", str(weights))
    weight, thresh = embedder_track_appearance(embedder, "laga")
    post = {"smooth": 2.0, "stitch_s": 4.0, "stitch_appearance": embedder_link_thresh(embedder, "laga")}
    table = []
    for name in ("mctrack", "ultralytics-botsort", "ultralytics-botsort-noreid"):
        folder = out / Path(weights).stem / name
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        for seq in args.sequences:
            if name == "mctrack":
                rows = run_sequence(
                    data / seq,
                    interpolate=10,
                    post=post,
                    embedder=embedder,
                    appearance_weight=weight,
                    appearance_thresh=thresh,
                )
            else:
                reid = {"with_reid": name == "ultralytics-botsort"}
                rows = run_ultralytics_botsort(data / seq, {**settings, **reid})
            save_mot_txt(folder / f"{seq}.txt", rows)
        table.append((name, evaluate_folders(data, folder, sequences=args.sequences), time.perf_counter() - t0))
    print(
        f"ultralytics {ultralytics.__version__}; embedder {Path(weights).name} (BoT-SORT: {onnx.name}, "
        f"gmc {settings.get('gmc_method')}); interpolate 10, smooth 2 for both; mctrack also stitches (4 s)"
    )
    print(
        f"{'tracker':<28}{'HOTA':>6}{'IDF1':>6}{'MOTA':>6}  "
        + "  ".join(f"{s:>15}" for s in args.sequences)
        + "   (per sequence: HOTA/IDF1; seconds)"
    )
    for name, m, secs in table:
        c = m["COMBINED"]
        per = "  ".join(f"{100 * m[s]['HOTA']:9.1f}/{100 * m[s]['IDF1']:5.1f}" for s in args.sequences)
        print(f"{name:<28}{100 * c['HOTA']:6.1f}{100 * c['IDF1']:6.1f}{100 * c['MOTA']:6.1f}  {per}   {secs:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
