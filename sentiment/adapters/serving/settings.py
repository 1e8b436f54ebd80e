"""The service's runtime settings, parsed from ``configs/serving.yaml``.

Why a parser instead of reading the YAML in ``service.py``: the service reads these values at
import time in every worker, so a typo must fail there with the key and the problem named,
not as a ``KeyError`` deep inside BentoML's start-up. Unknown keys are errors too, so a
misspelt option never silently falls back to a default.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIG_ENV_VAR = "SENTIMENT_SERVING_CONFIG"
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[3] / "configs" / "serving.yaml"


class SettingsError(ValueError):
    """The serving configuration is missing, malformed or out of range."""


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    workers: int
    inference_threads: int
    timeout_s: float
    max_concurrency: int
    access_log: bool
    untraced_paths: tuple[str, ...]


@dataclass(frozen=True)
class ModelSettings:
    alias: str
    positive_threshold: float


@dataclass(frozen=True)
class LimitSettings:
    max_batch_size: int
    max_text_chars: int
    max_body_bytes: int
    # Seconds a client gets to deliver the whole body (slow-loris guard, 408 after it).
    body_read_timeout_s: float = 10.0


@dataclass(frozen=True)
class AuthSettings:
    token_env: str
    open_paths: tuple[str, ...]


@dataclass(frozen=True)
class MetricSettings:
    batch_size_buckets: tuple[float, ...]
    input_length_buckets: tuple[float, ...]
    duration_buckets: tuple[float, ...]


@dataclass(frozen=True)
class ServingSettings:
    service: ServiceSettings
    model: ModelSettings
    limits: LimitSettings
    auth: AuthSettings
    metrics: MetricSettings
    source: str = "<mapping>"

    def bentoml_config(self) -> dict[str, Any]:
        """Keyword arguments for ``@bentoml.service`` (its own config schema)."""
        return {
            "workers": self.service.workers,
            "traffic": {
                "timeout": self.service.timeout_s,
                "max_concurrency": self.service.max_concurrency,
            },
            "metrics": {"enabled": True},
            "logging": {"access": {"enabled": self.service.access_log}},
            # OpenTelemetry matches these regexes against the full URL (scheme://host/path).
            "tracing": {
                "excluded_urls": [f"://[^/]*{re.escape(p)}$" for p in self.service.untraced_paths]
            },
        }


class _Section:
    """Typed reads from one mapping, with errors that name ``section.key`` and the file."""

    def __init__(self, data: Mapping[str, Any], name: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise SettingsError(f"{source}: section {name!r} must be a mapping, got {data!r}")
        self.data, self.name, self.source = data, name, source
        self.used: set[str] = set()

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise SettingsError(f"{self.source}: missing key {self.name}.{key}")
        self.used.add(key)
        return self.data[key]

    def _fail(self, key: str, expected: str) -> SettingsError:
        return SettingsError(
            f"{self.source}: {self.name}.{key} must be {expected}, got {self.data[key]!r}"
        )

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "a non-empty string")
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def positive_int(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self._fail(key, "a positive integer")
        return value

    def non_negative_int(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "an integer >= 0")
        return value

    def number(self, key: str, *, low: float, high: float, low_open: bool = False) -> float:
        value = self._get(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            ok = (value > low if low_open else value >= low) and value <= high
        if not ok:
            bracket = "(" if low_open else "["
            raise self._fail(key, f"a number in {bracket}{low}, {high}]")
        return float(value)

    def buckets(self, key: str) -> tuple[float, ...]:
        value = self._get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or any(b <= a for a, b in itertools.pairwise(value))
        ):
            raise self._fail(key, "a non-empty, strictly increasing list of numbers")
        return tuple(float(v) for v in value)

    def paths(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(
            isinstance(v, str) and v.startswith("/") for v in value
        ):
            raise self._fail(key, "a list of URL paths starting with '/'")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise SettingsError(
                f"{self.source}: unknown key(s) in {self.name}: {', '.join(unknown)}"
            )


def parse_settings(raw: Any, *, source: str = "<mapping>") -> ServingSettings:
    """Validate the parsed YAML document and build :class:`ServingSettings`."""
    top = _Section(raw, "<top level>", source)
    sections = {
        name: _Section(top._get(name), name, source)
        for name in ("service", "model", "batching", "limits", "auth", "metrics")
    }
    top.done()
    svc, mdl, bat = sections["service"], sections["model"], sections["batching"]
    lim, auth, met = sections["limits"], sections["auth"], sections["metrics"]
    settings = ServingSettings(
        service=ServiceSettings(
            name=svc.text("name"),
            workers=svc.positive_int("workers"),
            inference_threads=svc.non_negative_int("inference_threads"),
            timeout_s=svc.number("timeout_s", low=0, high=3600, low_open=True),
            max_concurrency=svc.positive_int("max_concurrency"),
            access_log=svc.flag("access_log"),
            untraced_paths=svc.paths("untraced_paths"),
        ),
        model=ModelSettings(
            alias=mdl.text("alias"),
            positive_threshold=mdl.number("positive_threshold", low=0, high=1),
        ),
        limits=LimitSettings(
            max_batch_size=bat.positive_int("max_batch_size"),
            max_text_chars=lim.positive_int("max_text_chars"),
            max_body_bytes=lim.positive_int("max_body_bytes"),
            body_read_timeout_s=lim.number("body_read_timeout_s", low=0, high=3600, low_open=True),
        ),
        auth=AuthSettings(token_env=auth.text("token_env"), open_paths=auth.paths("open_paths")),
        metrics=MetricSettings(
            batch_size_buckets=met.buckets("batch_size_buckets"),
            input_length_buckets=met.buckets("input_length_buckets"),
            duration_buckets=met.buckets("duration_buckets"),
        ),
        source=source,
    )
    for section in sections.values():
        section.done()
    if settings.limits.max_batch_size < 2:
        # BentoML and the batcher both need room for more than one text per call.
        raise SettingsError(f"{source}: batching.max_batch_size must be at least 2")
    if settings.limits.body_read_timeout_s >= settings.service.timeout_s:
        # Otherwise a slow body would meet BentoML's request timeout (a 504) before the 408.
        raise SettingsError(f"{source}: limits.body_read_timeout_s must be below service.timeout_s")
    return settings


def load_settings(path: Path | str | None = None) -> ServingSettings:
    """Read ``path``, else ``$SENTIMENT_SERVING_CONFIG``, else ``configs/serving.yaml``."""
    chosen = Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read serving config {chosen}: {exc.strerror or exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"{chosen} is not valid YAML: {exc}") from exc
    return parse_settings(raw, source=str(chosen))
