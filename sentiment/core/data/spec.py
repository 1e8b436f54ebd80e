"""What a data source looks like (column names, label names, split rule) and how loading fails.

The spec is the `data:` section of ``configs/training.yaml`` made typed: the loader never
guesses column names or label spellings, it reads them from here, so a dataset with other
names is a config change, not a code change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: Label spellings understood without configuration (matched case-insensitively).
DEFAULT_LABEL_MAP: Mapping[str, int] = MappingProxyType(
    {"negative": 0, "neg": 0, "0": 0, "positive": 1, "pos": 1, "1": 1}
)

#: Keys of the `data:` config section that belong to someone else: ``source`` is read by
#: :func:`sentiment.core.data.resolve_source`, not by the spec, so it is accepted and skipped here.
_NON_SPEC_KEYS = frozenset({"source"})


class DataLoadError(ValueError):
    """Any failure to turn a source into (train, test) frames.

    The message always names the source and what is wrong with it, because the person who
    reads it is usually looking at a pipeline log, not at this code.
    """


def _default_label_map() -> Mapping[str, int]:
    return dict(DEFAULT_LABEL_MAP)


@dataclass(frozen=True)
class DataSpec:
    """How to read review texts, labels and the train/test split out of a tabular source.

    ``label_map`` maps configured label names (case-insensitive) to 0/1; integer labels 0 and
    1 are always accepted. ``test_fraction`` and ``seed`` are used only when a single CSV or
    Parquet file has no split column, to make a reproducible stratified split.
    """

    text_column: str = "text"
    label_column: str = "label"
    split_column: str = "split"
    label_map: Mapping[str, int] = field(default_factory=_default_label_map)
    test_fraction: float = 0.5
    seed: int = 42

    def __post_init__(self) -> None:
        # Normalise label names once so lookups are a plain dict access later.
        normalised: dict[str, int] = {}
        for name, value in dict(self.label_map).items():
            if isinstance(value, bool) or value not in (0, 1):
                raise ValueError(
                    f"data.label_map[{name!r}] = {value!r}: every label name must map to 0 or 1"
                )
            normalised[str(name).strip().lower()] = int(value)
        # A plain dict (not a read-only proxy) so specs pickle and serialise like any config.
        object.__setattr__(self, "label_map", normalised)
        if not 0.0 < float(self.test_fraction) < 1.0:
            raise ValueError(
                f"data.test_fraction = {self.test_fraction!r}: must be strictly between 0 and 1"
            )
        for name in ("text_column", "label_column", "split_column"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"data.{name} must be a non-empty string")
        if len({self.text_column, self.label_column, self.split_column}) != 3:
            raise ValueError(
                "data.text_column, data.label_column and data.split_column must be different"
            )

    def __hash__(self) -> int:
        return hash(
            (
                self.text_column,
                self.label_column,
                self.split_column,
                tuple(sorted(self.label_map.items())),
                self.test_fraction,
                self.seed,
            )
        )

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any] | None) -> DataSpec:
        """Build a spec from the `data:` config section; unknown keys are an error (typos)."""
        if m is None:
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(m) - known - _NON_SPEC_KEYS)
        if unknown:
            raise ValueError(
                f"unknown key(s) in the data config section: {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known | _NON_SPEC_KEYS))}"
            )
        kwargs = {k: v for k, v in m.items() if k in known}
        if "label_map" in kwargs and not isinstance(kwargs["label_map"], Mapping):
            raise ValueError("data.label_map must be a mapping of label name -> 0 or 1")
        return cls(**kwargs)
