"""The kustomize overlays render to valid, hardened manifests, and render_manifests sets a release.

Everything is checked on the real `kubectl kustomize` output with the real schemas
(kubernetes-validate --strict, for the oldest and newest supported minors); only the KEDA
ScaledObject, which has no schema there, is checked structurally here. A real API server
checks the same manifests in test_manifests_server.py.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import promql_parser
import pytest
import yaml

from sentiment.adapters.kubernetes import MODEL_VERSION_LABELS, render_manifests
from sentiment.adapters.serving.settings import load_settings
from tests.deploy.k8s_support import K8S_ROOT, OVERLAYS, docs_of, find, is_custom_resource, one

APP_LABEL = {"app.kubernetes.io/name": "sentiment-classifier"}
KEDA_SPEC_KEYS = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}


def deployment_of(manifests: str) -> dict[str, Any]:
    return one(docs_of(manifests), "Deployment")


def container_of(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sentiment-classifier"]
    return containers[0]


def named_port(container: dict[str, Any], port: str | int) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# ----------------------------------------------------------------------- overlays as shipped


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_strict_schema_validation(rendered_overlays, validate_strict, overlay):
    validate_strict(rendered_overlays[overlay])


def test_strict_validation_rejects_an_unknown_field(rendered_overlays, validate_strict):
    """Guard against a validator that passes everything: a misspelt field must fail."""
    broken = rendered_overlays["local"].replace("readinessProbe:", "readynessProbe:", 1)
    with pytest.raises(AssertionError, match="readynessProbe"):
        validate_strict(broken)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_hit_readyz_and_livez_on_port_3000(rendered_overlays, overlay):
    container = container_of(deployment_of(rendered_overlays[overlay]))
    assert named_port(container, "http") == 3000
    expected = {"readinessProbe": "/readyz", "livenessProbe": "/livez", "startupProbe": "/livez"}
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        assert named_port(container, get["port"]) == 3000, probe
    # The startup probe must allow more time than liveness before the first restart.
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    assert (
        startup["periodSeconds"] * startup["failureThreshold"]
        > liveness["periodSeconds"] * liveness["failureThreshold"]
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_security_context_is_restricted(rendered_overlays, overlay):
    pod = deployment_of(rendered_overlays[overlay])["spec"]["template"]["spec"]
    container = container_of(deployment_of(rendered_overlays[overlay]))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1034
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in sc


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_bentoml_writable_paths_are_emptydirs(rendered_overlays, overlay):
    """With a read-only root, BentoML's home and /tmp must be emptyDir mounts."""
    deployment = deployment_of(rendered_overlays[overlay])
    container = container_of(deployment)
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    env = {e["name"]: e for e in container["env"]}
    bentoml_home = env["BENTOML_HOME"]["value"]
    for path in ("/tmp", bentoml_home):
        assert "emptyDir" in mounts[path], path
    # The Bento (and the model inside it) lives at /home/bentoml/bento: no mount may hide it.
    assert not any(Path("/home/bentoml/bento").is_relative_to(p) for p in mounts)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_token_comes_from_an_optional_secret(rendered_overlays, overlay):
    env = {e["name"]: e for e in container_of(deployment_of(rendered_overlays[overlay]))["env"]}
    ref = env["SENTIMENT_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True
    assert ref["name"]
    assert ref["key"]
    assert not find(docs_of(rendered_overlays[overlay]), "Secret"), "no secret in the repo"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rolling_update_keeps_capacity_and_drains_gracefully(rendered_overlays, overlay):
    deployment = deployment_of(rendered_overlays[overlay])
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert deployment["spec"]["revisionHistoryLimit"] >= 2, "rollout undo needs history"
    pod = deployment["spec"]["template"]["spec"]
    command = container_of(deployment)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    assert 0 < int(command[1]) < pod["terminationGracePeriodSeconds"]
    # After the sleep, SIGTERM: BentoML finishes the requests it accepted (tested for real in
    # tests/service/test_shutdown.py), each of which may take up to the service's request
    # timeout. The rest of the grace period must cover that, or kubelet's SIGKILL cuts them.
    timeout_s = load_settings().service.timeout_s
    assert pod["terminationGracePeriodSeconds"] - int(command[1]) >= timeout_s


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_scrape_annotations(rendered_overlays, overlay):
    template = deployment_of(rendered_overlays[overlay])["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "3000",
        "prometheus.io/path": "/metrics",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_and_targets_point_at_the_deployment(rendered_overlays, overlay):
    docs = docs_of(rendered_overlays[overlay])
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == APP_LABEL, "selectors are immutable: only the stable name label"
    assert selects(selector, pod_labels)
    assert selects(one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], pod_labels)
    assert selects(one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"], pod_labels)
    service = one(docs, "Service")
    assert selects(service["spec"]["selector"], pod_labels)
    assert named_port(container_of(deployment), service["spec"]["ports"][0]["targetPort"]) == 3000
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == one(docs, "ServiceAccount")["metadata"]["name"]
    )
    names = {doc["metadata"]["name"] for doc in docs}
    assert names == {"sentiment-classifier"}
    namespaces = {doc["metadata"].get("namespace") for doc in docs}
    assert namespaces == {"sentiment"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_exactly_one_autoscaler_owns_the_replica_count(rendered_overlays, overlay):
    """KEDA creates its own HPA: an overlay ships either the base HPA or a ScaledObject."""
    docs = docs_of(rendered_overlays[overlay])
    autoscalers = find(docs, "HorizontalPodAutoscaler") + find(docs, "ScaledObject")
    assert len(autoscalers) == 1, [a["kind"] for a in autoscalers]
    target = autoscalers[0]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "sentiment-classifier")
    assert target.get("apiVersion", "apps/v1") == "apps/v1"
    assert "replicas" not in one(docs, "Deployment")["spec"], (
        "an autoscaled Deployment must not set spec.replicas (apply would reset the count)"
    )


def test_local_overlay(rendered_overlays):
    docs = docs_of(rendered_overlays["local"])
    container = container_of(one(docs, "Deployment"))
    assert container["image"] == "sentiment-classifier:latest"
    assert container["imagePullPolicy"] == "IfNotPresent"
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] == 1
    metric = hpa["spec"]["metrics"][0]
    assert metric["resource"]["name"] == "cpu"
    assert not find(docs, "ScaledObject")
    assert not find(docs, "Ingress")


