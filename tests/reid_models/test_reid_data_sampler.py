"""P x K sampler and seeded transforms."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from reid_models.data import PKBatchSampler, ReidTransform

LABELS = [0] * 6 + [1] * 4 + [2] * 2 + [3] * 5 + [4] * 1 + [5] * 8


@pytest.mark.parametrize(("p", "k"), [(2, 2), (3, 4), (6, 1)])
def test_every_batch_is_p_identities_times_k(p: int, k: int) -> None:
    sampler = PKBatchSampler(LABELS, p, k, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        counts = Counter(LABELS[i] for i, _ in batch)
        assert len(batch) == p * k and len(counts) == p and set(counts.values()) == {k}


def test_seeded_by_seed_and_epoch() -> None:
    a, b = PKBatchSampler(LABELS, 2, 2, seed=0), PKBatchSampler(LABELS, 2, 2, seed=0)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(PKBatchSampler(LABELS, 2, 2, seed=1)) != first


def test_few_images_drawn_with_replacement() -> None:
    batches = list(PKBatchSampler([0, 1, 1, 1, 1], 2, 4, seed=0))
    assert batches and all(Counter(i for i, _ in b)[0] == 4 for b in batches)


def test_sampler_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="p:"):
        PKBatchSampler([0, 1], 3, 2)
    with pytest.raises(ValueError, match="k:"):
        PKBatchSampler([0, 1], 1, 0)


def test_transforms_are_seeded_and_shaped() -> None:
    image = np.random.default_rng(0).integers(0, 255, (50, 30, 3), dtype=np.uint8)
    train = ReidTransform((64, 32), train=True, pad=4, color_jitter=0.3, random_erasing=1.0)
    a, b, c = train(image, 7), train(image, 7), train(image, 8)
    assert a.shape == (3, 64, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    plain = ReidTransform((64, 32))
    assert torch.equal(plain(image, 1), plain(image, 2))
    assert (train(image, 7) == 0).any()  # random erasing with p=1 zeroes a rectangle
    with pytest.raises(ValueError, match="random_erasing"):
        ReidTransform((64, 32), random_erasing=1.5)
