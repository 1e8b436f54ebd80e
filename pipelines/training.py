"""The training pipeline: locate -> ingest -> validate -> train -> evaluate -> register.

A rerun with nothing changed is served from the cache up to ``register_and_promote``, which
finds the registered version trained from the same data, configuration and code and
registers nothing (``force_register`` registers anyway).
"""

from __future__ import annotations

from zenml import Model, pipeline
from zenml.enums import ExecutionMode

from sentiment.core.data import DataSettings
from sentiment.core.identity import code_version
from sentiment.core.params import ModelParams
from sentiment.core.promotion import PromotionPolicy
from sentiment.core.validation import ValidationRules
from steps.data import ingest_reviews, locate_source, validate_reviews
from steps.evaluation import evaluate_model
from steps.registry import register_and_promote
from steps.training import train_model

# Steps that log to MLflow: the CLI attaches the active stack's experiment tracker to them.
TRACKED_STEPS = ("train_model", "evaluate_model", "register_and_promote")


# Every run is a version of this ZenML model (the Models page): its artifacts, metrics, data
# fingerprint and MLflow version; the register step mirrors the serving alias as its stage.
SENTIMENT_MODEL = Model(
    name="sentiment-classifier",
    description="IMDB review sentiment: NB-weighted logistic ensemble on word n-grams",
    tags=["sentiment", "imdb"],
)


# FAIL_FAST: a broken dataset stops the run at once and the CLI gets the original error.
@pipeline(name="sentiment_training", execution_mode=ExecutionMode.FAIL_FAST, model=SENTIMENT_MODEL)
def training_pipeline(
    data: DataSettings,
    validation: ValidationRules,
    model_params: ModelParams,
    promotion: PromotionPolicy,
    registered_model_name: str = "sentiment-classifier",
    random_state: int = 42,
    source: str | None = None,
    force_register: bool = False,
) -> None:
    """Every argument comes from ``configs/training.yaml``; ``source`` from --data/env and
    ``force_register`` from --force-register. The sections are typed: ZenML validates the
    file against these models when the run is compiled, so a misspelt key stops it before
    any step runs (the CLI adds the file's name: ``sentiment.core.config``)."""
    data_source, source_sha256 = locate_source(data=data, source=source)
    train, test, fingerprint = ingest_reviews(data_source, source_sha256, data=data)
    validate_reviews(train, test, rules=validation)
    model, train_seconds, training_key = train_model(
        train,
        fingerprint,
        model_params=model_params,
        # Computed here, on the client, when the run is compiled: a parameter is part of the
        # cache key, so changed training code retrains.
        code_version=code_version(),
        random_state=random_state,
        after="validate_reviews",
    )
    metrics, *_ = evaluate_model(model, test)
    register_and_promote(
        model,
        test,
        metrics,
        fingerprint,
        train_seconds,
        training_key,
        promotion=promotion,
        registered_model_name=registered_model_name,
        force_register=force_register,
    )
