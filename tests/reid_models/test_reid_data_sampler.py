"""P x K sampler, seeded transforms and the decoded (GPU) data path."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from reid_models.data import DatasetError, DecodedImages, ImageDataset, PKBatchSampler, ReidTransform

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


def test_each_epoch_cuts_other_chunks_so_every_image_is_trained_on() -> None:
    """An identity's images are shuffled before they are cut into chunks of k: the n mod k left over differ from
    epoch to epoch, so every image is drawn in the end; and the images of a batch get different augmentation seeds
    (helper-96: without the shuffle the same chunks came every epoch and 2 of each identity's 10 images never did)."""
    labels = [i // 10 for i in range(60)]  # 6 identities x 10 images, k = 4: 2 images per identity left over
    sampler = PKBatchSampler(labels, 3, 4, seed=1)
    drawn, chunks = set(), []
    for epoch in range(8):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        drawn.update(i for batch in batches for i, _ in batch)
        chunks.append(sorted(tuple(sorted(i for i, _ in batch[j : j + 4])) for batch in batches for j in (0, 4, 8)))
        for batch in batches:
            assert len({s for _, s in batch}) == len(batch)  # one seed per image
    assert drawn == set(range(60))
    assert len({tuple(c) for c in chunks}) == 8  # other chunks in every epoch


def test_few_images_drawn_with_replacement() -> None:
    batches = list(PKBatchSampler([0, 1, 1, 1, 1], 2, 4, seed=0))
    assert batches and all(Counter(i for i, _ in b)[0] == 4 for b in batches)


def test_sampler_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"p: 3 identities per batch but the data has only 2; set p to at most that"):
        PKBatchSampler([0, 1], 3, 2)
    # with processes, a value that also splits evenly over them (helper-84: the hint named one --nproc refused)
    with pytest.raises(ValueError, match=r"only 5; set p to at most that \(--set p=4\)"):
        PKBatchSampler([0, 1, 2, 3, 4], 6, 2, rank=0, world_size=2)
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


@pytest.mark.parametrize(
    "options",
    [
        {"train": True, "pad": 4, "color_jitter": 0.3, "random_erasing": 1.0},
        {"train": True, "pad": 0, "flip": False, "color_jitter": 0.0, "random_erasing": 0.5},
        {"train": False},
    ],
)
def test_batch_transform_equals_the_per_image_one(options: dict) -> None:
    """The GPU data path's batched augmentation gives the per-image transform's tensors (same seeds)."""
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (int(rng.integers(40, 90)), 30, 3), dtype=np.uint8) for _ in range(24)]
    transform = ReidTransform((64, 32), **options)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=len(images))]
    expected = torch.stack([transform(image, seed) for image, seed in zip(images, seeds, strict=True)])
    resized = torch.from_numpy(np.stack([transform.resize(image) for image in images])).permute(0, 3, 1, 2)
    got = transform.batch(resized.contiguous(), seeds)
    assert got.shape == expected.shape and got.dtype == torch.float32
    assert torch.allclose(got, expected, atol=1e-5)
    if options["train"]:  # the parameters differ between samples, so the check is not vacuous
        flips = {transform.draw(s).flip for s in seeds}
        assert len(flips) == (2 if transform.flip else 1)
        assert (expected == 0).any() and not torch.equal(expected[0], transform(images[0], seeds[0] + 1))


def test_augmentations_are_drawn_as_the_recipe_says() -> None:
    """Over 4,000 seeds: flips half the time, crop offsets uniform over the whole padding both ways, colour factors
    within 1 -+ color_jitter both ways, erasing at its probability over 2-40% of the image with aspects 0.3-3.3
    (Zhong et al.'s random erasing); the batch and per-image paths share these draws, so their equality alone cannot
    catch a wrong range (helper-96)."""
    h, w = 64, 32
    tf = ReidTransform((h, w), train=True, pad=4, color_jitter=0.3, random_erasing=0.5)
    draws = [tf.draw(seed) for seed in range(4000)]
    assert 0.46 < np.mean([a.flip for a in draws]) < 0.54
    offsets = np.array([(a.dy, a.dx) for a in draws])
    assert offsets.min() == 0 and offsets.max() == 8 and abs(offsets.mean() - 4) < 0.2
    jitter = np.array([a.jitter for a in draws])
    assert 0.7 <= jitter.min() < 0.72 and 1.28 < jitter.max() <= 1.3 and abs(jitter.mean() - 1) < 0.02
    erased = [a.erase for a in draws if a.erase is not None]
    assert 0.46 < len(erased) / len(draws) < 0.54
    areas = np.array([eh * ew / (h * w) for _, _, eh, ew in erased])
    aspects = np.array([eh / ew for _, _, eh, ew in erased])
    assert 0.015 < areas.min() < 0.05 and 0.3 < areas.max() < 0.45  # rounding moves the ends a little
    assert 0.25 < aspects.min() < 0.45 and 2.5 < aspects.max() < 4.0
    assert all(0 <= y and y + eh <= h and 0 <= x and x + ew <= w for y, x, eh, ew in erased)
    with pytest.raises(ValueError, match="pad"):
        ReidTransform((h, w), pad=-1)
    with pytest.raises(ValueError, match="color_jitter"):
        ReidTransform((h, w), color_jitter=1.0)


def test_batch_transform_rejects_bad_input() -> None:
    transform = ReidTransform((64, 32), train=True)
    with pytest.raises(ValueError, match="uint8"):
        transform.batch(torch.zeros(2, 3, 64, 32), [0, 1])
    with pytest.raises(ValueError, match="seeds"):
        transform.batch(torch.zeros(2, 3, 64, 32, dtype=torch.uint8), [0])
    with pytest.raises(ValueError, match="size"):
        transform.batch(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), [0, 1])


def test_decoded_images_batch_equals_the_loader_and_names_a_bad_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"{i}.jpg")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 255, (60 + i, 30, 3), dtype=np.uint8))
    labels = [0, 0, 1, 1, 2, 2]
    transform = ReidTransform((64, 32), train=True, pad=4, color_jitter=0.2, random_erasing=0.5)
    decoded = DecodedImages(paths, labels, transform, threads=2)
    assert decoded.images.shape == (6, 3, 64, 32) and decoded.images.dtype == torch.uint8
    items = [(4, 11), (1, 12), (1, 13)]
    images, got_labels = decoded.batch(items)
    dataset = ImageDataset(paths, labels, transform)
    expected = torch.stack([dataset[item][0] for item in items])
    assert torch.allclose(images, expected, atol=1e-5) and got_labels.tolist() == [2, 0, 0]
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="bad.jpg"):
        DecodedImages([*paths, tmp_path / "bad.jpg"], [*labels, 3], transform)


@pytest.mark.cuda
def test_batch_transform_on_cuda_equals_the_cpu_one() -> None:
    rng = np.random.default_rng(3)
    images = torch.from_numpy(rng.integers(0, 255, (16, 3, 64, 32), dtype=np.uint8))
    transform = ReidTransform((64, 32), train=True, pad=4, color_jitter=0.3, random_erasing=1.0)
    seeds = list(range(16))
    got = transform.batch(images.cuda(), seeds)
    assert got.is_cuda and torch.allclose(got.cpu(), transform.batch(images, seeds), atol=1e-5)
