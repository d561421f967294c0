from __future__ import annotations

import numpy as np
import pytest

from mctrack.detect import MotFileDetector, YoloDetector, build_detector
from mctrack.detect import yolo as yolo_mod
from mctrack.errors import InputError
from mctrack.registry import DETECTORS, UnknownNameError
from mctrack.types import Frame

ROWS = [
    "1,-1,10,20,30,60,0.9,-1,-1,-1",
    "1,-1,100,20,30,60,0.2,-1,-1,-1",
    "3,-1,12,21,30,60,0.8,-1,-1,-1",
    "2,-1,11,20,30,60,0.95,-1,-1,-1",
]


def frame(i, image=None):
    return Frame("cam", i, i / 10, image)


def test_registry_names():
    assert {"yolo", "mot"} <= set(DETECTORS.names())
    with pytest.raises(UnknownNameError, match="valid names"):
        build_detector("nope")


def test_motfile_unordered_rows(tmp_path):
    shuffled = tmp_path / "det.txt"
    shuffled.write_text("\n".join(ROWS) + "\n")
    ordered = tmp_path / "ordered.txt"
    ordered.write_text("\n".join(sorted(ROWS, key=lambda r: int(r.split(",")[0]))) + "\n")
    a, b = MotFileDetector(shuffled), MotFileDetector(ordered)
    for i in range(4):
        np.testing.assert_array_equal(a(frame(i)).xyxy, b(frame(i)).xyxy)
    d0 = a(frame(0))
    np.testing.assert_allclose(d0.xyxy[0], [10, 20, 40, 80])  # tlwh -> xyxy
    assert len(a(frame(1))) == 1 and a(frame(1)).score[0] == pytest.approx(0.95)
    assert len(a(frame(3))) == 0  # past the end: empty, not an error
    assert a.last_frame == 2


def test_motfile_score_threshold(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text("\n".join(ROWS) + "\n")
    d = build_detector("mot", path=p, min_score=0.5)
    assert len(d(frame(0))) == 1
    assert d.num_rows == 3


def test_motfile_warns_about_scores_outside_zero_one(tmp_path, caplog):
    ok = tmp_path / "ok.txt"
    ok.write_text("\n".join(ROWS) + "\n")
    with caplog.at_level("WARNING", logger="mctrack.detect.motfile"):
        MotFileDetector(ok)
    assert not caplog.records
    raw = tmp_path / "raw.txt"  # raw detector scores (MOT15's ACF): the tracker's thresholds would not apply
    raw.write_text("1,-1,10,20,30,60,35.5\n2,-1,12,20,30,60,-0.25\n3,-1,14,20,30,60,88\n")
    with caplog.at_level("WARNING", logger="mctrack.detect.motfile"):
        d = MotFileDetector(raw)
    assert d.num_rows == 3  # still replayed as they are
    (record,) = caplog.records
    assert str(raw) in record.getMessage() and "from -0.25 to 88" in record.getMessage()


def test_motfile_warns_about_rows_without_a_score(tmp_path, caplog):
    """helper-58: a det file of 6 columns (no score) was read with score 1.0 for every row without a word, so the
    tracker's score thresholds (high, new-track, mean-score judgement) kept every box."""
    p = tmp_path / "det6.txt"
    p.write_text("1,-1,10,20,30,60\n2,-1,12,20,30,60\n3,-1,14,20,30,60,0.4\n")
    with caplog.at_level("WARNING", logger="mctrack.io.mot"):
        d = MotFileDetector(p)
    assert d(frame(0)).score[0] == 1.0 and d(frame(2)).score[0] == pytest.approx(0.4)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{p}: 2 row(s) of 6 values have no score column (first: line 1): each counts as score 1.0, so every score "
        "threshold of the tracker keeps them"
    ]


