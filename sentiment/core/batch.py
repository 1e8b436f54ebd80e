"""Batch scoring: stream a CSV/Parquet file of texts through the model, chunk by chunk.

The input is never held whole in memory: rows are read ``chunk_rows`` at a time (pandas'
chunked CSV reader, pyarrow's Parquet batch iterator), scored, and appended to the output
before the next chunk is read, so a file of a million reviews needs the memory of one chunk
plus the model. Local paths and ``s3://`` URIs go through the same fsspec code.

The output is written to a temporary name next to the destination and moved into place only
when every row was scored, so a failed run never leaves a half-written predictions file that
looks complete. Alongside the predictions, a seeded reservoir sample of ``(text, score)``
rows is kept (bounded size, uniform over the whole input) for the drift check.
"""

from __future__ import annotations

import logging
import os
import posixpath
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

LABEL_NAMES = ("negative", "positive")
#: Columns the scorer adds to every output row.
PREDICTION_COLUMNS = ("label", "score", "model_name", "model_version")
_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_FORMATS_HELP = "expected a .csv, .csv.gz, .parquet or .pq file"


class BatchInputError(ValueError):
    """The input or output of a batch cannot be used as given; the message says why."""


class ModelNotFoundError(LookupError):
    """The registry has no model version matching the request."""


@dataclass(frozen=True)
class BatchSpec:
    """How to read, score and write one batch (the ``batch:`` section of the inference config).

    ``keep_columns`` lists the input columns copied to the output (``None``: all of them);
    ``sample_rows`` bounds the reservoir sample handed to the drift check.
    """

    text_column: str = "text"
    keep_columns: tuple[str, ...] | None = None
    chunk_rows: int = 10_000
    sample_rows: int = 5_000
    threshold: float = 0.5
    seed: int = 42
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text_column, str) or not self.text_column:
            raise ValueError("batch.text_column must be a non-empty string")
        if self.keep_columns is not None:
            if isinstance(self.keep_columns, str):
                raise ValueError("batch.keep_columns must be a list of column names or null")
            object.__setattr__(self, "keep_columns", tuple(str(c) for c in self.keep_columns))
        for name in ("chunk_rows", "sample_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"batch.{name} = {value!r}: must be a positive integer")
        if not 0.0 < float(self.threshold) < 1.0:
            raise ValueError(f"batch.threshold = {self.threshold!r}: must be between 0 and 1")
        object.__setattr__(self, "storage_options", dict(self.storage_options or {}))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> BatchSpec:
        """Build from the config section; unknown keys are an error (they are usually typos)."""
        values = dict(values or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) in the batch config section: {unknown}; allowed: {sorted(known)}"
            )
        return cls(**values)


@dataclass(frozen=True)
class ModelRef:
    """The registered model version a batch is scored with (resolved once per run)."""

    name: str
    version: str
    alias: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelRef:
        return cls(
            str(values["name"]),
            str(values["version"]),
            values.get("alias"),
            dict(values.get("tags") or {}),
        )


