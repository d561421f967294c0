from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mctrack.embed import ColorHistogramEmbedder, ReidEmbedder, build_embedder, clip_boxes, extract_crops
from mctrack.types import Detections

SMALL = dict(backbone="resnet18", pretrained=None, input_size=(128, 64), device="cpu", batch_size=4)


def _scene(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    img[20:100, 10:40] = (0, 0, 255)  # a red "person"
    img[20:100, 60:90] = (255, 0, 0)  # a blue one
    return img


@pytest.mark.parametrize(
    "box, expected",
    [
        ([10, 20, 40, 100], [10, 20, 40, 100]),  # inside
        ([-15.5, -3, 40.2, 100.7], [0, 0, 41, 101]),  # partly outside (floor/ceil, clipped)
        ([10.7, 20.2, 39.1, 99.5], [10, 20, 40, 100]),  # fractional edges: the crop holds every covered pixel
        ([150, 110, 400, 300], [150, 110, 160, 120]),  # crosses the bottom-right corner
        ([500, 500, 600, 600], [159, 119, 160, 120]),  # entirely outside: nearest 1-pixel sliver
        ([30, 30, 30, 30], [30, 30, 31, 31]),  # zero size
    ],
)
def test_clip_boxes(box, expected):
    if box[0] >= 160:  # entirely outside: said, since it usually means boxes and image at different scales
        with pytest.warns(RuntimeWarning, match=r"1 box\(es\) entirely outside the 160x120 image \(rows \[0\]\)"):
            np.testing.assert_array_equal(clip_boxes(np.array([box]), 160, 120)[0], expected)
        return
    np.testing.assert_array_equal(clip_boxes(np.array([box]), 160, 120)[0], expected)


@pytest.fixture(scope="module")
def embedders():
    torch.manual_seed(0)
    return {
        "colorhist": ColorHistogramEmbedder(),
        "global": ReidEmbedder("global", **SMALL),
        "laga": ReidEmbedder("laga", **SMALL),
        "can": ReidEmbedder("can", **SMALL),
    }


@pytest.mark.parametrize("name", ["colorhist", "global", "laga", "can"])
def test_unit_norm_deterministic_and_empty(embedders, name):
    emb = embedders[name]
    img = _scene()
    dets = Detections(
        np.array([[10, 20, 40, 100], [60, 20, 90, 100], [-20, 50, 30, 130]], np.float32), np.ones(3, np.float32)
    )
    f1 = emb(img, dets)
    assert f1.shape == (3, emb.dim) and f1.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f1, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(f1, emb(img, dets))  # deterministic
    assert not np.allclose(f1[0], f1[1], atol=1e-3)  # different people, different features
    empty = emb(img, Detections.empty())
    assert empty.shape == (0, emb.dim) and empty.dtype == np.float32
    assert emb.embed_crops([]).shape == (0, emb.dim)


@pytest.mark.parametrize("name", ["colorhist", "laga"])
def test_box_partly_outside_equals_its_visible_part(embedders, name):
    emb = embedders[name]
    img = _scene(1)
    outside = Detections(np.array([[-30.0, -10.0, 40.0, 100.0]]), [1.0])
    visible = Detections(np.array([[0.0, 0.0, 40.0, 100.0]]), [1.0])
    np.testing.assert_allclose(emb(img, outside), emb(img, visible), atol=1e-6)


def test_batch_size_does_not_change_features(embedders):
    emb = embedders["global"]
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (int(rng.integers(40, 90)), 30, 3), dtype=np.uint8) for _ in range(7)]
    ref = emb.embed_crops(crops)
    one = np.concatenate([emb.embed_crops([c]) for c in crops])
    np.testing.assert_allclose(ref, one, atol=1e-4)


