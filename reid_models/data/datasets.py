"""Re-ID dataset layouts -> lists of (image path, identity, camera) per split.

Supported (`load_dataset(fmt, root)`):
- ``market1501`` / ``dukemtmc`` / ``samples``: folders ``bounding_box_train``, ``query``, ``bounding_box_test``
  with names ``PPPP_cC...`` (Market ``0002_c1s1_000451_03.jpg``, Duke ``0001_c2_f0046182.jpg``; the sample
  scenes' crop export uses the same naming). Identity -1 marks Market's junk images: dropped from training and
  from queries (with a warning), kept in the gallery list with id -1 so that `evaluate_rank` ignores them
  (junk_ids=(-1,)). Identity 0 (Market's distractors) stays in the gallery as negatives and is never trained on
  nor a query (with a warning); in the other layouts (``samples``) 0 is an identity like any other.
- ``cuhk03np``: CUHK03-NP (Zhong et al. 2017), Market layout under ``labeled/`` (default) or ``detected/``
  (root may also be one of those folders); names ``PPPP_cC_NN.png``.
- ``msmt17``: list files ``list_train.txt``, ``list_val.txt`` (train = both, as is customary),
  ``list_query.txt``, ``list_gallery.txt``; each line ``rel/path.jpg PID``; images under ``train/`` (train, val)
  and ``test/`` (query, gallery); the camera is the third ``_`` field of the file name (``0000_011_01_...``).
`ReidDataset.summary()` gives the LAGA paper's Table I counts (identities, images, cameras per split).
"""

from __future__ import annotations

import dataclasses

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DatasetError",
    "ReidDataset",
    "Sample",
    "content_fingerprint",
    "dataset_fingerprint",
    "dataset_folder_problem",
    "load_dataset",
    "parse_market_folder",
]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_MARKET_NAME = re.compile(r"^(-?\d+)_c(\d+)")
MARKET_SPLITS = ("bounding_box_train", "query", "bounding_box_test")


class DatasetError(ValueError):
    """A dataset folder does not have the expected layout; the message names the path (``folder``: the split folder
    at fault, where one is)."""

    def __init__(self, message: str, folder: Path | None = None) -> None:
        super().__init__(message)
        self.folder = folder


@dataclass(frozen=True)
class Sample:
    """One image: path, identity (original label), camera."""

    path: Path
    pid: int
    camid: int


@dataclass(frozen=True)
class ReidDataset:
    """train/query/gallery lists. `train_labels()` maps train identities to 0..num_train_ids-1."""

    name: str
    root: Path
    train: tuple[Sample, ...]
    query: tuple[Sample, ...]
    gallery: tuple[Sample, ...]

    @property
    def num_train_ids(self) -> int:
        return len({s.pid for s in self.train})

    def train_labels(self) -> list[int]:
        index = {pid: i for i, pid in enumerate(sorted({s.pid for s in self.train}))}
        return [index[s.pid] for s in self.train]

    def summary(self) -> dict[str, dict[str, int]]:
        """Per split: identities, images, cameras, distractors and junk images. Identities count neither junk (id
        -1) nor, on Market-1501, its distractors (id 0), so the gallery's identities are the paper's (750)."""
        no_id = {-1, 0} if self.name == "market1501" else {-1}
        return {
            split: {
                "identities": len({s.pid for s in samples if s.pid not in no_id}),
                "images": len(samples),
                "cameras": len({s.camid for s in samples}),
                "distractors": sum(s.pid == 0 for s in samples) if self.name == "market1501" else 0,
                "junk": sum(s.pid == -1 for s in samples),
            }
            for split, samples in (("train", self.train), ("query", self.query), ("gallery", self.gallery))
        }

    def format_summary(self) -> str:
        rows = [
            f"{self.name} ({self.root})",
            f"  {'split':<8}{'ids':>7}{'images':>9}{'cams':>6}{'distractors':>13}{'junk':>7}",
        ]
        for split, c in self.summary().items():
            if split == "train" and not self.train:  # not read (evaluation only)
                continue
            rows.append(
                f"  {split:<8}{c['identities']:>7}{c['images']:>9}{c['cameras']:>6}{c['distractors']:>13}{c['junk']:>7}"
            )
        return "\n".join(rows)


