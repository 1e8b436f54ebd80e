"""What a data source looks like (column names, label names, split rule) and how loading fails.

The spec is the `data:` section of ``configs/training.yaml`` made typed: the loader never
guesses column names or label spellings, it reads them from here, so a dataset with other
names is a config change, not a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import Field, StrictInt, field_validator, model_validator

from sentiment.core.config import Section

#: Label spellings understood without configuration (matched case-insensitively).
DEFAULT_LABEL_MAP: Mapping[str, int] = MappingProxyType(
    {"negative": 0, "neg": 0, "0": 0, "positive": 1, "pos": 1, "1": 1}
)


class DataLoadError(ValueError):
    """Any failure to turn a source into (train, test) frames.

    The message always names the source and what is wrong with it, because the person who
    reads it is usually looking at a pipeline log, not at this code.
    """


class DataSpec(Section):
    """How to read review texts, labels and the train/test split out of a tabular source.

    ``label_map`` maps configured label names (case-insensitive) to 0/1; integer labels 0 and
    1 are always accepted. ``test_fraction`` and ``seed`` are used only when a single CSV or
    Parquet file has no split column, to make a reproducible stratified split.
    """

    text_column: str = Field("text", min_length=1)
    label_column: str = Field("label", min_length=1)
    split_column: str = Field("split", min_length=1)
    label_map: dict[str, StrictInt] = Field(default_factory=lambda: dict(DEFAULT_LABEL_MAP))
    test_fraction: float = Field(0.5, gt=0, lt=1)
    seed: int = 42

    @field_validator("label_map", mode="before")
    @classmethod
    def _names_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted `0: 0` with an int key; a label name is text either way.
        return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value

    @field_validator("label_map")
    @classmethod
    def _normalise_labels(cls, value: dict[str, int]) -> dict[str, int]:
        # Normalise label names once so lookups are a plain dict access later.
        bad = {name: v for name, v in value.items() if v not in (0, 1)}
        if bad:
            raise ValueError(f"every label name must map to 0 or 1, got {bad}")
        return {str(name).strip().lower(): v for name, v in value.items()}

    @model_validator(mode="after")
    def _distinct_columns(self) -> DataSpec:
        if len({self.text_column, self.label_column, self.split_column}) != 3:
            raise ValueError(
                "data.text_column, data.label_column and data.split_column must be different"
            )
        return self

    def __hash__(self) -> int:
        return hash(self.canonical_json())


class DataSettings(DataSpec):
    """The whole ``data:`` section of ``configs/training.yaml``: the spec, plus where the data
    is (``source``: overridden by --data and ``$SENTIMENT_DATA``) and how to reach it
    (``storage_options``, e.g. an S3 endpoint); those two are read before any row is."""

    source: str | None = None
    storage_options: dict[str, Any] = Field(default_factory=dict)

    def spec(self) -> DataSpec:
        """Only the spec's fields: what the loaded rows depend on."""
        return DataSpec.model_validate(self.model_dump(include=set(DataSpec.model_fields)))