@pytest.mark.parametrize("flip", [False, True])
def test_compiled_network_sees_few_shapes_and_gives_the_eager_features(monkeypatch, flip):
    """``compile``: batches are padded to powers of two (at most batch_size) and the padding is dropped. Dynamo's
    eager backend stands in for inductor here (real code generation takes minutes on this CPU; the device check
    times it): the padding, the graph capture of the network and the output slicing are what is tested."""
    shapes: list[int] = []
    real_compile = torch.compile

    def eager_compile(model, mode=None, dynamic=None):
        compiled = real_compile(model, backend="eager", dynamic=dynamic)

        def run(x):
            shapes.append(len(x))
            return compiled(x)

        return run

    monkeypatch.setattr(torch, "compile", eager_compile)
    torch.manual_seed(0)
    eager = ReidEmbedder("global", flip=flip, **dict(SMALL, batch_size=8))
    comp = ReidEmbedder("global", flip=flip, compile="reduce-overhead", **dict(SMALL, batch_size=8))
    comp.model.load_state_dict(eager.model.state_dict())
    rng = np.random.default_rng(5)
    crops = [rng.integers(0, 256, (int(rng.integers(40, 90)), 30, 3), dtype=np.uint8) for _ in range(11)]
    for n in (1, 3, 5, 11):  # 11 crops: batches of 8 and 3 (padded to 4)
        got, want = comp.embed_crops(crops[:n]), eager.embed_crops(crops[:n])
        assert got.shape == want.shape == (n, eager.dim)
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert set(shapes) == {1, 4, 8} and comp.compile == "reduce-overhead" and eager.compile is None


def test_flip_averaging_is_mirror_invariant():
    torch.manual_seed(0)
    emb = ReidEmbedder("global", flip=True, **SMALL)
    crop = np.random.default_rng(4).integers(0, 256, (80, 40, 3), dtype=np.uint8)
    a, b = emb.embed_crops([crop, crop[:, ::-1].copy()])
    np.testing.assert_allclose(a, b, atol=1e-5)
    plain = ReidEmbedder("global", flip=False, **SMALL)
    plain.model.load_state_dict(emb.model.state_dict())
    a, b = plain.embed_crops([crop, crop[:, ::-1].copy()])
    assert not np.allclose(a, b, atol=1e-3)  # without flip averaging the mirror image differs


def test_weights_checkpoint_round_trip_and_wrong_arch(tmp_path):
    import reid_models

    torch.manual_seed(1)
    model = reid_models.build_model("global", num_classes=5, backbone="resnet18", pretrained=None, input_size=(128, 64))
    path = tmp_path / "g.pt"
    reid_models.save_checkpoint(path, model)
    emb = ReidEmbedder("global", weights=path, device="cpu")
    assert emb.input_size == (128, 64) and emb.weights == str(path)
    crop = np.random.default_rng(5).integers(0, 256, (90, 40, 3), dtype=np.uint8)
    rgb = __import__("cv2").resize(crop, (64, 128))[:, :, ::-1].astype(np.float32) / 255.0
    rgb = (rgb - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]))  # the ImageNet-normalised input
    with torch.inference_mode():
        ref = torch.nn.functional.normalize(model.eval()(x).feature, dim=1).numpy()
    np.testing.assert_allclose(emb.embed_crops([crop]), ref, atol=1e-5)
    with pytest.raises(reid_models.CheckpointError, match=r"g.pt.*'global'.*not 'laga'"):
        ReidEmbedder("laga", weights=path, device="cpu")
    # the checkpoint fixes the network: a backbone or initialisation of another one is refused, not ignored
    # (helper-87: backbone="resnet50" built this ResNet-18 without a word)
    assert ReidEmbedder("global", weights=path, backbone="resnet18", device="cpu").dim == emb.dim
    with pytest.raises(ValueError, match=r"backbone: resnet50, but .*g.pt holds a resnet18 network"):
        ReidEmbedder("global", weights=path, backbone="resnet50", device="cpu")
    with pytest.raises(ValueError, match=r"pretrained: x.pth is not used with weights"):
        ReidEmbedder("global", weights=path, pretrained="x.pth", device="cpu")


