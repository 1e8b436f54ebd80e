"""The one way a configuration section is parsed: a frozen pydantic model that forbids
unknown keys.

Why pydantic, and why here in the domain layer: every ``configs/*.yaml`` section used to have
its own hand-written parser (unknown-key checks, type checks, ranges), each with slightly
different messages. A model states the same rules as field types and constraints, ZenML
validates pipeline parameters with it when a run is compiled (so a typo fails before any step
runs), and the dashboard shows the values. pydantic is a plain library, not a framework, so
the domain may depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T", bound=BaseModel)


class Section(BaseModel):
    """Base of every configuration section: unknown keys are errors (they are usually typos)
    and values are immutable (a section is shared by steps that must not alter it). Counts
    are ``StrictInt`` where they are declared: ``"2"`` or ``1.5`` rows is a mistake to report,
    not a value to coerce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def canonical_json(self) -> str:
        """The values as sorted JSON: equal settings, equal text (hashes, digests)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def describe_errors(error: ValidationError, *, prefix: str = "") -> str:
    """One line per problem, each naming the dotted key (``validation.max_leak``) and why."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        where = f"{prefix}.{where}" if prefix and where else prefix or where
        if item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"unknown key {where!r}")
        elif item["type"] in ("missing", "missing_argument"):
            lines.append(f"missing key {where!r}")
        elif where:
            lines.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
        else:  # a check across keys: its message names them
            lines.append(str(item["msg"]).removeprefix("Value error, "))
    return "; ".join(lines)


class ConfigError(ValueError):
    """A configuration file (or section) does not validate; the message names the file, the
    key and the problem, so the person running the command can fix it without a traceback."""


def parse_section(
    model: type[T],
    values: Any,
    *,
    source: str | Path | None = None,
    prefix: str = "",
    error: type[ConfigError] = ConfigError,
) -> T:
    """``values`` validated as ``model``; a :class:`ConfigError` naming ``source`` and the key
    otherwise. The single place configuration is turned into typed values outside ZenML."""
    try:
        return model.model_validate({} if values is None else values)
    except ValidationError as exc:
        where = f"{source}: " if source else ""
        raise error(f"{where}{describe_errors(exc, prefix=prefix)}") from exc


@contextmanager
def naming_config_file(source: str | Path) -> Iterator[None]:
    """Re-raise a parameter validation failure as a :class:`ConfigError` naming ``source``.

    Why: ZenML validates a pipeline's typed parameters when the run is compiled (before any
    step runs) but reports only "Invalid or missing pipeline function entrypoint arguments",
    with pydantic's error, which names the key, as the cause; neither names the file.
    """
    try:
        yield
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_errors(exc)}") from exc
    except ValueError as exc:
        if isinstance(exc.__cause__, ValidationError):
            raise ConfigError(f"{source}: {describe_errors(exc.__cause__)}") from exc
        raise


def file_parameters(path: Path) -> dict[str, Any]:
    """The ``parameters:`` mapping of a run configuration (a ZenML run config file)."""
    raw = yaml.safe_load(path.read_text()) or {}
    params = raw.get("parameters") if isinstance(raw, dict) else None
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: `parameters` must be a mapping")
    return params
