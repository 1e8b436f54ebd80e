"""The search space: expansion (grid, seeded random, budget, dedup), overrides, the
validation split, the choice of the best trial and the written training config."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
import pytest
import yaml

from sentiment.core.config import ConfigError, parse_section
from sentiment.core.model import DEFAULT_PARAMS, merged_params
from sentiment.core.tuning import (
    SearchSpec,
    apply_overrides,
    expand,
    logged_params,
    render_training_config,
    select_best,
    validation_split,
)
from tests.support.paths import REPO_ROOT

SPACE = {
    "classifier.nb_C": [10.0, 100.0, 1000.0],
    "features.ngram_range": [[1, 2], [1, 3]],
    "normalizer.negation_scope": [0, 3],
}


def spec(**values: Any) -> SearchSpec:
    return SearchSpec.model_validate({"space": SPACE, **values})


def test_grid_is_every_combination_in_product_order() -> None:
    trials = expand(spec(strategy="grid", trials=None, include_base=False))
    expected = [
        dict(zip(SPACE, combo, strict=True)) for combo in itertools.product(*SPACE.values())
    ]
    assert trials == expected
    assert len(trials) == 12 == spec().size


def test_grid_budget_takes_the_first_combinations() -> None:
    trials = expand(spec(strategy="grid", trials=3, include_base=False))
    assert trials == expand(spec(strategy="grid", trials=None, include_base=False))[:3]


def test_random_is_seeded_distinct_and_within_the_space() -> None:
    first = expand(spec(strategy="random", trials=5, seed=1, include_base=False))
    assert first == expand(spec(strategy="random", trials=5, seed=1, include_base=False))
    assert first != expand(spec(strategy="random", trials=5, seed=2, include_base=False))
    assert len(first) == 5
    assert len({repr(t) for t in first}) == 5
    for trial in first:
        assert set(trial) == set(SPACE)
        for name, value in trial.items():
            assert value in SPACE[name]


def test_random_budget_only_extends_the_sequence() -> None:
    # Asking for more trials later reruns the same first ones, then new ones.
    three = expand(spec(strategy="random", trials=3, seed=7, include_base=False))
    six = expand(spec(strategy="random", trials=6, seed=7, include_base=False))
    assert six[:3] == three


def test_random_budget_larger_than_the_space_runs_each_combination_once() -> None:
    trials = expand(spec(strategy="random", trials=100, include_base=False))
    assert len(trials) == 12
    assert sorted(map(repr, trials)) == sorted(
        map(repr, expand(spec(strategy="grid", trials=None, include_base=False)))
    )


def test_base_comes_first_counts_in_the_budget_and_is_not_repeated() -> None:
    # The base params equal the combination (nb_C 100, ngram [1, 3], negation 3).
    base = {"classifier": {"nb_C": 100.0}}
    trials = expand(spec(strategy="grid", trials=None, include_base=True), base)
    assert trials[0] == {}
    assert len(trials) == 12  # 1 base + 11 combinations: the one equal to the base is skipped
    assert {
        "classifier.nb_C": 100.0,
        "features.ngram_range": [1, 3],
        "normalizer.negation_scope": 3,
    } not in trials
    assert len(expand(spec(strategy="random", trials=4, include_base=True), base)) == 4


def test_overrides_land_on_the_base_and_complete_params() -> None:
    base = {"classifier": {"plain_C": 5.0}, "features": {"min_df": 3}}
    params = apply_overrides(base, {"classifier.nb_C": 7.0, "features.ngram_range": [1, 2]})
    assert params["classifier"]["nb_C"] == 7.0
    assert params["classifier"]["plain_C"] == 5.0
    assert params["features"] == {"ngram_range": [1, 2], "min_df": 3, "max_features": 2_000_000}
    assert set(params) == set(DEFAULT_PARAMS)
    assert params == merged_params(params)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"space": {"classifier.nb_c": [1.0]}}, "unknown parameter 'classifier.nb_c'"),
        ({"space": {"tfidf.min_df": [1]}}, "unknown parameter 'tfidf.min_df'"),
        ({"space": {"classifier.nb_C": []}}, "non-empty list"),
        ({"space": {"classifier.nb_C": 10.0}}, "search.space.classifier.nb_C: Input should be"),
        ({"space": {}}, "search.space: Dictionary should have at least 1 item"),
        ({"space": SPACE, "strategy": "bayes"}, "strategy"),
        ({"space": SPACE, "metric": "loss"}, "metric"),
        ({"space": SPACE, "trials": 0}, "trials"),
        ({"space": SPACE, "strategy": "random", "trials": None}, "required"),
        ({"space": SPACE, "trails": 3}, "unknown key 'search.trails'"),
    ],
)
def test_bad_search_sections_are_refused_with_the_reason(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_section(SearchSpec, values, prefix="search")


def test_with_trials_overrides_the_budget_and_checks_it() -> None:
    assert spec(trials=8).with_trials(2).trials == 2
    assert spec(trials=8).with_trials(None).trials == 8
    with pytest.raises(ValueError, match="trials"):
        spec().with_trials(0)


def test_shipped_tuning_config_expands() -> None:
    config = yaml.safe_load((REPO_ROOT / "configs" / "tuning.yaml").read_text())
    training = yaml.safe_load((REPO_ROOT / "configs" / "training.yaml").read_text())
    search = SearchSpec.model_validate(config["search"])
    trials = expand(search, training["parameters"]["model_params"])
    assert len(trials) == config["search"]["trials"]
    assert trials[0] == {}


def test_logged_params_are_flat_scalars_with_stable_names() -> None:
    logged = logged_params(apply_overrides(None, {"features.ngram_range": [2, 3]}))
    assert logged["features.ngram_min"] == 2
    assert logged["features.ngram_max"] == 3
    assert "features.ngram_range" not in logged
    assert logged["classifier.nb_C"] == DEFAULT_PARAMS["classifier"]["nb_C"]
    assert logged["normalizer.keep_punctuation"] == "! ?"
    assert all(isinstance(v, int | float | str | bool) for v in logged.values())


def test_validation_split_is_seeded_stratified_and_partitions_train() -> None:
    train = pd.DataFrame({"text": [f"review {i}" for i in range(100)], "label": [0, 1] * 50})
    fit, validation = validation_split(train, 0.2, seed=3)
    assert len(validation) == 20
    assert validation["label"].sum() == 10
    assert sorted(fit["text"].tolist() + validation["text"].tolist()) == sorted(train["text"])
    again_fit, again_validation = validation_split(train, 0.2, seed=3)
    pd.testing.assert_frame_equal(validation, again_validation)
    pd.testing.assert_frame_equal(fit, again_fit)
    other = validation_split(train, 0.2, seed=4)[1]
    assert other["text"].tolist() != validation["text"].tolist()
    with pytest.raises(ValueError, match="fraction"):
        validation_split(train, 1.0, seed=3)


def _trial(i: int, accuracy: float, auc: float) -> dict[str, Any]:
    return {"trial": i, "metrics": {"val_accuracy": accuracy, "val_roc_auc": auc}}


def test_best_is_the_highest_metric_then_roc_auc_then_the_earliest() -> None:
    trials = [_trial(0, 0.90, 0.95), _trial(1, 0.91, 0.94), _trial(2, 0.91, 0.96)]
    assert select_best(trials, "accuracy")["trial"] == 2
    tied = [_trial(0, 0.91, 0.96), _trial(1, 0.91, 0.96)]
    assert select_best(tied, "accuracy")["trial"] == 0
    with pytest.raises(ValueError, match="no trials"):
        select_best([], "accuracy")


def test_tuned_config_is_the_training_config_with_model_params_replaced() -> None:
    base_text = (REPO_ROOT / "configs" / "training.yaml").read_text()
    params = apply_overrides(None, {"classifier.nb_C": 30.0, "features.ngram_range": [1, 2]})
    text = render_training_config(base_text, params, "tuned by a test\nsecond line")
    assert text.startswith("# tuned by a test\n# second line\n")
    tuned, base = yaml.safe_load(text), yaml.safe_load(base_text)
    assert tuned["parameters"]["model_params"] == params
    tuned["parameters"].pop("model_params")
    base["parameters"].pop("model_params")
    assert tuned == base
    # Comments and layout outside model_params are kept: only that block differs.
    assert "# The gate for the serving alias" in text
    new_lines = set(text.splitlines()) - set(base_text.splitlines())
    assert max(len(line) for line in new_lines) <= 100


def test_tuned_config_falls_back_to_a_plain_dump_without_a_model_params_line() -> None:
    params = merged_params(None)
    text = render_training_config("parameters: {random_state: 1}\n", params, "header")
    loaded = yaml.safe_load(text)
    assert loaded["parameters"] == {"random_state": 1, "model_params": params}
