"""mctrack embedders as BoxMOT Re-ID backends (the BoxMOT run itself only where BoxMOT is installed)."""

from __future__ import annotations

import numpy as np
import pytest

from mctrack.embed import build_embedder
from mctrack.integrations.boxmot import BoxmotReID
from mctrack.types import Detections


def _frame():
    img = np.full((120, 160, 3), 50, np.uint8)
    img[10:90, 10:40] = (0, 0, 220)
    img[20:110, 100:130] = (220, 120, 0)
    return img


BOXES = np.array([[10, 10, 40, 90, 0.9, 0], [100, 20, 130, 110, 0.8, 0]], np.float32)


def test_get_features_is_the_embedder_output():
    emb = build_embedder("colorhist")
    reid = BoxmotReID(emb)
    feats = reid.get_features(BOXES, _frame())
    want = emb(_frame(), Detections(BOXES[:, :4], np.ones(2, np.float32)))
    np.testing.assert_allclose(feats, want)
    assert feats.shape == (2, reid.dim) and reid.get_features(np.zeros((0, 6)), _frame()).shape == (0, reid.dim)
    with pytest.raises(ValueError, match="image"):
        reid.get_features(BOXES, None)
    with pytest.raises(ValueError, match="kwargs"):
        BoxmotReID(emb, weights="x")
    with pytest.raises(ValueError, match="embedder 'none': gives no features"):
        BoxmotReID("none")
    with pytest.raises(TypeError, match="an mctrack embedder"):
        BoxmotReID(object())
    # BoxMOT's oriented boxes (is_obb=True) come as cx, cy, w, h, angle: not xyxy, refused rather than embedded
    with pytest.raises(ValueError, match="5 columns, BoxMOT's oriented boxes"):
        reid.get_features(np.array([[100, 100, 40, 100, 0]], np.float32), _frame())
    # one box as a flat row: the message named the shape it was reshaped to, (4, 1), not the one given
    with pytest.raises(ValueError, match=r"boxes: expected \(N, 4\) or \(N, 6\) rows .* got shape \(4,\)"):
        reid.get_features(np.array([10, 10, 40, 90], np.float32), _frame())


def test_named_network_uses_its_bundled_checkpoint():
    reid = BoxmotReID("laga")
    assert reid.dim > 1000 and reid.embedder.name == "laga"
    f = reid.get_features(BOXES, _frame())
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=1e-4)
    # bundled names work as on the command line; options the checkpoint fixes, or misspelt ones, are refused
    assert BoxmotReID("laga", weights="laga_samples").embedder.weights.endswith("laga_samples.pt")
    with pytest.raises(ValueError, match="bundled: .*laga_market1501"):
        BoxmotReID("laga", weights="laga_nope")
    with pytest.raises(ValueError, match="devcie: not an option of an embedder loaded from a checkpoint"):
        BoxmotReID("laga", devcie="cuda")
    with pytest.raises(ValueError, match=r"input_size: \(256, 128\), but .* was trained at"):
        BoxmotReID("laga", input_size=(256, 128))


def test_boxmot_botsort_tracks_with_our_features():
    boxmot = pytest.importorskip("boxmot")
    tracker = boxmot.BotSort(reid_model=BoxmotReID("colorhist"), use_cmc=False, frame_rate=10)
    ids = []
    for i in range(12):
        dets = BOXES.copy()
        dets[:, [0, 2]] += i  # both walk right
        out = tracker.update(dets, _frame())
        if len(out):
            ids.append(sorted(out[:, 4].astype(int).tolist()))
    assert ids and all(x == ids[-1] for x in ids[-5:]) and len(ids[-1]) == 2  # two stable identities


def test_no_boxes_in_any_form_give_no_features_without_calling_the_embedder():
    """mut105: a frame without detections is asked about as an empty array of any shape (BoxMOT slices its (N, 6)
    detections, a caller may pass ``[]``); the answer is (0, D) float32, and the embedder is not called."""
    calls = []
    emb = build_embedder("colorhist")

    def counting(image, dets):
        calls.append(len(dets))
        return emb(image, dets)

    counting.dim = emb.dim
    reid = BoxmotReID(counting)
    for empty in ([], np.zeros((0,)), np.zeros((0, 6), np.float32)):
        feats = reid.get_features(empty, _frame())
        assert feats.shape == (0, emb.dim) and feats.dtype == np.float32
    assert calls == []


def test_a_grey_image_is_refused_by_boxmot_reid_itself():
    """mut105: ``get_features`` needs an (H, W, 3) BGR frame; a 2-D grey image is refused with this module's own
    message, not handed to the embedder."""
    reid = BoxmotReID(build_embedder("colorhist"))
    with pytest.raises(ValueError, match=r"image: expected an \(H, W, 3\) BGR frame"):
        reid.get_features(BOXES, _frame()[:, :, 0])


def test_an_embedder_needs_both_a_call_and_a_dim():
    """mut105: the docstring's embedder is callable *and* has ``dim``; an object with only one of them is a TypeError
    at construction, not a failure inside BoxMOT's first update."""

    class OnlyDim:
        dim = 8

    def only_call(image, dets):
        return np.zeros((len(dets), 8), np.float32)

    for bad in (OnlyDim(), only_call):
        with pytest.raises(TypeError, match="an mctrack embedder"):
            BoxmotReID(bad)


def test_features_are_float32_and_the_default_embedder_is_laga():
    """mut105: ``get_features`` documents ``(N, D) float32`` whatever the embedder answers in; ``BoxmotReID()``
    without arguments is the bundled LAGA-Net, as the signature and the module's example say."""
    emb = build_embedder("colorhist")

    def double(image, dets):
        return np.asarray(emb(image, dets), np.float64)

    double.dim = emb.dim
    feats = BoxmotReID(double).get_features(BOXES, _frame())
    assert feats.dtype == np.float32
    np.testing.assert_allclose(feats, emb(_frame(), Detections(BOXES[:, :4], np.ones(2, np.float32))), rtol=1e-6)
    assert BoxmotReID().embedder.name == "laga"