def test_checkpoint_feature_mean_centres_features(tmp_path):
    import reid_models

    torch.manual_seed(2)
    model = reid_models.build_model("global", num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64))
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (90, 40, 3), dtype=np.uint8) for _ in range(6)]
    plain_path, centred_path, bad_path = tmp_path / "p.pt", tmp_path / "c.pt", tmp_path / "b.pt"
    reid_models.save_checkpoint(plain_path, model)
    raw = ReidEmbedder("global", weights=plain_path, device="cpu").embed_crops(crops)
    assert ReidEmbedder("global", weights=plain_path, device="cpu").feature_mean is None
    mean = raw.mean(axis=0)
    reid_models.save_checkpoint(centred_path, model, extra={"feature_mean": mean.tolist()})
    centred = ReidEmbedder("global", weights=centred_path, device="cpu").embed_crops(crops)
    expected = (raw - mean) / np.linalg.norm(raw - mean, axis=1, keepdims=True)
    np.testing.assert_allclose(centred, expected, atol=1e-5)
    # the spread the linker's thresholds rely on: centred distances are larger than raw ones
    assert (1 - centred @ centred.T).mean() > 2 * (1 - raw @ raw.T).mean()
    reid_models.save_checkpoint(bad_path, model, extra={"feature_mean": [0.0, 1.0]})
    with pytest.raises(reid_models.CheckpointError, match=r"b.pt: extra.feature_mean has 2 values"):
        ReidEmbedder("global", weights=bad_path, device="cpu")
    nan_mean = mean.copy()
    nan_mean[:3] = np.nan  # the length fits: the message names the real problem
    reid_models.save_checkpoint(bad_path, model, extra={"feature_mean": nan_mean.tolist()})
    with pytest.raises(reid_models.CheckpointError, match=r"b.pt: extra.feature_mean has 3 non-finite values"):
        ReidEmbedder("global", weights=bad_path, device="cpu")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(precision="int8"), "precision"),
        (dict(precision="fp16", device="cpu"), "fp16 needs a CUDA device"),
        (dict(device="tpu"), "device"),
        (dict(compile="fastest"), "compile"),
    ],
)
def test_bad_embedder_arguments(kwargs, message):
    args = dict(SMALL, **kwargs)
    with pytest.raises(ValueError, match=message):
        ReidEmbedder("global", **args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_requested_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        ReidEmbedder("global", **dict(SMALL, device="cuda"))


def test_registry_builds_and_none_is_motion_only():
    assert build_embedder("none") is None
    assert build_embedder("colorhist").dim == 3 * (8 * 4 + 4)
    # one line naming the option and what it takes (helper-87: a bare TypeError from its __init__)
    with pytest.raises(ValueError, match=r"colorhist: takes no device \(only the networks do\); its options: stripes"):
        build_embedder("colorhist", device="cpu")
    with pytest.raises(ValueError, match=r"colorhist: takes no stripess; its options: stripes"):  # a typo
        build_embedder("colorhist", stripess=2)
    import inspect

    from mctrack.embed import NETWORK_OPTIONS

    assert set(NETWORK_OPTIONS) == set(inspect.signature(ReidEmbedder).parameters) - {"arch", "model_kwargs"}


def test_colorhist_separates_colours_and_rejects_bad_args():
    emb = ColorHistogramEmbedder()
    red = np.zeros((60, 30, 3), np.uint8)
    red[..., 2] = 200
    blue = np.zeros((60, 30, 3), np.uint8)
    blue[..., 0] = 200
    f = emb.embed_crops([red, red.copy(), blue])
    assert f[0] @ f[1] > 0.999 and f[0] @ f[2] < 0.6  # only the shared brightness histogram agrees
    with pytest.raises(ValueError, match="stripes"):
        ColorHistogramEmbedder(stripes=0)


@pytest.mark.cuda
@pytest.mark.parametrize("precision, atol", [("fp32", 2e-3), ("fp16", 3e-2), ("bf16", 6e-2)])
def test_cuda_matches_cpu(precision, atol):
    torch.manual_seed(0)
    cpu = ReidEmbedder("laga", **SMALL)
    gpu = ReidEmbedder("laga", **dict(SMALL, device="cuda", precision=precision))
    gpu.model.load_state_dict(cpu.model.state_dict())
    crops = [np.random.default_rng(i).integers(0, 256, (100, 40, 3), dtype=np.uint8) for i in range(5)]
    a, b = cpu.embed_crops(crops), gpu.embed_crops(crops)
    assert b.shape == a.shape
    np.testing.assert_allclose(np.sum(a * b, axis=1), 1.0, atol=atol)  # cosine similarity ~1


def test_checkpoint_recommends_its_link_threshold(tmp_path):
    """A checkpoint's extra.link_thresh (its features' own scale) is what `mctrack run` links with by default."""
    import reid_models

    model = reid_models.build_model("global", num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64))
    reid_models.save_checkpoint(tmp_path / "r.pt", model, extra={"link_thresh": 0.2, "feature_mean": None})
    reid_models.save_checkpoint(tmp_path / "p.pt", model)
    assert ReidEmbedder("global", weights=tmp_path / "r.pt", device="cpu").recommended == {"link_thresh": 0.2}
    assert ReidEmbedder("global", weights=tmp_path / "p.pt", device="cpu").recommended == {}
    from mctrack.weights import bundled

    if "laga_market1501" in bundled():
        emb = ReidEmbedder("laga", weights=bundled()["laga_market1501"], device="cpu")
        assert emb.recommended["link_thresh"] == 0.2 and emb.feature_mean is not None
    if "global_market1501" in bundled():
        emb = ReidEmbedder("global", weights=bundled()["global_market1501"], device="cpu")
        assert emb.recommended["link_thresh"] == 0.3 and emb.feature_mean is not None and emb.dim == 512
    if "can_market1501" in bundled():
        emb = ReidEmbedder("can", weights=bundled()["can_market1501"], device="cpu")
        assert emb.recommended == {"link_thresh": 0.1, "track_appearance": [0.5, 0.6]} and emb.dim == 4096
        assert bundled()["can_market1501"].stat().st_size <= 25 * 2**20


