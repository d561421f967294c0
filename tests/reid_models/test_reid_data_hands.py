"""The 11k / HD hand protocol: one gallery image per test identity, the rest queries, 10 seeded splits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from reid_models.data import Sample, evaluate_hand_protocol, hand_splits, load_11k, load_hd


def _write_11k(root: Path) -> None:
    (root / "Hands").mkdir(parents=True)
    rows = ["id,age,gender,skinColor,accessories,nailPolish,aspectOfHand,imageName,irregularities"]
    n = 0
    for pid in range(1, 7):
        for aspect in ("dorsal right", "palmar left"):
            for _ in range(3):
                n += 1
                name = f"Hand_{n:07d}.jpg"
                cv2.imwrite(str(root / "Hands" / name), np.full((8, 8, 3), pid * 30, np.uint8))
                rows.append(f"{pid:07d},20,male,fair,0,0,{aspect},{name},0")
    (root / "HandInfo.csv").write_text("\n".join(rows) + "\n")


def test_11k_aspects(tmp_path: Path) -> None:
    _write_11k(tmp_path)
    samples = load_11k(tmp_path, "dorsal right")
    assert len(samples) == 18 and len({s.pid for s in samples}) == 6
    assert all(s.path.is_file() for s in samples)
    with pytest.raises(ValueError, match="aspect"):
        load_11k(tmp_path, "dorsal")


def test_splits_one_gallery_image_per_test_identity(tmp_path: Path) -> None:
    _write_11k(tmp_path)
    samples = load_11k(tmp_path, "palmar left")
    splits = hand_splits(samples, num_test_ids=3, seed=0)
    assert len(splits) == 10
    for split in splits:
        test_ids = {s.pid for s in split.gallery}
        assert len(split.gallery) == len(test_ids) == 3
        assert {s.pid for s in split.query} == test_ids
        assert not test_ids & {s.pid for s in split.train}
        assert len(split.query) == 3 * 2 and len(split.train) == 3 * 3
        assert not {s.path for s in split.gallery} & {s.path for s in split.query}
    assert len({tuple(s.path for s in split.gallery) for split in splits}) > 1  # splits differ
    again = hand_splits(samples, num_test_ids=3, seed=0)
    assert [sp.gallery for sp in again] == [sp.gallery for sp in splits]  # seeded


def test_hd_extra_identities_only_in_gallery(tmp_path: Path) -> None:
    folder = tmp_path / "Original Images"
    folder.mkdir()
    for pid in (1, 2, 3, 4, 502, 503):
        for n in range(1, 4):
            cv2.imwrite(str(folder / f"{pid}_{n}.jpg"), np.zeros((8, 8, 3), np.uint8))
    samples = load_hd(tmp_path)
    assert len(samples) == 18
    for split in hand_splits(samples, num_test_ids=2, num_splits=3, extra_from=502):
        assert sum(s.pid >= 502 for s in split.gallery) == 6
        assert all(s.pid < 502 for s in (*split.query, *split.train))


def test_protocol_mean_and_std() -> None:
    samples = [Sample(Path(f"{pid}_{n}.jpg"), pid, 0) for pid in range(6) for n in range(3)]
    splits = hand_splits(samples, num_test_ids=4, num_splits=4)
    perfect = evaluate_hand_protocol(splits, lambda paths: np.eye(6)[[int(p.name.split("_")[0]) for p in paths]])
    assert perfect["rank1_mean"] == 100.0 and perfect["rank1_std"] == 0.0 and perfect["mAP_mean"] == 100.0
    rng = np.random.default_rng(0)
    noisy = evaluate_hand_protocol(splits, lambda paths: rng.normal(size=(len(paths), 4)))
    assert noisy["rank1_mean"] < 100.0 and noisy["splits"] == 4


def test_bad_split_request() -> None:
    samples = [Sample(Path(f"{pid}.jpg"), pid, 0) for pid in range(3)]  # one image each: nothing to query
    with pytest.raises(ValueError, match="num_test_ids"):
        hand_splits(samples, num_test_ids=1)
