"""What a batch is: the ``batch:`` config section, the model it is scored with, its errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LABEL_NAMES = ("negative", "positive")
#: Columns the scorer adds to every output row.
PREDICTION_COLUMNS = ("label", "score", "model_name", "model_version")


class BatchInputError(ValueError):
    """The input or output of a batch cannot be used as given; the message says why."""


@dataclass(frozen=True)
class BatchSpec:
    """How to read, score and write one batch (the ``batch:`` section of the inference config).

    ``keep_columns`` lists the input columns copied to the output (``None``: all of them);
    ``sample_rows`` bounds the reservoir sample handed to the drift check.
    """

    text_column: str = "text"
    keep_columns: tuple[str, ...] | None = None
    chunk_rows: int = 10_000
    sample_rows: int = 5_000
    threshold: float = 0.5
    seed: int = 42
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text_column, str) or not self.text_column:
            raise ValueError("batch.text_column must be a non-empty string")
        if self.keep_columns is not None:
            if isinstance(self.keep_columns, str):
                raise ValueError("batch.keep_columns must be a list of column names or null")
            object.__setattr__(self, "keep_columns", tuple(str(c) for c in self.keep_columns))
        for name in ("chunk_rows", "sample_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"batch.{name} = {value!r}: must be a positive integer")
        if not 0.0 < float(self.threshold) < 1.0:
            raise ValueError(f"batch.threshold = {self.threshold!r}: must be between 0 and 1")
        object.__setattr__(self, "storage_options", dict(self.storage_options or {}))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> BatchSpec:
        """Build from the config section; unknown keys are an error (they are usually typos)."""
        values = dict(values or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) in the batch config section: {unknown}; allowed: {sorted(known)}"
            )
        return cls(**values)


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
