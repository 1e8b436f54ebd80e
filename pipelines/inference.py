"""Batch inference with a drift check: resolve the model -> score the batch -> detect drift.

One pipeline serves both ``run.py predict`` (write predictions, check drift per config) and
``run.py drift`` (no output file, drift only: e.g. a sample of texts logged by the service).
"""

from __future__ import annotations

from zenml import pipeline
from zenml.enums import ExecutionMode

from sentiment.core.batch import BatchSpec, ModelSelector
from sentiment.core.drift import DriftSettings
from steps.inference import resolve_model_version, score_batch
from steps.monitoring import detect_drift

PIPELINE_NAME = "sentiment_inference"
# Steps that read the MLflow registry or log to MLflow: the CLI attaches the stack's tracker.
TRACKED_STEPS = ("resolve_model_version", "score_batch", "detect_drift")


@pipeline(name=PIPELINE_NAME, execution_mode=ExecutionMode.FAIL_FAST)
def inference_pipeline(
    model: ModelSelector,
    batch: BatchSpec,
    drift: DriftSettings,
    input_uri: str,
    output_uri: str | None = None,
    model_version: str | None = None,
    reference_source: str | None = None,
    check_drift: bool | None = None,
) -> None:
    """``model``, ``batch`` and ``drift`` come from ``configs/inference.yaml``; the rest from
    the command line. ``check_drift`` overrides ``drift.enabled`` when not None."""
    model_ref = resolve_model_version(model=model, model_version=model_version)
    summary, sample = score_batch(
        model_ref, input_uri=input_uri, output_uri=output_uri, batch=batch
    )
    if drift.enabled if check_drift is None else check_drift:
        detect_drift(sample, model_ref, summary, drift=drift, reference_source=reference_source)
