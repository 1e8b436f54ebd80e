"""sentiment.core.batch: chunked scoring of CSV/Parquet, local and s3://, and its failure modes.

The "model" here is a plain function (P(positive) = share of the word "good"): the scorer's
job is reading, chunking and writing, which does not depend on what computes the scores.
The registry look-up runs against a real (empty) MLflow sqlite store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sentiment.core.batch import (
    BatchInputError,
    BatchSpec,
    ModelRef,
    ReservoirSample,
    input_columns,
    score_file,
)
from sentiment.core.config import ConfigError, parse_section
from tests.support.s3 import moto_s3

MODEL = ModelRef("sentiment-classifier", "7", "production")
# Texts that a CSV writer must quote, non-ASCII, an empty text and one that looks like NA.
AWKWARD = ['good, "quoted" and\nmulti-line', "Café ☕ good good", "", "NA", "bad"]


class Scorer:
    """P(positive) from the share of "good" tokens; records the size of every call."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls: list[int] = []
        self.fail_on_call = fail_on_call

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise RuntimeError("model crashed on this chunk")
        out = []
        for text in texts:
            words = text.lower().split()
            out.append(0.1 + 0.8 * (sum(w.startswith("good") for w in words) / max(len(words), 1)))
        return np.asarray(out)


def frame(n: int) -> pd.DataFrame:
    texts = [AWKWARD[i % len(AWKWARD)] + (f" #{i}" if i >= len(AWKWARD) else "") for i in range(n)]
    return pd.DataFrame(
        {"id": [f"{i:04d}" for i in range(n)], "text": texts, "source": ["web"] * n}
    )


def write(df: pd.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".parquet"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, compression="gzip" if path.name.endswith(".gz") else None)
    return str(path)


def read(path: str) -> pd.DataFrame:
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(
        path,
        dtype="str",
        keep_default_na=False,
        compression="gzip" if path.endswith(".gz") else None,
    )


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("in.csv", "out.csv"),
        ("in.csv", "out.parquet"),
        ("in.parquet", "out.csv.gz"),
        ("in.parquet", "out.parquet"),
    ],
)
def test_round_trip_keeps_every_row_and_column_verbatim(tmp_path, src, dst):
    df = frame(23)
    source = write(df, tmp_path / src)
    dest = str(tmp_path / "out" / dst)
    result = score_file(Scorer(), source, dest, BatchSpec(chunk_rows=5), MODEL)
    out = read(dest)
    assert list(out.columns) == [
        "id",
        "text",
        "source",
        "label",
        "score",
        "model_name",
        "model_version",
    ]
    assert out["id"].tolist() == df["id"].tolist()  # "0007" keeps its zeros
    assert out["text"].tolist() == df["text"].tolist()  # quotes, newlines, "", "NA" intact
    scores = out["score"].astype(float).to_numpy()
    assert scores == pytest.approx(Scorer()(df["text"].tolist()))
    assert out["label"].tolist() == ["positive" if s >= 0.5 else "negative" for s in scores]
    assert set(out["model_name"]) == {"sentiment-classifier"}
    assert set(out["model_version"]) == {"7"}
    assert (result.rows, result.chunks) == (23, 5)
    assert result.label_counts == {
        "positive": int((scores >= 0.5).sum()),
        "negative": int((scores < 0.5).sum()),
    }
    assert result.empty_texts == sum(1 for t in df["text"] if not t.strip())
    assert [p.name for p in (tmp_path / "out").iterdir()] == [dst]  # no temporary file left


def test_scores_in_chunks_of_at_most_chunk_rows(tmp_path):
    """The model never sees more than one chunk: memory is bounded by chunk_rows."""
    source = write(frame(1000), tmp_path / "big.csv")
    scorer = Scorer()
    result = score_file(
        scorer, source, str(tmp_path / "o.parquet"), BatchSpec(chunk_rows=64), MODEL
    )
    assert max(scorer.calls) == 64
    assert sum(scorer.calls) == result.rows == 1000
    assert result.chunks == len(scorer.calls) == 16
    assert pq.ParquetFile(tmp_path / "o.parquet").metadata.num_rows == 1000


