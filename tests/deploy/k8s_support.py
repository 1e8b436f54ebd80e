"""Shared constants and YAML helpers for the Kubernetes manifest tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S_ROOT = REPO / "deploy" / "k8s"
OVERLAYS = ("local", "aws")
# Oldest Kubernetes minor still in EKS standard support, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
CUSTOM_RESOURCE_GROUPS = ("keda.sh",)


def docs_of(manifests: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifests) if doc]


def find(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = find(docs, kind)
    assert len(matches) == 1, f"expected one {kind}, found {len(matches)}"
    return matches[0]


def is_custom_resource(doc: dict[str, Any]) -> bool:
    return str(doc.get("apiVersion", "")).split("/")[0] in CUSTOM_RESOURCE_GROUPS
