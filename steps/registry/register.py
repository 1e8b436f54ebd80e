"""Register the model in MLflow and move the serving alias only through the gate.

A rerun that trained nothing new registers nothing: the version trained from the same
``training_key`` (data, configuration, code; see :mod:`sentiment.core.identity`) is looked up
first, and when it exists the registry and the alias are left as they are. The model and
the test split are only loaded from the artifact store when they are needed, so that check
costs one registry query, not a model load.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.artifacts.unmaterialized_artifact import UnmaterializedArtifact

import sentiment
from sentiment.adapters.model_control import mirror_alias
from sentiment.adapters.registry import (
    DATA_FINGERPRINT_TAG,
    MODEL_SHA256_TAG,
    ZENML_RUN_TAG,
    comparable_champion,
    find_twins,
    get_alias_version,
    log_and_register,
    record_rejection,
    set_alias,
)
from sentiment.core.identity import TRAINING_KEY_TAG
from sentiment.core.promotion import PromotionPolicy, decide_promotion
from steps.tracking import active_run_id, set_tags

log = logging.getLogger(__name__)

SUMMARY_METRICS = ("accuracy", "f1", "roc_auc", "precision", "recall")


def unchanged_summary(name: str, twins: list[Any], policy: PromotionPolicy) -> dict[str, Any]:
    """What an unchanged run reports: the registered twin, and who holds the alias now.

    Of several twins (``--force-register`` made them) the alias holder is named if it is
    one, else the newest.
    """
    serving = get_alias_version(name, policy.alias)
    serving_version = str(serving.version) if serving is not None else None
    by_version = {str(v.version): v for v in twins}
    twin = by_version.get(serving_version or "", twins[-1])
    twin_version = str(twin.version)
    if serving_version == twin_version:
        reason = f"unchanged: {name} v{twin_version} is {policy.alias}"
    else:
        holder = f"v{serving_version}" if serving_version else "no version"
        reason = (
            f"unchanged: identical to {name} v{twin_version}, which is not {policy.alias} "
            f"({policy.alias} is {holder}); the alias was not moved"
        )
    return {
        "unchanged": True,
        "model_version": twin_version,
        "serving_version": serving_version,
        "promoted": False,
        "reason": reason,
        "model_sha256": dict(twin.tags).get(MODEL_SHA256_TAG),
        "model_mlflow_run_id": twin.run_id,
    }


def register_new_version(
    name: str,
    policy: PromotionPolicy,
    model_artifact: UnmaterializedArtifact,
    test_artifact: UnmaterializedArtifact,
    metrics: dict[str, float],
    tags: dict[str, str],
) -> dict[str, Any]:
    """Log and register a new version, then give it the alias only if it passes the gate."""
    # Imported here: scikit-learn's metrics cost ~1.5 s of start-up that a rerun which
    # registers nothing (the common case) never needs.
    from sentiment.core.metrics import compute_metrics

    model = model_artifact.load()
    test: pd.DataFrame = test_artifact.load()
    champion = comparable_champion(
        name,
        policy.alias,
        tags[DATA_FINGERPRINT_TAG],
        score=lambda champion_model: compute_metrics(
            test["label"].to_numpy(), champion_model.predict_proba(test["text"].tolist())[:, 1]
        ),
    )
    example = [text[:300] for text in test["text"].head(2).tolist()]
    version, sha256 = log_and_register(
        model,
        name=name,
        input_example=example,
        tags=tags,
        metrics=metrics,
        code_paths=[str(Path(sentiment.__file__).parent)],
    )
    decision = decide_promotion(metrics, champion, policy)
    if decision.promote:
        set_alias(name, version, policy.alias, reason=decision.reason)
        mirror_alias(name, policy.alias)  # the only place a training run moves the alias
    else:
        record_rejection(name, version, decision.reason)
    serving = version if decision.promote else (champion.version if champion else None)
    return {
        "unchanged": False,
        "model_version": version,
        "serving_version": serving,
        "promoted": decision.promote,
        "reason": decision.reason,
        "champion_version": champion.version if champion else None,
        "champion_metrics": champion.metrics if champion else None,
        "champion_reevaluated": champion.reevaluated if champion else False,
        "model_sha256": sha256,
        "model_mlflow_run_id": active_run_id(),
    }


def model_version_metadata(summary: dict[str, Any]) -> dict[str, Any]:
    """What the ZenML model version shows: the numbers and the MLflow version they belong to.

    An unchanged rerun names the registered twin it is identical to instead of a new version,
    so the Models page never suggests that a second registration happened.
    """
    registered = "unchanged_of_mlflow_version" if summary["unchanged"] else "mlflow_version"
    return {
        "metrics": summary["metrics"],
        "data_fingerprint": summary["data_fingerprint"],
        "training_key": summary["training_key"],
        "train_seconds": summary["train_seconds"],
        "mlflow_registered_model": summary["model_name"],
        registered: summary["model_version"],
        "promoted": summary["promoted"],
        "serving_version": summary["serving_version"] or "none",
    }


@step(enable_cache=False)  # writes to the registry: never replayed from the cache
def register_and_promote(
    model: UnmaterializedArtifact,
    test: UnmaterializedArtifact,
    metrics: dict[str, float],
    data_fingerprint: str,
    train_seconds: float,
    training_key: str,
    promotion: PromotionPolicy,
    registered_model_name: str = "sentiment-classifier",
    force_register: bool = False,
) -> Annotated[dict[str, Any], "promotion_summary"]:
    """Register and gate a new version, unless this training is registered already.

    ``model`` and ``test`` arrive unloaded: an unchanged rerun never reads them.
    ``force_register`` (``run.py train --force-register``) registers a new version anyway.
    """
    policy = promotion
    name = registered_model_name
    zenml_run_id = str(get_step_context().pipeline_run.id)
    twins = [] if force_register else find_twins(name, training_key)
    if twins:
        outcome = unchanged_summary(name, twins, policy)
        set_tags({"unchanged_of_version": outcome["model_version"]})
        log.info("%s; nothing registered", outcome["reason"])
    else:
        tags = {
            ZENML_RUN_TAG: zenml_run_id,
            DATA_FINGERPRINT_TAG: data_fingerprint,
            TRAINING_KEY_TAG: training_key,
        }
        outcome = register_new_version(name, policy, model, test, metrics, tags)
    summary: dict[str, Any] = {
        "model_name": name,
        "alias": policy.alias,
        "champion_version": None,
        "champion_metrics": None,
        "champion_reevaluated": False,
        **outcome,
        "metrics": {k: metrics[k] for k in SUMMARY_METRICS if k in metrics},
        "mlflow_run_id": active_run_id(),
        "zenml_run_id": zenml_run_id,
        "data_fingerprint": data_fingerprint,
        "training_key": training_key,
        "forced": force_register,
        "train_seconds": train_seconds,
    }
    log_metadata(metadata={"promotion": {k: v for k, v in summary.items() if v is not None}})
    if get_step_context().model_version is not None:  # a pipeline without a ZenML model
        log_metadata(metadata=model_version_metadata(summary), infer_model=True)
    return summary
