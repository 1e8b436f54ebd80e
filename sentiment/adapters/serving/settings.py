"""The service's runtime settings, parsed from ``configs/serving.yaml``.

Why a model instead of reading the YAML in ``service.py``: the service reads these values at
import time in every worker, so a typo must fail there with the key and the problem named,
not as a ``KeyError`` deep inside BentoML's start-up. Unknown keys are errors too, so a
misspelt option never silently falls back to a default. Every value is required (except the
body read timeout): the file is the one place the service is tuned, so it states them all.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from sentiment.core.config import ConfigError, Section, parse_section

CONFIG_ENV_VAR = "SENTIMENT_SERVING_CONFIG"
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[3] / "configs" / "serving.yaml"


class SettingsError(ConfigError):
    """The serving configuration is missing, malformed or out of range."""


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _increasing(values: tuple[float, ...]) -> tuple[float, ...]:
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError("must be a strictly increasing list of numbers")
    return values


Text = Annotated[StrictStr, AfterValidator(_non_blank)]
UrlPath = Annotated[StrictStr, Field(pattern=r"^/")]
Buckets = Annotated[tuple[float, ...], Field(min_length=1), AfterValidator(_increasing)]


class ServiceSettings(Section):
    name: Text
    workers: StrictInt = Field(ge=1)
    inference_threads: StrictInt = Field(ge=0)
    # Batches of at most this many characters are scored on the event-loop thread even when
    # inference_threads > 0: a hand-off to the thread and back costs more than they do.
    inline_max_chars: StrictInt = Field(ge=0)
    timeout_s: float = Field(gt=0, le=3600)
    max_concurrency: StrictInt = Field(ge=1)
    access_log: StrictBool
    # Mean /predict requests per keep-alive connection before the answer asks the client to
    # reconnect (Connection: close), so connections re-spread over the workers; 0: never.
    requests_per_connection: StrictInt = Field(ge=0)
    untraced_paths: tuple[UrlPath, ...]


class ModelSettings(Section):
    alias: Text
    positive_threshold: float = Field(ge=0, le=1)


class BatchingSettings(Section):
    # BentoML and the batcher both need room for more than one text per call.
    max_batch_size: StrictInt = Field(ge=2)


class LimitSettings(Section):
    """What one request may carry; ``max_batch_size`` is ``batching.max_batch_size`` (one
    limit, stated once in the file, checked wherever a request is)."""

    max_batch_size: StrictInt = Field(ge=1)
    max_text_chars: StrictInt = Field(ge=1)
    max_body_bytes: StrictInt = Field(ge=1)
    # Seconds a client gets to deliver the whole body (slow-loris guard, 408 after it).
    body_read_timeout_s: float = Field(10.0, gt=0, le=3600)


class AuthSettings(Section):
    token_env: Text
    open_paths: tuple[UrlPath, ...]


class MetricSettings(Section):
    batch_size_buckets: Buckets
    input_length_buckets: Buckets
    duration_buckets: Buckets


class ServingSettings(Section):
    service: ServiceSettings
    model: ModelSettings
    batching: BatchingSettings
    limits: LimitSettings
    auth: AuthSettings
    metrics: MetricSettings
    _source: str = PrivateAttr("<mapping>")

    @model_validator(mode="before")
    @classmethod
    def _batch_limit_from_batching(cls, raw: Any) -> Any:
        """Copy ``batching.max_batch_size`` into ``limits`` (``limits`` may not set it)."""
        if not isinstance(raw, dict):
            return raw
        limits, batching = raw.get("limits"), raw.get("batching")
        if isinstance(limits, dict) and "max_batch_size" in limits:
            raise ValueError("limits.max_batch_size is not a setting: use batching.max_batch_size")
        if isinstance(limits, dict) and isinstance(batching, dict) and "max_batch_size" in batching:
            return {**raw, "limits": {**limits, "max_batch_size": batching["max_batch_size"]}}
        return raw

    @model_validator(mode="after")
    def _body_before_request_timeout(self) -> ServingSettings:
        if self.limits.body_read_timeout_s >= self.service.timeout_s:
            # Otherwise a slow body would meet BentoML's request timeout (a 504) before the 408.
            raise ValueError("limits.body_read_timeout_s must be below service.timeout_s")
        return self

    @property
    def source(self) -> str:
        """The file the settings were read from (for messages)."""
        return self._source

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


def parse_settings(raw: Any, *, source: str = "<mapping>") -> ServingSettings:
    """Validate the parsed YAML document into :class:`ServingSettings`."""
    settings = parse_section(ServingSettings, raw, source=source, error=SettingsError)
    settings._source = source
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