def test_motfile_bad_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        MotFileDetector(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1,-1,10,20,abc,60,0.9\n")
    with pytest.raises(InputError, match="line 1"):
        MotFileDetector(bad)


class FakeBoxes:
    def __init__(self):
        self.xyxy = np.array([[0, 0, 10, 20], [5, 5, 15, 25], [1, 1, 2, 2]], np.float32)
        self.conf = np.array([0.9, 0.8, 0.7], np.float32)
        self.cls = np.array([0, 2, 0], np.float32)  # the middle box is a car


class FakeModel:
    def __init__(self):
        self.calls = []

    def predict(self, image, **kwargs):
        self.calls.append(kwargs)
        return [type("R", (), {"boxes": FakeBoxes()})()]


def test_yolo_adapter_with_fake_model(tmp_path, monkeypatch):
    weights = tmp_path / "fake.pt"
    weights.write_bytes(b"not really weights")
    fake = FakeModel()
    monkeypatch.setattr(yolo_mod, "_load_model", lambda w, trusted=False: fake)
    det = YoloDetector(weights, conf=0.3, iou=0.5, imgsz=320)
    out = det(frame(0, np.zeros((48, 64, 3), np.uint8)))
    assert len(out) == 2 and out.class_id.tolist() == [0, 0]  # only persons
    np.testing.assert_allclose(out.score, [0.9, 0.7])
    assert fake.calls[0]["classes"] == [0] and fake.calls[0]["conf"] == 0.3 and fake.calls[0]["imgsz"] == 320
    # no precision argument unless asked: ultralytics 8.4 warns on every frame that 'half' is deprecated
    assert "half" not in fake.calls[0] and "quantize" not in fake.calls[0]
    monkeypatch.setattr(yolo_mod, "_has_quantize", lambda: True)
    det.half = True
    det(frame(2, np.zeros((48, 64, 3), np.uint8)))
    assert fake.calls[-1]["quantize"] == 16 and "half" not in fake.calls[-1]
    with pytest.raises(ValueError, match="image"):
        det(frame(1))


def test_yolo_missing_weights_path(tmp_path):
    with pytest.raises(InputError, match="not found"):
        YoloDetector(tmp_path / "nope" / "yolo.pt")


def test_yolo_offline_model_name_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(yolo_mod, "_load_model", lambda w, trusted=False: pytest.fail("must not try to load/download"))
    with pytest.raises(InputError, match="offline") as exc:
        YoloDetector("yolo-not-here-xyz.pt")
    assert "\n" not in str(exc.value)


def test_ultralytics_settings_banner_is_not_printed_on_a_fresh_config_folder(tmp_path):
    """On a fresh YOLO_CONFIG_DIR ultralytics prints three lines about creating its settings file when imported;
    they came out in the middle of `mctrack info --check`'s report (before its yolo line). The file is still made."""
    import os
    import subprocess
    import sys

    env = os.environ | {"YOLO_CONFIG_DIR": str(tmp_path / "cfg"), "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0"}
    code = "from mctrack.detect.yolo import weights_status; print(weights_status())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Ultralytics Settings" not in done.stdout + done.stderr
    assert len(done.stdout.splitlines()) == 1 and "cannot be fetched here (offline)" in done.stdout
    assert (tmp_path / "cfg" / "Ultralytics" / "settings.json").is_file()  # ultralytics made its file as before


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(conf=1.5), "conf"),
        (dict(iou=-0.1), "iou"),
        (dict(imgsz=100), "imgsz"),
        (dict(half=True, device="cpu"), "half"),
    ],
)
def test_yolo_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        YoloDetector("x.pt", **kwargs)


def _fake_detector(tmp_path, monkeypatch, model, name="fake.pt", **kwargs):
    weights = tmp_path / name
    weights.write_bytes(b"not really weights")
    monkeypatch.setattr(yolo_mod, "_load_model", lambda w, trusted=False: model)
    return YoloDetector(weights, **kwargs), weights


