"""Read (train, test) review frames from any supported source, local or remote, via fsspec.

Supported sources (``s3://bucket/key`` works exactly like a local path):

1. the aclImdb archive (``.tar.gz``/``.tgz``/``.tar``), streamed member by member - never
   extracted to disk, so a read-only or remote archive works and nothing is left behind;
2. an extracted ``aclImdb/`` folder, or a folder that contains ``aclImdb/``;
3. one CSV or Parquet file with text/label columns and either a split column or a seeded
   stratified split;
4. a directory with ``train.{csv,parquet}`` and ``test.{csv,parquet}``.

aclImdb rows are returned sorted by ``(label folder, file name)`` within each split, so the
archive and its extracted folder give identical frames (and fingerprints).
"""

from __future__ import annotations

import logging
import os
import posixpath
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import fsspec
import pandas as pd

from sentiment.core.data.frames import SPLITS, make_frame, map_labels, split_frame, text_values
from sentiment.core.data.spec import DataLoadError, DataSpec

log = logging.getLogger(__name__)

LABEL_DIRS = {"neg": 0, "pos": 1}
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_READ_BATCH = 2000  # files fetched per fs.cat call: bounded memory, concurrent on object stores
_FORMATS_HELP = (
    "expected the aclImdb .tar.gz archive, an extracted aclImdb/ folder, a .csv/.parquet "
    "file, or a directory with train.{csv,parquet} and test.{csv,parquet}"
)

# One aclImdb review: (label folder, file name, text); sorting these gives the canonical order.
Review = tuple[str, str, str]


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            f"{where} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
            "re-encode the review files as UTF-8"
        ) from exc


def _review_path(name: str) -> tuple[str, str, str] | None:
    """(split, label folder, file name) when ``name`` is a labelled aclImdb review file."""
    parts = name.removeprefix("./").split("/")
    if len(parts) < 3:
        return None
    split, label_dir, file_name = parts[-3:]
    if split in SPLITS and label_dir in LABEL_DIRS and file_name.endswith(".txt"):
        # Dot files are tool metadata (macOS AppleDouble "._123_4.txt"), not reviews.
        return None if file_name.startswith(".") else (split, label_dir, file_name)
    return None


