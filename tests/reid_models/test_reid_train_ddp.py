"""Distributed training: ``mctrack reid train --nproc 2`` (torchrun, gloo on CPU), resume, rank shards."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from mctrack.cli import main
from reid_models.data import PKBatchSampler
from reid_models.data.synthetic import write_synthetic_market

RECIPE = {
    "arch": "global",
    "backbone": "resnet18",
    "pretrained": None,
    "input_size": [64, 32],
    "dataset": "market1501",
    "p": 4,
    "k": 2,
    "epochs": 2,  # the resume below trains the second: three launches of two processes, ~30 s
    "lr": 1.0e-3,
    "warmup_epochs": 0,
    "pad": 0,
    "flip": False,
    "color_jitter": 0.0,
    "random_erasing": 0.0,
    "eval_batch_size": 16,
    "device": "cpu",
    "flip_eval": False,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_market(
        tmp_path_factory.mktemp("ddp"), train_ids=8, test_ids=2, cameras=2, per_camera=3, junk=1
    )


def _hash(path: Path) -> str:
    state = torch.load(path, weights_only=True)["model"]
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode() + state[key].numpy().tobytes())
    return digest.hexdigest()


def test_two_gloo_processes_train_resume_and_agree(data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(RECIPE))
    whole = tmp_path / "whole"
    base = ["reid", "train", "--config", str(config), "--data", str(data), "--nproc", "2", "--quiet"]
    assert main([*base, "--run-dir", str(whole)]) == 0
    history = json.loads((whole / "metrics.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert history[-1]["loss_total"] < 0.92 * history[0]["loss_total"]  # it learns (measured 2.28 -> 2.00)
    manifest = json.loads((whole / "manifest.json").read_text())
    assert manifest["world_size"] == 2 and (whole / "model.pt").is_file() and (whole / "eval.json").is_file()
    # the engine compares the ranks' weights after every epoch and raises if they differ: a clean exit means
    # both ranks held identical weights throughout; rank 0's checkpoint is then the model of both
    # interrupted after one epoch (two processes), then resumed by the CLI: bit-identical to the whole run
    part = tmp_path / "part"
    script = tmp_path / "part.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from reid_models.recipe import Recipe
            from reid_models.train import train
            import yaml
            recipe = Recipe(**yaml.safe_load(open({str(config)!r})))
            train(recipe, data={str(data)!r}, run_dir={str(part)!r}, stop_after=1, progress=False)
            """
        )
    )
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert not (part / "model.pt").exists() and (part / "last.pt").is_file()
    assert torch.load(part / "last.pt", weights_only=True)["epoch"] == 1
    assert main([*base, "--run-dir", str(part), "--resume"]) == 0
    assert _hash(part / "last.pt") == _hash(whole / "last.pt")
    resumed = json.loads((part / "manifest.json").read_text())["resumed"]
    assert resumed[0]["at_epoch"] == 1 and resumed[0]["world_size"] == 2


def test_nproc_checks(data: Path, tmp_path: Path, capsys) -> None:
    config = tmp_path / "odd.yaml"
    config.write_text(yaml.safe_dump({**RECIPE, "p": 3}))
    argv = ["reid", "train", "--config", str(config), "--data", str(data), "--run-dir", str(tmp_path / "r")]
    assert main([*argv, "--nproc", "2"]) == 1
    assert "p = 3 identities do not split evenly" in capsys.readouterr().err
    assert main([*argv, "--nproc", "0"]) == 1
    assert "--nproc: must be >= 1" in capsys.readouterr().err