def test_checkpoint_recommends_its_tracker_appearance(tmp_path):
    """A checkpoint's extra.track_appearance is the tracker's default (weight, threshold) for its features; the
    command-line flags still win; a malformed value is one error naming the file."""
    import argparse

    import reid_models
    from mctrack.commands._common import appearance_from_args
    from mctrack.embed import embedder_track_appearance, track_appearance

    model = reid_models.build_model("global", num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64))
    reid_models.save_checkpoint(tmp_path / "r.pt", model, extra={"track_appearance": [0.3, 0.45], "feature_mean": None})
    reid_models.save_checkpoint(tmp_path / "p.pt", model, extra={"feature_mean": None})
    recommending = ReidEmbedder("global", weights=tmp_path / "r.pt", device="cpu")
    plain = ReidEmbedder("global", weights=tmp_path / "p.pt", device="cpu")
    assert embedder_track_appearance(recommending, "global") == (0.3, 0.45)
    assert embedder_track_appearance(plain, "global") == track_appearance("global") != (0.3, 0.45)
    assert embedder_track_appearance(None, "colorhist") == track_appearance("colorhist")
    args = argparse.Namespace(reid="global", app_weight=None, app_thresh=None)
    chosen = appearance_from_args(args, recommending)
    assert chosen == {"appearance_weight": 0.3, "appearance_thresh": 0.45, "appearance_centre": "none"}
    args.app_thresh = 0.7
    chosen = appearance_from_args(args, recommending)
    assert chosen == {"appearance_weight": 0.3, "appearance_thresh": 0.7, "appearance_centre": "none"}
    for name, value in (("bad", "high"), ("short", [0.5]), ("range", [2.0, -1]), ("nan", [float("nan"), 0.5])):
        reid_models.save_checkpoint(
            tmp_path / f"{name}.pt", model, extra={"track_appearance": value, "feature_mean": None}
        )
        with pytest.raises(ValueError, match=f"{name}.pt: the track_appearance it recommends \\(a checkpoint's extra"):
            embedder_track_appearance(ReidEmbedder("global", weights=tmp_path / f"{name}.pt", device="cpu"), "global")
    args.app_weight = 0.9  # both flags given: the checkpoint's value is not even read
    bad = ReidEmbedder("global", weights=tmp_path / "range.pt", device="cpu")
    chosen = appearance_from_args(args, bad)
    assert chosen == {"appearance_weight": 0.9, "appearance_thresh": 0.7, "appearance_centre": "none"}
    args.reid, args.app_centre = "colorhist", "none"  # the histogram's own is "scene"; the flag wins
    assert appearance_from_args(args)["appearance_centre"] == "none"
    args.app_centre = None
    assert appearance_from_args(args)["appearance_centre"] == "scene"