def test_aws_overlay(rendered_overlays):
    docs = docs_of(rendered_overlays["aws"])
    container = container_of(one(docs, "Deployment"))
    assert ".dkr.ecr." in container["image"]
    assert not find(docs, "HorizontalPodAutoscaler")
    scaled = one(docs, "ScaledObject")
    assert scaled["spec"]["minReplicaCount"] >= 2
    ingress = one(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"] == (
        "/readyz"
    )
    paths = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert paths == ["/predict"], "only the prediction API is exposed, never /metrics"
    policy = one(docs, "NetworkPolicy")
    sources = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert any("ipBlock" in peer for peer in sources), "the ALB's subnets must be admitted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_admits_only_ingress_and_prometheus(rendered_overlays, overlay):
    policy = one(docs_of(rendered_overlays[overlay]), "NetworkPolicy")
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    peers = []
    for rule in policy["spec"]["ingress"]:
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
        peers += rule["from"]
    namespaces = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in peers
        if "namespaceSelector" in p
    }
    assert namespaces <= {"ingress-nginx", "monitoring"}
    prometheus = [
        p
        for p in peers
        if p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == "monitoring"
    ]
    assert prometheus
    assert all(p["podSelector"]["matchLabels"] for p in prometheus)
    assert all(set(p) <= {"namespaceSelector", "podSelector", "ipBlock"} for p in peers), (
        "no peer may be empty (an empty peer admits everything)"
    )
    egress_ports = {
        (p["port"], p["protocol"]) for r in policy["spec"]["egress"] for p in r["ports"]
    }
    assert egress_ports == {(53, "UDP"), (53, "TCP")}


