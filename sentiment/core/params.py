"""The model's hyperparameters: the ``model_params`` section of ``configs/training.yaml``.

Typed, so a misspelt hyperparameter fails when the run is compiled instead of in the
training step after ingestion and validation ran; sections overlay the defaults one section
deep (a config may set one key only). The training identity
(:func:`sentiment.core.identity.training_key`) is computed from :func:`merged_params`, the
JSON dump of this model, so equal settings give equal keys however the YAML spelt them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, StrictBool, StrictInt, field_validator

from sentiment.core.config import Section


class NormalizerParams(Section):
    lowercase: StrictBool = True
    negation_scope: StrictInt = Field(3, ge=0)
    stemming: StrictBool = False
    keep_punctuation: tuple[str, ...] = ("!", "?")


class FeatureParams(Section):
    ngram_range: tuple[StrictInt, StrictInt] = (1, 3)
    min_df: StrictInt = Field(2, ge=1)
    max_features: StrictInt | None = Field(2_000_000, ge=1)


class ClassifierParams(Section):
    nb_C: float = Field(100.0, gt=0)  # noqa: N815 - the scikit-learn spelling
    plain_C: float = Field(100.0, gt=0)  # noqa: N815
    nb_alpha: float = Field(1.0, gt=0)
    sublinear_tf: StrictBool = True
    # 0: no calibration (equal weights on the members' scores); else >= 2 folds.
    calibration_folds: StrictInt = Field(3, ge=0)
    max_iter: StrictInt = Field(2000, ge=1)

    @field_validator("calibration_folds")
    @classmethod
    def _off_or_folds(cls, folds: int) -> int:
        if folds == 1:
            raise ValueError("must be 0 (off) or >= 2")
        return folds


class ModelParams(Section):
    """Hyperparameters of :func:`sentiment.core.model.build_model`."""

    normalizer: NormalizerParams = Field(default_factory=lambda: NormalizerParams())
    features: FeatureParams = Field(default_factory=lambda: FeatureParams())
    classifier: ClassifierParams = Field(default_factory=lambda: ClassifierParams())


#: The defaults as plain values (``section -> key -> value``).
DEFAULT_PARAMS: dict[str, Any] = ModelParams().model_dump(mode="json")


def merged_params(params: ModelParams | Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``params``, as plain JSON values (what the model is built from
    and what the training key hashes)."""
    if not isinstance(params, ModelParams):
        params = ModelParams.model_validate(dict(params or {}))
    return params.model_dump(mode="json")
