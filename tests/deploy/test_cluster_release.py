"""``run.py deploy --target kubernetes`` on a real single-node cluster (``make cluster``).

One release history, in order, in a namespace of its own:
1. train v1, deploy: the pod answers ``/predict`` through ``kubectl port-forward`` with v1
   and the same scores as ``run.py predict``;
2. train v2, deploy while a client keeps sending: zero failed requests, v2 at the end;
3. a release whose image cannot become ready (the model file fails its SHA-256 check) is
   undone: the step fails with the pods' reason, v2 answers throughout;
4. ``run.py rollback`` then ``deploy``: v1 serves again;
5. a bare ``run.py undeploy`` (from the release record; ``status`` before and after): every
   object of the release is gone.

The image is built by podman (tests/support/podman.py prepares this machine's podman),
pushed to the registry the cluster advertises on 127.0.0.1, and pulled by containerd.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sentiment.adapters.containers import ContainerSettings
from sentiment.adapters.kubernetes import render_manifests
from sentiment.adapters.kubernetes.settings import KubernetesSettings
from tests.support.cli import REPO_ROOT, ProjectSandbox
from tests.support.cluster import Cluster, ServiceTraffic, port_forward
from tests.support.deployed import TEXTS, post_predict
from tests.support.podman import Podman, prepare_podman
from tests.support.reviews import write_dataset

pytestmark = pytest.mark.integration

GATE = {"min_value": 0.7, "max_regression": 0.0}
SMALL_MODEL = {"features": {"min_df": 1}}
SERVICE = "sentiment-classifier"
OVERLAY = REPO_ROOT / "deploy" / "k8s" / "overlays" / "local"
DEPLOY_TIMEOUT_S = 1500


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, cluster: Cluster) -> ProjectSandbox:
    return ProjectSandbox(tmp_path_factory.mktemp("cluster-release"), extra_env=cluster.env)


@pytest.fixture(scope="module")
def small_dataset(sandbox: ProjectSandbox) -> Path:
    return write_dataset(sandbox.root / "data" / "reviews.csv", n_per_label=100)


@pytest.fixture(scope="module")
def podman() -> Podman:
    return prepare_podman()


@pytest.fixture(scope="module")
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"sentiment-it-{secrets.token_hex(3)}"
    yield name
    cluster.delete_namespace(name)


@pytest.fixture(scope="module")
def image_name() -> str:
    return f"sentiment-k8s-test-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def deploy_config(
    sandbox: ProjectSandbox, podman: Podman, namespace: str, image_name: str
) -> Iterator[Path]:
    """configs/deployment.yaml with this machine's podman settings and the test namespace;
    the shipped local overlay, unchanged."""
    config = yaml.safe_load((REPO_ROOT / "configs" / "deployment.yaml").read_text())
    config["parameters"]["container"].update(
        backend="podman", image_name=image_name, env=dict(podman.env)
    )
    config["parameters"]["kubernetes"].update(namespace=namespace, rollout_timeout_s=240)
    path = sandbox.root / "deployment.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    yield path
    podman.remove_images(podman.images_of(image_name))


@pytest.fixture(scope="module")
def history() -> dict[str, Any]:
    """What the ordered tests below hand to each other (versions, images)."""
    return {}


def _train(sandbox: ProjectSandbox, data: Path, name: str) -> dict[str, Any]:
    """A new promoted version each time: the same data and config would otherwise be
    recognised as the registered model (no new version), hence --force-register."""
    config = sandbox.training_config(name, promotion=GATE, model_params=SMALL_MODEL)
    result = sandbox.train(config, data, name, "--force-register")
    assert result["promoted"] is True, result["stdout"][-3000:]
    return result


def _deploy(sandbox: ProjectSandbox, config: Path) -> str:
    proc = sandbox.run(
        "deploy", "--target", "kubernetes", "--config", str(config), timeout=DEPLOY_TIMEOUT_S
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return proc.stdout


def _status(sandbox: ProjectSandbox) -> dict[str, Any]:
    rows = json.loads(sandbox.run("status", "--json", "--target", "kubernetes", check=True).stdout)
    assert len(rows) == 1, rows
    return dict(rows[0])


def _served(cluster: Cluster, namespace: str) -> dict[str, Any]:
    with port_forward(cluster, namespace, f"service/{SERVICE}", 80) as url:
        return post_predict(url, TEXTS)


def test_deploy_serves_the_promoted_version_through_port_forward(
    cluster: Cluster,
    sandbox: ProjectSandbox,
    small_dataset: Path,
    deploy_config: Path,
    namespace: str,
    history: dict[str, Any],
    tmp_path: Path,
) -> None:
    v1 = _train(sandbox, small_dataset, "v1")
    history["v1"] = v1["model_version"]
    out = _deploy(sandbox, deploy_config)
    assert f"pushing to the registry the cluster advertises: {cluster.registry}" in out

    body = _served(cluster, namespace)
    assert body["model_version"] == history["v1"]
    assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]

    # The same texts through the batch path score the same.
    batch = tmp_path / "texts.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(batch, index=False)
    scored = tmp_path / "scored.csv"
    sandbox.run(
        "predict",
        "--input",
        str(batch),
        "--output",
        str(scored),
        "--no-drift",
        check=True,
        timeout=900,
    )
    batch_scores = pd.read_csv(scored)["score"].tolist()
    served_scores = [p["score"] for p in body["predictions"]]
    assert served_scores == pytest.approx(batch_scores, abs=1e-9)

    pod = cluster.get_json(
        "pods", "--namespace", namespace, "--selector", f"app.kubernetes.io/name={SERVICE}"
    )["items"][0]
    assert pod["spec"]["containers"][0]["image"].startswith(f"{cluster.registry}/")
    assert pod["metadata"]["labels"]["sentiment/model-version"] == history["v1"]
    history["v1_image"] = pod["spec"]["containers"][0]["image"]


def test_rolling_update_to_a_new_version_fails_no_request(
    cluster: Cluster,
    sandbox: ProjectSandbox,
    small_dataset: Path,
    deploy_config: Path,
    namespace: str,
    history: dict[str, Any],
) -> None:
    assert "v1" in history, "needs the first release"
    history["v2"] = _train(sandbox, small_dataset, "v2")["model_version"]
    with ServiceTraffic(cluster, namespace, SERVICE, TEXTS) as traffic:
        _deploy(sandbox, deploy_config)
        # Keep sending until the old pod has left the endpoints and the new one took over.
        deadline = traffic.report.sent + 50
        while traffic.report.sent < deadline and not traffic.report.failures:
            traffic._stop.wait(0.2)
    report = traffic.report
    print(
        f"\nrolling update v{history['v1']} -> v{history['v2']}: {report.sent} requests, "
        f"{len(report.failures)} failed, by version {dict(report.versions)}, "
        f"{len(report.endpoints_seen)} pod endpoints"
    )
    assert report.failures == [], report.failures[:5]
    assert set(report.versions) == {history["v1"], history["v2"]}
    assert _served(cluster, namespace)["model_version"] == history["v2"]


def _broken_image(podman: Podman, good_image: str, tmp_path: Path, registry: str) -> str:
    """The served image with one byte appended to its model file: it fails the SHA-256 check
    at start-up, so its pod never becomes ready."""
    context = tmp_path / "broken"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {good_image}\nUSER root\n"
        "RUN find /home/bentoml/bento/models -name '*.skops'"
        " -exec sh -c 'printf x >> \"$1\"' _ {} \\;\n"
        "USER bentoml\n"
    )
    broken = f"{good_image.rsplit(':', 1)[0]}:broken-{secrets.token_hex(3)}"
    podman.run("build", "--pull=never", "--network=host", "-t", broken, str(context), timeout=600)
    podman.run("push", "--tls-verify=false", broken, timeout=600)
    assert broken.startswith(f"{registry}/")
    return broken


def test_release_that_cannot_become_ready_is_undone_and_the_old_version_keeps_answering(
    cluster: Cluster,
    podman: Podman,
    deploy_config: Path,
    namespace: str,
    history: dict[str, Any],
    tmp_path: Path,
) -> None:
    from steps.deployment.release import rollout_kubernetes

    assert "v2" in history, "needs the rolling update"
    deployment = cluster.get_json("deployment", SERVICE, "--namespace", namespace)
    good_image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    revision = deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    broken = _broken_image(podman, good_image, tmp_path, cluster.registry)
    params = yaml.safe_load(deploy_config.read_text())["parameters"]
    kubernetes = {**params["kubernetes"], "kubeconfig": str(cluster.kubeconfig)}

    with (
        ServiceTraffic(cluster, namespace, SERVICE, TEXTS) as traffic,
        pytest.raises(RuntimeError) as failed,
    ):
        rollout_kubernetes.entrypoint(
            image=broken,
            model_version="broken",
            container=ContainerSettings.model_validate(params["container"]),
            kubernetes=KubernetesSettings.model_validate(kubernetes),
            image_registry=None,
        )
    message = str(failed.value)
    print(f"\nfailed release: {message}")
    assert "rolled back to revision " + revision in message
    assert "CrashLoopBackOff" in message, message
    assert "recorded at registration: refusing to serve" in message  # the pod's own words
    history["broken_image"] = broken
    report = traffic.report
    assert report.failures == [], report.failures[:5]
    assert set(report.versions) == {history["v2"]}, dict(report.versions)
    after = cluster.get_json("deployment", SERVICE, "--namespace", namespace)
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == good_image
    assert _served(cluster, namespace)["model_version"] == history["v2"]


def test_a_failed_first_release_has_nothing_to_roll_back_to(
    cluster: Cluster, history: dict[str, Any]
) -> None:
    """In an empty namespace the broken image fails the same way and nothing is undone."""
    from sentiment.adapters.kubernetes import RolloutError, apply_and_wait

    assert "broken_image" in history, "needs the failed release"
    name = f"sentiment-first-{secrets.token_hex(3)}"
    manifests = render_manifests(
        OVERLAY, image=history["broken_image"], model_version="broken", namespace=name
    )
    try:
        with pytest.raises(RolloutError, match="nothing rolled back") as failed:
            apply_and_wait(
                manifests,
                namespace=name,
                timeout_s=240,
                kubectl=str(cluster.kubectl_path),
                kubeconfig=str(cluster.kubeconfig),
            )
        assert failed.value.result.revision_before is None
        assert "CrashLoopBackOff" in str(failed.value)
    finally:
        cluster.delete_namespace(name)


def test_rollback_then_deploy_serves_the_previous_version(
    cluster: Cluster,
    sandbox: ProjectSandbox,
    deploy_config: Path,
    namespace: str,
    history: dict[str, Any],
) -> None:
    assert "v2" in history, "needs two releases"
    sandbox.run("rollback", "--reason", "cluster test", check=True)
    _deploy(sandbox, deploy_config)
    assert _served(cluster, namespace)["model_version"] == history["v1"]


def test_prometheus_discovers_the_pods_and_evaluates_every_rule(
    cluster: Cluster, namespace: str, history: dict[str, Any], tmp_path: Path
) -> None:
    """The shipped scrape job with real Kubernetes discovery (tests/support/prometheus_k8s.py):
    the release's pod is found by its annotations, relabelled with the namespace, pod and
    deployed version the rules and the dashboard group by, and what the client sent is
    what Prometheus counts."""
    from tests.monitoring.prometheus_support import (
        POD_JOB,
        PrometheusAPI,
        eventually,
        write_config,
    )
    from tests.support.processes import free_port, http_ok, running
    from tests.support.prometheus_k8s import cluster_scrape_config, prometheus_binary

    assert "v1" in history, "needs the release rolled back to v1"
    config = write_config(tmp_path, cluster_scrape_config(cluster.kubeconfig))
    port = free_port()
    args = [
        str(prometheus_binary()),
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
    ]
    with running(
        args,
        log_path=tmp_path / "prometheus.log",
        timeout=120,
        what="prometheus",
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/-/ready"),
    ):
        api = PrometheusAPI(f"http://127.0.0.1:{port}")

        def discovered() -> dict[str, str]:
            ours = [t for t in api.targets() if t["labels"].get("namespace") == namespace]
            assert len(ours) == 1, ours
            assert ours[0]["health"] == "up", ours
            return dict(ours[0]["labels"])

        labels = eventually(discovered, timeout=90)
        assert labels["job"] == POD_JOB
        assert labels["pod"].startswith(f"{SERVICE}-")
        assert labels["deployed_model_version"] == history["v1"]

        select = f'namespace="{namespace}",job="{POD_JOB}"'
        by_label = f"sum by (label) (sentiment_predictions_total{{{select}}})"
        # The pod answered the earlier tests' requests too: count from what is scraped now.
        before = eventually(lambda: api.values(by_label, "label"), timeout=30)
        sent: dict[str, int] = {"positive": 0, "negative": 0}
        with port_forward(cluster, namespace, f"service/{SERVICE}", 80) as url:
            for _ in range(10):
                body = post_predict(url, TEXTS)
                for prediction in body["predictions"]:
                    sent[prediction["label"]] += 1

        def counted() -> None:
            now = api.values(by_label, "label")
            added = {label: now.get(label, 0.0) - before.get(label, 0.0) for label in sent}
            assert added == {label: float(n) for label, n in sent.items()}, (before, now)

        eventually(counted, timeout=60)
        info = api.query(f"sentiment_model_info{{{select}}}")
        assert [r["metric"]["model_version"] for r in info] == [history["v1"]]
        assert api.number(f"sum(sentiment_prediction_duration_seconds_count{{{select}}})") > 0

        def rules_ok() -> None:
            rules = api.rules()
            assert rules
            assert all(r["health"] == "ok" for r in rules), [
                (r["name"], r["health"], r.get("lastError")) for r in rules if r["health"] != "ok"
            ]

        eventually(rules_ok, timeout=60)


def test_undeploy_removes_every_object_of_the_release(
    cluster: Cluster,
    sandbox: ProjectSandbox,
    namespace: str,
    history: dict[str, Any],
) -> None:
    """A bare ``undeploy``: the namespace, podman settings and cluster (``KUBECONFIG`` at deploy
    time) come from the release record, not from flags."""
    assert "v1" in history, "needs a release"
    before = _status(sandbox)
    assert (before["state"], before["ready"]) == ("running", True), before
    assert before["model_version"] == history["v1"]
    assert f"namespace {namespace}" in before["address"]
    record = json.loads((sandbox.state_dir / "releases" / "kubernetes.json").read_text())
    assert record["kubernetes"]["kubeconfig"] == str(cluster.kubeconfig)
    assert {"Deployment", "Service"} <= {o["kind"] for o in record["kubernetes"]["objects"]}

    proc = sandbox.run("undeploy", "--target", "kubernetes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "marked the release stopped" in proc.stdout
    after = _status(sandbox)
    assert (after["state"], after["ready"]) == ("stopped", None), after
    rendered = render_manifests(
        OVERLAY, image="any:undeploy", model_version="x", namespace=namespace
    )
    for doc in yaml.safe_load_all(rendered):
        if not doc:
            continue
        kind, name = doc["kind"], doc["metadata"]["name"]
        left = cluster.kubectl(
            "get", kind, name, "--namespace", namespace, "--ignore-not-found", "--output", "name"
        ).stdout.strip()
        assert left == "", f"{kind}/{name} still exists after undeploy"
    # Its ReplicaSets and pods follow by garbage collection (after the preStop sleep).
    deadline = time.monotonic() + 120
    while True:
        left = cluster.kubectl(
            "get", "pods,replicasets", "--namespace", namespace, "--output", "name"
        ).stdout.strip()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert left == "", f"left behind: {left}"
