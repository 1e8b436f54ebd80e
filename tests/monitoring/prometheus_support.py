"""A real Prometheus for tests: a runnable copy of the shipped config, and its HTTP API.

Debian's Prometheus 2.42 is built without Kubernetes service discovery (see
monitoring/README.md); real discovery on the local cluster is tested with a Prometheus
built from source (tests/support/prometheus_k8s.py, tests/deploy/test_cluster_release.py).
Here, :func:`local_scrape_config` keeps the shipped ``sentiment-classifier`` job - its
relabelling untouched - and swaps its ``kubernetes_sd_configs`` for one static target that
carries the ``__meta_kubernetes_*`` labels the pod discovery would attach to a pod of
deploy/k8s/base/deployment.yaml. The relabelling then runs for real: it keeps the target on
the annotations, rewrites the address to the annotated port, and adds the
namespace/pod/deployed_model_version labels the rules group by.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.monitoring.promql_support import PROMETHEUS_DIR, REPO

POD_JOB = "sentiment-classifier"
LOCAL_JOB = "sentiment-classifier-local"
DEPLOYMENT = REPO / "deploy" / "k8s" / "base" / "deployment.yaml"


def _meta(kind: str, key: str) -> str:
    """The discovery label for a pod label/annotation (Prometheus sanitises the key)."""
    return f"__meta_kubernetes_pod_{kind}_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def pod_discovery_labels(
    *, port: int, namespace: str, pod: str, model_version: str
) -> dict[str, str]:
    """What ``kubernetes_sd_configs: [{role: pod}]`` reports for a running service pod.

    Labels and annotations come from the Deployment's pod template, so a change there that
    the scrape config does not follow makes the target disappear in the test. The annotated
    port is replaced by the test server's; the discovered address (pod IP, container port)
    deliberately has another port, which the relabelling must rewrite.
    """
    template = yaml.safe_load(DEPLOYMENT.read_text())["spec"]["template"]
    labels: dict[str, str] = {
        "__address__": "127.0.0.1:9",
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": pod,
        "__meta_kubernetes_pod_phase": "Running",
    }
    for key, value in template["metadata"]["labels"].items():
        labels[_meta("label", key)] = str(value)
    for key, value in template["metadata"]["annotations"].items():
        labels[_meta("annotation", key)] = str(value)
    labels[_meta("annotation", "prometheus.io/port")] = str(port)
    labels[_meta("label", "sentiment/model-version")] = model_version
    return labels


def local_scrape_config(
    *, target_port: int, pod_labels: dict[str, str], interval: str = "1s"
) -> dict[str, Any]:
    """The shipped prometheus.yml made runnable here (see the module docstring).

    - ``sentiment-classifier``: static target with ``pod_labels`` instead of pod discovery;
      relabel_configs exactly as shipped.
    - ``sentiment-classifier-local``: the shipped static job, pointed at the test server.
    - ``kube-state-metrics``: dropped (no cluster, nothing to scrape).
    - rule_files: the repo's alerts.yml by absolute path; intervals shortened.
    """
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(
        scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval
    )
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    pod_job = jobs[POD_JOB]
    assert [sd["role"] for sd in pod_job.pop("kubernetes_sd_configs")] == ["pod"]
    address = pod_labels["__address__"]
    pod_job["static_configs"] = [
        {
            "targets": [address],
            "labels": {k: v for k, v in pod_labels.items() if k != "__address__"},
        }
    ]
    local_job = jobs[LOCAL_JOB]
    for static in local_job["static_configs"]:
        static["targets"] = [f"127.0.0.1:{target_port}"]
    config["scrape_configs"] = [pod_job, local_job]
    return config


def write_config(directory: Path, config: dict[str, Any]) -> Path:
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class PrometheusAPI:
    """The few /api/v1 calls the tests make; every call checks ``status == success``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _get(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        body = response.json()
        assert response.status_code == 200, body
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant-vector result: [{"metric": {...}, "value": [ts, "1.5"]}, ...]."""
        data = self._get("/api/v1/query", query=promql)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    def values(self, promql: str, by: str) -> dict[str, float]:
        """``{series[by]: value}`` for an instant query (a missing label counts as "")."""
        return {r["metric"].get(by, ""): float(r["value"][1]) for r in self.query(promql)}

    def scalar(self, promql: str) -> float | None:
        """The value of a one-series result, None when the result is empty."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def number(self, promql: str) -> float:
        """The value of a query that must return exactly one series."""
        value = self.scalar(promql)
        assert value is not None, f"no series for {promql}"
        return value

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets")["activeTargets"])

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self._get("/api/v1/rules")["groups"] for rule in group["rules"]]


def eventually(check: Callable[[], Any], *, timeout: float = 45.0, interval: float = 0.5) -> Any:
    """Retry ``check`` (an assertion-raising callable) until it passes; re-raise the last
    failure. Prometheus sees new samples only at its next scrape/evaluation."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)
