"""sentiment.core.promotion: the gate every new version passes before it may serve.

A floor on the configured metric, then no worse than the champion by more than the tolerance;
the champion's recorded metrics count only when they were measured on the same data.
Each branch is pinned here, so a change to the rule shows up as a failing case, not as a
model that silently took (or failed to take) the alias.
"""

from __future__ import annotations

import math

import pytest

from sentiment.core.promotion import (
    Champion,
    PromotionPolicy,
    decide_promotion,
    needs_rescoring,
    rescored,
)

POLICY = PromotionPolicy(
    alias="production", metric="accuracy", min_value=0.85, max_regression=0.002
)


def champion(accuracy: float | None, version: str = "3") -> Champion:
    metrics = {} if accuracy is None else {"accuracy": accuracy}
    return Champion(version=version, metrics=metrics)


def test_first_model_above_the_floor_is_promoted() -> None:
    decision = decide_promotion({"accuracy": 0.90}, None, POLICY)
    assert decision.promote
    assert "no current 'production' version" in decision.reason


@pytest.mark.parametrize("champ", [None, champion(0.80)])
def test_below_the_floor_is_never_promoted_even_over_a_worse_champion(
    champ: Champion | None,
) -> None:
    decision = decide_promotion({"accuracy": 0.84}, champ, POLICY)
    assert not decision.promote
    assert "below the required minimum 0.8500" in decision.reason


@pytest.mark.parametrize("metrics", [{}, {"f1": 0.9}, {"accuracy": math.nan}])
def test_a_missing_or_nan_metric_is_not_promoted(metrics: dict[str, float]) -> None:
    decision = decide_promotion(metrics, champion(0.9), POLICY)
    assert not decision.promote
    assert "has no 'accuracy' metric" in decision.reason


def test_better_than_the_champion_is_promoted_and_names_it() -> None:
    decision = decide_promotion({"accuracy": 0.93}, champion(0.92, "7"), POLICY)
    assert decision.promote
    assert "'production' v7 0.9200" in decision.reason


def test_a_regression_within_the_tolerance_is_promoted() -> None:
    # A retrain on the same data may land a hair lower through solver noise: still fresh.
    assert decide_promotion({"accuracy": 0.9185}, champion(0.92), POLICY).promote
    # Exactly at the tolerance is still inside it (within float rounding of 0.92 - 0.002).
    assert decide_promotion({"accuracy": 0.918 + 1e-12}, champion(0.92), POLICY).promote


def test_a_regression_beyond_the_tolerance_is_refused_with_both_numbers() -> None:
    decision = decide_promotion({"accuracy": 0.9170}, champion(0.92, "4"), POLICY)
    assert not decision.promote
    assert "0.9170 is worse than 'production' v4 (0.9200)" in decision.reason
    assert "tolerance 0.0020" in decision.reason


@pytest.mark.parametrize("current", [None, math.nan])
def test_a_champion_without_the_metric_gives_way(current: float | None) -> None:
    champ = champion(None) if current is None else champion(current)
    decision = decide_promotion({"accuracy": 0.90}, champ, POLICY)
    assert decision.promote
    assert "has no 'accuracy' to compare" in decision.reason


def test_the_policy_metric_and_alias_are_the_ones_compared() -> None:
    policy = PromotionPolicy(alias="staging", metric="f1", min_value=0.5, max_regression=0.0)
    champ = Champion(version="2", metrics={"f1": 0.80, "accuracy": 0.99})
    worse_f1 = decide_promotion({"f1": 0.79, "accuracy": 0.999}, champ, policy)
    assert not worse_f1.promote
    assert "'staging' v2" in worse_f1.reason
    assert decide_promotion({"f1": 0.80, "accuracy": 0.5}, champ, policy).promote


# -- when the champion's recorded metrics are comparable ---------------------------------------


def test_recorded_metrics_are_used_only_on_the_same_data() -> None:
    champ = Champion("3", {"accuracy": 0.9}, "fp-a")
    assert not needs_rescoring(champ, "fp-a")
    assert needs_rescoring(champ, "fp-b")
    assert needs_rescoring(Champion("3", {}, "fp-a"), "fp-a")  # nothing recorded


def test_rescored_champion_says_so() -> None:
    champ = Champion("3", {"accuracy": 0.9}, "fp-a", tags={"t": "1"})
    again = rescored(champ, {"accuracy": 0.8})
    assert (again.metrics, again.reevaluated, again.tags) == ({"accuracy": 0.8}, True, {"t": "1"})
    assert champ.metrics == {"accuracy": 0.9}
    assert not champ.reevaluated
