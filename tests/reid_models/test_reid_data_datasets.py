"""Dataset layouts: Market-1501 / Duke naming, junk and distractors, CUHK03-NP, MSMT17 list files."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from reid_models.data import DatasetError, dataset_fingerprint, load_dataset
from reid_models.data.synthetic import write_synthetic_market


def _img(path: Path, h: int = 16, w: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 127, np.uint8))


def test_market_counts_junk_and_distractors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_synthetic_market(tmp_path, train_ids=3, test_ids=2, cameras=2, per_camera=2, junk=2, distractors=3)
    ds = load_dataset("market1501", root)
    counts = ds.summary()
    assert counts["train"] == {"identities": 3, "images": 12, "cameras": 2, "distractors": 0, "junk": 0}
    assert counts["query"] == {"identities": 2, "images": 4, "cameras": 2, "distractors": 0, "junk": 0}
    # gallery: 2 ids x 2 cams x 1 + 2 junk (-1, kept for evaluate_rank to ignore) + 3 distractors (id 0)
    assert counts["gallery"]["images"] == 4 + 2 + 3
    assert counts["gallery"]["identities"] == 2  # the two test ids; neither distractors (0) nor junk (-1)
    assert (counts["gallery"]["distractors"], counts["gallery"]["junk"]) == (3, 2)
    assert sum(s.pid == -1 for s in ds.gallery) == 2 and all(s.pid != -1 for s in ds.query)
    assert sorted(set(ds.train_labels())) == [0, 1, 2]
    assert "train" in capsys.readouterr().out


def test_market_junk_never_trained_on(tmp_path: Path, caplog) -> None:
    for name in (
        "0001_c1s1_000001_00.jpg",
        "0001_c2s1_000002_00.jpg",
        "-1_c1s1_000003_00.jpg",
        "0000_c1s1_000004_00.jpg",
    ):
        _img(tmp_path / "bounding_box_train" / name)
    _img(tmp_path / "query" / "0002_c1s1_000005_00.jpg")
    _img(tmp_path / "query" / "-1_c1s1_000006_00.jpg")
    _img(tmp_path / "bounding_box_test" / "0002_c2s1_000007_00.jpg")
    _img(tmp_path / "query" / "0000_c2s1_000008_00.jpg")  # a distractor is nobody to be found: not a query
    _img(tmp_path / "bounding_box_test" / "0000_c1s1_000009_00.jpg")
    with caplog.at_level(logging.WARNING):
        ds = load_dataset("market1501", tmp_path, verbose=False)
    assert [s.pid for s in ds.train] == [1, 1]
    assert [s.pid for s in ds.query] == [2]  # helper-101: the 0000 query was scored, matched to the 0000 gallery
    assert [s.pid for s in ds.gallery] == [0, 2]
    said = caplog.text  # what is left out is counted
    assert f"{tmp_path / 'bounding_box_train'}: 1 of id -1 (junk) and 1 of id 0000 (distractors) left out" in said
    assert f"{tmp_path / 'query'}: 1 of id -1 (junk) and 1 of id 0000 (distractors) left out: not people" in said
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # in the samples layout 0 is a person like any other
        ds = load_dataset("samples", tmp_path, verbose=False)
    assert sorted(s.pid for s in ds.query) == [0, 2] and sorted(s.pid for s in ds.train) == [0, 1, 1]
    assert "1 of id -1 (junk) left out" in caplog.text and "distractors" not in caplog.text


def test_images_in_a_splits_subfolder_are_said_to_be_left_out(tmp_path: Path, caplog) -> None:
    """helper-101: reid train read bounding_box_train/ without its subfolder extra/, without a word."""
    root = write_synthetic_market(tmp_path, train_ids=3, test_ids=2, cameras=2, per_camera=2)
    moved = sorted((root / "bounding_box_train").glob("0001_*.jpg"))
    (root / "bounding_box_train" / "extra").mkdir()
    for image in moved:
        image.rename(root / "bounding_box_train" / "extra" / image.name)
    (root / "query" / "notes").mkdir()  # a subfolder without images: nothing to say
    with caplog.at_level(logging.WARNING):
        ds = load_dataset("market1501", root, verbose=False)
    assert len(ds.train) == 12 - len(moved)
    assert caplog.text.count("are not read") == 1
    assert f"{root / 'bounding_box_train'}: the images in its subfolder extra/ are not read" in caplog.text


def test_duke_naming(tmp_path: Path) -> None:
    for split, name in (
        ("bounding_box_train", "0005_c2_f0046182.jpg"),
        ("query", "0007_c8_f0001234.jpg"),
        ("bounding_box_test", "0007_c3_f0001111.jpg"),
    ):
        _img(tmp_path / split / name)
    ds = load_dataset("dukemtmc", tmp_path, verbose=False)
    assert (ds.train[0].pid, ds.train[0].camid) == (5, 2)
    assert (ds.query[0].pid, ds.query[0].camid) == (7, 8)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing_split", "folder not found"),
        ("bad_name", "does not follow"),
        ("empty_split", "no images"),
    ],
)
def test_market_layout_errors_name_the_path(tmp_path: Path, layout: str, message: str) -> None:
    _img(tmp_path / "bounding_box_train" / "0001_c1s1_000001_00.jpg")
    _img(tmp_path / "query" / ("person.jpg" if layout == "bad_name" else "0002_c1s1_000001_00.jpg"))
    if layout != "missing_split":
        (tmp_path / "bounding_box_test").mkdir()
        if layout != "empty_split":
            _img(tmp_path / "bounding_box_test" / "0002_c2s1_000001_00.jpg")
    with pytest.raises(DatasetError, match=message):
        load_dataset("market1501", tmp_path, verbose=False)


def test_a_parent_of_the_dataset_names_the_folder_inside(tmp_path: Path) -> None:
    """helper-83: the folder holding Market-1501-v15.09.15/ said only '.../query: folder not found'."""
    inner = tmp_path / "Market-1501-v15.09.15"
    _img(inner / "bounding_box_train" / "0001_c1s1_000001_00.jpg")
    with pytest.raises(DatasetError, match=r"folder not found .*; the dataset is .*Market-1501-v15.09.15\?"):
        load_dataset("market1501", tmp_path, verbose=False)


def test_cuhk03np_picks_labeled_or_detected(tmp_path: Path) -> None:
    for sub, pid in (("labeled", 1), ("detected", 2)):
        for split in ("bounding_box_train", "query", "bounding_box_test"):
            _img(tmp_path / sub / split / f"{pid:04d}_c{1 if split != 'bounding_box_test' else 2}_01.png")
    assert load_dataset("cuhk03np", tmp_path, verbose=False).train[0].pid == 1
    assert load_dataset("cuhk03np", tmp_path / "detected", verbose=False).train[0].pid == 2
    with pytest.raises(DatasetError, match="labeled/ or detected/"):
        load_dataset("cuhk03np", tmp_path / "labeled" / "query", verbose=False)


def test_msmt17_list_files(tmp_path: Path) -> None:
    lists = {
        "list_train.txt": (
            "train",
            ["0000/0000_000_01_0303morning_0015_0.jpg 0", "0000/0000_001_05_0303morning_0016_0.jpg 0"],
        ),
        "list_val.txt": ("train", ["0001/0001_000_03_0303noon_0001_0.jpg 1"]),
        "list_query.txt": ("test", ["0000/0000_000_02_0303morning_0001_0.jpg 0"]),
        "list_gallery.txt": (
            "test",
            ["0000/0000_001_07_0303morning_0002_0.jpg 0", "0001/0001_002_11_0303noon_0003_0.jpg 1"],
        ),
    }
    for name, (folder, lines) in lists.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        for line in lines:
            _img(tmp_path / folder / line.split()[0])
    ds = load_dataset("msmt17", tmp_path, verbose=False)
    assert [(s.pid, s.camid) for s in ds.train] == [(0, 1), (0, 5), (1, 3)]
    assert [(s.pid, s.camid) for s in ds.gallery] == [(0, 7), (1, 11)]
    assert ds.summary()["train"] == {"identities": 2, "images": 3, "cameras": 3, "distractors": 0, "junk": 0}
    (tmp_path / "list_query.txt").write_text("garbage\n")
    with pytest.raises(DatasetError, match="list_query.txt:1"):
        load_dataset("msmt17", tmp_path, verbose=False)


def test_fingerprint_follows_file_list_and_sizes(tmp_path: Path) -> None:
    root = write_synthetic_market(tmp_path, train_ids=2, test_ids=2, cameras=2, per_camera=2)
    first = dataset_fingerprint(load_dataset("market1501", root, verbose=False))
    assert first == dataset_fingerprint(load_dataset("market1501", root, verbose=False))
    victim = sorted((root / "bounding_box_train").iterdir())[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    assert dataset_fingerprint(load_dataset("market1501", root, verbose=False)) != first


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        load_dataset("viper", tmp_path, verbose=False)


def _real_market() -> Path | None:
    """The real Market-1501 folder when this machine has one ($MARKET1501, else the places the docs suggest)."""
    import os

    for candidate in (os.environ.get("MARKET1501"), "~/data/market1501", "/work/data/market1501"):
        if candidate and (Path(candidate).expanduser() / "bounding_box_train").is_dir():
            return Path(candidate).expanduser()
    return None


@pytest.mark.skipif(_real_market() is None, reason="Market-1501 is not unpacked on this machine (set MARKET1501)")
def test_real_market1501_counts() -> None:
    """LAGA-Net's Table I: 751 ids / 12,936 train images, 750 ids / 3,368 queries, 19,732 gallery images of 750 ids
    with 3,819 junk (-1) images. The release has 2,798 distractors (0000): Table I's 2,793 does not match it."""
    counts = load_dataset("market1501", _real_market(), verbose=False).summary()
    assert (counts["train"]["identities"], counts["train"]["images"]) == (751, 12936)
    assert (counts["query"]["identities"], counts["query"]["images"]) == (750, 3368)
    gallery = counts["gallery"]
    assert (gallery["identities"], gallery["images"], gallery["distractors"], gallery["junk"]) == (
        750,
        19732,
        2798,
        3819,
    )
    assert counts["train"]["cameras"] == counts["query"]["cameras"] == gallery["cameras"] == 6


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_cut_short_image_is_refused_naming_it(tmp_path: Path, suffix: str) -> None:
    """helper-67: a JPEG cut to its first 700 bytes decoded (the rest grey) with only libjpeg's "Premature end of
    JPEG file", naming no file; training trained on it and evaluation scored it (rank-5 100 -> 75 on a tiny set)."""
    from reid_models.data import check_images, read_image

    rng = np.random.default_rng(0)
    good = tmp_path / f"good{suffix}"
    cv2.imwrite(str(good), rng.integers(0, 255, (128, 64, 3), dtype=np.uint8))
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(good.read_bytes()[: -2 if suffix == ".jpg" else -12])  # all but the end marker: decodes
    half = tmp_path / f"half{suffix}"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # most such cuts fail to decode at all
    assert read_image(good).shape == (128, 64, 3)
    with pytest.raises(DatasetError, match=rf"^{cut}: cut short \(a JPEG or PNG without its end marker"):
        read_image(cut)
    with pytest.raises(DatasetError, match=rf"^{cut}: cut short .*\(2 of the 3 query images are unusable\)$"):
        check_images([good, cut, tmp_path / "missing.jpg"], what="query images")
    with pytest.raises(DatasetError, match=rf"^{half}: (cut short|not a readable image)"):
        read_image(half)
    check_images([good], what="query images")  # a whole file passes
