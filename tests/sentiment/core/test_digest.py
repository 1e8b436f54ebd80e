"""source_digest: the raw-byte hash that lets an unchanged source skip parsing.

The one property that matters: any changed byte, anywhere, gives another digest; the same
bytes give the same digest wherever they are read from (a local file, an S3 object).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentiment.core.data import DataLoadError, source_digest
from tests.support.s3 import moto_s3

SIZE = 3 * (1 << 20) + 12345  # more than one 1 MiB read chunk, not a multiple of it


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "reviews.tar.gz"
    path.write_bytes(os.urandom(SIZE))
    return path


def test_same_bytes_same_digest(blob: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.tar.gz"
    copy.write_bytes(blob.read_bytes())
    assert source_digest(blob) == source_digest(copy) == source_digest(str(blob))
    assert source_digest(blob).startswith("sha256:")


@pytest.mark.parametrize("offset", [0, 1 << 20, SIZE // 2, SIZE - 1])
def test_one_changed_byte_anywhere_changes_the_digest(blob: Path, offset: int) -> None:
    before = source_digest(blob)
    _flip(blob, offset)
    assert source_digest(blob) != before
    _flip(blob, offset)  # and back: the digest is of the content, not of the mtime
    assert source_digest(blob) == before


def test_directory_sees_edits_renames_and_new_files(tmp_path: Path) -> None:
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            (root / split / label).mkdir(parents=True)
            for i in range(3):
                (root / split / label / f"{i}_7.txt").write_text(f"{split} {label} review {i}")
    original = source_digest(root)
    target = root / "test" / "neg" / "2_7.txt"
    _flip(target, 4)
    assert source_digest(root) != original
    _flip(target, 4)
    assert source_digest(root) == original
    target.rename(root / "test" / "neg" / "9_7.txt")
    assert source_digest(root) != original
    target = root / "test" / "neg" / "9_7.txt"
    target.rename(root / "test" / "neg" / "2_7.txt")
    (root / "train" / "pos" / "extra.txt").write_text("")
    assert source_digest(root) != original


def test_missing_source_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataLoadError, match="does not exist"):
        source_digest(tmp_path / "nope.csv")


@pytest.mark.integration
def test_s3_object_is_streamed_and_a_changed_byte_is_seen(blob: Path, tmp_path: Path) -> None:
    s3fs = pytest.importorskip("s3fs")
    with moto_s3(tmp_path, buckets=("data",)) as server:
        options = server.storage_options
        fs = s3fs.S3FileSystem(**options)
        fs.put_file(str(blob), "data/reviews.tar.gz")
        uri = "s3://data/reviews.tar.gz"
        assert source_digest(uri, storage_options=options) == source_digest(blob)
        _flip(blob, SIZE - 1)
        fs.put_file(str(blob), "data/reviews.tar.gz")
        assert source_digest(uri, storage_options=options) == source_digest(blob)
        with pytest.raises(DataLoadError, match="does not exist"):
            source_digest("s3://data/nope.tar.gz", storage_options=options)
