"""The prepared device check: everything the project wants to know about a GPU, in one bounded run.

    python benchmarks/device_check.py --out DIR                    # on the GPU machine (about 6-8 minutes)
    python benchmarks/device_check.py --out DIR --device cpu --quick   # a dry run of every step on a CPU

Steps (each under its own time limit; a failing or timed-out step is recorded and the next one runs):

1. ``pytest -m cuda`` (the CUDA tests; on a CPU they skip);
2. embedder throughput (``benchmarks/embed_bench.py``): laga, can, global at the papers' size (ResNet-50,
   384x128) against a bare ResNet-50 forward, fp32 / bf16 / fp16, batch 1 to 512; and the shipped checkpoints'
   size (ResNet-18, 128x64); LAGA-Net ``torch.compile``d (``reduce-overhead``: CUDA graphs) in bf16;
3. the YOLO detector (an untrained ``yolo11n`` built from its YAML, since nothing is downloaded) on 640x640 frames,
   fp16 on CUDA, frame by frame and in batches of 4 and 8 cameras' frames (``detect_batch``); the shipped LAGA-Net on
   whole 1080p frames with crops cut on the device against OpenCV crops;
4. ``mctrack run`` on ``samples/small`` with the bundled LAGA-Net on the device: frames/s and the time per stage,
   cameras one after another and as three threads sharing one batching embedder (``--workers 3 --worker-threads``),
   also with the network compiled (``--compile reduce-overhead``);
5. training throughput of each Market-1501 paper recipe's network (``benchmarks/train_throughput.py``);
6. the training data path (``benchmarks/data_pipeline.py``, a generated Market-style folder): augmented images/s
   of the DataLoader path against the decoded path that augments batches on the device (recipe key
   ``data_pipeline``), to compare with step 5's training images/s.

Size of what travels: a device machine receives the checkout's working tree, at most 64 MiB, and the bundled
checkpoints alone are more (about 23 MB each). This check needs only ``mctrack/weights/laga_market1501.pt``: move the
others out of the checkout for the call and back afterwards, e.g. ``mkdir -p /tmp/w && mv
mctrack/weights/{laga_samples,global_market1501,can_market1501}.pt /tmp/w/`` (then ``mv /tmp/w/*.pt
mctrack/weights/``), and keep run folders and datasets out of it (``runs/`` is ignored, so it does not travel).

Writes ``DIR/device_check.json`` (every number) and ``DIR/device_check.md`` (the tables for the note and README),
and the raw outputs of each step under ``DIR/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _step(name: str, cmd: list[str], out: Path, timeout: float, env: dict | None = None) -> dict:
    t0 = time.perf_counter()
    log = out / f"{name}.log"
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
        log.write_text(r.stdout + r.stderr)
        status = "ok" if r.returncode == 0 else f"exit {r.returncode}"
    except subprocess.TimeoutExpired as exc:
        log.write_text(
            (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else str(exc.stdout or "")
        )
        status = f"timed out after {timeout:.0f} s"
    secs = time.perf_counter() - t0
    print(f"[{name}] {status} in {secs:.0f} s", flush=True)
    return {"status": status, "seconds": round(secs, 1), "log": log.name}


def _yolo_bench(device: str, frames: int, batches: tuple[int, ...] = (1, 4, 8)) -> dict:
    """Frames/s of the YOLO detector (untrained yolo11n; speed does not depend on the weights), frame by frame and
    in batches of several cameras' frames (``detect_batch``, what ``--worker-threads`` uses)."""
    import tempfile

    import numpy as np
    from ultralytics import YOLO

    from mctrack.detect import YoloDetector
    from mctrack.types import Frame

    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            import torch

            torch.cuda.synchronize()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "yolo11n_untrained.pt"
        YOLO("yolo11n.yaml").save(str(path))
        det = YoloDetector(path, device=device, half=cuda, conf=0.1)
        img = np.random.default_rng(0).integers(0, 255, (640, 640, 3), np.uint8)
        per_batch = {}
        for b in batches:
            group = [Frame(f"c{j}", 0, 0.0, img) for j in range(b)]
            for _ in range(3):
                det.detect_batch(group)
            sync()
            rounds = max(1, frames // b)
            t0 = time.perf_counter()
            for _ in range(rounds):
                det.detect_batch(group)
            sync()
            per_batch[b] = round(rounds * b / (time.perf_counter() - t0), 1)
    return {
        "device": device,
        "half": cuda,
        "frames": frames,
        "frames_per_s": per_batch[batches[0]],
        "batches": per_batch,
    }


def _crop_bench(device: str, frames: int) -> dict:
    """Crops/s of the shipped LAGA-Net on whole frames (1920x1080, 20 people each, 4 cameras per call, as the
    threads' batching embedder calls it): crops cut and resized on the device (roi_align) against OpenCV on the
    CPU with one upload per crop batch."""
    import numpy as np

    from mctrack.embed import ReidEmbedder

    cuda = device.startswith("cuda")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1080, 1920, 3), np.uint8)
    x = rng.uniform(0, 1800, 20)
    y = rng.uniform(0, 700, 20)
    boxes = np.stack([x, y, x + rng.uniform(40, 110, 20), y + rng.uniform(120, 330, 20)], 1).astype(np.float32)
    items = [(image, boxes)] * 4
    out = {"device": device, "boxes_per_call": 80}
    for on_device in (False, True):
        emb = ReidEmbedder(
            "laga",
            weights=str(ROOT / "mctrack" / "weights" / "laga_market1501.pt"),
            device=device,
            precision="fp16" if cuda else "fp32",
            batch_size=128,
            crop_on_device=on_device,
        )
        for _ in range(2):
            emb.embed_boxes(items)
        t0 = time.perf_counter()
        for _ in range(frames):
            emb.embed_boxes(items)  # ends with the features on the CPU: synchronised
        out["on_device" if on_device else "opencv"] = round(frames * 80 / (time.perf_counter() - t0), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the report and the raw outputs")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu for a dry run")
    ap.add_argument("--quick", action="store_true", help="small sizes everywhere (a dry run on a CPU)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    env = dict(
        os.environ,
        YOLO_OFFLINE="1",
        YOLO_AUTOINSTALL="0",
        YOLO_CONFIG_DIR=str(out / ".yolo_config"),
        TORCH_HOME=str(out / ".torch"),
    )
    os.environ.update({k: env[k] for k in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR")})
    q = args.quick
    report: dict = {"device": args.device, "quick": q, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        import torch

        report["torch"] = torch.__version__
        report["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception as exc:  # noqa: BLE001
        report["torch"] = f"unavailable: {exc}"
    steps = report["steps"] = {}
    steps["cuda_tests"] = _step(
        "cuda_tests", [py, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider"], out, 240, env
    )
    batches = ["1", "4"] if q else ["1", "32", "128", "512"]
    networks = ["laga"] if q else ["laga", "can", "global"]
    embed = {}

    def bench(name: str, key: str, precision: str, extra: list[str], timeout: float, sizes=None) -> None:
        cmd = [py, "benchmarks/embed_bench.py", "--device", args.device, "--precision", precision, "--batches"]
        cmd += [*(sizes or batches), *extra, "--rounds", "1" if q else "5", "--json", str(out / f"{name}.json")]
        steps[name] = _step(name, cmd, out, 300 if q else timeout, env)
        if (out / f"{name}.json").is_file():
            embed[key] = json.loads((out / f"{name}.json").read_text())["results"]

    size = ["192", "64"] if q else ["384", "128"]
    for prec in ["fp32"] if q else ["fp32", "bf16", "fp16"]:
        if not (prec == "fp16" and args.device == "cpu"):
            bench(f"embed_r50_{prec}", prec, prec, ["--embedders", *networks, "--input-size", *size], 150)
    shipped = ["--embedders", "laga", "--backbone", "resnet18", "--input-size", "128", "64"]
    bench("embed_shipped_r18", "shipped_r18_128x64", "fp32" if args.device == "cpu" else "fp16", shipped, 90)
    # torch.compile (CUDA graphs on a GPU): LAGA-Net at the papers' size; 'overhead' < 1 is the gain over eager
    cuda = args.device.startswith("cuda")
    mode = "reduce-overhead" if cuda else "default"
    prec = "bf16" if cuda else "fp32"
    compiled = ["--embedders", "laga", "--input-size", *size, "--compile", mode]
    if q:
        compiled += ["--backbone", "resnet18"]
    bench(f"embed_r50_{prec}_compiled", f"{prec}, torch.compile {mode}", prec, compiled, 240, ["4"] if q else ["128"])
    report["embedders"] = embed
    for name, bench_fn, frames in (("yolo", _yolo_bench, 20 if q else 300), ("crops", _crop_bench, 3 if q else 50)):
        t0 = time.perf_counter()
        try:
            report[name] = bench_fn(args.device, frames)
            steps[name] = {"status": "ok", "seconds": round(time.perf_counter() - t0, 1)}
        except Exception as exc:  # noqa: BLE001 - recorded, the check goes on
            steps[name] = {"status": f"failed: {type(exc).__name__}: {str(exc)[:200]}"}
    # one camera after another, then the three cameras as threads sharing one batching embedder (the GPU fast path)
    compiled_run = ["--compile", mode] + ([] if q else ["--duration", "10"])  # compiling is most of a short run
    for key, extra in (
        ("run_small", ["--workers", "1"]),
        ("run_small_threads", ["--workers", "3", "--worker-threads"]),
        # the batching embedder runs the network on whichever camera thread leads a round: CUDA graphs per thread?
        ("run_small_threads_compiled", ["--workers", "3", "--worker-threads", *compiled_run]),
    ):
        run_out = out / key
        steps[key] = _step(
            key,
            [
                py,
                "-m",
                "mctrack.cli",
                "run",
                "--cams",
                "samples/small/cams.yaml",
                "--detector",
                "mot",
                "--reid",
                "laga",
                "--device",
                args.device,
                "--no-video",
                "--no-cache",
                "--no-progress",
                "--out",
                str(run_out),
                *extra,
            ]
            + (["--duration", "2"] if q else []),
            out,
            240,
            env,
        )
        if (run_out / "summary.json").is_file():
            s = json.loads((run_out / "summary.json").read_text())
            report[key] = {
                "frames_per_second": s["frames_per_second"],
                "timings_s": s["timings_s"],
                "per_camera_fps": {c: v["frames_per_second"] for c, v in s["cameras"].items()},
                "batched_embedding": s.get("batched_embedding"),
                "evaluation": s.get("evaluation"),
            }
    name = "train_throughput"
    steps[name] = _step(
        name,
        [
            py,
            "benchmarks/train_throughput.py",
            "--device",
            args.device,
            "--archs",
            "laga",
            "can",
            "global",
            "--backbones",
            "resnet18" if q else "resnet50",
            "--sizes",
            "128x64" if q else "384x128",
            "--precisions",
            *(["fp32"] if q else ["bf16", "fp16"]),
            "--steps",
            "2" if q else "10",
            "--batch",
            "16" if q else "64",
            "--json",
            str(out / f"{name}.json"),
        ],
        out,
        200,
        env,
    )
    if (out / f"{name}.json").is_file():
        report["training"] = json.loads((out / f"{name}.json").read_text())
    name = "data_pipeline"
    sizes = ["128x64"] if q else ["384x128", "256x128"]
    workers = ["0"] if q else ["0", "8"]
    cmd = [py, "benchmarks/data_pipeline.py", "--device", args.device, "--sizes", *sizes, "--workers", *workers]
    steps[name] = _step(
        name, [*cmd, "--batches", "5" if q else "40", "--json", str(out / f"{name}.json")], out, 200, env
    )
    if (out / f"{name}.json").is_file():
        report["data_pipeline"] = json.loads((out / f"{name}.json").read_text())
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (out / "device_check.json").write_text(json.dumps(report, indent=1))
    (out / "device_check.md").write_text(markdown(report))
    print(markdown(report))
    return 0


def markdown(r: dict) -> str:
    lines = [
        f"Device check: {r.get('gpu') or r['device']} (torch {r.get('torch')}){' [quick]' if r['quick'] else ''}",
        "",
        "| step | status | s |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['status']} | {v.get('seconds', '')} |" for k, v in r["steps"].items()]
    for key, rows in r.get("embedders", {}).items():
        lines += [
            "",
            f"Embedders, {key}: crops/s (x bare ResNet-50 time at the same batch)",
            "",
            "| embedder | " + " | ".join(f"batch {b}" for b in sorted({x["batch"] for x in rows})) + " |",
            "|---|" + "---|" * len({x["batch"] for x in rows}),
        ]
        for name in dict.fromkeys(x["embedder"] for x in rows):
            cells = [f"{x['crops_per_s']:.0f} ({x['ratio']:.2f}x)" for x in rows if x["embedder"] == name]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "yolo" in r:
        y = r["yolo"]
        per = ", ".join(f"batch {b}: {v}" for b, v in y.get("batches", {}).items())
        lines += ["", f"YOLO11n 640x640 ({'fp16' if y['half'] else 'fp32'}), frames/s: {per or y['frames_per_s']}"]
    if "crops" in r:
        c = r["crops"]
        lines += [
            "",
            f"Shipped LAGA-Net on 4 frames x 20 boxes per call: {c['opencv']} crops/s with OpenCV crops, "
            f"{c['on_device']} with crops cut on the device",
        ]
    for key, how in (
        ("run_small", "cameras one after another"),
        ("run_small_threads", "3 camera threads"),
        ("run_small_threads_compiled", "3 camera threads, network torch.compiled (first 10 s of each camera)"),
    ):
        if key in r:
            s = r[key]
            lines += [
                "",
                f"`mctrack run` samples/small, LAGA-Net on {r['device']}, {how}: {s['frames_per_second']} frames/s "
                f"over all cameras; stage seconds {s['timings_s']}"
                + (f"; batched embedding {s['batched_embedding']}" if s.get("batched_embedding") else ""),
            ]
    if r.get("training"):
        lines += ["", "| training | size | precision | img/s | s per Market epoch |", "|---|---|---|---|---|"]
        lines += [
            f"| {x['arch']} {x['backbone']} | {x['size']} | {x['precision']} | {x['images_per_s']} | "
            f"{x['epoch_s_market']} |"
            for x in r["training"]
        ]
    if r.get("data_pipeline"):
        lines += ["", "| data path | size | workers | augmented img/s | decode once, s |", "|---|---|---|---|---|"]
        lines += [
            f"| {x['pipeline']} | {x['size']} | {x['workers']} | {x['img_per_s']} | {x.get('decode_s', '')} |"
            for x in r["data_pipeline"]
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
