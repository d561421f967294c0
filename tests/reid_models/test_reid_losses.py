"""Losses on hand-computed cases, and the per-architecture criteria."""

from __future__ import annotations

import math

import pytest
import torch

from reid_models import (
    CanLoss,
    CenterLoss,
    CrossEntropyLabelSmooth,
    LagaLoss,
    ReidOutput,
    TripletLoss,
    build_criterion,
    build_model,
)

# a=(0,0), b=(3,0) have label 0; c=(0,1), d=(4,4) have label 1.
POINTS = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [4.0, 4.0]])
LABELS = torch.tensor([0, 0, 1, 1])
# hardest positive - hardest negative per anchor, by hand:
# a: d(a,b)=3 - d(a,c)=1; b: d(b,a)=3 - d(b,c)=sqrt(10); c: d(c,d)=5 - d(c,a)=1; d: d(d,c)=5 - d(d,b)=sqrt(17)
GAPS = [3 - 1, 3 - math.sqrt(10), 5 - 1, 5 - math.sqrt(17)]


@pytest.mark.parametrize(
    ("margin", "expected"),
    [
        (1.2, sum(max(0.0, g + 1.2) for g in GAPS) / 4),
        (0.0, sum(max(0.0, g) for g in GAPS) / 4),
        (None, sum(math.log1p(math.exp(g)) for g in GAPS) / 4),
    ],
)
def test_triplet_hand_computed(margin: float | None, expected: float) -> None:
    points = POINTS.clone().requires_grad_()
    loss = TripletLoss(margin)(points, LABELS)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert points.grad is not None and points.grad.abs().sum() > 0


def test_triplet_skips_anchors_without_positive() -> None:
    # e = (10, 10) is alone with label 2: no positive, so no triplet; it is farther than every anchor's
    # hardest negative, so the other anchors' triplets do not change either.
    points = torch.cat([POINTS, torch.tensor([[10.0, 10.0]])])
    labels = torch.cat([LABELS, torch.tensor([2])])
    assert TripletLoss(1.2)(points, labels).item() == pytest.approx(sum(g + 1.2 for g in GAPS if g > -1.2) / 4)


@pytest.mark.parametrize(
    "labels",
    [torch.tensor([0, 0, 0, 0]), torch.tensor([0, 1, 2, 3]), torch.tensor([5])],
    ids=["no-negatives", "no-positives", "single"],
)
def test_triplet_without_valid_anchor_is_zero_with_grad(labels: torch.Tensor) -> None:
    points = POINTS[: len(labels)].clone().requires_grad_()
    loss = TripletLoss(1.2)(points, labels)
    assert loss.item() == 0.0
    loss.backward()
    assert points.grad is not None


def test_triplet_empty_batch() -> None:
    assert TripletLoss(None)(torch.zeros(0, 8), torch.zeros(0, dtype=torch.long)).item() == 0.0


def test_center_loss_hand_computed() -> None:
    loss_fn = CenterLoss(num_classes=2, feat_dim=2)
    with torch.no_grad():
        loss_fn.centers.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    x = torch.tensor([[1.0, 0.0], [3.0, 1.0], [0.0, 0.0]])
    loss = loss_fn(x, torch.tensor([0, 1, 0]))  # squared distances 1, 4, 0
    assert loss.item() == pytest.approx(5 / 3)
    loss.backward()
    torch.testing.assert_close(loss_fn.centers.grad, torch.tensor([[-2 / 3, 0.0], [-4 / 3, 0.0]]))


def test_label_smoothing_two_classes_hand_computed() -> None:
    logits = torch.tensor([[0.0, math.log(3.0)]])  # p = (1/4, 3/4)
    # target distribution (1 - 0.1) * one_hot(1) + 0.1 / 2 = (0.05, 0.95)
    expected = -(0.05 * math.log(0.25) + 0.95 * math.log(0.75))
    assert CrossEntropyLabelSmooth(2, epsilon=0.1)(logits, torch.tensor([1])).item() == pytest.approx(expected)
    assert CrossEntropyLabelSmooth(2, epsilon=0.0)(logits, torch.tensor([1])).item() == pytest.approx(-math.log(0.75))


def test_label_smoothing_checks_class_count() -> None:
    with pytest.raises(ValueError, match="3 classes"):
        CrossEntropyLabelSmooth(3)(torch.zeros(2, 4), torch.tensor([0, 1]))


def _output(heads: int, dim: int = 2, classes: int = 3) -> ReidOutput:
    generator = torch.Generator().manual_seed(0)
    embeddings = tuple(torch.randn(4, dim, generator=generator) for _ in range(heads))
    logits = tuple(torch.randn(4, classes, generator=generator) for _ in range(heads))
    return ReidOutput(feature=torch.cat(embeddings, 1), embeddings=embeddings, logits=logits)


