"""Training runs: run directory contents, bit-identical repeats, resume == uninterrupted, CLI end to end."""

from __future__ import annotations

import re

import hashlib
import json
from pathlib import Path

import pytest
import torch

from mctrack.cli import main
from reid_models.checkpoint import load_checkpoint
from reid_models.data.synthetic import write_synthetic_market
from reid_models.recipe import Recipe
from reid_models.train import evaluate_checkpoint, train

TINY = {
    "arch": "global",
    "backbone": "resnet18",
    "pretrained": None,
    "input_size": [64, 32],
    "p": 2,
    "k": 2,
    "epochs": 2,
    "lr": 3e-4,
    "backbone_lr_mult": 0.1,
    "warmup_epochs": 1,
    "warmup_start_lr": 1e-5,
    "color_jitter": 0.2,
    "eval_batch_size": 16,
    "device": "cpu",
    "flip_eval": False,
}

SMALL_CAN = {"arch": "can", "epochs": 2, "model_kwargs": {"parts": [2], "embedding_dim": 32}}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_market(
        tmp_path_factory.mktemp("tiny"), train_ids=3, test_ids=2, cameras=2, per_camera=2, junk=1
    )


def _weights_hash(run_dir: Path) -> str:
    state = torch.load(run_dir / "last.pt", weights_only=True)["model"]
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode() + state[key].numpy().tobytes())
    return digest.hexdigest()


