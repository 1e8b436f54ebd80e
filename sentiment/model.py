"""Model construction: a scikit-learn ``Pipeline`` that maps raw review text to P(positive).

Hyperparameters come from the ``model:`` section of ``configs/training.yaml``; the defaults
here are what that file ships with, so a test or notebook gets the production model too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sentiment.text import TextNormalizer

DEFAULT_PARAMS: dict[str, Any] = {
    "normalizer": {"lowercase": True, "negation_scope": 0, "stemming": False},
    "tfidf": {
        "ngram_range": [1, 2],
        "min_df": 2,
        "max_df": 0.95,
        "sublinear_tf": True,
        "max_features": 400_000,
    },
    "classifier": {"C": 8.0, "max_iter": 2000},
}

# Types skops may instantiate when loading a saved model. Loading refuses anything else,
# which is what makes a downloaded model file safe to open.
TRUSTED_TYPES: list[str] = [
    "sentiment.text.TextNormalizer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "numpy.dtype",
    "builtins.int",
    "builtins.float",
    "builtins.str",
    "numpy.float64",
    "numpy.int64",
]


def merged_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``params`` one section deep (a config may set one key only)."""
    out: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_PARAMS.items()}
    for section, values in (params or {}).items():
        if section not in out:
            raise ValueError(f"unknown model section {section!r}; known: {sorted(out)}")
        out[section].update(values or {})
    return out


def build_model(params: Mapping[str, Any] | None = None, *, random_state: int = 42) -> Pipeline:
    """Build the untrained pipeline: normalise -> TF-IDF n-grams -> logistic regression."""
    p = merged_params(params)
    tfidf = dict(p["tfidf"])
    tfidf["ngram_range"] = tuple(tfidf["ngram_range"])
    return Pipeline(
        [
            ("normalize", TextNormalizer(**p["normalizer"])),
            ("features", TfidfVectorizer(lowercase=False, token_pattern=r"\S+", dtype="float32", **tfidf)),
            ("classifier", LogisticRegression(random_state=random_state, **p["classifier"])),
        ]
    )