def _assemble(reviews: Mapping[str, list[Review]], where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for split in SPLITS:
        rows = sorted(reviews[split])
        if not rows:
            raise DataLoadError(
                f"{where}: no review files under {split}/pos/ or {split}/neg/; the aclImdb "
                "layout is aclImdb/{train,test}/{pos,neg}/*.txt"
            )
        frames.append(make_frame([r[2] for r in rows], [LABEL_DIRS[r[0]] for r in rows]))
    return frames[0], frames[1]


def _read_archive(fs: Any, path: str, where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    reviews: dict[str, list[Review]] = {s: [] for s in SPLITS}
    ignored = 0
    try:
        with fs.open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as archive:
            for member in archive:
                found = _review_path(member.name) if member.isfile() else None
                if found is None:
                    ignored += 1
                    continue
                handle = archive.extractfile(member)
                assert handle is not None  # regular files always have a payload
                text = _decode(handle.read(), f"{where}: member {member.name}")
                reviews[found[0]].append((found[1], found[2], text))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise DataLoadError(
            f"{where} is not a readable tar archive ({type(exc).__name__}: {exc}); "
            "is the download truncated or the file something else?"
        ) from exc
    log.info(
        "read %d train / %d test reviews from archive %s (skipped %d other members: "
        "unsup, urls, vocab, directories)",
        len(reviews["train"]),
        len(reviews["test"]),
        where,
        ignored,
    )
    return _assemble(reviews, where)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _read_folder(fs: Any, root: str, where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    reviews: dict[str, list[Review]] = {s: [] for s in SPLITS}
    for split in SPLITS:
        for label_dir in LABEL_DIRS:
            files = sorted(fs.glob(posixpath.join(root, split, label_dir, "*.txt")))
            files = [f for f in files if _review_path(f) is not None]
            for batch in _chunks(files, _READ_BATCH):
                for file_path, data in fs.cat(batch).items():
                    text = _decode(data, f"{where}: file {file_path}")
                    reviews[split].append((label_dir, posixpath.basename(file_path), text))
    log.info(
        "read %d train / %d test reviews from folder %s",
        len(reviews["train"]),
        len(reviews["test"]),
        where,
    )
    return _assemble(reviews, where)


def _read_table(fs: Any, path: str, where: str, spec: DataSpec) -> pd.DataFrame:
    lower = path.lower()
    try:
        with fs.open(path, "rb") as handle:
            if lower.endswith(_CSV_SUFFIXES):
                # Texts stay verbatim: no NA guessing ("NA" and "" are texts, not missing).
                table = pd.read_csv(
                    handle,
                    dtype={spec.text_column: "str", spec.split_column: "str"},
                    keep_default_na=False,
                    na_filter=False,
                    encoding="utf-8",
                    encoding_errors="strict",
                    compression="gzip" if lower.endswith(".gz") else None,
                )
            else:
                table = pd.read_parquet(handle)
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            f"{where} is not valid UTF-8 ({exc.reason}); re-encode the file as UTF-8"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataLoadError(
            f"{where} has no header and no rows; it must be a CSV file "
            f"with columns {spec.text_column!r} and {spec.label_column!r}"
        ) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        kind = "CSV" if lower.endswith(_CSV_SUFFIXES) else "Parquet"
        raise DataLoadError(f"{where} is not a readable {kind} file: {exc}") from exc
    missing = [c for c in (spec.text_column, spec.label_column) if c not in table.columns]
    if missing:
        raise DataLoadError(
            f"{where}: missing column(s) {missing}; found {list(map(str, table.columns))}. "
            "Rename the columns or set data.text_column / data.label_column in "
            "configs/training.yaml"
        )
    if table.empty:
        raise DataLoadError(f"{where} has a header but no rows")
    return table


def _read_split_dir(
    fs: Any, root: str, names: dict[str, str], where: str, spec: DataSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for split in SPLITS:
        wanted = [f"{split}{suffix}" for suffix in _CSV_SUFFIXES + _PARQUET_SUFFIXES]
        found = [names[w] for w in wanted if w in names]
        if len(found) != 1:
            problem = "none" if not found else "more than one: " + ", ".join(found)
            raise DataLoadError(
                f"{where}: need exactly one {split} file ({', '.join(wanted)}); found {problem}"
            )
        file_where = f"{where}: file {posixpath.basename(found[0])}"
        table = _read_table(fs, found[0], file_where, spec)
        texts = text_values(table[spec.text_column], file_where)
        labels = map_labels(table[spec.label_column], spec, file_where)
        frames.append(make_frame(texts, labels.tolist()))
    return frames[0], frames[1]


def _read_directory(
    fs: Any, root: str, where: str, spec: DataSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    entries = fs.ls(root, detail=True)
    dirs = {posixpath.basename(e["name"].rstrip("/")) for e in entries if e["type"] == "directory"}
    files = {
        posixpath.basename(e["name"]).lower(): e["name"] for e in entries if e["type"] == "file"
    }
    if {"train", "test"} <= dirs:
        return _read_folder(fs, root, where)
    if "aclImdb" in dirs:
        return _read_folder(fs, posixpath.join(root, "aclImdb"), where)
    if any(name.startswith(("train.", "test.")) for name in files):
        return _read_split_dir(fs, root, files, where, spec)
    shown = sorted(dirs | set(files))[:10]
    raise DataLoadError(
        f"{where} is a directory with no known layout (found {shown}); {_FORMATS_HELP}"
    )


def load_splits(
    source: str | os.PathLike[str],
    spec: DataSpec | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load ``(train, test)`` frames with exactly the columns ``text`` (str) and ``label`` (0/1).

    Raises :class:`DataLoadError` naming the source and the problem for anything that cannot
    be read as labelled reviews. Nothing is dropped or repaired here: data problems that
    still parse (duplicates, empty texts, leakage) are for :mod:`sentiment.core.validation`.
    """
    spec = spec or DataSpec()
    source_str = os.fspath(source)
    where = f"data source {source_str!r}"
    try:
        fs, path = fsspec.core.url_to_fs(source_str, **dict(storage_options or {}))
    except (ImportError, ValueError) as exc:
        raise DataLoadError(f"{where}: cannot open this kind of location ({exc})") from exc
    try:
        if not fs.exists(path):
            raise DataLoadError(f"{where} does not exist; {_FORMATS_HELP}")
        if fs.isdir(path):
            return _read_directory(fs, path.rstrip("/"), where, spec)
        if fs.size(path) == 0:
            raise DataLoadError(f"{where} is an empty file (0 bytes)")
        lower = path.lower()
        if lower.endswith(_ARCHIVE_SUFFIXES):
            return _read_archive(fs, path, where)
        if lower.endswith(_CSV_SUFFIXES + _PARQUET_SUFFIXES):
            return split_frame(_read_table(fs, path, where, spec), spec, where)
    except OSError as exc:
        raise DataLoadError(f"{where} cannot be read: {type(exc).__name__}: {exc}") from exc
    raise DataLoadError(f"{where} has an unknown format; {_FORMATS_HELP}")