def test_keda_scaledobject_structure(rendered_overlays):
    """kubernetes-validate has no ScaledObject schema: check KEDA's v1alpha1 shape here."""
    docs = docs_of(rendered_overlays["aws"])
    scaled = one(docs, "ScaledObject")
    deployment = one(docs, "Deployment")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert is_custom_resource(scaled)
    spec = scaled["spec"]
    assert set(spec) <= KEDA_SPEC_KEYS, set(spec) - KEDA_SPEC_KEYS
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert set(spec["advanced"]) <= {
        "horizontalPodAutoscalerConfig",
        "restoreToOriginalReplicaCount",
        "scalingModifiers",
    }
    # KEDA passes `behavior` to the HPA it creates: validate it with the real HPA schema.
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "keda-hpa-sentiment-classifier"},
        "spec": {
            "scaleTargetRef": spec["scaleTargetRef"],
            "maxReplicas": spec["maxReplicaCount"],
            "behavior": spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
        },
    }
    kubernetes_validate.validate(hpa, "1.37.0", strict=True)

    triggers = {t["type"]: t for t in spec["triggers"]}
    assert set(triggers) == {"prometheus", "cpu"}
    prom = triggers["prometheus"]["metadata"]
    assert set(prom) <= {
        "serverAddress",
        "query",
        "threshold",
        "activationThreshold",
        "ignoreNullValues",
        "namespace",
        "unsafeSsl",
    }
    assert re.match(r"^https?://[a-z0-9.-]+(:\d+)?$", prom["serverAddress"])
    assert float(prom["threshold"]) > 0
    selectors = []
    promql_parser.walk(
        promql_parser.parse(prom["query"]),
        pre_visit=lambda n: (
            selectors.append(n) if isinstance(n, promql_parser.VectorSelector) else None
        ),
    )
    assert [s.name for s in selectors] == ["bentoml_service_request_total"]
    matchers = {m.name: m.value for m in selectors[0].matchers.matchers}
    assert matchers == {"endpoint": "/predict", "namespace": deployment["metadata"]["namespace"]}
    cpu = triggers["cpu"]
    assert cpu["metricType"] == "Utilization"
    assert 0 < int(cpu["metadata"]["value"]) <= 100


# ----------------------------------------------------------------------- render_manifests


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_render_manifests_sets_image_and_model_version(kubectl, validate_strict, overlay):
    before = tree_digest(K8S_ROOT)
    image = "registry.example.com:5000/ml/sentiment-classifier:2024.11.23-abc123"
    manifests = render_manifests(
        K8S_ROOT / "overlays" / overlay,
        image=image,
        model_version="42",
        kubectl=kubectl,
    )
    assert tree_digest(K8S_ROOT) == before, "render_manifests must not touch the repository"
    validate_strict(manifests)
    deployment = deployment_of(manifests)
    assert container_of(deployment)["image"] == image
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for label in MODEL_VERSION_LABELS:
        assert pod_labels[label] == "42"
        assert label not in deployment["spec"]["selector"]["matchLabels"]
    assert "unknown" not in manifests


def test_render_manifests_overrides_namespace_everywhere(kubectl, validate_strict):
    manifests = render_manifests(
        K8S_ROOT / "overlays" / "aws",
        image="example.com/sc@sha256:" + "0" * 64,
        model_version="3",
        namespace="sentiment-staging",
        kubectl=kubectl,
    )
    validate_strict(manifests)
    docs = docs_of(manifests)
    assert {doc["metadata"]["namespace"] for doc in docs} == {"sentiment-staging"}
    query = one(docs, "ScaledObject")["spec"]["triggers"][0]["metadata"]["query"]
    assert 'namespace="sentiment-staging"' in query
    assert container_of(one(docs, "Deployment"))["image"].endswith("@sha256:" + "0" * 64)


