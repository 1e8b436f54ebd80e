"""Register the model in MLflow and move the serving alias only through the gate."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step

import sentiment
from sentiment.metrics import compute_metrics
from sentiment.registry import (
    DATA_FINGERPRINT_TAG,
    ZENML_RUN_TAG,
    Champion,
    PromotionPolicy,
    decide_promotion,
    get_alias_version,
    load_version,
    log_and_register,
    record_rejection,
    recorded_metrics,
    set_alias,
)
from steps.tracking import active_run_id

log = logging.getLogger(__name__)


def current_champion(
    name: str, policy: PromotionPolicy, test: pd.DataFrame, fingerprint: str
) -> Champion | None:
    """The alias holder with metrics comparable to the new model's.

    Metrics recorded on other data are not comparable, so a champion registered on a
    different dataset is re-scored on this run's test split.
    """
    version = get_alias_version(name, policy.alias)
    if version is None:
        return None
    tags = dict(version.tags)
    champion = Champion(
        str(version.version), recorded_metrics(tags), tags.get(DATA_FINGERPRINT_TAG), tags=tags
    )
    if champion.data_fingerprint == fingerprint and champion.metrics:
        return champion
    try:
        model = load_version(name, champion.version)
        scores = model.predict_proba(test["text"].tolist())[:, 1]
        champion.metrics = compute_metrics(test["label"].to_numpy(), scores)
        champion.reevaluated = True
        log.info(
            "re-scored '%s' v%s on this test split: %s",
            policy.alias,
            champion.version,
            champion.metrics,
        )
    except Exception as exc:  # a champion we cannot load must not block registration
        log.warning(
            "could not re-score '%s' v%s (%s); comparing recorded metrics",
            policy.alias,
            champion.version,
            exc,
        )
    return champion


@step(enable_cache=False)  # writes to the registry: never replayed from the cache
def register_and_promote(
    model: Pipeline,
    test: pd.DataFrame,
    metrics: dict[str, float],
    data_fingerprint: str,
    train_seconds: float,
    promotion: dict[str, Any],
    registered_model_name: str = "sentiment-classifier",
) -> Annotated[dict[str, Any], "promotion_summary"]:
    """Log and register a new version, then give it the alias only if it passes the gate."""
    policy = PromotionPolicy.from_mapping(promotion)
    zenml_run_id = str(get_step_context().pipeline_run.id)
    champion = current_champion(registered_model_name, policy, test, data_fingerprint)
    example = [text[:300] for text in test["text"].head(2).tolist()]
    version, sha256 = log_and_register(
        model,
        name=registered_model_name,
        input_example=example,
        tags={ZENML_RUN_TAG: zenml_run_id, DATA_FINGERPRINT_TAG: data_fingerprint},
        metrics=metrics,
        code_paths=[str(Path(sentiment.__file__).parent)],
    )
    decision = decide_promotion(metrics, champion, policy)
    if decision.promote:
        set_alias(registered_model_name, version, policy.alias, reason=decision.reason)
    else:
        record_rejection(registered_model_name, version, decision.reason)
    summary: dict[str, Any] = {
        "model_name": registered_model_name,
        "model_version": version,
        "promoted": decision.promote,
        "alias": policy.alias,
        "reason": decision.reason,
        "metrics": {
            k: metrics[k]
            for k in ("accuracy", "f1", "roc_auc", "precision", "recall")
            if k in metrics
        },
        "champion_version": champion.version if champion else None,
        "champion_metrics": champion.metrics if champion else None,
        "champion_reevaluated": champion.reevaluated if champion else False,
        "mlflow_run_id": active_run_id(),
        "zenml_run_id": zenml_run_id,
        "data_fingerprint": data_fingerprint,
        "train_seconds": train_seconds,
        "model_sha256": sha256,
    }
    log_metadata(metadata={"promotion": {k: v for k, v in summary.items() if v is not None}})
    return summary
