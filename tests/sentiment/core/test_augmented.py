"""SentenceAugmentedPipeline: sentences of the training reviews become extra training rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from sentiment.core.model import build_model
from tests.support.reviews import synthetic_reviews


def _train() -> tuple[list[str], np.ndarray]:
    frame = synthetic_reviews(60, seed=5, split="train")
    return frame["text"].tolist(), (frame["label"] == "positive").astype(int).to_numpy()


def _augmented(per_review: int) -> dict[str, dict[str, int]]:
    return {"augmentation": {"sentences_per_review": per_review, "min_words": 2}}


def test_augmentation_is_a_hyperparameter_and_survives_clone() -> None:
    model = build_model(_augmented(2), random_state=9)
    params = clone(model).get_params()
    assert params["sentences_per_review"] == 2
    assert params["min_words"] == 2
    assert params["random_state"] == 9


def test_sentences_add_training_rows_and_the_fit_stays_deterministic() -> None:
    texts, labels = _train()
    plain = build_model(_augmented(0)).fit(texts, labels)
    augmented = build_model(_augmented(2)).fit(texts, labels)
    again = build_model(_augmented(2)).fit(texts, labels)
    # More rows for the classifier (the vocabulary is the reviews' alone): other weights.
    assert plain["classifier"].coef_.shape != augmented["classifier"].coef_.shape or not (
        np.array_equal(plain["classifier"].coef_, augmented["classifier"].coef_)
    )
    np.testing.assert_array_equal(augmented["classifier"].coef_, again["classifier"].coef_)
    short = ["a wonderful film and brilliant acting", "a terrible film and awful acting"]
    assert augmented.predict(short).tolist() == [1, 0]


def test_no_augmentation_is_exactly_a_plain_pipeline_fit() -> None:
    texts, labels = _train()
    model = build_model(_augmented(0))
    reference = build_model(_augmented(0))
    model.fit(texts, labels)
    # The stages fitted by hand, as sklearn's Pipeline does.
    normalized = reference["normalize"].fit_transform(texts)
    reference["classifier"].fit(reference["features"].fit_transform(normalized), labels)
    np.testing.assert_array_equal(model["classifier"].coef_, reference["classifier"].coef_)


def test_sentences_do_not_change_the_vocabulary() -> None:
    """The counter learns from the reviews alone: a sentence repeats n-grams of its review,
    and counting it as a document would let one-off n-grams pass min_df."""
    texts, labels = _train()
    plain = build_model(_augmented(0)).fit(texts, labels)
    augmented = build_model(_augmented(3)).fit(texts, labels, classifier__n_jobs=1)
    np.testing.assert_array_equal(
        plain["features"].vocabulary_hashes_, augmented["features"].vocabulary_hashes_
    )


def test_word_range_is_checked_when_the_config_is_read() -> None:
    with pytest.raises(ValueError, match="exceeds max_words"):
        build_model({"augmentation": {"min_words": 10, "max_words": 5}})