def test_yolo_passes_iou_max_det_and_device_to_predict(tmp_path, monkeypatch):
    """mut109: only conf, imgsz and classes were checked; iou, max_det and the device must reach ultralytics too."""
    fake = FakeModel()
    det, weights = _fake_detector(tmp_path, monkeypatch, fake, iou=0.45, max_det=7, device="cuda:1")
    det(frame(0, np.zeros((48, 64, 3), np.uint8)))
    call = fake.calls[-1]
    assert call["iou"] == 0.45 and call["max_det"] == 7 and call["device"] == "cuda:1" and call["verbose"] is False
    YoloDetector(weights)(frame(1, np.zeros((48, 64, 3), np.uint8)))
    assert "device" not in fake.calls[-1]  # None: ultralytics picks the device itself


def test_yolo_half_is_allowed_on_cuda_only_and_asks_older_ultralytics_for_half(tmp_path, monkeypatch):
    fake = FakeModel()
    det, weights = _fake_detector(tmp_path, monkeypatch, fake, half=True, device="cuda")
    monkeypatch.setattr(yolo_mod, "_has_quantize", lambda: False)  # ultralytics < 8.4
    det(frame(0, np.zeros((48, 64, 3), np.uint8)))
    assert fake.calls[-1]["half"] is True and "quantize" not in fake.calls[-1]
    with pytest.raises(ValueError, match="half: fp16 inference needs device='cuda'"):
        YoloDetector(weights, half=True)  # no device: ultralytics might pick the CPU


def test_has_quantize_follows_the_installed_ultralytics(monkeypatch):
    import sys

    import ultralytics.cfg

    monkeypatch.setattr(ultralytics.cfg, "DEFAULT_CFG_DICT", {"half": False})
    assert yolo_mod._has_quantize() is False
    monkeypatch.setattr(ultralytics.cfg, "DEFAULT_CFG_DICT", {"quantize": None})
    assert yolo_mod._has_quantize() is True
    monkeypatch.setitem(sys.modules, "ultralytics.cfg", None)  # an ultralytics without that module: no quantize
    assert yolo_mod._has_quantize() is False


def test_yolo_argument_bounds_are_inclusive(tmp_path, monkeypatch):
    det, weights = _fake_detector(tmp_path, monkeypatch, FakeModel(), conf=1.0, iou=1.0, imgsz=32, max_det=1)
    assert (det.conf, det.iou, det.imgsz, det.max_det) == (1.0, 1.0, 32, 1)
    with pytest.raises(ValueError, match="imgsz: must be a positive multiple of 32, got 0"):
        YoloDetector(weights, imgsz=0)
    with pytest.raises(ValueError, match="max_det: must be >= 1, got 0"):
        YoloDetector(weights, max_det=0)


def test_yolo_prediction_puts_torch_thread_count_back(tmp_path, monkeypatch):
    import torch

    class ThreadGrabbing(FakeModel):  # ultralytics' predictor sets torch's thread count when it starts
        def predict(self, image, **kwargs):
            torch.set_num_threads(torch.get_num_threads() + 1)
            return super().predict(image, **kwargs)

    det, _ = _fake_detector(tmp_path, monkeypatch, ThreadGrabbing())
    before = torch.get_num_threads()
    try:
        assert len(det(frame(0, np.zeros((48, 64, 3), np.uint8)))) == 2
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)


def test_yolo_result_count_that_does_not_match_the_images_is_an_input_error(tmp_path, monkeypatch):
    class NoResults(FakeModel):
        def predict(self, image, **kwargs):
            return []

    det, weights = _fake_detector(tmp_path, monkeypatch, NoResults())
    with pytest.raises(InputError, match=r"fake.pt: YOLO gave 0 results for 1 images"):
        det(frame(0, np.zeros((48, 64, 3), np.uint8)))


def test_yolo_prediction_error_is_one_short_line_naming_the_weights(tmp_path, monkeypatch):
    class Failing(FakeModel):
        error = RuntimeError("x" * 300 + "\nsecond line")

        def predict(self, image, **kwargs):
            raise self.error

    model = Failing()
    det, weights = _fake_detector(tmp_path, monkeypatch, model)
    with pytest.raises(InputError) as exc:
        det(frame(0, np.zeros((48, 64, 3), np.uint8)))
    assert str(exc.value) == f"{weights}: YOLO prediction failed: " + "x" * 200
    model.error = RuntimeError()  # no message: its type
    with pytest.raises(InputError) as exc:
        det(frame(0, np.zeros((48, 64, 3), np.uint8)))
    assert str(exc.value) == f"{weights}: YOLO prediction failed: RuntimeError"