def parse_market_folder(folder: Path) -> list[Sample]:
    """Images of one Market-layout folder, sorted by name; names that do not parse raise DatasetError."""
    if not folder.is_dir():
        # a parent of the dataset given (helper-83: the folder holding Market-1501-v15.09.15/): name the one inside
        root = folder.parent
        inside = [d for d in sorted(root.iterdir()) if (d / folder.name).is_dir()] if root.is_dir() else []
        hint = f"; the dataset is {inside[0]}?" if len(inside) == 1 else ""
        raise DatasetError(
            f"{folder}: folder not found (expected the Market-1501 layout {', '.join(MARKET_SPLITS)}){hint}"
        )
    samples = []
    nested = [d.name for d in sorted(folder.iterdir()) if d.is_dir() and any(_images(d))]
    if nested:  # the layout is flat: said, not silently left out (reid embed, which takes any folder, reads them)
        log.warning(
            "%s: the images in its subfolder%s %s are not read (the Market-1501 layout keeps a split's images in "
            "its folder itself)",
            folder,
            "s" if len(nested) > 1 else "",
            ", ".join(f"{n}/" for n in nested[:3]) + (" ..." if len(nested) > 3 else ""),
        )
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        match = _MARKET_NAME.match(path.name)
        if match is None:
            raise DatasetError(f"{path}: name does not follow PPPP_cC... (identity, camera)")
        samples.append(Sample(path, int(match.group(1)), int(match.group(2))))
    if not samples:
        raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})", folder)
    return samples