def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    import torch

    from mctrack.embed import reid

    def build():
        return ReidEmbedder(
            "global", pretrained=None, backbone="resnet18", input_size=(64, 32), device="cpu", precision="auto"
        )

    monkeypatch.setattr(reid, "cpu_has_bf16", lambda: True)
    assert build().precision == "bf16" and reid.auto_precision(torch.device("cpu")) == "bf16"
    assert reid.auto_precision(torch.device("cuda")) == "fp32"  # GPU precisions: chosen by the device check
    monkeypatch.setattr(reid, "cpu_has_bf16", lambda: False)
    assert build().precision == "fp32"


def test_crops_cut_on_the_device_give_the_opencv_path_features(tmp_path):
    """The GPU fast path (one upload per frame, crops cut and resized there) run on the CPU: the same features
    as OpenCV crops and resizes, for boxes inside, at and beyond the image border, smaller (upsampled) and larger
    (downsampled) than the network input, and for several frames in one call."""
    import reid_models

    torch.manual_seed(3)
    model = reid_models.build_model("laga", num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64))
    path = tmp_path / "l.pt"
    reid_models.save_checkpoint(path, model, extra={"feature_mean": [0.01] * model.feature_dim})
    rng = np.random.default_rng(4)
    image = cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (7, 7), 2)  # photo-like smoothness
    other = cv2.GaussianBlur(rng.integers(0, 256, (200, 240, 3), dtype=np.uint8), (7, 7), 2)
    image[100:140, 200:205] = 10  # a dark, narrow person filling its box on a brighter background: the crop's
    boxes = np.array(  # edges must be repeated, as OpenCV does, not blended with the pixels beside the box
        [
            [10, 20, 60, 150],
            [150.4, 40.7, 190.2, 120.9],
            [-15, 200, 30, 320],
            [300, 10, 420, 290],
            [200, 100, 205, 140],
        ],
        np.float32,
    )
    opencv = ReidEmbedder("laga", weights=path, device="cpu", crop_on_device=False)
    device = ReidEmbedder("laga", weights=path, device="cpu", crop_on_device=True)
    assert not opencv.crop_on_device and device.crop_on_device
    a = opencv.embed_boxes([(image, boxes), (other, boxes[:2])])
    b = device.embed_boxes([(image, boxes), (other, boxes[:2])])
    assert a.shape == b.shape == (7, model.feature_dim)
    assert (a * b).sum(1).min() >= 0.9999  # only OpenCV's uint8 rounding differs
    small = ReidEmbedder("laga", weights=path, device="cpu", crop_on_device=True, batch_size=2)
    np.testing.assert_allclose(small.embed_boxes([(image, boxes), (other, boxes[:2])]), b, atol=1e-4)  # 2 at a time
    dets = Detections(boxes, np.ones(len(boxes), np.float32))
    np.testing.assert_allclose(device(image, dets), b[:5], atol=1e-5)  # __call__ takes the same path
    assert device(image, Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))).shape == (
        0,
        model.feature_dim,
    )


@pytest.mark.cuda
def test_cuda_crops_on_the_device_match_the_cpu_opencv_path():
    torch.manual_seed(0)
    cpu = ReidEmbedder("laga", **SMALL)
    gpu = ReidEmbedder("laga", **dict(SMALL, device="cuda"))
    gpu.model.load_state_dict(cpu.model.state_dict())
    assert gpu.crop_on_device and not cpu.crop_on_device  # the default: on CUDA only
    image = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8), (7, 7), 2)
    boxes = np.array([[10, 20, 60, 150], [300.5, 40, 380, 300], [600, 400, 700, 500]], np.float32)
    a, b = cpu.embed_boxes([(image, boxes)]), gpu.embed_boxes([(image, boxes)])
    np.testing.assert_allclose(np.sum(a * b, axis=1), 1.0, atol=2e-3)


