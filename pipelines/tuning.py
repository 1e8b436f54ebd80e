"""The tuning pipeline: ingest -> validate -> carve a validation split -> trials.

Ingestion and validation are the training pipeline's own steps, so the search sees the data
exactly as training will. The test split stops at validation: only the train split goes on.
"""

from __future__ import annotations

from zenml import pipeline
from zenml.enums import ExecutionMode

from sentiment.core.data import DataSettings
from sentiment.core.params import ModelParams
from sentiment.core.tuning import SearchSpec, SplitSettings
from sentiment.core.validation import ValidationRules
from steps.data import ingest_reviews, locate_source, validate_reviews
from steps.tuning import run_trials, split_validation

PIPELINE_NAME = "sentiment_tuning"
# Steps that log to MLflow: the CLI attaches the active stack's experiment tracker to them.
TRACKED_STEPS = ("run_trials",)


@pipeline(name=PIPELINE_NAME, execution_mode=ExecutionMode.FAIL_FAST)
def tuning_pipeline(
    data: DataSettings,
    validation: ValidationRules,
    model_params: ModelParams,
    split: SplitSettings,
    search: SearchSpec,
    random_state: int = 42,
    source: str | None = None,
) -> None:
    """``data``, ``validation``, ``model_params`` and ``random_state`` come from the training
    config the search starts from; ``split`` and ``search`` from ``configs/tuning.yaml``."""
    data_source, source_sha256 = locate_source(data=data, source=source)
    train, test, _ = ingest_reviews(data_source, source_sha256, data=data)
    validate_reviews(train, test, rules=validation)
    fit, held_out = split_validation(train, split=split, after="validate_reviews")
    run_trials(fit, held_out, base_params=model_params, search=search, random_state=random_state)
