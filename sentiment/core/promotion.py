"""The promotion gate: may a new model take the serving alias from the current champion?

Pure decisions over metrics, with no registry access, so the rule a release depends on is
tested on its own; :mod:`sentiment.adapters.registry` reads the champion and moves the alias.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import Field

from sentiment.core.config import Section


class PromotionPolicy(Section):
    """When a new version may take the serving alias (``promotion:`` in
    ``configs/training.yaml``)."""

    alias: str = Field("production", min_length=1)
    metric: str = Field("accuracy", min_length=1)
    min_value: float = 0.85
    max_regression: float = Field(0.002, ge=0)


@dataclass(frozen=True)
class PromotionDecision:
    """Whether to promote, and a sentence a person can read in the run summary."""

    promote: bool
    reason: str


@dataclass
class Champion:
    """The version currently holding the alias and the metrics it is compared on."""

    version: str
    metrics: dict[str, float]
    data_fingerprint: str | None = None
    reevaluated: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def needs_rescoring(champion: Champion, data_fingerprint: str) -> bool:
    """Whether the champion's recorded metrics are not comparable with a new model's.

    They are only when they were computed on the same data (same fingerprint): metrics on
    another dataset would compare two different exams, so the champion is scored again.
    """
    return not (champion.data_fingerprint == data_fingerprint and champion.metrics)


def rescored(champion: Champion, metrics: Mapping[str, float]) -> Champion:
    """The champion with the metrics it scored on this run's test split (summaries say so)."""
    return dataclasses.replace(champion, metrics=dict(metrics), reevaluated=True)


def decide_promotion(
    new_metrics: Mapping[str, float],
    champion: Champion | None,
    policy: PromotionPolicy,
) -> PromotionDecision:
    """Apply the gate: a floor on the metric, then no worse than the champion by more than
    ``max_regression`` (a tolerance, so a retrain on the same data that lands a hair lower
    through solver noise still refreshes the model)."""
    name = policy.metric
    value = new_metrics.get(name)
    if value is None or math.isnan(value):
        return PromotionDecision(False, f"new model has no {name!r} metric")
    if value < policy.min_value:
        return PromotionDecision(
            False, f"{name} {value:.4f} is below the required minimum {policy.min_value:.4f}"
        )
    if champion is None:
        return PromotionDecision(
            True,
            f"{name} {value:.4f} clears the minimum {policy.min_value:.4f}; no current "
            f"'{policy.alias}' version",
        )
    current = champion.metrics.get(name)
    if current is None or math.isnan(current):
        return PromotionDecision(
            True, f"current '{policy.alias}' v{champion.version} has no {name!r} to compare"
        )
    if value < current - policy.max_regression:
        return PromotionDecision(
            False,
            f"{name} {value:.4f} is worse than '{policy.alias}' v{champion.version} "
            f"({current:.4f}) by more than the tolerance {policy.max_regression:.4f}",
        )
    return PromotionDecision(
        True,
        f"{name} {value:.4f} vs '{policy.alias}' v{champion.version} {current:.4f} "
        f"(tolerance {policy.max_regression:.4f})",
    )
