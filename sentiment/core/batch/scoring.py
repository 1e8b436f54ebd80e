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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sentiment.core.batch.files import (
    TableWriter,
    atomic_output,
    chunk_texts,
    file_format,
    filesystem,
    input_columns,
    prediction_table,
    read_chunks,
    same_location,
)
from sentiment.core.batch.spec import (
    LABEL_NAMES,
    PREDICTION_COLUMNS,
    BatchInputError,
    BatchSpec,
    ModelRef,
)

log = logging.getLogger(__name__)


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
    file_format(source, what)
    fs, path = filesystem(source, spec, what)
    columns = input_columns(source, spec)
    keep = list(columns) if spec.keep_columns is None else list(spec.keep_columns)
    if dest is not None:
        clash = sorted(set(keep) & set(PREDICTION_COLUMNS))
        if clash:
            raise BatchInputError(
                f"batch input {source!r} already has column(s) {clash}, which the predictions "
                f"add; list the input columns to keep in batch.keep_columns (e.g. [id, text])"
            )
        if same_location(source, dest):
            raise BatchInputError(f"batch output {dest!r} is the input file; choose another path")
    result = BatchResult(source, dest, model.name, model.version)
    started = time.perf_counter()

    def run(writer: TableWriter | None) -> None:
        for table in read_chunks(fs, path, source, spec):
            texts = chunk_texts(table, spec, result.rows, source)
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
                writer.write(prediction_table(table, keep, scores, model, spec))
            result.rows += len(texts)
            result.chunks += 1
            if on_chunk is not None:
                on_chunk(result.chunks, result.rows)

    if dest is None:
        run(None)
    else:
        with atomic_output(dest, spec) as (_, handle, kind):
            writer = TableWriter(handle, kind, compress=dest.lower().endswith(".gz"))
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
