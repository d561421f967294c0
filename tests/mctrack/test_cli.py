from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mctrack.cli import COMMANDS, main


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "track", "eval", "reid", "samples", "info"):
        assert name in COMMANDS and f"    {name}" in out


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["track", "--source", "x", "--bogus"], "mctrack track"),
        (["reid", "train", "--config", "x.yaml", "--bogus", "1"], "mctrack reid train"),
        (["samples", "make", "--preset", "tiny", "--out", "x", "--bogus"], "mctrack samples make"),
    ],
)
def test_an_unknown_option_is_named_by_its_command(capsys, argv, command):
    """argparse's top parser reported a sub-command's unknown option as 'mctrack: error: ...' with its usage."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"{command}: error: unrecognized arguments: --bogus" in err
    assert err.startswith(f"usage: {command} ")


def test_reid_embed_writes_unit_features(tmp_path):
    rng = np.random.default_rng(0)
    imgs = tmp_path / "crops"
    imgs.mkdir()
    for i in range(5):
        cv2.imwrite(str(imgs / f"000{i}_c1s1_000001_00.jpg"), rng.integers(0, 255, (64 + i, 32, 3), dtype=np.uint8))
    out = tmp_path / "feats.npz"
    assert main(["reid", "embed", "--reid", "colorhist", "--images", str(imgs), "--out", str(out)]) == 0
    data = np.load(out)
    assert data["features"].shape[0] == 5
    np.testing.assert_allclose(np.linalg.norm(data["features"], axis=1), 1.0, atol=1e-5)
    assert sorted(data["names"].tolist()) == [f"000{i}_c1s1_000001_00.jpg" for i in range(5)]


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "folder not found"),
        ("empty", "no images"),
        ("corrupt", "not a readable image"),
    ],
)
def test_reid_embed_bad_input_is_one_line_exit_1(tmp_path, capsys, setup, message):
    imgs = tmp_path / "crops"
    if setup != "missing":
        imgs.mkdir()
    if setup == "corrupt":
        (imgs / "bad.jpg").write_bytes(b"not a jpeg")
    rc = main(["reid", "embed", "--reid", "colorhist", "--images", str(imgs), "--out", str(tmp_path / "f.npz")])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]  # skip progress bars
    assert rc == 1 and len(errors) == 1 and message in errors[0] and str(imgs) in errors[0]


def test_unknown_embedder_lists_valid_names(tmp_path, capsys):
    (tmp_path / "a.jpg").write_bytes(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    rc = main(["reid", "embed", "--reid", "nope", "--images", str(tmp_path), "--out", str(tmp_path / "f.npz")])
    err = capsys.readouterr().err
    assert rc == 1 and "unknown embedder 'nope'; valid names:" in err and "laga" in err


def test_a_misspelt_reid_lists_every_valid_name_none_included(tmp_path, capsys):
    rc = main(["track", "--source", str(tmp_path), "--detector", "mot", "--reid", "lagaa", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "unknown embedder 'lagaa'; valid names: " in err and err.rstrip().endswith(", none")


def test_console_entry_point_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "mctrack.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("mctrack ")


_BAR_INTERVAL = """
import io, sys
from mctrack import cli
try:
    cli.main(["--version"])
except SystemExit:
    pass
from tqdm import tqdm
print(tqdm(total=1, file=io.StringIO()).mininterval)
"""


@pytest.mark.parametrize(("env", "expected"), [({}, "30.0"), ({"TQDM_MININTERVAL": "2"}, "2.0")])
def test_progress_bars_in_a_log_file_update_every_30_s_unless_the_user_says(env, expected):
    """stderr is a pipe here, as in `mctrack run ... 2> log`: ten updates a second filled logs with bar lines."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    proc = subprocess.run(
        [sys.executable, "-c", _BAR_INTERVAL], capture_output=True, text=True, env={**environ, **env}, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == expected


_BARS_TO_A_LOG = """
import logging
from tqdm import tqdm
from mctrack import cli

def command(args):
    log = logging.getLogger("mctrack.test")
    a = tqdm(total=3, desc="cam1", position=0, mininterval=0, leave=True)
    b = tqdm(total=3, desc="cam2", position=1, mininterval=0, leave=True)
    for i in range(3):
        a.update()
        if i == 1:
            log.warning("camera cam2: a log line between updates")
        b.update()
    a.close()
    b.close()
    return 0

cli._command = command
raise SystemExit(cli.main(["info"]))
"""


