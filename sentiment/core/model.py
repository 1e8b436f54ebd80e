"""Model construction: a scikit-learn ``Pipeline`` that maps raw review text to P(positive).

The pipeline is ``TextNormalizer -> NgramCounter -> NBLogisticEnsemble``:

- word 1-3-gram counts over a vocabulary pruned by document frequency (``NgramCounter``);
- two logistic regressions on sublinear TF-IDF rows, one of them with every column scaled
  by its naive-Bayes log-count ratio (NB-LR, Wang & Manning 2012), combined and calibrated
  by a stacking logistic regression fitted on out-of-fold scores (``NBLogisticEnsemble``).

Why custom classes instead of ``TfidfVectorizer``: skops serialises a fitted ``vocabulary_``
dict entry by entry, which takes seconds for a few thousand terms and minutes for the ~10^6
n-grams this model needs. Here every piece of fitted state is a numpy array (a sorted array
of 64-bit n-gram hashes stands in for the vocabulary), so saving and loading are fast and the
file is only the arrays.

Hyperparameters come from the ``model_params:`` section of ``configs/training.yaml``
(:class:`sentiment.core.params.ModelParams`); the defaults are what that file ships with,
so a test or notebook gets the production model too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from sentiment.core.ngrams import BUCKET_BITS, U64, ngram_hashes, token_hash
from sentiment.core.params import DEFAULT_PARAMS, ModelParams, merged_params
from sentiment.core.text import TextNormalizer

# joblib's backend preference for the parallel fits (see NBLogisticEnsemble._fit_all).
_BACKEND = "processes"
#: Fits at a time when ``fit`` is not told: every core (see NBLogisticEnsemble.fit), for
#: feature matrices of at least PARALLEL_MIN_NNZ non-zeros (~10k reviews); serial below, where
#: starting worker processes costs more than it saves (5,000 reviews: 1.7 s serial, 2.7 s).
DEFAULT_N_JOBS = -1
PARALLEL_MIN_NNZ = 4_000_000

__all__ = ["DEFAULT_PARAMS", "NBLogisticEnsemble", "NgramCounter", "build_model"]
__all__ += ["merged_params", "ngram_hashes", "token_hash"]

# Types skops may instantiate when loading a saved model, beyond those it trusts by default
# (scikit-learn estimators such as Pipeline, numpy arrays, builtins). Loading refuses anything
# else, which is what makes a downloaded model file safe to open. Exact and minimal: this is
# what ``skops.io.get_untrusted_types`` reports for a fitted model (a test checks it), because
# the fitted state of the custom stages is numpy arrays and plain Python values only.
TRUSTED_TYPES: list[str] = [
    "sentiment.core.model.NBLogisticEnsemble",
    "sentiment.core.model.NgramCounter",
    "sentiment.core.text.TextNormalizer",
]


# auto_wrap_output_keys=None: the output is a sparse matrix, never a DataFrame, and
# scikit-learn's set_output wrapper cost ~10 % of a one-review prediction.
class NgramCounter(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):  # type: ignore[call-arg]
    """Word n-gram counts over a document-frequency-pruned vocabulary of 64-bit hashes.

    Like ``CountVectorizer(ngram_range, min_df, max_features)`` on pre-tokenised text, but the
    fitted vocabulary is one sorted ``uint64`` array (``vocabulary_hashes_``), which skops
    stores as a single ``.npy`` member instead of a dict of a million Python objects. With 64
    bits, two of the ~10^7 distinct n-grams of a corpus collide with probability ~10^-5.
    """

    def __init__(
        self,
        ngram_range: list[int] | tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_features: int | None = None,
        batch_size: int = 2000,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.batch_size = batch_size

    def _range(self) -> tuple[int, int]:
        lo, hi = (int(v) for v in self.ngram_range)
        if not 1 <= lo <= hi:
            raise ValueError(
                f"ngram_range must be [lo, hi] with 1 <= lo <= hi, got {self.ngram_range}"
            )
        return lo, hi

    def _batches(self, docs: Iterable[str]) -> Iterable[tuple[np.ndarray, np.ndarray, int]]:
        """n-gram hashes batch by batch (bounded memory for the token lists)."""
        docs = _as_docs(docs)
        step = max(1, int(self.batch_size))
        for start in range(0, len(docs), step):
            yield ngram_hashes(docs[start : start + step], self._range())

    def fit(self, docs: Iterable[str], y: object = None) -> NgramCounter:
        self.fit_transform(docs)
        return self

    def fit_transform(self, docs: Iterable[str], y: object = None, **_: Any) -> sp.csr_matrix:
        if int(self.min_df) < 1:
            raise ValueError(f"min_df must be >= 1, got {self.min_df}")
        batches = list(self._batches(docs))
        per_doc_unique = []
        for doc_of, hashes, _n in batches:
            # Distinct (document, n-gram) pairs: the document frequency counts each once.
            order = np.lexsort((hashes, doc_of))
            d, h = doc_of[order], hashes[order]
            first = np.ones(len(h), dtype=bool)
            first[1:] = (d[1:] != d[:-1]) | (h[1:] != h[:-1])
            per_doc_unique.append(h[first])
        vocab, df = np.unique(
            np.concatenate(per_doc_unique) if per_doc_unique else np.zeros(0, U64),
            return_counts=True,
        )
        keep = df >= int(self.min_df)
        vocab, df = vocab[keep], df[keep]
        if self.max_features is not None and len(vocab) > int(self.max_features):
            # Most frequent first; stable sort so ties resolve by hash, deterministically.
            top = np.argsort(-df, kind="stable")[: int(self.max_features)]
            vocab = np.sort(vocab[top])
        if len(vocab) == 0:
            raise ValueError(
                f"no n-gram occurs in at least min_df={self.min_df} documents: the training "
                "texts are empty or too few"
            )
        self.vocabulary_hashes_ = vocab
        self.n_features_out_ = len(vocab)
        return sp.vstack([self._counts(*b) for b in batches], format="csr")

    def transform(self, docs: Iterable[str]) -> sp.csr_matrix:
        check_is_fitted(self, "vocabulary_hashes_")
        parts = [self._counts(*b) for b in self._batches(docs)]
        return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")

    def _columns(self, hashes: np.ndarray) -> np.ndarray:
        """Column of each hash in the vocabulary, -1 where absent.

        A plain ``searchsorted`` over ~10^6 sorted hashes is cache-hostile and dominated
        prediction time; the hashes are uniform, so their top bits index a bucket table
        (built lazily, never saved) and each query then checks its bucket's few entries.
        """
        vocab = self.vocabulary_hashes_
        table = self.__dict__.get("_bucket_table")
        if table is None:
            top = (vocab >> U64(64 - BUCKET_BITS)).astype(np.int64)
            table = np.searchsorted(top, np.arange(2**BUCKET_BITS + 1)).astype(np.int64)
            self.__dict__["_bucket_table"] = table
        bucket = (hashes >> U64(64 - BUCKET_BITS)).astype(np.int64)
        start, stop = table[bucket], table[bucket + 1]
        cols = np.full(len(hashes), -1, dtype=np.int64)
        idx = np.flatnonzero(start < stop)
        pos = start[idx]
        while len(idx):
            hit = vocab[pos] == hashes[idx]
            cols[idx[hit]] = pos[hit]
            pos += 1
            more = ~hit & (pos < stop[idx])
            idx, pos = idx[more], pos[more]
        return cols

    def _counts(self, doc_of: np.ndarray, hashes: np.ndarray, n_docs: int) -> sp.csr_matrix:
        cols = self._columns(hashes)
        known = cols >= 0
        counts = sp.csr_matrix(
            (np.ones(int(known.sum()), np.float32), (doc_of[known], cols[known])),
            shape=(n_docs, len(self.vocabulary_hashes_)),
        )
        counts.sum_duplicates()
        return counts

    def __getstate__(self) -> dict[str, Any]:
        # The bucket table is derived from the vocabulary: rebuilt on first use, never saved.
        state = super().__getstate__()
        state.pop("_bucket_table", None)
        return state


class NBLogisticEnsemble(ClassifierMixin, BaseEstimator):
    """NB-weighted and plain logistic regression on TF-IDF rows, stacked and calibrated.

    - member "nb": columns scaled by idf * naive-Bayes log-count ratio ``r`` (computed on
      binarised counts with smoothing ``nb_alpha``), rows L2-normalised, LR with ``nb_C``;
    - member "plain": the same rows without ``r``, LR with ``plain_C``;
    - the two decision scores are combined by a logistic regression fitted on out-of-fold
      scores (``calibration_folds``-fold), which both weights the members and calibrates the
      probability (Platt scaling). ``calibration_folds=0`` skips it: equal weights on scores
      standardised on the training set, probabilities then are NOT calibrated.

    The fitted members are kept as plain arrays (``coef_``: one row per member, float32),
    not as ``LogisticRegression`` objects, so the saved model is arrays only.
    """

    def __init__(
        self,
        nb_C: float = 100.0,
        plain_C: float = 100.0,
        nb_alpha: float = 1.0,
        sublinear_tf: bool = True,
        calibration_folds: int = 3,
        max_iter: int = 2000,
        random_state: int | None = 42,
    ) -> None:
        self.nb_C = nb_C
        self.plain_C = plain_C
        self.nb_alpha = nb_alpha
        self.sublinear_tf = sublinear_tf
        self.calibration_folds = calibration_folds
        self.max_iter = max_iter
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self, X: sp.spmatrix, y: Iterable[int], n_jobs: int | None = None
    ) -> NBLogisticEnsemble:
        """Fit the out-of-fold members and the final members, ``n_jobs`` fits at a time.

        ``n_jobs`` is a fit argument, not a hyperparameter: it changes how long the fit
        takes, never what it learns (every fit is seeded on its own, so order does not
        matter), and it must not enter the model's parameters, the training key or the
        saved file. Pass it through the pipeline as ``fit(..., classifier__n_jobs=N)``;
        -1 uses every core, up to the number of fits (folds + 1).

        The default is -1 (:data:`DEFAULT_N_JOBS`): faster on an idle machine, slower on a
        loaded one (docs/benchmarks/training.md, "Parallel fits"). Pass 1 on a busy machine.
        """
        X = sp.csr_matrix(X, dtype=np.float32)
        y = np.asarray(list(y) if not isinstance(y, np.ndarray) else y)
        self.classes_, y01 = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"need exactly two classes to train, got {self.classes_.tolist()}")
        if X.shape[0] != len(y01):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y01)} labels")
        for name in ("nb_C", "plain_C", "nb_alpha"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        folds = int(self.calibration_folds)
        if folds == 1 or folds < 0:
            raise ValueError(f"calibration_folds must be 0 (off) or >= 2, got {folds}")

        splits = []
        if folds:
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            splits = list(splitter.split(np.zeros(len(y01)), y01))
        if n_jobs is None:
            n_jobs = DEFAULT_N_JOBS if X.nnz >= PARALLEL_MIN_NNZ else 1
        fitted = self._fit_all(X, y01, splits, n_jobs)
        self.column_weights_, self.coef_, self.intercept_ = fitted[-1]
        if folds:
            oof = np.zeros((X.shape[0], 2))
            for (_, held_idx), (weights, coef, intercept) in zip(splits, fitted, strict=False):
                oof[held_idx] = self._member_scores(X[held_idx], weights, coef, intercept)
            stacker = LogisticRegression(C=1e4, max_iter=1000).fit(oof, y01)
            stack_coef, stack_intercept = stacker.coef_.ravel(), float(stacker.intercept_[0])
        if not folds:
            train_scores = self._member_scores(X, self.column_weights_, self.coef_, self.intercept_)
            stack_coef = 1.0 / np.maximum(train_scores.std(axis=0), 1e-12)
            stack_intercept = 0.0
        self.stack_coef_ = np.asarray(stack_coef, dtype=np.float64)
        self.stack_intercept_ = float(stack_intercept)
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_all(
        self,
        X: sp.csr_matrix,
        y01: np.ndarray,
        splits: list[tuple[np.ndarray, np.ndarray]],
        n_jobs: int,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The members fitted on each fold's training rows, then on all rows (last).

        Processes, not threads: liblinear seeds and draws from the C library's one global
        random state, so two fits in threads of one process interleave their draws and the
        result depends on timing (a test compares n_jobs=1 with n_jobs=2 bit for bit).
        Each worker receives ``X`` (joblib memory-maps its large arrays) and copies the
        rows of its fold.
        """
        jobs: list[np.ndarray | None] = [train_idx for train_idx, _ in splits] + [None]
        workers = min(len(jobs), effective_n_jobs(n_jobs))
        if workers <= 1:
            return [_fit_rows(self, X, y01, rows) for rows in jobs]
        return list(
            Parallel(n_jobs=workers, prefer=_BACKEND)(
                delayed(_fit_rows)(self, X, y01, rows) for rows in jobs
            )
        )

    def _fit_members(
        self, X: sp.csr_matrix, y01: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-column weights (2 x n_features), coefficients (2 x n_features), intercepts."""
        tf = self._tf(X)
        present = tf.copy()
        present.data[:] = 1.0
        n_docs = X.shape[0]
        df = np.bincount(present.indices, minlength=X.shape[1])
        idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        alpha = float(self.nb_alpha)
        pos = alpha + np.asarray(present[y01 == 1].sum(axis=0)).ravel()
        neg = alpha + np.asarray(present[y01 == 0].sum(axis=0)).ravel()
        ratio = np.log(pos / pos.sum()) - np.log(neg / neg.sum())
        weights = np.vstack([idf * ratio, idf]).astype(np.float32)
        coefs, intercepts = [], []
        for row, c in zip(weights, (self.nb_C, self.plain_C), strict=True):
            # liblinear's dual solver visits samples in random order: seed it, or two fits
            # of the same data differ in the 5th digit.
            lr = LogisticRegression(
                C=float(c),
                solver="liblinear",
                dual=True,
                max_iter=int(self.max_iter),
                random_state=self.random_state,
            )
            lr.fit(_scaled_rows(tf, row), y01)
            coefs.append(lr.coef_.ravel())
            intercepts.append(float(lr.intercept_[0]))
        return weights, np.vstack(coefs).astype(np.float32), np.asarray(intercepts)

    def _tf(self, X: sp.spmatrix) -> sp.csr_matrix:
        tf = sp.csr_matrix(X, dtype=np.float32, copy=True)
        if self.sublinear_tf:
            np.log(tf.data, out=tf.data)
            tf.data += 1.0
        return tf

    @staticmethod
    def _member_scores(
        X: sp.csr_matrix, weights: np.ndarray, coef: np.ndarray, intercept: np.ndarray
    ) -> np.ndarray:
        return np.column_stack(
            [_scaled_rows(X, w) @ c + b for w, c, b in zip(weights, coef, intercept, strict=True)]
        )

    # -- prediction ------------------------------------------------------------------------
    def member_scores(self, X: sp.spmatrix) -> np.ndarray:
        """Decision scores of the two members, columns (nb, plain): for diagnostics."""
        check_is_fitted(self, "coef_")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, model expects {self.n_features_in_}")
        return self._member_scores(self._tf(X), self.column_weights_, self.coef_, self.intercept_)

    def decision_function(self, X: sp.spmatrix) -> np.ndarray:
        return self.member_scores(X) @ self.stack_coef_ + self.stack_intercept_

    def predict_proba(self, X: sp.spmatrix) -> np.ndarray:
        z = np.clip(self.decision_function(X), -500, 500)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: sp.spmatrix) -> np.ndarray:
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def _fit_rows(
    model: NBLogisticEnsemble, X: sp.csr_matrix, y01: np.ndarray, rows: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One member fit, on ``rows`` of ``X`` or on all of it: a module-level function, so a
    worker process can receive it."""
    return model._fit_members(X, y01) if rows is None else model._fit_members(X[rows], y01[rows])


def _scaled_rows(tf: sp.csr_matrix, column_weights: np.ndarray) -> sp.csr_matrix:
    """``tf`` with columns scaled by ``column_weights`` and rows L2-normalised (new matrix).

    ``normalize``'s own kernel without its input checks, which took ~40 % of a one-review
    prediction; the values are finite by construction and the result is bit for bit equal."""
    out = tf.copy()
    out.data *= column_weights[out.indices]
    inplace_csr_row_normalize_l2(out)
    return out


def _as_docs(docs: Iterable[str]) -> list[str]:
    if isinstance(docs, str):
        raise TypeError("expected an iterable of documents, got a single str")
    return list(docs)


def build_model(
    params: ModelParams | Mapping[str, Any] | None = None, *, random_state: int = 42
) -> Pipeline:
    """Build the untrained pipeline: normalise -> n-gram counts -> NB/plain LR ensemble."""
    p = merged_params(params)
    features = dict(p["features"])
    features["ngram_range"] = list(features["ngram_range"])
    return Pipeline(
        [
            ("normalize", TextNormalizer(**p["normalizer"])),
            ("features", NgramCounter(**features)),
            ("classifier", NBLogisticEnsemble(random_state=random_state, **p["classifier"])),
        ]
    )
