"""The Grafana dashboard: valid JSON, the panels an on-call needs, and PromQL that parses.

Every panel query goes through promtool: Grafana's variables are replaced by values Prometheus
accepts ($__rate_interval -> 5m, $namespace -> .*), each query becomes a recording rule in a
temporary rules file, and `promtool check rules` parses them all with the real PromQL parser.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.monitoring.promql_support import MONITORING

DASHBOARD = MONITORING / "grafana" / "sentiment-dashboard.json"
GRAFANA_INTERVALS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
# Panel title keyword -> a metric its queries must use.
REQUIRED_PANELS = {
    "request rate": "bentoml_service_request_total",
    "error ratio": "bentoml_service_request_total",
    "latency p50 / p99": "bentoml_service_request_duration_seconds_bucket",
    "predictions by label": "sentiment_predictions_total",
    "model version": "sentiment_model_info",
    "batch size": "sentiment_request_batch_size_bucket",
    "input length": "sentiment_input_length_characters_bucket",
    "pods up": "up",
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    flat = []
    for panel in dashboard["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))  # panels inside collapsed rows
    return flat


def targets(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(p["title"], t) for p in panels(dashboard) for t in p.get("targets", [])]


def substitute_variables(expr: str, variables: set[str]) -> str:
    """Replace Grafana's $var / ${var} / [[var]] with values Prometheus can parse."""

    def value(name: str) -> str:
        if name in GRAFANA_INTERVALS:
            return GRAFANA_INTERVALS[name]
        assert name in variables, f"undefined dashboard variable ${name} in {expr!r}"
        return ".*"

    expr = re.sub(r"\$\{(\w+)(?::\w+)?\}", lambda m: value(m.group(1)), expr)
    expr = re.sub(r"\[\[(\w+)\]\]", lambda m: value(m.group(1)), expr)
    return re.sub(r"\$(\w+)", lambda m: value(m.group(1)), expr)


def test_dashboard_metadata(dashboard):
    assert dashboard["uid"] == "sentiment-classifier"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_datasource_is_a_variable(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"]) == panel["datasource"]
    assert variables["namespace"]["datasource"]["uid"] == "${datasource}"


def test_required_panels_are_present(dashboard):
    by_title = {p["title"].lower(): p for p in panels(dashboard)}
    for keyword, metric in REQUIRED_PANELS.items():
        matching = [p for title, p in by_title.items() if keyword in title]
        assert matching, f"no panel titled like {keyword!r}"
        exprs = " ".join(t["expr"] for p in matching for t in p["targets"])
        assert re.search(rf"\b{re.escape(metric)}\b", exprs), f"{keyword!r} does not use {metric}"
    latency = next(p for t, p in by_title.items() if "latency p50 / p99" in t)
    quantiles = {
        re.search(r"histogram_quantile\(([\d.]+)", t["expr"]).group(1) for t in latency["targets"]
    }
    assert quantiles == {"0.5", "0.99"}


def test_panels_do_not_overlap(dashboard):
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_query_parses_with_promtool(dashboard, promtool, tmp_path):
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    rules = []
    for index, (title, target) in enumerate(targets(dashboard)):
        assert target.get("expr"), f"panel {title!r} has a target without expr"
        rules.append(
            {
                "record": f"dashboard:panel_{index}:check",
                "expr": substitute_variables(target["expr"], variables),
            }
        )
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["definition"])
            assert match, variable["definition"]
            rules.append(
                {"record": f"dashboard:variable_{variable['name']}:check", "expr": match.group(1)}
            )
    rules_file = tmp_path / "dashboard_rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


def test_every_query_uses_known_metrics_and_labels(dashboard, check_promql):
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for title, target in targets(dashboard):
        problems = check_promql(substitute_variables(target["expr"], variables))
        assert not problems, (title, problems)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            metric, label = re.fullmatch(
                r"label_values\((.+),\s*(\w+)\)", variable["definition"]
            ).groups()
            assert not check_promql(f'{metric}{{{label}=~".*"}}'), variable["name"]


def test_every_panel_filters_on_the_namespace_variable(dashboard):
    """Selecting a namespace must narrow every panel, or staging and prod would be summed."""
    for title, target in targets(dashboard):
        assert 'namespace=~"$namespace"' in target["expr"], title


def test_variable_substitution():
    assert (
        substitute_variables(
            'rate(x{namespace=~"$namespace"}[$__rate_interval]) + y{a=~"${namespace}"}',
            {"namespace"},
        )
        == 'rate(x{namespace=~".*"}[5m]) + y{a=~".*"}'
    )
    with pytest.raises(AssertionError, match="undefined dashboard variable"):
        substitute_variables('x{a=~"$cluster"}', {"namespace"})
