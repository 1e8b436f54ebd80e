"""sentiment.core.model: parameters, the n-gram counter, and the ensemble.

Trained on the small synthetic corpus of tests/support/reviews.py (a few hundred short
reviews), so every fit takes well under a second.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp
import yaml
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from sentiment.core.model import (
    DEFAULT_PARAMS,
    NBLogisticEnsemble,
    NgramCounter,
    build_model,
    merged_params,
    ngram_hashes,
)
from sentiment.core.text import TextNormalizer

# -- parameters ------------------------------------------------------------------------------


def test_defaults_are_plain_yaml_values() -> None:
    assert yaml.safe_load(yaml.safe_dump(DEFAULT_PARAMS)) == DEFAULT_PARAMS


def test_build_model_with_defaults_is_normalizer_counter_ensemble() -> None:
    model = build_model()
    assert [name for name, _ in model.steps] == ["normalize", "features", "classifier"]
    assert isinstance(model["normalize"], TextNormalizer)
    assert isinstance(model["features"], NgramCounter)
    assert isinstance(model["classifier"], NBLogisticEnsemble)
    assert model["features"].ngram_range == DEFAULT_PARAMS["features"]["ngram_range"]
    assert model["classifier"].random_state == 42


def test_overrides_change_one_key_and_keep_the_rest() -> None:
    model = build_model(
        {"features": {"min_df": 5}, "normalizer": {"negation_scope": 2}}, random_state=7
    )
    assert model["features"].min_df == 5
    assert model["features"].ngram_range == DEFAULT_PARAMS["features"]["ngram_range"]
    assert model["normalize"].negation_scope == 2
    assert model["classifier"].random_state == 7


def test_merged_params_does_not_mutate_the_defaults() -> None:
    before = copy.deepcopy(DEFAULT_PARAMS)
    merged = merged_params({"classifier": {"nb_C": 1.0}})
    merged["features"]["min_df"] = 99
    assert merged["classifier"]["nb_C"] == 1.0
    assert before == DEFAULT_PARAMS
    assert merged_params(None) == DEFAULT_PARAMS


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tfidf": {"min_df": 2}}, "tfidf"),
        ({"features": {"min_dff": 2}}, r"features\.min_dff"),
        ({"classifier": 3}, "valid dictionary"),
        ({"features": {"min_df": 0}}, "greater than or equal to 1"),
    ],
)
def test_bad_params_are_named(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_model(params)


# -- n-gram counter --------------------------------------------------------------------------


def test_ngram_hashes_are_order_sensitive_and_do_not_cross_documents() -> None:
    docs, hashes, n = ngram_hashes(["a b", "b a", "c"], (1, 2))
    assert n == 3
    # unigrams a, b | b, a | c and one bigram per two-token document: nothing spans docs.
    assert docs.tolist() == [0, 0, 1, 1, 2, 0, 1]
    bigram_ab, bigram_ba = hashes[5], hashes[6]
    assert bigram_ab != bigram_ba
    assert len(set(hashes.tolist())) == 5  # a, b, c, "a b", "b a"


def test_counter_matches_a_plain_count_of_kept_ngrams() -> None:
    docs = ["good good film", "good film", "bad film", "unique words here"]
    counter = NgramCounter(ngram_range=[1, 2], min_df=2)
    counts = counter.fit_transform(docs)
    # Kept (df >= 2): "good", "film", "good film". Column order is by hash, so compare rows
    # as multisets of counts through a per-column lookup.
    assert counts.shape == (4, 3)
    col = {}
    for gram in ("good", "film", "good film"):
        single = counter.transform([gram])
        hits = single.indices[single.data == 1]
        col[gram] = hits[0] if gram != "good film" else None
    assert counts[0, col["good"]] == 2
    assert counts[0, col["film"]] == 1
    assert counts[3].nnz == 0
    assert counts.sum() == 2 + 1 + 1 + 1 + 1 + 1 + 1  # doc0: 2+1+1 ; doc1: 1+1+1 ; doc2: film
    assert np.array_equal(counter.transform(docs).toarray(), counts.toarray())


def test_counter_respects_max_features_and_refuses_an_empty_vocabulary() -> None:
    docs = ["a b c", "a b", "a"]
    counter = NgramCounter(ngram_range=[1, 1], min_df=1, max_features=2).fit(docs)
    assert counter.n_features_out_ == 2
    assert counter.transform(["c"]).nnz == 0  # "c" is the least frequent: dropped
    with pytest.raises(ValueError, match="no n-gram occurs in at least min_df=2"):
        NgramCounter(min_df=2).fit(["one", "two"])
    with pytest.raises(ValueError, match="ngram_range"):
        NgramCounter(ngram_range=[2, 1]).fit(["a b"])


def test_counter_state_is_numpy_arrays_only() -> None:
    counter = NgramCounter(min_df=1).fit(["a b c", "a b"])
    counter.transform(["a"])  # builds the bucket table cache
    state = counter.__getstate__()
    assert "_bucket_table" not in state
    fitted = {k: v for k, v in state.items() if k.endswith("_") and not k.startswith("_")}
    assert set(fitted) == {"vocabulary_hashes_", "n_features_out_"}
    assert fitted["vocabulary_hashes_"].dtype == np.uint64


# -- ensemble --------------------------------------------------------------------------------


def test_predict_proba_shape_range_and_consistency(
    fitted: Pipeline, corpus: tuple[list[str], np.ndarray, list[str], np.ndarray]
) -> None:
    _, _, x_test, y_test = corpus
    proba = fitted.predict_proba(x_test)
    assert proba.shape == (len(x_test), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(fitted.predict(x_test), (proba[:, 1] > 0.5).astype(int))
    assert (fitted.predict(x_test) == y_test).mean() >= 0.9
    assert fitted.classes_.tolist() == [0, 1]


def test_fit_is_deterministic(
    fitted: Pipeline, corpus: tuple[list[str], np.ndarray, list[str], np.ndarray]
) -> None:
    x_train, y_train, x_test, _ = corpus
    again = clone(fitted).fit(x_train, y_train)
    assert np.array_equal(again.predict_proba(x_test), fitted.predict_proba(x_test))


def test_uncalibrated_mode_and_string_labels_work(
    corpus: tuple[list[str], np.ndarray, list[str], np.ndarray],
) -> None:
    x_train, y_train, x_test, _ = corpus
    labels = np.where(y_train == 1, "pos", "neg")
    model = build_model({"classifier": {"calibration_folds": 0}}).fit(x_train, labels)
    assert set(model.predict(x_test)) <= {"pos", "neg"}
    assert model.predict_proba(x_test).shape == (len(x_test), 2)


def test_unknown_text_and_empty_text_get_a_probability(fitted: Pipeline) -> None:
    proba = fitted.predict_proba(["", "zzzz qqqq"])[:, 1]
    assert np.all(np.isfinite(proba))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"calibration_folds": 1}, "calibration_folds must be 0"),
        ({"nb_C": 0}, "nb_C must be > 0"),
    ],
)
def test_ensemble_rejects_bad_parameters(params: dict[str, object], message: str) -> None:
    x = sp.csr_matrix(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError, match=message):
        NBLogisticEnsemble(**params).fit(x, [0, 1, 0, 1])  # type: ignore[arg-type]


def test_ensemble_needs_two_classes() -> None:
    x = sp.csr_matrix(np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError, match="exactly two classes"):
        NBLogisticEnsemble().fit(x, [1, 1, 1])


def test_parallel_fits_learn_exactly_what_serial_fits_learn(corpus) -> None:  # type: ignore[no-untyped-def]
    """n_jobs only changes how many fits run at once: the same seeds and folds give the same
    out-of-fold stacker, members and scores, bit for bit."""
    train_x, train_y, test_x, _ = corpus
    serial = build_model(random_state=3).fit(train_x, train_y, classifier__n_jobs=1)
    parallel = build_model(random_state=3).fit(train_x, train_y, classifier__n_jobs=2)
    a, b = serial.named_steps["classifier"], parallel.named_steps["classifier"]
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.stack_coef_, b.stack_coef_)
    assert a.stack_intercept_ == b.stack_intercept_
    np.testing.assert_array_equal(serial.predict_proba(test_x), parallel.predict_proba(test_x))
    assert "n_jobs" not in a.get_params()  # a fit argument, not a hyperparameter