@pytest.mark.parametrize("keep", [["source", "id"], ["id"], ["id", "text"]])
def test_keep_columns_selects_and_orders_output(tmp_path, keep):
    source = write(frame(6), tmp_path / "in.csv")
    score_file(Scorer(), source, str(tmp_path / "o.csv"), BatchSpec(keep_columns=keep), MODEL)
    assert list(read(str(tmp_path / "o.csv")).columns) == [
        *keep,
        "label",
        "score",
        "model_name",
        "model_version",
    ]


def test_no_output_scores_and_samples_only(tmp_path):
    source = write(frame(40), tmp_path / "in.csv")
    sample = ReservoirSample(10, seed=1)
    result = score_file(Scorer(), source, None, BatchSpec(chunk_rows=7), MODEL, sample=sample)
    assert result.output is None
    assert result.rows == 40
    assert sample.seen == 40
    sampled = sample.frame()
    assert len(sampled) == 10
    texts = frame(40)["text"].tolist()
    assert set(sampled["text"]) <= set(texts)
    by_text = dict(zip(texts, Scorer()(texts), strict=True))
    assert sampled["score"].tolist() == pytest.approx([by_text[t] for t in sampled["text"]])


def test_reservoir_is_bounded_uniform_and_seeded():
    def draw(seed: int) -> list[str]:
        sample = ReservoirSample(100, seed=seed)
        for start in range(0, 10_000, 333):  # uneven chunks
            ids = [str(i) for i in range(start, min(start + 333, 10_000))]
            sample.add(ids, np.zeros(len(ids)))
        return sample.texts

    first = draw(3)
    assert len(first) == 100 == len(set(first))
    assert draw(3) == first
    assert draw(4) != first
    positions = np.array([int(x) for x in first])
    # Uniform over the stream, not its head: the mean position is near the middle.
    assert 3_500 < positions.mean() < 6_500
    assert (positions >= 5_000).sum() > 30

    short = ReservoirSample(50)
    short.add(["a", "b"], [0.2, 0.9])
    assert short.texts == ["a", "b"]
    assert short.scores == [0.2, 0.9]


def test_missing_text_column_is_named_with_the_columns_found(tmp_path):
    source = write(frame(3).rename(columns={"text": "review"}), tmp_path / "in.csv")
    with pytest.raises(
        BatchInputError,
        match=r"missing column\(s\) \['text'\]; found \['id', "
        r"'review', 'source'\]",
    ):
        input_columns(source, BatchSpec())
    with pytest.raises(BatchInputError, match=r"\['nope'\]"):
        input_columns(write(frame(3), tmp_path / "ok.csv"), BatchSpec(keep_columns=["nope"]))
    assert input_columns(source, BatchSpec(text_column="review")) == ["id", "review", "source"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.txt", b"text\nhello\n", "unknown file type"),
        ("empty.csv", b"", "empty file"),
        ("header.csv", b"id,text\n", "header but no rows"),
        ("latin1.csv", b"text\ncaf\xe9\n", "not a readable csv"),
        ("broken.parquet", b"PAR1 not really parquet", "not a readable parquet"),
    ],
)
def test_bad_inputs_are_clear_errors_and_leave_no_output(tmp_path, name, content, message):
    source = tmp_path / name
    source.write_bytes(content)
    dest = tmp_path / "out" / "o.csv"
    with pytest.raises(BatchInputError, match=message):
        score_file(Scorer(), str(source), str(dest), BatchSpec(), MODEL)
    assert not dest.exists()
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_missing_input_file(tmp_path):
    with pytest.raises(BatchInputError, match="does not exist"):
        score_file(Scorer(), str(tmp_path / "nope.csv"), None, BatchSpec(), MODEL)


