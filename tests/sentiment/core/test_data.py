"""sentiment.core.data: every source format, every bad-input error, fingerprints, archive download.

All data is generated in tmp_path; the download tests use a real HTTP server on 127.0.0.1
and the s3:// test a real moto server, so nothing here needs the network.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import json
import logging
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sentiment.core.config import ConfigError, parse_section
from sentiment.core.data import (
    OFFICIAL_SHA256,
    DataLoadError,
    DataSettings,
    DataSpec,
    data_fingerprint,
    default_cache_dir,
    ensure_official_archive,
    load_splits,
)
from tests.support.s3 import moto_s3


def _assert_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["text", "label"]
    assert pd.api.types.is_string_dtype(frame["text"])
    assert frame["label"].dtype == "int64"
    assert list(frame.index) == list(range(len(frame)))


def _assert_splits(got: tuple[pd.DataFrame, pd.DataFrame], expected: dict[str, pd.DataFrame]):
    for frame, split in zip(got, ("train", "test"), strict=True):
        _assert_canonical(frame)
        assert_frame_equal(frame, expected[split])


def _table(n_per_label: int = 10) -> pd.DataFrame:
    """Rows with mixed label spellings and an explicit split column."""
    rows = []
    for i in range(n_per_label):
        rows.append({"text": f"good movie {i}", "label": "Positive", "split": "train"})
        rows.append({"text": f"bad movie {i}", "label": "NEG", "split": "train"})
        rows.append({"text": f"fine film {i}", "label": "pos", "split": " Test "})
        rows.append({"text": f"awful film {i}", "label": "negative", "split": "test"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- formats


def test_archive_loads_labelled_reviews_only(acl_tarball, expected_splits):
    train, test = load_splits(acl_tarball)
    _assert_splits((train, test), expected_splits)
    loaded = set(train["text"]) | set(test["text"])
    assert not any("UNSUP" in t for t in loaded)
    assert "Café ☕ perfect" in loaded  # decoded as UTF-8


def test_uncompressed_tar_and_tgz_suffixes(tarball_factory, expected_splits):
    _assert_splits(load_splits(tarball_factory("data.tar")), expected_splits)
    _assert_splits(load_splits(str(tarball_factory("data.tgz"))), expected_splits)


def test_extracted_folder_and_its_parent_match_the_archive(acl_tarball, acl_parent_dir):
    from_tar = load_splits(acl_tarball)
    from_acl_dir = load_splits(acl_parent_dir / "aclImdb")
    from_parent = load_splits(acl_parent_dir)
    for got in (from_acl_dir, from_parent):
        assert_frame_equal(got[0], from_tar[0])
        assert_frame_equal(got[1], from_tar[1])
    assert data_fingerprint(*from_parent) == data_fingerprint(*from_tar)


def test_csv_with_split_column_maps_label_names(tmp_path):
    table = _table()
    table.to_csv(tmp_path / "reviews.csv", index=False)
    train, test = load_splits(tmp_path / "reviews.csv")
    _assert_canonical(train)
    _assert_canonical(test)
    assert len(train) == len(test) == 20
    assert train["text"].tolist()[:2] == ["good movie 0", "bad movie 0"]  # file order kept
    assert train["label"].tolist()[:2] == [1, 0]
    assert dict(test["label"].value_counts()) == {1: 10, 0: 10}


def test_csv_keeps_texts_verbatim(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('text,label,split\nNA,1,train\n"  spaced ",0,train\nnull,0,test\n', "utf-8")
    train, test = load_splits(path)
    assert train["text"].tolist() == ["NA", "  spaced "]
    assert test["text"].tolist() == ["null"]


def test_csv_without_split_column_makes_seeded_stratified_split(tmp_path, caplog):
    table = _table().drop(columns="split")
    table.to_csv(tmp_path / "all.csv", index=False)
    with caplog.at_level(logging.INFO, logger="sentiment.core.data"):
        train, test = load_splits(tmp_path / "all.csv", DataSpec(test_fraction=0.25, seed=7))
    assert "no 'split' column" in caplog.text
    assert "seeded stratified split" in caplog.text
    assert len(train) == 30
    assert len(test) == 10
    assert dict(test["label"].value_counts()) == {1: 5, 0: 5}
    assert set(train["text"]).isdisjoint(test["text"])
    again = load_splits(tmp_path / "all.csv", DataSpec(test_fraction=0.25, seed=7))
    assert_frame_equal(again[1], test)
    other_seed = load_splits(tmp_path / "all.csv", DataSpec(test_fraction=0.25, seed=8))
    assert set(other_seed[1]["text"]) != set(test["text"])


def test_parquet_and_gzipped_csv(tmp_path):
    table = _table()
    table.to_parquet(tmp_path / "reviews.parquet", index=False)
    with gzip.open(tmp_path / "reviews.csv.gz", "wt", encoding="utf-8") as handle:
        table.to_csv(handle, index=False)
    from_parquet = load_splits(tmp_path / "reviews.parquet")
    from_csv_gz = load_splits(tmp_path / "reviews.csv.gz")
    table.to_csv(tmp_path / "reviews.csv", index=False)
    from_csv = load_splits(tmp_path / "reviews.csv")
    for got in (from_parquet, from_csv_gz):
        assert_frame_equal(got[0], from_csv[0])
        assert_frame_equal(got[1], from_csv[1])


def test_train_test_directory_mixing_csv_and_parquet(tmp_path):
    table = _table()
    folder = tmp_path / "splits"
    folder.mkdir()
    table[table["split"] == "train"].drop(columns="split").to_csv(folder / "train.csv", index=False)
    table[table["split"] != "train"].drop(columns="split").to_parquet(folder / "test.parquet")
    train, test = load_splits(folder)
    _assert_canonical(train)
    assert train["text"].tolist()[:2] == ["good movie 0", "bad movie 0"]
    assert test["label"].tolist()[:2] == [1, 0]
    assert len(test) == 20


def test_configured_columns_and_label_names(tmp_path):
    spec = DataSettings.model_validate(
        {
            "source": "ignored-here",  # belongs to resolve_source, accepted in the section
            "text_column": "review",
            "label_column": "sentiment",
            "split_column": "fold",
            "label_map": {"Good": 1, "BAD": 0},
        }
    )
    table = pd.DataFrame(
        {
            "review": ["a", "b", "c", "d"],
            "sentiment": ["good", "bad", "1", "0"],  # digits always work, too
            "fold": ["train", "train", "test", "test"],
        }
    )
    table.to_csv(tmp_path / "custom.csv", index=False)
    train, test = load_splits(tmp_path / "custom.csv", spec)
    assert train["label"].tolist() == [1, 0]
    assert test["label"].tolist() == [1, 0]


def test_integer_and_float_labels(tmp_path):
    table = pd.DataFrame(
        {
            "text": ["a", "b", "c", "d"],
            "label": [1.0, 0.0, 1.0, 0.0],
            "split": ["train"] * 2 + ["test"] * 2,
        }
    )
    table.to_parquet(tmp_path / "f.parquet")
    train, _ = load_splits(tmp_path / "f.parquet")
    assert train["label"].tolist() == [1, 0]
    assert train["label"].dtype == "int64"


# --------------------------------------------------------------------------- bad data


def test_missing_source(tmp_path):
    with pytest.raises(DataLoadError, match=r"does not exist"):
        load_splits(tmp_path / "nope.csv")


@pytest.mark.parametrize("name", ["empty.csv", "empty.tar.gz", "empty.parquet"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(DataLoadError, match=rf"'.*{name}' is an empty file"):
        load_splits(tmp_path / name)


def test_csv_with_header_only(tmp_path):
    (tmp_path / "h.csv").write_text("text,label,split\n", "utf-8")
    with pytest.raises(DataLoadError, match="has a header but no rows"):
        load_splits(tmp_path / "h.csv")


def test_csv_with_blank_lines_only(tmp_path):
    (tmp_path / "blank.csv").write_text("\n\n", "utf-8")
    with pytest.raises(DataLoadError, match="no header and no rows"):
        load_splits(tmp_path / "blank.csv")


def test_missing_column_names_it_and_what_was_found(tmp_path):
    pd.DataFrame({"review": ["x"], "label": [1]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DataLoadError) as err:
        load_splits(tmp_path / "m.csv")
    message = str(err.value)
    assert "m.csv" in message
    assert "missing column(s) ['text']" in message
    assert "found ['review', 'label']" in message
    assert "data.text_column" in message


def test_non_utf8_review_file_in_archive(tarball_factory):
    bad = tarball_factory(overrides={"aclImdb/test/neg/9_2.txt": b"caf\xe9 latin-1 review"})
    with pytest.raises(DataLoadError, match=r"member aclImdb/test/neg/9_2\.txt is not valid UTF-8"):
        load_splits(bad)


def test_non_utf8_review_file_in_folder(tmp_path, make_tree, acl_file_map):
    root = make_tree(tmp_path / "x", acl_file_map({"aclImdb/train/pos/9_9.txt": b"\xff\xfe"}))
    with pytest.raises(DataLoadError, match=r"9_9\.txt is not valid UTF-8"):
        load_splits(root)


def test_non_utf8_csv(tmp_path):
    (tmp_path / "latin1.csv").write_bytes("text,label\ncafé,1\n".encode("latin-1"))
    with pytest.raises(DataLoadError, match=r"latin1\.csv' is not valid UTF-8"):
        load_splits(tmp_path / "latin1.csv")


def test_non_utf8_bytes_in_parquet_text_column(tmp_path):
    texts = [b"ok", "caf\xe9".encode("latin-1"), b"fine", b"good"]
    table = pd.DataFrame(
        {"text": texts, "label": [1, 0, 1, 0], "split": ["train"] * 2 + ["test"] * 2}
    )
    table.to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataLoadError, match=r"b\.parquet': text in row 1 is not valid UTF-8"):
        load_splits(tmp_path / "b.parquet")


def test_labels_outside_the_set_are_listed_with_counts(tmp_path):
    table = _table(2)
    table.loc[0, "label"] = "maybe"
    table.loc[1, "label"] = "maybe"
    table.loc[2, "label"] = "2"
    table.to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataLoadError) as err:
        load_splits(tmp_path / "l.csv")
    message = str(err.value)
    assert "3 rows have a label outside" in message
    assert "'maybe' (2 rows)" in message
    assert "'2' (1 rows)" in message
    assert "data.label_map" in message


def test_missing_label_and_missing_text_in_parquet(tmp_path):
    base = {"text": ["a", "b", "c", "d"], "split": ["train", "train", "test", "test"]}
    pd.DataFrame({**base, "label": [1.0, None, 0.0, 1.0]}).to_parquet(tmp_path / "nl.parquet")
    with pytest.raises(DataLoadError, match=r"1 rows have a label outside.*<missing> \(1 rows\)"):
        load_splits(tmp_path / "nl.parquet")
    texts = ["a", None, "c", "d"]
    pd.DataFrame({**base, "text": texts, "label": [1, 0, 1, 0]}).to_parquet(tmp_path / "nt.parquet")
    with pytest.raises(DataLoadError, match=r"1 rows have no text"):
        load_splits(tmp_path / "nt.parquet")


def test_bad_split_values(tmp_path):
    table = _table(1)
    table.loc[0, "split"] = "validation"
    table.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataLoadError, match=r"'train' or 'test'; found 'validation' \(1 rows\)"):
        load_splits(tmp_path / "s.csv")


def test_split_column_with_only_train_rows(tmp_path):
    _table(2).assign(split="train").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataLoadError, match="the test split is empty"):
        load_splits(tmp_path / "t.csv")


def test_unknown_extension(tmp_path):
    (tmp_path / "reviews.json").write_text('[{"text": "a", "label": 1}]', "utf-8")
    with pytest.raises(DataLoadError, match=r"reviews\.json' has an unknown format; expected"):
        load_splits(tmp_path / "reviews.json")


def test_archive_without_test_split(tarball_factory):
    path = tarball_factory(drop=("aclImdb/test/",))
    with pytest.raises(DataLoadError, match=r"no review files under test/pos/ or test/neg/"):
        load_splits(path)


def test_truncated_archive(acl_tarball, tmp_path):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(acl_tarball.read_bytes()[:300])
    with pytest.raises(DataLoadError, match=r"cut\.tar\.gz"):
        load_splits(cut)


def test_not_an_archive(tmp_path):
    (tmp_path / "fake.tar.gz").write_bytes(b"this is plain text, not gzip")
    with pytest.raises(DataLoadError, match=r"fake\.tar\.gz"):
        load_splits(tmp_path / "fake.tar.gz")


def test_directory_with_unknown_layout(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.md").write_text("hi", "utf-8")
    with pytest.raises(DataLoadError, match=r"no known layout \(found \['notes.md'\]\)"):
        load_splits(tmp_path / "stuff")


def test_directory_with_ambiguous_train_files(tmp_path):
    folder = tmp_path / "amb"
    folder.mkdir()
    small = pd.DataFrame({"text": ["a"], "label": [1]})
    small.to_csv(folder / "train.csv", index=False)
    small.to_parquet(folder / "train.parquet")
    small.to_csv(folder / "test.csv", index=False)
    with pytest.raises(DataLoadError, match=r"exactly one train file .* more than one"):
        load_splits(folder)


def test_directory_missing_test_file(tmp_path):
    folder = tmp_path / "half"
    folder.mkdir()
    pd.DataFrame({"text": ["a"], "label": [1]}).to_csv(folder / "train.csv", index=False)
    with pytest.raises(DataLoadError, match=r"exactly one test file .*found none"):
        load_splits(folder)


def test_dataspec_rejects_bad_config():
    with pytest.raises(ConfigError, match=r"unknown key 'data.text_colum'"):
        parse_section(DataSettings, {"text_colum": "x"}, prefix="data")
    with pytest.raises(ValueError, match="must map to 0 or 1"):
        DataSpec(label_map={"meh": 2})
    with pytest.raises(ValueError, match="test_fraction"):
        DataSpec(test_fraction=1.0)
    with pytest.raises(ValueError, match="must be different"):
        DataSpec(text_column="x", label_column="x")
    assert parse_section(DataSpec, None) == DataSpec()


def test_dataspec_is_a_plain_value():
    spec = DataSpec(label_map={" Good ": 1, "BAD": 0})
    assert spec.label_map == {"good": 1, "bad": 0}
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert hash(spec) == hash(DataSpec(label_map={"good": 1, "bad": 0}))
    assert json.dumps(spec.model_dump())


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_and_sensitive(expected_splits):
    train, test = expected_splits["train"], expected_splits["test"]
    first = data_fingerprint(train, test)
    assert first == data_fingerprint(train.copy(), test.copy())
    assert len(first) == 64
    assert int(first, 16) >= 0

    flipped = train.copy()
    flipped.loc[0, "label"] = 1 - flipped.loc[0, "label"]
    assert data_fingerprint(flipped, test) != first

    edited = train.copy()
    edited.loc[0, "text"] = edited.loc[0, "text"][:-1] + "?"
    assert data_fingerprint(edited, test) != first

    assert data_fingerprint(test, train) != first
    reordered = train.iloc[::-1].reset_index(drop=True)
    assert data_fingerprint(reordered, test) != first
    # Moving a row across the split boundary changes it even though the rows are the same.
    moved_train, moved_test = train.iloc[:-1], pd.concat([train.iloc[-1:], test])
    assert data_fingerprint(moved_train, moved_test) != first


# --------------------------------------------------------------------------- sources


def test_default_cache_dir_follows_xdg(tmp_path):
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "sentiment-mlops"
    assert default_cache_dir({}) == Path.home() / ".cache" / "sentiment-mlops"


def test_local_archive_checksum(acl_tarball):
    right = hashlib.sha256(acl_tarball.read_bytes()).hexdigest()
    assert ensure_official_archive(local_path=acl_tarball, sha256=right) == acl_tarball
    with pytest.raises(DataLoadError) as err:
        ensure_official_archive(local_path=acl_tarball)  # the official checksum: wrong file
    assert f"expected {OFFICIAL_SHA256}" in str(err.value)
    assert right in str(err.value)
    with pytest.raises(DataLoadError, match="does not exist"):
        ensure_official_archive(local_path=acl_tarball.with_name("missing.tar.gz"))


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def http_dir(tmp_path) -> Iterator[tuple[Path, str, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving a temp dir: (dir, base URL, request log)."""
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_download_verifies_writes_atomically_and_reuses_cache(http_dir, acl_tarball, tmp_path):
    served, base, requests = http_dir
    (served / "aclImdb_v1.tar.gz").write_bytes(acl_tarball.read_bytes())
    sha = hashlib.sha256(acl_tarball.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    url = f"{base}/aclImdb_v1.tar.gz"

    path = ensure_official_archive(cache, url=url, sha256=sha)
    assert path == cache / "aclImdb_v1.tar.gz"
    assert path.read_bytes() == acl_tarball.read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == ["aclImdb_v1.tar.gz"]  # no .part left
    assert len(load_splits(path)[0]) == 4  # the downloaded archive is usable as a source

    assert ensure_official_archive(cache, url=url, sha256=sha) == path
    assert requests == ["/aclImdb_v1.tar.gz"]  # second call served from the cache

    path.write_bytes(b"tampered")
    with pytest.raises(DataLoadError, match=r"cached archive .* expected .*delete it"):
        ensure_official_archive(cache, url=url, sha256=sha)


def test_download_with_wrong_checksum_leaves_nothing(http_dir, tmp_path):
    served, base, _ = http_dir
    (served / "aclImdb_v1.tar.gz").write_bytes(b"not the dataset")
    cache = tmp_path / "cache"
    with pytest.raises(DataLoadError, match=r"has SHA-256 [0-9a-f]{64}, expected c40f74a1"):
        ensure_official_archive(cache, url=f"{base}/aclImdb_v1.tar.gz")
    assert list(cache.iterdir()) == []


def test_download_failure_says_how_to_work_offline(http_dir, tmp_path):
    _, base, _ = http_dir
    with pytest.raises(DataLoadError, match=r"could not download .*SENTIMENT_DATA"):
        ensure_official_archive(tmp_path / "c", url=f"{base}/missing.tar.gz")
    assert list((tmp_path / "c").iterdir()) == []


# --------------------------------------------------------------------------- s3 (moto)


@pytest.mark.integration
def test_s3_sources_through_moto(tmp_path, acl_tarball, acl_parent_dir, expected_splits):
    """s3:// works exactly like a local path: CSV, archive, aclImdb prefix, train/test prefix."""
    s3fs = pytest.importorskip("s3fs")
    with moto_s3(tmp_path, buckets=("data",)) as server:
        options = server.storage_options
        fs = s3fs.S3FileSystem(**options)
        table = _table()
        table.to_csv(tmp_path / "reviews.csv", index=False)
        fs.put_file(str(tmp_path / "reviews.csv"), "data/reviews.csv")
        fs.put_file(str(acl_tarball), "data/aclImdb_v1.tar.gz")
        fs.put(str(acl_parent_dir / "aclImdb"), "data/extracted/", recursive=True)
        fs.pipe("data/splits/train.csv", table.iloc[:20].to_csv(index=False).encode())
        fs.pipe("data/splits/test.csv", table.iloc[20:].to_csv(index=False).encode())

        local_csv = load_splits(tmp_path / "reviews.csv")
        s3_csv = load_splits("s3://data/reviews.csv", storage_options=options)
        assert_frame_equal(s3_csv[0], local_csv[0])
        assert_frame_equal(s3_csv[1], local_csv[1])
        _assert_splits(
            load_splits("s3://data/aclImdb_v1.tar.gz", storage_options=options), expected_splits
        )
        _assert_splits(load_splits("s3://data/extracted", storage_options=options), expected_splits)
        train, test = load_splits("s3://data/splits/", storage_options=options)
        assert (len(train), len(test)) == (20, 20)
        with pytest.raises(DataLoadError, match=r"'s3://data/nope\.csv' does not exist"):
            load_splits("s3://data/nope.csv", storage_options=options)
