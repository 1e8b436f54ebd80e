"""Prometheus with Kubernetes service discovery, built from the Go module proxy (test tooling).

Why: Debian's Prometheus 2.42 is built without Kubernetes discovery, so the shipped scrape
job (``kubernetes_sd_configs: [{role: pod}]``) cannot run with it. The module in
``tests/support/prometheus/`` pins a current Prometheus (go.sum: every byte); it is built once
per machine, with the local cluster's builder, into the same cache. Outside the cluster,
discovery reads the cluster through its kubeconfig: the one setting added to the shipped
job, whose relabelling stays as shipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml

from local_cluster.build import go_build
from local_cluster.settings import cache_root
from tests.monitoring.prometheus_support import POD_JOB
from tests.monitoring.promql_support import PROMETHEUS_DIR

MODULE_DIR = Path(__file__).parent / "prometheus"
PACKAGE = "github.com/prometheus/prometheus/cmd/prometheus"


def prometheus_binary() -> Path:
    """The built ``prometheus``, building it first if this machine has none (minutes)."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((MODULE_DIR / name).read_bytes())
    binary = cache_root().parent / "prometheus" / digest.hexdigest()[:12] / "prometheus"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with (binary.parent / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.is_file():
            partial = binary.parent / "partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            go_build(MODULE_DIR, [PACKAGE], partial, "-s -w")
            (partial / "prometheus").rename(binary)
            shutil.rmtree(partial, ignore_errors=True)
    return binary


def cluster_scrape_config(kubeconfig: Path, *, interval: str = "1s") -> dict[str, Any]:
    """The shipped prometheus.yml for a Prometheus outside the cluster: the pod job with the
    cluster's kubeconfig added to its discovery (relabelling untouched), the rules by path,
    short intervals; the jobs with nothing to find here (kube-state-metrics, the local
    `bentoml serve` example) dropped."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(
        scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval
    )
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    job = next(job for job in config["scrape_configs"] if job["job_name"] == POD_JOB)
    for discovery in job["kubernetes_sd_configs"]:
        discovery["kubeconfig_file"] = str(kubeconfig)
    config["scrape_configs"] = [job]
    return config