def test_parquet_null_texts_and_non_string_texts_are_refused(tmp_path):
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"text": ["ok", None, "fine", None]}), nulls)
    with pytest.raises(BatchInputError, match=r"2 rows .* no text \(first rows: \[1, 3\]\)"):
        score_file(Scorer(), str(nulls), None, BatchSpec(), MODEL)
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), numbers)
    with pytest.raises(BatchInputError, match="has type int64, not string"):
        score_file(Scorer(), str(numbers), None, BatchSpec(), MODEL)


def test_output_must_not_clobber_input_or_collide_with_prediction_columns(tmp_path):
    source = write(frame(3), tmp_path / "in.csv")
    with pytest.raises(BatchInputError, match="is the input file"):
        score_file(Scorer(), source, source, BatchSpec(), MODEL)
    labelled = write(frame(3).assign(label="positive"), tmp_path / "labelled.csv")
    with pytest.raises(BatchInputError, match=r"already has column\(s\) \['label'\].*keep_columns"):
        score_file(Scorer(), labelled, str(tmp_path / "o.csv"), BatchSpec(), MODEL)
    # Without an output file there is nothing to collide with; keep_columns avoids it too.
    assert score_file(Scorer(), labelled, None, BatchSpec(), MODEL).rows == 3
    score_file(
        Scorer(), labelled, str(tmp_path / "o.csv"), BatchSpec(keep_columns=["id", "text"]), MODEL
    )
    with pytest.raises(BatchInputError, match="unknown file type"):
        score_file(Scorer(), source, str(tmp_path / "o.json"), BatchSpec(), MODEL)


def test_failure_midway_leaves_previous_output_untouched(tmp_path):
    source = write(frame(30), tmp_path / "in.csv")
    dest = tmp_path / "o.parquet"
    score_file(Scorer(), write(frame(2), tmp_path / "old.csv"), str(dest), BatchSpec(), MODEL)
    before = dest.read_bytes()
    with pytest.raises(RuntimeError, match="crashed"):
        score_file(Scorer(fail_on_call=3), source, str(dest), BatchSpec(chunk_rows=5), MODEL)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "o.parquet", "old.csv"]


def test_batch_spec_rejects_bad_settings():
    with pytest.raises(ConfigError, match=r"unknown key 'batch.chunk'"):
        parse_section(BatchSpec, {"chunk": 5}, prefix="batch")
    with pytest.raises(ValueError, match="chunk_rows"):
        BatchSpec(chunk_rows=0)
    with pytest.raises(ValueError, match="keep_columns"):
        BatchSpec.model_validate({"keep_columns": "id"})
    with pytest.raises(ValueError, match="threshold"):
        BatchSpec(threshold=1.5)
    assert BatchSpec.model_validate({"keep_columns": ["id"]}).keep_columns == ("id",)


@pytest.mark.integration
def test_s3_input_and_output_through_moto(tmp_path):
    """s3:// in and out through a real moto server: same rows, no temporary object left."""
    with moto_s3(tmp_path, buckets=("batches",)) as server:
        s3 = server.client()
        df = frame(25)
        s3.put_object(Bucket="batches", Key="in/reviews.csv", Body=df.to_csv(index=False).encode())
        spec = BatchSpec(
            chunk_rows=10,
            storage_options=server.storage_options,
        )
        assert input_columns("s3://batches/in/reviews.csv", spec) == ["id", "text", "source"]
        result = score_file(
            Scorer(),
            "s3://batches/in/reviews.csv",
            "s3://batches/out/predictions.parquet",
            spec,
            MODEL,
        )
        assert (result.rows, result.chunks) == (25, 3)
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="batches")["Contents"])
        assert keys == ["in/reviews.csv", "out/predictions.parquet"]
        local = tmp_path / "p.parquet"
        local.write_bytes(
            s3.get_object(Bucket="batches", Key="out/predictions.parquet")["Body"].read()
        )
        out = pd.read_parquet(local)
        assert out["id"].tolist() == df["id"].tolist()
        assert set(out["model_version"]) == {"7"}
        with pytest.raises(BatchInputError, match="does not exist"):
            input_columns("s3://batches/in/missing.csv", spec)
