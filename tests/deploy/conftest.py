"""Fixtures for the Kubernetes manifest tests: rendering with kubectl and strict validation.

Offline, for every Kubernetes minor in KUBERNETES_VERSIONS: `kubectl kustomize` renders the
manifests and kubernetes-validate checks every built-in kind against the Kubernetes OpenAPI
schemas (strict: unknown fields are errors). Custom resources (KEDA's ScaledObject) have no
schema there; the tests check their structure themselves. The real API server of the local
cluster (``cluster`` fixture, tests/support/cluster.py) checks them too:
test_manifests_server.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.k8s_support import (
    K8S_ROOT,
    KUBERNETES_VERSIONS,
    OVERLAYS,
    docs_of,
    is_custom_resource,
)
from tests.support.binaries import require_binary


@pytest.fixture(scope="session")
def kubectl() -> str:
    return require_binary("kubectl", why="renders the kustomize overlays")


@pytest.fixture(scope="session")
def rendered_overlays(kubectl: str) -> dict[str, str]:
    """`kubectl kustomize` output of each overlay, rendered once per session."""
    out = {}
    for overlay in OVERLAYS:
        proc = subprocess.run(
            [kubectl, "kustomize", str(K8S_ROOT / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"kustomize {overlay} failed: {proc.stderr}"
        out[overlay] = proc.stdout
    return out


@pytest.fixture(scope="session")
def validate_strict() -> Callable[[str], None]:
    """Run the kubernetes-validate CLI (--strict) on manifests for each supported version.

    Built-in kinds must pass; the only tolerated warning is "no schema" for custom resources.
    """
    cli = Path(sys.executable).parent / "kubernetes-validate"
    assert cli.is_file(), f"{cli} missing: kubernetes-validate is a dev dependency"

    def run(manifests: str) -> None:
        custom_kinds = {doc["kind"] for doc in docs_of(manifests) if is_custom_resource(doc)}
        for version in KUBERNETES_VERSIONS:
            proc = subprocess.run(
                [str(cli), "--strict", "--quiet", "--kubernetes-version", version, "-"],
                input=manifests,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            output = proc.stdout + proc.stderr
            assert proc.returncode == 0, f"kubernetes-validate {version} failed:\n{output}"
            warnings = [line for line in output.splitlines() if line.startswith("WARN")]
            unexpected = [w for w in warnings if not any(f"kind {k} " in w for k in custom_kinds)]
            assert not unexpected, f"unexpected validator warnings ({version}): {unexpected}"
            assert "ERROR" not in output, output

    return run