def test_run_directory_and_bit_identical_repeat(tiny_data: Path, tmp_path: Path) -> None:
    recipe = Recipe(**TINY)
    first = train(recipe, data=tiny_data, run_dir=tmp_path / "a", progress=False)
    second = train(recipe, data=tiny_data, run_dir=tmp_path / "b", progress=False)
    assert _weights_hash(first) == _weights_hash(second)
    for name in (
        "config.yaml",
        "manifest.json",
        "metrics.json",
        "metrics.csv",
        "model.pt",
        "eval.json",
        "curves.png",
        "retrieval.png",
    ):
        assert (first / name).is_file(), name
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["seed"] == 0 and len(manifest["dataset"]["fingerprint"]) == 64
    assert manifest["versions"]["torch"] and manifest["device"] == "cpu"
    history = json.loads((first / "metrics.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert history[0]["lr"] == pytest.approx(1e-5) and history[1]["lr"] == pytest.approx(3e-4)
    assert history[1]["lr_backbone"] == pytest.approx(3e-5)
    assert 0.0 <= json.loads((first / "eval.json").read_text())["rank1"] <= 1.0
    model, _ = load_checkpoint(first / "model.pt")
    assert model.num_classes == 3
    other_seed = train(
        Recipe(**{**TINY, "seed": 1, "epochs": 1}), data=tiny_data, run_dir=tmp_path / "c", progress=False
    )
    assert _weights_hash(other_seed) != _weights_hash(first)


def test_resume_equals_uninterrupted(tiny_data: Path, tmp_path: Path) -> None:
    recipe = Recipe(**{**TINY, **SMALL_CAN})  # can: centres + their optimiser
    whole = train(recipe, data=tiny_data, run_dir=tmp_path / "whole", progress=False)
    part = train(recipe, data=tiny_data, run_dir=tmp_path / "part", stop_after=1, progress=False)
    assert not (part / "model.pt").exists()
    assert json.loads((part / "metrics.json").read_text())[-1]["epoch"] == 1
    train(recipe, data=tiny_data, run_dir=tmp_path / "part", resume=True, progress=False)
    assert _weights_hash(part) == _weights_hash(whole)
    assert json.loads((part / "eval.json").read_text())["mAP"] == json.loads((whole / "eval.json").read_text())["mAP"]
    assert len(json.loads((part / "manifest.json").read_text())["resumed"]) == 1
    with pytest.raises(ValueError, match="epochs"):
        train(Recipe(**{**TINY, **SMALL_CAN, "epochs": 3}), data=tiny_data, run_dir=part, resume=True)


def test_cli_train_then_eval(tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in {**TINY, "epochs": 1}.items()) + "\n")
    run_dir = tmp_path / "run"
    assert (
        main(
            [
                "reid",
                "train",
                "--config",
                str(recipe),
                "--data",
                str(tiny_data),
                "--run-dir",
                str(run_dir),
                "--set",
                "arch=laga",
                "--set",
                "model_kwargs={branches: [global, local]}",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rank-1" in out and str(run_dir) in out
    assert (
        main(
            [
                "reid",
                "eval",
                "--weights",
                str(run_dir / "model.pt"),
                "--data",
                str(tiny_data),
                "--flip",
                "--rerank",
                "--json",
                str(tmp_path / "e.json"),
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["arch"] == "laga" and result["rerank"] is True and result["queries"] == 4
    plain = evaluate_checkpoint(run_dir / "model.pt", tiny_data, flip=False)
    trained = json.loads((run_dir / "eval.json").read_text())
    assert plain["mAP"] == pytest.approx(trained["mAP"])  # same features as the end-of-run evaluation
    # helper-67: the queries scored and skipped are in the run's eval.json, as reid eval writes them
    assert (trained["queries"], trained["skipped"]) == (plain["queries"], plain["skipped"]) == (4, 0)
    assert main(["reid", "train", "--config", str(recipe), "--set", "p=zero"]) == 1
    assert "p" in capsys.readouterr().err


def test_resume_from_a_damaged_last_pt_is_one_line(tiny_data: Path, tmp_path: Path) -> None:
    recipe = Recipe(**{**TINY, "epochs": 2})
    part = train(recipe, data=tiny_data, run_dir=tmp_path / "part", stop_after=1, progress=False)
    (part / "last.pt").write_bytes(b"")  # what a kill during a non-atomic save used to leave
    with pytest.raises(ValueError, match=r"resume: .*last.pt is damaged") as info:
        train(recipe, data=tiny_data, run_dir=part, resume=True, progress=False)
    assert "\n" not in str(info.value)


def test_decoded_pipeline_trains_like_the_loader_and_resumes_across_pipelines(tiny_data: Path, tmp_path: Path) -> None:
    """The decoded data path (the GPU one, here on the CPU) feeds the same batches as the DataLoader: the same
    losses to float rounding; a run may switch pipelines when resumed, but not other recipe keys."""
    loader = train(
        Recipe(**{**TINY, "data_pipeline": "loader"}), data=tiny_data, run_dir=tmp_path / "l", progress=False
    )
    part = train(
        Recipe(**{**TINY, "data_pipeline": "decoded"}),
        data=tiny_data,
        run_dir=tmp_path / "d",
        stop_after=1,
        progress=False,
    )
    train(Recipe(**{**TINY, "num_workers": 1}), data=tiny_data, run_dir=part, resume=True, progress=False)
    a = json.loads((loader / "metrics.json").read_text())
    b = json.loads((part / "metrics.json").read_text())
    for row_a, row_b in zip(a, b, strict=True):
        assert row_b["loss_total"] == pytest.approx(row_a["loss_total"], rel=1e-3)
    assert [row["epoch"] for row in b] == [1, 2] and (part / "model.pt").is_file()
    manifest = json.loads((part / "manifest.json").read_text())
    assert manifest["data_pipeline"] == "decoded" and len(manifest["resumed"]) == 1
    assert manifest["resumed"][0]["data_pipeline"] == "loader" and manifest["resumed"][0]["num_workers"] == 1
    with pytest.raises(ValueError, match="lr"):
        train(Recipe(**{**TINY, "lr": 1e-3}), data=tiny_data, run_dir=part, resume=True)
    with pytest.raises(ValueError, match="data_pipeline"):
        Recipe(**{**TINY, "data_pipeline": "gpu"})


def test_a_dataset_whose_queries_cannot_be_scored_is_refused_before_training(tiny_data: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "d"
    shutil.copytree(tiny_data, data)
    query_ids = {p.name[:4] for p in (data / "query").glob("*.jpg")}
    for p in (data / "bounding_box_test").glob("*.jpg"):
        if p.name[:4] in query_ids:  # the gallery keeps only distractors and junk: no query can be matched
            p.unlink()
    with pytest.raises(ValueError, match=r"no query has a match in the gallery") as info:
        train(Recipe(**TINY), data=data, run_dir=tmp_path / "r", progress=False)
    assert "\n" not in str(info.value) and not (tmp_path / "r" / "last.pt").exists()


def test_count_matchable_queries_follows_the_protocol() -> None:
    from reid_models.evaluation import count_matchable_queries

    # query 1: only a same-camera match (removed); 2: a match from another camera; 3: only junk-id neighbours
    assert count_matchable_queries([1, 2, 3], [1, 2, -1, 0], [0, 0, 0], [0, 1, 1, 1]) == 1
    assert count_matchable_queries([], [1], [], [0]) == 0


def test_a_finished_or_started_run_is_not_trained_over_without_resume(tiny_data: Path, tmp_path: Path) -> None:
    recipe = Recipe(**{**TINY, "epochs": 2})
    run = train(recipe, data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    before = (run / "last.pt").read_bytes()
    with pytest.raises(ValueError, match=r"holds an earlier run \(last.pt\); add --resume"):
        train(recipe, data=tiny_data, run_dir=run, progress=False)
    assert (run / "last.pt").read_bytes() == before  # was silently replaced by a new run


def test_training_that_diverges_stops_and_keeps_the_last_good_epoch(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reid_models.train.engine as engine

    recipe = Recipe(**TINY)
    run = train(recipe, data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    real = engine.build_optimizer

    def poisoned(model, **kwargs):  # an optimiser whose steps leave NaN weights, as a far too large lr does
        optimizer = real(model, **kwargs)
        step = optimizer.step

        def nan_step(*args, **kw):
            out = step(*args, **kw)
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
            return out

        optimizer.step = nan_step
        return optimizer

    monkeypatch.setattr(engine, "build_optimizer", poisoned)
    with pytest.raises(ValueError, match=r"training diverged in epoch 2: .* lower lr; .*last.pt holds epoch 1"):
        train(recipe, data=tiny_data, run_dir=run, resume=True, progress=False)
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 1 and not (run / "model.pt").exists()


def test_the_trained_weights_are_saved_before_the_final_evaluation(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reid_models.train.engine as engine

    def unreadable(*args, **kwargs):
        raise ValueError("bounding_box_test/0101_c2s1_000000_00.jpg: not a readable image")

    monkeypatch.setattr(engine, "evaluate", unreadable)
    with pytest.raises(ValueError, match="not a readable image"):
        train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "a", progress=False)
    assert torch.load(tmp_path / "a" / "last.pt", weights_only=True)["epoch"] == 2  # was 1: the last epoch lost
    # --resume then evaluates and finishes the run: the final epoch's row gets its ranks (its eval.json had null
    # ranks, its metrics no final row, and the command ended in a TypeError)
    monkeypatch.undo()
    run = train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "a", resume=True, progress=False)
    final = json.loads((run / "eval.json").read_text())
    assert all(isinstance(final[k], float) for k in ("rank1", "rank5", "rank10", "mAP", "mINP")), final
    history = json.loads((run / "metrics.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2] and history[-1]["rank1"] == final["rank1"]
    assert (run / "model.pt").is_file()


def test_an_unreadable_gallery_image_stops_the_run_before_training(tiny_data: Path, tmp_path: Path) -> None:
    """It used to be found only by the first evaluation, after the epochs before it were trained."""
    import shutil

    from reid_models.data import DatasetError

    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    gallery = sorted((data / "bounding_box_test").glob("*.jpg"))
    for bad in gallery[1:3]:
        bad.write_bytes(b"not a jpeg")
    with pytest.raises(
        DatasetError, match=rf"^{gallery[1]}: not a readable image \(2 of the \d+ training, query and gallery"
    ):
        train(Recipe(**TINY), data=data, run_dir=tmp_path / "a", progress=False)
    assert not (tmp_path / "a" / "last.pt").exists()  # nothing was trained


def test_an_unreadable_training_image_stops_the_run_before_training(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P x K batches need not sample every training image: one that cannot be read was found only when a batch
    drew it or when the feature mean of all training images was taken after the last epoch, which left the run
    without its model.pt (and not resumable once the file was removed: the dataset had changed)."""
    import shutil

    import reid_models.train.engine as engine
    from reid_models.data import DatasetError

    def training_started(*args, **kwargs):
        raise AssertionError("the training started before the images were checked")

    monkeypatch.setattr(engine, "build_optimizer", training_started)
    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    bad = sorted((data / "bounding_box_train").glob("*.jpg"))[-1]
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=rf"^{bad}: not a readable image$"):
        train(Recipe(**TINY), data=data, run_dir=tmp_path / "a", progress=False)
    assert not (tmp_path / "a" / "last.pt").exists()  # nothing was trained


def test_resume_after_a_query_or_gallery_image_was_replaced(
    tiny_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import shutil

    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    recipe = Recipe(**TINY)
    run = train(recipe, data=data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    gallery = sorted((data / "bounding_box_test").glob("*.jpg"))[0]
    gallery.write_bytes(gallery.read_bytes() + b"\0")  # a damaged image replaced by a good copy: its size differs
    with caplog.at_level(logging.WARNING):
        train(recipe, data=data, run_dir=run, resume=True, progress=False)
    assert "query or gallery images" in caplog.text and (run / "model.pt").is_file()
    other = Path(shutil.copytree(tiny_data, tmp_path / "data2"))
    part = train(recipe, data=other, run_dir=tmp_path / "b", stop_after=1, progress=False)
    image = sorted((other / "bounding_box_train").glob("*.jpg"))[0]
    image.write_bytes(image.read_bytes() + b"\0")  # the training images: what the weights depend on
    with pytest.raises(ValueError, match=r"the training images at .*data2 are not the ones the run started with: "):
        train(recipe, data=other, run_dir=part, resume=True, progress=False)
    # another dataset: the message names the one the run started on
    started = train(recipe, data=data, run_dir=tmp_path / "c", stop_after=1, progress=False)
    with pytest.raises(ValueError, match=rf"not the ones the run started with \(at {re.escape(str(data.resolve()))}\)"):
        train(recipe, data=other, run_dir=started, resume=True, progress=False)


def test_a_complete_run_resumed_on_changed_test_images_reports_their_scores(tiny_data: Path, tmp_path: Path) -> None:
    """helper-101: a finished run without its model.pt and eval.json, resumed after its query and gallery images
    changed, warned that it scores the images as they are now, then wrote the earlier images' scores (its last
    metrics row) into eval.json beside the new images' query counts."""
    import shutil

    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    recipe = Recipe(**TINY)
    run = train(recipe, data=data, run_dir=tmp_path / "a", progress=False)
    before = json.loads((run / "eval.json").read_text())
    (run / "model.pt").unlink()
    (run / "eval.json").unlink()
    query = sorted((data / "query").glob("*.jpg"))
    gallery = sorted((data / "bounding_box_test").glob("*.jpg"))
    for image in gallery:  # each gallery image now shows another person than its name says
        other = next(q for q in query if q.name[:4] != image.name[:4])
        shutil.copyfile(other, image)
    train(recipe, data=data, run_dir=run, resume=True, progress=False)
    after = json.loads((run / "eval.json").read_text())
    now = evaluate_checkpoint(run / "model.pt", data, flip=recipe.flip_eval, rerank=recipe.rerank)
    assert after["mAP"] == pytest.approx(now["mAP"]) and after["rank1"] == pytest.approx(now["rank1"])
    assert after["mAP"] != pytest.approx(before["mAP"])  # the images changed the score
    assert after["queries"] == now["queries"]


def test_resume_with_another_recipe_is_refused_before_the_dataset_is_read(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reid_models.train import engine

    recipe = Recipe(**TINY)
    run = train(recipe, data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    monkeypatch.setattr(engine, "load_dataset", lambda *a, **k: pytest.fail("the dataset was read first"))
    changed = Recipe(**{**TINY, "lr": TINY.get("lr", 3.5e-4) * 2})
    with pytest.raises(
        ValueError, match=r"recipe differs from .*config.yaml in \['lr'\] \(lr: .* there, .* now\); give"
    ):
        train(changed, data=tiny_data, run_dir=run, resume=True, progress=False)


def test_resume_without_config_yaml_checks_the_recipe_last_pt_records(
    tiny_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """helper-83: a run whose config.yaml was lost could neither resume ("config.yaml is damaged
    (FileNotFoundError); start a new run") nor start again ("holds an earlier run (last.pt); add --resume")."""
    run = train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    written = (run / "config.yaml").read_text()
    (run / "config.yaml").unlink()
    changed = Recipe(**{**TINY, "lr": TINY.get("lr", 3.5e-4) * 2})
    with pytest.raises(ValueError, match=r"config.yaml is missing, and the recipe differs from the one .*last.pt "):
        train(changed, data=tiny_data, run_dir=run, resume=True, progress=False)
    assert not (run / "config.yaml").exists()
    train(Recipe(**TINY), data=tiny_data, run_dir=run, resume=True, progress=False)
    assert "config.yaml was missing; the recipe is the one last.pt records" in caplog.text
    assert (run / "config.yaml").read_text() == written and (run / "model.pt").is_file()


def test_resume_from_another_runs_last_pt_is_refused(tiny_data: Path, tmp_path: Path) -> None:
    """helper-67: a last.pt copied from another run of the same network (another lr) was resumed from without a
    word: metrics.json then held the other run's epochs and model.pt came from mixed weights."""
    import shutil

    ours = train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    theirs = train(Recipe(**{**TINY, "lr": 1e-3}), data=tiny_data, run_dir=tmp_path / "b", stop_after=1, progress=False)
    shutil.copy(theirs / "last.pt", ours / "last.pt")
    with pytest.raises(ValueError, match=r"last.pt is another run's training state \(its recipe differs from this "):
        train(Recipe(**TINY), data=tiny_data, run_dir=ours, resume=True, progress=False)
    assert not (ours / "model.pt").exists()
    train(Recipe(**{**TINY, "lr": 1e-3}), data=tiny_data, run_dir=theirs, resume=True, progress=False)  # its own
    assert (theirs / "model.pt").is_file()


def test_resume_with_another_number_of_processes_warns(
    tiny_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    recipe = Recipe(**{**TINY, "epochs": 3})
    run = train(recipe, data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    with caplog.at_level(logging.WARNING):
        train(recipe, data=tiny_data, run_dir=run, resume=True, stop_after=2, progress=False)
    assert "process" not in caplog.text  # the same number of processes: nothing to say
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["resumed"][-1]["world_size"] = 2  # as 'reid train --nproc 2 --resume' records it
    (run / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING):
        train(recipe, data=tiny_data, run_dir=run, resume=True, progress=False)
    assert "trained by 2 process(es) and continues with 1" in caplog.text and "--nproc 2" in caplog.text


def test_resume_with_the_dataset_moved(tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import sys

    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    recipe = Recipe(**TINY)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/mctrack", "reid", "train", "--set", "lr=3e-4"])
    run = train(recipe, data=data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    moved = data.rename(tmp_path / "elsewhere")  # was refused: "the recipe differs in ['data']"
    monkeypatch.setattr(sys, "argv", ["/venv/bin/mctrack", "reid", "train", "--resume"])
    train(recipe, data=moved, run_dir=run, resume=True, progress=False)
    manifest = json.loads((run / "manifest.json").read_text())
    assert (run / "model.pt").is_file() and manifest["resumed"][-1]["data"] == str(moved.resolve())
    assert manifest["command"] == "mctrack reid train --set lr=3e-4"  # the command lines are recorded
    assert manifest["resumed"][-1]["command"] == "mctrack reid train --resume"


def test_a_run_whose_imagenet_weights_cannot_be_had_records_its_random_start(
    tiny_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    # offline (the tests refuse downloads): it trains from random weights, as before, but no longer recorded only
    # as 'imagenet'
    with caplog.at_level(logging.WARNING):
        run = train(
            Recipe(**{**TINY, "pretrained": "imagenet"}), data=tiny_data, run_dir=tmp_path / "a", progress=False
        )
    assert "could not be obtained" in caplog.text
    init = json.loads((run / "manifest.json").read_text())["backbone_init"]
    assert init.startswith("random: ImageNet weights for resnet18 could not be obtained")
    _, manifest = load_checkpoint(run / "model.pt")
    assert manifest["extra"]["backbone_init"] == init
    plain = train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "b", progress=False)
    assert json.loads((plain / "manifest.json").read_text())["backbone_init"] == "random"


@pytest.mark.parametrize("workers", [0, 1])
def test_an_unreadable_image_read_by_a_loader_worker_is_named(tiny_data: Path, tmp_path: Path, workers: int) -> None:
    """A loader worker's DatasetError reached the user as "Caught DatasetError in DataLoader worker process 0."
    without the file (reid eval --workers 1, a training image that became unreadable mid-run)."""
    from reid_models import build_model
    from reid_models.data import DatasetError
    from reid_models.train.evaluate import extract_features

    paths = sorted((tiny_data / "bounding_box_test").glob("*.jpg"))[:3]
    bad = tmp_path / "0001_c1s1_000001_00.jpg"
    bad.write_bytes(b"not a jpeg")
    model = build_model("global", backbone="resnet18", pretrained=None, input_size=(64, 32))
    with pytest.raises(DatasetError) as info:
        extract_features(model, [*paths, bad], input_size=(64, 32), batch_size=2, num_workers=workers)
    assert str(info.value) == f"{bad}: not a readable image"


def test_a_set_without_test_split_trains_with_evaluate_false(
    tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A set cut from one camera (``mctrack reid crops --source``) has no query or gallery: refused with a hint by
    default, trained without evaluation with ``evaluate: false``."""
    import shutil

    data = tmp_path / "d"
    shutil.copytree(tiny_data, data)
    for split in ("query", "bounding_box_test"):
        for p in (data / split).glob("*.jpg"):
            p.unlink()
    with pytest.raises(ValueError, match=r"query: no images .*; to train without evaluation: --set evaluate=false$"):
        train(Recipe(**TINY), data=data, run_dir=tmp_path / "r", progress=False)
    run = train(Recipe(**TINY, evaluate=False), data=data, run_dir=tmp_path / "r2", progress=False)
    result = json.loads((run / "eval.json").read_text())
    assert result["evaluated"] is False and all(result[k] is None for k in ("rank1", "mAP"))
    assert (run / "model.pt").is_file() and not (run / "retrieval.png").exists()
    assert load_checkpoint(run / "model.pt")[1]["extra"]["feature_mean"] is not None
    # the same weights as a run on the full set (evaluation does not touch training)
    full = train(Recipe(**TINY, evaluate=False), data=tiny_data, run_dir=tmp_path / "r3", progress=False)
    assert _weights_hash(run) == _weights_hash(full)
    # the command line says so instead of figures
    args = ["reid", "train", "--config", str(tmp_path / "recipe.yaml"), "--data", str(data)]
    import yaml

    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump({**TINY, "evaluate": False}))
    assert main([*args, "--run-dir", str(tmp_path / "r4"), "--quiet"]) == 0
    assert "not evaluated (evaluate: false)" in capsys.readouterr().out


def test_the_epoch_bar_never_shows_losses_beside_a_stale_count(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written to a log, mctrack's bars refresh every 30 s (TQDM_MININTERVAL); the losses refreshed the bar at every
    batch, so the log showed them beside a count that stayed at 0 of N all epoch."""
    import io

    from tqdm import tqdm

    import reid_models.train.engine as engine

    out = io.StringIO()

    class LogBar(tqdm):  # a bar as it is written to a log file: its own refresh every hour
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "file": out, "mininterval": 3600})

    monkeypatch.setattr(engine, "tqdm", LogBar)
    train(Recipe(**{**TINY, "epochs": 1, "evaluate": False}), data=tiny_data, run_dir=tmp_path / "a", progress=True)
    lines = [line for line in out.getvalue().replace("\r", "\n").splitlines() if "lr=" in line]
    assert all(" 0/" not in line for line in lines), lines


def test_epoch_lines_print_scores_in_percent_and_metrics_hold_plain_rates(
    tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper-54: epoch lines said rank1=0.216 and the final line rank-1 21.60; metrics.csv held
    5.9999999999999995e-05 for the learning rate."""
    run = train(Recipe(**{**TINY, "epochs": 1, "lr": 6e-5}), data=tiny_data, run_dir=tmp_path / "a", progress=True)
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("epoch 1/1:"))
    rates = json.loads((run / "metrics.json").read_text())[0]
    shown = f", rank-1 {100 * rates['rank1']:.2f}, rank-5 {100 * rates['rank5']:.2f}, mAP {100 * rates['mAP']:.2f}, lr="
    assert shown in line and "rank1=" not in line
    assert all(len(repr(rates[k])) <= 12 for k in ("lr", "lr_backbone")), rates


def test_a_failed_start_removes_only_what_it_wrote(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-56: the first cleanup deleted any config.yaml/manifest.json in the folder, another run's included, when
    a run failed on its data before writing its own."""
    import shutil

    other = tmp_path / "shared"
    first = train(Recipe(**TINY), data=tiny_data, run_dir=other, stop_after=1, progress=False)
    (first / "last.pt").unlink()  # as a run still in its first epoch: config.yaml and manifest.json only
    before = {p.name: p.read_bytes() for p in other.iterdir() if p.is_file()}
    with pytest.raises(Exception, match="nope"):
        train(Recipe(**TINY), data=tmp_path / "nope", run_dir=other, progress=False)
    assert {p.name: p.read_bytes() for p in other.iterdir() if p.is_file()} == before
    # what a failed start wrote itself goes, and the folder it made
    bad = Path(shutil.copytree(tiny_data, tmp_path / "bad"))
    for image in (bad / "bounding_box_train").glob("*.jpg"):
        image.write_bytes(b"not a jpeg")
    with pytest.raises(Exception, match="not a readable image"):
        train(Recipe(**TINY), data=bad, run_dir=tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists()
    with pytest.raises(Exception, match="not a readable image"):
        train(Recipe(**TINY), data=bad, out=tmp_path / "runs", progress=False)
    assert list((tmp_path / "runs").iterdir()) == []
    # stopped once its config.yaml and manifest.json are written, before an epoch ends: both go, and its folder
    from reid_models.train import engine

    def stopped(*args, **kwargs):
        assert (tmp_path / "late" / "manifest.json").is_file()
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "build_optimizer", stopped)
    with pytest.raises(KeyboardInterrupt):
        train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "late", progress=False)
    assert not (tmp_path / "late").exists()


def test_a_second_run_into_a_folder_being_trained_in_stops_at_once(tiny_data: Path, tmp_path: Path) -> None:
    """Two jobs of a sweep given one --run-dir overwrote each other's config, manifest and last.pt."""
    import fcntl

    run = tmp_path / "busy"
    run.mkdir()
    with open(run / ".train.lock", "a") as held:  # as the first run holds it while it trains
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for resume in (False, True):
            with pytest.raises(ValueError, match="another reid train is running in this folder"):
                train(Recipe(**TINY), data=tiny_data, run_dir=run, resume=resume, progress=False)
        assert [p.name for p in run.iterdir()] == [".train.lock"]  # the running one's lock is left alone
    train(Recipe(**TINY), data=tiny_data, run_dir=run, stop_after=1, progress=False)  # free again: it trains
    assert (run / "last.pt").is_file()


def test_a_run_killed_between_its_two_first_files_can_start_again(tiny_data: Path, tmp_path: Path) -> None:
    """A run writes its manifest.json before its config.yaml: killed between the two (SIGKILL, no cleanup), the
    folder is still known as a run that never finished an epoch (with config.yaml first, a lone config.yaml was
    refused as possibly a user's recipe)."""
    from reid_models.train.engine import check_new_run_dir

    first = train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "manifest.json").write_bytes((first / "manifest.json").read_bytes())
    check_new_run_dir(killed)  # no error
    run = train(Recipe(**TINY), data=tiny_data, run_dir=killed, stop_after=1, progress=False)
    assert (run / "last.pt").is_file() and (run / "config.yaml").is_file()
    # a config.yaml alone is still a user's file, never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_bytes((first / "config.yaml").read_bytes())
    with pytest.raises(ValueError, match=r"holds config.yaml and no run to continue"):
        check_new_run_dir(mine)


def test_resuming_a_complete_run_does_nothing(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """It read the dataset and evaluated the finished model again (minutes on Market-1501) and rewrote its files."""
    import reid_models.train.engine as engine

    run = train(Recipe(**TINY), data=tiny_data, run_dir=tmp_path / "a", progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}

    def no_dataset(*args, **kwargs):
        raise AssertionError("the dataset was read again")

    monkeypatch.setattr(engine, "load_dataset", no_dataset)
    with caplog.at_level("WARNING"):
        assert train(Recipe(**TINY), data=tiny_data, run_dir=run, resume=True, progress=False) == run
    assert "is a complete run (2 epochs" in caplog.text
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
    # stopped while it drew its pictures: the resume draws curves.png again from metrics.json, nothing else
    (run / "curves.png").unlink()
    train(Recipe(**TINY), data=tiny_data, run_dir=run, resume=True, progress=False)
    assert (run / "curves.png").stat().st_size > 0
    assert {p.name for p in run.iterdir()} == set(before)
    # its final evaluation lost (eval.json missing): the resume finishes it again
    (run / "eval.json").unlink()
    monkeypatch.undo()
    train(Recipe(**TINY), data=tiny_data, run_dir=run, resume=True, progress=False)
    assert json.loads((run / "eval.json").read_text())["epochs"] == 2


def test_an_evaluation_cut_short_keeps_its_epoch_and_the_resume_makes_it(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-71: an epoch's weights were saved after its evaluation (only the final epoch's before), so a Ctrl-C or
    a failure there lost the epoch, and in the first epoch the whole run folder."""
    from reid_models.train import engine

    recipe = Recipe(**{**TINY, "eval_every": 1})
    whole = train(recipe, data=tiny_data, run_dir=tmp_path / "whole", progress=False)
    evaluate = engine.evaluate

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "evaluate", stopped)
    with pytest.raises(KeyboardInterrupt):
        train(recipe, data=tiny_data, run_dir=tmp_path / "cut", progress=False)
    cut = tmp_path / "cut"
    assert torch.load(cut / "last.pt", weights_only=True)["epoch"] == 1  # the epoch is kept, and its folder
    assert json.loads((cut / "metrics.json").read_text())[0].get("rank1") is None
    monkeypatch.setattr(engine, "evaluate", evaluate)
    train(recipe, data=tiny_data, run_dir=cut, resume=True, progress=False)
    assert _weights_hash(cut) == _weights_hash(whole)
    assert json.loads((cut / "metrics.json").read_text()) == [
        {**row, "time_s": ANY} for row in json.loads((whole / "metrics.json").read_text())
    ]  # the cut evaluation was made by the resume: every epoch scored as in the uninterrupted run


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


ANY = _Any()


def test_recipes_refuse_one_image_per_identity() -> None:
    """helper-71: k = 1 trained with a triplet loss of 0 throughout (no positive), silently."""
    with pytest.raises(ValueError, match=r"k: must be >= 2 \(images per identity"):
        Recipe(**{**TINY, "k": 1})


def test_a_test_split_shared_with_training_is_said(
    tiny_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """helper-71: a dataset whose training folder also held the query and gallery images trained and scored them
    as unseen people without a word."""
    import logging
    import shutil

    leak = Path(shutil.copytree(tiny_data, tmp_path / "leak"))
    for image in sorted((leak / "query").glob("*.jpg"))[:2]:
        shutil.copy(image, leak / "bounding_box_train" / image.name)
    with caplog.at_level(logging.WARNING):
        train(Recipe(**{**TINY, "epochs": 1}), data=leak, run_dir=tmp_path / "run", progress=False)
    said = [m for m in caplog.messages if "the evaluation does not score unseen people" in m]
    assert len(said) == 1 and "2 training image(s) are also query or gallery images" in said[0]
    assert "identit" in said[0]  # their people are in both splits too
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        train(Recipe(**{**TINY, "epochs": 1}), data=tiny_data, run_dir=tmp_path / "clean", progress=False)
    assert "unseen people" not in caplog.text


def test_a_resume_records_what_changed(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """helper-71: a resume with other query/gallery images overwrote the fingerprint the earlier evaluations had and
    left their counts; another CPU thread count (other float sums) was neither said nor recorded; workers of
    --nproc recorded their own command (no --nproc: re-running it trained one process, to other numbers)."""
    import logging
    import shutil

    from reid_models.provenance import COMMAND_ENV, command

    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    recipe = Recipe(**TINY)
    run = train(recipe, data=data, run_dir=tmp_path / "a", stop_after=1, progress=False)
    first = json.loads((run / "manifest.json").read_text())
    sorted((data / "bounding_box_test").glob("*.jpg"))[-1].unlink()
    threads = torch.get_num_threads()
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads + 1)
    with caplog.at_level(logging.WARNING):
        train(recipe, data=data, run_dir=run, resume=True, progress=False)
    assert f"trained with {threads} CPU thread(s) and continues with {threads + 1}" in caplog.text
    manifest = json.loads((run / "manifest.json").read_text())
    resumed = manifest["resumed"][-1]
    assert resumed["torch_threads"] == threads + 1 and resumed["git_commit"] == first["git_commit"]
    assert resumed["query_gallery_changed"] == {
        "fingerprint_before": first["dataset"]["fingerprint"],
        "content_fingerprint_before": first["dataset"]["content_fingerprint"],
        "counts_before": first["dataset"]["counts"],
    }
    gallery = manifest["dataset"]["counts"]["gallery"]["images"]
    assert gallery == first["dataset"]["counts"]["gallery"]["images"] - 1
    assert manifest["dataset"]["fingerprint"] != first["dataset"]["fingerprint"]
    monkeypatch.setenv(COMMAND_ENV, "mctrack reid train --config r.yaml --nproc 2")
    assert command() == "mctrack reid train --config r.yaml --nproc 2"


def test_reid_eval_says_how_the_checkpoints_run_evaluated(tiny_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """helper-71: `reid eval` without --flip gave other numbers than the run's eval.json (the *_samples recipes
    evaluate with flip), and only its last line's 'flip=False' hinted why."""
    assert main(["reid", "eval", "--weights", "laga_samples", "--data", str(tiny_data), "--device", "cpu"]) == 0
    assert "note: the run that trained laga_samples evaluated with --flip; add it" in capsys.readouterr().err
    assert (
        main(["reid", "eval", "--weights", "laga_samples", "--data", str(tiny_data), "--flip", "--device", "cpu"]) == 0
    )
    assert "note:" not in capsys.readouterr().err


def test_a_run_from_a_pretrained_file_resumes_wherever_the_file_went(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-71: config.yaml kept a relative `pretrained` path and a resume read the file again, so the run resumed
    only from the same folder with the file unmoved (its weights come from last.pt)."""
    import shutil

    import yaml

    from mctrack.weights import resolve_weights

    shutil.copy(resolve_weights("laga_samples", option="--weights"), tmp_path / "pre.pt")
    monkeypatch.chdir(tmp_path)
    recipe = Recipe(**{**TINY, "pretrained": "pre.pt"})
    run = train(recipe, data=tiny_data, run_dir=tmp_path / "run", stop_after=1, progress=False)
    assert yaml.safe_load((run / "config.yaml").read_text())["pretrained"] == str(tmp_path / "pre.pt")
    (tmp_path / "pre.pt").rename(tmp_path / "moved.pt")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    train(Recipe(**{**TINY, "pretrained": "../moved.pt"}), data=tiny_data, run_dir=run, resume=True, progress=False)
    assert (run / "model.pt").is_file()
    with pytest.raises(ValueError, match=r"recipe differs .* in \['pretrained'\]"):  # not a file for random weights
        train(Recipe(**{**TINY, "pretrained": None}), data=tiny_data, run_dir=run, resume=True, progress=False)


def test_images_changed_at_the_same_size_are_seen(
    tiny_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """helper-71: the fingerprints hashed names and sizes only: a training image rewritten at the same size was
    resumed on, and blurred queries of the same sizes were 'the same images' to reid eval's record."""
    import logging
    import shutil

    import cv2
    import numpy as np

    def rewrite_same_size(image: Path) -> None:
        raw = bytearray(image.read_bytes())
        pixels = cv2.imdecode(np.frombuffer(bytes(raw), np.uint8), cv2.IMREAD_COLOR)
        assert pixels is not None
        raw[len(raw) // 2] ^= 0xFF  # one byte inside the JPEG data: another image, same size (still decodable)
        image.write_bytes(bytes(raw))

    data = Path(shutil.copytree(tiny_data, tmp_path / "data"))
    recipe = Recipe(**TINY)
    before = evaluate_checkpoint(
        train(recipe, data=data, run_dir=tmp_path / "whole", progress=False) / "model.pt", data
    )
    longer = Recipe(**{**TINY, "epochs": 3})
    part = train(longer, data=data, run_dir=tmp_path / "part", stop_after=1, progress=False)
    query = sorted((data / "query").glob("*.jpg"))[0]
    rewrite_same_size(query)
    after = evaluate_checkpoint(tmp_path / "whole" / "model.pt", data)
    assert after["query_gallery_fingerprint"] == before["query_gallery_fingerprint"]  # names and sizes: unchanged
    assert after["query_gallery_content_fingerprint"] != before["query_gallery_content_fingerprint"]
    with caplog.at_level(logging.WARNING):
        train(longer, data=data, run_dir=part, stop_after=2, resume=True, progress=False)
    assert "the query or gallery images at" in caplog.text  # seen: said and recorded, training goes on
    rewrite_same_size(sorted((data / "bounding_box_train").glob("*.jpg"))[0])
    with pytest.raises(ValueError, match="the training images at .* are not the ones the run started with"):
        train(longer, data=data, run_dir=part, resume=True, progress=False)


def test_the_overlap_check_knows_msmt17_numbers_each_split_from_0(tmp_path: Path) -> None:
    """helper-73: MSMT17's list files number the training and the test people from 0 each: every MSMT17 run was
    warned that its splits share about a thousand identities."""
    from reid_models.data.datasets import ReidDataset, Sample
    from reid_models.train.engine import _train_test_overlap

    def split(name: str, pids: list[int]) -> tuple[Sample, ...]:
        return tuple(Sample(tmp_path / name / f"{p}_{i}.jpg", p, 1 + i % 2) for i, p in enumerate(pids))

    for name, expected in (("msmt17", None), ("market1501", "2 identities are in both")):
        data = ReidDataset(name, tmp_path, split("train", [0, 1, 2]), split("query", [1, 2]), split("test", [1, 2]))
        found = _train_test_overlap(data)
        assert (found is None) if expected is None else (expected in found)