def test_progress_bars_in_a_log_file_are_one_line_per_update():
    """helper-57: a live run's log (stderr to a file or journald) held the bars' carriage returns and cursor-up codes:
    one endless line of overdrawn bars. Now each update is a line of its own, log lines stay whole."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    proc = subprocess.run([sys.executable, "-c", _BARS_TO_A_LOG], capture_output=True, text=True, env=environ)
    assert proc.returncode == 0, proc.stderr[-500:]
    err = proc.stderr
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert "WARNING: camera cam2: a log line between updates" in lines
    for cam in ("cam1", "cam2"):
        shown = [line for line in lines if line.startswith(f"{cam}:")]
        assert [re.search(r"(\d)/3", line).group(1) for line in shown] == ["0", "1", "2", "3"], shown
    assert all(line.strip() for line in lines)  # no empty lines left by the bars' clearing and moving


def test_reid_center_stores_the_mean_and_the_embedder_uses_it(tmp_path, capsys, caplog):
    import logging

    import torch

    import reid_models
    from mctrack.embed import ReidEmbedder

    torch.manual_seed(0)
    model = reid_models.build_model("global", num_classes=0, backbone="resnet18", pretrained=None, input_size=(64, 32))
    ckpt = tmp_path / "g.pt"
    reid_models.save_checkpoint(ckpt, model, extra={"note": "kept"}, half=True)
    rng = np.random.default_rng(1)
    imgs = tmp_path / "train"
    imgs.mkdir()
    crops = [rng.integers(0, 255, (64, 32, 3), dtype=np.uint8) for _ in range(6)]
    for i, c in enumerate(crops):
        cv2.imwrite(str(imgs / f"{i:04d}_c1s1_000001_00.png"), c)
    with caplog.at_level(logging.WARNING):
        before = ReidEmbedder("global", weights=ckpt, device="cpu")
    assert before.feature_mean is None and any("no feature mean" in m for m in caplog.messages)
    out = tmp_path / "centred.pt"
    assert main(["reid", "center", "--weights", str(ckpt), "--images", str(imgs), "--out", str(out)]) == 0
    assert "6 crops" in capsys.readouterr().out
    _, manifest = reid_models.load_checkpoint(out)
    assert manifest["extra"]["note"] == "kept" and len(manifest["extra"]["feature_mean"]) == model.feature_dim
    after = ReidEmbedder("global", weights=out, device="cpu")
    raw = before.embed_crops(crops)
    got = after.embed_crops(crops)
    # the stored mean is the mean unit feature of these crops (up to resize details), so centred features
    # of the same crops average to about zero while raw ones do not
    assert np.linalg.norm(got.mean(axis=0)) < 0.2 < np.linalg.norm(raw.mean(axis=0))
    state = torch.load(out, weights_only=True)["state_dict"]
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}  # stays half precision
    assert main(["reid", "center", "--weights", str(tmp_path / "nope.pt"), "--images", str(imgs)]) == 1
    assert "nope.pt: checkpoint not found" in capsys.readouterr().err


def test_reid_embed_without_weights_uses_the_bundled_default(tmp_path, capsys, caplog):
    """Without --weights a network uses its bundled checkpoint (not an untrained network); --weights takes bundled
    names; 'none' asks for the untrained network explicitly; an unknown name is one line, exit 1."""
    from mctrack.weights import bundled, default_weights

    default = default_weights("laga")
    if default is None:
        pytest.skip("no bundled LAGA-Net checkpoint in this checkout")
    imgs = tmp_path / "crops"
    imgs.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        cv2.imwrite(str(imgs / f"{i}.jpg"), rng.integers(0, 255, (96, 40, 3), dtype=np.uint8))
    assert main(["reid", "embed", "--reid", "laga", "--images", str(imgs), "--out", str(tmp_path / "a.npz")]) == 0
    assert f"using the bundled checkpoint {default.stem}" in capsys.readouterr().err
    by_default = np.load(tmp_path / "a.npz")["features"]
    named = tmp_path / "b.npz"
    assert (
        main(["reid", "embed", "--reid", "laga", "--weights", default.stem, "--images", str(imgs), "--out", str(named)])
        == 0
    )
    np.testing.assert_array_equal(np.load(named)["features"], by_default)
    import json

    made_by = json.loads(str(np.load(named)["settings"]))  # what made them (helper-101: only the embedder's name)
    assert made_by["reid"] == "laga" and made_by["weights"] == str(default.resolve()) and made_by["flip"] is False
    assert len(made_by["weights_sha1"]) == 40 and made_by["precision"] in ("fp32", "bf16")
    assert "laga_samples" in bundled()
    assert (
        main(
            [
                "reid",
                "embed",
                "--reid",
                "laga",
                "--weights",
                "none",
                "--backbone",
                "resnet18",
                "--pretrained",
                "none",
                "--images",
                str(imgs),
                "--out",
                str(tmp_path / "c.npz"),
            ]
        )
        == 0
    )
    assert "untrained" in caplog.text
    assert np.load(tmp_path / "c.npz")["features"].shape[0] == 3
    capsys.readouterr()
    # --backbone/--pretrained ask for an untrained network of that shape: not silently the bundled checkpoint
    assert (
        main(
            [
                "reid",
                "embed",
                "--reid",
                "laga",
                "--backbone",
                "resnet18",
                "--pretrained",
                "none",
                "--images",
                str(imgs),
                "--out",
                str(tmp_path / "e.npz"),
            ]
        )
        == 0
    )
    assert "bundled" not in capsys.readouterr().err
    assert not np.allclose(np.load(tmp_path / "e.npz")["features"], by_default, atol=1e-3)
    assert (
        main(
            [
                "reid",
                "embed",
                "--reid",
                "colorhist",
                "--weights",
                "none",
                "--images",
                str(imgs),
                "--out",
                str(tmp_path / "f.npz"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "reid",
                "embed",
                "--reid",
                "laga",
                "--weights",
                "laga_nope",
                "--images",
                str(imgs),
                "--out",
                str(tmp_path / "d.npz"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "laga_nope" in err[0] and "laga_samples" in err[0]


def test_info_check_builds_the_embedders_the_cli_uses(capsys):
    """--check reports, per network, the bundled checkpoint --reid uses and its feature size, not an untrained
    ResNet-50 (12288-D for LAGA-Net) whose ImageNet weights it would try to download."""
    import reid_models
    from mctrack.weights import default_weights

    default = default_weights("laga")
    if default is None:
        pytest.skip("no bundled LAGA-Net checkpoint in this checkout")
    assert main(["info", "--check", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    import numba

    # the versions a bug report needs, numba's beside numpy's (it refuses numpy releases newer than it supports)
    assert f"numpy {np.__version__}  numba {numba.__version__}" in captured.out.splitlines()[0]
    dim = reid_models.load_checkpoint(default, map_location="cpu")[1]["feature_dim"]
    checks = captured.out.split("embedder check")[1].splitlines()
    laga = next(line for line in checks if line.startswith("  laga "))
    assert laga.split()[:4] == ["laga", default.stem, "dim", str(dim)] and laga.endswith("unit-norm ok")
    assert "download" not in (captured.out + captured.err).lower()  # no embedder needed one
    # the detector's default weights are reported, not fetched (the tests run with YOLO_OFFLINE=1)
    yolo = captured.out.split("detector weights")[1].splitlines()[1]
    assert yolo.startswith("  yolo       yolo11n.pt: ") and "cannot be fetched here (offline)" in yolo
    assert main(["info", "--check", "--device", "cpu", "--backbone", "resnet18"]) == 0  # untrained, on request
    checks = capsys.readouterr().out.split("embedder check")[1].splitlines()
    laga = next(line for line in checks if line.startswith("  laga "))
    assert laga.split()[:3] == ["laga", "untrained", "resnet18"]


def test_info_check_checks_every_embedder_and_fails_on_a_missing_or_broken_one(capsys, monkeypatch):
    """helper-78: a missing bundled checkpoint was checked as an untrained network (fetching ImageNet weights) with
    exit 0, and the first broken embedder stopped the check of the others."""
    import mctrack.commands.info as info

    real_default, real_build = info.default_weights, info.build_embedder

    def broken_global(name, **kwargs):
        if name == "global":
            raise ValueError("global_market1501.pt: truncated")
        return real_build(name, **kwargs)

    monkeypatch.setattr(info, "default_weights", lambda name: None if name == "can" else real_default(name))
    monkeypatch.setattr(info, "build_embedder", broken_global)
    assert main(["info", "--check", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    checks = captured.out.split("embedder check")[1].splitlines()
    line = {row.split()[0]: row for row in checks if row.startswith("  ") and row.split()}
    assert "FAILED: no bundled checkpoint (can_market1501.pt, can_samples.pt in " in line["can"]
    assert "FAILED: global_market1501.pt: truncated" in line["global"]
    assert line["laga"].endswith("unit-norm ok") and line["colorhist"].endswith("unit-norm ok")  # still checked
    assert "the check failed for can, global" in captured.err


def test_info_help_says_check_uses_the_bundled_checkpoints(capsys):
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "bundled checkpoint" in text and "untrained networks with this backbone" in text


def test_run_docs_state_the_bundled_defaults():
    """docs/run.md names the real-trained checkpoints as the default and each one's own link threshold."""
    from pathlib import Path

    import reid_models
    from mctrack.weights import bundled

    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "run.md").read_text().split())
    assert (
        "`mctrack/weights/<arch>_market1501.pt`" in text
        and "bundled `mctrack/weights/<arch>_samples.pt` is used" not in text
    )
    for name, path in bundled().items():
        thresh = (reid_models.load_checkpoint(path, map_location="cpu")[1].get("extra") or {}).get("link_thresh")
        if thresh is not None:
            assert f"`{name}` {thresh:g}" in text, name


