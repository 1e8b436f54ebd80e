"""Shared paths and helpers for the monitoring tests (metric catalogue, PromQL selectors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql_parser
import yaml

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
HISTOGRAM_SUFFIXES = {"_bucket": {"le"}, "_sum": set(), "_count": set()}


def load_catalog() -> dict[str, set[str]]:
    """metric name -> label names a query may match on (histograms expanded) from metrics.yaml."""
    catalog = yaml.safe_load((MONITORING / "metrics.yaml").read_text())
    target_labels = set(catalog["target_labels"])
    metrics: dict[str, set[str]] = {}
    for source in catalog["sources"].values():
        for name, spec in source.items():
            labels = set(spec.get("labels", [])) | target_labels
            if spec["type"] == "histogram":
                for suffix, extra in HISTOGRAM_SUFFIXES.items():
                    metrics[name + suffix] = labels | extra
            else:
                metrics[name] = labels
    return metrics


def selectors(expr: str) -> list[Any]:
    """Every vector selector in ``expr`` (raises on a parse error)."""
    found: list[Any] = []
    promql_parser.walk(
        promql_parser.parse(expr),
        pre_visit=lambda node: (
            found.append(node) if isinstance(node, promql_parser.VectorSelector) else None
        ),
    )
    return found


def all_rules(rules_doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rules_doc["groups"] for rule in group["rules"]]
