"""Fixtures for the monitoring tests: promtool, the rules, and a PromQL checker.

promtool (Debian package `prometheus`) is the authority on PromQL syntax and rule files; the
promql-parser package gives the AST that lets a test list the metrics and label matchers a
query uses, so names can be checked against the catalogue in monitoring/metrics.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.monitoring.promql_support import PROMETHEUS_DIR, load_catalog, selectors
from tests.support.binaries import require_binary


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_binary("promtool", why="Debian package 'prometheus'")


@pytest.fixture(scope="session")
def check_promql() -> Callable[..., list[str]]:
    """Problems with the metric names and label matchers in an expression ([] when fine).

    ``recorded`` maps recording-rule names (usable like metrics) to their label names.
    """
    metrics = load_catalog()

    def check(expr: str, recorded: dict[str, set[str]] | None = None) -> list[str]:
        known = {**metrics, **(recorded or {})}
        problems = []
        for selector in selectors(expr):
            name = selector.name
            if name is None:
                problems.append(f"selector without a metric name in {expr!r}")
                continue
            if name not in known:
                problems.append(f"unknown metric {name!r}")
                continue
            for matcher in selector.matchers.matchers:
                if matcher.name != "__name__" and matcher.name not in known[name]:
                    problems.append(f"{name} has no label {matcher.name!r}")
        return problems

    return check


@pytest.fixture(scope="session")
def rules() -> dict[str, Any]:
    return yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
