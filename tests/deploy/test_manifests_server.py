"""Every shipped manifest accepted by a real API server (server-side dry run, strict fields).

kubernetes-validate (test_manifests.py) checks the built-in kinds against OpenAPI offline;
here the local cluster's API server (``make cluster``, Kubernetes as pinned in
local_cluster/go/go.mod) runs its admission and validation on the base, both overlays and
each component. KEDA's ScaledObject is checked against the project's schema for it
(deploy/k8s/crds/keda-scaledobject.yaml), registered for this module.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sentiment.adapters.kubernetes import RolloutError, apply_and_wait
from tests.deploy.k8s_support import K8S_ROOT, docs_of
from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration

CRD = K8S_ROOT / "crds" / "keda-scaledobject.yaml"
# What is dry-run: each overlay as shipped, the base alone, and each component on the base.
TARGETS: dict[str, dict[str, list[str]]] = {
    "base": {"resources": ["../../base"]},
    "overlays/local": {"resources": ["../../overlays/local"]},
    "overlays/aws": {"resources": ["../../overlays/aws"]},
    "components/keda": {"resources": ["../../base"], "components": ["../../components/keda"]},
    "components/ingress-alb": {
        "resources": ["../../base"],
        "components": ["../../components/ingress-alb"],
    },
}


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"sentiment-dryrun-{secrets.token_hex(3)}"
    cluster.create_namespace(name)
    yield name
    cluster.delete_namespace(name)


@pytest.fixture(scope="module")
def keda_schema(cluster: Cluster) -> Iterator[None]:
    """The ScaledObject CRD, registered for real (a dry run cannot register a kind)."""
    existed = cluster.kubectl("get", "crd", "scaledobjects.keda.sh", check=False).returncode == 0
    if not existed:
        cluster.kubectl("apply", "--server-side", "--filename", str(CRD))
        cluster.kubectl(
            "wait", "--for=condition=Established", "crd/scaledobjects.keda.sh", "--timeout=60s"
        )
    yield
    if not existed:
        cluster.kubectl("delete", "crd", "scaledobjects.keda.sh", "--ignore-not-found")


def _render(kubectl: Path, target: str, tmp_path: Path) -> str:
    """``kubectl kustomize`` of a wrapper kustomization inside a copy of deploy/k8s."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S_ROOT, tree)
    wrapper = tree / "wrappers" / target.replace("/", "-")
    wrapper.mkdir(parents=True)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    (wrapper / "kustomization.yaml").write_text(
        yaml.safe_dump({**kustomization, **TARGETS[target]})
    )
    proc = subprocess.run(
        [str(kubectl), "kustomize", str(wrapper)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _in_namespace(manifests: str, namespace: str) -> str:
    docs = docs_of(manifests)
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
    return yaml.safe_dump_all(docs, sort_keys=False)


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_api_server_accepts_every_shipped_manifest(
    target: str, cluster: Cluster, namespace: str, keda_schema: None, tmp_path: Path
) -> None:
    manifests = _in_namespace(_render(cluster.kubectl_path, target, tmp_path), namespace)
    proc = cluster.kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "--namespace",
        namespace,
        "--filename",
        "-",
        stdin=manifests,
        check=False,
    )
    assert proc.returncode == 0, f"{target} rejected:\n{proc.stderr}"
    accepted = [line for line in proc.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(docs_of(manifests)), proc.stdout


def test_the_scaledobject_schema_rejects_a_misspelt_field(
    cluster: Cluster, namespace: str, keda_schema: None, tmp_path: Path
) -> None:
    docs = docs_of(_render(cluster.kubectl_path, "components/keda", tmp_path))
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    scaled["metadata"]["namespace"] = namespace
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")  # the HPA's name
    proc = cluster.kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "--filename",
        "-",
        stdin=yaml.safe_dump(scaled),
        check=False,
    )
    assert proc.returncode != 0
    assert 'unknown field "spec.maxReplicas"' in proc.stderr


def test_a_rejected_release_changes_nothing(cluster: Cluster, tmp_path: Path) -> None:
    """apply_and_wait's server-side dry run refuses a manifest the server would refuse,
    before anything is applied: the namespace stays without a Deployment."""
    name = f"sentiment-reject-{secrets.token_hex(3)}"
    docs = docs_of(_render(cluster.kubectl_path, "overlays/local", tmp_path))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "lots"
    try:
        with pytest.raises(RolloutError, match="server-side dry run rejected") as failure:
            apply_and_wait(
                _in_namespace(yaml.safe_dump_all(docs), name),
                namespace=name,
                kubectl=str(cluster.kubectl_path),
                kubeconfig=str(cluster.kubeconfig),
                timeout_s=60,
            )
        assert "quantities must match the regular expression" in str(failure.value)
        left = cluster.kubectl("get", "all", "--namespace", name, "--output", "name").stdout
        assert left.strip() == ""
    finally:
        cluster.delete_namespace(name)
