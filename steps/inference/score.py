"""Score a CSV/Parquet batch chunk by chunk and write the predictions (local or s3://)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer

from sentiment.core.batch import BatchSpec, ModelRef, ReservoirSample, score_file
from sentiment.reports.progress import Progress
from steps.inference.models import load_registered
from steps.tracking import active_run_id, log_metrics, log_params


@step(
    enable_cache=False,  # reads a file that may change under the same name, writes output
    output_materializers={"batch_sample": PandasMaterializer},
)
def score_batch(
    model_ref: dict[str, Any],
    input_uri: str,
    batch: BatchSpec,
    output_uri: str | None = None,
) -> tuple[Annotated[dict[str, Any], "batch_summary"], Annotated[pd.DataFrame, "batch_sample"]]:
    """Stream ``input_uri`` through the model into ``output_uri`` inside this one step.

    Only the summary and a bounded reservoir sample (``batch.sample_rows`` texts with their
    scores, for the drift check) leave the step: the input itself never becomes an artifact,
    so a million-row file needs the memory of one chunk.
    """
    spec = batch
    ref = ModelRef.from_dict(model_ref)
    model = load_registered(ref)
    sample = ReservoirSample(spec.sample_rows, seed=spec.seed)

    with Progress("scoring", total=None, unit="rows") as bar:
        result = score_file(
            lambda texts: model.predict_proba(texts)[:, 1],
            input_uri,
            output_uri,
            spec,
            ref,
            sample=sample,
            on_chunk=lambda chunks, rows: bar.update(rows),
        )
        bar.summary = (
            f"scored {result.rows:,} rows in {result.chunks} chunks in {bar.seconds:.1f} s "
            f"with {ref.name} v{ref.version}"
        )
    summary = {
        **result.to_dict(),
        "threshold": spec.threshold,
        "sample_rows": len(sample.texts),
        "mlflow_run_id": active_run_id(),
    }
    log_params(
        {
            "model_name": ref.name,
            "model_version": ref.version,
            "input": input_uri,
            "output": output_uri or "",
            "chunk_rows": spec.chunk_rows,
        }
    )
    log_metrics(
        {
            "rows": result.rows,
            "chunks": result.chunks,
            "rows_per_second": summary["rows_per_second"],
            "positive_share": summary["label_shares"]["positive"],
            "mean_score": summary["mean_score"],
        },
        prefix="batch_",
    )
    log_metadata(
        metadata={
            "rows": result.rows,
            "chunks": result.chunks,
            "model_version": ref.version,
            "model_name": ref.name,
            "label_counts": result.label_counts,
            "rows_per_second": summary["rows_per_second"],
            "input": input_uri,
            "output": output_uri or "(not written)",
        }
    )
    return summary, sample.frame()
