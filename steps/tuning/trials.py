"""Trials: fit each candidate on the fit split, score it on the validation split.

Every trial is an MLflow run nested under the step's run, with the complete flattened
parameters (``features.ngram_max``, ``classifier.nb_C``...) and the metrics ``val_accuracy``,
``val_f1``, ``val_roc_auc``, ``val_brier``, ``val_ece`` and ``fit_seconds``: select the child
runs in the MLflow UI and compare them with a parallel-coordinates plot.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.types import HTMLString

from sentiment.core.data import data_fingerprint
from sentiment.core.metrics import compute_metrics
from sentiment.core.model import build_model
from sentiment.core.params import ModelParams
from sentiment.core.tuning import SearchSpec, apply_overrides, expand, logged_params, select_best
from sentiment.reports.artifacts import trials_html
from sentiment.reports.progress import Progress
from steps.tracking import active_run_id, child_run, log_artifact, log_metrics, log_params, set_tags

log = logging.getLogger(__name__)

# Validation metrics recorded per trial (MLflow name = "val_" + name).
TRIAL_METRICS = ("accuracy", "f1", "roc_auc", "brier", "ece")


def _fingerprint(frame: pd.DataFrame) -> str:
    return data_fingerprint(frame, frame.iloc[0:0])


def run_trial(
    index: int,
    overrides: dict[str, Any],
    base_params: ModelParams,
    fit: pd.DataFrame,
    validation: pd.DataFrame,
    random_state: int,
) -> dict[str, Any]:
    """Fit and score one candidate inside its own nested MLflow run."""
    params = apply_overrides(base_params, overrides)
    searched = ",".join(overrides) or "base"
    with child_run(f"trial-{index:02d}", tags={"trial": str(index), "searched": searched}) as rid:
        log_params(logged_params(params))
        model = build_model(params, random_state=random_state)
        started = time.perf_counter()
        model.fit(fit["text"].tolist(), fit["label"].to_numpy())
        fit_seconds = time.perf_counter() - started
        scores = model.predict_proba(validation["text"].tolist())[:, 1]
        scored = compute_metrics(validation["label"].to_numpy(), scores)
        metrics = {f"val_{name}": scored[name] for name in TRIAL_METRICS}
        metrics["fit_seconds"] = fit_seconds
        log_metrics(metrics)
    log.info("trial %d %s: %s", index, overrides or "(base)", metrics)
    return {
        "trial": index,
        "overrides": overrides,
        "params": params,
        "metrics": metrics,
        "mlflow_run_id": rid,
    }


@step(enable_cache=False)  # a tuning run is an experiment: its MLflow runs are the record
def run_trials(
    fit: pd.DataFrame,
    validation: pd.DataFrame,
    base_params: ModelParams,
    search: SearchSpec,
    random_state: int = 42,
) -> tuple[
    Annotated[dict[str, Any], "tuning_results"],
    Annotated[HTMLString, "tuning_trials"],
]:
    """Run the search; returns every trial, the best one and what the trials were fitted
    and scored on (rows and fingerprints)."""
    spec = search
    plan = expand(spec, base_params)
    data = {
        "fit_rows": len(fit),
        "validation_rows": len(validation),
        "fit_fingerprint": _fingerprint(fit),
        "validation_fingerprint": _fingerprint(validation),
    }
    log_params(
        {
            "search.strategy": spec.strategy,
            "search.trials": len(plan),
            "search.seed": spec.seed,
            "search.metric": spec.metric,
            "search.space": json.dumps(spec.space),
            **data,
        }
    )
    log.info("%d trials (%s search) on %d fit / %d validation reviews",
             len(plan), spec.strategy, len(fit), len(validation))  # fmt: skip
    trials = []
    with Progress("tuning trials", total=len(plan), unit="trials") as bar:
        for i, overrides in enumerate(plan):
            trials.append(run_trial(i, overrides, base_params, fit, validation, random_state))
            bar.advance()
        best = select_best(trials, spec.metric)
        score = best["metrics"][f"val_{spec.metric}"]
        bar.summary = (
            f"{len(trials)} trials in {bar.seconds:.1f} s; best: trial {best['trial']} "
            f"{best['overrides'] or '(base)'}, val_{spec.metric} {score:.4f}"
        )
    log_metrics({f"best_{k}": v for k, v in best["metrics"].items()})
    set_tags({"best_trial": best["trial"], "best_mlflow_run_id": best["mlflow_run_id"]})
    results = {
        "metric": spec.metric,
        "strategy": spec.strategy,
        "trials": trials,
        "best": best,
        "data": data,
        "mlflow_run_id": active_run_id(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tuning_results.json"
        path.write_text(json.dumps(results, indent=2, default=str))
        log_artifact(path, artifact_path="tuning")
    log_metadata(
        metadata={
            "best_trial": best["trial"],
            "best_metrics": best["metrics"],
            "trials": len(trials),
            **data,
        }
    )
    return results, HTMLString(trials_html(results))