def test_check_readable_predicts_an_export_once_and_drops_its_backend(tmp_path, monkeypatch):
    fake = FakeModel()
    fake.predictor = "onnxruntime session"
    det, _ = _fake_detector(tmp_path, monkeypatch, fake, name="m.onnx", imgsz=64)
    det.check_readable()
    assert len(fake.calls) == 1 and fake.calls[0]["imgsz"] == 64
    assert fake.predictor is None  # not pickled into Ray workers, no CUDA state carried into forked workers
    pt = FakeModel()
    det, _ = _fake_detector(tmp_path, monkeypatch, pt, name="m.pt")
    det.check_readable()  # a .pt file was read when it was loaded: no prediction
    assert pt.calls == []


def test_yolo_keeps_only_person_boxes_from_torch_tensors(tmp_path, monkeypatch):
    import torch

    class TensorBoxes:
        xyxy = torch.tensor([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 15.0, 25.0], [1.5, 2.5, 3.5, 4.5]])
        conf = torch.tensor([0.9, 0.8, 0.35])
        cls = torch.tensor([2.0, 0.0, 0.0])  # the first box is a car

    class TensorModel(FakeModel):
        def predict(self, image, **kwargs):
            return [type("R", (), {"boxes": TensorBoxes()})()]

    det, _ = _fake_detector(tmp_path, monkeypatch, TensorModel())
    out = det(frame(0, np.zeros((48, 64, 3), np.uint8)))
    assert out.xyxy.dtype == np.float32 and out.class_id.dtype == np.int64
    np.testing.assert_array_equal(out.xyxy, [[5, 5, 15, 25], [1.5, 2.5, 3.5, 4.5]])
    np.testing.assert_allclose(out.score, [0.8, 0.35])
    assert out.class_id.tolist() == [0, 0]


def test_offline_is_read_from_yolo_offline_or_the_network(monkeypatch):
    import ultralytics.utils

    monkeypatch.setattr(ultralytics.utils, "is_online", lambda: True)
    for value in ("1", "true", "YES", " On "):
        monkeypatch.setenv("YOLO_OFFLINE", value)
        assert yolo_mod._offline() is True, value
    monkeypatch.setenv("YOLO_OFFLINE", "0")
    assert yolo_mod._offline() is False
    monkeypatch.delenv("YOLO_OFFLINE")
    assert yolo_mod._offline() is False
    monkeypatch.setattr(ultralytics.utils, "is_online", lambda: False)  # no network: offline all the same
    assert yolo_mod._offline() is True


def test_weights_status_says_where_the_weights_come_from(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: folder)
    monkeypatch.setattr(yolo_mod, "_offline", lambda: False)
    assert (
        yolo_mod.weights_status("w.pt")
        == f"not in ultralytics' weights folder {folder} yet: ultralytics fetches it on first use"
    )
    (folder / "w.pt").mkdir()  # a folder of that name is no weights file
    assert yolo_mod.weights_status("w.pt").startswith("not in ")
    (folder / "w2.pt").write_bytes(b"x")
    assert yolo_mod.weights_status("w2.pt") == str(folder / "w2.pt")
    monkeypatch.setattr(yolo_mod, "_offline", lambda: True)
    monkeypatch.setattr(yolo_mod, "_weights_dir", lambda: None)
    assert yolo_mod.weights_status("w.pt") == (
        "not in ultralytics' weights folder (none: not set, or not an absolute path) and cannot be fetched here "
        "(offline): pass --yolo-weights PATH"
    )


def test_a_broken_ultralytics_settings_means_no_weights_folder(monkeypatch):
    import ultralytics.utils

    monkeypatch.setattr(ultralytics.utils, "SETTINGS", None)  # .get fails as a broken settings file's would
    assert yolo_mod._weights_dir() is None
