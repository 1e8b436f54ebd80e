"""Whether a drifted batch triggers retraining, and how its outcome is reported.

A decision of the domain, not of the command line: the inference run's drift report and the
``drift.retrain`` settings decide; the retraining itself is the training pipeline, so the
new model reaches the serving alias only through that pipeline's promotion gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RetrainDecision:
    """``retrain``: run the training pipeline on ``data`` with ``config``; ``message``: the
    line that tells the user what happens (or how to retrain by hand)."""

    retrain: bool
    message: str
    data: str | None = None
    config: str | None = None


def decide_retraining(
    report: Mapping[str, Any] | None, *, enabled: bool, data: str | None, config: str
) -> RetrainDecision | None:
    """None when there is nothing to decide (no drift check, or no drift)."""
    if report is None or not report.get("drifted"):
        return None
    if enabled and data:
        return RetrainDecision(
            True,
            f"Retraining on {data} with {config} (the new model is promoted only through its "
            "gate)...",
            data,
            config,
        )
    return RetrainDecision(
        False,
        "Retraining is off (drift.retrain.enabled: false): pass --retrain-data "
        "LABELLED_DATA or run `python run.py train --data LABELLED_DATA`.",
    )


def retrain_outcome(exit_code: int, summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the inference summary records of a retraining run (ran, succeeded, promoted,
    version, reason, and the training run's own summary)."""
    if exit_code != 0 or summary is None:
        return {"ran": True, "succeeded": False, "exit_code": exit_code, "promoted": False}
    return {
        "ran": True,
        "succeeded": True,
        "promoted": summary["promoted"],
        "model_version": summary["model_version"],
        "reason": summary["reason"],
        "summary": dict(summary),
    }


def format_retrain_outcome(outcome: Mapping[str, Any]) -> str:
    if not outcome["succeeded"]:
        return "Retraining FAILED; the serving model is unchanged."
    verdict = "PROMOTED" if outcome["promoted"] else "NOT promoted"
    return f"Retrained: v{outcome['model_version']} {verdict}: {outcome['reason']}"
