"""The training pipeline: ingest -> validate -> train -> evaluate -> register and promote."""

from __future__ import annotations

from typing import Any

from zenml import pipeline
from zenml.enums import ExecutionMode

from steps.data import ingest_reviews, validate_reviews
from steps.evaluation import evaluate_model
from steps.registry import register_and_promote
from steps.training import train_model

# Steps that log to MLflow: the CLI attaches the active stack's experiment tracker to them.
TRACKED_STEPS = ("train_model", "evaluate_model", "register_and_promote")


# FAIL_FAST: a broken dataset stops the run at once and the CLI gets the original error.
@pipeline(name="sentiment_training", execution_mode=ExecutionMode.FAIL_FAST)
def training_pipeline(
    data: dict[str, Any],
    validation: dict[str, Any],
    model_params: dict[str, Any],
    promotion: dict[str, Any],
    registered_model_name: str = "sentiment-classifier",
    random_state: int = 42,
    source: str | None = None,
) -> None:
    """Every argument comes from ``configs/training.yaml``; ``source`` from --data/env."""
    train, test, fingerprint = ingest_reviews(data=data, source=source)
    validate_reviews(train, test, rules=validation)
    model, train_seconds = train_model(
        train, model_params=model_params, random_state=random_state, after="validate_reviews"
    )
    metrics, *_ = evaluate_model(model, test)
    register_and_promote(
        model,
        test,
        metrics,
        fingerprint,
        train_seconds,
        promotion=promotion,
        registered_model_name=registered_model_name,
    )