def test_boxes_that_are_not_finite_are_refused_before_cropping():
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[10, 10, 50, 90], [np.nan, 0, 10, 10], [0, 0, np.inf, 10]], np.float32)
    with pytest.raises(ValueError, match=r"boxes: 2 not finite \(rows \[1, 2\]\)"):
        extract_crops(image, boxes)
    assert len(extract_crops(image, boxes[:1])) == 1


def test_inverted_boxes_are_warned_about_and_other_misuse_named():
    image = _scene()
    emb = build_embedder("colorhist")
    # (x, y, w, h) given as xyxy: x2 < x1; used to be embedded as a 1-pixel sliver without a word
    with pytest.warns(RuntimeWarning, match=r"1 box\(es\) with x2 <= x1 or y2 <= y1 \(rows \[1\]\): no area"):
        emb(image, Detections(np.array([[10, 20, 40, 100], [100, 60, 40, 100]], np.float32), np.ones(2)))
    with pytest.warns(RuntimeWarning, match=r"1 box\(es\) with x2 <= x1 .*\(rows \[0\]\)"):  # helper-68: zero size
        emb(image, Detections(np.array([[30, 20, 30, 100], [10, 20, 40, 100]], np.float32), np.ones(2)))
    with pytest.raises(TypeError, match="dets: expected mctrack.types.Detections, got ndarray"):
        emb(image, np.array([[10, 20, 40, 100]], np.float32))
    crops = [image[20:100, 10:40], image[5:5, 0:10]]
    with pytest.raises(ValueError, match=r"crops\[1\]: expected an \(h, w, 3\) uint8 BGR image .* shape \(0, 10, 3\)"):
        emb.embed_crops(crops)
    with pytest.raises(ValueError, match=r"crops\[0\]: .* shape \(80, 30\) dtype uint8"):
        emb.embed_crops([image[20:100, 10:40, 0]])


def test_build_embedder_gives_a_network_its_bundled_checkpoint_as_the_cli_does():
    from mctrack.weights import default_weights

    path = default_weights("laga")
    if path is None:
        pytest.skip("no bundled LAGA-Net checkpoint")
    # without weights it used to be an untrained ResNet-50 (close to random features) in Python only
    assert build_embedder("laga", device="cpu").weights == str(path)
    assert build_embedder("laga", weights="laga_samples", device="cpu").weights.endswith("laga_samples.pt")
    untrained = build_embedder("laga", **SMALL)  # an untrained network, asked for by its backbone
    assert untrained.weights is None
    with pytest.raises(ValueError, match="laga_nope"):
        build_embedder("laga", weights="laga_nope")


def test_device_names_that_cannot_be_used_here_are_one_clear_error():
    from mctrack.embed import select_device

    assert select_device("cpu").type == "cpu" and select_device(None).type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device: 'mps' is not supported here"):  # was torch's error at first use
        select_device("mps")
    with pytest.raises(ValueError, match="not a torch device: 'gpu0'"):
        select_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is available"):
            select_device("cuda:0")


def test_an_untrained_network_says_what_its_backbone_started_from(monkeypatch):
    """helper-75: a run asking for ImageNet weights offline ran on random ones; its record had weights: null and
    nothing else, and its command line implied ImageNet weights that were never loaded."""
    from reid_models.models.backbones import PretrainedUnavailable

    def offline(*args, **kwargs):
        raise OSError("no network")

    import warnings

    import mctrack.embed.reid as reid

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    monkeypatch.setattr(reid, "_WARNED", set())  # as in a new process
    with pytest.warns(PretrainedUnavailable):  # still said, as before
        emb = ReidEmbedder("global", **dict(SMALL, pretrained="imagenet"))
    assert emb.backbone_init.startswith("resnet18: random (ImageNet weights for resnet18 could not be obtained")
    with warnings.catch_warnings(record=True) as again:  # a second embedder built alike: not said again
        warnings.simplefilter("always")
        assert ReidEmbedder("global", **dict(SMALL, pretrained="imagenet")).backbone_init == emb.backbone_init
    assert not [w for w in again if isinstance(w.message, PretrainedUnavailable)]
    assert ReidEmbedder("global", **SMALL).backbone_init == "resnet18: random"


