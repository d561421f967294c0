from __future__ import annotations

import json

import torch

from reid_models.checkpoint import load_checkpoint
from reid_models.data.synthetic import write_synthetic_market
from reid_models.recipe import Recipe
from reid_models.train import train
from tests.conftest import load_benchmark

TINY = {
    "arch": "laga",
    "backbone": "resnet18",
    "pretrained": None,
    "input_size": [64, 32],
    "p": 2,
    "k": 2,
    "epochs": 1,
    "eval_batch_size": 16,
    "device": "cpu",
    "flip_eval": False,
    "amp": True,
    "amp_dtype": "bfloat16",
    "model_kwargs": {"branches": ["global", "local"]},
}


def _ship():
    return load_benchmark("ship_market_checkpoint")


def test_ship_a_finished_run_as_a_bundled_checkpoint(tmp_path, capsys):
    data = write_synthetic_market(
        tmp_path / "market", train_ids=3, test_ids=3, cameras=2, per_camera=2, junk=1, distractors=2
    )
    run = train(Recipe(**TINY), data=data, run_dir=tmp_path / "run", progress=False)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["amp"] == "bfloat16"  # bf16 autocast really used on the CPU
    ship = _ship()
    assert (
        ship.main(
            [
                "--run-dir",
                str(run),
                "--data",
                str(data),
                "--name",
                "laga_test",
                "--out-dir",
                str(tmp_path / "weights"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    out = tmp_path / "weights" / "laga_test.pt"
    model, shipped = load_checkpoint(out)
    assert shipped["num_classes"] == 0 and not any(k.startswith("heads.") for k in model.state_dict())
    stored = torch.load(out, weights_only=True)["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    extra = shipped["extra"]
    assert len(extra["feature_mean"]) == model.feature_dim and extra["trained_num_classes"] == 3
    assert "research use only" in extra["training_data"]
    for key in ("plain", "rerank"):
        assert 0 <= extra["market1501"][key]["rank1"] <= 100 and extra["market1501"][key]["queries"] == 6
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["dataset_fingerprint"] == extra["dataset_fingerprint"] and info["epochs"] == 1
    assert "Market-1501" in info["summary"] and f"rank-1 {info['market1501']['plain']['rank1']}" in info["summary"]
    assert ship.main(["--run-dir", str(tmp_path / "nope"), "--data", str(data), "--name", "x"]) == 1
    assert "not found" in capsys.readouterr().err
