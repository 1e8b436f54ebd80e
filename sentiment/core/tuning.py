"""Hyperparameter search without ZenML: the search space, the validation split, the choice.

A search space is a mapping of dotted ``section.key`` names of ``DEFAULT_PARAMS`` (the
``model_params`` of the training config) to the values to try, e.g.
``{"classifier.nb_C": [10, 100], "features.ngram_range": [[1, 2], [1, 3]]}``. Each trial
is a set of overrides of the base ``model_params``; trials are scored on a validation split
carved (seeded, stratified) from the train split, never on the test split, which the
training pipeline scores once.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import Field, StrictInt, field_validator, model_validator
from sklearn.model_selection import train_test_split

from sentiment.core.config import Section
from sentiment.core.params import DEFAULT_PARAMS, ModelParams, merged_params


class SearchSpaceError(ValueError):
    """The tuning configuration names something the model does not have, or is malformed."""


def known_parameters() -> list[str]:
    """The dotted names a search space may vary: every key of ``DEFAULT_PARAMS``."""
    return [f"{section}.{key}" for section, keys in DEFAULT_PARAMS.items() for key in keys]


class SearchSpec(Section):
    """The ``search:`` section of ``configs/tuning.yaml``."""

    space: dict[str, list[Any]] = Field(min_length=1)
    strategy: Literal["random", "grid"] = "random"
    trials: StrictInt | None = Field(8, ge=1)
    seed: int = 42
    metric: Literal["accuracy", "f1", "roc_auc"] = "accuracy"
    include_base: bool = True

    @field_validator("space")
    @classmethod
    def _known_and_non_empty(cls, space: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, values in space.items():
            if name not in known_parameters():
                raise ValueError(f"unknown parameter {name!r}; known: {known_parameters()}")
            if not values:
                raise ValueError(f"{name} must be a non-empty list of values")
        return space

    @model_validator(mode="after")
    def _random_needs_a_budget(self) -> SearchSpec:
        if self.strategy == "random" and self.trials is None:
            raise ValueError("trials is required with the random strategy")
        return self

    def with_trials(self, trials: int | None) -> SearchSpec:
        """The same search with another trial budget (``--trials``), validated again."""
        if trials is None:
            return self
        return SearchSpec.model_validate({**self.model_dump(), "trials": trials})

    @property
    def size(self) -> int:
        """Number of distinct combinations in the space."""
        return math.prod(len(v) for v in self.space.values())


class SplitSettings(Section):
    """The ``split:`` section of ``configs/tuning.yaml``: the share of the train split held
    out to score trials, and its seed (both required: the split decides what "best" means)."""

    fraction: float = Field(gt=0, lt=1)
    seed: int


def apply_overrides(
    base: ModelParams | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Complete ``model_params``: defaults, then ``base``, then the dotted ``overrides``."""
    params = merged_params(base)
    for name, value in overrides.items():
        section, _, key = name.partition(".")
        if section not in params or key not in params[section]:
            raise SearchSpaceError(f"unknown parameter {name!r}")
        params[section][key] = value
    return merged_params(params)


def _combination(spec: SearchSpec, index: int) -> dict[str, Any]:
    """The ``index``-th combination of the grid in ``itertools.product`` order (mixed radix),
    so a random search samples indices without building a grid of millions."""
    out: dict[str, Any] = {}
    for name, values in reversed(list(spec.space.items())):
        index, digit = divmod(index, len(values))
        out[name] = values[digit]
    return dict(reversed(list(out.items())))


