"""Reading a batch chunk by chunk and writing its predictions atomically, local or ``s3://``.

The output is written to a temporary name next to the destination and moved into place only
when every row was scored, so a failed run never leaves a half-written predictions file that
looks complete.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sentiment.core.batch.spec import (
    LABEL_NAMES,
    BatchInputError,
    BatchSpec,
    ModelRef,
)

_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_FORMATS_HELP = "expected a .csv, .csv.gz, .parquet or .pq file"


def file_format(path: str, what: str) -> str:
    lower = path.lower()
    if lower.endswith(_CSV_SUFFIXES):
        return "csv"
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise BatchInputError(f"{what} {path!r}: unknown file type; {_FORMATS_HELP}")


def filesystem(uri: str, spec: BatchSpec, what: str) -> tuple[Any, str]:
    try:
        fs, path = fsspec.core.url_to_fs(uri, **dict(spec.storage_options))
    except (ImportError, ValueError) as exc:
        raise BatchInputError(f"{what} {uri!r}: cannot open this kind of location ({exc})") from exc
    return fs, str(path)


def input_columns(source: str, spec: BatchSpec) -> list[str]:
    """The input's column names, read from the header/schema only, after checking it exists.

    Called before a pipeline starts so a wrong path or column fails in a second, not after
    the orchestrator spun up.
    """
    what = "batch input"
    kind = file_format(source, what)
    fs, path = filesystem(source, spec, what)
    if not fs.exists(path) or fs.isdir(path):
        raise BatchInputError(f"{what} {source!r} does not exist or is not a file")
    if fs.size(path) == 0:
        raise BatchInputError(f"{what} {source!r} is an empty file (0 bytes)")
    try:
        with fs.open(path, "rb") as handle:
            if kind == "csv":
                header = pd.read_csv(
                    handle,
                    nrows=0,
                    compression=_compression(path),
                    encoding="utf-8",
                    encoding_errors="strict",
                )
                columns = [str(c) for c in header.columns]
            else:
                columns = list(pq.ParquetFile(handle).schema_arrow.names)
    except (
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        pa.ArrowException,
        OSError,
    ) as exc:
        raise BatchInputError(f"{what} {source!r} is not a readable {kind} file: {exc}") from exc
    _check_columns(columns, spec, source)
    return columns


def _compression(path: str) -> str | None:
    return "gzip" if path.lower().endswith(".gz") else None


def _check_columns(columns: Sequence[str], spec: BatchSpec, source: str) -> list[str]:
    """The columns to read (the text column and the kept ones), which must all exist."""
    wanted = (
        [spec.text_column] if spec.keep_columns is None else [spec.text_column, *spec.keep_columns]
    )
    missing = [c for c in dict.fromkeys(wanted) if c not in columns]
    if missing:
        raise BatchInputError(
            f"batch input {source!r}: missing column(s) {missing}; found {list(columns)}. "
            "Set batch.text_column / batch.keep_columns in configs/inference.yaml"
        )
    return list(columns) if spec.keep_columns is None else list(dict.fromkeys(wanted))


def read_chunks(fs: Any, path: str, source: str, spec: BatchSpec) -> Iterator[pa.Table]:
    """The input as Arrow tables of at most ``chunk_rows`` rows, only the needed columns."""
    kind = file_format(path, "batch input")
    rows = 0
    try:
        with fs.open(path, "rb") as handle:
            if kind == "csv":
                header = pd.read_csv(handle, nrows=0, compression=_compression(path))
                columns = _check_columns([str(c) for c in header.columns], spec, source)
                handle.seek(0)
                # Every column as text, verbatim: no NA guessing, ids like "007" keep zeros.
                reader = pd.read_csv(
                    handle,
                    chunksize=spec.chunk_rows,
                    usecols=columns,
                    dtype="str",
                    keep_default_na=False,
                    na_filter=False,
                    encoding="utf-8",
                    encoding_errors="strict",
                    compression=_compression(path),
                )
                with reader:
                    for frame in reader:
                        rows += len(frame)
                        yield pa.Table.from_pandas(frame[columns], preserve_index=False)
            else:
                parquet = pq.ParquetFile(handle)
                columns = _check_columns(parquet.schema_arrow.names, spec, source)
                for batch in parquet.iter_batches(batch_size=spec.chunk_rows, columns=columns):
                    rows += batch.num_rows
                    yield pa.Table.from_batches([batch])
    except (
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        pa.ArrowException,
    ) as exc:
        raise BatchInputError(
            f"batch input {source!r} is not a readable {kind} file after row {rows}: {exc}"
            + ("; re-encode it as UTF-8" if isinstance(exc, UnicodeDecodeError) else "")
        ) from exc


def chunk_texts(table: pa.Table, spec: BatchSpec, first_row: int, source: str) -> list[str]:
    column = table.column(spec.text_column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise BatchInputError(
            f"batch input {source!r}: text column {spec.text_column!r} has type "
            f"{column.type}, not string"
        )
    if column.null_count:
        nulls = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[:5] + first_row
        raise BatchInputError(
            f"batch input {source!r}: {column.null_count} rows in the chunk starting at row "
            f"{first_row} have no text (first rows: {nulls.tolist()}); every row needs a text"
        )
    texts: list[str] = column.to_pylist()
    return texts


@contextmanager
def atomic_output(dest: str, spec: BatchSpec) -> Iterator[tuple[Any, Any, str]]:
    """Yield (fs, binary handle, format) for a temporary file moved to ``dest`` on success."""
    kind = file_format(dest, "batch output")
    fs, path = filesystem(dest, spec, "batch output")
    if fs.isdir(path):
        raise BatchInputError(f"batch output {dest!r} is a directory; name a file")
    parent = posixpath.dirname(path)
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    if "file" in protocols and parent:
        fs.makedirs(parent, exist_ok=True)
    name = posixpath.basename(path)
    tmp = posixpath.join(parent, f".{name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with fs.open(tmp, "wb") as handle:
            yield fs, handle, kind
        fs.mv(tmp, path)
    finally:
        if fs.exists(tmp):
            fs.rm(tmp)


def prediction_table(
    table: pa.Table, keep: Sequence[str], scores: np.ndarray, model: ModelRef, spec: BatchSpec
) -> pa.Table:
    positive = scores >= spec.threshold
    labels = np.where(positive, LABEL_NAMES[1], LABEL_NAMES[0])
    n = len(scores)
    out = table.select(list(keep))
    out = out.append_column("label", pa.array(labels.tolist(), pa.string()))
    out = out.append_column("score", pa.array(scores, pa.float64()))
    out = out.append_column("model_name", pa.array([model.name] * n, pa.string()))
    return out.append_column("model_version", pa.array([model.version] * n, pa.string()))


class TableWriter:
    """Appends prediction tables to CSV or Parquet; the first chunk fixes the schema."""

    def __init__(self, handle: Any, kind: str, compress: bool) -> None:
        self._handle = handle
        self._kind = kind
        self._compress = compress
        self._writer: Any = None
        self._stream: Any = None
        self.schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.schema = table.schema
            if self._kind == "parquet":
                self._writer = pq.ParquetWriter(self._handle, self.schema)
            else:
                import pyarrow.csv as pcsv

                sink = self._handle
                if self._compress:
                    self._stream = pa.CompressedOutputStream(self._handle, "gzip")
                    sink = self._stream
                self._writer = pcsv.CSVWriter(sink, self.schema)
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._stream is not None:
            self._stream.close()


def same_location(a: str, b: str) -> bool:
    def norm(uri: str) -> str:
        return uri if "://" in uri else os.path.realpath(uri)

    return norm(a) == norm(b)
