"""Small datasets for the data-loading and validation tests, written fresh into tmp_path.

Nothing here touches the network or the real 50k-review archive: every fixture builds a few
aclImdb-shaped files, tarballs or frames in the test's own temporary directory.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from sentiment.core.model import build_model
from tests.support.reviews import synthetic_reviews

# (split, label folder) -> [(file name, review text)]. Non-ASCII on purpose: UTF-8 must survive.
ACL_REVIEWS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("train", "pos"): [
        ("0_9.txt", "A joyous film.<br />Loved it"),
        ("1_10.txt", "Café ☕ perfect"),
    ],
    ("train", "neg"): [("2_1.txt", "Dull and long."), ("3_2.txt", "Nope, never again")],
    ("test", "pos"): [("4_8.txt", "Great cast"), ("5_7.txt", "Smart script, tight edit")],
    ("test", "neg"): [("6_3.txt", "Boring"), ("7_4.txt", "Naïve plot, bad acting")],
}
# What a correct loader returns: sorted by (label folder, file name) within each split.
EXPECTED_SPLITS = {
    split: pd.DataFrame(
        {
            "text": pd.Series(
                [t for lab in ("neg", "pos") for _, t in sorted(ACL_REVIEWS[(split, lab)])],
                dtype="str",
            ),
            "label": pd.Series(
                [int(lab == "pos") for lab in ("neg", "pos") for _ in ACL_REVIEWS[(split, lab)]],
                dtype="int64",
            ),
        }
    )
    for split in ("train", "test")
}
# Files in the official archive that are not labelled reviews and must be ignored.
ACL_NOISE: dict[str, bytes] = {
    "aclImdb/README": b"Large Movie Review Dataset v1.0\n",
    "aclImdb/imdb.vocab": b"the\nand\n",
    "aclImdb/imdbEr.txt": b"0.1\n",
    "aclImdb/train/urls_pos.txt": b"http://www.imdb.com/title/tt0453418/usercomments\n",
    "aclImdb/train/labeledBow.feat": b"9 0:9 1:1\n",
    "aclImdb/train/unsup/0_0.txt": b"UNSUP review that must not be loaded",
    "aclImdb/train/unsup/1_0.txt": b"\xff\xfe not even UTF-8, still ignored",
    "aclImdb/test/urls_neg.txt": b"http://www.imdb.com/title/tt0000001/usercomments\n",
    "aclImdb/test/pos/._4_8.txt": b"\x00\x05\x16\x07\xff macOS AppleDouble metadata",
}


def acl_files(overrides: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file of a tiny aclImdb tree, keyed by archive path; ``overrides`` replace/add."""
    files = {
        f"aclImdb/{split}/{lab}/{name}": text.encode("utf-8")
        for (split, lab), reviews in ACL_REVIEWS.items()
        for name, text in reviews
    }
    files.update(ACL_NOISE)
    files.update(overrides or {})
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_tarball(path: Path, files: dict[str, bytes]) -> Path:
    """A tarball of ``files``, added in reverse order: the loader must not rely on tar order."""
    staging = write_tree(path.parent / f"{path.name}.staging", files)
    mode = "w:gz" if path.name.endswith((".gz", ".tgz")) else "w"
    with tarfile.open(path, mode) as archive:
        for rel in sorted(files, reverse=True):
            archive.add(staging / rel, arcname=rel)
    return path


@pytest.fixture
def acl_tarball(tmp_path: Path) -> Path:
    return write_tarball(tmp_path / "aclImdb_v1.tar.gz", acl_files())


@pytest.fixture
def acl_parent_dir(tmp_path: Path) -> Path:
    """A folder that contains an extracted ``aclImdb/``."""
    return write_tree(tmp_path / "extracted", acl_files())


@pytest.fixture
def tarball_factory(tmp_path: Path) -> Callable[..., Path]:
    def make(
        name: str = "data.tar.gz",
        overrides: dict[str, bytes] | None = None,
        drop: tuple[str, ...] = (),
    ) -> Path:
        files = {k: v for k, v in acl_files(overrides).items() if not k.startswith(drop)}
        return write_tarball(tmp_path / name, files)

    return make


def review_frame(n: int, *, prefix: str, pos_share: float = 0.5) -> pd.DataFrame:
    """``n`` distinct, non-empty reviews with ``round(n * pos_share)`` positives."""
    n_pos = round(n * pos_share)
    return pd.DataFrame(
        {
            "text": pd.Series(
                [f"{prefix} review number {i}: the film was fine" for i in range(n)], dtype="str"
            ),
            "label": pd.Series([1] * n_pos + [0] * (n - n_pos), dtype="int64"),
        }
    )


@pytest.fixture
def good_splits() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 400/200 dataset that passes every default validation rule."""
    return review_frame(400, prefix="train"), review_frame(200, prefix="test")


@pytest.fixture
def expected_splits() -> dict[str, pd.DataFrame]:
    """The frames a correct loader returns for the tiny aclImdb tree (fresh copies)."""
    return {split: frame.copy() for split, frame in EXPECTED_SPLITS.items()}


@pytest.fixture
def make_reviews() -> Callable[..., pd.DataFrame]:
    return review_frame


@pytest.fixture
def make_tree() -> Callable[[Path, dict[str, bytes]], Path]:
    return write_tree


@pytest.fixture
def acl_file_map() -> Callable[..., dict[str, bytes]]:
    return acl_files


# -- a small fitted model (well under a second), shared by the model and serialization tests


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    train = synthetic_reviews(100, seed=1, split="train")
    test = synthetic_reviews(40, seed=2, split="test")
    to01 = {"positive": 1, "negative": 0}
    return (
        train["text"].tolist(),
        train["label"].map(to01).to_numpy(),
        test["text"].tolist(),
        test["label"].map(to01).to_numpy(),
    )


@pytest.fixture(scope="module")
def fitted(corpus: tuple[list[str], np.ndarray, list[str], np.ndarray]) -> Pipeline:
    x_train, y_train, _, _ = corpus
    return build_model().fit(x_train, y_train)