def test_laga_loss_is_sum_of_ce_plus_tenth_of_triplets() -> None:
    out, labels = _output(heads=2), torch.tensor([0, 0, 1, 1])
    total, terms = LagaLoss(3)(out, labels)
    ce = sum(CrossEntropyLabelSmooth(3, 0.1)(logit, labels) for logit in out.logits)
    triplet = sum(TripletLoss(1.2)(e, labels) for e in out.embeddings)
    assert total.item() == pytest.approx((ce + 0.1 * triplet).item())
    assert terms == pytest.approx({"ce": ce.item(), "triplet": triplet.item(), "total": total.item()})


def test_can_loss_groups_parts_per_branch() -> None:
    out, labels = _output(heads=1 + 3 + 4), torch.tensor([0, 0, 1, 1])  # parts (3, 4): heads 0 | 1 2 3 | 4 5 6 7
    loss = CanLoss(3, parts=(3, 4), embedding_dim=2)
    assert loss.groups == [[0], [1], [2, 3], [4], [5, 6, 7]]
    assert [c.centers.shape for c in loss.centers] == [(3, 2), (3, 2), (3, 4), (3, 2), (3, 6)]
    total, terms = loss(out, labels)
    features = [torch.cat([out.embeddings[i] for i in group], 1) for group in loss.groups]
    ce = sum(torch.nn.functional.cross_entropy(logit, labels) for logit in out.logits) / 8
    triplet = sum(TripletLoss(1.2)(f, labels) for f in features) / 5
    center = sum(c(f, labels) for c, f in zip(loss.centers, features)) / 5
    assert terms["ce"] == pytest.approx(ce.item()) and terms["triplet"] == pytest.approx(triplet.item())
    assert terms["center"] == pytest.approx(center.item())
    assert total.item() == pytest.approx((ce + triplet + 0.0005 * center).item())


@pytest.mark.parametrize(
    ("criterion", "output", "message"),
    [
        (CanLoss(3), _output(heads=6), "expected 16"),
        (LagaLoss(3), ReidOutput(torch.zeros(4, 2), (torch.zeros(4, 2),), ()), "no logits"),
    ],
)
def test_criteria_reject_wrong_outputs(criterion: torch.nn.Module, output: ReidOutput, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        criterion(output, torch.tensor([0, 0, 1, 1]))


@pytest.mark.parametrize(("arch", "kind"), [("laga", LagaLoss), ("global", LagaLoss), ("can", CanLoss)])
def test_build_criterion_follows_architecture(arch: str, kind: type) -> None:
    model = build_model(arch, num_classes=5, backbone="resnet18", pretrained=None, input_size=(128, 64))
    assert isinstance(build_criterion(model), kind)
    with pytest.raises(ValueError, match="num_classes=0"):
        build_criterion(build_model(arch, num_classes=0, backbone="resnet18", pretrained=None, input_size=(128, 64)))


@pytest.mark.parametrize("epsilon", [-0.01, 1.0, 1.5, float("nan")])
def test_label_smoothing_refuses_epsilon_outside_zero_to_one(epsilon: float) -> None:
    """epsilon 1 would make every target uniform: nothing is learned."""
    with pytest.raises(ValueError, match=r"epsilon: must be in \[0, 1\)"):
        CrossEntropyLabelSmooth(3, epsilon=epsilon)
    with pytest.raises(ValueError, match="epsilon"):
        LagaLoss(3, epsilon=epsilon)


@pytest.mark.parametrize("epsilon", [0.0, 0.999])
def test_label_smoothing_accepts_epsilon_at_the_edges(epsilon: float) -> None:
    assert CrossEntropyLabelSmooth(3, epsilon=epsilon).epsilon == epsilon


def test_losses_refuse_zero_classes_or_dimensions() -> None:
    """One class (or feature) is the smallest accepted."""
    with pytest.raises(ValueError, match="num_classes: must be >= 1, got 0"):
        CrossEntropyLabelSmooth(0)
    assert CrossEntropyLabelSmooth(1).num_classes == 1
    for classes, dim in [(0, 2), (2, 0)]:
        with pytest.raises(ValueError, match="must be >= 1"):
            CenterLoss(classes, dim)
    assert CenterLoss(1, 1).centers.shape == (1, 1)


@pytest.mark.parametrize("margin", [-0.1, -1e-6, float("nan")])
def test_triplet_refuses_a_negative_margin(margin: float) -> None:
    with pytest.raises(ValueError, match="margin: must be >= 0 or None"):
        TripletLoss(margin)
    with pytest.raises(ValueError, match="margin"):
        LagaLoss(3, margin=margin)


def test_triplet_gradient_is_finite_for_identical_embeddings() -> None:
    """Two identical vectors (distance 0): the sqrt's derivative is infinite there without the clamp."""
    points = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [5.0, 5.0]], requires_grad=True)
    loss = TripletLoss(1.2)(points, LABELS)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(points.grad).all()


def test_triplet_distances_are_exact_for_close_embeddings() -> None:
    """The clamp guarding the sqrt is far below any real squared distance: a scaled-down scene scales the loss."""
    scale = 1e-5
    loss = TripletLoss(0.0)(POINTS * scale, LABELS)
    assert loss.item() == pytest.approx(scale * sum(max(0.0, g) for g in GAPS) / 4, rel=1e-4)