def _small_checkpoint(tmp_path, **extra):
    import reid_models

    torch.manual_seed(6)
    model = reid_models.build_model("global", num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64))
    path = tmp_path / "s.pt"
    reid_models.save_checkpoint(path, model, **({"extra": extra} if extra else {}))
    return path


def test_cpu_bf16_is_seen_by_either_probe_and_a_broken_probe_counts_as_no(monkeypatch):
    from mctrack.embed import reid

    def broken():
        raise RuntimeError("a private probe that changed")

    for avx, amx, has in (
        (False, False, False),
        (False, True, True),
        (True, broken, True),
        (broken, False, False),
        (broken, True, True),
    ):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", avx if callable(avx) else lambda v=avx: v, False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", amx if callable(amx) else lambda v=amx: v, False)
        assert reid.cpu_has_bf16() is has


def test_auto_device_is_cuda_when_present_else_cpu(monkeypatch):
    from mctrack.embed import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert [select_device(d) for d in (None, "", "auto")] == [torch.device("cpu")] * 3
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert [select_device(d) for d in (None, "", "auto")] == [torch.device("cuda")] * 3
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_device("cuda:1") == torch.device("cuda:1") and select_device("cuda") == torch.device("cuda")
    # helper-106: a GPU that is not there was accepted, torch's "invalid device ordinal" coming mid-run
    with pytest.raises(ValueError, match=r"device: 'cuda:7' requested but only 2 CUDA GPUs \(cuda:0-1\) are"):
        select_device("cuda:7")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"device: 'cuda:1' requested but only 1 CUDA GPU \(cuda:0\) is available"):
        select_device("cuda:1")


def test_a_batch_size_of_one_gives_the_batched_features():
    torch.manual_seed(0)
    one = ReidEmbedder("global", **dict(SMALL, batch_size=1))
    four = ReidEmbedder("global", **SMALL)
    four.model.load_state_dict(one.model.state_dict())
    crops = [np.random.default_rng(i).integers(0, 256, (90, 40, 3), dtype=np.uint8) for i in range(3)]
    assert one.batch_size == 1
    np.testing.assert_allclose(one.embed_crops(crops), four.embed_crops(crops), atol=1e-4)


def test_network_options_with_a_checkpoint_are_refused_naming_them(tmp_path):
    path = _small_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"devcie: not an option of an embedder loaded from a checkpoint"):
        ReidEmbedder("global", weights=path, device="cpu", devcie="cpu")


def test_a_checkpoint_without_a_feature_mean_is_warned_about(tmp_path, caplog):
    path = _small_checkpoint(tmp_path)
    with caplog.at_level("WARNING", logger="mctrack.embed.reid"):
        ReidEmbedder("global", weights=path, device="cpu")
    assert f"{path}: no feature mean in the checkpoint, so features are not centred" in caplog.text


def test_another_input_size_than_the_checkpoints_is_refused(tmp_path):
    path = _small_checkpoint(tmp_path, feature_mean=None)
    assert ReidEmbedder("global", weights=path, device="cpu", input_size=(128, 64)).input_size == (128, 64)
    with pytest.raises(ValueError, match=r"input_size: \(256, 128\), but .*s.pt was trained at \(128, 64\)"):
        ReidEmbedder("global", weights=path, device="cpu", input_size=(256, 128))


def test_an_untrained_network_has_the_asked_input_size_and_a_resnet50_by_default():
    assert ReidEmbedder("global", **SMALL).input_size == (128, 64)
    emb = ReidEmbedder("global", pretrained=None, input_size=(64, 32), device="cpu")
    assert emb.backbone_init == "resnet50: random" and emb.input_size == (64, 32)


