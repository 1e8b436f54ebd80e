"""Debian's real Prometheus scrapes a real `bentoml serve` and evaluates the repo's rules.

The service runs with the shipped configs/serving.yaml (2 workers, so /metrics aggregates
both workers through prometheus-client's multiprocess mode). Prometheus runs with a copy of
monitoring/prometheus/prometheus.yml in which the Kubernetes pod discovery - unavailable in
Debian's build and without a cluster - is replaced by a static target carrying the same
discovery labels (tests/monitoring/prometheus_support.py); the relabelling is the shipped
one. The test sends positive and negative reviews plus bad requests, counts what the client
saw, and reads the same numbers back through Prometheus's HTTP API.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from tests.monitoring.prometheus_support import (
    LOCAL_JOB,
    POD_JOB,
    PrometheusAPI,
    eventually,
    local_scrape_config,
    pod_discovery_labels,
    write_config,
)
from tests.monitoring.promql_support import PROMETHEUS_DIR, all_rules
from tests.service.bentos import MODEL_VERSION, BuiltBento, StartServer
from tests.support.binaries import require_binary
from tests.support.processes import free_port, http_ok, running
from tests.support.reviews import synthetic_reviews

pytestmark = pytest.mark.integration

NAMESPACE = "sentiment-test"
POD = "sentiment-classifier-7d9f-abcde"
SELECT = f'job="{POD_JOB}",namespace="{NAMESPACE}"'


@dataclass
class Traffic:
    """What the client sent and saw, to compare with what Prometheus recorded."""

    batches: list[list[str]] = field(default_factory=list)  # accepted requests' texts
    labels: Counter[str] = field(default_factory=Counter)  # predicted label -> texts
    status_codes: Counter[str] = field(default_factory=Counter)  # "200", "422"...
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> requests


@dataclass
class Scraped:
    api: PrometheusAPI
    traffic: Traffic
    service_port: int
    model_name: str


def own_bentoml_home(built_bento: BuiltBento, directory: Path) -> dict[str, str]:
    """A BENTOML_HOME that sees the built Bento but has its own prometheus_multiproc_dir.

    `bentoml serve` empties $BENTOML_HOME/prometheus_multiproc_dir at start-up; sharing the
    fixtures' home would wipe the metric files of the session's other server (and theirs
    ours), so the counts compared here would not be this server's alone.
    """
    directory.mkdir()
    for store in ("bentos", "models"):
        source = built_bento.bentoml_home / store
        if source.exists():
            (directory / store).symlink_to(source, target_is_directory=True)
    return {"BENTOML_HOME": str(directory)}


def send_traffic(url: str) -> Traffic:
    """Accepted batches of 1-7 positive/negative reviews, sent concurrently over fresh
    connections (both workers answer), and one request per kind of client error."""
    reviews = synthetic_reviews(12, seed=21, split="scrape")["text"].tolist()
    sizes = [1, 2, 3, 4, 5, 7]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [reviews[start : start + size] for start, size in zip(starts, sizes, strict=True)]
    batches += [[text] for text in reviews[::5]]
    traffic = Traffic()

    def post(texts: list[str]) -> httpx.Response:
        return httpx.post(f"{url}/predict", json={"texts": texts}, timeout=60)

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(post, batches))
    for texts, response in zip(batches, responses, strict=True):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model_version"] == MODEL_VERSION
        traffic.batches.append(texts)
        traffic.labels.update(p["label"] for p in body["predictions"])
        traffic.status_codes["200"] += 1

    bad_requests = [
        {"json": {"texts": []}},  # empty_batch
        {"json": {"text": "singular"}},  # invalid_schema
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        {"content": b"plain text", "headers": {"Content-Type": "text/plain"}},
        {"json": {"texts": ["   "]}},  # blank_text
    ]
    for kwargs in bad_requests:
        response = httpx.post(f"{url}/predict", timeout=30, **kwargs)  # type: ignore[arg-type]
        assert 400 <= response.status_code < 500, response.text
        traffic.status_codes[str(response.status_code)] += 1
        traffic.rejected[response.json()["reason"]] += 1
    assert set(traffic.labels) == {"positive", "negative"}, traffic.labels
    assert len(traffic.rejected) >= 4, traffic.rejected
    return traffic


@pytest.fixture(scope="module")
def scraped(
    start_bento_server: StartServer,
    built_bento: BuiltBento,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scraped]:
    prometheus = require_binary("prometheus", why="Debian package 'prometheus'")
    workdir = tmp_path_factory.mktemp("prometheus_scrape")
    env = own_bentoml_home(built_bento, workdir / "bentoml_home")
    with start_bento_server("prometheus_scrape", env=env) as (service_url, _):
        service_port = int(service_url.rsplit(":", 1)[1])
        config = local_scrape_config(
            target_port=service_port,
            pod_labels=pod_discovery_labels(
                port=service_port, namespace=NAMESPACE, pod=POD, model_version=MODEL_VERSION
            ),
        )
        config_path = write_config(workdir, config)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with running(
            [
                prometheus,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
            ],
            log_path=workdir / "prometheus.log",
            ready=lambda: http_ok(f"{url}/-/ready"),
            timeout=60,
            cwd=workdir,
            what="prometheus",
        ) as proc:
            api = PrometheusAPI(url)

            def both_targets_up() -> None:
                health = {t["labels"]["job"]: t["health"] for t in api.targets()}
                assert health == {POD_JOB: "up", LOCAL_JOB: "up"}, (health, proc.log())

            eventually(both_targets_up)
            traffic = send_traffic(service_url)
            yield Scraped(
                api=api,
                traffic=traffic,
                service_port=service_port,
                model_name=built_bento.model_tag.split(":")[0],
            )
        # Stopped by PID (process group) when the context exits; nothing left listening.
        assert not proc.alive()
        assert not http_ok(f"{url}/-/ready")


def test_relabelling_turns_pod_metadata_into_target_labels(scraped: Scraped) -> None:
    target = next(t for t in scraped.api.targets() if t["labels"]["job"] == POD_JOB)
    # The discovered address has another port: the annotation's port replaced it.
    assert target["scrapeUrl"] == f"http://127.0.0.1:{scraped.service_port}/metrics"
    assert target["labels"] == {
        "instance": f"127.0.0.1:{scraped.service_port}",
        "job": POD_JOB,
        "namespace": NAMESPACE,
        "pod": POD,
        "deployed_model_version": MODEL_VERSION,
    }
    assert target["lastError"] == ""


def test_predictions_by_label(scraped: Scraped) -> None:
    expected = {label: float(n) for label, n in scraped.traffic.labels.items()}

    def check() -> None:
        got = scraped.api.values(
            f"sum by (label) (sentiment_predictions_total{{{SELECT}}})", by="label"
        )
        assert got == expected

    eventually(check)


def test_batch_size_and_input_length_histograms(scraped: Scraped) -> None:
    batches = scraped.traffic.batches
    api = scraped.api

    def check() -> None:
        assert api.scalar(f"sum(sentiment_request_batch_size_count{{{SELECT}}})") == len(batches)
        assert api.scalar(f"sum(sentiment_request_batch_size_sum{{{SELECT}}})") == sum(
            map(len, batches)
        )
        singles = sum(1 for b in batches if len(b) == 1)
        assert (
            api.scalar(f'sum(sentiment_request_batch_size_bucket{{{SELECT},le="1.0"}})') == singles
        )
        texts = [text for batch in batches for text in batch]
        assert api.scalar(f"sum(sentiment_input_length_characters_count{{{SELECT}}})") == len(texts)
        assert api.scalar(f"sum(sentiment_input_length_characters_sum{{{SELECT}}})") == sum(
            map(len, texts)
        )

    eventually(check)
    # The quantile the dashboard draws is computable from the buckets.
    p50 = api.number(
        "histogram_quantile(0.5, sum by (le) "
        f"(sentiment_input_length_characters_bucket{{{SELECT}}}))"
    )
    assert 50 <= p50 <= 250, p50


def test_prediction_latency(scraped: Scraped) -> None:
    api = scraped.api
    n_requests = len(scraped.traffic.batches)

    def check() -> None:
        calls = api.number(f"sum(sentiment_prediction_duration_seconds_count{{{SELECT}}})")
        # Concurrent requests may share one model call (adaptive batching).
        assert 1 <= calls <= n_requests, calls
        seconds = api.number(f"sum(sentiment_prediction_duration_seconds_sum{{{SELECT}}})")
        assert 0 < seconds < 60, seconds

    eventually(check)
    p99 = api.number(
        "histogram_quantile(0.99, sum by (le) "
        f"(sentiment_prediction_duration_seconds_bucket{{{SELECT}}}))"
    )
    assert math.isfinite(p99), p99
    assert p99 > 0, p99


def test_model_info_names_the_served_version(scraped: Scraped) -> None:
    result = scraped.api.query(f"sentiment_model_info{{{SELECT}}}")
    assert len(result) == 1, result  # one series per replica, not one per worker
    assert result[0]["metric"]["model_version"] == MODEL_VERSION
    assert result[0]["metric"]["model_name"] == scraped.model_name
    assert float(result[0]["value"][1]) == 1.0


def test_bentoml_request_counter_and_rejections(scraped: Scraped) -> None:
    traffic = scraped.traffic
    api = scraped.api

    def check() -> None:
        # `> 0`: the service pre-creates a zero 500 series so error-rate rules have data.
        codes = api.values(
            "sum by (http_response_code) "
            f'(bentoml_service_request_total{{{SELECT},endpoint="/predict"}}) > 0',
            by="http_response_code",
        )
        assert codes == {code: float(n) for code, n in traffic.status_codes.items()}
        rejected = api.values(f"sentiment_rejected_requests_total{{{SELECT}}} > 0", by="reason")
        assert rejected == {reason: float(n) for reason, n in traffic.rejected.items()}

    eventually(check)


def test_recording_rules_see_the_traffic(scraped: Scraped) -> None:
    def check() -> None:
        rates = scraped.api.values(
            f'namespace_label:sentiment_predictions:rate5m{{namespace="{NAMESPACE}"}}', by="label"
        )
        assert set(rates) == {"positive", "negative"}, rates
        assert all(rate > 0 for rate in rates.values()), rates
        requests = scraped.api.number(
            f'namespace:sentiment_requests:rate5m{{namespace="{NAMESPACE}"}}'
        )
        assert requests > 0

    eventually(check)


def test_every_rule_loaded_and_evaluates_without_error(scraped: Scraped) -> None:
    shipped = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    names = sorted(r.get("alert") or r["record"] for r in all_rules(shipped))

    def check() -> list[dict]:  # type: ignore[type-arg]
        rules = scraped.api.rules()
        assert all(rule["health"] != "unknown" for rule in rules), "not evaluated yet"
        return rules

    rules = eventually(check)
    assert sorted(rule["name"] for rule in rules) == names
    failing = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
    assert not failing


def test_the_service_is_not_reported_down(scraped: Scraped) -> None:
    """SentimentServiceDown watches the pod job; with the target up it must be inactive."""
    rules = {rule["name"]: rule for rule in scraped.api.rules()}
    assert rules["SentimentServiceDown"]["state"] == "inactive"
    assert scraped.api.scalar(f'up{{job="{POD_JOB}"}}') == 1.0