def expand(
    spec: SearchSpec, base: ModelParams | Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The trials to run, as dotted overrides of ``base`` (the first is ``{}`` when
    ``include_base``: the current configuration is always a candidate).

    - ``grid``: every combination in ``itertools.product`` order, the first ``trials`` if set;
    - ``random``: ``trials`` distinct combinations drawn with ``seed`` (fewer if the space is
      smaller). Combinations that give the same complete parameters as an earlier trial
      (e.g. the base itself) are skipped, so no trial is run twice.
    """
    budget = math.inf if spec.trials is None else int(spec.trials)
    order: Iterable[int] = (
        range(spec.size) if spec.strategy == "grid" else _shuffled(spec.size, spec.seed)
    )
    trials: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    candidates = itertools.chain(
        [{}] if spec.include_base else [], (_combination(spec, i) for i in order)
    )
    for overrides in candidates:
        if len(trials) >= budget:
            break
        params = apply_overrides(base, overrides)
        if params in seen:
            continue
        seen.append(params)
        trials.append(overrides)
    return trials


def _shuffled(size: int, seed: int) -> Iterator[int]:
    """Distinct indices below ``size`` in a seeded random order, drawn lazily: the first
    trials of a search do not depend on the budget, and a huge space is never listed."""
    rng = random.Random(seed)
    seen: set[int] = set()
    while len(seen) < size:
        index = rng.randrange(size)
        if index not in seen:
            seen.add(index)
            yield index


def logged_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Flat, stable, plot-friendly MLflow params: ``features.ngram_range`` [1, 3] becomes
    ``features.ngram_min`` 1 and ``features.ngram_max`` 3; other lists become strings."""
    out: dict[str, Any] = {}
    for section, values in params.items():
        for key, value in values.items():
            if key == "ngram_range":
                out[f"{section}.ngram_min"], out[f"{section}.ngram_max"] = (int(v) for v in value)
            elif isinstance(value, list | tuple):
                out[f"{section}.{key}"] = " ".join(str(v) for v in value)
            else:
                out[f"{section}.{key}"] = value
    return out


def validation_split(
    train: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit, validation): a seeded split of the train split stratified by label, each in
    the original row order so the fingerprints are reproducible."""
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    fit_idx, val_idx = train_test_split(
        train.index.to_numpy(),
        test_size=float(fraction),
        random_state=int(seed),
        stratify=train["label"].to_numpy(),
    )
    fit = train.loc[sorted(fit_idx)].reset_index(drop=True)
    validation = train.loc[sorted(val_idx)].reset_index(drop=True)
    return fit, validation


def select_best(trials: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any]:
    """The trial with the highest ``val_<metric>``; ties go to ROC AUC, then the earliest
    trial (the base configuration when it is included), never to fit time (noisy)."""
    if not trials:
        raise ValueError("no trials to choose from")
    best_index = max(
        range(len(trials)),
        key=lambda i: (
            trials[i]["metrics"][f"val_{metric}"],
            trials[i]["metrics"]["val_roc_auc"],
            -i,
        ),
    )
    return trials[best_index]


_MODEL_PARAMS_LINE = re.compile(r"^(?P<indent>[ ]+)model_params:[ ]*(#.*)?$")


def render_training_config(base_text: str, model_params: Mapping[str, Any], header: str) -> str:
    """``base_text`` (a training config) with its ``parameters.model_params`` block replaced.

    The rest of the file, comments included, is kept as it is, so the tuned file differs
    from the base by the model section only. Falls back to a plain YAML dump (comments lost)
    when the block cannot be found as an indented ``model_params:`` line.
    """
    base = yaml.safe_load(base_text) or {}
    params = {s: dict(v) for s, v in model_params.items()}
    lines = base_text.splitlines()
    start = next((i for i, line in enumerate(lines) if _MODEL_PARAMS_LINE.match(line)), None)
    text = None
    if start is not None:
        indent = len(_MODEL_PARAMS_LINE.match(lines[start])["indent"])  # type: ignore[index]
        end = start + 1
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        while end > start + 1 and not lines[end - 1].strip():  # keep the blank lines after
            end -= 1
        body = [
            line
            for section, values in params.items()
            for line in _flow(f"{' ' * (indent + 2)}{section}: ", values)
        ]
        text = "\n".join([*lines[: start + 1], *body, *lines[end:]]) + "\n"
        expected = dict(base.get("parameters") or {}, model_params=params)
        if (yaml.safe_load(text) or {}).get("parameters") != expected:
            text = None
    if text is None:
        base.setdefault("parameters", {})["model_params"] = params
        text = yaml.safe_dump(base, sort_keys=False)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + text


def _flow(prefix: str, values: Mapping[str, Any], width: int = 100) -> list[str]:
    """``prefix{key: value, ...}`` as YAML flow lines of at most ``width`` characters (when
    the items allow), continuation lines aligned under the first key, like the shipped file."""
    items = [
        yaml.safe_dump({key: value}, default_flow_style=True, width=10_000).strip()[1:-1]
        for key, value in values.items()
    ]
    pieces = [item + ("," if i < len(items) - 1 else "}") for i, item in enumerate(items)]
    lines, current = [], prefix + "{" + pieces[0]
    for piece in pieces[1:]:
        if len(current) + 1 + len(piece) > width:
            lines.append(current)
            current = " " * (len(prefix) + 1) + piece
        else:
            current += " " + piece
    lines.append(current)
    return lines
