"""Prometheus config and rules: promtool checks and unit tests, plus consistency with the service.

`promtool test rules` runs monitoring/prometheus/tests/alerts_test.yml, which feeds synthetic
series through the real rule engine and asserts each alert fires (labels and rendered
annotations) and does not fire where it must not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.monitoring.promql_support import MONITORING, PROMETHEUS_DIR, REPO, all_rules

SEVERITIES = {"critical", "warning", "info"}
KUBERNETES_SD_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def test_promtool_check_rules(promtool):
    proc = run([promtool, "check", "rules", str(PROMETHEUS_DIR / "alerts.yml")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_pass(promtool):
    proc = run([promtool, "test", "rules", "tests/alerts_test.yml"], cwd=PROMETHEUS_DIR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests_can_fail(promtool, tmp_path):
    """The unit tests are not vacuous: a wrong expectation is reported as a failure."""
    shutil.copy(PROMETHEUS_DIR / "alerts.yml", tmp_path / "alerts.yml")
    tests = yaml.safe_load((PROMETHEUS_DIR / "tests" / "alerts_test.yml").read_text())
    tests["rule_files"] = ["alerts.yml"]
    expectation = tests["tests"][1]["alert_rule_test"][0]  # the 5xx alert firing
    expectation["exp_alerts"] = []
    (tmp_path / "t.yml").write_text(yaml.safe_dump(tests))
    proc = run([promtool, "test", "rules", "t.yml"], cwd=tmp_path)
    assert proc.returncode != 0
    assert "SentimentHighErrorRate" in proc.stdout + proc.stderr


def _promtool_has_kubernetes_sd(promtool: str, tmp_path: Path) -> bool:
    probe = tmp_path / "probe.yml"
    probe.write_text(
        "scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n"
    )
    proc = run([promtool, "check", "config", str(probe)])
    if proc.returncode == 0:
        return True
    assert "kubernetes_sd_configs not found" in proc.stdout + proc.stderr, proc.stdout
    return False


def test_promtool_check_config(promtool, tmp_path):
    """`promtool check config` on prometheus.yml (and the rule file it loads).

    Debian's Prometheus 2.42 is built without Kubernetes service discovery, so its promtool
    rejects `kubernetes_sd_configs`. With such a promtool the real file must fail for that
    reason only; the kubernetes_sd blocks are then checked here and a copy with them replaced
    by static targets (relabelling kept) goes through promtool. An upstream promtool checks
    the file as it is.
    """
    config_path = PROMETHEUS_DIR / "prometheus.yml"
    if _promtool_has_kubernetes_sd(promtool, tmp_path):
        proc = run([promtool, "check", "config", str(config_path)])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return

    proc = run([promtool, "check", "config", str(config_path)])
    output = proc.stdout + proc.stderr
    errors = [line.strip() for line in output.splitlines() if re.match(r"\s+line \d+:", line)]
    assert errors, output
    assert all("field kubernetes_sd_configs not found" in e for e in errors), output

    config = yaml.safe_load(config_path.read_text())
    for job in config["scrape_configs"]:
        for sd in job.pop("kubernetes_sd_configs", []):
            assert sd["role"] in KUBERNETES_SD_ROLES, job["job_name"]
            assert set(sd) <= {
                "role",
                "namespaces",
                "selectors",
                "attach_metadata",
                "api_server",
                "kubeconfig_file",
            }, job["job_name"]
            job.setdefault("static_configs", []).append({"targets": ["127.0.0.1:1"]})
    shutil.copy(PROMETHEUS_DIR / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    proc = run([promtool, "check", "config", str(tmp_path / "prometheus.yml")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 1 rule files found" in proc.stdout + proc.stderr


def test_scrape_config_follows_the_deployment_annotations():
    """The pod job keeps exactly the pods the Deployment marks, on the port it declares."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    deployment = yaml.safe_load((REPO / "deploy/k8s/base/deployment.yaml").read_text())
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "sentiment-classifier")
    relabel = {tuple(r["source_labels"]): r for r in job["relabel_configs"] if "source_labels" in r}

    def meta(kind: str, key: str) -> str:
        return f"__meta_kubernetes_pod_{kind}_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)

    keep_scrape = relabel[(meta("annotation", "prometheus.io/scrape"),)]
    assert keep_scrape["action"] == "keep"
    assert re.fullmatch(keep_scrape["regex"], annotations["prometheus.io/scrape"])
    keep_app = relabel[(meta("label", "app.kubernetes.io/name"),)]
    assert re.fullmatch(keep_app["regex"], template["metadata"]["labels"]["app.kubernetes.io/name"])
    port_rule = relabel[("__address__", meta("annotation", "prometheus.io/port"))]
    match = re.fullmatch(port_rule["regex"], "10.1.2.3:8080;" + annotations["prometheus.io/port"])
    assert match
    assert match.expand(port_rule["replacement"].replace("$", "\\")) == "10.1.2.3:3000"
    assert (
        relabel[(meta("annotation", "prometheus.io/path"),)]["target_label"] == "__metrics_path__"
    )
    # The labels alerts.yml groups by come from relabelling.
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"namespace", "pod"} <= targets


def test_every_alert_is_labelled_and_documented(rules):
    runbook = (MONITORING / "RUNBOOK.md").read_text()
    anchors = {h.strip().lower() for h in re.findall(r"^## (\S+)\s*$", runbook, re.MULTILINE)}
    alerts = [r for r in all_rules(rules) if "alert" in r]
    assert len(alerts) >= 7
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, name
        annotations = alert["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        assert annotations["runbook_url"] == f"monitoring/RUNBOOK.md#{name.lower()}", name
        assert name.lower() in anchors, f"RUNBOOK.md has no section for {name}"


def _expectations(tests_doc: dict[str, Any]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for group in tests_doc["tests"]:
        for case in group.get("alert_rule_test", []):
            entry = counts.setdefault(case["alertname"], {"fires": 0, "silent": 0})
            entry["fires" if case.get("exp_alerts") else "silent"] += 1
    return counts


def test_every_alert_has_firing_and_silent_unit_tests(rules):
    tests_doc = yaml.safe_load((PROMETHEUS_DIR / "tests" / "alerts_test.yml").read_text())
    counts = _expectations(tests_doc)
    for alert in (r["alert"] for r in all_rules(rules) if "alert" in r):
        assert counts.get(alert, {}).get("fires"), f"no unit test where {alert} fires"
        assert counts.get(alert, {}).get("silent"), f"no unit test where {alert} stays silent"


def _recorded_labels(name: str) -> set[str]:
    """Labels of a recording rule's output, from its level (namespace_label:... -> both)."""
    return set(name.split(":")[0].split("_"))


def test_rules_reference_only_known_metrics_and_labels(rules, check_promql):
    recorded = {
        r["record"]: _recorded_labels(r["record"]) for r in all_rules(rules) if "record" in r
    }
    for rule in all_rules(rules):
        problems = check_promql(rule["expr"], recorded)
        assert not problems, (rule.get("alert") or rule.get("record"), problems)


def test_metric_checker_catches_a_misspelt_label(check_promql):
    assert check_promql('rate(bentoml_service_request_total{status_code="500"}[5m])') == [
        "bentoml_service_request_total has no label 'status_code'"
    ]
    assert check_promql("sentiment_prediction_total") == [
        "unknown metric 'sentiment_prediction_total'"
    ]
