"""The model's hyperparameters: defaults, and how a run configuration overlays them.

Apart from the estimators (:mod:`sentiment.core.model`, which re-exports both names) because
reading and checking a configuration needs no scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_PARAMS: dict[str, Any] = {
    "normalizer": {
        "lowercase": True,
        "negation_scope": 0,
        "stemming": False,
        "keep_punctuation": ["!", "?"],
    },
    "features": {"ngram_range": [1, 3], "min_df": 2, "max_features": 2_000_000},
    "classifier": {
        "nb_C": 100.0,
        "plain_C": 100.0,
        "nb_alpha": 1.0,
        "sublinear_tf": True,
        "calibration_folds": 3,
        "max_iter": 2000,
    },
}


def merged_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``params`` one section deep (a config may set one key only)."""
    out: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_PARAMS.items()}
    for section, values in (params or {}).items():
        if section not in out:
            raise ValueError(f"unknown model section {section!r}; known: {sorted(out)}")
        if values is not None and not isinstance(values, Mapping):
            raise ValueError(f"model section {section!r} must be a mapping, got {values!r}")
        unknown = sorted(set(values or {}) - set(out[section]))
        if unknown:
            raise ValueError(
                f"unknown key(s) {unknown} in model section {section!r}; "
                f"known: {sorted(out[section])}"
            )
        out[section].update(values or {})
    return out