def test_a_signal_delivered_twice_at_once_interrupts_once(monkeypatch):
    """`timeout` passes its SIGINT on to a process group that already got it: the second copy used to cut short
    the hand-over of finished work that the first one started (or the evaluation after it)."""
    import signal

    from mctrack import cli

    clock = [100.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cli, "_LAST_INTERRUPT", [float("-inf")])
    with pytest.raises(KeyboardInterrupt):
        cli._interrupt_once_per_signal(signal.SIGINT, None)
    clock[0] += 0.01
    assert cli._interrupt_once_per_signal(signal.SIGINT, None) is None  # the same signal again: ignored
    clock[0] += 0.5
    assert cli._interrupt_once_per_signal(signal.SIGTERM, None) is None  # still within a second of the first
    clock[0] += 1.0
    with pytest.raises(KeyboardInterrupt):  # a Ctrl-C of its own
        cli._interrupt_once_per_signal(signal.SIGINT, None)
    # the command's handlers are in place while it runs and the previous ones after it
    seen = {}

    def command(args):
        seen["int"], seen["term"] = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        return 0

    monkeypatch.setattr(cli, "_command", command)
    assert main(["info"]) == 0
    assert seen == {"int": cli._interrupt_once_per_signal, "term": cli._interrupt_once_per_signal}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_sigterm_while_the_commands_are_imported_is_an_interrupt():
    """The handler was installed after the commands were imported (2-4 s): a SIGTERM then killed the process
    without a word (exit -15); raised during a native extension's import, it could abort it (exit -6)."""
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "mctrack.cli", "info"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # mctrack.cli imports in well under 0.1 s; the commands ~0.7 s, then torch ~1.3 s
    proc.terminate()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.strip() == "mctrack: interrupted", (proc.returncode, err, out)  # 128 + 15


