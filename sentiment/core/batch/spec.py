"""What a batch is: the ``batch:`` config section, the model it is scored with, its errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, StrictInt, field_validator

from sentiment.core.config import Section

LABEL_NAMES = ("negative", "positive")
#: Columns the scorer adds to every output row.
PREDICTION_COLUMNS = ("label", "score", "model_name", "model_version")


class BatchInputError(ValueError):
    """The input or output of a batch cannot be used as given; the message says why."""


class BatchSpec(Section):
    """How to read, score and write one batch (the ``batch:`` section of the inference config).

    ``keep_columns`` lists the input columns copied to the output (``None``: all of them);
    ``sample_rows`` bounds the reservoir sample handed to the drift check.
    """

    text_column: str = Field("text", min_length=1)
    keep_columns: tuple[str, ...] | None = None
    chunk_rows: StrictInt = Field(10_000, ge=1)
    sample_rows: StrictInt = Field(5_000, ge=1)
    threshold: float = Field(0.5, gt=0, lt=1)
    seed: int = 42
    storage_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("keep_columns", mode="before")
    @classmethod
    def _a_list_not_a_name(cls, value: Any) -> Any:
        # A bare string would otherwise be taken as a sequence of one-letter columns.
        if isinstance(value, str):
            raise ValueError("must be a list of column names or null")
        return value


class ModelSelector(Section):
    """Which registered model scores the batch (the ``model:`` section of the inference
    config): the version holding ``alias`` unless the command line names a version."""

    registered_model_name: str = Field("sentiment-classifier", min_length=1)
    alias: str = Field("production", min_length=1)


@dataclass(frozen=True)
class ModelRef:
    """The registered model version a batch is scored with (resolved once per run)."""

    name: str
    version: str
    alias: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelRef:
        return cls(
            str(values["name"]),
            str(values["version"]),
            values.get("alias"),
            dict(values.get("tags") or {}),
        )