def test_bf16_runs_the_convolutions_in_bfloat16_close_to_fp32():
    torch.manual_seed(0)
    fp32 = ReidEmbedder("global", **SMALL)
    bf16 = ReidEmbedder("global", **dict(SMALL, precision="bf16"))
    bf16.model.load_state_dict(fp32.model.state_dict())
    convs = [m for m in bf16.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.dtype == torch.bfloat16 for m in convs)  # kept in bf16, not cast per call
    seen = []
    convs[0].register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    crops = [np.random.default_rng(i).integers(0, 256, (128, 64, 3), dtype=np.uint8) for i in range(2)]
    a, b = fp32.embed_crops(crops), bf16.embed_crops(crops)
    assert seen == [torch.bfloat16] and bf16.precision == "bf16"
    assert (a * b).sum(1).min() > 0.99


def test_the_network_is_channels_last_unless_asked_otherwise():
    def first_conv(emb):
        return next(m for m in emb.model.modules() if isinstance(m, torch.nn.Conv2d)).weight

    nhwc = first_conv(ReidEmbedder("global", **SMALL))
    nchw = first_conv(ReidEmbedder("global", **dict(SMALL, channels_last=False)))
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and not nhwc.is_contiguous()
    assert nchw.is_contiguous()


def test_crops_are_cut_on_the_device_by_default_only_on_cuda():
    emb = ReidEmbedder("global", **SMALL)
    assert emb.device.type == "cpu" and emb.crop_on_device is False
    assert ReidEmbedder("global", **dict(SMALL, crop_on_device=True)).crop_on_device is True


def test_crops_cut_on_the_device_take_any_frame_view_and_refuse_what_is_not_a_frame():
    torch.manual_seed(0)
    emb = ReidEmbedder("global", **dict(SMALL, crop_on_device=True))
    frame = _scene(2)
    boxes = np.array([[10, 20, 40, 100], [60, 20, 90, 100]], np.float32)
    mirrored = frame[:, ::-1]  # a view with negative strides, as frame[:, ::-1] gives
    np.testing.assert_allclose(emb.embed_boxes([(mirrored, boxes)]), emb.embed_boxes([(mirrored.copy(), boxes)]))
    with pytest.raises(
        ValueError, match=r"image: expected \(H, W, 3\) uint8 BGR, got shape \(120, 160, 3\) dtype float32"
    ):
        emb.embed_boxes([(frame.astype(np.float32), boxes)])


def test_crops_cut_on_the_device_are_opencvs_bilinear_resize_of_the_box():
    """Every output pixel of the device path within OpenCV's uint8 rounding of cv2.resize of the cut crop, for a
    box upsampled and one downsampled: a crop's edge pixels are repeated, not blended with the pixels beside it."""
    from mctrack.embed.reid import _crop_resize, _upload

    frame = _scene(3)
    frame[30:70, 50:55] = 0  # a dark narrow box on a brighter frame: the rows and columns beside it must not leak in
    boxes = np.array([[50, 30, 55, 70], [5, 2, 150, 118]])
    got = _crop_resize(_upload(frame, torch.device("cpu")), boxes, (64, 32)).numpy().transpose(0, 2, 3, 1)
    for crop, (x1, y1, x2, y2) in zip(got, boxes):
        want = cv2.resize(frame[y1:y2, x1:x2], (32, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        assert np.abs(crop - want).max() <= 1.0


def test_features_are_the_networks_on_the_imagenet_normalised_rgb_crop(tmp_path):
    """With trained BatchNorm statistics the network is not scale-invariant, so the input's scale (0-255 pixels
    divided by 255 * std) shows in its features (an untrained network's hides it)."""
    import reid_models

    torch.manual_seed(4)
    model = reid_models.build_model("global", num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)
    path = tmp_path / "bn.pt"
    reid_models.save_checkpoint(path, model, extra={"feature_mean": None})
    crop = np.random.default_rng(8).integers(0, 256, (128, 64, 3), dtype=np.uint8)  # the input size: no resizing
    rgb = crop[:, :, ::-1].astype(np.float32) / 255.0
    rgb = (rgb - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]))
    with torch.inference_mode():
        ref = torch.nn.functional.normalize(model.eval()(x).feature, dim=1).numpy()
    np.testing.assert_allclose(ReidEmbedder("global", weights=path, device="cpu").embed_crops([crop]), ref, atol=1e-4)