@pytest.mark.parametrize(
    "when, code, said",
    [
        # as the command hands its result back (after its own interrupt handling): an interrupt, said as one line
        ("in_result", 130, "mctrack: interrupted"),
        # while its buffered output is flushed: ignored, the command's own code
        ("in_flush", 0, ""),
        # while Python shuts down (an atexit function that waits, as for a live stream's blocked reader): the
        # process ends at once, with the command's own code
        ("at_exit", 0, ""),
    ],
)
def test_an_interrupt_once_the_command_has_ended_is_no_traceback(when, code, said):
    """A Ctrl-C just after a command wrote its outputs ended the process with a KeyboardInterrupt traceback and
    killed by the signal (exit -2), from main's clean-up or after it had returned."""
    import subprocess
    import sys

    script = f"""
import atexit, os, signal, sys, time
from mctrack import cli
when = {when!r}
def command(args):
    if when == "at_exit":
        atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(60)))
    if when == "in_flush":
        class Flushing:
            def write(self, text):
                return len(text)
            def flush(self):
                os.kill(os.getpid(), signal.SIGINT)
        sys.stdout = Flushing()
    print("done", file=sys.stderr)
    if when == "in_result":
        os.kill(os.getpid(), signal.SIGINT)
    return 0
cli._command = command
sys.argv = ["mctrack", "eval", "--gt", "gt", "--pred", "pred"]  # a command that imports no torch: 1 s, not 5 s
cli.console()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=40)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert lines[0] == "done" and "\n".join(lines[1:]) == said, proc.stderr


def test_a_reader_that_leaves_does_not_cut_a_command_short(tmp_path, monkeypatch):
    """`mctrack eval ... --json m.json | head -1`: the pipe's BrokenPipeError ended eval with 'error: Broken pipe',
    exit 1, and sometimes before the JSON was written."""
    from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo

    seq = tmp_path / "gt" / "SYN-01"
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SYN-01", 10, 5, 640, 480))
    rows = np.array([[f, 1, 10, 10, 40, 100, 1, -1, -1, -1] for f in range(1, 6)], float)
    save_mot_txt(seq / "gt" / "gt.txt", rows)
    save_mot_txt(tmp_path / "pred" / "SYN-01.txt", rows)

    class ReaderGone:  # stdout whose reader has exited (head -1 after its line)
        def __init__(self) -> None:
            self.file = open(tmp_path / "fd", "w")  # noqa: SIM115 - its descriptor stands in for the pipe's

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return self.file.fileno()

    gone, gone_err = ReaderGone(), ReaderGone()
    monkeypatch.setattr(sys, "stdout", gone)
    monkeypatch.setattr(sys, "stderr", gone_err)  # `2>&1 | head -1`: warnings and progress bars hit it too
    (tmp_path / "pred" / "stray.txt").write_text("")  # a warning on stderr
    code = main(
        ["eval", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--json", str(tmp_path / "m.json")]
    )
    assert code == 0 and sys.stdout is gone and sys.stderr is gone_err  # restored after the command
    assert json.loads((tmp_path / "m.json").read_text())["COMBINED"]["IDF1"] == 1.0
    gone.file.close()
    gone_err.file.close()


def test_run_on_a_sequence_folder_finds_its_det_file_as_track_does(tmp_path, capsys):
    """helper-58: `run --detector mot` demanded a camera's `detections` even for a MOTChallenge sequence folder holding
    det/det.txt, which `track` finds by itself; the file found is the camera's (cache key, summary)."""
    import cv2

    from mctrack.io.mot import SeqInfo, save_mot_txt, write_seqinfo

    seq = tmp_path / "SYN-01"
    write_seqinfo(seq / "seqinfo.ini", SeqInfo("SYN-01", 10, 6, 64, 48))
    (seq / "img1").mkdir()
    for f in range(1, 7):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.zeros((48, 64, 3), np.uint8))
    rows = np.array([[f, -1, 10, 5, 12, 30, 0.95, -1, -1, -1] for f in range(1, 7)], float)
    save_mot_txt(seq / "det" / "det.txt", rows)
    (tmp_path / "cams.yaml").write_text(f"cameras:\n  - id: syn\n    source: {seq}\n    fps: 10\n")
    args = ["run", "--cams", str(tmp_path / "cams.yaml"), "--detector", "mot", "--reid", "none", "--no-video"]
    assert main([*args, "--no-gallery", "--no-progress", "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert Path(summary["camera_set"]["cameras"][0]["detections"]).samefile(seq / "det" / "det.txt")
    assert summary["cameras"]["syn"]["detections"] == 6
    (seq / "det" / "det.txt").unlink()  # none there: the error says what is missing
    assert main([*args, "--no-gallery", "--no-progress", "--out", str(tmp_path / "out2")]) == 1
    assert "--detector mot needs its 'detections' file" in capsys.readouterr().err


def test_run_warns_that_a_det_file_cannot_follow_a_live_stream(tmp_path, caplog):
    """helper-57: `--detector mot` was taken for live cameras without a word, its rows matched to whatever frame
    came n-th after drops and reconnects."""
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,10,20,40,0.9,-1,-1,-1\n")
    (tmp_path / "cams.yaml").write_text(
        f"cameras:\n  - id: door\n    source: rtsp://127.0.0.1:9/none\n    fps: 10\n    detections: {det}\n"
    )
    args = ["run", "--cams", str(tmp_path / "cams.yaml"), "--detector", "mot", "--reid", "none", "--no-video"]
    with caplog.at_level(logging.WARNING):
        main([*args, "--no-progress", "--duration", "1", "--out", str(tmp_path / "out")])  # the stream cannot open
    said = [m for m in caplog.messages if "live streams with --detector mot" in m]
    assert len(said) == 1 and said[0].startswith("camera(s) door:")


def test_a_live_run_s_log_lines_carry_the_time(tmp_path):
    """helper-57: a live run's log (read afterwards, under a service manager) said when nothing happened: no line had
    a time. With a live camera each line starts with the local date and time; recorded runs keep their short lines."""
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,10,20,40,0.9,-1,-1,-1\n")
    (tmp_path / "cams.yaml").write_text(
        f"cameras:\n  - id: door\n    source: rtsp://127.0.0.1:9/none\n    fps: 10\n    detections: {det}\n"
    )
    cmd = [sys.executable, "-m", "mctrack.cli", "run", "--cams", str(tmp_path / "cams.yaml"), "--detector", "mot"]
    cmd += ["--reid", "none", "--no-video", "--no-progress", "--duration", "1", "--out", str(tmp_path / "out")]
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0"}
    err = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env).stderr
    logged = [line for line in err.splitlines() if "WARNING: " in line or "ERROR: " in line]
    assert logged and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (WARNING|ERROR): ", line) for line in logged), err


def test_an_unknown_option_before_the_command_is_named_as_mctrack_s(capsys):
    """'mctrack --bogus run' said 'mctrack run: error: the following arguments are required: --cams'."""
    with pytest.raises(SystemExit) as info:
        main(["--bogus", "run", "--cams", "x.yaml"])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().endswith("mctrack: error: unrecognized arguments: --bogus")
    with pytest.raises(SystemExit) as info:  # the known ones still pass
        main(["-v", "--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("mctrack ")


def test_a_dependency_that_does_not_import_is_one_line(monkeypatch, capsys):
    """numba refuses to import beside a numpy newer than it supports (pip install -U numpy allows that with a
    warning): every command ended in an ImportError traceback while its parser was built."""
    from mctrack import cli

    real = cli.importlib.import_module

    def import_module(name, *args):
        if name == "mctrack.commands.track":
            raise ImportError("Numba needs NumPy 2.5 or less. Got NumPy 2.6.")
        return real(name, *args)

    monkeypatch.setattr(cli.importlib, "import_module", import_module)
    assert main(["info"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not import: Numba needs NumPy 2.5 or less. Got NumPy 2.6." in err, err
    with pytest.raises(ImportError, match="Numba needs"):  # -v: the traceback, to see where
        main(["-v", "info"])

    # torch, imported once the command line is parsed (not with the parsers), is said the same way
    def no_torch(name, *args):
        if name == "torch":
            raise ImportError("libtorch_cpu.so: cannot open shared object file")
        return real(name, *args)

    monkeypatch.setattr(cli.importlib, "import_module", no_torch)
    assert main(["track", "--source", "nowhere", "--detector", "mot"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not import: libtorch_cpu.so: cannot open" in err, err


def test_help_and_usage_errors_answer_without_importing_torch(tmp_path):
    """Every command's parser imported torch and torchvision (through reid_models' package and the network
    embedder): `mctrack --help` took 4.6 s on a 2-core machine, 0.8 s without them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mctrack.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'ultralytics') if m in sys.modules)\n"
        "print('IMPORTED', heavy)\n"
    )
    EVAL = ["eval", "--gt", str(tmp_path), "--pred", str(tmp_path)]  # and eval, which only scores files
    for argv in (["--help"], ["reid", "train", "--help"], ["track"], EVAL):  # every parser is built for each
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
        assert "IMPORTED []" in done.stdout, (argv, done.stdout[-300:], done.stderr[-300:])