def test_sampler_shards_are_distinct_identities_of_the_global_batch() -> None:
    labels = [i // 4 for i in range(40)]  # 10 identities x 4 images
    whole = PKBatchSampler(labels, 4, 2, seed=3)
    shards = [PKBatchSampler(labels, 4, 2, seed=3, rank=r, world_size=2) for r in range(2)]
    for s in (whole, *shards):
        s.set_epoch(5)
    batches = list(whole)
    parts = [list(s) for s in shards]
    assert len(parts[0]) == len(parts[1]) == len(batches)
    for b, p0, p1 in zip(batches, parts[0], parts[1], strict=True):
        assert p0 + p1 == b  # the two shards are the single-process batch, split
        ids0, ids1 = {labels[i] for i, _ in p0}, {labels[i] for i, _ in p1}
        assert len(ids0) == len(ids1) == 2 and not ids0 & ids1
    with pytest.raises(ValueError, match="do not split evenly"):
        PKBatchSampler(labels, 3, 2, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        PKBatchSampler(labels, 4, 2, rank=2, world_size=2)


def test_nproc_refuses_what_would_fail_in_every_process(data: Path, tmp_path: Path, capsys) -> None:
    config = tmp_path / "r.yaml"
    config.write_text(yaml.safe_dump({**RECIPE, "p": 2}))
    argv = ["reid", "train", "--config", str(config), "--nproc", "2"]
    assert main([*argv, "--data", str(data), "--run-dir", str(tmp_path / "r")]) == 1
    assert "leaves 1 identity per process" in capsys.readouterr().err
    config.write_text(yaml.safe_dump(RECIPE))
    assert main([*argv, "--data", str(data), "--resume"]) == 1
    assert "--resume: needs --run-dir" in capsys.readouterr().err
    assert main([*argv, "--data", str(tmp_path / "missing"), "--run-dir", str(tmp_path / "r")]) == 1
    assert "dataset folder not found" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")  # helper-67: a file was "dataset folder not found" too
    assert main([*argv, "--data", str(tmp_path / "afile"), "--run-dir", str(tmp_path / "r")]) == 1
    assert f"{tmp_path / 'afile'}: a file, not a dataset folder" in capsys.readouterr().err


def test_nproc_workers_leave_the_interrupted_line_to_the_launcher(data: Path, tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C reached the launcher and every worker: each used to print "mctrack reid: interrupted". torchrun now
    runs in a session of its own and the launcher passes the signal on (helper-67: a SIGINT sent to the launcher
    alone was not, and the workers trained to the end of a run then said to be interrupted)."""
    config = tmp_path / "r.yaml"
    config.write_text(yaml.safe_dump(RECIPE))
    seen = {}

    class Torchrun:  # Ctrl-C comes while the launcher waits; the launcher passes it on to torchrun
        def __init__(self, cmd, env, start_new_session=False):
            seen.update(cmd=cmd, env=env, session=start_new_session, sent=[])

        def wait(self):
            os.kill(os.getpid(), signal.SIGINT)
            return 1

        def poll(self):
            return None

        def send_signal(self, signum):
            seen["sent"].append(signum)

    monkeypatch.setattr(subprocess, "Popen", Torchrun)
    argv = ["reid", "train", "--config", str(config), "--data", str(data), "--run-dir", str(tmp_path / "r")]
    assert main([*argv, "--nproc", "2"]) == 130
    assert seen["session"] and seen["sent"] == [signal.SIGINT]  # the terminal's Ctrl-C reaches the launcher only
    assert seen["env"]["MCTRACK_QUIET_INTERRUPT"] == "1" and "mctrack.commands._torchrun" in seen["cmd"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_sigterm_to_the_launcher_alone_reaches_torchrun(data: Path, tmp_path: Path, monkeypatch, signum) -> None:
    """kill / docker stop signal the launcher only; subprocess.run used to SIGKILL torchrun at once, so its
    workers went on training as orphans. helper-70: a SIGHUP (the terminal closed) killed the launcher and left
    torchrun, in its own session, training on as an orphan."""
    config = tmp_path / "r.yaml"
    config.write_text(yaml.safe_dump(RECIPE))
    events = []

    class Torchrun:
        def __init__(self, cmd, env, start_new_session=False):
            pass

        def wait(self):
            os.kill(os.getpid(), signum)
            events.append("waited")  # the launcher waits for torchrun to end after passing the signal on
            return -signum

        def poll(self):
            return None

        def send_signal(self, sent):
            events.append(sent)

        def kill(self):
            events.append("kill")

    monkeypatch.setattr(subprocess, "Popen", Torchrun)
    argv = ["reid", "train", "--config", str(config), "--data", str(data), "--run-dir", str(tmp_path / "r")]
    caught = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    before = {s: signal.getsignal(s) for s in caught}
    assert main([*argv, "--nproc", "2"]) == 128 + signum
    assert events == [signum, "waited"]  # passed on, then waited for
    # the handlers in place before are back (not necessarily the defaults: ray.init, run earlier in the same
    # test process, leaves its own SIGTERM handler)
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_torchrun_stopped_by_a_signal_ends_without_a_traceback(monkeypatch) -> None:
    """reid train --nproc runs torchrun through mctrack.commands._torchrun: torchrun's agent raises SignalException
    on Ctrl-C / SIGTERM, which printed a traceback after the workers had said where to resume."""
    import torch.distributed.run
    from torch.distributed.elastic.multiprocessing.api import SignalException

    from mctrack.commands import _torchrun

    seen = []

    def stopped(argv):
        seen.append(argv)
        raise SignalException("got signal", sigval=signal.SIGINT)

    monkeypatch.setattr(torch.distributed.run, "main", stopped)
    assert _torchrun.main(["--standalone", "x.py"]) == 128 + signal.SIGINT
    assert seen == [["--standalone", "x.py"]]
    monkeypatch.setattr(
        torch.distributed.run, "main", lambda argv: (_ for _ in ()).throw(SignalException("t", signal.SIGTERM))
    )
    assert _torchrun.main([]) == 128 + signal.SIGTERM
    monkeypatch.setattr(torch.distributed.run, "main", lambda argv: None)
    assert _torchrun.main([]) == 0

    def crashed(argv):  # a worker's failure is torchrun's to report, as before
        raise RuntimeError("worker 1 failed")

    monkeypatch.setattr(torch.distributed.run, "main", crashed)
    with pytest.raises(RuntimeError, match="worker 1 failed"):
        _torchrun.main([])


def test_torchrun_stops_when_its_launcher_is_gone() -> None:
    """helper-70: with a session of its own, torchrun outlived a SIGKILLed launcher and trained on; on Linux it now
    asks for a SIGTERM when its parent dies, and stops at once when the launcher died before it asked."""
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    code = "from mctrack.commands._torchrun import _stop_with_the_launcher as s; s(); import time; time.sleep(20)"
    gone = subprocess.run([sys.executable, "-c", code], env={**os.environ, "MCTRACK_LAUNCHER_PID": "1"}, timeout=60)
    assert gone.returncode == -signal.SIGTERM
    wrapper = (
        f"import os, subprocess, sys; os.environ['MCTRACK_LAUNCHER_PID'] = str(os.getpid()); "
        f"subprocess.run([sys.executable, '-c', {code.replace('20', '0.1')!r}], check=True)"
    )
    assert subprocess.run([sys.executable, "-c", wrapper], timeout=60).returncode == 0  # its launcher is there