def _images(folder: Path):
    return (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _market(name: str, root: Path, with_train: bool = True, with_test: bool = True) -> ReidDataset:
    train = parse_market_folder(root / MARKET_SPLITS[0]) if with_train else []
    query, gallery = (parse_market_folder(root / split) if with_test else [] for split in MARKET_SPLITS[1:])

    def person(s: Sample) -> bool:  # junk (-1) is nobody; on Market-1501 id 0 is its distractors, anybody
        return s.pid > 0 or (s.pid == 0 and name != "market1501")

    for split, samples in ((MARKET_SPLITS[0], train), (MARKET_SPLITS[1], query)):
        junk = sum(s.pid == -1 for s in samples)
        distractors = sum(s.pid == 0 for s in samples) if name == "market1501" else 0
        if junk or distractors:  # gallery-only ids (Market-1501's own train and query folders hold none)
            counted = [f"{n} of id {pid}" for n, pid in ((junk, "-1 (junk)"), (distractors, "0000 (distractors)")) if n]
            use = "trained on" if split == MARKET_SPLITS[0] else "queries"
            log.warning("%s: %s left out: not people to be %s", root / split, " and ".join(counted), use)
    return ReidDataset(
        name,
        root,
        train=tuple(s for s in train if person(s)),
        query=tuple(s for s in query if person(s)),
        gallery=tuple(gallery),
    )


def _cuhk03np(root: Path, with_train: bool = True) -> ReidDataset:
    split = MARKET_SPLITS[0] if with_train else MARKET_SPLITS[1]
    if not (root / split).is_dir():
        for sub in ("labeled", "detected"):
            if (root / sub / split).is_dir():
                root = root / sub
                break
        else:
            raise DatasetError(f"{root}: expected labeled/ or detected/ with {', '.join(MARKET_SPLITS)} (CUHK03-NP)")
    return _market("cuhk03np", root, with_train)


def _msmt17_list(root: Path, list_name: str, folder: str) -> list[Sample]:
    path = root / list_name
    if not path.is_file():
        raise DatasetError(f"{path}: list file not found (MSMT17 layout: list_*.txt, train/, test/)")
    samples = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        fields = Path(parts[0]).name.split("_")
        if len(parts) != 2 or len(fields) < 3 or not parts[1].lstrip("-").isdigit() or not fields[2].isdigit():
            raise DatasetError(f"{path}:{line_no}: expected 'DIR/PID_IDX_CAM_....jpg PID', got {line.strip()!r}")
        samples.append(Sample(root / folder / parts[0], int(parts[1]), int(fields[2])))
    return samples


def _msmt17(root: Path, with_train: bool = True) -> ReidDataset:
    train = _msmt17_list(root, "list_train.txt", "train") if with_train else []
    if with_train and (root / "list_val.txt").is_file():
        train += _msmt17_list(root, "list_val.txt", "train")
    query = _msmt17_list(root, "list_query.txt", "test")
    gallery = _msmt17_list(root, "list_gallery.txt", "test")
    missing = [s.path for s in (*train[:1], *query[:1], *gallery[:1]) if not s.path.is_file()]
    if missing:
        raise DatasetError(f"{missing[0]}: listed image not found")
    return ReidDataset("msmt17", root, tuple(train), tuple(query), tuple(gallery))


def dataset_folder_problem(root: str | Path) -> str | None:
    """Why ``root`` is no dataset folder (a file, or nothing there), or None when it is a folder."""
    root = Path(root)
    if root.is_dir():
        return None
    return "a file, not a dataset folder" if root.exists() else "dataset folder not found"


def load_dataset(
    fmt: str, root: str | Path, *, verbose: bool = True, train: bool = True, test: bool = True
) -> ReidDataset:
    """Parse `root` as dataset format `fmt` (see module doc); prints the per-split counts when verbose.
    train=False: the training split is neither needed nor read (empty), for evaluation on query/gallery.
    test=False: query and gallery are neither needed nor read (empty), for training without evaluation (a set cut
    from one camera has none)."""
    root = Path(root)
    if problem := dataset_folder_problem(root):
        raise DatasetError(f"{root}: {problem}")
    if fmt in ("market1501", "dukemtmc", "samples"):
        dataset = _market(fmt, root, train, test)
    elif fmt == "cuhk03np":
        dataset = _cuhk03np(root, train)
    elif fmt == "msmt17":
        dataset = _msmt17(root, train)
    else:
        raise ValueError(f"fmt: unknown dataset format {fmt!r}; valid: market1501, dukemtmc, cuhk03np, msmt17, samples")
    if train and not dataset.train:
        raise DatasetError(f"{root}: no training images with a valid identity")
    if not test:
        dataset = dataclasses.replace(dataset, query=(), gallery=())
    if verbose:
        print(dataset.format_summary())
    return dataset


def content_fingerprint(
    dataset: ReidDataset,
    splits: tuple[str, ...] = ("train", "query", "gallery"),
    threads: int = 4,
    digests: Mapping[Path, str] | None = None,
) -> str:
    """sha256 over (split, path relative to the root, sha256 of the file's bytes) of every image of ``splits``:
    changes when any image's content does, also at the same size (:func:`dataset_fingerprint` sees names and sizes
    only: a blurred copy of the queries, written at the same size, was the same dataset to it). Reads every file
    (Market-1501's 36k images: a few seconds) whose digest ``digests`` (``check_images``' result) does not hold."""
    from concurrent.futures import ThreadPoolExecutor

    known = digests or {}

    def file_digest(path: Path) -> str:
        return known[path] if path in known else hashlib.sha256(path.read_bytes()).hexdigest()

    digest = hashlib.sha256()
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for split in splits:
            samples = getattr(dataset, split)
            for s, sha in zip(samples, pool.map(file_digest, [x.path for x in samples]), strict=True):
                rel = s.path.relative_to(dataset.root) if s.path.is_relative_to(dataset.root) else s.path
                digest.update(f"{split}\t{rel.as_posix()}\t{sha}\n".encode())
    return digest.hexdigest()


def dataset_fingerprint(dataset: ReidDataset, splits: tuple[str, ...] = ("train", "query", "gallery")) -> str:
    """sha256 over (split, path relative to the root, file size) of every image of ``splits``: changes when files
    do."""
    digest = hashlib.sha256()
    for split in splits:
        samples = getattr(dataset, split)
        for s in samples:
            rel = s.path.relative_to(dataset.root) if s.path.is_relative_to(dataset.root) else s.path
            digest.update(f"{split}\t{rel.as_posix()}\t{s.path.stat().st_size}\n".encode())
    return digest.hexdigest()