def resolve_model(
    name: str,
    *,
    alias: str | None = "production",
    version: str | None = None,
    tracking_uri: str | None = None,
) -> ModelRef:
    """The version to score with: ``version`` when given, else the one holding ``alias``."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from sentiment.registry import get_alias_version

    if version:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        try:
            mv = client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise ModelNotFoundError(f"model {name!r} has no version {version!r}") from exc
        return ModelRef(name, str(mv.version), None, dict(mv.tags))
    if not alias:
        raise ModelNotFoundError("name a model version or an alias to score with")
    holder = get_alias_version(name, alias, tracking_uri=tracking_uri)
    if holder is None:
        raise ModelNotFoundError(
            f"model {name!r} has no {alias!r} version; train and promote one first "
            "(python run.py train) or pass --model-version"
        )
    return ModelRef(name, str(holder.version), alias, dict(holder.tags))


@dataclass
class ReservoirSample:
    """A uniform random sample of at most ``size`` rows of a stream (Algorithm R), seeded.

    Memory is bounded by ``size`` whatever the stream length, and every row of the input has
    the same chance to be in the sample, so drift statistics see the whole batch, not its head.
    """

    size: int
    seed: int = 42
    seen: int = 0
    texts: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def add(self, texts: Sequence[str], scores: Sequence[float] | np.ndarray) -> None:
        scores = np.asarray(scores, dtype=float)
        start = 0
        room = self.size - len(self.texts)
        if room > 0:  # fill phase: keep everything
            self.texts.extend(texts[:room])
            self.scores.extend(scores[:room].tolist())
            start = min(room, len(texts))
        if start < len(texts):
            positions = np.arange(self.seen + start, self.seen + len(texts))
            slots = self._rng.integers(0, positions + 1)  # one draw per row, in stream order
            for offset in np.flatnonzero(slots < self.size).tolist():
                slot = int(slots[offset])
                self.texts[slot] = texts[start + offset]
                self.scores[slot] = float(scores[start + offset])
        self.seen += len(texts)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "text": pd.Series(self.texts, dtype="str"),
                "score": pd.Series(self.scores, dtype="float64"),
            }
        )


@dataclass
class BatchResult:
    """What a batch run did: counts, the label mix, throughput, and where the output went."""

    input: str
    output: str | None
    model_name: str
    model_version: str
    rows: int = 0
    chunks: int = 0
    label_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABEL_NAMES, 0))
    score_sum: float = 0.0
    empty_texts: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        rows = max(self.rows, 1)
        return {
            "input": self.input,
            "output": self.output,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "rows": self.rows,
            "chunks": self.chunks,
            "label_counts": dict(self.label_counts),
            "label_shares": {k: v / rows for k, v in self.label_counts.items()},
            "mean_score": self.score_sum / rows,
            "empty_texts": self.empty_texts,
            "seconds": self.seconds,
            "rows_per_second": self.rows / self.seconds if self.seconds > 0 else 0.0,
        }


def _format(path: str, what: str) -> str:
    lower = path.lower()
    if lower.endswith(_CSV_SUFFIXES):
        return "csv"
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise BatchInputError(f"{what} {path!r}: unknown file type; {_FORMATS_HELP}")


def _filesystem(uri: str, spec: BatchSpec, what: str) -> tuple[Any, str]:
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
    kind = _format(source, what)
    fs, path = _filesystem(source, spec, what)
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


def _read_chunks(fs: Any, path: str, source: str, spec: BatchSpec) -> Iterator[pa.Table]:
    """The input as Arrow tables of at most ``chunk_rows`` rows, only the needed columns."""
    kind = _format(path, "batch input")
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


def _texts(table: pa.Table, spec: BatchSpec, first_row: int, source: str) -> list[str]:
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
def _atomic_output(dest: str, spec: BatchSpec) -> Iterator[tuple[Any, Any, str]]:
    """Yield (fs, binary handle, format) for a temporary file moved to ``dest`` on success."""
    kind = _format(dest, "batch output")
    fs, path = _filesystem(dest, spec, "batch output")
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


def _prediction_table(
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


class _Writer:
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


def score_file(
    predict_proba: Callable[[list[str]], np.ndarray],
    source: str,
    dest: str | None,
    spec: BatchSpec,
    model: ModelRef,
    *,
    sample: ReservoirSample | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Score every row of ``source`` and write the predictions to ``dest`` (if given).

    ``predict_proba`` maps a list of raw texts to P(positive) per text. Each output row holds
    the kept input columns, ``label`` (negative/positive at ``spec.threshold``), ``score``,
    ``model_name`` and ``model_version``. ``dest=None`` scores without writing (a drift check
    on a sample logged by the service). ``on_chunk(chunks, rows)`` reports progress.
    """
    what = "batch input"
    _format(source, what)
    fs, path = _filesystem(source, spec, what)
    columns = input_columns(source, spec)
    keep = list(columns) if spec.keep_columns is None else list(spec.keep_columns)
    if dest is not None:
        clash = sorted(set(keep) & set(PREDICTION_COLUMNS))
        if clash:
            raise BatchInputError(
                f"batch input {source!r} already has column(s) {clash}, which the predictions "
                f"add; list the input columns to keep in batch.keep_columns (e.g. [id, text])"
            )
        if _same_location(source, dest):
            raise BatchInputError(f"batch output {dest!r} is the input file; choose another path")
    result = BatchResult(source, dest, model.name, model.version)
    started = time.perf_counter()

    def run(writer: _Writer | None) -> None:
        for table in _read_chunks(fs, path, source, spec):
            texts = _texts(table, spec, result.rows, source)
            scores = np.asarray(predict_proba(texts), dtype=float)
            if scores.shape != (len(texts),):
                raise ValueError(f"model returned {scores.shape} scores for {len(texts)} texts")
            positives = int((scores >= spec.threshold).sum())
            result.label_counts[LABEL_NAMES[1]] += positives
            result.label_counts[LABEL_NAMES[0]] += len(texts) - positives
            result.score_sum += float(scores.sum())
            result.empty_texts += sum(1 for t in texts if not t.strip())
            if sample is not None:
                sample.add(texts, scores)
            if writer is not None:
                writer.write(_prediction_table(table, keep, scores, model, spec))
            result.rows += len(texts)
            result.chunks += 1
            if on_chunk is not None:
                on_chunk(result.chunks, result.rows)

    if dest is None:
        run(None)
    else:
        with _atomic_output(dest, spec) as (_, handle, kind):
            writer = _Writer(handle, kind, compress=dest.lower().endswith(".gz"))
            try:
                run(writer)
                if result.rows == 0:
                    raise BatchInputError(f"batch input {source!r} has a header but no rows")
            finally:
                writer.close()
    if result.rows == 0:
        raise BatchInputError(f"batch input {source!r} has a header but no rows")
    result.seconds = time.perf_counter() - started
    log.info(
        "scored %d rows in %d chunks (%.0f rows/s) with %s v%s",
        result.rows,
        result.chunks,
        result.rows / max(result.seconds, 1e-9),
        model.name,
        model.version,
    )
    return result


def _same_location(a: str, b: str) -> bool:
    def norm(uri: str) -> str:
        return uri if "://" in uri else os.path.realpath(uri)

    return norm(a) == norm(b)
