"""configs/serving.yaml parsing: the shipped file is valid, and every mistake names its key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sentiment.adapters.serving.settings import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    SettingsError,
    load_settings,
    parse_settings,
)

SHIPPED: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


def with_change(section: str, key: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(SHIPPED)
    raw[section][key] = value
    return raw


def test_shipped_config_parses_into_the_values_the_k8s_manifests_expect() -> None:
    settings = load_settings(DEFAULT_CONFIG_PATH)
    assert settings.service.name == "sentiment-classifier"
    assert settings.service.workers == 2
    assert settings.auth.token_env == "SENTIMENT_API_TOKEN"  # deploy/k8s/base/deployment.yaml
    assert {"/livez", "/readyz", "/metrics"} <= set(settings.auth.open_paths)
    assert settings.limits.max_batch_size >= 2
    assert settings.metrics.batch_size_buckets[-1] >= settings.limits.max_batch_size


def test_bentoml_config_carries_workers_traffic_and_metrics() -> None:
    config = load_settings(DEFAULT_CONFIG_PATH).bentoml_config()
    assert config["workers"] == 2
    assert config["traffic"] == {"timeout": 30.0, "max_concurrency": 256}
    assert config["metrics"] == {"enabled": True}
    assert config["logging"] == {"access": {"enabled": False}}
    from opentelemetry.util.http import ExcludeList

    untraced = ExcludeList(config["tracing"]["excluded_urls"])
    assert untraced.url_disabled("http://127.0.0.1:3000/predict")
    assert untraced.url_disabled("http://sentiment.example/metrics")
    assert not untraced.url_disabled("http://127.0.0.1:3000/predict/other")
    assert not untraced.url_disabled("http://127.0.0.1:3000/docs.json")


def test_env_var_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "serving.yaml"
    other.write_text(yaml.safe_dump(with_change("service", "workers", 5)))
    monkeypatch.setenv(CONFIG_ENV_VAR, str(other))
    settings = load_settings()
    assert settings.service.workers == 5
    assert settings.source == str(other)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_change("service", "workers", 0), "service.workers: Input should be greater than"),
        (with_change("service", "workers", "2"), "service.workers: Input should be a valid int"),
        (with_change("service", "workers", True), "service.workers: Input should be a valid int"),
        (with_change("service", "access_log", "no"), "service.access_log: Input should be a"),
        (with_change("service", "timeout_s", 0), "service.timeout_s: Input should be greater"),
        (
            with_change("service", "requests_per_connection", -1),
            "service.requests_per_connection: Input should be greater than or equal to 0",
        ),
        (with_change("model", "positive_threshold", 1.5), "model.positive_threshold"),
        (with_change("model", "alias", " "), "model.alias: Value error, must be a non-empty"),
        (
            with_change("batching", "max_batch_size", 1),
            "batching.max_batch_size: Input should be greater than or equal to 2",
        ),
        (with_change("auth", "open_paths", ["livez"]), "auth.open_paths.0: String should match"),
        (
            with_change("metrics", "duration_buckets", [0.1, 0.1]),
            "metrics.duration_buckets: Value error, must be a strictly increasing list",
        ),
        (with_change("metrics", "duration_buckets", []), "metrics.duration_buckets: Tuple should"),
        (with_change("limits", "max_text_char", 5), "unknown key 'limits.max_text_char'"),
        (with_change("limits", "max_batch_size", 5), "use batching.max_batch_size"),
        (with_change("limits", "body_read_timeout_s", 0), "limits.body_read_timeout_s: Input"),
        (
            with_change("limits", "body_read_timeout_s", 30),
            "limits.body_read_timeout_s must be below service.timeout_s",
        ),
        ({k: v for k, v in SHIPPED.items() if k != "auth"}, "missing key 'auth'"),
        ({**SHIPPED, "extra": {}}, "unknown key 'extra'"),
        ({**SHIPPED, "limits": [1]}, "limits: Input should be a valid dictionary"),
        ([], "Input should be a valid dictionary"),
    ],
)
def test_mistakes_name_the_key(raw: Any, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(raw, source="serving.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("serving.yaml")


def test_missing_key_inside_a_section() -> None:
    raw = copy.deepcopy(SHIPPED)
    del raw["limits"]["max_text_chars"]
    with pytest.raises(SettingsError, match=r"missing key 'limits\.max_text_chars'"):
        parse_settings(raw)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read serving config"):
        load_settings(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: [unclosed\n")
    with pytest.raises(SettingsError, match="is not valid YAML"):
        load_settings(bad)