@pytest.mark.parametrize(
    ("overlay", "kind", "field"),
    [
        ("local", "HorizontalPodAutoscaler", "minReplicas"),
        ("aws", "ScaledObject", "minReplicaCount"),
    ],
)
def test_render_manifests_replicas_set_the_autoscaler_minimum(kubectl, overlay, kind, field):
    manifests = render_manifests(
        K8S_ROOT / "overlays" / overlay,
        image="sc:1",
        model_version="1",
        replicas=2,
        kubectl=kubectl,
    )
    docs = docs_of(manifests)
    assert one(docs, kind)["spec"][field] == 2
    assert "replicas" not in one(docs, "Deployment")["spec"]


def test_render_manifests_replicas_above_the_autoscaler_maximum_fail(kubectl):
    with pytest.raises(ValueError, match=r"replicas=3 exceeds the HorizontalPodAutoscaler maximum"):
        render_manifests(
            K8S_ROOT / "overlays" / "local",
            image="sc:1",
            model_version="1",
            replicas=3,
            kubectl=kubectl,
        )


def test_render_manifests_without_autoscaler_sets_deployment_replicas(kubectl, tmp_path):
    """An overlay without any autoscaler gets spec.replicas on the Deployment instead."""
    tree = tmp_path / "k8s"
    shutil.copytree(K8S_ROOT, tree)
    fixed = tree / "overlays" / "fixed"
    fixed.mkdir()
    (fixed / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../../base"],
                "patches": [
                    {
                        "patch": "$patch: delete\napiVersion: autoscaling/v2\n"
                        "kind: HorizontalPodAutoscaler\nmetadata:\n"
                        "  name: sentiment-classifier\n"
                    }
                ],
            }
        )
    )
    manifests = render_manifests(
        fixed, image="sc:1", model_version="1", replicas=4, kubectl=kubectl
    )
    docs = docs_of(manifests)
    assert not find(docs, "HorizontalPodAutoscaler")
    assert one(docs, "Deployment")["spec"]["replicas"] == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image": "sentiment-classifier"}, "pins neither a tag nor a digest"),
        ({"image": "Sentiment/Classifier:1"}, "not a valid repository name"),
        ({"image": "sc:bad tag"}, "not a valid tag"),
        ({"image": " sc:1"}, "without spaces"),
        ({"image": "sc@sha256:123"}, "digest must be sha256"),
        ({"model_version": "v 1"}, "cannot be a Kubernetes label value"),
        ({"model_version": ""}, "cannot be a Kubernetes label value"),
        ({"model_version": "x" * 64}, "cannot be a Kubernetes label value"),
        ({"namespace": "Prod"}, "not a DNS-1123 label"),
        ({"replicas": 0}, "replicas must be an integer >= 1"),
        ({"replicas": True}, "replicas must be an integer >= 1"),
    ],
)
def test_render_manifests_rejects_bad_input(kubectl, kwargs, message):
    args = {"image": "sc:1", "model_version": "1", **kwargs}
    with pytest.raises(ValueError, match=message):
        render_manifests(K8S_ROOT / "overlays" / "local", kubectl=kubectl, **args)


def test_render_manifests_rejects_a_directory_without_kustomization(kubectl, tmp_path):
    with pytest.raises(ValueError, match=r"has no kustomization\.yaml"):
        render_manifests(tmp_path, image="sc:1", model_version="1", kubectl=kubectl)


def test_kubernetes_validate_cli_accepts_the_documented_pipe(kubectl):
    """The command in deploy/k8s/README.md works as written (kustomize | validate --strict -)."""
    cli = Path(sys.executable).parent / "kubernetes-validate"
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S_ROOT / "overlays" / "aws")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    proc = subprocess.run(
        [str(cli), "--strict", "-"],
        input=rendered,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed for resource deployment/sentiment-classifier" in proc.stdout
