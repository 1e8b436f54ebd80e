"""/metrics with 2 workers: the service's metrics exist, move with traffic, and add up across
workers (prometheus-client multiprocess mode), whichever worker answers the scrape."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.service.bentos import MODEL_VERSION, BuiltBento

pytestmark = pytest.mark.integration

CATALOG = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "monitoring" / "metrics.yaml").read_text()
)


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_catalogued_service_metric_is_exposed_with_its_labels(served_bento: str) -> None:
    text = httpx.get(f"{served_bento}/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, spec in CATALOG["sources"]["service"].items():
        base = name.removesuffix("_total") if spec["type"] == "counter" else name
        assert base in families, f"{name} missing from /metrics"
        assert families[base].type == spec["type"], name
        for sample in families[base].samples:
            assert set(sample.labels) - {"le"} == set(spec["labels"]), sample


def test_model_info_names_the_served_model(served_bento: str, built_bento: BuiltBento) -> None:
    samples = scrape(served_bento)
    name = built_bento.model_tag.split(":")[0]
    assert (
        value(samples, "sentiment_model_info", model_name=name, model_version=MODEL_VERSION) == 1.0
    )
    assert sum(1 for (n, _) in samples if n == "sentiment_model_info") == 1  # not one per pid


def test_metrics_move_with_traffic_and_add_up_across_both_workers(
    served_bento: str, built_bento: BuiltBento
) -> None:
    before = scrape(served_bento)
    texts = ["a wonderful film, i loved every minute", "awful acting, a waste of time"]
    n_requests = 40

    def predict(i: int) -> int:
        r = httpx.post(f"{served_bento}/predict", json={"texts": texts}, timeout=30)
        return r.status_code

    # Fresh connections from 8 threads: the kernel spreads them over both workers.
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(predict, range(n_requests))) == {200}
    bad = httpx.post(f"{served_bento}/predict", json={"texts": []}, timeout=10)
    assert bad.status_code == 422

    multiproc = built_bento.bentoml_home / "prometheus_multiproc_dir"
    pids = {p.stem.rsplit("_", 1)[-1] for p in multiproc.glob("counter_*.db")}
    assert len(pids) >= 2, f"expected counter files from both workers, got {sorted(pids)}"

    for _ in range(4):  # any worker may answer the scrape: each must report the same totals
        after = scrape(served_bento)

        def delta(name: str, after=after, **labels: str) -> float:  # type: ignore[no-untyped-def]
            return value(after, name, **labels) - value(before, name, **labels)

        assert delta("sentiment_predictions_total", label="positive") == n_requests
        assert delta("sentiment_predictions_total", label="negative") == n_requests
        assert delta("sentiment_request_batch_size_count") == n_requests
        assert delta("sentiment_request_batch_size_sum") == 2 * n_requests
        assert delta("sentiment_input_length_characters_count") == 2 * n_requests
        assert delta("sentiment_input_length_characters_sum") == n_requests * sum(map(len, texts))
        assert 1 <= delta("sentiment_prediction_duration_seconds_count") <= n_requests
        assert delta("sentiment_rejected_requests_total", reason="empty_batch") == 1
    # BentoML's own traffic metrics see the gateway's refusals with their status code.
    codes = {
        dict(labels).get("http_response_code")
        for (name, labels) in after
        if name == "bentoml_service_request_total" and dict(labels).get("endpoint") == "/predict"
    }
    assert {"200", "422"} <= codes


def test_concurrent_requests_are_scored_together_across_both_workers(
    served_bento: str, built_bento: BuiltBento
) -> None:
    """Cross-request batching in the served Bento: fewer model calls than requests.

    ``sentiment_prediction_duration_seconds`` observes once per model call and
    ``sentiment_request_batch_size`` once per request, so with one text per request their
    counts are calls and requests. Long texts make each call last long enough for the 32
    concurrent clients to queue behind it.
    """
    n_requests = 192
    text = "a wonderful film, i loved every minute but the ending dragged. " * 300
    before = scrape(served_bento)

    def predict(i: int) -> int:
        r = httpx.post(f"{served_bento}/predict", json={"texts": [f"{i} {text}"]}, timeout=60)
        return r.status_code

    with ThreadPoolExecutor(32) as pool:
        assert set(pool.map(predict, range(n_requests))) == {200}
    after = scrape(served_bento)

    def delta(name: str) -> float:
        return value(after, name) - value(before, name)

    assert delta("sentiment_request_batch_size_count") == n_requests
    assert delta("sentiment_input_length_characters_count") == n_requests
    calls = delta("sentiment_prediction_duration_seconds_count")
    assert 1 <= calls < n_requests, f"{calls} model calls for {n_requests} requests: no batching"
